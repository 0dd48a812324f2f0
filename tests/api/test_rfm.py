"""RFM over HTTP: scores and segments recomputed on demand and daily by the worker; segment lists,
a member's scores, and segments as rules and rewards read them."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import TenantCtx, problem
from wafa.clock import FrozenClock
from wafa.jobs.service import run_due


def member(client: TestClient, external_id: str) -> int:
    return client.post("/v1/members", json={"external_id": external_id}).json()["id"]


def buy(client: TestClient, member_id: int, order_id: str, amount: str, days_ago: int, clock: FrozenClock) -> None:
    made = client.post("/v1/events", json={"type": "purchase", "member": {"id": member_id}, "order_id": order_id, "amount": amount,
                                           "currency": "SAR", "occurred_at": (clock.now() - timedelta(days=days_ago)).isoformat()})
    assert made.status_code == 201, made.text


def shop(client: TestClient, clock: FrozenClock) -> dict[str, int]:
    """Ten members: from a weekly big spender bought yesterday to one who bought once a year ago."""
    ids = {}
    for n in range(10):
        ids[f"m{n}"] = member(client, f"m{n}")
        for k in range(n + 1):  # m9 buys most often
            buy(client, ids[f"m{n}"], f"m{n}-{k}", f"{10 * (n + 1)}.00", days_ago=(9 - n) * 40 + k, clock=clock)
    return ids


def test_recompute_scores_members_and_fills_the_segments(client: TestClient, clock: FrozenClock) -> None:
    ids = shop(client, clock)
    never_bought = member(client, "never-bought")
    summary = client.post("/v1/segments/rfm/recompute").json()
    assert summary["members"] == 10 and sum(map(sum, summary["grid"])) == 10
    assert sum(s["members"] for s in summary["segments"]) == 10
    best = client.get(f"/v1/members/{ids['m9']}/rfm").json()
    assert (best["r"], best["f"], best["m"], best["segment"]) == (5, 5, 5, "champions")
    assert (best["frequency"], best["monetary"]) == (10, "1000.00")
    worst = client.get(f"/v1/members/{ids['m0']}/rfm").json()
    assert (worst["r"], worst["f"], worst["segment"]) == (1, 1, "lost")
    champions = client.get("/v1/segments/rfm/champions/members", params={"limit": 1}).json()
    assert champions["items"][0]["segment"] == "champions"
    if champions["next_cursor"]:
        more = client.get("/v1/segments/rfm/champions/members", params={"cursor": champions["next_cursor"]}).json()
        assert all(i["id"] > champions["items"][0]["id"] for i in more["items"])
    problem(client.get("/v1/segments/rfm/vips/members"), 404, "/problems/not-found")
    problem(client.get(f"/v1/members/{never_bought}/rfm"), 404, "/problems/not-found")  # no purchase, no score


def test_a_reward_for_champions_unlocks_for_them(client: TestClient, clock: FrozenClock) -> None:
    ids = shop(client, clock)
    client.post("/v1/rewards", json={"key": "vip", "name_en": "VIP gift", "name_ar": "هدية", "points": 10, "segments": ["champions"],
                                     "gives": {"type": "gift", "sku": "VIP"}})
    def locks(member_id: int) -> list[str]:
        item = next(r for r in client.get("/v1/rewards", params={"member_id": member_id}).json()["items"] if r["key"] == "vip")
        return [lock["code"] for lock in item["locked"]]
    assert "segment" in locks(ids["m9"])  # not computed yet
    client.post("/v1/segments/rfm/recompute")
    assert "segment" not in locks(ids["m9"]) and "segment" in locks(ids["m0"])


def test_a_rule_for_at_risk_members_reads_the_segment(client: TestClient, clock: FrozenClock) -> None:
    ids = shop(client, clock)
    client.post("/v1/segments/rfm/recompute")
    rule = client.post("/v1/rules", json={"name_en": "Come back", "name_ar": "عد إلينا", "trigger": "purchase", "status": "active",
                                          "conditions": [{"type": "segment", "any_of": ["lost", "hibernating", "at_risk"]}],
                                          "actions": [{"type": "fixed_points", "points": 500}]})
    assert rule.status_code == 201, rule.text
    lost = client.post("/v1/events", json={"type": "purchase", "member": {"id": ids["m0"]}, "order_id": "back", "amount": "10.00",
                                           "currency": "SAR"}).json()
    champion = client.post("/v1/events", json={"type": "purchase", "member": {"id": ids["m9"]}, "order_id": "again",
                                               "amount": "10.00", "currency": "SAR"}).json()
    assert (lost["total_points"], champion["total_points"]) == (510, 10)


def test_the_worker_recomputes_once_a_day(
    client: TestClient, clock: FrozenClock, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    shop(client, clock)
    assert run_due(factory, now=clock.now(), tenant_id=tenant.id).rfm_recomputed == 1
    assert run_due(factory, now=clock.now() + timedelta(hours=23), tenant_id=tenant.id).rfm_recomputed == 0
    assert run_due(factory, now=clock.now() + timedelta(hours=25), tenant_id=tenant.id).rfm_recomputed == 1


def test_segment_sizes_are_kept_at_each_computation(client: TestClient, clock: FrozenClock) -> None:
    shop(client, clock)
    client.post("/v1/segments/rfm/recompute")
    clock.advance(timedelta(days=1))
    client.post("/v1/segments/rfm/recompute")
    history = client.get("/v1/segments/rfm/history").json()
    assert len(history) == 2 and all(sum(h["segments"].values()) == 10 for h in history)
    assert set(history[0]["segments"]) == {"champions", "loyal", "potential_loyalists", "new", "at_risk", "cant_lose_them",
                                           "hibernating", "lost"}
    assert len(client.get("/v1/segments/rfm/history", params={"limit": 1}).json()) == 1
