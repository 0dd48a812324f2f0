"""Badges over HTTP: each criterion metric over a member's whole history, in the base currency and
others the program accepts; what can and cannot take a badge back; archived badges; their points
(held for the return window when purchases earned them) and rewards; one tenant's badges and members
out of another's reach."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import TenantCtx, make_tenant, problem
from wafa.clock import FrozenClock
from wafa.jobs.service import run_due


def member(client: TestClient, external_id: str = "m-1", **fields: object) -> int:
    made = client.post("/v1/members", json={"external_id": external_id, **fields})
    assert made.status_code == 201, made.text
    return made.json()["id"]


def buy(client: TestClient, member_id: int, order_id: str, amount: str = "10.00", currency: str = "SAR",
        items: list | None = None) -> None:  # type: ignore[type-arg]
    body: dict = {"type": "purchase", "member": {"id": member_id}, "order_id": order_id, "amount": amount, "currency": currency}  # type: ignore[type-arg]
    if items is not None:
        body["items"] = items
    made = client.post("/v1/events", json=body)
    assert made.status_code == 201, made.text


def give_back(client: TestClient, order_id: str, **body: object) -> None:
    made = client.post("/v1/events", json={"type": "return", "order_id": order_id, **body})
    assert made.status_code == 201, made.text


def balance(client: TestClient, member_id: int) -> tuple[int, int]:
    """(available, pending)"""
    found = client.get(f"/v1/members/{member_id}/balance").json()
    return found["available"], found["pending"]


def achievements(client: TestClient, member_id: int) -> dict:  # type: ignore[type-arg]
    found = client.get(f"/v1/members/{member_id}/achievements")
    assert found.status_code == 200, found.text
    return found.json()


def earned(client: TestClient, member_id: int) -> list[str]:
    return [b["key"] for b in achievements(client, member_id)["badges"]]


def progress(client: TestClient, member_id: int, key: str) -> tuple[str, str]:
    found = next(b for b in achievements(client, member_id)["badges_in_progress"] if b["key"] == key)
    return found["progress"], found["target"]


def badge(client: TestClient, key: str, criterion: dict, points: int = 0, **more: object) -> dict:  # type: ignore[type-arg]
    made = client.post("/v1/badges", json={"key": key, "name_en": key.title(), "name_ar": "شارة", "criterion": criterion,
                                           "points": points, **more})
    assert made.status_code == 201, made.text
    return made.json()


def listed(client: TestClient, key: str) -> dict:  # type: ignore[type-arg]
    return next(b for b in client.get("/v1/badges").json()["items"] if b["key"] == key)


def granted(client: TestClient, member_id: int) -> list[tuple[str, str, str]]:
    items = client.get(f"/v1/members/{member_id}/reward-redemptions").json()["items"]
    return [(r["reward"]["key"], r["source"], r["status"]) for r in items]


def event_type(client: TestClient, name: str) -> None:
    assert client.post("/v1/event-types", json={"name": name, "attributes_schema": {"type": "object"}}).status_code == 201


def send(client: TestClient, member_id: int, type_: str, reference: str) -> None:
    made = client.post("/v1/events", json={"type": type_, "member": {"id": member_id}, "reference": reference, "attributes": {}})
    assert made.status_code == 201, made.text


def tiers(client: TestClient, **policy: object) -> None:
    assert client.put("/v1/tier-policy", json={"metric": "points_earned", "window": "rolling", "months": 12, **policy}).status_code == 200
    for key, rank, threshold in (("silver", 0, "100"), ("gold", 1, "500"), ("platinum", 2, "2000")):
        made = client.post("/v1/tiers", json={"key": key, "name_en": key.title(), "name_ar": key, "rank": rank, "threshold": threshold})
        assert made.status_code == 201, made.text


def line(sku: str, category: str, price: str = "10.00") -> dict:  # type: ignore[type-arg]
    return {"sku": sku, "category": category, "quantity": 1, "unit_price": price}


# --- each metric ------------------------------------------------------------------------------


def test_purchases_badge_counts_only_orders_of_at_least_min_amount(client: TestClient) -> None:
    made = badge(client, "big-basket", {"metric": "purchases", "at_least": "2", "min_amount": "50.00"}, points=30)
    assert made["criterion"] == {"metric": "purchases", "at_least": "2", "category": None, "min_amount": "50.00",
                                 "event_type": None, "tier": None}
    who = member(client)
    buy(client, who, "A", "49.99")
    buy(client, who, "B", "50.00")
    assert progress(client, who, "big-basket") == ("1", "2")
    buy(client, who, "C", "120.00")
    assert earned(client, who) == ["big-basket"]
    assert sum(balance(client, who)) == 49 + 50 + 120 + 30


def test_purchases_badge_min_amount_counts_other_currencies_at_the_earn_rate_ratio(client: TestClient) -> None:
    assert client.patch("/v1/program", json={"earn_rates": {"SAR": "1", "USD": "3.75"}}).status_code == 200
    badge(client, "big-basket", {"metric": "purchases", "at_least": "1", "min_amount": "50.00"})
    who = member(client)
    buy(client, who, "A", "13.33", currency="USD")  # 49.99 SAR
    assert progress(client, who, "big-basket") == ("0", "1")
    buy(client, who, "B", "13.34", currency="USD")  # 50.03 SAR
    assert earned(client, who) == ["big-basket"]


def test_purchases_badge_with_a_category_counts_orders_with_a_line_of_it(client: TestClient) -> None:
    badge(client, "coffee-regular", {"metric": "purchases", "at_least": "2", "category": "coffee"}, points=10)
    who = member(client)
    buy(client, who, "A", "10.00", items=[line("latte", "coffee")])
    buy(client, who, "B", "10.00", items=[line("cake", "bakery")])
    buy(client, who, "C", "10.00")
    assert progress(client, who, "coffee-regular") == ("1", "2")
    buy(client, who, "D", "20.00", items=[line("cake", "bakery"), line("mocha", "coffee")])
    assert earned(client, who) == ["coffee-regular"]
    give_back(client, "D", items=[{"sku": "mocha", "quantity": 1}])  # the coffee line came back
    assert earned(client, who) == []
    assert progress(client, who, "coffee-regular") == ("1", "2")


def test_spend_badge_counts_other_currencies_at_the_earn_rate_ratio(client: TestClient) -> None:
    assert client.patch("/v1/program", json={"earn_rates": {"SAR": "1", "USD": "3.75"}}).status_code == 200
    made = badge(client, "big-spender", {"metric": "spend", "at_least": "100.00"}, points=40)
    assert made["criterion"]["at_least"] == "100.00"
    who = member(client)
    buy(client, who, "A", "20.00", currency="USD")
    assert progress(client, who, "big-spender") == ("75.00", "100.00")
    buy(client, who, "B", "24.99")
    assert progress(client, who, "big-spender") == ("99.99", "100.00")
    buy(client, who, "C", "0.01")
    assert earned(client, who) == ["big-spender"]
    assert sum(balance(client, who)) == 75 + 24 + 0 + 40


def test_spend_badge_in_a_currency_without_a_rate_counts_nothing(client: TestClient) -> None:
    assert client.patch("/v1/program", json={"earn_rates": {"SAR": "1", "USD": "3.75"}}).status_code == 200
    badge(client, "big-spender", {"metric": "spend", "at_least": "10.00"})
    who = member(client)
    assert client.post("/v1/events", json={"type": "purchase", "member": {"id": who}, "order_id": "A", "amount": "50.00",
                                           "currency": "EUR"}).status_code == 422
    assert progress(client, who, "big-spender") == ("0.00", "10.00")


def test_categories_badge_counts_different_categories_kept(client: TestClient) -> None:
    badge(client, "explorer", {"metric": "categories", "at_least": "3"}, points=15)
    who = member(client)
    buy(client, who, "A", "20.00", items=[line("latte", "coffee"), line("mocha", "coffee")])
    buy(client, who, "B", "20.00", items=[line("cake", "bakery"), line("flat", "coffee")])
    assert progress(client, who, "explorer") == ("2", "3")
    buy(client, who, "C", "10.00", items=[line("green", "tea")])
    assert earned(client, who) == ["explorer"]
    give_back(client, "C")  # tea is no longer among what was kept
    assert earned(client, who) == []
    assert progress(client, who, "explorer") == ("2", "3")


def test_events_badge_counts_only_events_of_its_type(client: TestClient) -> None:
    event_type(client, "review_written")
    event_type(client, "app_opened")
    made = badge(client, "critic", {"metric": "events", "event_type": "review_written", "at_least": "3"}, points=20)
    assert made["criterion"]["event_type"] == "review_written"
    who = member(client)
    send(client, who, "app_opened", "o1")
    send(client, who, "review_written", "r1")
    send(client, who, "review_written", "r2")
    repeat = client.post("/v1/events", json={"type": "review_written", "member": {"id": who}, "reference": "r2", "attributes": {}})
    assert repeat.status_code == 200 and repeat.json()["reference"] == "r2"  # a replay of r2, not a third review
    assert progress(client, who, "critic") == ("2", "3")
    send(client, who, "review_written", "r3")
    assert earned(client, who) == ["critic"]
    assert balance(client, who) == (20, 0)


def test_referrals_badge_counts_completed_referrals(
    client: TestClient, clock: FrozenClock, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    assert client.put("/v1/referral-policy", json={"referrer_points": 0, "referee_points": 0, "min_purchase": "20.00"}).status_code == 200
    badge(client, "ambassador", {"metric": "referrals", "at_least": "2"}, points=100)
    referrer = client.post("/v1/members", json={"external_id": "ref"}).json()
    friends = [member(client, f"friend-{n}", referral_code=referrer["referral_code"]) for n in range(3)]
    buy(client, friends[0], "F0", "30.00")
    buy(client, friends[1], "F1", "19.99")  # not enough: stays pending
    run_due(factory, now=clock.now(), tenant_id=tenant.id)
    assert progress(client, referrer["id"], "ambassador") == ("1", "2")
    buy(client, friends[2], "F2", "25.00")
    assert run_due(factory, now=clock.now(), tenant_id=tenant.id).referrals_completed == 1
    assert earned(client, referrer["id"]) == ["ambassador"]
    assert balance(client, referrer["id"]) == (100, 0)


def test_tier_badge_is_earned_on_reaching_the_tier_or_a_better_one(client: TestClient) -> None:
    tiers(client)
    made = badge(client, "golden", {"metric": "tier", "tier": "gold"}, points=5)
    assert made["criterion"]["at_least"] is None and made["criterion"]["tier"] == "gold"
    who, high = member(client, "a"), member(client, "b")
    buy(client, who, "A", "300.00")  # silver
    assert earned(client, who) == [] and progress(client, who, "golden") == ("0", "1")
    buy(client, who, "B", "200.00")  # 500: gold
    assert earned(client, who) == ["golden"]
    buy(client, high, "C", "2500.00")  # straight to platinum
    assert earned(client, high) == ["golden"]


def test_tier_badge_is_earned_for_a_tier_set_by_hand(client: TestClient) -> None:
    tiers(client)
    badge(client, "golden", {"metric": "tier", "tier": "gold"}, points=25)
    who = member(client)
    made = client.post(f"/v1/members/{who}/tier", json={"tier": "platinum", "reason": "VIP guest"})
    assert made.status_code == 200, made.text
    assert earned(client, who) == ["golden"]
    assert balance(client, who) == (25, 0)


def test_badge_with_a_tier_or_reward_that_does_not_exist_is_422(client: TestClient) -> None:
    problem(client.post("/v1/badges", json={"key": "x", "name_en": "X", "name_ar": "X", "criterion": {"metric": "tier", "tier": "gold"}}),
            422, "/problems/invalid-input", "criterion.tier")
    problem(client.post("/v1/badges", json={"key": "x", "name_en": "X", "name_ar": "X", "criterion": {"metric": "events", "at_least": "1"}}),
            422, "/problems/invalid-input")
    problem(client.post("/v1/badges", json={"key": "x", "name_en": "X", "name_ar": "X",
                                            "criterion": {"metric": "spend", "at_least": "10", "min_amount": "5"}}),
            422, "/problems/invalid-input")
    assert client.get("/v1/badges").json()["items"] == []


# --- never taken back -------------------------------------------------------------------------


def test_events_badge_is_not_revoked_by_returns(client: TestClient) -> None:
    event_type(client, "review_written")
    badge(client, "critic", {"metric": "events", "event_type": "review_written", "at_least": "1"}, points=20)
    who = member(client)
    buy(client, who, "A", "10.00")
    send(client, who, "review_written", "r1")
    give_back(client, "A")
    assert earned(client, who) == ["critic"]
    assert balance(client, who) == (20, 0)


def test_referrals_badge_is_not_revoked_when_the_friend_returns_the_purchase(
    client: TestClient, clock: FrozenClock, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    client.put("/v1/referral-policy", json={"referrer_points": 0, "referee_points": 0, "min_purchase": "20.00"})
    badge(client, "ambassador", {"metric": "referrals", "at_least": "1"}, points=100)
    referrer = client.post("/v1/members", json={"external_id": "ref"}).json()
    friend = member(client, "friend", referral_code=referrer["referral_code"])
    buy(client, friend, "F", "30.00")
    run_due(factory, now=clock.now(), tenant_id=tenant.id)
    give_back(client, "F")
    buy(client, referrer["id"], "R", "10.00")
    give_back(client, "R")
    assert earned(client, referrer["id"]) == ["ambassador"]
    assert balance(client, referrer["id"]) == (100, 0)


def test_tier_badge_is_not_revoked_when_the_tier_is_lost(
    client: TestClient, clock: FrozenClock, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    tiers(client, grace_days=0, max_drop=3)
    badge(client, "golden", {"metric": "tier", "tier": "gold"}, points=25)
    who = member(client)
    buy(client, who, "A", "600.00")
    assert earned(client, who) == ["golden"]
    give_back(client, "A")
    assert earned(client, who) == ["golden"]
    clock.advance(timedelta(days=400))
    run_due(factory, now=clock.now(), tenant_id=tenant.id)
    assert client.get(f"/v1/members/{who}/tier").json()["tier"] is None  # the review took the tier away
    buy(client, who, "B", "10.00")
    give_back(client, "B")
    assert earned(client, who) == ["golden"]
    assert listed(client, "golden")["holders"] == 1
    assert sum(balance(client, who)) == 25


def test_tier_badge_set_by_hand_is_kept_after_the_floor_is_lifted(
    client: TestClient, clock: FrozenClock, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    tiers(client, grace_days=0, max_drop=3)
    badge(client, "golden", {"metric": "tier", "tier": "gold"}, points=25)
    who = member(client)
    client.post(f"/v1/members/{who}/tier", json={"tier": "gold", "reason": "VIP"})
    client.post(f"/v1/members/{who}/tier", json={"tier": None, "reason": "no longer VIP"})
    clock.advance(timedelta(days=400))
    run_due(factory, now=clock.now(), tenant_id=tenant.id)
    assert client.get(f"/v1/members/{who}/tier").json()["tier"] is None
    buy(client, who, "A", "10.00")
    assert earned(client, who) == ["golden"]
    assert sum(balance(client, who)) == 10 + 25


def test_purchase_badge_revoked_by_a_return_cancels_its_unused_reward(client: TestClient) -> None:
    client.post("/v1/rewards", json={"key": "free-mug", "name_en": "Mug", "name_ar": "كوب", "points": 0, "gives": {"type": "privilege"}})
    badge(client, "first-order", {"metric": "purchases", "at_least": "1"}, points=10, reward_key="free-mug")
    who = member(client)
    buy(client, who, "A", "10.00")
    assert granted(client, who) == [("free-mug", "achievement", "issued")]
    give_back(client, "A")
    assert earned(client, who) == []
    assert granted(client, who) == [("free-mug", "achievement", "cancelled")]
    assert sum(balance(client, who)) == 0


# --- definitions -------------------------------------------------------------------------------


def test_create_badge_with_a_taken_key_is_409(client: TestClient) -> None:
    badge(client, "regular", {"metric": "purchases", "at_least": "3"})
    problem(client.post("/v1/badges", json={"key": "regular", "name_en": "Other", "name_ar": "أخرى",
                                            "criterion": {"metric": "spend", "at_least": "10"}}), 409, "/problems/conflict")
    items = client.get("/v1/badges").json()["items"]
    assert [(b["key"], b["criterion"]["metric"]) for b in items] == [("regular", "purchases")]


def test_archived_badge_is_not_earned_but_holders_keep_it(client: TestClient) -> None:
    made = badge(client, "first-order", {"metric": "purchases", "at_least": "1"}, points=10)
    badge(client, "regular", {"metric": "purchases", "at_least": "5"})
    holder, late = member(client, "a"), member(client, "b")
    buy(client, holder, "A", "10.00")
    archived = client.patch(f"/v1/badges/{made['id']}", json={"status": "archived"})
    assert archived.status_code == 200 and archived.json()["status"] == "archived" and archived.json()["holders"] == 1
    buy(client, late, "B", "10.00")
    found = achievements(client, late)
    assert found["badges"] == []
    assert [b["key"] for b in found["badges_in_progress"]] == ["regular"]
    assert sum(balance(client, late)) == 10
    mine = achievements(client, holder)
    assert [(b["key"], b["points"]) for b in mine["badges"]] == [("first-order", 10)]
    assert [b["key"] for b in mine["badges_in_progress"]] == ["regular"]
    assert listed(client, "first-order")["holders"] == 1


def test_patch_badge_renames_it_and_its_holders_see_the_new_name(client: TestClient) -> None:
    made = badge(client, "first-order", {"metric": "purchases", "at_least": "1"})
    who = member(client)
    buy(client, who, "A")
    changed = client.patch(f"/v1/badges/{made['id']}", json={"name_en": "First Order", "description_ar": "أول طلب"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["name"] == {"en": "First Order", "ar": "شارة"}
    mine = achievements(client, who)["badges"][0]
    assert mine["name"]["en"] == "First Order" and mine["description"] == {"en": None, "ar": "أول طلب"}
    problem(client.patch(f"/v1/badges/{made['id']}", json={"name_en": None}), 422, "/problems/invalid-input", "name_en")
    problem(client.patch("/v1/badges/999999999", json={"name_en": "X"}), 404, "/problems/not-found")


# --- points and rewards ------------------------------------------------------------------------


def test_purchase_badge_points_are_pending_for_the_return_window(
    client: TestClient, clock: FrozenClock, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    assert client.patch("/v1/program", json={"pending_days": 14}).status_code == 200
    badge(client, "first-order", {"metric": "purchases", "at_least": "1"}, points=50)
    who = member(client)
    buy(client, who, "A", "10.00")
    assert earned(client, who) == ["first-order"]
    assert balance(client, who) == (0, 10 + 50)
    clock.advance(timedelta(days=14))
    run_due(factory, now=clock.now(), tenant_id=tenant.id)
    assert balance(client, who) == (60, 0)


def test_spend_badge_revoked_while_its_points_are_pending_takes_them_back(client: TestClient) -> None:
    assert client.patch("/v1/program", json={"pending_days": 14}).status_code == 200
    badge(client, "big-spender", {"metric": "spend", "at_least": "100.00"}, points=50)
    who = member(client)
    buy(client, who, "A", "100.00")
    assert balance(client, who) == (0, 150)
    give_back(client, "A", amount="50.00")
    assert earned(client, who) == []
    assert balance(client, who) == (0, 50)


def test_event_badge_points_are_available_at_once(client: TestClient) -> None:
    assert client.patch("/v1/program", json={"pending_days": 14}).status_code == 200
    event_type(client, "review_written")
    badge(client, "critic", {"metric": "events", "event_type": "review_written", "at_least": "1"}, points=20)
    who = member(client)
    send(client, who, "review_written", "r1")
    assert balance(client, who) == (20, 0)


def test_badge_with_a_reward_key_grants_the_reward(client: TestClient) -> None:
    made = client.post("/v1/rewards", json={"key": "ten-off", "name_en": "10 off", "name_ar": "خصم", "points": 500,
                                            "gives": {"type": "coupon", "discount": {"type": "fixed", "amount": "10.00"}}})
    assert made.status_code == 201, made.text
    created = badge(client, "regular", {"metric": "purchases", "at_least": "2"}, reward_key="ten-off")
    assert created["reward_key"] == "ten-off"
    who = member(client)
    buy(client, who, "A")
    assert granted(client, who) == []
    buy(client, who, "B")
    buy(client, who, "C")
    items = client.get(f"/v1/members/{who}/reward-redemptions").json()["items"]
    assert [(r["reward"]["key"], r["source"], r["status"], r["points"]) for r in items] == [("ten-off", "achievement", "issued", 0)]
    assert items[0]["coupon"]["discount"]["amount"] == "10.00"
    assert sum(balance(client, who)) == 30  # the reward cost no points


# --- tenants ----------------------------------------------------------------------------------


def test_another_tenants_member_achievements_are_404(client: TestClient, clock: FrozenClock, factory: sessionmaker[Session]) -> None:
    made = badge(client, "first-order", {"metric": "purchases", "at_least": "1"})
    who = member(client)
    buy(client, who, "A")
    other = make_tenant(factory, clock.now())
    client.headers["Authorization"] = f"Bearer {other.admin_key}"
    problem(client.get(f"/v1/members/{who}/achievements"), 404, "/problems/not-found")
    problem(client.patch(f"/v1/badges/{made['id']}", json={"status": "archived"}), 404, "/problems/not-found")
    assert client.get("/v1/badges").json()["items"] == []
    theirs = badge(client, "first-order", {"metric": "spend", "at_least": "1"})  # the same key is theirs to use
    assert theirs["holders"] == 0
