"""Challenges over HTTP: upcoming, open and closed by the clock; only what happens in the window counts,
for each goal metric; completion pays once; a return that undoes it takes it back (even after the
challenge closed); opt-in challenges; changing a challenge; leaderboards and the nicknames on them."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import TenantCtx, problem
from wafa.clock import FrozenClock
from wafa.jobs.service import run_due

DAY = timedelta(days=1)
MINUTE = timedelta(minutes=1)


def member(client: TestClient, external_id: str = "m-1", **fields: object) -> int:
    made = client.post("/v1/members", json={"external_id": external_id, **fields})
    assert made.status_code == 201, made.text
    return made.json()["id"]


def buy(client: TestClient, member_id: int, order_id: str, amount: str = "10.00", items: list | None = None,  # type: ignore[type-arg]
        occurred_at: datetime | None = None) -> None:
    body: dict = {"type": "purchase", "member": {"id": member_id}, "order_id": order_id, "amount": amount, "currency": "SAR"}  # type: ignore[type-arg]
    if items is not None:
        body["items"] = items
    if occurred_at is not None:
        body["occurred_at"] = occurred_at.isoformat()
    made = client.post("/v1/events", json=body)
    assert made.status_code == 201, made.text


def give_back(client: TestClient, order_id: str, **body: object) -> None:
    made = client.post("/v1/events", json={"type": "return", "order_id": order_id, **body})
    assert made.status_code == 201, made.text


def points(client: TestClient, member_id: int) -> int:
    balance = client.get(f"/v1/members/{member_id}/balance").json()
    return balance["available"] + balance["pending"]


def challenge(client: TestClient, key: str, goal: dict, starts_at: datetime, ends_at: datetime, **more: object) -> dict:  # type: ignore[type-arg]
    made = client.post("/v1/challenges", json={
        "key": key, "name_en": key.title(), "name_ar": "تحدي", "goal": goal,
        "starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat(), **more,
    })
    assert made.status_code == 201, made.text
    return made.json()


def mine(client: TestClient, member_id: int, key: str) -> dict:  # type: ignore[type-arg]
    found = client.get(f"/v1/members/{member_id}/achievements")
    assert found.status_code == 200, found.text
    return next(c for c in found.json()["challenges"] if c["key"] == key)


def listed(client: TestClient, key: str) -> dict:  # type: ignore[type-arg]
    return next(c for c in client.get("/v1/challenges").json()["items"] if c["key"] == key)


def coupon_reward(client: TestClient, key: str = "ten-off") -> None:
    made = client.post("/v1/rewards", json={"key": key, "name_en": "10 off", "name_ar": "خصم", "points": 0,
                                            "gives": {"type": "coupon", "discount": {"type": "fixed", "amount": "10.00"}}})
    assert made.status_code == 201, made.text


def granted(client: TestClient, member_id: int) -> list[tuple[str, str, str]]:
    """The member's rewards, newest first, as (reward key, source, status)."""
    items = client.get(f"/v1/members/{member_id}/reward-redemptions").json()["items"]
    return [(r["reward"]["key"], r["source"], r["status"]) for r in items]


def board(client: TestClient, challenge_id: int, **params: object) -> dict:  # type: ignore[type-arg]
    found = client.get(f"/v1/challenges/{challenge_id}/leaderboard", params=params)
    assert found.status_code == 200, found.text
    return found.json()


def nickname(client: TestClient, member_id: int, name: str, opt_in: bool = True) -> None:
    made = client.put(f"/v1/members/{member_id}/leaderboard-profile", json={"nickname": name, "opt_in": opt_in})
    assert made.status_code == 200, made.text


def line(sku: str, category: str) -> dict:  # type: ignore[type-arg]
    return {"sku": sku, "category": category, "quantity": 1, "unit_price": "5.00"}


TWO_PURCHASES = {"metric": "purchases", "at_least": "2"}


# --- states and the window --------------------------------------------------------------------


def test_list_challenges_state_follows_the_clock(client: TestClient, clock: FrozenClock) -> None:
    start = clock.now() + DAY
    made = challenge(client, "spring", TWO_PURCHASES, start, start + 7 * DAY)
    assert made["state"] == "upcoming" and made["status"] == "active" and made["completed"] == 0
    who = member(client)
    assert mine(client, who, "spring")["state"] == "upcoming"
    clock.advance(DAY)  # exactly starts_at
    assert listed(client, "spring")["state"] == "open"
    assert mine(client, who, "spring")["state"] == "open"
    clock.advance(7 * DAY - timedelta(seconds=1))
    assert listed(client, "spring")["state"] == "open"
    clock.advance(timedelta(seconds=1))  # exactly ends_at
    assert listed(client, "spring")["state"] == "closed"
    assert mine(client, who, "spring")["state"] == "closed"


def test_purchase_before_starts_at_does_not_count(client: TestClient, clock: FrozenClock) -> None:
    start = clock.now() + DAY
    challenge(client, "spring", TWO_PURCHASES, start, start + 7 * DAY, points=100)
    who = member(client)
    buy(client, who, "EARLY")  # made while the challenge is upcoming
    assert mine(client, who, "spring")["progress"] == "0"
    clock.advance(DAY + MINUTE)
    buy(client, who, "BACKDATED", occurred_at=start - timedelta(seconds=1))  # received while open, made before it
    assert mine(client, who, "spring")["progress"] == "0"
    buy(client, who, "AT-START", occurred_at=start)  # starts_at itself is in the window
    found = mine(client, who, "spring")
    assert found["progress"] == "1" and found["completed_at"] is None
    assert points(client, who) == 30  # the purchases' own points only


def test_purchase_at_or_after_ends_at_does_not_count(client: TestClient, clock: FrozenClock) -> None:
    start = clock.now()
    end = start + 7 * DAY
    challenge(client, "week", TWO_PURCHASES, start, end, points=100)
    who = member(client)
    clock.advance(7 * DAY - timedelta(seconds=1))
    buy(client, who, "LAST-SECOND")
    assert mine(client, who, "week")["progress"] == "1"
    clock.advance(timedelta(seconds=1))  # exactly ends_at
    buy(client, who, "AT-END")
    clock.advance(DAY)
    buy(client, who, "AFTER")
    found = mine(client, who, "week")
    assert (found["state"], found["progress"], found["completed_at"]) == ("closed", "1", None)
    assert points(client, who) == 30
    assert listed(client, "week")["completed"] == 0


# --- each goal metric in the window ----------------------------------------------------------


def test_purchases_goal_counts_only_orders_of_at_least_min_amount(client: TestClient, clock: FrozenClock) -> None:
    made = challenge(client, "big-baskets", {"metric": "purchases", "at_least": "2", "min_amount": "50.00"},
                     clock.now(), clock.now() + 7 * DAY, points=100)
    assert made["goal"]["min_amount"] == "50.00" and made["goal"]["at_least"] == "2"
    who = member(client)
    buy(client, who, "A", "49.99")
    buy(client, who, "B", "50.00")
    found = mine(client, who, "big-baskets")
    assert (found["progress"], found["target"], found["completed_at"]) == ("1", "2", None)
    clock.advance(MINUTE)
    buy(client, who, "C", "80.00")
    found = mine(client, who, "big-baskets")
    assert found["progress"] == "2" and found["completed_at"] == clock.now().isoformat().replace("+00:00", "Z")
    assert points(client, who) == 49 + 50 + 80 + 100


def test_purchases_goal_with_a_category_counts_orders_with_a_line_of_it(client: TestClient, clock: FrozenClock) -> None:
    challenge(client, "coffee-run", {"metric": "purchases", "at_least": "2", "category": "coffee"},
              clock.now(), clock.now() + 7 * DAY, points=40)
    who = member(client)
    latte = {"sku": "latte", "category": "coffee", "quantity": 1, "unit_price": "15.00"}
    cake = {"sku": "cake", "category": "bakery", "quantity": 1, "unit_price": "10.00"}
    buy(client, who, "A", "15.00", [latte])
    buy(client, who, "B", "10.00", [cake])
    buy(client, who, "C", "10.00")  # no lines at all
    assert mine(client, who, "coffee-run")["progress"] == "1"
    buy(client, who, "D", "25.00", [latte, cake])
    found = mine(client, who, "coffee-run")
    assert found["progress"] == "2" and found["completed_at"] is not None
    assert points(client, who) == 15 + 10 + 10 + 25 + 40


def test_spend_goal_adds_money_kept_in_the_window(client: TestClient, clock: FrozenClock) -> None:
    start = clock.now() + DAY
    made = challenge(client, "spend-100", {"metric": "spend", "at_least": "100.00"}, start, start + 7 * DAY, points=70)
    assert made["goal"]["at_least"] == "100.00"
    who = member(client)
    buy(client, who, "BEFORE", "500.00")
    clock.advance(DAY)
    buy(client, who, "A", "60.00")
    found = mine(client, who, "spend-100")
    assert (found["progress"], found["target"]) == ("60.00", "100.00")
    buy(client, who, "B", "39.99")
    assert mine(client, who, "spend-100")["completed_at"] is None
    buy(client, who, "C", "0.51")
    found = mine(client, who, "spend-100")
    assert found["progress"] == "100.50" and found["completed_at"] is not None
    assert points(client, who) == 500 + 60 + 39 + 0 + 70


def test_categories_goal_counts_different_categories_bought(client: TestClient, clock: FrozenClock) -> None:
    challenge(client, "explorer", {"metric": "categories", "at_least": "3"}, clock.now(), clock.now() + 7 * DAY, points=30)
    who = member(client)
    buy(client, who, "A", "10.00", [line("latte", "coffee"), line("mocha", "coffee")])
    buy(client, who, "B", "5.00", [line("espresso", "coffee")])
    assert mine(client, who, "explorer")["progress"] == "1"
    buy(client, who, "C", "10.00", [line("cake", "bakery"), line("flat", "coffee")])
    assert mine(client, who, "explorer")["progress"] == "2"
    buy(client, who, "D", "5.00", [line("green", "tea")])
    found = mine(client, who, "explorer")
    assert found["progress"] == "3" and found["completed_at"] is not None
    assert points(client, who) == 30 + 30


def test_events_goal_counts_custom_events_of_its_type_in_the_window(client: TestClient, clock: FrozenClock) -> None:
    for name in ("review_written", "app_opened"):
        assert client.post("/v1/event-types", json={"name": name, "attributes_schema": {"type": "object"}}).status_code == 201
    start = clock.now() + DAY
    challenge(client, "critic-week", {"metric": "events", "event_type": "review_written", "at_least": "2"},
              start, start + 7 * DAY, points=25)
    who = member(client)

    def send(type_: str, ref: str) -> None:
        made = client.post("/v1/events", json={"type": type_, "member": {"id": who}, "reference": ref, "attributes": {}})
        assert made.status_code == 201, made.text

    send("review_written", "early")  # before the start
    clock.advance(DAY)
    send("app_opened", "o1")
    send("review_written", "r1")
    assert mine(client, who, "critic-week")["progress"] == "1"
    send("review_written", "r2")
    found = mine(client, who, "critic-week")
    assert found["progress"] == "2" and found["completed_at"] is not None
    assert points(client, who) == 25


def test_referrals_goal_counts_referrals_completed_in_the_window(
    client: TestClient, clock: FrozenClock, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    assert client.put("/v1/referral-policy", json={"referrer_points": 0, "referee_points": 0, "min_purchase": "20.00"}).status_code == 200
    start = clock.now() + DAY
    challenge(client, "bring-a-friend", {"metric": "referrals", "at_least": "1"}, start, start + 7 * DAY, points=200)
    referrer = client.post("/v1/members", json={"external_id": "ref"}).json()
    first = member(client, "friend-1", referral_code=referrer["referral_code"])
    buy(client, first, "F1", "30.00")
    assert run_due(factory, now=clock.now(), tenant_id=tenant.id).referrals_completed == 1  # before the start
    clock.advance(DAY + MINUTE)
    assert mine(client, referrer["id"], "bring-a-friend")["progress"] == "0"
    second = member(client, "friend-2", referral_code=referrer["referral_code"])
    buy(client, second, "F2", "30.00")
    assert points(client, referrer["id"]) == 0  # the purchase is the friend's
    assert run_due(factory, now=clock.now(), tenant_id=tenant.id).referrals_completed == 1
    found = mine(client, referrer["id"], "bring-a-friend")
    assert found["progress"] == "1" and found["completed_at"] is not None
    assert points(client, referrer["id"]) == 200


# --- completion and revocation ---------------------------------------------------------------


def test_completion_pays_points_and_reward_once_despite_further_purchases(client: TestClient, clock: FrozenClock) -> None:
    coupon_reward(client)
    made = challenge(client, "double", TWO_PURCHASES, clock.now(), clock.now() + 7 * DAY, points=300, reward_key="ten-off")
    assert made["reward_key"] == "ten-off" and made["points"] == 300
    who = member(client)
    for order in ("A", "B", "C", "D"):
        clock.advance(MINUTE)
        buy(client, who, order)
    assert points(client, who) == 40 + 300
    assert granted(client, who) == [("ten-off", "achievement", "issued")]
    found = mine(client, who, "double")
    assert found["progress"] == "4" and found["completed_at"] == (clock.now() - 2 * MINUTE).isoformat().replace("+00:00", "Z")
    assert listed(client, "double")["completed"] == 1


def test_return_below_target_revokes_completion_and_a_later_purchase_completes_it_again(
    client: TestClient, clock: FrozenClock,
) -> None:
    coupon_reward(client)
    challenge(client, "double", TWO_PURCHASES, clock.now(), clock.now() + 7 * DAY, points=300, reward_key="ten-off")
    who = member(client)
    buy(client, who, "A")
    buy(client, who, "B")
    assert points(client, who) == 20 + 300
    give_back(client, "B")
    found = mine(client, who, "double")
    assert (found["progress"], found["completed_at"]) == ("1", None)
    assert points(client, who) == 10  # the 300 clawed back with B's 10
    assert granted(client, who) == [("ten-off", "achievement", "cancelled")]
    assert listed(client, "double")["completed"] == 0
    clock.advance(MINUTE)
    buy(client, who, "C")
    found = mine(client, who, "double")
    assert found["progress"] == "2" and found["completed_at"] == clock.now().isoformat().replace("+00:00", "Z")
    assert points(client, who) == 20 + 300  # paid again, once net
    assert granted(client, who) == [("ten-off", "achievement", "issued"), ("ten-off", "achievement", "cancelled")]
    assert listed(client, "double")["completed"] == 1


def test_partial_return_that_keeps_the_target_keeps_the_completion(client: TestClient, clock: FrozenClock) -> None:
    challenge(client, "spend-100", {"metric": "spend", "at_least": "100.00"}, clock.now(), clock.now() + 7 * DAY, points=50)
    who = member(client)
    buy(client, who, "A", "130.00")
    give_back(client, "A", amount="30.00")
    found = mine(client, who, "spend-100")
    assert found["progress"] == "100.00" and found["completed_at"] is not None
    assert points(client, who) == 100 + 50
    give_back(client, "A", amount="1.00")
    found = mine(client, who, "spend-100")
    assert (found["progress"], found["completed_at"]) == ("99.00", None)
    assert points(client, who) == 99


def test_return_after_the_challenge_closed_still_revokes(client: TestClient, clock: FrozenClock) -> None:
    coupon_reward(client)
    challenge(client, "double", TWO_PURCHASES, clock.now(), clock.now() + 7 * DAY, points=300, reward_key="ten-off")
    who = member(client)
    buy(client, who, "A")
    buy(client, who, "B")
    clock.advance(8 * DAY)
    assert mine(client, who, "double")["state"] == "closed"
    give_back(client, "A")
    found = mine(client, who, "double")
    assert (found["progress"], found["completed_at"]) == ("1", None)
    assert points(client, who) == 10
    assert granted(client, who) == [("ten-off", "achievement", "cancelled")]
    buy(client, who, "C")  # too late to complete it again
    assert mine(client, who, "double")["completed_at"] is None
    assert points(client, who) == 20


def test_challenge_points_for_purchases_wait_out_the_return_window_and_a_return_takes_them_back(
    client: TestClient, clock: FrozenClock,
) -> None:
    assert client.patch("/v1/program", json={"pending_days": 14}).status_code == 200
    challenge(client, "double", TWO_PURCHASES, clock.now(), clock.now() + 7 * DAY, points=300)
    who = member(client)
    buy(client, who, "A")
    buy(client, who, "B")
    found = client.get(f"/v1/members/{who}/balance").json()
    assert (found["available"], found["pending"]) == (0, 320)
    give_back(client, "B")
    found = client.get(f"/v1/members/{who}/balance").json()
    assert (found["available"], found["pending"]) == (0, 10)


def test_challenge_points_for_events_are_available_at_once(client: TestClient, clock: FrozenClock) -> None:
    assert client.patch("/v1/program", json={"pending_days": 14}).status_code == 200
    client.post("/v1/event-types", json={"name": "review_written", "attributes_schema": {"type": "object"}})
    challenge(client, "critic", {"metric": "events", "event_type": "review_written", "at_least": "1"},
              clock.now(), clock.now() + 7 * DAY, points=40)
    who = member(client)
    client.post("/v1/events", json={"type": "review_written", "member": {"id": who}, "reference": "r1", "attributes": {}})
    found = client.get(f"/v1/members/{who}/balance").json()
    assert (found["available"], found["pending"]) == (40, 0)


# --- opt-in ---------------------------------------------------------------------------------


def test_opt_in_challenge_counts_nothing_until_joined(client: TestClient, clock: FrozenClock) -> None:
    made = challenge(client, "join-me", TWO_PURCHASES, clock.now(), clock.now() + 7 * DAY, opt_in=True, points=10)
    assert made["opt_in"] is True
    who = member(client)
    buy(client, who, "A")
    buy(client, who, "B")
    found = mine(client, who, "join-me")
    assert (found["joined"], found["progress"], found["completed_at"]) == (False, "0", None)
    assert points(client, who) == 20


def test_join_before_the_start_counts_from_the_start(client: TestClient, clock: FrozenClock) -> None:
    start = clock.now() + DAY
    made = challenge(client, "join-me", TWO_PURCHASES, start, start + 7 * DAY, opt_in=True, points=10)
    who = member(client)
    joined = client.post(f"/v1/members/{who}/challenges/{made['id']}/join")
    assert joined.status_code == 200, joined.text
    body = joined.json()
    assert (body["key"], body["joined"], body["state"], body["progress"], body["target"]) == ("join-me", True, "upcoming", "0", "2")
    buy(client, who, "EARLY")
    clock.advance(DAY)
    buy(client, who, "A")
    buy(client, who, "B")
    found = mine(client, who, "join-me")
    assert found["progress"] == "2" and found["completed_at"] is not None
    assert points(client, who) == 30 + 10


def test_join_after_the_start_counts_from_joining(client: TestClient, clock: FrozenClock) -> None:
    made = challenge(client, "join-me", TWO_PURCHASES, clock.now(), clock.now() + 7 * DAY, opt_in=True, points=10)
    who = member(client)
    buy(client, who, "A")
    clock.advance(MINUTE)
    client.post(f"/v1/members/{who}/challenges/{made['id']}/join")
    buy(client, who, "BACKDATED", occurred_at=clock.now() - timedelta(seconds=1))
    assert mine(client, who, "join-me")["progress"] == "0"
    buy(client, who, "B")
    assert mine(client, who, "join-me")["progress"] == "1"


def test_join_twice_is_joining_once(client: TestClient, clock: FrozenClock) -> None:
    made = challenge(client, "join-me", TWO_PURCHASES, clock.now(), clock.now() + 7 * DAY, opt_in=True, points=10)
    who = member(client)
    client.post(f"/v1/members/{who}/challenges/{made['id']}/join")
    clock.advance(MINUTE)
    buy(client, who, "A")
    clock.advance(MINUTE)
    again = client.post(f"/v1/members/{who}/challenges/{made['id']}/join")
    assert again.status_code == 200, again.text
    assert again.json()["joined"] is True and again.json()["progress"] == "1"  # the first join still counts from then
    buy(client, who, "B")
    found = mine(client, who, "join-me")
    assert found["progress"] == "2" and found["completed_at"] is not None
    assert points(client, who) == 20 + 10


def test_join_closed_challenge_is_409(client: TestClient, clock: FrozenClock) -> None:
    made = challenge(client, "join-me", TWO_PURCHASES, clock.now(), clock.now() + 7 * DAY, opt_in=True)
    who = member(client)
    clock.advance(7 * DAY)
    problem(client.post(f"/v1/members/{who}/challenges/{made['id']}/join"), 409, "/problems/conflict")
    assert mine(client, who, "join-me")["joined"] is False


def test_join_archived_challenge_is_409(client: TestClient, clock: FrozenClock) -> None:
    made = challenge(client, "join-me", TWO_PURCHASES, clock.now(), clock.now() + 7 * DAY, opt_in=True)
    assert client.patch(f"/v1/challenges/{made['id']}", json={"status": "archived"}).json()["status"] == "archived"
    who = member(client)
    problem(client.post(f"/v1/members/{who}/challenges/{made['id']}/join"), 409, "/problems/conflict")


def test_join_by_a_suspended_member_is_refused(client: TestClient, clock: FrozenClock) -> None:
    made = challenge(client, "join-me", TWO_PURCHASES, clock.now(), clock.now() + 7 * DAY, opt_in=True)
    who = member(client)
    client.post(f"/v1/members/{who}/suspend", json={"reason": "fraud check"})
    problem(client.post(f"/v1/members/{who}/challenges/{made['id']}/join"), 422, "/problems/member-not-active")
    assert mine(client, who, "join-me")["joined"] is False


def test_join_unknown_challenge_or_member_is_404(client: TestClient, clock: FrozenClock) -> None:
    made = challenge(client, "join-me", TWO_PURCHASES, clock.now(), clock.now() + 7 * DAY, opt_in=True)
    who = member(client)
    problem(client.post(f"/v1/members/{who}/challenges/999999999/join"), 404, "/problems/not-found")
    problem(client.post(f"/v1/members/999999999/challenges/{made['id']}/join"), 404, "/problems/not-found")


# --- changing a challenge --------------------------------------------------------------------


def test_patch_challenge_renames_it(client: TestClient, clock: FrozenClock) -> None:
    made = challenge(client, "spring", TWO_PURCHASES, clock.now(), clock.now() + 7 * DAY, description_en="Buy twice")
    changed = client.patch(f"/v1/challenges/{made['id']}", json={"name_en": "Spring Sprint", "description_en": "Buy two times"})
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["name"] == {"en": "Spring Sprint", "ar": "تحدي"} and body["description"]["en"] == "Buy two times"
    assert (body["key"], body["starts_at"], body["ends_at"]) == (made["key"], made["starts_at"], made["ends_at"])
    assert listed(client, "spring")["name"]["en"] == "Spring Sprint"


def test_patch_challenge_moves_ends_at_and_later_purchases_count(client: TestClient, clock: FrozenClock) -> None:
    start = clock.now()
    made = challenge(client, "spring", TWO_PURCHASES, start, start + 7 * DAY, points=100)
    who = member(client)
    buy(client, who, "A")
    later = start + 14 * DAY
    changed = client.patch(f"/v1/challenges/{made['id']}", json={"ends_at": later.isoformat()})
    assert changed.status_code == 200, changed.text
    assert changed.json()["ends_at"] == "2026-03-15T09:00:00Z"
    clock.advance(10 * DAY)  # past the old end
    assert listed(client, "spring")["state"] == "open"
    buy(client, who, "B")
    found = mine(client, who, "spring")
    assert found["progress"] == "2" and found["completed_at"] is not None and found["ends_at"] == "2026-03-15T09:00:00Z"
    assert points(client, who) == 20 + 100


def test_patch_challenge_shortened_closes_it(client: TestClient, clock: FrozenClock) -> None:
    start = clock.now()
    made = challenge(client, "spring", TWO_PURCHASES, start, start + 7 * DAY, points=100)
    who = member(client)
    buy(client, who, "A")
    clock.advance(DAY)
    client.patch(f"/v1/challenges/{made['id']}", json={"ends_at": clock.now().isoformat()})
    assert listed(client, "spring")["state"] == "closed"
    buy(client, who, "B")
    assert mine(client, who, "spring")["completed_at"] is None
    assert points(client, who) == 20


def test_patch_challenge_ends_at_not_after_starts_at_is_422(client: TestClient, clock: FrozenClock) -> None:
    start = clock.now() + DAY
    made = challenge(client, "spring", TWO_PURCHASES, start, start + 7 * DAY)
    problem(client.patch(f"/v1/challenges/{made['id']}", json={"ends_at": (start - DAY).isoformat()}),
            422, "/problems/invalid-input", "ends_at")
    problem(client.patch(f"/v1/challenges/{made['id']}", json={"ends_at": start.isoformat()}), 422, "/problems/invalid-input", "ends_at")
    problem(client.patch(f"/v1/challenges/{made['id']}", json={"ends_at": None}), 422, "/problems/invalid-input", "ends_at")
    assert listed(client, "spring")["ends_at"] == made["ends_at"]


def test_create_challenge_ending_before_it_starts_is_422(client: TestClient, clock: FrozenClock) -> None:
    start = clock.now()
    made = client.post("/v1/challenges", json={
        "key": "x", "name_en": "X", "name_ar": "X", "goal": TWO_PURCHASES, "starts_at": start.isoformat(), "ends_at": start.isoformat(),
    })
    problem(made, 422, "/problems/invalid-input")
    assert client.get("/v1/challenges").json()["items"] == []


def test_create_challenge_with_a_tier_goal_is_422(client: TestClient, clock: FrozenClock) -> None:
    client.post("/v1/tiers", json={"key": "gold", "name_en": "Gold", "name_ar": "ذهبي", "rank": 1, "threshold": "100"})
    made = client.post("/v1/challenges", json={
        "key": "x", "name_en": "X", "name_ar": "X", "goal": {"metric": "tier", "tier": "gold"},
        "starts_at": clock.now().isoformat(), "ends_at": (clock.now() + DAY).isoformat(),
    })
    problem(made, 422, "/problems/invalid-input")
    assert client.get("/v1/challenges").json()["items"] == []


def test_create_challenge_with_a_taken_key_is_409(client: TestClient, clock: FrozenClock) -> None:
    challenge(client, "spring", TWO_PURCHASES, clock.now(), clock.now() + DAY)
    made = client.post("/v1/challenges", json={
        "key": "spring", "name_en": "Other", "name_ar": "X", "goal": {"metric": "spend", "at_least": "10"},
        "starts_at": clock.now().isoformat(), "ends_at": (clock.now() + DAY).isoformat(),
    })
    problem(made, 409, "/problems/conflict")
    assert [c["goal"]["metric"] for c in client.get("/v1/challenges").json()["items"]] == ["purchases"]


def test_create_challenge_with_an_unknown_reward_is_422(client: TestClient, clock: FrozenClock) -> None:
    made = client.post("/v1/challenges", json={
        "key": "x", "name_en": "X", "name_ar": "X", "goal": TWO_PURCHASES, "reward_key": "nope",
        "starts_at": clock.now().isoformat(), "ends_at": (clock.now() + DAY).isoformat(),
    })
    problem(made, 422, "/problems/invalid-input", "reward_key")


def test_patch_unknown_challenge_is_404(client: TestClient) -> None:
    problem(client.patch("/v1/challenges/999999999", json={"name_en": "X"}), 404, "/problems/not-found")


def test_patch_archive_hides_challenge_from_achievements_and_stops_completions(client: TestClient, clock: FrozenClock) -> None:
    made = challenge(client, "spring", TWO_PURCHASES, clock.now(), clock.now() + 7 * DAY, points=100)
    who = member(client)
    buy(client, who, "A")
    archived = client.patch(f"/v1/challenges/{made['id']}", json={"status": "archived"})
    assert archived.status_code == 200 and archived.json()["status"] == "archived"
    assert client.get(f"/v1/members/{who}/achievements").json()["challenges"] == []
    buy(client, who, "B")
    buy(client, who, "C")
    assert points(client, who) == 30
    assert listed(client, "spring")["status"] == "archived" and listed(client, "spring")["completed"] == 0


def test_join_a_challenge_that_is_not_opt_in_keeps_what_counted_before(client: TestClient, clock: FrozenClock) -> None:
    made = challenge(client, "spring", {"metric": "purchases", "at_least": "3"}, clock.now(), clock.now() + 7 * DAY, points=100)
    who = member(client)
    buy(client, who, "A")
    clock.advance(MINUTE)
    joined = client.post(f"/v1/members/{who}/challenges/{made['id']}/join")  # not needed, and harmless
    assert joined.status_code == 200 and joined.json()["progress"] == "1"
    clock.advance(MINUTE)
    buy(client, who, "B")
    assert mine(client, who, "spring")["progress"] == "2"
    buy(client, who, "C")
    found = mine(client, who, "spring")
    assert found["progress"] == "3" and found["completed_at"] is not None
    assert points(client, who) == 30 + 100
