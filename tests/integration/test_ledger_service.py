"""The ledger through its services, on SQLite and PostgreSQL.

Each test states one promise the ledger makes to a member or a program (ARCHITECTURE.md, "The
ledger"): points wait for the return window, expire by the program's policy in its time zone, are
spent soonest-expiring first, can be held and captured or voided exactly once, are clawed back by
returns (pending first, then available, then as a debt the next earnings repay), and every step
leaves a ledger that `verify()` finds intact. The last tests tamper with the rows and check that
`verify()` names what was broken.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import make_member, make_tenant
from wafa.clock import FrozenClock
from wafa.db import unit_of_work
from wafa.errors import Conflict, InsufficientPoints, InvalidInput, MemberInDebt
from wafa.events import returns
from wafa.events import service as events
from wafa.events.schemas import EventResult, PurchaseIn, ReturnIn
from wafa.jobs.service import PassReport, run_due
from wafa.ledger import service as ledger
from wafa.ledger.models import Account, Entry, Hold, Lot, Posting
from wafa.ledger.verify import verify

Factory = sessionmaker[Session]


# --- helpers -------------------------------------------------------------------------------------


def purchase(factory: Factory, tenant_id: int, member_id: int, amount: str, now: datetime, order_id: str) -> EventResult:
    body = PurchaseIn(type="purchase", member={"id": member_id}, order_id=order_id, amount=amount, currency="SAR")  # type: ignore[arg-type]
    with unit_of_work(factory) as session:
        result, replay = events.record_purchase(session, tenant_id=tenant_id, event_in=body, request_hash=order_id, now=now)
    assert not replay
    return result


def give_back(factory: Factory, tenant_id: int, order_id: str, now: datetime, amount: str | None = None) -> EventResult:
    body = ReturnIn(type="return", order_id=order_id, amount=amount)
    with unit_of_work(factory) as session:
        return returns.record_return(session, tenant_id=tenant_id, event_in=body, now=now)


def credit(
    factory: Factory, tenant_id: int, member_id: int, points: int, now: datetime, expires_at: datetime | None, key: str
) -> int:
    """Credit available points by hand with a chosen expiry; return the lot id."""
    with unit_of_work(factory) as session:
        entry_id = ledger.adjust(
            session, tenant_id=tenant_id, member_id=member_id, points=points, reason="test credit",
            idempotency_key=key, now=now, expires_at=expires_at,
        )
        return session.execute(select(Lot.id).where(Lot.entry_id == entry_id)).scalar_one()


def redeem(factory: Factory, tenant_id: int, member_id: int, points: int, now: datetime, key: str) -> ledger.Debit:
    with unit_of_work(factory) as session:
        return ledger.debit(
            session, tenant_id=tenant_id, member_id=member_id, points=points, kind="redeem", destination="redeemed",
            idempotency_key=key, reason="test redemption", now=now,
        )


def hold(factory: Factory, tenant_id: int, member_id: int, points: int, now: datetime, ttl: int = 900) -> int:
    with unit_of_work(factory) as session:
        return ledger.hold(session, tenant_id=tenant_id, member_id=member_id, points=points, reason="till 1", now=now, ttl_seconds=ttl).id


def resolve(factory: Factory, tenant_id: int, hold_id: int, action: str, now: datetime, points: int | None = None) -> Hold:
    with unit_of_work(factory) as session:
        return ledger.resolve_hold(session, tenant_id=tenant_id, hold_id=hold_id, action=action, now=now, points=points)


def balances(factory: Factory, tenant_id: int, member_id: int) -> dict[str, int]:
    with factory() as session:
        return ledger.balances(session, tenant_id=tenant_id, member_id=member_id)


def lot_remaining(factory: Factory, *lot_ids: int) -> list[int]:
    with factory() as session:
        rows = dict(session.execute(select(Lot.id, Lot.remaining).where(Lot.id.in_(lot_ids))).all())
    return [rows[lot_id] for lot_id in lot_ids]


def member_lots(factory: Factory, tenant_id: int, member_id: int) -> list[Lot]:
    with factory() as session:
        return list(
            session.execute(select(Lot).where(Lot.tenant_id == tenant_id, Lot.member_id == member_id).order_by(Lot.id)).scalars()
        )


def program_totals(factory: Factory, tenant_id: int) -> dict[str, int]:
    """What the program's accounts hold, derived from postings (they are never cached)."""
    with factory() as session:
        rows = session.execute(
            select(Account.kind, func.coalesce(func.sum(Posting.amount), 0))
            .join(Posting, Posting.account_id == Account.id)
            .where(Account.tenant_id == tenant_id, Account.owner == "program", Posting.tenant_id == tenant_id)
            .group_by(Account.kind)
        ).all()
    return {"issued": 0, "redeemed": 0, "expired": 0, "adjustments": 0} | {kind: int(total) for kind, total in rows}


def pass_(factory: Factory, clock: FrozenClock, tenant_id: int) -> PassReport:
    return run_due(factory, now=clock.now(), tenant_id=tenant_id)


def assert_intact(factory: Factory, tenant_id: int) -> None:
    with factory() as session:
        report = verify(session, tenant_id=tenant_id)
    assert report.ok, report.problems


def at(text_: str) -> datetime:
    return datetime.fromisoformat(text_).astimezone(UTC)


# --- earning: pending and available lots ---------------------------------------------------------


def test_purchase_inside_return_window_is_pending_until_run_due_passes_available_at(factory: Factory, clock: FrozenClock) -> None:
    tenant = make_tenant(factory, clock.now(), pending_days=14)
    member = make_member(factory, tenant.id, clock.now())

    result = purchase(factory, tenant.id, member, "120.75", clock.now(), "o-1")

    assert result.award is not None and result.award.points == 120 and result.award.status == "pending"
    assert result.award.available_at == clock.now() + timedelta(days=14)
    assert balances(factory, tenant.id, member) == {"available": 0, "pending": 120, "held": 0}
    with pytest.raises(InsufficientPoints):
        redeem(factory, tenant.id, member, 1, clock.now(), "too-early")

    clock.advance(timedelta(days=14) - timedelta(seconds=1))
    assert pass_(factory, clock, tenant.id).released_points == 0
    assert balances(factory, tenant.id, member)["pending"] == 120

    clock.advance(timedelta(seconds=1))
    report = pass_(factory, clock, tenant.id)
    assert (report.released_lots, report.released_points) == (1, 120)
    assert balances(factory, tenant.id, member) == {"available": 120, "pending": 0, "held": 0}
    (lot,) = member_lots(factory, tenant.id, member)
    assert lot.released and lot.remaining == 120
    # A second pass finds nothing left to do.
    assert pass_(factory, clock, tenant.id).released_points == 0
    assert balances(factory, tenant.id, member)["available"] == 120
    assert_intact(factory, tenant.id)


def test_purchase_without_return_window_is_available_at_once(factory: Factory, clock: FrozenClock) -> None:
    tenant = make_tenant(factory, clock.now())
    member = make_member(factory, tenant.id, clock.now())

    result = purchase(factory, tenant.id, member, "99.99", clock.now(), "o-1")

    assert result.award is not None and (result.award.points, result.award.status) == (99, "available")
    assert result.balance == {"available": 99, "pending": 0, "held": 0}
    assert program_totals(factory, tenant.id)["issued"] == -99
    assert redeem(factory, tenant.id, member, 99, clock.now(), "spend").balance_after == 0
    assert_intact(factory, tenant.id)


def test_credit_with_future_available_at_makes_a_pending_lot(factory: Factory, clock: FrozenClock) -> None:
    tenant = make_tenant(factory, clock.now())
    member = make_member(factory, tenant.id, clock.now())
    with unit_of_work(factory) as session:
        done = ledger.credit(
            session, tenant_id=tenant.id, member_id=member, points=40, kind="earn", source="issued", idempotency_key="c-1",
            reason="welcome", now=clock.now(), available_at=clock.now() + timedelta(hours=1), expires_at=None,
        )
    assert done.status == "pending"
    assert balances(factory, tenant.id, member) == {"available": 0, "pending": 40, "held": 0}

    clock.advance(timedelta(hours=1))
    assert pass_(factory, clock, tenant.id).released_points == 40
    assert balances(factory, tenant.id, member) == {"available": 40, "pending": 0, "held": 0}
    assert_intact(factory, tenant.id)


def test_same_idempotency_key_cannot_credit_twice(factory: Factory, clock: FrozenClock) -> None:
    from sqlalchemy.exc import IntegrityError

    tenant = make_tenant(factory, clock.now())
    member = make_member(factory, tenant.id, clock.now())
    credit(factory, tenant.id, member, 10, clock.now(), None, "once")
    with pytest.raises(IntegrityError):
        credit(factory, tenant.id, member, 10, clock.now(), None, "once")
    assert balances(factory, tenant.id, member)["available"] == 10
    assert_intact(factory, tenant.id)


# --- expiry policies -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "periods", "zone", "bought_at", "expected"),
    [
        pytest.param("days", 30, "UTC", "2026-03-01T09:00:00+00:00", "2026-03-31T09:00:00+00:00", id="days"),
        # 22:00 UTC on 31 March is already 1 April in Riyadh: the points last until the end of April there.
        pytest.param("end_of_month", 0, "Asia/Riyadh", "2026-03-31T22:00:00+00:00", "2026-04-30T21:00:00+00:00", id="month-riyadh"),
        pytest.param("end_of_month", 2, "Asia/Riyadh", "2026-03-15T10:00:00+00:00", "2026-05-31T21:00:00+00:00", id="month+2"),
        # London is on summer time when March ends: midnight there is 23:00 UTC.
        pytest.param("end_of_month", 0, "Europe/London", "2026-03-10T12:00:00+00:00", "2026-03-31T23:00:00+00:00", id="month-dst"),
        pytest.param("end_of_year", 0, "Asia/Riyadh", "2026-12-31T22:00:00+00:00", "2027-12-31T21:00:00+00:00", id="year-riyadh"),
        pytest.param("end_of_year", 1, "Asia/Riyadh", "2026-06-01T00:00:00+00:00", "2027-12-31T21:00:00+00:00", id="year+1"),
    ],
)
def test_points_expire_by_the_programs_policy_in_its_time_zone(
    factory: Factory, clock: FrozenClock, policy: str, periods: int, zone: str, bought_at: str, expected: str
) -> None:
    clock.set(at(bought_at))
    tenant = make_tenant(factory, clock.now(), expiry={"policy": policy, "periods": periods}, timezone=zone)
    member = make_member(factory, tenant.id, clock.now())
    result = purchase(factory, tenant.id, member, "100.00", clock.now(), "o-1")
    assert result.award is not None and result.award.expires_at == at(expected)
    redeem(factory, tenant.id, member, 30, clock.now(), "spend-30")

    clock.set(at(expected) - timedelta(seconds=1))
    assert pass_(factory, clock, tenant.id).expired_points == 0
    assert balances(factory, tenant.id, member)["available"] == 70

    clock.set(at(expected))
    report = pass_(factory, clock, tenant.id)
    assert (report.expired_lots, report.expired_points) == (1, 70)
    assert balances(factory, tenant.id, member) == {"available": 0, "pending": 0, "held": 0}
    assert member_lots(factory, tenant.id, member)[0].remaining == 0
    assert program_totals(factory, tenant.id) == {"issued": -100, "redeemed": 30, "expired": 70, "adjustments": 0}
    assert pass_(factory, clock, tenant.id).expired_points == 0
    assert_intact(factory, tenant.id)


def test_expiry_of_pending_points_counts_from_when_they_become_available(factory: Factory, clock: FrozenClock) -> None:
    tenant = make_tenant(factory, clock.now(), pending_days=14, expiry={"policy": "days", "periods": 30})
    member = make_member(factory, tenant.id, clock.now())
    result = purchase(factory, tenant.id, member, "50.00", clock.now(), "o-1")
    assert result.award is not None and result.award.expires_at == clock.now() + timedelta(days=44)

    # One pass well after both dates releases the lot, then expires it.
    clock.advance(timedelta(days=44))
    report = pass_(factory, clock, tenant.id)
    assert (report.released_points, report.expired_points) == (50, 50)
    assert balances(factory, tenant.id, member) == {"available": 0, "pending": 0, "held": 0}
    assert_intact(factory, tenant.id)


# --- spending order ------------------------------------------------------------------------------


def test_redemptions_spend_the_soonest_expiring_points_first(factory: Factory, clock: FrozenClock) -> None:
    tenant = make_tenant(factory, clock.now())
    member = make_member(factory, tenant.id, clock.now())
    now = clock.now()
    late = credit(factory, tenant.id, member, 100, now, now + timedelta(days=90), "late")
    never = credit(factory, tenant.id, member, 100, now, None, "never")
    soon = credit(factory, tenant.id, member, 100, now, now + timedelta(days=10), "soon")
    soon_too = credit(factory, tenant.id, member, 100, now, now + timedelta(days=10), "soon-too")

    redeem(factory, tenant.id, member, 150, now, "r-1")
    assert lot_remaining(factory, soon, soon_too, late, never) == [0, 50, 100, 100]
    redeem(factory, tenant.id, member, 100, now, "r-2")
    assert lot_remaining(factory, soon, soon_too, late, never) == [0, 0, 50, 100]
    redeem(factory, tenant.id, member, 120, now, "r-3")
    assert lot_remaining(factory, soon, soon_too, late, never) == [0, 0, 0, 30]
    with pytest.raises(InsufficientPoints) as refused:
        redeem(factory, tenant.id, member, 31, now, "r-4")
    assert refused.value.extra["available"] == 30
    assert balances(factory, tenant.id, member)["available"] == 30
    assert_intact(factory, tenant.id)


def test_a_refused_redemption_writes_nothing(factory: Factory, clock: FrozenClock) -> None:
    tenant = make_tenant(factory, clock.now())
    member = make_member(factory, tenant.id, clock.now())
    credit(factory, tenant.id, member, 10, clock.now(), None, "c")
    with pytest.raises(InsufficientPoints):
        redeem(factory, tenant.id, member, 11, clock.now(), "r")
    with factory() as session:
        kinds = session.execute(select(Entry.kind).where(Entry.tenant_id == tenant.id).order_by(Entry.id)).scalars().all()
    assert kinds == ["adjust"]
    for bad in (0, -5):
        with pytest.raises(InvalidInput):
            redeem(factory, tenant.id, member, bad, clock.now(), f"bad{bad}")
    assert_intact(factory, tenant.id)


# --- holds ---------------------------------------------------------------------------------------


def test_partial_capture_spends_part_and_gives_the_rest_back_to_the_latest_expiring_lots(
    factory: Factory, clock: FrozenClock
) -> None:
    tenant = make_tenant(factory, clock.now())
    member = make_member(factory, tenant.id, clock.now())
    now = clock.now()
    early = credit(factory, tenant.id, member, 100, now, now + timedelta(days=10), "early")
    later = credit(factory, tenant.id, member, 100, now, now + timedelta(days=20), "later")

    hold_id = hold(factory, tenant.id, member, 150, now)
    assert balances(factory, tenant.id, member) == {"available": 50, "pending": 0, "held": 150}
    assert lot_remaining(factory, early, later) == [0, 50]

    captured = resolve(factory, tenant.id, hold_id, "capture", now, points=60)

    assert (captured.status, captured.captured_points, captured.resolved_at) == ("captured", 60, now)
    assert balances(factory, tenant.id, member) == {"available": 140, "pending": 0, "held": 0}
    # The 90 given back go to the lots the hold took from, latest-expiring first.
    assert lot_remaining(factory, early, later) == [40, 100]
    assert program_totals(factory, tenant.id)["redeemed"] == 60
    for action in ("capture", "void"):
        with pytest.raises(Conflict) as again:
            resolve(factory, tenant.id, hold_id, action, now)
        assert again.value.extra["hold_status"] == "captured"
    assert_intact(factory, tenant.id)


def test_full_capture_and_void(factory: Factory, clock: FrozenClock) -> None:
    tenant = make_tenant(factory, clock.now())
    member = make_member(factory, tenant.id, clock.now())
    lot = credit(factory, tenant.id, member, 100, clock.now(), None, "c")

    first = hold(factory, tenant.id, member, 40, clock.now())
    second = hold(factory, tenant.id, member, 50, clock.now())
    with pytest.raises(InsufficientPoints):
        hold(factory, tenant.id, member, 11, clock.now())
    assert balances(factory, tenant.id, member) == {"available": 10, "pending": 0, "held": 90}

    assert resolve(factory, tenant.id, first, "capture", clock.now()).captured_points == 40
    voided = resolve(factory, tenant.id, second, "void", clock.now())
    assert (voided.status, voided.captured_points) == ("voided", 0)
    assert balances(factory, tenant.id, member) == {"available": 60, "pending": 0, "held": 0}
    assert lot_remaining(factory, lot) == [60]
    assert program_totals(factory, tenant.id)["redeemed"] == 40
    with pytest.raises(InvalidInput):
        resolve(factory, tenant.id, hold(factory, tenant.id, member, 10, clock.now()), "capture", clock.now(), points=11)
    assert_intact(factory, tenant.id)


def test_an_unresolved_hold_lapses_and_cannot_be_captured_late(factory: Factory, clock: FrozenClock) -> None:
    tenant = make_tenant(factory, clock.now())
    member = make_member(factory, tenant.id, clock.now())
    credit(factory, tenant.id, member, 100, clock.now(), None, "c")
    hold_id = hold(factory, tenant.id, member, 70, clock.now(), ttl=600)

    clock.advance(timedelta(seconds=599))
    assert pass_(factory, clock, tenant.id).lapsed_holds == 0
    clock.advance(timedelta(seconds=1))
    with pytest.raises(Conflict) as late:
        resolve(factory, tenant.id, hold_id, "capture", clock.now())
    assert late.value.extra["hold_status"] == "lapsed"

    assert pass_(factory, clock, tenant.id).lapsed_holds == 1
    with factory() as session:
        lapsed = ledger.get_hold_or_raise(session, tenant_id=tenant.id, hold_id=hold_id)
    assert lapsed.status == "lapsed"
    assert balances(factory, tenant.id, member) == {"available": 100, "pending": 0, "held": 0}
    assert pass_(factory, clock, tenant.id).lapsed_holds == 0
    assert_intact(factory, tenant.id)


def test_points_a_hold_gives_back_after_their_lot_expired_expire_on_the_next_pass(factory: Factory, clock: FrozenClock) -> None:
    tenant = make_tenant(factory, clock.now())
    member = make_member(factory, tenant.id, clock.now())
    lot = credit(factory, tenant.id, member, 100, clock.now(), clock.now() + timedelta(days=10), "c")
    first = hold(factory, tenant.id, member, 50, clock.now(), ttl=30 * 86400)
    second = hold(factory, tenant.id, member, 30, clock.now(), ttl=30 * 86400)

    clock.advance(timedelta(days=10))
    assert pass_(factory, clock, tenant.id).expired_points == 20
    resolve(factory, tenant.id, first, "void", clock.now())
    assert balances(factory, tenant.id, member) == {"available": 50, "pending": 0, "held": 30}
    assert pass_(factory, clock, tenant.id).expired_points == 50
    resolve(factory, tenant.id, second, "capture", clock.now(), points=10)
    assert pass_(factory, clock, tenant.id).expired_points == 20

    assert balances(factory, tenant.id, member) == {"available": 0, "pending": 0, "held": 0}
    assert lot_remaining(factory, lot) == [0]
    assert program_totals(factory, tenant.id) == {"issued": 0, "redeemed": 10, "expired": 90, "adjustments": -100}
    assert_intact(factory, tenant.id)


# --- returns: claw back, debt, repayment ---------------------------------------------------------


def test_return_inside_the_window_takes_back_pending_points(factory: Factory, clock: FrozenClock) -> None:
    tenant = make_tenant(factory, clock.now(), pending_days=14)
    member = make_member(factory, tenant.id, clock.now())
    credit(factory, tenant.id, member, 25, clock.now(), None, "other")
    purchase(factory, tenant.id, member, "100.00", clock.now(), "o-1")

    first = give_back(factory, tenant.id, "o-1", clock.now(), amount="30.00")
    assert first.reversal is not None
    assert (first.reversal.points, first.reversal.from_pending, first.reversal.from_available) == (30, 30, 0)
    assert balances(factory, tenant.id, member) == {"available": 25, "pending": 70, "held": 0}

    clock.advance(timedelta(days=14))
    assert pass_(factory, clock, tenant.id).released_points == 70
    assert balances(factory, tenant.id, member) == {"available": 95, "pending": 0, "held": 0}
    rest = give_back(factory, tenant.id, "o-1", clock.now())
    assert rest.reversal is not None and (rest.reversal.points, rest.reversal.from_available) == (70, 70)
    assert balances(factory, tenant.id, member) == {"available": 25, "pending": 0, "held": 0}
    assert program_totals(factory, tenant.id)["issued"] == 0
    assert_intact(factory, tenant.id)


def test_return_takes_its_own_lot_then_other_available_points_then_leaves_a_debt(factory: Factory, clock: FrozenClock) -> None:
    tenant = make_tenant(factory, clock.now(), expiry={"policy": "days", "periods": 30})
    member = make_member(factory, tenant.id, clock.now())
    bonus = credit(factory, tenant.id, member, 50, clock.now(), clock.now() + timedelta(days=60), "bonus")
    purchase(factory, tenant.id, member, "100.00", clock.now(), "o-1")
    own = member_lots(factory, tenant.id, member)[-1].id
    redeem(factory, tenant.id, member, 80, clock.now(), "r-1")  # the purchase's lot expires first
    assert lot_remaining(factory, own, bonus) == [20, 50]

    result = give_back(factory, tenant.id, "o-1", clock.now())

    assert result.reversal is not None and (result.reversal.points, result.reversal.from_available) == (100, 100)
    assert result.balance == {"available": -30, "pending": 0, "held": 0}
    assert lot_remaining(factory, own, bonus) == [0, 0]
    with pytest.raises(MemberInDebt):
        redeem(factory, tenant.id, member, 1, clock.now(), "in-debt")
    with pytest.raises(MemberInDebt):
        hold(factory, tenant.id, member, 1, clock.now())
    with pytest.raises(InsufficientPoints), unit_of_work(factory) as session:
        ledger.adjust(session, tenant_id=tenant.id, member_id=member, points=-1, reason="fix", idempotency_key="a", now=clock.now(), expires_at=None)
    assert_intact(factory, tenant.id)


def test_a_debt_is_repaid_by_later_earnings_before_they_can_be_spent(factory: Factory, clock: FrozenClock) -> None:
    tenant = make_tenant(factory, clock.now())
    member = make_member(factory, tenant.id, clock.now())
    purchase(factory, tenant.id, member, "100.00", clock.now(), "o-1")
    redeem(factory, tenant.id, member, 100, clock.now(), "r-1")
    give_back(factory, tenant.id, "o-1", clock.now())
    assert balances(factory, tenant.id, member)["available"] == -100

    purchase(factory, tenant.id, member, "60.00", clock.now(), "o-2")
    assert balances(factory, tenant.id, member)["available"] == -40
    assert member_lots(factory, tenant.id, member)[-1].remaining == 0
    with pytest.raises(MemberInDebt):
        redeem(factory, tenant.id, member, 1, clock.now(), "r-2")

    purchase(factory, tenant.id, member, "100.00", clock.now(), "o-3")
    lots = member_lots(factory, tenant.id, member)
    assert [(lot.amount, lot.remaining) for lot in lots] == [(100, 0), (60, 0), (100, 60)]
    assert balances(factory, tenant.id, member)["available"] == 60
    assert redeem(factory, tenant.id, member, 60, clock.now(), "r-3").balance_after == 0
    assert_intact(factory, tenant.id)


def test_a_debt_is_repaid_by_points_released_from_the_return_window(factory: Factory, clock: FrozenClock) -> None:
    tenant = make_tenant(factory, clock.now(), pending_days=14)
    member = make_member(factory, tenant.id, clock.now())
    purchase(factory, tenant.id, member, "100.00", clock.now(), "o-1")
    clock.advance(timedelta(days=14))
    pass_(factory, clock, tenant.id)
    redeem(factory, tenant.id, member, 100, clock.now(), "r-1")
    purchase(factory, tenant.id, member, "60.00", clock.now(), "o-2")
    give_back(factory, tenant.id, "o-1", clock.now())
    assert balances(factory, tenant.id, member) == {"available": -100, "pending": 60, "held": 0}
    assert_intact(factory, tenant.id)

    clock.advance(timedelta(days=14))
    assert pass_(factory, clock, tenant.id).released_points == 60
    assert balances(factory, tenant.id, member) == {"available": -40, "pending": 0, "held": 0}
    assert member_lots(factory, tenant.id, member)[-1].remaining == 0
    credit(factory, tenant.id, member, 50, clock.now(), None, "goodwill")
    assert balances(factory, tenant.id, member)["available"] == 10
    assert member_lots(factory, tenant.id, member)[-1].remaining == 10
    assert_intact(factory, tenant.id)


def test_voiding_a_hold_of_a_member_who_fell_into_debt_repays_the_debt_first(factory: Factory, clock: FrozenClock) -> None:
    tenant = make_tenant(factory, clock.now())
    member = make_member(factory, tenant.id, clock.now())
    purchase(factory, tenant.id, member, "100.00", clock.now(), "o-1")
    hold_id = hold(factory, tenant.id, member, 80, clock.now())
    give_back(factory, tenant.id, "o-1", clock.now())  # 20 available, 100 clawed: 80 owed
    assert balances(factory, tenant.id, member) == {"available": -80, "pending": 0, "held": 80}

    resolve(factory, tenant.id, hold_id, "capture", clock.now(), points=30)

    assert balances(factory, tenant.id, member) == {"available": -30, "pending": 0, "held": 0}
    assert member_lots(factory, tenant.id, member)[0].remaining == 0
    assert_intact(factory, tenant.id)


def test_partial_returns_take_back_exactly_the_points_of_the_whole(factory: Factory, clock: FrozenClock) -> None:
    tenant = make_tenant(factory, clock.now())
    member = make_member(factory, tenant.id, clock.now())
    purchase(factory, tenant.id, member, "99.99", clock.now(), "o-1")  # 99 points
    taken = [give_back(factory, tenant.id, "o-1", clock.now(), amount="33.33").reversal.points for _ in range(3)]  # type: ignore[union-attr]
    assert sum(taken) == 99
    assert balances(factory, tenant.id, member)["available"] == 0
    with pytest.raises(InvalidInput):
        give_back(factory, tenant.id, "o-1", clock.now())
    assert_intact(factory, tenant.id)


# --- adjustments ---------------------------------------------------------------------------------


def test_adjustments_credit_and_debit_by_hand_but_never_overdraw(factory: Factory, clock: FrozenClock) -> None:
    tenant = make_tenant(factory, clock.now())
    member = make_member(factory, tenant.id, clock.now())

    def adjust(points: int, key: str) -> int:
        with unit_of_work(factory) as session:
            return ledger.adjust(
                session, tenant_id=tenant.id, member_id=member, points=points, reason="service recovery",
                idempotency_key=key, now=clock.now(), expires_at=clock.now() + timedelta(days=5), actor="agent-7",
            )

    adjust(100, "a-1")
    adjust(-30, "a-2")
    with pytest.raises(InsufficientPoints):
        adjust(-71, "a-3")
    with pytest.raises(InvalidInput):
        adjust(0, "a-4")
    assert balances(factory, tenant.id, member)["available"] == 70
    assert program_totals(factory, tenant.id)["adjustments"] == -70
    with factory() as session:
        entries = session.execute(
            select(Entry.kind, Entry.points, Entry.details).where(Entry.tenant_id == tenant.id).order_by(Entry.id)
        ).all()
    assert [tuple(row) for row in entries] == [("adjust", 100, {"actor": "agent-7"}), ("adjust", -30, {"actor": "agent-7"})]
    clock.advance(timedelta(days=5))
    assert pass_(factory, clock, tenant.id).expired_points == 70
    assert_intact(factory, tenant.id)


def test_entry_points_add_up_to_available_plus_pending(factory: Factory, clock: FrozenClock) -> None:
    tenant = make_tenant(factory, clock.now(), pending_days=7, expiry={"policy": "days", "periods": 10})
    member = make_member(factory, tenant.id, clock.now())
    purchase(factory, tenant.id, member, "80.00", clock.now(), "o-1")
    credit(factory, tenant.id, member, 50, clock.now(), clock.now() + timedelta(days=3), "c")
    hold_id = hold(factory, tenant.id, member, 20, clock.now())
    resolve(factory, tenant.id, hold_id, "capture", clock.now(), points=5)
    give_back(factory, tenant.id, "o-1", clock.now(), amount="10.00")
    clock.advance(timedelta(days=7))
    pass_(factory, clock, tenant.id)
    redeem(factory, tenant.id, member, 30, clock.now(), "r")
    with factory() as session:
        total = session.execute(select(func.sum(Entry.points)).where(Entry.tenant_id == tenant.id, Entry.member_id == member)).scalar_one()
    now_ = balances(factory, tenant.id, member)
    assert total == now_["available"] + now_["pending"] == 80 + 50 - 5 - 10 - 45 - 30
    assert_intact(factory, tenant.id)


# --- tampering -----------------------------------------------------------------------------------


def _history(factory: Factory, clock: FrozenClock) -> tuple[Any, int, list[int]]:
    """A small ledger: three entries on one member's available account. Returns tenant, member, entry ids."""
    tenant = make_tenant(factory, clock.now())
    member = make_member(factory, tenant.id, clock.now())
    purchase(factory, tenant.id, member, "100.00", clock.now(), "o-1")
    redeem(factory, tenant.id, member, 40, clock.now(), "r-1")
    purchase(factory, tenant.id, member, "10.00", clock.now(), "o-2")
    with factory() as session:
        entry_ids = list(session.execute(select(Entry.id).where(Entry.tenant_id == tenant.id).order_by(Entry.id)).scalars())
    assert_intact(factory, tenant.id)
    return tenant, member, entry_ids


def _member_posting(factory: Factory, entry_id: int) -> tuple[int, int, str]:
    with factory() as session:
        row = session.execute(
            select(Posting.id, Posting.amount, Posting.hash).where(Posting.entry_id == entry_id, Posting.seq.is_not(None))
        ).one()
    return row.id, row.amount, row.hash


def _sql(factory: Factory, statement: str, **params: Any) -> None:
    with unit_of_work(factory) as session:
        session.execute(text(statement), params)


def _verify(factory: Factory, tenant_id: int):  # type: ignore[no-untyped-def]
    with factory() as session:
        return verify(session, tenant_id=tenant_id)


def test_verify_names_the_entry_whose_posting_amount_was_changed(factory: Factory, clock: FrozenClock) -> None:
    tenant, _, (_, redeemed, _) = _history(factory, clock)
    posting_id, amount, _ = _member_posting(factory, redeemed)
    _sql(factory, "UPDATE postings SET amount = :amount WHERE id = :id", amount=amount + 30, id=posting_id)
    try:
        report = _verify(factory, tenant.id)
        assert not report.ok
        assert report.first_broken_entry == redeemed
        assert any(f"entry {redeemed}" in problem for problem in report.problems)
    finally:
        _sql(factory, "UPDATE postings SET amount = :amount WHERE id = :id", amount=amount, id=posting_id)
    assert _verify(factory, tenant.id).ok


def test_verify_names_the_entry_whose_program_side_posting_was_changed(factory: Factory, clock: FrozenClock) -> None:
    tenant, _, (earned, _, _) = _history(factory, clock)
    with factory() as session:
        posting_id, amount = session.execute(
            select(Posting.id, Posting.amount).where(Posting.entry_id == earned, Posting.seq.is_(None))
        ).one()
    _sql(factory, "UPDATE postings SET amount = :amount WHERE id = :id", amount=amount - 1, id=posting_id)
    try:
        report = _verify(factory, tenant.id)
        assert not report.ok and report.first_broken_entry == earned
    finally:
        _sql(factory, "UPDATE postings SET amount = :amount WHERE id = :id", amount=amount, id=posting_id)
    assert _verify(factory, tenant.id).ok


def test_verify_names_the_entry_whose_hash_was_changed(factory: Factory, clock: FrozenClock) -> None:
    tenant, _, (_, redeemed, _) = _history(factory, clock)
    posting_id, _, original = _member_posting(factory, redeemed)
    forged = ("0" if original[0] != "0" else "1") + original[1:]
    _sql(factory, "UPDATE postings SET hash = :hash WHERE id = :id", hash=forged, id=posting_id)
    try:
        report = _verify(factory, tenant.id)
        assert not report.ok
        assert report.first_broken_entry == redeemed
        assert any(f"hash chain broken at entry {redeemed}" in problem for problem in report.problems)
    finally:
        _sql(factory, "UPDATE postings SET hash = :hash WHERE id = :id", hash=original, id=posting_id)
    assert _verify(factory, tenant.id).ok


def test_verify_finds_a_cached_balance_that_disagrees_with_the_postings(factory: Factory, clock: FrozenClock) -> None:
    tenant, member, entry_ids = _history(factory, clock)
    with factory() as session:
        account_id = ledger.member_accounts(session, tenant_id=tenant.id, member_id=member)["available"]
    _sql(factory, "UPDATE accounts SET balance = balance + 500 WHERE id = :id", id=account_id)
    try:
        report = _verify(factory, tenant.id)
        assert not report.ok
        assert any(f"account {account_id} caches balance 570 but its postings sum to 70" in p for p in report.problems)
        # The account's latest entry is where the cached balance stops matching.
        assert report.first_broken_entry == entry_ids[-1]
    finally:
        _sql(factory, "UPDATE accounts SET balance = balance - 500 WHERE id = :id", id=account_id)
    assert _verify(factory, tenant.id).ok


def test_verify_finds_a_lot_whose_remaining_points_were_changed(factory: Factory, clock: FrozenClock) -> None:
    tenant, member, _ = _history(factory, clock)
    lot = member_lots(factory, tenant.id, member)[0]
    _sql(factory, "UPDATE lots SET remaining = remaining + 1 WHERE id = :id", id=lot.id)
    try:
        report = _verify(factory, tenant.id)
        assert not report.ok
        assert any(f"lot {lot.id}" in problem for problem in report.problems)
    finally:
        _sql(factory, "UPDATE lots SET remaining = remaining - 1 WHERE id = :id", id=lot.id)
    assert _verify(factory, tenant.id).ok
