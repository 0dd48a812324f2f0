"""Rewards for members of a paid plan: locked (code "plan") for members without it, open while their
membership is trialing, active or past due, locked again once it lapses or is cancelled; the plans a
reward names must exist."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import TenantCtx, problem
from wafa.clock import FrozenClock
from wafa.jobs.service import run_due

PLAN_LOCK = {"code": "plan", "message": "for plus members"}


def plan(client: TestClient, key: str = "plus", **changes: object) -> dict:  # type: ignore[type-arg]
    made = client.post("/v1/membership-plans", json={"key": key, "name_en": key.title(), "name_ar": "خطة", "interval": "month",
                                                      "price": "29.00", "grace_days": 5, **changes})
    assert made.status_code == 201, made.text
    return made.json()


def reward(client: TestClient, key: str = "lounge", points: int = 100, **fields: object) -> dict:  # type: ignore[type-arg]
    made = client.post("/v1/rewards", json={"key": key, "name_en": key.title(), "name_ar": "مكافأة", "points": points,
                                            "gives": {"type": "privilege", "valid_days": 7}, **fields})
    assert made.status_code == 201, made.text
    return made.json()


def enrol(client: TestClient, external_id: str = "m-1", points: int = 500) -> int:
    member_id = client.post("/v1/members", json={"external_id": external_id}).json()["id"]
    if points:
        made = client.post(f"/v1/members/{member_id}/adjustments", json={"points": points, "reason": "opening balance"})
        assert made.status_code == 201, made.text
    return member_id


def subscribe(client: TestClient, member_id: int, plan_key: str = "plus") -> dict:  # type: ignore[type-arg]
    made = client.post(f"/v1/members/{member_id}/memberships", json={"plan": plan_key})
    assert made.status_code == 201, made.text
    return made.json()


def pay(client: TestClient, membership_id: int, key: str) -> dict:  # type: ignore[type-arg]
    paid = client.post(f"/v1/memberships/{membership_id}/payments", headers={"Idempotency-Key": key},
                       json={"status": "paid", "amount": "29.00", "currency": "SAR", "provider_ref": f"pi_{key}"})
    assert paid.status_code == 201, paid.text
    return paid.json()["membership"]


def locks(client: TestClient, member_id: int, key: str = "lounge") -> list[dict]:  # type: ignore[type-arg]
    listed = client.get("/v1/rewards", params={"member_id": member_id})
    assert listed.status_code == 200, listed.text
    item = next(r for r in listed.json()["items"] if r["key"] == key)
    assert item["available"] is (not item["locked"])
    return item["locked"]


def redeem(client: TestClient, member_id: int, key: str = "lounge"):  # type: ignore[no-untyped-def]
    return client.post(f"/v1/members/{member_id}/reward-redemptions", json={"reward_key": key})


def test_create_reward_for_a_plan_lists_its_plans(client: TestClient) -> None:
    plan(client)
    made = reward(client, plans=["plus"])
    assert made["plans"] == ["plus"]
    assert client.get(f"/v1/rewards/{made['id']}").json()["plans"] == ["plus"]


def test_plan_reward_is_locked_for_a_member_without_the_plan(client: TestClient) -> None:
    plan(client)
    reward(client, plans=["plus"])
    who = enrol(client)
    assert locks(client, who) == [PLAN_LOCK]


def test_redeem_plan_reward_without_the_plan_is_refused(client: TestClient) -> None:
    plan(client)
    reward(client, plans=["plus"])
    who = enrol(client)
    body = problem(redeem(client, who), 422, "/problems/reward-locked", "reward_id")
    assert body["locked"] == [PLAN_LOCK]
    assert client.get(f"/v1/members/{who}/balance").json()["available"] == 500


def test_plan_reward_is_locked_while_the_membership_is_unpaid(client: TestClient) -> None:
    plan(client)
    reward(client, plans=["plus"])
    who = enrol(client)
    assert subscribe(client, who)["status"] == "incomplete"
    assert locks(client, who) == [PLAN_LOCK]


def test_plan_reward_unlocks_with_an_active_membership(client: TestClient) -> None:
    plan(client)
    reward(client, plans=["plus"])
    who = enrol(client)
    assert pay(client, subscribe(client, who)["id"], "evt-1")["status"] == "active"
    assert locks(client, who) == []
    redeemed = redeem(client, who)
    assert redeemed.status_code == 201, redeemed.text
    assert (redeemed.json()["reward"]["key"], redeemed.json()["points"], redeemed.json()["balance"]) == ("lounge", 100, 400)


def test_plan_reward_unlocks_during_a_trial(client: TestClient) -> None:
    plan(client, trial_days=14)
    reward(client, plans=["plus"])
    who = enrol(client)
    assert subscribe(client, who)["status"] == "trialing"
    assert locks(client, who) == []
    assert redeem(client, who).status_code == 201


def test_plan_reward_stays_open_past_due_and_locks_once_the_membership_lapses(
    client: TestClient, clock: FrozenClock, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    plan(client)
    reward(client, plans=["plus"])
    who = enrol(client)
    membership_id = subscribe(client, who)["id"]
    pay(client, membership_id, "evt-1")
    clock.advance(timedelta(days=31, hours=1))
    run_due(factory, now=clock.now(), tenant_id=tenant.id)
    assert client.get(f"/v1/memberships/{membership_id}").json()["status"] == "past_due"
    assert locks(client, who) == []  # benefits last through the grace days
    clock.advance(timedelta(days=5))
    run_due(factory, now=clock.now(), tenant_id=tenant.id)
    assert client.get(f"/v1/memberships/{membership_id}").json()["status"] == "lapsed"
    assert locks(client, who) == [PLAN_LOCK]
    assert problem(redeem(client, who), 422, "/problems/reward-locked")["locked"] == [PLAN_LOCK]


def test_plan_reward_locks_when_the_membership_is_cancelled_now(client: TestClient) -> None:
    plan(client)
    reward(client, plans=["plus"])
    who = enrol(client)
    membership_id = subscribe(client, who)["id"]
    pay(client, membership_id, "evt-1")
    assert locks(client, who) == []
    cancelled = client.post(f"/v1/memberships/{membership_id}/cancel", json={"at_period_end": False})
    assert cancelled.json()["status"] == "cancelled"
    assert locks(client, who) == [PLAN_LOCK]


def test_plan_reward_stays_open_until_the_end_of_a_period_cancelled_at_its_end(
    client: TestClient, clock: FrozenClock, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    plan(client)
    reward(client, plans=["plus"])
    who = enrol(client)
    membership_id = subscribe(client, who)["id"]
    pay(client, membership_id, "evt-1")
    client.post(f"/v1/memberships/{membership_id}/cancel", json={"at_period_end": True})
    assert locks(client, who) == []
    clock.advance(timedelta(days=32))
    run_due(factory, now=clock.now(), tenant_id=tenant.id)
    assert locks(client, who) == [PLAN_LOCK]


def test_plan_reward_is_locked_for_a_member_of_another_plan(client: TestClient) -> None:
    plan(client)
    plan(client, "basic")
    reward(client, plans=["plus"])
    reward(client, "either", plans=["basic", "plus"])
    who = enrol(client)
    pay(client, subscribe(client, who, "basic")["id"], "evt-1")
    assert locks(client, who) == [PLAN_LOCK]
    assert locks(client, who, "either") == []


def test_plan_lock_comes_with_the_other_locks(client: TestClient) -> None:
    plan(client)
    reward(client, points=1000, plans=["plus"])
    who = enrol(client, points=300)
    assert locks(client, who) == [PLAN_LOCK, {"code": "points", "message": "you have 300 of 1000 points"}]


def test_only_available_rewards_skip_plan_rewards_for_members_without_the_plan(client: TestClient) -> None:
    plan(client)
    reward(client, plans=["plus"])
    reward(client, "open-to-all")
    who = enrol(client)
    listed = client.get("/v1/rewards", params={"member_id": who, "only_available": True})
    assert listed.status_code == 200, listed.text
    assert [r["key"] for r in listed.json()["items"]] == ["open-to-all"]


def test_create_reward_for_an_unknown_plan_is_422(client: TestClient) -> None:
    problem(client.post("/v1/rewards", json={"key": "lounge", "name_en": "Lounge", "name_ar": "صالة", "points": 100,
                                             "gives": {"type": "privilege"}, "plans": ["plus"]}),
            422, "/problems/invalid-input", "plans[0]")
    plan(client)
    problem(client.post("/v1/rewards", json={"key": "lounge", "name_en": "Lounge", "name_ar": "صالة", "points": 100,
                                             "gives": {"type": "privilege"}, "plans": ["plus", "gold"]}),
            422, "/problems/invalid-input", "plans[1]")
    assert client.get("/v1/rewards").json()["items"] == []


def test_patch_reward_plans_locks_and_unlocks_it(client: TestClient) -> None:
    plan(client)
    made = reward(client)
    who = enrol(client)
    assert locks(client, who) == []
    changed = client.patch(f"/v1/rewards/{made['id']}", json={"plans": ["plus"]})
    assert changed.status_code == 200 and changed.json()["plans"] == ["plus"]
    assert locks(client, who) == [PLAN_LOCK]
    assert client.patch(f"/v1/rewards/{made['id']}", json={"name_en": "Lounge Access"}).json()["plans"] == ["plus"]
    opened = client.patch(f"/v1/rewards/{made['id']}", json={"plans": []})
    assert opened.status_code == 200 and opened.json()["plans"] == []
    assert locks(client, who) == []


def test_patch_reward_with_an_unknown_plan_is_422(client: TestClient) -> None:
    plan(client)
    made = reward(client, plans=["plus"])
    problem(client.patch(f"/v1/rewards/{made['id']}", json={"plans": ["nope"]}), 422, "/problems/invalid-input", "plans[0]")
    assert client.get(f"/v1/rewards/{made['id']}").json()["plans"] == ["plus"]
