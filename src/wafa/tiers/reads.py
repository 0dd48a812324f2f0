"""Read models of tiers: a tier as the API shows it, and a member's tier with the way to the next."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from wafa.programs import service as programs
from wafa.tiers import qualification, service
from wafa.tiers.models import MemberTier, Tier
from wafa.tiers.schemas import Floor, MemberTierRead, NextTier, TierRead

_UNITS = {"points_earned": "points", "money_spent": "", "purchases": "purchases"}


def tier_read(tier: Tier, *, metric: str, currency: str) -> TierRead:
    return TierRead(
        id=tier.id, key=tier.key, name={"en": tier.name_en, "ar": tier.name_ar}, rank=tier.rank,
        threshold=service.format_value(tier.threshold, metric=metric, currency=currency), benefits=dict(tier.benefits or {}),
    )


def _grouped(number: str) -> str:
    """A plain decimal string with its thousands grouped: 1240.50 -> 1,240.50."""
    whole, _, fraction = number.partition(".")
    return f"{int(whole):,}" + (f".{fraction}" if fraction else "")


def member_tier(session: Session, tenant_id: int, member_id: int, now) -> MemberTierRead:
    """A member's tier, how long it is secured, and the way to the next."""
    rules = service.policy(session, tenant_id=tenant_id)
    program = programs.get(session, tenant_id=tenant_id)
    currency = program.base_currency
    tiers = list(session.execute(select(Tier).where(Tier.tenant_id == tenant_id).order_by(Tier.rank)).scalars())
    row = session.execute(
        select(MemberTier).where(MemberTier.tenant_id == tenant_id, MemberTier.member_id == member_id)
    ).scalar_one_or_none()
    current = next((t for t in tiers if row is not None and t.id == row.tier_id), None)
    value = service.metric_value(session, tenant_id=tenant_id, member_id=member_id, now=now, rules=rules)
    above = [t for t in tiers if current is None or t.rank > current.rank]
    nxt = above[0] if above else None
    by = qualification.window_end(now, window=rules.window, months=rules.months, timezone=program.timezone)
    # The sentence groups thousands ("1,240 of 3,000 points"); the numeric fields stay plain.
    plain = lambda amount: service.format_value(amount, metric=rules.metric, currency=currency)  # noqa: E731
    show = lambda amount: _grouped(plain(amount))  # noqa: E731
    unit = _UNITS[rules.metric] or currency
    if nxt is not None:
        to_go = max(0, nxt.threshold - value)
        # The window closes at local midnight on 1 January: the last day to qualify is the day before.
        last_day = (by.astimezone(ZoneInfo(program.timezone)) - timedelta(days=1)).date().isoformat() if by else None
        progress = f"{show(value)} of {show(nxt.threshold)} {unit}, {show(to_go)} to go" + (f" by {last_day}" if last_day else "")
        if to_go == 0:
            progress = f"{show(value)} of {show(nxt.threshold)} {unit}: {nxt.name_en} at the next purchase"
    else:
        progress = f"{show(value)} {unit}: the top tier" if current else f"{show(value)} {unit}"
    floor = None
    if row is not None and row.floor_tier_id is not None and (row.floor_until is None or row.floor_until > now):
        floor_tier = next((t for t in tiers if t.id == row.floor_tier_id), None)
        if floor_tier is not None:
            floor = Floor(tier=tier_read(floor_tier, metric=rules.metric, currency=currency), until=row.floor_until, reason=row.floor_reason)
    return MemberTierRead(
        member_id=member_id, tier=tier_read(current, metric=rules.metric, currency=currency) if current else None,
        since=row.since if row and current else None, secured_until=row.secured_until if row and current else None,
        grace_until=row.grace_until if row else None, floor=floor, metric=rules.metric, value=plain(value),
        next=NextTier(tier=tier_read(nxt, metric=rules.metric, currency=currency), to_go=plain(max(0, nxt.threshold - value)), by=by)
        if nxt else None,
        progress=progress, benefits=dict(current.benefits or {}) if current else {},
    )
