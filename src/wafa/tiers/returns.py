"""Tiers won then returned: under the program's "demote" policy, a return that takes a member's metric
below the threshold of a tier they were upgraded to within `tier_return_days` demotes them at once and
takes back the welcome points of the tiers lost. Under "keep" (the default) the next review decides.

Only qualifying upgrades are undone: a tier set by hand, kept at a review or reached before the window
stays, and so does a manual floor in force.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from wafa.programs import service as programs
from wafa.tiers import qualification, service, welcome
from wafa.tiers.models import MemberTier, TierChange


def demotes(session: Session, *, tenant_id: int) -> bool:
    """Whether a return can demote at once in this program (the "demote" policy, and tiers to lose);
    read from cached configuration: a "keep" program pays nothing per return."""
    return (programs.get(session, tenant_id=tenant_id).tier_return_policy == "demote"
            and bool(service.tiers_of(session, tenant_id=tenant_id)))


def _moves(session: Session, *, tenant_id: int, member_id: int, limit: int) -> list[qualification.Move]:
    """The member's latest tier changes, newest first."""
    rows = session.execute(
        select(TierChange.from_tier_id, TierChange.to_tier_id, TierChange.cause, TierChange.at)
        .where(TierChange.tenant_id == tenant_id, TierChange.member_id == member_id)
        .order_by(TierChange.id.desc()).limit(limit)
    ).all()
    return [qualification.Move(from_tier, to_tier, cause, at) for from_tier, to_tier, cause, at in rows]


def on_return(session: Session, *, tenant_id: int, member_id: int, order_id: str, return_event_id: int, now: datetime) -> bool:
    """After a return (the member's accounts locked): undo the member's recent upgrades their metric no
    longer reaches, and take back those tiers' welcome points. Return whether the member was demoted.

    Idempotent: the demotion is recorded as a change with cause "returned", which no later return undoes,
    and each welcome is taken back under a key of its own.
    """
    program = programs.get(session, tenant_id=tenant_id)
    tiers = service.tiers_of(session, tenant_id=tenant_id)
    if program.tier_return_policy != "demote" or not tiers:
        return False
    row = session.execute(
        select(MemberTier).where(MemberTier.tenant_id == tenant_id, MemberTier.member_id == member_id)
        .with_for_update().execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if row is None or row.tier_id is None:
        return False
    since = now - timedelta(days=program.tier_return_days)
    # Enough history for a climb through every tier, the grace periods between, and the move before it.
    moves = _moves(session, tenant_id=tenant_id, member_id=member_id, limit=2 * len(tiers) + 20)
    if not qualification.recent_upgrades(moves, current=row.tier_id, since=since):
        return False  # the tier was not won by qualifying within the window: nothing to measure
    rules = service.policy(session, tenant_id=tenant_id)
    value = service.review_value(session, tenant_id=tenant_id, member_id=member_id, now=now, rules=rules)
    undo = qualification.after_return(
        service.levels_of(tiers), current=row.tier_id, moves=moves, since=since, value=value, floor=service.floor_in_force(row, now=now),
    )
    if undo is None:
        return False
    by_id = {tier.id: tier for tier in tiers}
    target = by_id.get(undo.tier_id) if undo.tier_id is not None else None
    lost = [by_id[move.to_tier_id] for move in undo.undone if move.to_tier_id in by_id]
    reason = (f"order {order_id} returned: below the threshold of {', '.join(tier.name_en for tier in lost)}, "
              f"reached within {program.tier_return_days} days")[:500]
    service.move(session, row=row, to=session.merge(target, load=False) if target else None, cause="returned", value=value,
                 now=now, rules=rules, reason=reason)
    if target is not None:
        # Back in a tier held before: since then, and secured as a review would have left it (see qualification).
        row.since = undo.entered_at or now
        row.secured_until = row.review_at = qualification.secured_after_return(
            undo.entered_at, qualifies=undo.qualifies, now=now, window=rules.window, months=rules.months, timezone=program.timezone,
        )
    for move in undo.undone:
        if move.to_tier_id in by_id:
            tier = by_id[move.to_tier_id]
            welcome.take_back(
                session, tenant_id=tenant_id, member_id=member_id, tier=tier, given_since=move.at, now=now, event_id=return_event_id,
                reason=f"welcome to {tier.name_en} taken back: order {order_id} returned"[:500],
            )
    session.flush()
    return True
