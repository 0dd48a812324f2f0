"""Streaks over HTTP: consecutive weeks or months, in the program's time zone, each with a qualifying
purchase (at least `min_amount` kept after returns, from the streak's start); a milestone pays once
per run and again in a later run; a return that breaks a run takes its milestones back. After every
scenario the ledger still verifies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import TenantCtx
from wafa.clock import FrozenClock
from wafa.db import unit_of_work
from wafa.ledger.verify import verify

# The clock starts on Sunday 1 March 2026 at 09:00 UTC; these are the Mondays of the weeks after it.
WEEK = timedelta(days=7)
W1 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # week of Monday 2 March
W2, W3, W4, W5, W6, W7 = (W1 + WEEK * n for n in range(1, 7))


@pytest.fixture(autouse=True)
def ledger_stays_whole(factory: sessionmaker[Session], tenant: TenantCtx) -> Any:
    """Whatever a scenario did, every ledger invariant holds afterwards."""
    yield
    with unit_of_work(factory) as session:
        report = verify(session, tenant_id=tenant.id)
    assert report.ok, report.problems


def enrol(client: TestClient, external_id: str = "m-1") -> int:
    made = client.post("/v1/members", json={"external_id": external_id})
    assert made.status_code == 201, made.text
    return made.json()["id"]


def add_streak(client: TestClient, milestones: list[dict[str, Any]], period: str = "week", key: str = "weekly", **fields: Any) -> dict[str, Any]:
    made = client.post("/v1/streaks", json={"key": key, "name_en": key.title(), "name_ar": "متتالية", "period": period,
                                            "milestones": milestones, **fields})
    assert made.status_code == 201, made.text
    return made.json()


def buy(client: TestClient, member_id: int, order_id: str, amount: str = "10.00", occurred_at: datetime | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "purchase", "member": {"id": member_id}, "order_id": order_id, "amount": amount, "currency": "SAR"}
    if occurred_at is not None:
        body["occurred_at"] = occurred_at.isoformat()
    made = client.post("/v1/events", json=body)
    assert made.status_code == 201, made.text
    return made.json()


def give_back(client: TestClient, order_id: str, amount: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "return", "order_id": order_id}
    if amount is not None:
        body["amount"] = amount
    made = client.post("/v1/events", json=body)
    assert made.status_code == 201, made.text
    return made.json()


def points(client: TestClient, member_id: int) -> int:
    balance = client.get(f"/v1/members/{member_id}/balance").json()
    return balance["available"] + balance["pending"]


def streak_of(client: TestClient, member_id: int, key: str = "weekly") -> dict[str, Any]:
    found = client.get(f"/v1/members/{member_id}/achievements")
    assert found.status_code == 200, found.text
    return next(s for s in found.json()["streaks"] if s["key"] == key)


def milestone_entries(client: TestClient, member_id: int) -> list[tuple[str, int]]:
    """(kind, points) of the member's ledger entries a streak milestone made, oldest first."""
    items = client.get(f"/v1/members/{member_id}/entries", params={"limit": 200}).json()["items"]
    return [(e["kind"], e["points"]) for e in reversed(items) if (e["details"] or {}).get("achievement_id") is not None]


def granted(client: TestClient, member_id: int) -> list[tuple[str, str]]:
    """(reward key, status) of the rewards a member was given by achievements, oldest first."""
    items = client.get(f"/v1/members/{member_id}/reward-redemptions").json()["items"]
    return [(r["reward"]["key"], r["status"]) for r in reversed(items) if r["source"] == "achievement"]


# Periods ----------------------------------------------------------------------------------------


def test_monthly_streak_runs_across_the_year_end(client: TestClient, clock: FrozenClock) -> None:
    add_streak(client, [{"length": 3, "points": 300}], period="month", key="monthly")
    who = enrol(client)
    for order, when in (("N", datetime(2026, 11, 20, 12, tzinfo=UTC)), ("D", datetime(2026, 12, 31, 12, tzinfo=UTC)),
                        ("J", datetime(2027, 1, 1, 12, tzinfo=UTC))):
        clock.set(when)
        buy(client, who, order)
    streak = streak_of(client, who, "monthly")
    assert (streak["current"], streak["at_risk"], streak["run_start"], streak["last_period"]) == (3, False, "2026-11-01", "2027-01-01")
    assert points(client, who) == 30 + 300
    clock.set(datetime(2027, 2, 10, tzinfo=UTC))  # February without a purchase yet
    assert (streak_of(client, who, "monthly")["current"], streak_of(client, who, "monthly")["at_risk"]) == (3, True)
    clock.set(datetime(2027, 3, 1, tzinfo=UTC))  # February passed without one
    streak = streak_of(client, who, "monthly")
    assert (streak["current"], streak["at_risk"], streak["longest"], streak["run_start"]) == (0, False, 3, None)


def test_sunday_night_utc_counts_for_the_next_week_in_riyadh(client: TestClient, clock: FrozenClock) -> None:
    changed = client.patch("/v1/program", json={"timezone": "Asia/Riyadh"})
    assert changed.status_code == 200 and changed.json()["timezone"] == "Asia/Riyadh"
    add_streak(client, [{"length": 2, "points": 50}])
    who = enrol(client)
    clock.set(datetime(2026, 3, 2, 10, tzinfo=UTC))  # Monday 2 March
    buy(client, who, "A")
    clock.set(datetime(2026, 3, 8, 23, 30, tzinfo=UTC))  # Sunday in UTC, 02:30 on Monday 9 March in Riyadh
    buy(client, who, "B")
    streak = streak_of(client, who)
    assert (streak["current"], streak["run_start"], streak["last_period"]) == (2, "2026-03-02", "2026-03-09")
    assert points(client, who) == 20 + 50
    clock.set(datetime(2026, 3, 15, 22, 0, tzinfo=UTC))  # 01:00 on Monday 16 March in Riyadh: a new week, none bought yet
    assert (streak_of(client, who)["current"], streak_of(client, who)["at_risk"]) == (2, True)
    clock.set(datetime(2026, 3, 22, 21, 30, tzinfo=UTC))  # 00:30 on Monday 23 March in Riyadh: the week of 16 March is gone
    assert (streak_of(client, who)["current"], streak_of(client, who)["at_risk"]) == (0, False)


def test_sunday_night_utc_is_the_same_week_in_a_utc_program(client: TestClient, clock: FrozenClock) -> None:
    assert client.get("/v1/program").json()["timezone"] == "UTC"
    add_streak(client, [{"length": 2, "points": 50}])
    who = enrol(client)
    clock.set(datetime(2026, 3, 2, 10, tzinfo=UTC))
    buy(client, who, "A")
    clock.set(datetime(2026, 3, 8, 23, 30, tzinfo=UTC))
    buy(client, who, "B")
    streak = streak_of(client, who)
    assert (streak["current"], streak["run_start"], streak["last_period"]) == (1, "2026-03-02", "2026-03-02")
    assert points(client, who) == 20


# What qualifies ---------------------------------------------------------------------------------


def test_purchase_below_min_amount_does_not_count(client: TestClient, clock: FrozenClock) -> None:
    add_streak(client, [{"length": 2, "points": 50}], min_amount="20.00")
    who = enrol(client)
    clock.set(W1)
    buy(client, who, "SMALL", "19.99")
    assert streak_of(client, who)["current"] == 0
    clock.set(W2)
    buy(client, who, "EXACT", "20.00")  # exactly the minimum qualifies
    streak = streak_of(client, who)
    assert (streak["current"], streak["run_start"]) == (1, "2026-03-09")
    assert points(client, who) == 19 + 20  # no milestone: week 1 did not count


def test_partial_return_below_min_amount_stops_the_week_counting(client: TestClient, clock: FrozenClock) -> None:
    add_streak(client, [{"length": 2, "points": 50}], min_amount="20.00")
    who = enrol(client)
    clock.set(W1)
    buy(client, who, "A", "30.00")
    clock.set(W2)
    buy(client, who, "B", "30.00")
    assert (streak_of(client, who)["current"], points(client, who)) == (2, 60 + 50)
    give_back(client, "B", "15.00")  # 15.00 kept: under the minimum
    streak = streak_of(client, who)
    assert (streak["current"], streak["at_risk"], streak["last_period"]) == (1, True, "2026-03-02")  # week 2 no longer counts
    assert points(client, who) == 45  # the milestone went back with the return's own points
    assert milestone_entries(client, who) == [("earn", 50), ("reverse", -50)]


def test_purchases_before_the_streak_starts_do_not_count(client: TestClient, clock: FrozenClock) -> None:
    starts = datetime(2026, 3, 11, 0, 0, tzinfo=UTC)  # Wednesday of the week of 9 March
    made = add_streak(client, [{"length": 1, "points": 10}, {"length": 2, "points": 50}], starts_at=starts.isoformat())
    assert made["starts_at"].startswith("2026-03-11T00:00:00")
    who = enrol(client)
    clock.set(W1)
    buy(client, who, "EARLY")
    clock.set(W2)  # Monday 9 March: the streak's own week, but before it starts
    buy(client, who, "MONDAY")
    assert (streak_of(client, who)["current"], points(client, who)) == (0, 20)
    clock.set(starts + timedelta(hours=1))
    buy(client, who, "WEDNESDAY")
    streak = streak_of(client, who)
    assert (streak["current"], streak["run_start"], streak["next_milestone"]) == (1, "2026-03-09", 2)
    assert points(client, who) == 30 + 10


def test_backdated_purchase_before_the_streak_started_does_not_count(client: TestClient, clock: FrozenClock) -> None:
    clock.set(W2)
    add_streak(client, [{"length": 2, "points": 50}])  # starts now, Monday 9 March 10:00
    who = enrol(client)
    buy(client, who, "OLD", occurred_at=W1)
    buy(client, who, "NOW")
    streak = streak_of(client, who)
    assert (streak["current"], streak["run_start"]) == (1, "2026-03-09")
    assert points(client, who) == 20


# Runs and milestones ----------------------------------------------------------------------------


def test_milestone_pays_once_per_run_and_again_in_a_later_run(client: TestClient, clock: FrozenClock) -> None:
    add_streak(client, [{"length": 2, "points": 50}])
    who = enrol(client)
    for n, when in enumerate((W1, W2, W2 + timedelta(days=1), W3)):  # two purchases in week 2, the run goes on in week 3
        clock.set(when)
        buy(client, who, f"R1-{n}")
    assert points(client, who) == 40 + 50
    clock.set(W6)  # weeks 4 and 5 missed: a new run
    buy(client, who, "R2-0")
    assert (streak_of(client, who)["current"], points(client, who)) == (1, 50 + 50)
    clock.set(W7)
    buy(client, who, "R2-1")
    streak = streak_of(client, who)
    assert (streak["current"], streak["longest"], streak["run_start"]) == (2, 3, "2026-04-06")
    assert points(client, who) == 60 + 50 + 50
    assert milestone_entries(client, who) == [("earn", 50), ("earn", 50)]


def test_return_of_the_only_purchase_of_a_week_breaks_the_run_and_takes_the_milestone_back(
    client: TestClient, clock: FrozenClock,
) -> None:
    add_streak(client, [{"length": 2, "points": 20}, {"length": 3, "points": 100}])
    who = enrol(client)
    for order, when in (("A", W1), ("B", W2), ("C", W3)):
        clock.set(when)
        buy(client, who, order)
    assert points(client, who) == 30 + 20 + 100
    back = give_back(client, "B")
    assert back["reversal"]["points"] == 10
    streak = streak_of(client, who)
    assert (streak["current"], streak["run_start"], streak["longest"]) == (1, "2026-03-16", 1)
    assert points(client, who) == 20  # A and C; both milestones taken back
    assert sorted(milestone_entries(client, who)) == [("earn", 20), ("earn", 100), ("reverse", -100), ("reverse", -20)]
    entries = client.get(f"/v1/members/{who}/entries").json()["items"]
    assert any(e["kind"] == "reverse" and e["reason"].startswith("achievement taken back") for e in entries)


def test_backdated_purchase_that_fills_a_gap_merges_two_runs(client: TestClient, clock: FrozenClock) -> None:
    add_streak(client, [{"length": 3, "points": 100}])
    who = enrol(client)
    clock.set(W1)
    buy(client, who, "A")
    clock.set(W3)
    buy(client, who, "C")
    assert (streak_of(client, who)["current"], streak_of(client, who)["longest"]) == (1, 1)
    buy(client, who, "B", occurred_at=W2 + timedelta(days=2))  # recorded late: it happened in week 2
    streak = streak_of(client, who)
    assert (streak["current"], streak["longest"], streak["run_start"], streak["last_period"]) == (3, 3, "2026-03-02", "2026-03-16")
    assert points(client, who) == 30 + 100


def test_merged_runs_pay_each_milestone_once(client: TestClient, clock: FrozenClock) -> None:
    add_streak(client, [{"length": 2, "points": 20}, {"length": 5, "points": 500}])
    who = enrol(client)
    for order, when in (("A", W1), ("B", W2), ("D", W4), ("E", W5)):
        clock.set(when)
        buy(client, who, order)
    assert points(client, who) == 40 + 20 + 20  # two runs, milestone 2 in each
    buy(client, who, "C", occurred_at=W3)
    streak = streak_of(client, who)
    assert (streak["current"], streak["run_start"]) == (5, "2026-03-02")
    assert points(client, who) == 50 + 20 + 500  # one run now: milestone 2 once, and milestone 5


def test_backdated_purchase_extending_a_run_backwards_does_not_pay_its_milestone_again(
    client: TestClient, clock: FrozenClock,
) -> None:
    client.post("/v1/rewards", json={"key": "lounge", "name_en": "Lounge", "name_ar": "صالة", "points": 100,
                                     "gives": {"type": "privilege", "valid_days": 30}})
    add_streak(client, [{"length": 2, "points": 20, "reward_key": "lounge"}])
    who = enrol(client)
    clock.set(W2)
    buy(client, who, "B")
    clock.set(W3)
    buy(client, who, "C")
    grant = client.get(f"/v1/members/{who}/reward-redemptions").json()["items"][0]
    used = client.post(f"/v1/reward-redemptions/{grant['id']}/use")
    assert used.status_code == 200 and used.json()["status"] == "used"
    buy(client, who, "A", occurred_at=W1)  # the same run, now a week longer at its start
    streak = streak_of(client, who)
    assert (streak["current"], streak["run_start"]) == (3, "2026-03-02")
    assert granted(client, who) == [("lounge", "used")]  # one run, one reward
    assert points(client, who) == 30 + 20


def test_return_that_shortens_a_run_from_its_start_keeps_a_milestone_it_still_reaches(
    client: TestClient, clock: FrozenClock,
) -> None:
    client.post("/v1/rewards", json={"key": "lounge", "name_en": "Lounge", "name_ar": "صالة", "points": 100,
                                     "gives": {"type": "privilege", "valid_days": 30}})
    add_streak(client, [{"length": 2, "points": 20, "reward_key": "lounge"}])
    who = enrol(client)
    for order, when in (("A", W1), ("B", W2), ("C", W3)):
        clock.set(when)
        buy(client, who, order)
    grant = client.get(f"/v1/members/{who}/reward-redemptions").json()["items"][0]
    assert client.post(f"/v1/reward-redemptions/{grant['id']}/use").json()["status"] == "used"
    give_back(client, "A")  # weeks 2 and 3 are still two in a row
    streak = streak_of(client, who)
    assert (streak["current"], streak["run_start"]) == (2, "2026-03-09")
    assert granted(client, who) == [("lounge", "used")]
    assert milestone_entries(client, who) == [("earn", 20)]  # nothing taken back, nothing given twice
    assert points(client, who) == 20 + 20


def test_milestone_points_wait_out_the_return_window_and_a_return_takes_them_from_pending(
    client: TestClient, clock: FrozenClock,
) -> None:
    client.patch("/v1/program", json={"pending_days": 14})
    add_streak(client, [{"length": 2, "points": 50}])
    who = enrol(client)
    clock.set(W1)
    buy(client, who, "A")
    clock.set(W2)
    buy(client, who, "B")
    balance = client.get(f"/v1/members/{who}/balance").json()
    assert (balance["available"], balance["pending"]) == (0, 10 + 10 + 50)
    give_back(client, "B")
    balance = client.get(f"/v1/members/{who}/balance").json()
    assert (balance["available"], balance["pending"]) == (0, 10)
    assert milestone_entries(client, who) == [("earn", 50), ("reverse", -50)]


# Definitions and members ------------------------------------------------------------------------


def test_archived_streak_no_longer_awards_and_leaves_achievements(client: TestClient, clock: FrozenClock) -> None:
    made = add_streak(client, [{"length": 2, "points": 50}])
    who = enrol(client)
    clock.set(W1)
    buy(client, who, "A")
    assert streak_of(client, who)["current"] == 1
    archived = client.patch(f"/v1/streaks/{made['id']}", json={"status": "archived"})
    assert archived.status_code == 200 and archived.json()["status"] == "archived"
    clock.set(W2)
    buy(client, who, "B")
    assert points(client, who) == 20  # no milestone
    assert client.get(f"/v1/members/{who}/achievements").json()["streaks"] == []
    assert [(s["key"], s["status"]) for s in client.get("/v1/streaks").json()["items"]] == [("weekly", "archived")]


def test_suspended_member_earns_no_milestone(client: TestClient, clock: FrozenClock) -> None:
    add_streak(client, [{"length": 1, "points": 10}, {"length": 2, "points": 50}])
    who = enrol(client)
    suspended = client.post(f"/v1/members/{who}/suspend", json={"reason": "fraud review"})
    assert suspended.status_code == 200 and suspended.json()["status"] == "suspended"
    for order, when in (("A", W1), ("B", W2)):
        clock.set(when)
        made = buy(client, who, order)
        assert made["not_awarded_reason"] == "member is suspended"
    assert points(client, who) == 0
    assert client.get(f"/v1/members/{who}/entries").json()["items"] == []


def test_milestone_reward_is_granted_and_cancelled_when_a_return_breaks_the_run(client: TestClient, clock: FrozenClock) -> None:
    reward = client.post("/v1/rewards", json={"key": "free-coffee", "name_en": "Free coffee", "name_ar": "قهوة مجانية",
                                              "points": 100, "gives": {"type": "privilege", "valid_days": 30}})
    assert reward.status_code == 201, reward.text
    add_streak(client, [{"length": 2, "points": 0, "reward_key": "free-coffee"}])
    who = enrol(client)
    clock.set(W1)
    buy(client, who, "A")
    assert granted(client, who) == []
    clock.set(W2)
    buy(client, who, "B")
    assert granted(client, who) == [("free-coffee", "issued")]
    give_back(client, "B")
    assert granted(client, who) == [("free-coffee", "cancelled")]
    assert points(client, who) == 10
    clock.set(W3)
    buy(client, who, "C")  # weeks 1 and 3: no run of two
    assert granted(client, who) == [("free-coffee", "cancelled")]


def test_milestone_reward_already_used_stays_when_a_return_breaks_the_run(client: TestClient, clock: FrozenClock) -> None:
    client.post("/v1/rewards", json={"key": "free-coffee", "name_en": "Free coffee", "name_ar": "قهوة مجانية",
                                     "points": 100, "gives": {"type": "privilege", "valid_days": 30}})
    add_streak(client, [{"length": 2, "points": 30, "reward_key": "free-coffee"}])
    who = enrol(client)
    clock.set(W1)
    buy(client, who, "A")
    clock.set(W2)
    buy(client, who, "B")
    grant = client.get(f"/v1/members/{who}/reward-redemptions").json()["items"][0]
    assert client.post(f"/v1/reward-redemptions/{grant['id']}/use").json()["status"] == "used"
    give_back(client, "A")
    assert granted(client, who) == [("free-coffee", "used")]
    assert points(client, who) == 10  # B's points; the milestone's 30 taken back
    assert streak_of(client, who)["current"] == 1
