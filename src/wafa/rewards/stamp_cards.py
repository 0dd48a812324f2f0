"""Stamp cards: rules give stamps to a card; every `stamps_needed` stamps complete a card, which issues
its reward at once, and the overflow starts the next card. A return takes its stamps back and
cancels the unused rewards of cards that are no longer full.

A member's progress is one row per card: the stamps kept (net of returns), the cards rewarded, and
the cards whose reward was cancelled by hand (forfeited). Each event's stamps are recorded, so a
return takes back only what its order put on the card. A full card whose reward was already used
when a return emptied it keeps that reward; the cards rewarded stay ahead of the stamps, so the next
full card is not rewarded twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from wafa.db import insert_unless_exists
from wafa.errors import Conflict, NotFound
from wafa.rewards import catalog, redemptions
from wafa.rewards.models import MemberStampCard, RewardRedemption, StampCard, StampCardEvent
from wafa.rewards.schemas import StampCardIn, StampCardUpdate


def create(session: Session, *, tenant_id: int, card_in: StampCardIn, now: datetime) -> StampCard:
    """Define a stamp card and the reward a full card issues."""
    if get_by_key(session, tenant_id=tenant_id, key=card_in.key) is not None:
        raise Conflict(f"a stamp card with key {card_in.key!r} exists", field="key")
    catalog.get_or_raise(session, tenant_id=tenant_id, reward_id=card_in.reward_id)
    card = StampCard(
        tenant_id=tenant_id, key=card_in.key, name_en=card_in.name_en, name_ar=card_in.name_ar,
        stamps_needed=card_in.stamps_needed, reward_id=card_in.reward_id, status=card_in.status, created_at=now,
    )
    session.add(card)
    session.flush()
    return card


def list_(session: Session, *, tenant_id: int) -> list[StampCard]:
    """The program's stamp cards, oldest first."""
    return list(session.execute(select(StampCard).where(StampCard.tenant_id == tenant_id).order_by(StampCard.id)).scalars())


def get_by_key(session: Session, *, tenant_id: int, key: str) -> StampCard | None:
    """A stamp card of this tenant by key, or None."""
    return session.execute(select(StampCard).where(StampCard.tenant_id == tenant_id, StampCard.key == key)).scalar_one_or_none()


def get_or_raise(session: Session, *, tenant_id: int, card_id: int) -> StampCard:
    card = session.execute(select(StampCard).where(StampCard.tenant_id == tenant_id, StampCard.id == card_id)).scalar_one_or_none()
    if card is None:
        raise NotFound(f"stamp card {card_id} not found", field="card_id")
    return card


def update(session: Session, *, tenant_id: int, card_id: int, card_in: StampCardUpdate) -> StampCard:
    """Rename a card, pause it (it takes no stamps) or activate it again; its size and reward stay."""
    card = get_or_raise(session, tenant_id=tenant_id, card_id=card_id)
    for name in ("name_en", "name_ar", "status"):
        value = getattr(card_in, name)
        if value is not None:
            setattr(card, name, value)
    session.flush()
    return card


def _progress(session: Session, *, tenant_id: int, member_id: int, card: StampCard, now: datetime) -> MemberStampCard:
    """The member's row for a card, created on first use and locked for this transaction."""
    insert_unless_exists(
        session, MemberStampCard,
        {"tenant_id": tenant_id, "member_id": member_id, "card_id": card.id, "stamps": 0, "rewarded": 0, "updated_at": now},
        conflict=["tenant_id", "member_id", "card_id"],
    )
    return session.execute(
        select(MemberStampCard)
        .where(MemberStampCard.tenant_id == tenant_id, MemberStampCard.member_id == member_id, MemberStampCard.card_id == card.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()


def add(
    session: Session, *, tenant_id: int, member_id: int, card_key: str, count: int, event_id: int, now: datetime
) -> list[RewardRedemption]:
    """Put an event's stamps on a member's card; return the rewards of the cards this completes.

    A full card whose reward cannot be given now (paused, out of its dates, out of stock) stays owed:
    the next stamp on the card issues it once the reward can be given again.
    """
    card = get_by_key(session, tenant_id=tenant_id, key=card_key)
    if card is None or card.status != "active" or count <= 0:
        return []
    row = _progress(session, tenant_id=tenant_id, member_id=member_id, card=card, now=now)
    recorded = insert_unless_exists(
        session, StampCardEvent,
        {"tenant_id": tenant_id, "card_id": card.id, "member_id": member_id, "event_id": event_id, "stamps": count, "taken_back": 0},
        conflict=["tenant_id", "card_id", "member_id", "event_id"], returning=[StampCardEvent.id],
    ).first()
    if recorded is None:
        return []  # this event's stamps are on the card already
    row.stamps += count
    row.updated_at = now
    issued = []
    reward = catalog.get_or_raise(session, tenant_id=tenant_id, reward_id=card.reward_id)
    while row.rewarded + row.forfeited < row.stamps // card.stamps_needed:
        granted = redemptions.grant(
            session, tenant_id=tenant_id, member_id=member_id, reward=reward, source="stamp_card",
            source_key=f"card:{card.id}:member:{member_id}:event:{event_id}:{row.rewarded + row.forfeited + 1}", now=now,
            event_id=event_id, card_id=card.id,
        )
        if granted is None:
            break
        row.rewarded += 1
        issued.append(granted)
    session.flush()
    return issued


def remove(
    session: Session, *, tenant_id: int, member_id: int, card_key: str, count: int, event_id: int, now: datetime, reason: str
) -> int:
    """Take back stamps a returned order put on the card (only those it really put there); cancel the
    unused rewards of cards no longer full. Return how many rewards were cancelled."""
    card = get_by_key(session, tenant_id=tenant_id, key=card_key)
    if card is None or count <= 0:
        return 0
    row = _progress(session, tenant_id=tenant_id, member_id=member_id, card=card, now=now)
    record = session.execute(
        select(StampCardEvent).where(
            StampCardEvent.tenant_id == tenant_id, StampCardEvent.card_id == card.id, StampCardEvent.member_id == member_id,
            StampCardEvent.event_id == event_id,
        ).with_for_update()
    ).scalar_one_or_none()
    take = min(count, record.stamps - record.taken_back) if record is not None else 0
    if record is None or take <= 0:
        return 0
    record.taken_back += take
    row.stamps = max(0, row.stamps - take)
    row.updated_at = now
    excess = row.rewarded + row.forfeited - row.stamps // card.stamps_needed
    # A card whose reward was cancelled by hand absorbs the loss first: no other reward goes for it.
    absorbed = min(max(excess, 0), row.forfeited)
    row.forfeited -= absorbed
    excess -= absorbed
    cancelled = 0
    if excess > 0:
        unused = session.execute(
            select(RewardRedemption.source_key).where(
                RewardRedemption.tenant_id == tenant_id, RewardRedemption.member_id == member_id,
                RewardRedemption.card_id == card.id, RewardRedemption.status == "issued",
            ).order_by(RewardRedemption.id.desc())
        ).scalars().all()
        for source_key in unused:
            if excess <= 0:
                break
            if redemptions.revoke_grant(session, tenant_id=tenant_id, source_key=source_key, now=now, reason=reason, by_card=True):
                row.rewarded -= 1
                excess -= 1
                cancelled += 1
    session.flush()
    return cancelled


def of_member(session: Session, *, tenant_id: int, member_id: int) -> list[tuple[StampCard, int, int, int]]:
    """Every card of the program with the member's (stamps kept, cards rewarded, cards forfeited) on it."""
    rows = {
        row.card_id: row
        for row in session.execute(
            select(MemberStampCard).where(MemberStampCard.tenant_id == tenant_id, MemberStampCard.member_id == member_id)
        ).scalars()
    }
    out = []
    for card in list_(session, tenant_id=tenant_id):
        row = rows.get(card.id)
        out.append((card, row.stamps if row else 0, row.rewarded if row else 0, row.forfeited if row else 0))
    return out
