"""Reminders: facts that are true because time passes, announced once each in the outbox, so webhooks,
streams and the journeys hear of them like of any other fact.

- `points.expiring`: a member's points that expire on one local day, announced at each offset of the
  points-expiring journey (30, 7 and 1 days before by default), whether or not the journey is on.
- `tier.downgrade_warning`: a member whose tier is reviewed within the warning's days and who, measured
  now, would not keep it.

`member_reminders` holds what was announced (a unique key per member, kind and occasion), so a pass
run twice, or by two workers at once, announces nothing twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from wafa.db import insert_or_skip
from wafa.ledger.models import Lot
from wafa.messages.models import Reminder
from wafa.outbox import service as outbox
from wafa.programs import service as programs
from wafa.tiers import service as tiers
from wafa.tiers.models import MemberTier, Tier


def _announce(session: Session, *, tenant_id: int, member_id: int, kind: str, key: str, now: datetime) -> bool:
    # RETURNING, not the row count: psycopg reports -1 for an INSERT the session ran with ON CONFLICT.
    inserted = session.execute(
        insert_or_skip(session, Reminder, conflict=["tenant_id", "member_id", "kind", "key"])
        .values(tenant_id=tenant_id, member_id=member_id, kind=kind, key=key, created_at=now)
        .returning(Reminder.__table__.c.id)
    ).first()
    return inserted is not None


def claim(session: Session, *, tenant_id: int, what: str, key: str, now: datetime) -> bool:
    """Claim a tenant's scan of `what` for a period (an hour, a day); False when it was claimed before."""
    return _announce(session, tenant_id=tenant_id, member_id=0, kind=f"scan:{what}", key=key, now=now)


def _expiring(session: Session, tenant_id: int, now: datetime, horizon: datetime, page: int) -> Iterator[tuple[int, datetime, int]]:
    """(member, expires at, points) of available lots expiring in (now, horizon], member by member, page by
    page (a program whose points all expire on 31 December has every member in here at once)."""
    after: tuple[int, datetime] | None = None
    while True:
        query = (
            select(Lot.member_id, Lot.expires_at, func.sum(Lot.remaining))
            # released and remaining > 0: the worker's expiry index (ix_lots_expiry_due) holds exactly these lots
            .where(Lot.tenant_id == tenant_id, Lot.released.is_(True), Lot.remaining > 0, Lot.expires_at > now, Lot.expires_at <= horizon)
            .group_by(Lot.member_id, Lot.expires_at).order_by(Lot.member_id, Lot.expires_at).limit(page)
        )
        if after is not None:
            query = query.where(tuple_(Lot.member_id, Lot.expires_at) > tuple_(*after))
        rows = session.execute(query).all()
        for member_id, expires_at, points in rows:
            assert expires_at is not None  # the query asks for lots that expire
            yield int(member_id), expires_at, int(points)
        if len(rows) < page:
            return
        last_at = rows[-1][1]
        assert last_at is not None
        after = (int(rows[-1][0]), last_at)


def last_day(expires_at: datetime, zone: ZoneInfo) -> str:
    """The last local day points can be used: expiry at midnight (end of a month or a year) leaves the day before."""
    return (expires_at - timedelta(microseconds=1)).astimezone(zone).date().isoformat()


def points_expiring(session: Session, *, tenant_id: int, offsets: list[int], now: datetime, page: int = 5000) -> int:
    """Announce points that expire within the largest offset; return messages emitted. A lot expiring
    in 5 days when the offsets are 30, 7, 1 is announced once for the 7-day offset (the smallest offset
    it is within), and again at 1 day."""
    if not offsets:
        return 0
    zone = ZoneInfo(programs.get(session, tenant_id=tenant_id).timezone)
    # One reminder per member and last local day: lots expiring the same day are one message.
    by_day: dict[tuple[int, str], list[tuple[datetime, int]]] = defaultdict(list)
    for member_id, expires_at, points in _expiring(session, tenant_id, now, now + timedelta(days=max(offsets)), page):
        by_day[(member_id, last_day(expires_at, zone))].append((expires_at, points))
    emitted = 0
    for (member_id, day), lots in sorted(by_day.items()):
        first = min(at for at, _ in lots)
        days_left = max(0, (first - now).days) + (1 if (first - now) % timedelta(days=1) else 0)
        offset = min((o for o in offsets if days_left <= o), default=None)
        if offset is None:
            continue
        points = sum(p for _, p in lots)
        if _announce(session, tenant_id=tenant_id, member_id=member_id, kind="points.expiring", key=f"{day}:{offset}", now=now):
            outbox.emit(session, tenant_id=tenant_id, type_="points.expiring", member_id=member_id, now=now, payload={
                "points": points, "expires_at": first, "expires_on": day, "days_before": offset, "days_left": days_left,
            })
            emitted += 1
    return emitted


def _reviewed_soon(session: Session, tenant_id: int, now: datetime, days_before: int, page: int) -> Iterator[tuple[MemberTier, Tier]]:
    after = 0
    while True:
        rows = session.execute(
            select(MemberTier, Tier)
            .join(Tier, Tier.id == MemberTier.tier_id)
            .where(MemberTier.tenant_id == tenant_id, MemberTier.review_at.is_not(None), MemberTier.review_at > now,
                   MemberTier.review_at <= now + timedelta(days=days_before), MemberTier.id > after)
            .order_by(MemberTier.id)
            .limit(page)
        ).all()
        yield from ((row, tier) for row, tier in rows)
        if len(rows) < page:
            return
        after = rows[-1][0].id


def tier_downgrade_warnings(session: Session, *, tenant_id: int, days_before: int, now: datetime, page: int = 2000) -> int:
    """Warn members reviewed within `days_before` days who would drop at the review if it were now."""
    rules = tiers.policy(session, tenant_id=tenant_id)
    zone = ZoneInfo(programs.get(session, tenant_id=tenant_id).timezone)
    emitted = 0
    for row, tier in _reviewed_soon(session, tenant_id, now, days_before, page):
        assert row.review_at is not None  # the query asks for rows with a review date
        if row.floor_tier_id == tier.id and (row.floor_until is None or row.floor_until >= row.review_at):
            continue  # a floor keeps the member in this tier past the review
        value = tiers.review_value(session, tenant_id=tenant_id, member_id=row.member_id, now=now, rules=rules)
        if value >= tier.threshold:
            continue
        key = f"{tier.key}:{row.review_at.astimezone(zone).date().isoformat()}"
        if _announce(session, tenant_id=tenant_id, member_id=row.member_id, kind="tier.downgrade_warning", key=key, now=now):
            outbox.emit(session, tenant_id=tenant_id, type_="tier.downgrade_warning", member_id=row.member_id, now=now, payload={
                "tier": tier.key, "review_at": row.review_at, "review_on": row.review_at.astimezone(zone).date().isoformat(),
                "metric": rules.metric, "value": value, "threshold": tier.threshold,
                "to_keep": tier.threshold - value,
            })
            emitted += 1
    return emitted
