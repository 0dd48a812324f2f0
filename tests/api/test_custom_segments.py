"""Custom segments over HTTP: conditions over members, members computed at once and by the worker, size
over time, and segments as rules, rewards and survey invitations read them."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import TenantCtx, problem
from wafa.clock import FrozenClock
from wafa.jobs.service import run_due


def member(client: TestClient, external_id: str, **fields: object) -> int:
    return client.post("/v1/members", json={"external_id": external_id, **fields}).json()["id"]


def buy(client: TestClient, member_id: int, order_id: str, amount: str, clock: FrozenClock, days_ago: int = 0) -> None:
    made = client.post("/v1/events", json={"type": "purchase", "member": {"id": member_id}, "order_id": order_id, "amount": amount,
                                           "currency": "SAR", "occurred_at": (clock.now() - timedelta(days=days_ago)).isoformat()})
    assert made.status_code == 201, made.text


def segment(client: TestClient, key: str, conditions: list) -> dict:  # type: ignore[type-arg]
    made = client.post("/v1/segments", json={"key": key, "name_en": key, "name_ar": key, "conditions": conditions})
    assert made.status_code == 201, made.text
    return made.json()


def members_of(client: TestClient, segment_id: int) -> list[int]:
    return client.get(f"/v1/segments/{segment_id}/members").json()["items"]


def test_conditions_choose_the_members(client: TestClient, clock: FrozenClock) -> None:
    big = member(client, "big", city="Riyadh")
    small = member(client, "small", city="Riyadh")
    old = member(client, "old", city="Jeddah")
    never = member(client, "never", city="Riyadh")
    buy(client, big, "B1", "900.00", clock, days_ago=3)
    buy(client, small, "S1", "20.00", clock, days_ago=2)
    buy(client, old, "O1", "700.00", clock, days_ago=200)
    spenders = segment(client, "big-spenders", [{"type": "total_spend", "at_least": "500.00"}])
    assert spenders["members"] == 2 and members_of(client, spenders["id"]) == sorted([big, old])
    recent_riyadh = segment(client, "recent-riyadh", [
        {"type": "last_purchase", "within_days": 30}, {"type": "member_attribute", "attribute": "city", "any_of": ["Riyadh"]},
    ])
    assert members_of(client, recent_riyadh["id"]) == sorted([big, small])
    lapsed = segment(client, "lapsed-or-never", [{"type": "any", "conditions": [
        {"type": "last_purchase", "before": str((clock.now() - timedelta(days=90)).date())},
        {"type": "not", "condition": {"type": "total_spend", "at_least": "0.01"}},
    ]}])
    assert members_of(client, lapsed["id"]) == sorted([old, never])


def test_segments_target_rules_rewards_and_surveys(client: TestClient, clock: FrozenClock) -> None:
    big = member(client, "big")
    small = member(client, "small")
    buy(client, big, "B1", "900.00", clock)
    buy(client, small, "S1", "20.00", clock)
    segment(client, "big-spenders", [{"type": "total_spend", "at_least": "500.00"}])
    rule = client.post("/v1/rules", json={"name_en": "VIP bonus", "name_ar": "مكافأة", "trigger": "purchase", "status": "active",
                                          "conditions": [{"type": "segment", "any_of": ["big-spenders"]}],
                                          "actions": [{"type": "fixed_points", "points": 100}]})
    assert rule.status_code == 201, rule.text
    client.post("/v1/events", json={"type": "purchase", "member": {"id": big}, "order_id": "B2", "amount": "10.00", "currency": "SAR"})
    client.post("/v1/events", json={"type": "purchase", "member": {"id": small}, "order_id": "S2", "amount": "10.00", "currency": "SAR"})
    totals = {m: client.get(f"/v1/members/{m}/balance").json()["pending"] + client.get(f"/v1/members/{m}/balance").json()["available"]
              for m in (big, small)}
    assert totals == {big: 900 + 10 + 100, small: 20 + 10}
    client.post("/v1/rewards", json={"key": "vip", "name_en": "VIP", "name_ar": "VIP", "points": 1, "segments": ["big-spenders"],
                                     "gives": {"type": "gift", "sku": "V"}})
    locks = {
        m: [lock["code"] for r in client.get("/v1/rewards", params={"member_id": m}).json()["items"] for lock in r["locked"]] for m in (big, small)
    }
    assert "segment" not in locks[big] and "segment" in locks[small]
    survey = client.post("/v1/surveys", json={"key": "vip-nps", "title_en": "VIP", "title_ar": "VIP", "questions": [
        {"key": "r", "type": "nps", "text_en": "?", "text_ar": "؟"}]}).json()
    invited = client.post(f"/v1/surveys/{survey['id']}/invitations", json={"segment": "big-spenders"}).json()
    assert [i["member_id"] for i in invited["items"]] == [big]
    problem(client.post(f"/v1/surveys/{survey['id']}/invitations", json={"segment": "nobody"}), 422, "/problems/invalid-input", "segment")


def test_the_worker_recomputes_segments_and_keeps_their_size(
    client: TestClient, clock: FrozenClock, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    first = member(client, "first")
    buy(client, first, "F1", "600.00", clock)
    made = segment(client, "big-spenders", [{"type": "total_spend", "at_least": "500.00"}])
    second = member(client, "second")
    buy(client, second, "S1", "600.00", clock)
    assert members_of(client, made["id"]) == [first]  # not yet recomputed
    run_due(factory, now=clock.now() + timedelta(hours=1), tenant_id=tenant.id)
    assert members_of(client, made["id"]) == sorted([first, second])
    sizes = [c["members"] for c in client.get(f"/v1/segments/{made['id']}/counts").json()]
    assert sizes == [1, 2]
    changed = client.patch(f"/v1/segments/{made['id']}", json={"conditions": [{"type": "total_spend", "at_least": "1000.00"}]})
    assert changed.json()["members"] == 0


def test_segment_refusals(client: TestClient) -> None:
    segment(client, "one", [{"type": "total_spend", "at_most": "10.00"}])
    problem(client.post("/v1/segments", json={"key": "one", "name_en": "x", "name_ar": "x",
                                              "conditions": [{"type": "total_spend", "at_most": "1"}]}), 409, "/problems/conflict", "key")
    problem(client.post("/v1/segments", json={"key": "champions", "name_en": "x", "name_ar": "x",
                                              "conditions": [{"type": "total_spend", "at_most": "1"}]}), 409, "/problems/conflict", "key")
    assert client.post("/v1/segments", json={"key": "x", "name_en": "x", "name_ar": "x",
                                              "conditions": [{"type": "last_purchase"}]}).status_code == 422
    problem(client.get("/v1/segments/99999/members"), 404, "/problems/not-found")


def test_the_daily_run_happens_once_a_day_even_without_purchases(
    client: TestClient, clock: FrozenClock, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    member(client, "no-purchases")
    made = segment(client, "anyone", [{"type": "total_spend", "at_most": "0.00"}])
    for minutes in (1, 2, 3):
        run_due(factory, now=clock.now() + timedelta(minutes=minutes), tenant_id=tenant.id)
    assert len(client.get(f"/v1/segments/{made['id']}/counts").json()) == 2  # at creation, and one daily run


def test_last_purchase_reads_local_days(client: TestClient, clock: FrozenClock) -> None:
    client.patch("/v1/program", json={"timezone": "Asia/Riyadh"})
    who = member(client, "late")
    # 22:00 UTC on 27 February is 01:00 on 28 February in Riyadh.
    made = client.post("/v1/events", json={"type": "purchase", "member": {"id": who}, "order_id": "L1", "amount": "5.00",
                                           "currency": "SAR", "occurred_at": "2026-02-27T22:00:00Z"})
    assert made.status_code == 201, made.text
    after = segment(client, "after-27th", [{"type": "last_purchase", "after": "2026-02-27"}])
    before = segment(client, "before-28th", [{"type": "last_purchase", "before": "2026-02-28"}])
    assert (members_of(client, after["id"]), members_of(client, before["id"])) == ([who], [])
