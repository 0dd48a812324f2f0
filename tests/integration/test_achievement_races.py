"""Races on badges, challenges and nicknames, on PostgreSQL, with real threads and real connections.

Each thread runs its own transaction (`unit_of_work`) on its own pooled connection, released together
by a barrier. What must hold whatever the interleaving: one member's purchases at once earn a badge
once, with its points credited once; a return revokes what it makes untrue, once, and claws the
points back once; a purchase and a return of one member never deadlock (also while the purchase's
points wait out a return window); two members never end up with the same nickname, and the loser
hears a 409, not a 500.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import START, factory_for, make_member, make_tenant
from tests.integration.test_concurrency import outcomes, race, server  # noqa: F401  (server: a fixture)
from wafa.db import unit_of_work
from wafa.engagement import achievements, leaderboard
from wafa.engagement.models import AchievementAward, ChallengeProgress, LeaderboardProfile
from wafa.engagement.schemas import BadgeIn, ChallengeIn, GoalIn, LeaderboardProfileIn
from wafa.events import purchase_history, returns
from wafa.events import service as events
from wafa.events.schemas import PurchaseIn, ReturnIn
from wafa.jobs.service import run_due
from wafa.ledger import service as ledger
from wafa.ledger.models import Entry, Lot
from wafa.ledger.verify import verify

Factory = sessionmaker[Session]
pytestmark = pytest.mark.postgres_only

NOW = START
BADGE_POINTS = 100
CHALLENGE_POINTS = 30
# Every purchase here is 50.00 SAR, which earns 50 points.
PURCHASE_POINTS = 50


@pytest.fixture
def pg(pg_url: str) -> Factory:
    return factory_for(pg_url)


# --- helpers --------------------------------------------------------------------------------------


def add_badge(factory: Factory, tenant_id: int, at_least: int, key: str = "regular") -> int:
    """A badge for `at_least` purchases kept after returns, worth BADGE_POINTS."""
    badge_in = BadgeIn(key=key, name_en=key.title(), name_ar="شارة", points=BADGE_POINTS,
                       criterion=GoalIn(metric="purchases", at_least=str(at_least)))
    with unit_of_work(factory) as session:
        return achievements.create_badge(session, tenant_id=tenant_id, badge_in=badge_in, now=NOW).id


def add_challenge(factory: Factory, tenant_id: int, at_least: int) -> int:
    """A challenge open around NOW for `at_least` purchases, worth CHALLENGE_POINTS."""
    challenge_in = ChallengeIn(
        key="march", name_en="March", name_ar="مارس", points=CHALLENGE_POINTS,
        goal=GoalIn(metric="purchases", at_least=str(at_least)),
        starts_at=NOW - timedelta(days=1), ends_at=NOW + timedelta(days=30),
    )
    with unit_of_work(factory) as session:
        return achievements.create_challenge(session, tenant_id=tenant_id, challenge_in=challenge_in, now=NOW).id


def purchase(factory: Factory, tenant_id: int, member_id: int, order_id: str, now: datetime = NOW) -> int:
    body = PurchaseIn(type="purchase", member={"id": member_id}, order_id=order_id, amount="50.00", currency="SAR")  # type: ignore[arg-type]
    with unit_of_work(factory) as session:
        result, _ = events.record_purchase(session, tenant_id=tenant_id, event_in=body, request_hash=order_id, now=now)
        return result.total_points


def give_back(factory: Factory, tenant_id: int, order_id: str, now: datetime = NOW) -> str:
    """Return a whole order."""
    with unit_of_work(factory) as session:
        returns.record_return(session, tenant_id=tenant_id, event_in=ReturnIn(type="return", order_id=order_id), now=now)
    return "returned"


def awards_of(factory: Factory, tenant_id: int, member_id: int, kind: str = "badge") -> list[AchievementAward]:
    """Every award row of the member of this kind, revoked ones too, oldest first."""
    with factory() as session:
        return list(session.execute(
            select(AchievementAward).where(
                AchievementAward.tenant_id == tenant_id, AchievementAward.member_id == member_id, AchievementAward.kind == kind,
            ).order_by(AchievementAward.id)
        ).scalars())


def held(rows: list[AchievementAward]) -> list[AchievementAward]:
    return [row for row in rows if row.revoked_at is None]


def achievement_entries(factory: Factory, tenant_id: int, member_id: int) -> tuple[list[str], list[str]]:
    """Idempotency keys of the member's achievement credits and of their claw-backs."""
    with factory() as session:
        keys = session.execute(
            select(Entry.idempotency_key).where(
                Entry.tenant_id == tenant_id, Entry.member_id == member_id, Entry.idempotency_key.like("achievement:%"),
            ).order_by(Entry.id)
        ).scalars().all()
    return [k for k in keys if not k.endswith(":revoked")], [k for k in keys if k.endswith(":revoked")]


def points(factory: Factory, tenant_id: int, member_id: int) -> int:
    with factory() as session:
        balance = ledger.balances(session, tenant_id=tenant_id, member_id=member_id)
    return balance["available"] + balance["pending"]


def kept_orders(factory: Factory, tenant_id: int, member_id: int) -> int:
    with factory() as session:
        return len(purchase_history.kept_purchases(session, tenant_id=tenant_id, member_id=member_id))


def assert_ledger_intact(factory: Factory, tenant_id: int) -> None:
    with factory() as session:
        report = verify(session, tenant_id=tenant_id)
        negative = session.execute(select(func.count()).where(Lot.tenant_id == tenant_id, Lot.remaining < 0)).scalar_one()
    assert report.ok, report.problems
    assert negative == 0


def assert_badge_matches_history(factory: Factory, tenant_id: int, member_id: int, at_least: int) -> None:
    """Held iff the criterion holds; each award credited once, each revoked one clawed back once; the
    member's points are the kept orders' plus the badge's if held."""
    kept = kept_orders(factory, tenant_id, member_id)
    rows = awards_of(factory, tenant_id, member_id)
    assert len(held(rows)) == (1 if kept >= at_least else 0), (kept, rows)
    credits, clawbacks = achievement_entries(factory, tenant_id, member_id)
    assert sorted(credits) == sorted(f"achievement:{row.id}" for row in rows)
    assert sorted(clawbacks) == sorted(f"achievement:{row.id}:revoked" for row in rows if row.revoked_at is not None)
    assert points(factory, tenant_id, member_id) == kept * PURCHASE_POINTS + BADGE_POINTS * len(held(rows))


# --- (a) one member's purchases at once earn a badge once -----------------------------------------


@pytest.mark.parametrize("pending_days", [0, 7])
def test_eight_purchases_at_once_crossing_a_badge_threshold_award_it_once(pg: Factory, pending_days: int) -> None:
    tenant = make_tenant(pg, NOW, pending_days=pending_days)
    badge_id = add_badge(pg, tenant.id, at_least=3)
    member_id = make_member(pg, tenant.id, NOW)
    for n in range(2):
        purchase(pg, tenant.id, member_id, f"before-{n}")
    assert awards_of(pg, tenant.id, member_id) == []

    results = race(8, lambda i: purchase(pg, tenant.id, member_id, f"o-{i}"))

    assert outcomes(results) == {"ok": 8}, results
    rows = awards_of(pg, tenant.id, member_id)
    assert len(rows) == 1 and rows[0].revoked_at is None  # none made and taken back by a loser either
    (award,) = rows
    assert (award.definition_id, award.points) == (badge_id, BADGE_POINTS)
    credits, clawbacks = achievement_entries(pg, tenant.id, member_id)
    assert (credits, clawbacks) == ([f"achievement:{award.id}"], [])
    with pg() as session:
        lot = session.execute(select(Lot).where(Lot.tenant_id == tenant.id, Lot.id == award.lot_id)).scalar_one()
        holders = achievements.holders(session, tenant_id=tenant.id, kind="badge").get(badge_id, 0)
    assert lot.amount == BADGE_POINTS and lot.released == (pending_days == 0)
    assert holders == 1
    assert points(pg, tenant.id, member_id) == 10 * PURCHASE_POINTS + BADGE_POINTS
    assert_ledger_intact(pg, tenant.id)


# --- (b) many members cross a challenge target while one of them returns an order -----------------


@pytest.mark.parametrize("pending_days", [0, 7])
def test_members_completing_a_challenge_at_once_while_one_returns_an_order(pg: Factory, pending_days: int) -> None:
    tenant = make_tenant(pg, NOW, pending_days=pending_days)
    challenge_id = add_challenge(pg, tenant.id, at_least=2)
    people = [make_member(pg, tenant.id, NOW) for _ in range(12)]
    for n, member_id in enumerate(people):
        purchase(pg, tenant.id, member_id, f"first-{n}")
    returner = people[0]

    def work(i: int) -> Any:
        if i == len(people):
            return give_back(pg, tenant.id, "first-0")
        return purchase(pg, tenant.id, people[i], f"second-{i}")

    results = race(len(people) + 1, work)

    assert outcomes(results) == {"ok": len(people) + 1}, [r for r in results if isinstance(r, Exception)]
    with pg() as session:
        progress = {
            row.member_id: row for row in session.execute(
                select(ChallengeProgress).where(ChallengeProgress.tenant_id == tenant.id, ChallengeProgress.challenge_id == challenge_id)
            ).scalars()
        }
    for member_id in people[1:]:
        rows = awards_of(pg, tenant.id, member_id, kind="challenge")
        assert len(rows) == 1 and rows[0].revoked_at is None, rows
        assert progress[member_id].progress == 2 and progress[member_id].completed_at is not None
        assert points(pg, tenant.id, member_id) == 2 * PURCHASE_POINTS + CHALLENGE_POINTS
    # The returner kept one order: whether they completed first and lost it, or never completed,
    # they hold nothing now and have exactly the kept order's points.
    rows = awards_of(pg, tenant.id, returner, kind="challenge")
    assert held(rows) == [] and len(rows) <= 1
    assert progress[returner].progress == 1 and progress[returner].completed_at is None
    credits, clawbacks = achievement_entries(pg, tenant.id, returner)
    assert len(credits) == len(clawbacks) == len(rows)
    assert points(pg, tenant.id, returner) == PURCHASE_POINTS
    with pg() as session:
        holders = achievements.holders(session, tenant_id=tenant.id, kind="challenge").get(challenge_id, 0)
    assert holders == len(people) - 1
    assert_ledger_intact(pg, tenant.id)


# --- (c) two members claim one nickname at once -----------------------------------------------------


def claim(factory: Factory, tenant_id: int, member_id: int, nickname: str) -> str:
    with unit_of_work(factory) as session:
        leaderboard.set_profile(
            session, tenant_id=tenant_id, member_id=member_id, profile_in=LeaderboardProfileIn(nickname=nickname), now=NOW,
        )
    return nickname


def test_two_members_claiming_one_nickname_in_different_case_leave_one_owner(pg: Factory) -> None:
    tenant = make_tenant(pg, NOW)
    for round_ in range(10):
        pair = [make_member(pg, tenant.id, NOW) for _ in range(2)]
        names = (f"Falcon {round_}", f"fALCON   {round_}")

        results = race(2, lambda i: claim(pg, tenant.id, pair[i], names[i]))  # noqa: B023  race() runs it before the loop moves on

        won = [r for r in results if not isinstance(r, Exception)]
        lost = [r for r in results if isinstance(r, Exception)]
        assert len(won) == 1 and len(lost) == 1, results
        # Either the loser saw the nickname taken (Conflict) or lost on the unique key, which the
        # API answers 409 as well (see the HTTP test below).
        assert type(lost[0]).__name__ in ("Conflict", "IntegrityError"), lost
        with pg() as session:
            owners = session.execute(
                select(LeaderboardProfile.member_id, LeaderboardProfile.nickname).where(
                    LeaderboardProfile.tenant_id == tenant.id, LeaderboardProfile.nickname_key == f"falcon {round_}",
                )
            ).all()
        assert len(owners) == 1 and owners[0].nickname == " ".join(won[0].split())


def test_two_nickname_claims_at_once_over_http_answer_200_and_409(pg: Factory, server: str) -> None:  # noqa: F811
    tenant = make_tenant(pg, NOW)
    headers = {"Authorization": f"Bearer {tenant.admin_key}"}
    for round_ in range(6):
        pair = [make_member(pg, tenant.id, NOW) for _ in range(2)]
        names = (f"Noor{round_}", f"NOOR{round_}")

        def put(i: int, pair: list[int] = pair, names: tuple[str, str] = names) -> tuple[int, dict[str, Any]]:
            with httpx.Client(base_url=server, timeout=60) as http:
                response = http.put(f"/v1/members/{pair[i]}/leaderboard-profile", json={"nickname": names[i]}, headers=headers)
            return response.status_code, response.json()

        results = race(2, put)

        assert not [r for r in results if isinstance(r, Exception)], results
        assert sorted(status for status, _ in results) == [200, 409], results
        (lost,) = [body for status, body in results if status == 409]
        assert (lost["type"], lost["status"]) == ("/problems/conflict", 409)


# --- (d) a return and a purchase of one member around the threshold ---------------------------------


@pytest.mark.parametrize("pending_days", [0, 7])
@pytest.mark.parametrize("before", [2, 3], ids=["ends-below", "ends-at-threshold"])
def test_a_return_racing_a_purchase_leaves_the_badge_held_iff_it_still_holds(pg: Factory, pending_days: int, before: int) -> None:
    """Before the race the member has `before` orders; one is returned while a new one is bought, so
    they end with `before` kept: below a badge for 3 (2), or exactly at it (3)."""
    tenant = make_tenant(pg, NOW, pending_days=pending_days)
    add_badge(pg, tenant.id, at_least=3)
    people = [make_member(pg, tenant.id, NOW) for _ in range(8)]
    for member_id in people:
        for n in range(before):
            purchase(pg, tenant.id, member_id, f"{member_id}-old-{n}")

    def work(i: int) -> Any:
        member_id = people[i // 2]
        if i % 2:
            return give_back(pg, tenant.id, f"{member_id}-old-0")
        return purchase(pg, tenant.id, member_id, f"{member_id}-new")

    results = race(2 * len(people), work)

    assert outcomes(results) == {"ok": 2 * len(people)}, [r for r in results if isinstance(r, Exception)]
    for member_id in people:
        assert kept_orders(pg, tenant.id, member_id) == before
        assert_badge_matches_history(pg, tenant.id, member_id, at_least=3)
    assert_ledger_intact(pg, tenant.id)


@pytest.mark.parametrize("other", ["return", "release"])
def test_a_return_or_release_waiting_behind_a_purchase_of_the_same_member_does_not_deadlock(
    pg: Factory, monkeypatch: pytest.MonkeyPatch, other: str
) -> None:
    """The interleaving of (d) that matters, made deterministic: the purchase has written its points
    (pending, so into the member's pending account) and is about to measure the member's badges when
    a return of the same member (or the worker releasing the member's earlier pending lot) arrives.
    That one locks the member's accounts in id order (available, then pending) and waits; the
    purchase must not then wait on it."""
    tenant = make_tenant(pg, NOW, pending_days=7)
    add_badge(pg, tenant.id, at_least=2)
    member_id = make_member(pg, tenant.id, NOW)
    purchase(pg, tenant.id, member_id, "a")  # pending until NOW + 7 days
    later = NOW + timedelta(days=8)  # the release: lot "a" is due; purchase "b" is pending in turn
    measure = achievements.on_activity
    paused, go = threading.Event(), threading.Event()

    def purchase_pauses_before_measuring(session: Session, **kw: Any) -> Any:
        if kw["cause"] == "purchase":
            paused.set()
            assert go.wait(timeout=30)
        return measure(session, **kw)

    monkeypatch.setattr(achievements, "on_activity", purchase_pauses_before_measuring)

    def run(work: Callable[[], Any]) -> Any:
        try:
            return work()
        except Exception as exc:  # noqa: BLE001  the outcome under test
            return exc

    at = NOW if other == "return" else later
    with ThreadPoolExecutor(max_workers=2) as pool:
        buying = pool.submit(run, lambda: purchase(pg, tenant.id, member_id, "b", now=at))
        assert paused.wait(timeout=30), buying.result(timeout=1)
        if other == "return":
            second = pool.submit(run, lambda: give_back(pg, tenant.id, "a"))
        else:
            second = pool.submit(run, lambda: run_due(pg, now=later, tenant_id=tenant.id))
        try:
            assert wait_for_a_lock_wait(pg), f"the {other} never waited on the purchase's locks"
        finally:
            go.set()
        results = [buying.result(timeout=60), second.result(timeout=60)]

    assert outcomes(results) == {"ok": 2}, results
    # Whoever went first: a return leaves one kept order of two needed (no badge, no points for it);
    # a release leaves two, so the badge is held with its points once.
    assert_badge_matches_history(pg, tenant.id, member_id, at_least=2)
    assert_ledger_intact(pg, tenant.id)


def wait_for_a_lock_wait(factory: Factory, seconds: float = 10) -> bool:
    """Whether some backend of this test database is waiting on a lock within `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with factory() as session:
            waiting = session.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )).scalar_one()
        if waiting:
            return True
        time.sleep(0.02)
    return False


# --- returns at once revoke once ---------------------------------------------------------------------


def test_returns_of_every_order_at_once_revoke_the_badge_once(pg: Factory) -> None:
    tenant = make_tenant(pg, NOW, pending_days=7)
    add_badge(pg, tenant.id, at_least=3)
    member_id = make_member(pg, tenant.id, NOW)
    for n in range(4):
        purchase(pg, tenant.id, member_id, f"o-{n}")
    (award,) = awards_of(pg, tenant.id, member_id)

    results = race(4, lambda i: give_back(pg, tenant.id, f"o-{i}"))

    assert outcomes(results) == {"ok": 4}, results
    rows = awards_of(pg, tenant.id, member_id)
    assert [row.id for row in rows] == [award.id] and rows[0].revoked_at is not None
    assert achievement_entries(pg, tenant.id, member_id) == ([f"achievement:{award.id}"], [f"achievement:{award.id}:revoked"])
    assert points(pg, tenant.id, member_id) == 0
    assert_ledger_intact(pg, tenant.id)
