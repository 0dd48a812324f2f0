"""One pass of due work: releases, expiries, hold lapses, pending cashback, birthday rules, unused
rewards past their end, tier reviews, referrals, membership renewals and monthly points, and the daily
RFM scores. Each
row is handled in its own short transaction, so a pass can run beside live traffic and two passes
at once do each thing once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from wafa.analytics import custom_segments, segments
from wafa.db import unit_of_work
from wafa.errors import Conflict
from wafa.engagement import referrals
from wafa.events import awards
from wafa.events import member_events
from wafa.memberships import service as memberships
from wafa.ledger import service as ledger
from wafa.members import service as members
from wafa.programs import service as programs
from wafa.rewards import redemptions
from wafa.rules import service as rules
from wafa.tenants import service as tenants
from wafa.tiers import service as tiers
from wafa.web import login_codes
from wafa.web import sessions as web_sessions


@dataclass
class PassReport:
    released_lots: int = 0
    released_points: int = 0
    expired_lots: int = 0
    expired_points: int = 0
    lapsed_holds: int = 0
    released_cashback: int = 0  # minor units, all currencies together
    birthday_events: int = 0
    expired_rewards: int = 0
    tier_reviews: int = 0
    referrals_completed: int = 0
    memberships_due: int = 0
    rfm_recomputed: int = 0  # programs whose RFM scores (and custom segments) were a day old or missing
    web_sessions_ended: int = 0  # console and portal sessions past their idle time, and spent sign-in codes


def _sweep(
    factory: sessionmaker[Session], what: str, *, now: datetime, tenant_id: int | None, batch: int,
    work: Callable[[Session, int, int], int],
) -> list[int]:
    """Run `work` on every row that is due, in id order, one transaction per row."""
    results: list[int] = []
    last_id = 0
    while True:
        with factory() as session:
            if what == "cashback":
                rows = rules.cashback_due(session, now=now, after_id=last_id, limit=batch, tenant_id=tenant_id)
            else:
                rows = ledger.due(session, what=what, now=now, after_id=last_id, limit=batch, tenant_id=tenant_id)
        if not rows:
            return results
        last_id = rows[-1][1]
        for row_tenant, row_id in rows:
            try:
                with unit_of_work(factory) as session:
                    results.append(work(session, row_tenant, row_id))
            except (IntegrityError, Conflict):
                # Another pass did it first: its entry's idempotency key or the hold's status says so.
                results.append(0)


def run_due(
    factory: sessionmaker[Session], *, now: datetime, tenant_id: int | None = None, batch: int = 500,
) -> PassReport:
    """Release lots whose window closed, expire lots past expiry, lapse holds past their time."""
    released = _sweep(
        factory, "release", now=now, tenant_id=tenant_id, batch=batch,
        work=lambda s, t, i: ledger.release_lot(s, tenant_id=t, lot_id=i, now=now),
    )
    expired = _sweep(
        factory, "expire", now=now, tenant_id=tenant_id, batch=batch,
        work=lambda s, t, i: ledger.expire_lot(s, tenant_id=t, lot_id=i, now=now),
    )

    def lapse(session: Session, t: int, i: int) -> int:
        ledger.resolve_hold(session, tenant_id=t, hold_id=i, action="lapse", now=now)
        return 1

    lapsed = _sweep(factory, "lapse", now=now, tenant_id=tenant_id, batch=batch, work=lapse)
    cashback = _sweep(
        factory, "cashback", now=now, tenant_id=tenant_id, batch=batch,
        work=lambda s, t, i: awards.release_cashback(s, tenant_id=t, award_id=i, now=now),
    )
    birthday_events = birthdays(factory, now=now, tenant_id=tenant_id)
    with unit_of_work(factory) as session:
        expired_rewards = redemptions.expire_unused(session, now=now, tenant_id=tenant_id)
    reviews = tier_reviews(factory, now=now, tenant_id=tenant_id, batch=batch)
    settled = _sweep_referrals(factory, now=now, tenant_id=tenant_id, batch=batch)
    renewals = _sweep_memberships(factory, now=now, tenant_id=tenant_id, batch=batch)
    rfm_done = _recompute_rfm(factory, now=now, tenant_id=tenant_id)
    with unit_of_work(factory) as session:
        ended = web_sessions.purge_expired(session, now=now) + login_codes.purge(session, now=now)
    # Count only what this pass did: a lot another pass got to first moved nothing here.
    return PassReport(
        released_lots=sum(1 for points in released if points),
        released_points=sum(released),
        expired_lots=sum(1 for points in expired if points),
        expired_points=sum(expired),
        lapsed_holds=sum(lapsed),
        released_cashback=sum(cashback),
        birthday_events=birthday_events,
        expired_rewards=expired_rewards,
        tier_reviews=reviews,
        referrals_completed=settled,
        memberships_due=renewals,
        rfm_recomputed=rfm_done,
        web_sessions_ended=ended,
    )


def _recompute_rfm(factory: sessionmaker[Session], *, now: datetime, tenant_id: int | None) -> int:
    """Recompute the RFM scores of programs whose scores are a day old (or missing), one transaction each."""
    with factory() as session:
        ids = [tenant_id] if tenant_id is not None else [t.id for t in tenants.list_(session)]
    done = 0
    for one in ids:
        with unit_of_work(factory) as session:
            # Locked: a second pass waits here, then sees this one's time and skips.
            run = segments.lock_run(session, tenant_id=one, job="daily")
            if run.ran_at is not None and now - run.ran_at < segments.RECOMPUTE_EVERY:
                continue
            run.ran_at = now
            done += custom_segments.recompute_everything(session, tenant_id=one, now=now)["rfm"] > 0
    return done


def tier_reviews(factory: sessionmaker[Session], *, now: datetime, tenant_id: int | None, batch: int) -> int:
    """Review every member whose tier's secured period (or grace) is over, one transaction each; return
    how many this pass reviewed."""
    done = 0
    last_id = 0
    while True:
        with factory() as session:
            rows = tiers.due_reviews(session, now=now, after_id=last_id, limit=batch, tenant_id=tenant_id)
        if not rows:
            return done
        last_id = rows[-1][2]
        for row_tenant, member_id, _ in rows:
            try:
                with unit_of_work(factory) as session:
                    done += tiers.review(session, tenant_id=row_tenant, member_id=member_id, now=now) != "none"
            except (IntegrityError, Conflict):
                pass  # another pass reviewed it first


def _sweep_referrals(factory: sessionmaker[Session], *, now: datetime, tenant_id: int | None, batch: int) -> int:
    """Complete (or expire) pending referrals, one transaction each; return how many this pass completed."""
    completed = 0
    last_id = 0
    while True:
        with factory() as session:
            rows = referrals.due(session, after_id=last_id, limit=batch, tenant_id=tenant_id)
        if not rows:
            return completed
        last_id = rows[-1][1]
        for row_tenant, referral_id in rows:
            try:
                with unit_of_work(factory) as session:
                    completed += referrals.settle(session, tenant_id=row_tenant, referral_id=referral_id, now=now) == "completed"
            except (IntegrityError, Conflict):
                pass  # another pass settled it first


def _sweep_memberships(factory: sessionmaker[Session], *, now: datetime, tenant_id: int | None, batch: int) -> int:
    """End membership periods that are due (renewal due, cancelled, lapsed) and grant this month's plan
    points to memberships in force; return how many memberships changed state."""
    changed = 0
    last_id = 0
    while True:
        with factory() as session:
            rows = memberships.due(session, now=now, after_id=last_id, limit=batch, tenant_id=tenant_id)
        if not rows:
            break
        last_id = rows[-1][1]
        for row_tenant, membership_id in rows:
            try:
                with unit_of_work(factory) as session:
                    changed += memberships.run_due(session, tenant_id=row_tenant, membership_id=membership_id, now=now) != "none"
            except (IntegrityError, Conflict):
                pass
    hour = (factory.kw["bind"], tenant_id, now.replace(minute=0, second=0, microsecond=0))
    if _grants_done.get(hour[:2]) == hour[2]:
        return changed  # this process granted this hour (granting is idempotent anyway)
    _grants_done[hour[:2]] = hour[2]
    last_id = 0
    while True:
        with factory() as session:
            rows = memberships.in_force_after(session, after_id=last_id, limit=batch, tenant_id=tenant_id)
        if not rows:
            return changed
        last_id = rows[-1][1]
        for row_tenant, membership_id in rows:
            try:
                with unit_of_work(factory) as session:
                    # Locked: a payment renewing it at this moment grants the same month and must not collide.
                    found = memberships.get_or_raise(session, tenant_id=row_tenant, membership_id=membership_id, lock=True)
                    memberships.grant_monthly_points(session, membership=found, now=now)
            except (IntegrityError, Conflict):
                pass  # another pass granted this month's points first


# (database, tenant or None) -> the hour whose monthly plan points this process has granted.
_grants_done: dict[tuple[object, int | None], datetime] = {}


def birthdays(factory: sessionmaker[Session], *, now: datetime, tenant_id: int | None = None) -> int:
    """Record a birthday event, once a year, for members whose birthday it is in their program's time
    zone, in tenants with active birthday rules; return how many were recorded by this pass.

    Members born on 29 February celebrate on the 28th in other years.
    """
    recorded = 0
    bind = factory.kw["bind"]
    with factory() as session:
        tenant_ids = [tenant_id] if tenant_id is not None else [t.id for t in tenants.list_(session)]
    for tid in tenant_ids:
        with factory() as session:
            if not rules.for_trigger(session, tenant_id=tid, trigger="birthday"):
                continue
            local = now.astimezone(ZoneInfo(programs.get(session, tenant_id=tid).timezone))
            today = local.date()
            if _birthdays_done.get((bind, tid)) == (today, local.hour):
                continue  # this process scanned this hour (recording is idempotent anyway)
            due = members.born_on(session, tenant_id=tid, day=today)
        for member_id in due:
            try:
                with unit_of_work(factory) as session:
                    member = members.get_or_raise(session, tenant_id=tid, member_id=member_id)
                    _, replay = member_events.record_trigger(
                        session, tenant_id=tid, member=member, type_="birthday", reference=f"birthday:{today.year}",
                        attributes={"year": today.year}, occurred_at=now, now=now,
                    )
                    recorded += 0 if replay else 1
            except (IntegrityError, Conflict):
                pass  # another pass recorded it first
        _birthdays_done[(bind, tid)] = (today, local.hour)
    return recorded


# (database, tenant) -> the local day and hour whose birthdays this process has recorded: the member
# scan runs once an hour per process, not every pass, and still finds members who enrol (or give
# their birth date) later in the day.
_birthdays_done: dict[tuple[object, int], tuple[date, int]] = {}
