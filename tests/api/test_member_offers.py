"""Offers made to chosen members over HTTP: written as drafts, given to their audience when activated (each
member's own window), listed for a member ranked with a reason in their language, redeemed at the offer's
price within the member's cap; rule offers through the rules' `offer` condition; location offers after a
check-in; validation; other tenants."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import TenantCtx, make_tenant, problem
from wafa.clock import FrozenClock


def _post(client: TestClient, path: str, body: dict | None = None, **kw) -> dict:  # type: ignore[no-untyped-def,type-arg]
    made = client.post(path, json=body if body is not None else {}, **kw)
    assert made.status_code in (200, 201), made.text
    return made.json()


def _member(client: TestClient, external_id: str, locale: str = "en", points: int = 0) -> int:
    member = _post(client, "/v1/members", {"external_id": external_id, "locale": locale})["id"]
    if points:
        _post(client, f"/v1/members/{member}/adjustments", {"points": points, "reason": "opening balance"})
    return int(member)


def _reward(client: TestClient, key: str = "latte", points: int = 400) -> dict:  # type: ignore[type-arg]
    return _post(client, "/v1/rewards", {"key": key, "name_en": key.title(), "name_ar": f"هدية {key}", "points": points,
                                          "gives": {"type": "gift", "sku": key.upper()}})


def _available(client: TestClient, member: int) -> int:
    return int(client.get(f"/v1/members/{member}/balance").json()["available"])


def test_a_reward_offer_is_given_to_its_list_and_redeemed_at_its_price_within_the_cap(client: TestClient, clock: FrozenClock) -> None:
    _reward(client)
    chosen, other = _member(client, "chosen", points=1000), _member(client, "other", points=1000)
    offer = _post(client, "/v1/offers", {
        "key": "latte-half", "name_en": "Half-price latte", "name_ar": "لاتيه بنصف السعر", "kind": "reward", "reward_key": "latte",
        "points": 200, "audience": {"external_ids": ["chosen"]}, "valid_days": 7, "per_member_cap": 1,
    })
    assert (offer["status"], offer["granted"]) == ("draft", 0)
    assert client.get(f"/v1/members/{chosen}/offers").json()["items"] == []  # a draft is given to nobody
    active = _post(client, "/v1/offers/latte-half:activate")
    assert (active["status"], active["granted"]) == ("active", 1)
    mine = client.get(f"/v1/members/{chosen}/offers").json()["items"]
    assert [(o["key"], o["points"], o["uses"], o["uses_left"], o["usable_now"], o["reason"]) for o in mine] == [
        ("latte-half", 200, 0, 1, True, "Picked for you")]
    assert mine[0]["valid_until"].startswith((clock.now() + timedelta(days=7)).date().isoformat())
    assert client.get(f"/v1/members/{other}/offers").json()["items"] == []
    problem(client.post(f"/v1/members/{other}/offers/latte-half:redeem", json={}), 404, "/problems/not-found")

    used = client.post(f"/v1/members/{chosen}/offers/latte-half:redeem", json={}, headers={"Idempotency-Key": "till-1"})
    assert used.status_code == 201, used.text
    assert used.json()["points"] == 200 and _available(client, chosen) == 800
    again = client.post(f"/v1/members/{chosen}/offers/latte-half:redeem", json={}, headers={"Idempotency-Key": "till-1"})
    assert again.status_code == 201 and again.json()["id"] == used.json()["id"] and _available(client, chosen) == 800
    problem(client.post(f"/v1/members/{chosen}/offers/latte-half:redeem", json={}, headers={"Idempotency-Key": "till-2"}),
            409, "/problems/conflict", "key")
    assert client.get(f"/v1/members/{chosen}/offers").json()["items"] == []  # at its cap: nothing left to use
    assert client.get("/v1/offers/latte-half").json()["used"] == 1


def test_a_members_window_closes_and_ending_an_offer_closes_every_copy(client: TestClient, clock: FrozenClock) -> None:
    _reward(client)
    member = _member(client, "m1", points=1000)
    for key in ("short", "long"):
        _post(client, "/v1/offers", {"key": key, "name_en": key, "name_ar": key, "kind": "reward", "reward_key": "latte",
                                     "audience": {"all": True}, "valid_days": 2 if key == "short" else 30})
        _post(client, f"/v1/offers/{key}:activate")
    assert [o["key"] for o in client.get(f"/v1/members/{member}/offers").json()["items"]] == ["short", "long"]  # soonest to close first
    clock.advance(timedelta(days=3))
    assert [o["key"] for o in client.get(f"/v1/members/{member}/offers").json()["items"]] == ["long"]
    problem(client.post(f"/v1/members/{member}/offers/short:redeem", json={}), 409, "/problems/conflict", "key")
    late = _member(client, "late")
    assert _post(client, "/v1/offers/long:activate")["granted"] == 2  # a newcomer is given it; nobody twice
    assert [o["key"] for o in client.get(f"/v1/members/{late}/offers").json()["items"]] == ["long"]
    _post(client, "/v1/offers/long:pause")
    assert client.get(f"/v1/members/{member}/offers").json()["items"] == []
    _post(client, "/v1/offers/long:resume")
    assert len(client.get(f"/v1/members/{member}/offers").json()["items"]) == 1
    _post(client, "/v1/offers/long:end")
    assert client.get(f"/v1/members/{member}/offers").json()["items"] == []
    problem(client.post("/v1/offers/long:activate"), 409, "/problems/conflict", "key")


def test_a_rule_offer_rewards_only_its_holders_and_only_up_to_their_cap(client: TestClient) -> None:
    rule = _post(client, "/v1/rules", {
        "name_en": "Double coffee for you", "name_ar": "نقاط مضاعفة على القهوة", "trigger": "purchase", "status": "active",
        "conditions": [{"type": "offer", "any_of": ["coffee-double"]}],
        "actions": [{"type": "fixed_points", "points": 50}],
    })
    plain = _post(client, "/v1/rules", {"name_en": "Plain", "name_ar": "عادية", "trigger": "purchase", "status": "active",
                                        "actions": [{"type": "fixed_points", "points": 1}]})
    problem(client.post("/v1/offers", json={"key": "wrong", "name_en": "x", "name_ar": "x", "kind": "rule", "rule_id": plain["id"],
                                            "audience": {"all": True}}), 422, "/problems/invalid-input", "rule_id")
    holder, other = _member(client, "holder"), _member(client, "other")
    _post(client, "/v1/offers", {"key": "coffee-double", "name_en": "Coffee bonus", "name_ar": "مكافأة القهوة", "kind": "rule",
                                 "rule_id": rule["id"], "category": "coffee", "audience": {"external_ids": ["holder"]}, "per_member_cap": 1})
    _post(client, "/v1/offers/coffee-double:activate")

    def buy(member: int, order: str) -> int:
        event = _post(client, "/v1/events", {"type": "purchase", "member": {"id": member}, "order_id": order, "amount": "10.00",
                                             "currency": "SAR", "items": [{"sku": "c", "category": "coffee", "quantity": 1, "unit_price": "10.00"}]})
        return sum(r["points"] for r in event["rules"])

    assert buy(holder, "h1") == 51 and buy(other, "o1") == 1
    assert client.get(f"/v1/members/{holder}/offers").json()["items"] == []  # its one use is spent
    assert buy(holder, "h2") == 1
    problem(client.post(f"/v1/members/{holder}/offers/coffee-double:redeem", json={}), 422, "/problems/invalid-input", "key")


def test_the_reason_names_the_members_own_habit(client: TestClient, clock: FrozenClock) -> None:
    member = _member(client, "friday", locale="ar")
    for week in range(12):
        _post(client, "/v1/events", {"type": "purchase", "member": {"id": member}, "order_id": f"w{week}", "amount": "5.00",
                                     "currency": "SAR", "items": [{"sku": "c", "category": "coffee", "quantity": 1, "unit_price": "5.00"}]})
        clock.advance(timedelta(weeks=1))
    weekday = (clock.now() - timedelta(weeks=1)).strftime("%A")
    rule = _post(client, "/v1/rules", {"name_en": "r", "name_ar": "r", "trigger": "purchase", "status": "active",
                                       "conditions": [{"type": "offer", "any_of": ["coffee-day"]}],
                                       "actions": [{"type": "fixed_points", "points": 5}]})
    _post(client, "/v1/offers", {"key": "coffee-day", "name_en": "Coffee day", "name_ar": "يوم القهوة", "kind": "rule", "rule_id": rule["id"],
                                 "category": "coffee", "audience": {"all": True}})
    _post(client, "/v1/offers/coffee-day:activate")
    english = client.get(f"/v1/members/{member}/offers", params={"lang": "en"}).json()["items"]
    assert english[0]["reason"] == f"You buy coffee on most {weekday}s"
    arabic = client.get(f"/v1/members/{member}/offers").json()["items"]
    assert arabic[0]["name"] == "يوم القهوة" and arabic[0]["reason"].startswith("تشتري coffee في معظم أيام ")


def test_offers_are_checked_when_written(client: TestClient) -> None:
    _reward(client)
    _post(client, "/v1/rewards", {"key": "back", "name_en": "Cash", "name_ar": "نقد", "points": 100,
                                  "gives": {"type": "cashback", "rate": "0.01"}})
    base = {"key": "o", "name_en": "o", "name_ar": "o", "kind": "reward", "reward_key": "latte", "audience": {"all": True}}
    problem(client.post("/v1/offers", json={**base, "key": "model"}), 422, "/problems/invalid-input", "key")
    problem(client.post("/v1/offers", json={**base, "reward_key": "nothing"}), 404, "/problems/not-found")
    problem(client.post("/v1/offers", json={**base, "audience": {"all": True, "tiers": ["gold"]}}), 422, "/problems/invalid-input", "audience")
    problem(client.post("/v1/offers", json={**base, "audience": {"segments": ["no-such"]}}), 422, "/problems/invalid-input")
    problem(client.post("/v1/offers", json={**base, "audience": {"model": {"top": 0}}}), 422, "/problems/invalid-input", "audience.model")
    problem(client.post("/v1/offers", json={**base, "reward_key": "back", "points": 10}), 422, "/problems/invalid-input", "points")
    problem(client.post("/v1/offers", json={**base, "store_codes": ["nowhere"]}), 422, "/problems/invalid-input", "store_codes")
    problem(client.post("/v1/offers", json={**base, "audience": {"all": True, "experiment": "none", "arms": ["a"]}}), 404, "/problems/not-found")
    assert client.post("/v1/offers", json=base).status_code == 201
    problem(client.post("/v1/offers", json=base), 409, "/problems/conflict", "key")
    problem(client.post("/v1/offers/o:resume"), 409, "/problems/conflict", "key")


def test_a_location_offer_is_usable_after_a_check_in_at_its_open_store(client: TestClient, clock: FrozenClock) -> None:
    _reward(client)
    member = _member(client, "walker", points=1000)
    always = {day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    _post(client, "/v1/stores", {"code": "RUH-01", "name_en": "Olaya", "name_ar": "العليا", "latitude": 24.69, "longitude": 46.68,
                                 "timezone": "Asia/Riyadh", "hours": always})
    _post(client, "/v1/offers", {"key": "olaya-latte", "name_en": "Latte at Olaya", "name_ar": "لاتيه في العليا", "kind": "reward",
                                 "reward_key": "latte", "points": 100, "audience": {"all": True}, "store_codes": ["RUH-01"]})
    _post(client, "/v1/offers/olaya-latte:activate")
    before = client.get(f"/v1/members/{member}/offers").json()["items"]
    assert [(o["usable_now"], o["store_codes"], o["reason"]) for o in before] == [(False, ["RUH-01"], "At Olaya while you are there")]
    problem(client.post(f"/v1/members/{member}/offers/olaya-latte:redeem", json={}), 409, "/problems/conflict", "key")
    _post(client, f"/v1/members/{member}/check-ins", {"store": "RUH-01", "latitude": 24.6901, "longitude": 46.6801})
    assert client.get(f"/v1/members/{member}/offers").json()["items"][0]["usable_now"] is True
    assert client.post(f"/v1/members/{member}/offers/olaya-latte:redeem", json={}).status_code == 201
    assert _available(client, member) == 900
    clock.advance(timedelta(days=1))  # a new day in Riyadh: check in again
    assert client.get(f"/v1/members/{member}/offers").json()["items"][0]["usable_now"] is False


def test_other_tenants_see_nothing(client: TestClient, factory: sessionmaker[Session], clock: FrozenClock, tenant: TenantCtx) -> None:
    _reward(client)
    member = _member(client, "mine", points=1000)
    _post(client, "/v1/offers", {"key": "mine", "name_en": "m", "name_ar": "m", "kind": "reward", "reward_key": "latte", "audience": {"all": True}})
    _post(client, "/v1/offers/mine:activate")
    other = make_tenant(factory, clock.now())
    headers = {"Authorization": f"Bearer {other.admin_key}"}
    problem(client.get("/v1/offers/mine", headers=headers), 404, "/problems/not-found")
    problem(client.get(f"/v1/members/{member}/offers", headers=headers), 404, "/problems/not-found")
    assert client.get("/v1/offers", headers=headers).json()["items"] == []


def test_the_models_pick_goes_to_the_members_it_ranks_the_offer_highest_for(client: TestClient, clock: FrozenClock) -> None:
    from tests.api.test_recommendations import shop

    made = shop(client, clock)
    _post(client, "/v1/offers/model:train", {})
    rule = _post(client, "/v1/rules", {"name_en": "r", "name_ar": "r", "trigger": "purchase", "status": "active",
                                       "conditions": [{"type": "offer", "any_of": ["coffee-treat"]}],
                                       "actions": [{"type": "fixed_points", "points": 5}]})
    _post(client, "/v1/offers", {"key": "coffee-treat", "name_en": "Coffee treat", "name_ar": "قهوة", "kind": "rule", "rule_id": rule["id"],
                                 "category": "coffee", "audience": {"model": {"top": 2}}})
    given = _post(client, "/v1/offers/coffee-treat:activate")["granted"]
    drinkers, shoppers = made["members"]["coffee"], made["members"]["grocery"]  # type: ignore[index]
    assert given >= len(drinkers)
    for member in drinkers:
        [held] = client.get(f"/v1/members/{member}/offers", params={"lang": "en"}).json()["items"]
        assert held["reason"].startswith(("Members with tastes like yours", "You "))
        ranked = client.get(f"/v1/members/{member}/recommendations", params={"k": 50}).json()["items"]
        assert held["score"] == pytest.approx(next(i["score"] for i in ranked if i["item"] == "category:coffee"), rel=1e-5)
    for member in shoppers:
        assert client.get(f"/v1/members/{member}/offers").json()["items"] == []


def test_an_experiments_arm_gets_the_offer_and_the_holdout_does_not(client: TestClient) -> None:
    _reward(client)
    members = [_member(client, f"x{n}") for n in range(40)]
    _post(client, "/v1/experiments", {"key": "latte-test", "name": "Latte offer", "subject": "offers", "holdout_percent": 50,
                                      "arms": [{"key": "a", "weight": 1}], "primary_metric": "redemptions", "horizon_days": 14})
    _post(client, "/v1/experiments/latte-test:start")
    problem(client.post("/v1/offers", json={"key": "o", "name_en": "o", "name_ar": "o", "kind": "reward", "reward_key": "latte",
                                            "audience": {"all": True, "experiment": "latte-test", "arms": ["b"]}}),
            422, "/problems/invalid-input", "audience.arms")
    _post(client, "/v1/offers", {"key": "o", "name_en": "o", "name_ar": "o", "kind": "reward", "reward_key": "latte",
                                 "audience": {"all": True, "experiment": "latte-test", "arms": ["a"]}})
    _post(client, "/v1/offers/o:activate")
    arms = {m: client.get(f"/v1/members/{m}/experiments").json()["arms"]["latte-test"] for m in members}
    holding = {m for m in members if client.get(f"/v1/members/{m}/offers").json()["items"]}
    in_arm = {m for m, arm in arms.items() if arm == "a"}
    assert holding == in_arm and 0 < len(holding) < len(members)
