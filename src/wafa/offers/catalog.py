"""Offers as the program writes them: created as drafts, activated (which gives them to their audience),
paused, ended; refreshed each night so members who joined an audience since are given them too.

A rule offer names a rule whose conditions hold an `offer` condition on the offer's key (otherwise the
rule would reward everyone, offer or not); a reward offer names an active reward, at its price or its own.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from wafa.errors import Conflict, InvalidInput, NotFound
from wafa.offers import audience as audiences
from wafa.offers import grants
from wafa.offers.models import MemberOffer, Offer
from wafa.offers.schemas import OfferIn, OfferPatch, OfferRead
from wafa.rewards import catalog as rewards
from wafa.rules import service as rules

RESERVED_KEYS = ("model",)  # /v1/offers/model is the model's own page


def _names_offer(conditions: list[dict[str, Any]], key: str) -> bool:
    """Whether the rule's conditions (as stored) ask for this offer, other than under a "not"."""
    for condition in conditions:
        kind = condition.get("type")
        if kind == "offer" and key in condition.get("any_of", ()):
            return True
        if kind == "all" and _names_offer(condition.get("conditions", []), key):
            return True
        if kind == "any" and all(_names_offer([part], key) for part in condition.get("conditions", [])):
            return True
    return False


def _check_rule(session: Session, *, tenant_id: int, rule_id: int, key: str) -> None:
    _, version = rules.get_or_raise(session, tenant_id=tenant_id, rule_id=rule_id)
    if not _names_offer(list(version.definition.get("conditions", [])), key):
        raise InvalidInput(
            f'rule {rule_id} would reward everyone: add the condition {{"type": "offer", "any_of": ["{key}"]}} to it first',
            field="rule_id",
        )


def item_of(offer: Offer) -> str | None:
    """What the model calls the offer's subject: its reward, else its category."""
    if offer.kind == "reward" and offer.reward_id is not None:
        return f"reward:{offer.reward_id}"
    return f"category:{offer.category}" if offer.category else None


def create(session: Session, *, tenant_id: int, offer_in: OfferIn, now: datetime) -> Offer:
    if offer_in.key in RESERVED_KEYS:
        raise InvalidInput(f"{offer_in.key!r} is reserved; choose another key", field="key")
    reward_id = None
    if offer_in.kind == "reward":
        reward = rewards.get_by_key_or_raise(session, tenant_id=tenant_id, key=offer_in.reward_key or "")
        if reward.kind == "cashback" and offer_in.points is not None:
            raise InvalidInput("a cashback reward converts the points the member gives: it takes no personal price", field="points")
        reward_id = reward.id
    elif offer_in.rule_id is not None:
        _check_rule(session, tenant_id=tenant_id, rule_id=offer_in.rule_id, key=offer_in.key)
    stores = _stores(session, tenant_id=tenant_id, codes=offer_in.store_codes)
    row = Offer(
        tenant_id=tenant_id, key=offer_in.key, name_en=offer_in.name_en, name_ar=offer_in.name_ar, kind=offer_in.kind,
        reward_id=reward_id, points=offer_in.points, rule_id=offer_in.rule_id, category=offer_in.category,
        audience=audiences.checked(session, tenant_id=tenant_id, audience=offer_in.audience), valid_days=offer_in.valid_days,
        per_member_cap=offer_in.per_member_cap, store_codes=stores, starts_at=offer_in.starts_at, ends_at=offer_in.ends_at,
        status="draft", granted=0, created_at=now, updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        raise Conflict(f"an offer {offer_in.key!r} exists already", field="key") from None
    return row


def _stores(session: Session, *, tenant_id: int, codes: list[str]) -> list[str]:
    if not codes:
        return []
    from wafa.offers import places

    return places.known_codes(session, tenant_id=tenant_id, codes=codes)


def get_or_raise(session: Session, *, tenant_id: int, key: str, lock: bool = False) -> Offer:
    query = select(Offer).where(Offer.tenant_id == tenant_id, Offer.key == key)
    if lock:
        query = query.with_for_update()
    row = session.execute(query).scalar_one_or_none()
    if row is None:
        raise NotFound(f"no offer {key!r}")
    return row


def list_(session: Session, *, tenant_id: int, status: str | None = None) -> list[Offer]:
    query = select(Offer).where(Offer.tenant_id == tenant_id)
    if status:
        query = query.where(Offer.status == status)
    return list(session.execute(query.order_by(Offer.id.desc())).scalars())


def update(session: Session, *, tenant_id: int, key: str, patch: OfferPatch, now: datetime) -> Offer:
    """Change an offer; copies already given keep their windows (a new `valid_days` applies to copies given from now)."""
    row = get_or_raise(session, tenant_id=tenant_id, key=key, lock=True)
    if row.status == "ended":
        raise Conflict(f"offer {key!r} has ended", field="key")
    changes = patch.model_dump(exclude_unset=True)
    if row.kind == "rule" and changes.get("points") is not None:
        raise InvalidInput("a rule offer has no price in points", field="points")
    if "audience" in changes:
        if changes["audience"] is None:
            raise InvalidInput("an audience", field="audience")
        changes["audience"] = audiences.checked(session, tenant_id=tenant_id, audience=changes["audience"])
    if "store_codes" in changes:
        changes["store_codes"] = _stores(session, tenant_id=tenant_id, codes=changes["store_codes"] or [])
    for name in ("name_en", "name_ar", "valid_days"):
        if name in changes and changes[name] is None:
            raise InvalidInput("a value", field=name)
    for name, value in changes.items():
        setattr(row, name, value)
    row.updated_at = now
    session.flush()
    return row


def activate(session: Session, *, tenant_id: int, key: str, now: datetime, progress: Callable[[int], None] | None = None) -> tuple[Offer, int]:
    """Make the offer live and give it to its audience now; (offer, members given it now)."""
    row = get_or_raise(session, tenant_id=tenant_id, key=key, lock=True)
    if row.status == "ended":
        raise Conflict(f"offer {key!r} has ended: create a new one", field="key")
    if row.ends_at is not None and row.ends_at <= now:
        raise Conflict(f"offer {key!r} ended at {row.ends_at.isoformat()}", field="key")
    if row.kind == "reward":
        reward = rewards.get_or_raise(session, tenant_id=tenant_id, reward_id=row.reward_id or 0)
        if reward.status != "active":
            raise Conflict(f"reward {reward.key!r} is {reward.status}", field="reward_key")
    elif row.rule_id is not None:
        _check_rule(session, tenant_id=tenant_id, rule_id=row.rule_id, key=row.key)
    row.status, row.updated_at = "active", now
    given = refresh(session, offer=row, now=now)
    if progress:
        progress(given)
    return row, given


def refresh(session: Session, *, offer: Offer, now: datetime) -> int:
    """Give an active offer to members of its audience who do not have it yet (how many)."""
    if offer.status != "active" or (offer.ends_at is not None and offer.ends_at <= now):
        return 0
    chosen = dict(offer.audience)
    if "experiment" in chosen:
        from wafa.experiments import service as experiments

        found = experiments.get_by_key(session, tenant_id=offer.tenant_id, key=chosen["experiment"])
        if found.status == "shipped":
            # The experiment is over: the winning arm's offers go to everyone in their audience, the others to nobody more.
            if found.shipped_arm not in chosen["arms"]:
                return 0
            chosen = {k: v for k, v in chosen.items() if k not in ("experiment", "arms")}
        elif found.status != "running":
            return 0
    members = audiences.resolve(session, tenant_id=offer.tenant_id, audience=chosen, item=item_of(offer))
    return grants.give(session, offer=offer, members=members, now=now)


def set_status(session: Session, *, tenant_id: int, key: str, status: str, now: datetime) -> Offer:
    """Pause (members keep their copies but cannot use them), resume, or end (every open copy closes)."""
    row = get_or_raise(session, tenant_id=tenant_id, key=key, lock=True)
    allowed = {"paused": ("active",), "active": ("paused",), "ended": ("draft", "active", "paused")}
    if row.status not in allowed[status]:
        raise Conflict(f"offer {key!r} is {row.status}", field="key")
    if status == "ended":
        grants.revoke_all(session, offer=row, now=now)
    row.status, row.updated_at = status, now
    session.flush()
    return row


def refresh_all(session: Session, *, tenant_id: int, now: datetime) -> int:
    """The worker's nightly pass: end offers past their end, give the active ones to their audience's newcomers."""
    given = 0
    for row in list_(session, tenant_id=tenant_id):
        if row.status in ("active", "paused") and row.ends_at is not None and row.ends_at <= now:
            row.status, row.updated_at = "ended", now
            continue
        if row.status == "active":
            given += refresh(session, offer=row, now=now)
    session.flush()
    return given


def uses(session: Session, *, tenant_id: int, offer_ids: list[int]) -> dict[int, int]:
    """Offer id → uses so far, all members (a reward offer's redemptions through it; a rule offer's are the rule's awards)."""
    if not offer_ids:
        return {}
    rows = session.execute(
        select(MemberOffer.offer_id, func.coalesce(func.sum(MemberOffer.uses), 0)).where(
            MemberOffer.tenant_id == tenant_id, MemberOffer.offer_id.in_(offer_ids),
        ).group_by(MemberOffer.offer_id)
    )
    return {int(o): int(n) for o, n in rows}


def to_read(session: Session, row: Offer, *, used: int | None = None) -> OfferRead:
    reward_key = None
    if row.reward_id is not None:
        reward_key = rewards.get_or_raise(session, tenant_id=row.tenant_id, reward_id=row.reward_id).key
    if used is None:
        used = uses(session, tenant_id=row.tenant_id, offer_ids=[row.id]).get(row.id, 0)
    return OfferRead(
        key=row.key, name_en=row.name_en, name_ar=row.name_ar, kind=row.kind, reward_key=reward_key, points=row.points,
        rule_id=row.rule_id, category=row.category, audience=row.audience, valid_days=row.valid_days, per_member_cap=row.per_member_cap,
        store_codes=list(row.store_codes or []), starts_at=row.starts_at, ends_at=row.ends_at, status=row.status,
        granted=row.granted, used=used, created_at=row.created_at, updated_at=row.updated_at,
    )
