"""Tiers over HTTP: qualification at once on the way up, reviews on the way down (grace, one tier at a
time, a manual floor), every boundary, spending never demotes, returns wait for the review."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import TenantCtx, problem
from wafa.clock import FrozenClock
from wafa.jobs.service import run_due

LADDER = [("silver", "Silver", 0, "1000"), ("gold", "Gold", 1, "3000"), ("platinum", "Platinum", 2, "10000")]


def ladder(client: TestClient, **policy: object) -> None:
    assert client.put("/v1/tier-policy", json={"metric": "points_earned", "window": "rolling", "months": 12, **policy}).status_code == 200
    for key, name, rank, threshold in LADDER:
        made = client.post("/v1/tiers", json={"key": key, "name_en": name, "name_ar": name, "rank": rank, "threshold": threshold,
                                              "benefits": {"earn_multiplier": "1.5" if key == "gold" else "1",
                                                           "welcome_points": 100 if key == "gold" else 0,
                                                           "flags": ["free_delivery"] if key != "silver" else []}})
        assert made.status_code == 201, made.text


def member(client: TestClient) -> int:
    return client.post("/v1/members", json={"external_id": "m-1"}).json()["id"]


def buy(client: TestClient, order_id: str, amount: str):  # type: ignore[no-untyped-def]
    made = client.post("/v1/events", json={"type": "purchase", "member": {"external_id": "m-1"}, "order_id": order_id,
                                           "amount": amount, "currency": "SAR"})
    assert made.status_code == 201, made.text
    return made.json()


def tier(client: TestClient, member_id: int) -> str | None:
    found = client.get(f"/v1/members/{member_id}/tier").json()["tier"]
    return found["key"] if found else None


def test_member_below_every_threshold_has_no_tier_and_sees_the_way_to_the_first(client: TestClient) -> None:
    ladder(client)
    member_id = member(client)
    buy(client, "A", "999.00")
    body = client.get(f"/v1/members/{member_id}/tier").json()
    assert body["tier"] is None and body["value"] == "999"
    assert body["next"]["tier"]["key"] == "silver" and body["next"]["to_go"] == "1"
    assert body["progress"] == "999 of 1,000 points, 1 to go"


def test_reaching_a_threshold_exactly_upgrades_at_once(client: TestClient) -> None:
    ladder(client)
    member_id = member(client)
    buy(client, "A", "1000.00")
    assert tier(client, member_id) == "silver"
    buy(client, "B", "1999.00")
    assert tier(client, member_id) == "silver"  # 2999: one short of gold
    buy(client, "C", "1.00")
    assert tier(client, member_id) == "gold"


def test_one_purchase_may_skip_tiers_and_lands_in_the_best_it_reaches(client: TestClient) -> None:
    ladder(client)
    member_id = member(client)
    buy(client, "A", "10000.00")
    assert tier(client, member_id) == "platinum"
    history = client.get(f"/v1/members/{member_id}/tier-history").json()["items"]
    assert [(h["from_tier"], h["to_tier"], h["cause"], h["value"]) for h in history] == [(None, "platinum", "qualified", "10000")]


def test_spending_points_never_demotes(client: TestClient, clock: FrozenClock) -> None:
    ladder(client)
    member_id = member(client)
    buy(client, "A", "3000.00")
    assert tier(client, member_id) == "gold"
    spent = client.post(f"/v1/members/{member_id}/redemptions", json={"points": 3000, "reason": "all of it"})
    assert spent.status_code == 201
    body = client.get(f"/v1/members/{member_id}/tier").json()
    assert body["tier"]["key"] == "gold" and body["value"] == "3000"  # earned (not the welcome gift); spending is not counted


def test_gold_multiplies_base_points_and_welcomes_once(client: TestClient) -> None:
    ladder(client)
    member_id = member(client)
    buy(client, "A", "3000.00")  # reaches gold: +100 welcome
    second = buy(client, "B", "100.00")
    assert second["award"]["points"] == 150
    balance = client.get(f"/v1/members/{member_id}/balance").json()
    assert balance["available"] + balance["pending"] == 3000 + 100 + 150
    benefits = client.get(f"/v1/members/{member_id}/tier").json()["benefits"]
    assert benefits == {"earn_multiplier": "1.5", "welcome_points": 100, "flags": ["free_delivery"]}


def test_return_does_not_demote_at_once_but_the_review_does_after_grace(
    client: TestClient, clock: FrozenClock, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    ladder(client, grace_days=30)
    member_id = member(client)
    buy(client, "A", "3000.00")
    client.post("/v1/events", json={"type": "return", "order_id": "A"})
    assert tier(client, member_id) == "gold"
    secured = client.get(f"/v1/members/{member_id}/tier").json()["secured_until"]
    clock.advance(timedelta(days=366))
    report = run_due(factory, now=clock.now(), tenant_id=tenant.id)
    assert report.tier_reviews == 1
    body = client.get(f"/v1/members/{member_id}/tier").json()
    assert body["tier"]["key"] == "gold" and body["grace_until"] is not None and secured is not None
    clock.advance(timedelta(days=31))
    run_due(factory, now=clock.now(), tenant_id=tenant.id)
    assert tier(client, member_id) == "silver"  # one tier down per review, though nothing qualifies now
    causes = [h["cause"] for h in client.get(f"/v1/members/{member_id}/tier-history").json()["items"]]
    assert causes == ["review", "grace", "qualified"]


def test_member_who_qualifies_again_during_grace_keeps_the_tier(
    client: TestClient, clock: FrozenClock, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    ladder(client, grace_days=30)
    member_id = member(client)
    buy(client, "A", "3000.00")
    clock.advance(timedelta(days=366))
    run_due(factory, now=clock.now(), tenant_id=tenant.id)
    assert client.get(f"/v1/members/{member_id}/tier").json()["grace_until"] is not None
    buy(client, "B", "2000.00")  # 2000 x 1.5 = 3000 in the window
    body = client.get(f"/v1/members/{member_id}/tier").json()
    assert body["tier"]["key"] == "gold" and body["grace_until"] is None
    clock.advance(timedelta(days=40))
    run_due(factory, now=clock.now(), tenant_id=tenant.id)
    assert tier(client, member_id) == "gold"


def test_manual_tier_is_a_floor_until_its_date(
    client: TestClient, clock: FrozenClock, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    ladder(client, grace_days=0, max_drop=3)
    member_id = member(client)
    until = (clock.now() + timedelta(days=500)).isoformat()
    made = client.post(f"/v1/members/{member_id}/tier", json={"tier": "platinum", "reason": "VIP guest", "until": until})
    assert made.status_code == 200 and made.json()["floor"]["reason"] == "VIP guest"
    assert tier(client, member_id) == "platinum"
    clock.advance(timedelta(days=366))
    run_due(factory, now=clock.now(), tenant_id=tenant.id)
    assert tier(client, member_id) == "platinum"  # the floor holds
    clock.advance(timedelta(days=366))
    run_due(factory, now=clock.now(), tenant_id=tenant.id)
    assert tier(client, member_id) is None  # floor over, nothing earned, max_drop 3


def test_manual_tier_for_a_week_is_reviewed_when_the_week_is_over(
    client: TestClient, clock: FrozenClock, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    ladder(client, grace_days=0, max_drop=3)
    member_id = member(client)
    until = clock.now() + timedelta(days=7)
    made = client.post(f"/v1/members/{member_id}/tier", json={"tier": "platinum", "reason": "launch guest", "until": until.isoformat()})
    assert made.json()["secured_until"] == until.isoformat().replace("+00:00", "Z")
    clock.advance(timedelta(days=6))
    run_due(factory, now=clock.now(), tenant_id=tenant.id)
    assert tier(client, member_id) == "platinum"
    clock.advance(timedelta(days=2))
    run_due(factory, now=clock.now(), tenant_id=tenant.id)
    assert tier(client, member_id) is None  # the week is over and nothing was earned


def test_floor_keeps_a_member_only_until_its_date_at_a_review(
    client: TestClient, clock: FrozenClock, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    ladder(client, grace_days=0, max_drop=3)
    member_id = member(client)
    buy(client, "A", "3000.00")  # gold, secured for a year
    until = clock.now() + timedelta(days=400)
    client.post(f"/v1/members/{member_id}/tier", json={"tier": "gold", "reason": "keep gold", "until": until.isoformat()})
    clock.advance(timedelta(days=366))
    run_due(factory, now=clock.now(), tenant_id=tenant.id)
    assert tier(client, member_id) == "gold"  # nothing earned this year, but the floor holds
    clock.advance(timedelta(days=35))
    run_due(factory, now=clock.now(), tenant_id=tenant.id)
    assert tier(client, member_id) is None  # looked at again when the floor ended


def test_tiers_bad_input(client: TestClient) -> None:
    ladder(client)
    problem(client.post("/v1/tiers", json={"key": "gold", "name_en": "G", "name_ar": "G", "rank": 5, "threshold": "9"}), 409,
            "/problems/conflict", "key")
    problem(client.post("/v1/tiers", json={"key": "bronze", "name_en": "B", "name_ar": "B", "rank": 5, "threshold": "9"}), 422,
            "/problems/invalid-input", "threshold")
    problem(client.post("/v1/tiers", json={"key": "x", "name_en": "X", "name_ar": "X", "rank": 9, "threshold": "20000.5"}), 422,
            "/problems/invalid-input", "threshold")
    problem(client.post("/v1/members/1/tier", json={"tier": "nope", "reason": "x"}), 404, "/problems/not-found")


def test_reward_for_gold_unlocks_when_the_member_reaches_gold(client: TestClient) -> None:
    ladder(client)
    member_id = member(client)
    client.post("/v1/rewards", json={"key": "lounge", "name_en": "Lounge", "name_ar": "صالة", "points": 10, "tiers": ["Gold"],
                                     "gives": {"type": "privilege", "valid_days": 30}})
    buy(client, "A", "1000.00")
    locked = client.get(f"/v1/rewards?member_id={member_id}").json()["items"][0]["locked"]
    assert {"code": "tier", "message": "needs Gold tier"} in locked
    buy(client, "B", "2000.00")
    assert client.get(f"/v1/rewards?member_id={member_id}").json()["items"][0]["available"] is True


def test_welcome_points_do_not_count_towards_the_next_tier(client: TestClient) -> None:
    ladder(client)
    client.patch("/v1/tiers/1", json={"benefits": {"welcome_points": 2000}})  # silver's welcome is generous
    member_id = member(client)
    buy(client, "A", "1000.00")
    buy(client, "B", "1.00")
    body = client.get(f"/v1/members/{member_id}/tier").json()
    assert (body["tier"]["key"], body["value"]) == ("silver", "1001")


def test_suspended_member_set_in_a_tier_by_hand_gets_no_welcome_points(client: TestClient) -> None:
    ladder(client)
    member_id = member(client)
    client.post(f"/v1/members/{member_id}/suspend", json={"reason": "review"})
    assert client.post(f"/v1/members/{member_id}/tier", json={"tier": "gold", "reason": "VIP"}).status_code == 200
    assert client.get(f"/v1/members/{member_id}/balance").json()["available"] == 0


def test_tier_until_beyond_year_9999_is_422_not_500(client: TestClient) -> None:
    ladder(client)
    member_id = member(client)
    answer = client.post(f"/v1/members/{member_id}/tier", json={"tier": "gold", "reason": "x", "until": "9999-12-31T23:59:59-05:00"})
    problem(answer, 422, "/problems/invalid-input")


def test_calendar_year_review_that_keeps_a_member_secures_this_year_only(
    client: TestClient, clock: FrozenClock, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    ladder(client, window="calendar_year")
    member_id = member(client)
    buy(client, "A", "1000.00")  # 2026-03-01: silver, secured to the end of 2027
    assert client.get(f"/v1/members/{member_id}/tier").json()["secured_until"].startswith("2028-01-01")
    clock.advance(timedelta(days=600))  # late 2027
    buy(client, "B", "1000.00")  # qualifies again in 2027: secured to the end of 2028
    clock.advance(timedelta(days=440))  # early 2029: 2028 saw nothing
    run_due(factory, now=clock.now(), tenant_id=tenant.id)
    assert client.get(f"/v1/members/{member_id}/tier").json()["grace_until"] is not None


def test_lifting_a_floor_keeps_a_tier_the_member_secured_again_themselves(
    client: TestClient, clock: FrozenClock, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    ladder(client, grace_days=0, max_drop=3)
    member_id = member(client)
    buy(client, "A", "3000.00")  # gold
    clock.advance(timedelta(days=30))
    client.post(f"/v1/members/{member_id}/tier", json={"tier": "gold", "reason": "keep gold"})
    clock.advance(timedelta(days=330))
    buy(client, "B", "3000.00")  # qualifies again: secured for another year
    secured = client.get(f"/v1/members/{member_id}/tier").json()["secured_until"]
    clock.advance(timedelta(days=10))
    lifted = client.post(f"/v1/members/{member_id}/tier", json={"tier": None, "reason": "policy change"}).json()
    assert lifted["secured_until"] == secured
    run_due(factory, now=clock.now(), tenant_id=tenant.id)
    assert tier(client, member_id) == "gold"
