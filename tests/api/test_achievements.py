"""Badges, challenges and streaks over HTTP: earned once when their goal holds, with points and
rewards; taken back when a return makes them untrue; listed by GET /v1/members/{id}/achievements."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from tests.conftest import problem
from wafa.clock import FrozenClock


def member(client: TestClient, external_id: str = "m-1") -> int:
    made = client.post("/v1/members", json={"external_id": external_id})
    assert made.status_code == 201, made.text
    return made.json()["id"]


def buy(client: TestClient, member_id: int, order_id: str, amount: str, items: list | None = None) -> dict:  # type: ignore[type-arg]
    body = {"type": "purchase", "member": {"id": member_id}, "order_id": order_id, "amount": amount, "currency": "SAR"}
    if items is not None:
        body["items"] = items
    made = client.post("/v1/events", json=body)
    assert made.status_code == 201, made.text
    return made.json()


def points(client: TestClient, member_id: int) -> int:
    balance = client.get(f"/v1/members/{member_id}/balance").json()
    return balance["available"] + balance["pending"]


def achievements(client: TestClient, member_id: int) -> dict:  # type: ignore[type-arg]
    found = client.get(f"/v1/members/{member_id}/achievements")
    assert found.status_code == 200, found.text
    return found.json()


def badge(client: TestClient, key: str, criterion: dict, points: int = 0, **more: object) -> dict:  # type: ignore[type-arg]
    made = client.post("/v1/badges", json={"key": key, "name_en": key.title(), "name_ar": "شارة", "criterion": criterion,
                                           "points": points, **more})
    assert made.status_code == 201, made.text
    return made.json()


def test_badge_is_earned_once_with_its_points(client: TestClient) -> None:
    badge(client, "regular", {"metric": "purchases", "at_least": "3"}, points=100)
    who = member(client)
    buy(client, who, "A", "10.00")
    buy(client, who, "B", "10.00")
    found = achievements(client, who)
    assert found["badges"] == [] and found["badges_in_progress"][0]["progress"] == "2"
    buy(client, who, "C", "10.00")
    buy(client, who, "D", "10.00")
    found = achievements(client, who)
    assert [b["key"] for b in found["badges"]] == ["regular"] and found["badges_in_progress"] == []
    assert points(client, who) == 40 + 100
    assert client.get("/v1/badges").json()["items"][0]["holders"] == 1


def test_badge_taken_back_when_a_return_undoes_it(client: TestClient) -> None:
    badge(client, "big-spender", {"metric": "spend", "at_least": "100.00"}, points=50)
    who = member(client)
    buy(client, who, "A", "60.00")
    buy(client, who, "B", "50.00")
    assert points(client, who) == 110 + 50
    client.post("/v1/events", json={"type": "return", "order_id": "B", "amount": "20.00"})
    assert achievements(client, who)["badges"] == []
    assert points(client, who) == 60 + 30
    buy(client, who, "C", "15.00")  # earned again: 105 kept
    assert [b["key"] for b in achievements(client, who)["badges"]] == ["big-spender"]
    assert points(client, who) == 105 + 50


def test_badge_for_spend_in_a_category_counts_kept_lines(client: TestClient) -> None:
    badge(client, "coffee-lover", {"metric": "spend", "at_least": "30.00", "category": "coffee"})
    who = member(client)
    items = [{"sku": "latte", "category": "coffee", "quantity": 2, "unit_price": "15.00"},
             {"sku": "cake", "category": "bakery", "quantity": 1, "unit_price": "10.00"}]
    buy(client, who, "A", "40.00", items)
    assert [b["key"] for b in achievements(client, who)["badges"]] == ["coffee-lover"]
    client.post("/v1/events", json={"type": "return", "order_id": "A", "items": [{"sku": "latte", "quantity": 1}]})
    assert achievements(client, who)["badges_in_progress"][0]["progress"] == "15.00"


def test_badge_for_custom_events(client: TestClient) -> None:
    client.post("/v1/event-types", json={"name": "review_written", "attributes_schema": {"type": "object"}})
    badge(client, "critic", {"metric": "events", "event_type": "review_written", "at_least": "2"}, points=20)
    who = member(client)
    for ref in ("r1", "r2"):
        made = client.post("/v1/events", json={"type": "review_written", "member": {"id": who}, "reference": ref, "attributes": {}})
        assert made.status_code == 201, made.text
    assert [b["key"] for b in achievements(client, who)["badges"]] == ["critic"]
    assert points(client, who) == 20


def test_badge_for_a_tier_reached(client: TestClient) -> None:
    client.post("/v1/tiers", json={"key": "gold", "name_en": "Gold", "name_ar": "ذهبي", "rank": 1, "threshold": "100"})
    badge(client, "golden", {"metric": "tier", "tier": "gold"})
    who = member(client)
    buy(client, who, "A", "150.00")
    assert [b["key"] for b in achievements(client, who)["badges"]] == ["golden"]


def test_badge_for_an_unknown_tier_or_reward_is_refused(client: TestClient) -> None:
    problem(client.post("/v1/badges", json={"key": "x", "name_en": "X", "name_ar": "X", "criterion": {"metric": "tier", "tier": "gold"}}),
            422, "/problems/invalid-input", "criterion.tier")
    problem(client.post("/v1/badges", json={"key": "x", "name_en": "X", "name_ar": "X", "reward_key": "nope",
                                            "criterion": {"metric": "purchases", "at_least": "1"}}),
            422, "/problems/invalid-input", "reward_key")
    assert client.post("/v1/badges", json={"key": "x", "name_en": "X", "name_ar": "X",
                                           "criterion": {"metric": "purchases", "at_least": "1.5"}}).status_code == 422


def test_challenge_completes_in_its_window_and_ranks_on_the_leaderboard(client: TestClient, clock: FrozenClock) -> None:
    start = clock.now()
    made = client.post("/v1/challenges", json={
        "key": "three-in-march", "name_en": "3 purchases", "name_ar": "٣ مشتريات", "goal": {"metric": "purchases", "at_least": "3"},
        "starts_at": start.isoformat(), "ends_at": (start + timedelta(days=30)).isoformat(), "points": 300,
    })
    assert made.status_code == 201, made.text
    challenge_id = made.json()["id"]
    sara, omar = member(client, "sara"), member(client, "omar")
    client.put(f"/v1/members/{sara}/leaderboard-profile", json={"nickname": "Sara S"})
    client.put(f"/v1/members/{omar}/leaderboard-profile", json={"nickname": "omar", "opt_in": False})
    for n in range(3):
        clock.advance(timedelta(hours=1))
        buy(client, sara, f"S{n}", "10.00")
    buy(client, omar, "O1", "10.00")
    mine = achievements(client, sara)["challenges"][0]
    assert mine["progress"] == "3" and mine["completed_at"] is not None and mine["state"] == "open"
    assert points(client, sara) == 30 + 300
    board = client.get(f"/v1/challenges/{challenge_id}/leaderboard", params={"member_id": omar}).json()
    assert [(r["rank"], r["nickname"]) for r in board["rows"]] == [(1, "Sara S")]  # omar opted out
    assert board["you"]["rank"] == 2 and board["you"]["progress"] == "1"
    clock.advance(timedelta(days=31))
    buy(client, omar, "O2", "10.00")
    buy(client, omar, "O3", "10.00")
    assert achievements(client, omar)["challenges"][0]["completed_at"] is None  # closed


def test_nicknames_are_unique_regardless_of_case(client: TestClient) -> None:
    a, b = member(client, "a"), member(client, "b")
    assert client.put(f"/v1/members/{a}/leaderboard-profile", json={"nickname": "Star  Buyer"}).status_code == 200
    problem(client.put(f"/v1/members/{b}/leaderboard-profile", json={"nickname": "star buyer"}), 409, "/problems/conflict")


def test_opt_in_challenge_counts_from_joining(client: TestClient, clock: FrozenClock) -> None:
    start = clock.now()
    made = client.post("/v1/challenges", json={
        "key": "join-me", "name_en": "Join", "name_ar": "انضم", "goal": {"metric": "purchases", "at_least": "2"}, "opt_in": True,
        "starts_at": start.isoformat(), "ends_at": (start + timedelta(days=7)).isoformat(), "points": 10,
    }).json()
    who = member(client)
    buy(client, who, "A", "10.00")
    clock.advance(timedelta(minutes=1))
    joined = client.post(f"/v1/members/{who}/challenges/{made['id']}/join")
    assert joined.status_code == 200, joined.text
    assert joined.json()["joined"] is True and joined.json()["progress"] == "0"
    clock.advance(timedelta(minutes=1))
    buy(client, who, "B", "10.00")
    buy(client, who, "C", "10.00")
    assert achievements(client, who)["challenges"][0]["completed_at"] is not None


def test_streak_milestones_and_a_missed_week_resets(client: TestClient, clock: FrozenClock) -> None:
    made = client.post("/v1/streaks", json={
        "key": "weekly", "name_en": "Every week", "name_ar": "كل أسبوع", "period": "week", "min_amount": "5.00",
        "milestones": [{"length": 3, "points": 30}, {"length": 2, "points": 20}],
    })
    assert made.status_code == 201, made.text
    assert [m["length"] for m in made.json()["milestones"]] == [2, 3]
    who = member(client)
    for n in range(3):
        buy(client, who, f"W{n}", "10.00")
        clock.advance(timedelta(days=7))
    streak = achievements(client, who)["streaks"][0]
    assert streak["current"] == 3 and streak["at_risk"] is True and streak["longest"] == 3
    assert points(client, who) == 30 + 20 + 30
    clock.advance(timedelta(days=7))  # a whole week without a purchase
    streak = achievements(client, who)["streaks"][0]
    assert streak["current"] == 0 and streak["longest"] == 3 and streak["next_milestone"] == 2


def test_badge_archived_is_still_taken_back_by_a_return(client: TestClient) -> None:
    made = badge(client, "pair", {"metric": "purchases", "at_least": "2"}, points=100)
    who = member(client)
    buy(client, who, "A", "10.00")
    buy(client, who, "B", "10.00")
    assert client.patch(f"/v1/badges/{made['id']}", json={"status": "archived"}).status_code == 200
    assert [b["key"] for b in achievements(client, who)["badges"]] == ["pair"]  # what was earned stays...
    client.post("/v1/events", json={"type": "return", "order_id": "B", "amount": "10.00"})
    assert achievements(client, who)["badges"] == []  # ...until a return makes it untrue
    assert points(client, who) == 10


def test_badge_earned_again_does_not_give_a_used_reward_twice(client: TestClient) -> None:
    client.post("/v1/rewards", json={"key": "lounge", "name_en": "Lounge", "name_ar": "صالة", "points": 100,
                                     "gives": {"type": "privilege", "valid_days": 30}})
    badge(client, "pair", {"metric": "purchases", "at_least": "2"}, reward_key="lounge")
    who = member(client)
    buy(client, who, "A", "10.00")
    buy(client, who, "B", "10.00")
    grant = client.get(f"/v1/members/{who}/reward-redemptions").json()["items"][0]
    assert client.post(f"/v1/reward-redemptions/{grant['id']}/use").json()["status"] == "used"
    client.post("/v1/events", json={"type": "return", "order_id": "B", "amount": "10.00"})
    assert achievements(client, who)["badges"] == []
    buy(client, who, "C", "10.00")  # earned again: the used lounge pass counts, no second one
    assert [b["key"] for b in achievements(client, who)["badges"]] == ["pair"]
    found = client.get(f"/v1/members/{who}/reward-redemptions").json()["items"]
    assert [(r["id"], r["status"]) for r in found] == [(grant["id"], "used")]


def test_leaderboard_opt_in_needs_an_active_member(client: TestClient) -> None:
    who = member(client)
    client.post(f"/v1/members/{who}/suspend", json={"reason": "fraud check"})
    problem(client.put(f"/v1/members/{who}/leaderboard-profile", json={"nickname": "Hidden"}), 422, "/problems/member-not-active")
    assert client.put(f"/v1/members/{who}/leaderboard-profile", json={"nickname": "Hidden", "opt_in": False}).status_code == 200


def test_badge_points_that_cross_a_tier_threshold_upgrade_and_earn_the_tier_badge(client: TestClient) -> None:
    client.post("/v1/tiers", json={"key": "gold", "name_en": "Gold", "name_ar": "ذهبي", "rank": 1, "threshold": "500"})
    badge(client, "first", {"metric": "purchases", "at_least": "1"}, points=450)
    badge(client, "golden", {"metric": "tier", "tier": "gold"})
    who = member(client)
    buy(client, who, "A", "60.00")  # 60 + 450 badge points: 510 earned
    assert client.get(f"/v1/members/{who}/tier").json()["tier"]["key"] == "gold"
    assert sorted(b["key"] for b in achievements(client, who)["badges"]) == ["first", "golden"]
