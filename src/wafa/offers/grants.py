"""Members' copies of offers: giving an offer to members (each with their own window), what a member holds
at a moment, and counting uses under the copy's lock so a cap is never passed.

A reward offer's uses are counted here as its reward is redeemed through it; a rule offer's uses are the
events its rule rewarded the member for since their window opened (read from the rules, so the purchase
path writes nothing more for it). A location offer is live only while the member is checked in, today,
at one of its stores and the store is open.

The purchase path reads `live_keys` (the rules' `offer` condition), so this module imports only other
domains' read modules: the stores' and rules' services lead back to events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from wafa.db import bulk_insert, in_chunks
from wafa.offers.models import MemberOffer, Offer
from wafa.rules import award_counts
from wafa.stores.open_check_ins import open_check_ins


@dataclass(frozen=True, slots=True)
class Held:
    """A member's open copy of an active offer, with its uses so far and whether it can be used now."""

    grant: MemberOffer
    offer: Offer
    uses: int
    usable_now: bool

    @property
    def uses_left(self) -> int | None:
        return None if self.offer.per_member_cap is None else max(0, self.offer.per_member_cap - self.uses)


def window(offer: Offer, *, now: datetime) -> tuple[datetime, datetime]:
    """A copy given now: open from now (or the offer's start) for `valid_days`, never past the offer's end."""
    start = max(now, offer.starts_at) if offer.starts_at else now
    end = start + timedelta(days=offer.valid_days)
    if offer.ends_at is not None:
        end = min(end, offer.ends_at)
    return start, end


def give(session: Session, *, offer: Offer, members: dict[int, tuple[str, str | None]], now: datetime) -> int:
    """Give the offer to these members (member id → (source, experiment arm)) who do not have it yet; how many were given it.
    A member keeps the copy they were given first: giving again never extends or reopens a window."""
    start, end = window(offer, now=now)
    if end <= start or not members:
        return 0
    had: set[int] = set()
    for chunk in in_chunks(sorted(members)):
        had.update(int(m) for m in session.execute(
            select(MemberOffer.member_id).where(
                MemberOffer.tenant_id == offer.tenant_id, MemberOffer.offer_id == offer.id, MemberOffer.member_id.in_(chunk),
            )
        ).scalars())
    rows = [
        {"tenant_id": offer.tenant_id, "offer_id": offer.id, "member_id": member_id, "granted_at": now, "valid_from": start,
         "valid_until": end, "uses": 0, "source": source, "arm": arm, "revoked_at": None}
        for member_id, (source, arm) in sorted(members.items()) if member_id not in had
    ]
    inserted = bulk_insert(session, MemberOffer, rows, conflict=["tenant_id", "offer_id", "member_id"], returning=("id",))
    offer.granted += len(inserted)
    session.flush()
    return len(inserted)


def held(session: Session, *, tenant_id: int, member_id: int, at: datetime, at_stores: set[str] | None = None) -> list[Held]:
    """The member's copies open at `at` of offers active then, with their uses; copies at their cap are left
    out. `at_stores`: the stores the member is checked in at and which are open (None: not asked, so no
    location offer is usable now)."""
    rows = session.execute(
        select(MemberOffer, Offer).join(Offer, Offer.id == MemberOffer.offer_id).where(
            MemberOffer.tenant_id == tenant_id, MemberOffer.member_id == member_id, MemberOffer.valid_until > at,
            MemberOffer.valid_from <= at, MemberOffer.revoked_at.is_(None), Offer.tenant_id == tenant_id, Offer.status == "active",
        )
    ).all()
    rule_uses = award_counts.since(
        session, tenant_id=tenant_id, member_id=member_id,
        rules=[(offer.rule_id, grant.valid_from) for grant, offer in rows if offer.kind == "rule" and offer.rule_id is not None],
    )
    out = []
    for grant, offer in rows:
        if (offer.starts_at and at < offer.starts_at) or (offer.ends_at and at >= offer.ends_at):
            continue
        uses = rule_uses.get(offer.rule_id or 0, 0) if offer.kind == "rule" else grant.uses
        if offer.per_member_cap is not None and uses >= offer.per_member_cap:
            continue
        usable = not offer.store_codes or bool(at_stores and at_stores & set(offer.store_codes))
        out.append(Held(grant, offer, uses, usable))
    return out


def live_keys(session: Session, *, tenant_id: int, member_id: int, at: datetime) -> frozenset[str]:
    """The keys of the offers a member can use at `at` (the rules' `offer` condition): open, under their cap,
    and for a location offer, with the member checked in today at one of its stores while it is open."""
    copies = held(session, tenant_id=tenant_id, member_id=member_id, at=at)
    wanted = {code for copy in copies for code in copy.offer.store_codes}
    here = open_check_ins(session, tenant_id=tenant_id, member_id=member_id, store_codes=wanted, at=at)
    return frozenset(
        copy.offer.key for copy in copies if copy.usable_now or (copy.offer.store_codes and here & set(copy.offer.store_codes))
    )


def lock_copy(session: Session, *, tenant_id: int, member_id: int, offer_id: int) -> MemberOffer | None:
    """The member's copy of an offer, locked (PostgreSQL) so two uses of it are counted one after the other."""
    return session.execute(
        select(MemberOffer).where(
            MemberOffer.tenant_id == tenant_id, MemberOffer.offer_id == offer_id, MemberOffer.member_id == member_id,
        ).with_for_update()
    ).scalar_one_or_none()


def count_use(session: Session, *, grant: MemberOffer) -> None:
    session.execute(update(MemberOffer).where(MemberOffer.id == grant.id).values(uses=MemberOffer.uses + 1))
    session.refresh(grant)


def revoke_all(session: Session, *, offer: Offer, now: datetime) -> int:
    """Close every open copy of an offer (the offer ended): how many were closed."""
    result = session.execute(
        update(MemberOffer).where(
            MemberOffer.tenant_id == offer.tenant_id, MemberOffer.offer_id == offer.id, MemberOffer.revoked_at.is_(None),
            MemberOffer.valid_until > now,
        ).values(revoked_at=now)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
