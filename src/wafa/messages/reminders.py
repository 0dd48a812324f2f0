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
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
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


def points_expiring(session: Session, *, tenant_id: int, offsets: list[int], now: datetime, limit: int = 5000) -> int:
    """Announce points that expire within the largest offset; return messages emitted. A lot expiring
    in 5 days when the offsets are 30, 7, 1 is announced once for the 7-day offset (the smallest offset
    it is within), and again at 1 day."""
    if not offsets:
        return 0
    zone = ZoneInfo(programs.get(session, tenant_id=tenant_id).timezone)
    horizon = now + timedelta(days=max(offsets))
    rows = session.execute(
        select(Lot.member_id, Lot.expires_at, func.sum(Lot.remaining))
        .where(Lot.tenant_id == tenant_id, Lot.remaining > 0, Lot.expires_at.is_not(None), Lot.expires_at > now, Lot.expires_at <= horizon)
        .group_by(Lot.member_id, Lot.expires_at)
        .limit(limit)
    ).all()
    # One reminder per member and local day of expiry: lots expiring the same day are one message.
    by_day: dict[tuple[int, str], list[tuple[datetime, int]]] = defaultdict(list)
    for member_id, expires_at, points in rows:
        assert expires_at is not None  # the query asks for lots that expire
        by_day[(int(member_id), expires_at.astimezone(zone).date().isoformat())].append((expires_at, int(points)))
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


def tier_downgrade_warnings(session: Session, *, tenant_id: int, days_before: int, now: datetime, limit: int = 2000) -> int:
    """Warn members reviewed within `days_before` days who would drop at the review if it were now."""
    rows = session.execute(
        select(MemberTier, Tier)
        .join(Tier, Tier.id == MemberTier.tier_id)
        .where(MemberTier.tenant_id == tenant_id, MemberTier.review_at.is_not(None), MemberTier.review_at > now,
               MemberTier.review_at <= now + timedelta(days=days_before))
        .order_by(MemberTier.id)
        .limit(limit)
    ).all()
    if not rows:
        return 0
    rules = tiers.policy(session, tenant_id=tenant_id)
    emitted = 0
    for row, tier in rows:
        assert row.review_at is not None  # the query asks for rows with a review date
        if row.floor_tier_id == tier.id and (row.floor_until is None or row.floor_until >= row.review_at):
            continue  # a floor keeps the member in this tier past the review
        value = tiers.review_value(session, tenant_id=tenant_id, member_id=row.member_id, now=now, rules=rules)
        if value >= tier.threshold:
            continue
        key = f"{tier.key}:{row.review_at.date().isoformat()}"
        if _announce(session, tenant_id=tenant_id, member_id=row.member_id, kind="tier.downgrade_warning", key=key, now=now):
            outbox.emit(session, tenant_id=tenant_id, type_="tier.downgrade_warning", member_id=row.member_id, now=now, payload={
                "tier": tier.key, "review_at": row.review_at, "metric": rules.metric, "value": value, "threshold": tier.threshold,
                "to_keep": tier.threshold - value,
            })
            emitted += 1
    return emitted
