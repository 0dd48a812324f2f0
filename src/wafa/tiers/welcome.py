"""A tier's welcome points: given when a member first reaches the tier, taken back when a return undoes
the upgrade that gave them (the member is welcomed again on reaching the tier once more).

The first welcome to a tier is keyed `tier-welcome:{member}:{tier}`, later ones `...:{n}`; taking one
back is keyed `<its key>:returned`, so it happens once. Every key starts with `tier-welcome:`, which
the ledger does not count as points earned (ledger/earned.py): a welcome never qualifies for a tier.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from wafa.ledger import service as ledger
from wafa.ledger.models import Entry, Lot
from wafa.programs import earning
from wafa.programs import service as programs
from wafa.tiers.models import Tier


@dataclass(frozen=True, slots=True)
class Welcome:
    """A member's welcome to a tier that stands (given, not taken back), or (`entry_id` None) the key the
    next welcome to it takes."""

    key: str
    entry_id: int | None = None
    points: int = 0
    lot_id: int | None = None
    at: datetime | None = None


def _key(member_id: int, tier_id: int, n: int) -> str:
    first = f"tier-welcome:{member_id}:{tier_id}"
    return first if n == 1 else f"{first}:{n}"


def _taken_back(key: str) -> str:
    return f"{key}:returned"


def current(session: Session, *, tenant_id: int, member_id: int, tier_id: int) -> Welcome:
    """The member's welcome to a tier that stands, or the key the next one takes (one lookup per
    welcome taken back before: a handful at most)."""
    n = 1
    while True:
        key = _key(member_id, tier_id, n)
        found = {
            row.idempotency_key: row
            for row in session.execute(
                select(Entry.idempotency_key, Entry.id, Entry.points, Entry.created_at, Lot.id.label("lot_id"))
                .outerjoin(Lot, (Lot.entry_id == Entry.id) & (Lot.tenant_id == Entry.tenant_id))
                .where(Entry.tenant_id == tenant_id, Entry.idempotency_key.in_([key, _taken_back(key)]))
            )
        }
        given = found.get(key)
        if given is None:
            return Welcome(key)
        if _taken_back(key) not in found:
            return Welcome(key, given.id, int(given.points), given.lot_id, given.created_at)
        n += 1


def give(session: Session, *, tenant_id: int, member_id: int, tier: Tier, now: datetime) -> None:
    """Credit the tier's welcome points, unless the member's welcome to it stands already."""
    points = int((tier.benefits or {}).get("welcome_points") or 0)
    if not points:
        return
    found = current(session, tenant_id=tenant_id, member_id=member_id, tier_id=tier.id)
    if found.entry_id is not None:
        return  # a member who drops (at a review) and climbs back is not welcomed twice
    program = programs.get(session, tenant_id=tenant_id)
    ledger.credit(
        session, tenant_id=tenant_id, member_id=member_id, points=points, kind="earn", source="issued",
        idempotency_key=found.key, reason=f"welcome to {tier.name_en}", now=now, available_at=now, details={"tier": tier.key},
        expires_at=earning.expires_at(now, policy=program.expiry_policy, periods=program.expiry_periods, timezone=program.timezone),
    )


def take_back(
    session: Session, *, tenant_id: int, member_id: int, tier: Tier, given_since: datetime, reason: str, now: datetime,
    event_id: int | None = None,
) -> int:
    """Take back the member's welcome to a tier if it was given at or after `given_since` (into debt if
    spent, like any return); return the points taken back."""
    found = current(session, tenant_id=tenant_id, member_id=member_id, tier_id=tier.id)
    if found.entry_id is None or found.at is None or found.at < given_since:
        return 0  # none stands, or it welcomed an earlier stay in the tier
    ledger.claw_back(
        session, tenant_id=tenant_id, member_id=member_id, points=found.points, lot_id=found.lot_id,
        idempotency_key=_taken_back(found.key), reason=reason, now=now, event_id=event_id, details={"tier": tier.key},
        reverses_entry_id=found.entry_id,
    )
    return found.points
