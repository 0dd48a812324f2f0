"""One pass of due work: releases, expiries, hold lapses, pending cashback, birthday rules, unused
rewards past their end, tier reviews, referrals, membership renewals and monthly points, the daily
RFM scores, and members anonymised after the program's retention period. Each row is handled in its
own short transaction (`sweep`), so a pass can run beside live traffic and two passes at once do each
thing once."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from wafa.analytics import custom_segments, segments
from wafa.coalition import service as coalition
from wafa.coalition import settlement
from wafa.db import unit_of_work
from wafa.engagement import referrals
from wafa.errors import Conflict, InvalidInput
from wafa.events import awards, member_events
from wafa.ledger import service as ledger
from wafa.members import activity, privacy
from wafa.members import service as members
from wafa.memberships import service as memberships
from wafa.messages import journeys
from wafa.notify import webhooks
from wafa.offers import catalog as offer_catalog
from wafa.offers import service as offers
from wafa.programs import service as programs
from wafa.rewards import redemptions
from wafa.rules import service as rules
from wafa.tenants import service as tenants
from wafa.tiers import service as tiers
from wafa.web import login_codes
from wafa.web import sessions as web_sessions

log = logging.getLogger(__name__)


@dataclass
class PassReport:
    """What one pass did: rows moved, points, amounts and counts, by kind of work."""

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
    outbox_rows_forgotten: int = 0  # outbox messages, webhook deliveries and attempts past 30 days
    reminders_announced: int = 0  # points.expiring and tier.downgrade_warning messages put in the outbox
    journey_messages_queued: int = 0  # birthday and win-back messages owed to members
    settlements_closed: int = 0  # coalition periods closed at their end (in the operator's time zone)
    members_anonymised: int = 0  # members erased after the program's retention period without activity


class Due(Protocol):
    """A page of due rows, `(tenant, item, ...)` with the cursor last, in cursor order after `after_id`."""

    def __call__(self, session: Session, *, after_id: int, limit: int) -> Sequence[tuple[int, ...]]: ...


Work = Callable[[Session, int, int], int]  # (session, tenant, item) -> what it did: points, an amount, or 1/0


@dataclass
class Swept:
    """What a sweep did: `done` counts the rows whose work returned non-zero, `total` adds up what it returned."""

    done: int = 0
    total: int = 0


def sweep(factory: sessionmaker[Session], *, due: Due, work: Work, batch: int) -> Swept:
    """Run `work` on every row `due` gives, `batch` rows a page in cursor order, each row in its own
    transaction, until a page comes back empty; return what this pass did."""
    swept = Swept()
    after_id = 0
    while True:
        with factory() as session:
            rows = due(session, after_id=after_id, limit=batch)
        if not rows:
            return swept
        after_id = rows[-1][-1]
        _each_row(factory, rows=rows, work=work, into=swept)


def _each_row(factory: sessionmaker[Session], *, rows: Iterable[tuple[int, ...]], work: Work, into: Swept) -> None:
    """Run `work(session, tenant, item)` on each `(tenant, item, ...)` row in its own transaction, adding what it did to `into`."""
    for row in rows:
        try:
            with unit_of_work(factory) as session:
                # Counted before the commit, as the jobs always have been: a commit that fails still counts.
                did = work(session, row[0], row[1])
                into.done += did != 0
                into.total += did
        except (IntegrityError, Conflict):
            pass  # another pass did it first: its entry's idempotency key, or the row's status, says so


def run_due(
    factory: sessionmaker[Session], *, now: datetime, tenant_id: int | None = None, batch: int = 500,
) -> PassReport:
    """Do one pass of everything due at `now` (for one tenant, or all); return what this pass did."""

    def ledger_due(what: str) -> Due:
        return partial(ledger.due, what=what, now=now, tenant_id=tenant_id)

    def lapse(session: Session, t: int, i: int) -> int:
        ledger.resolve_hold(session, tenant_id=t, hold_id=i, action="lapse", now=now)
        return 1

    released = sweep(
        factory, due=ledger_due("release"), batch=batch,
        work=lambda s, t, i: ledger.release_lot(s, tenant_id=t, lot_id=i, now=now),
    )
    expired = sweep(
        factory, due=ledger_due("expire"), batch=batch,
        work=lambda s, t, i: ledger.expire_lot(s, tenant_id=t, lot_id=i, now=now),
    )
    lapsed = sweep(factory, due=ledger_due("lapse"), batch=batch, work=lapse)
    cashback = sweep(
        factory, due=partial(rules.cashback_due, now=now, tenant_id=tenant_id), batch=batch,
        work=lambda s, t, i: awards.release_cashback(s, tenant_id=t, award_id=i, now=now),
    )
    birthday_events = birthdays(factory, now=now, tenant_id=tenant_id)
    with unit_of_work(factory) as session:
        expired_rewards = redemptions.expire_unused(session, now=now, tenant_id=tenant_id)
    reviews = tier_reviews(factory, now=now, tenant_id=tenant_id, batch=batch)
    settled = _settle_referrals(factory, now=now, tenant_id=tenant_id, batch=batch)
    renewals = _move_memberships(factory, now=now, tenant_id=tenant_id, batch=batch)
    rfm_done = _recompute_rfm(factory, now=now, tenant_id=tenant_id)
    _train_offers(factory, now=now, tenant_id=tenant_id)  # after the RFM pass: cold starts read the segments
    with unit_of_work(factory) as session:
        # Sign-ins outlive the sessions and codes forgotten here, for the retention period to read.
        activity.keep_sign_ins(session, now=now)
        ended = web_sessions.purge_expired(session, now=now) + login_codes.purge(session, now=now)
    with unit_of_work(factory) as session:
        forgotten = webhooks.purge(session, now=now)
    scanned = journeys.scan(factory, now=now, tenant_id=tenant_id)
    closed = close_settlements(factory, now=now, tenant_id=tenant_id)
    anonymised = anonymise_inactive(factory, now=now, tenant_id=tenant_id, batch=batch)
    # Count only what this pass did: a lot another pass got to first moved nothing here.
    return PassReport(
        released_lots=released.done,
        released_points=released.total,
        expired_lots=expired.done,
        expired_points=expired.total,
        lapsed_holds=lapsed.total,
        released_cashback=cashback.total,
        birthday_events=birthday_events,
        expired_rewards=expired_rewards,
        tier_reviews=reviews,
        referrals_completed=settled,
        memberships_due=renewals,
        rfm_recomputed=rfm_done,
        web_sessions_ended=ended,
        outbox_rows_forgotten=forgotten,
        reminders_announced=scanned["points.expiring"] + scanned["tier.downgrade_warning"],
        journey_messages_queued=scanned["birthday"] + scanned["win_back"],
        settlements_closed=closed,
        members_anonymised=anonymised,
    )


def years_before(now: datetime, years: int) -> datetime:
    """The same moment `years` calendar years earlier (29 February becomes the 28th)."""
    try:
        return now.replace(year=now.year - years)
    except ValueError:
        return (now - timedelta(days=1)).replace(year=now.year - years)


def anonymise_inactive(factory: sessionmaker[Session], *, now: datetime, tenant_id: int | None, batch: int) -> int:
    """Erase, one member a transaction, the members of programs with a retention period who have done
    nothing for that long (members/activity.py says what counts); return how many this pass erased. A
    program is scanned once a day per process (and again at once when its period changes)."""
    bind = factory.kw["bind"]
    with factory() as session:
        due = [(t, years) for t, years in programs.retention_settings(session) if tenant_id is None or t == tenant_id]
    erased = 0
    for tid, years in due:
        if _retention_done.get((bind, tid)) == (now.date(), years):
            continue
        cutoff = years_before(now, years)
        work: Work = partial(_erase_inactive, cutoff=cutoff, now=now)
        erased += sweep(factory, due=partial(activity.inactive_since, tenant_id=tid, cutoff=cutoff), batch=batch, work=work).total
        _retention_done[(bind, tid)] = (now.date(), years)
    return erased


def _erase_inactive(session: Session, tenant_id: int, member_id: int, *, cutoff: datetime, now: datetime) -> int:
    return privacy.erase_inactive(session, tenant_id=tenant_id, member_id=member_id, cutoff=cutoff, now=now)


# (database, tenant) -> the UTC day and retention period this process last scanned the program's members for.
_retention_done: dict[tuple[object, int], tuple[date, int]] = {}


def close_settlements(factory: sessionmaker[Session], *, now: datetime, tenant_id: int | None) -> int:
    """Close each coalition's periods that ended (the last month, the last week), one transaction each;
    return how many this pass closed (a period another pass closed first is skipped)."""
    with factory() as session:
        ids = [tenant_id] if tenant_id is not None else coalition.tenant_ids(session)
    done = 0
    for one in ids:
        with factory() as session:
            due = settlement.due_periods(session, tenant_id=one, now=now)
        for period in due:
            try:
                with unit_of_work(factory) as session:
                    _, replayed = settlement.close(session, tenant_id=one, period=period, now=now, by="worker")
                done += not replayed
            except (IntegrityError, Conflict):
                continue  # another worker closed it at the same moment, or a partner is settled past it
    return done


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


def _train_offers(factory: sessionmaker[Session], *, now: datetime, tenant_id: int | None) -> None:
    """Train the next-best-offer model of programs whose model is a day old (or missing), one transaction
    each, then give their active offers to members who joined the offers' audiences since (and end offers
    past their end); a program with nothing to learn from is skipped, and one that fails is logged and tried tomorrow."""
    with factory() as session:
        ids = [tenant_id] if tenant_id is not None else [t.id for t in tenants.list_(session)]
    for one in ids:
        with unit_of_work(factory) as session:
            # Claimed first, in its own transaction: a second pass skips, and the write lock is not held while a third trains.
            run = segments.lock_run(session, tenant_id=one, job="offers")
            if run.ran_at is not None and now - run.ran_at < segments.RECOMPUTE_EVERY:
                continue
            run.ran_at = now
        try:
            with unit_of_work(factory) as session:
                offers.train(session, tenant_id=one, now=now)
        except InvalidInput:
            pass  # no purchases with categories and no rewards given yet
        except Exception:  # one program's failure must not stop the others' (or the rest of the pass)
            log.exception("training the offer model of tenant %s failed", one)
        try:
            # After training: an offer for the model's pick goes to the members the new model picks.
            with unit_of_work(factory) as session:
                offer_catalog.refresh_all(session, tenant_id=one, now=now)
        except Exception:
            log.exception("giving the offers of tenant %s to their audiences failed", one)


def tier_reviews(factory: sessionmaker[Session], *, now: datetime, tenant_id: int | None, batch: int) -> int:
    """Review every member whose tier's secured period (or grace) is over, one transaction each; return
    how many this pass reviewed."""
    return sweep(
        factory, due=partial(tiers.due_reviews, now=now, tenant_id=tenant_id), batch=batch,
        work=lambda s, t, member_id: tiers.review(s, tenant_id=t, member_id=member_id, now=now) != "none",
    ).total


def _settle_referrals(factory: sessionmaker[Session], *, now: datetime, tenant_id: int | None, batch: int) -> int:
    """Complete (or expire) pending referrals, one transaction each; return how many this pass completed."""
    return sweep(
        factory, due=partial(referrals.due, tenant_id=tenant_id), batch=batch,
        work=lambda s, t, i: referrals.settle(s, tenant_id=t, referral_id=i, now=now) == "completed",
    ).total


def _move_memberships(factory: sessionmaker[Session], *, now: datetime, tenant_id: int | None, batch: int) -> int:
    """End membership periods that are due (renewal due, cancelled, lapsed) and grant this month's plan
    points to memberships in force; return how many memberships changed state."""
    changed = sweep(
        factory, due=partial(memberships.due, now=now, tenant_id=tenant_id), batch=batch,
        work=lambda s, t, i: memberships.run_due(s, tenant_id=t, membership_id=i, now=now) != "none",
    ).total
    hour = (factory.kw["bind"], tenant_id, now.replace(minute=0, second=0, microsecond=0))
    if _grants_done.get(hour[:2]) == hour[2]:
        return changed  # this process granted this hour (granting is idempotent anyway)
    _grants_done[hour[:2]] = hour[2]

    def grant(session: Session, t: int, i: int) -> int:
        # Locked: a payment renewing it at this moment grants the same month and must not collide.
        found = memberships.get_or_raise(session, tenant_id=t, membership_id=i, lock=True)
        memberships.grant_monthly_points(session, membership=found, now=now)
        return 0  # the pass reports memberships moved on, not grants

    sweep(factory, due=partial(memberships.in_force_after, tenant_id=tenant_id), batch=batch, work=grant)
    return changed


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
        swept = Swept()
        _each_row(
            factory, rows=[(tid, member_id) for member_id in due], work=partial(_record_birthday, year=today.year, now=now), into=swept,
        )
        recorded += swept.total
        _birthdays_done[(bind, tid)] = (today, local.hour)
    return recorded


def _record_birthday(session: Session, tenant_id: int, member_id: int, *, year: int, now: datetime) -> int:
    """Record a member's birthday event of `year`; return 1, or 0 if it was recorded before."""
    member = members.get_or_raise(session, tenant_id=tenant_id, member_id=member_id)
    _, replay = member_events.record_trigger(
        session, tenant_id=tenant_id, member=member, type_="birthday", reference=f"birthday:{year}",
        attributes={"year": year}, occurred_at=now, now=now,
    )
    return 0 if replay else 1


# (database, tenant) -> the local day and hour whose birthdays this process has recorded: the member
# scan runs once an hour per process, not every pass, and still finds members who enrol (or give
# their birth date) later in the day.
_birthdays_done: dict[tuple[object, int], tuple[date, int]] = {}
