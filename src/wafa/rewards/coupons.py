"""Coupons: issue codes (one for a redemption, or a campaign of many), check them against a basket,
redeem them exactly once per use at a till, give a use back when its order comes back whole.

A redeem locks the coupon's row before it reads anything, so two tills redeeming one single-use
code at once run one after the other: the first uses it, the second finds it used (or, retrying
the same use, finds that use and answers it again).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from wafa.db import insert_or_skip, insert_unless_exists
from wafa.errors import Conflict, CouponNotUsable, CouponUsed, InvalidInput, NotFound
from wafa.events.schemas import Item
from wafa.members import service as members
from wafa.money import to_minor
from wafa.outbox import service as outbox
from wafa.rewards import codes, discounts
from wafa.rewards.discounts import Discount
from wafa.rewards.models import Coupon, CouponCampaign, CouponUse, OrderPayment, RewardRedemption

_BATCH = 5_000


def status_of(coupon: Coupon, now: datetime, campaign: CouponCampaign | None = None) -> str:
    """active, used (no uses left), paused (with its campaign), expired or cancelled. A campaign's code
    is paused and ends with its campaign (`campaign`): pausing or extending a campaign of a million
    codes changes one row."""
    if coupon.status == "cancelled":
        return "cancelled"
    if coupon.uses >= coupon.max_uses:
        return "used"
    if campaign is not None and campaign.status == "paused":
        return "paused"
    until = valid_until_of(coupon, campaign)
    if until is not None and now >= until:
        return "expired"
    return "active"


def valid_until_of(coupon: Coupon, campaign: CouponCampaign | None = None) -> datetime | None:
    """When a coupon ends: its campaign's end for a campaign's code, else its own."""
    return campaign.valid_until if campaign is not None else coupon.valid_until


def campaign_of(session: Session, *, coupon: Coupon) -> CouponCampaign | None:
    """The campaign a coupon's code came from (None: a coupon a redemption issued)."""
    if coupon.campaign_id is None:
        return None
    return session.execute(
        select(CouponCampaign).where(CouponCampaign.tenant_id == coupon.tenant_id, CouponCampaign.id == coupon.campaign_id)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()


def issue(
    session: Session, *, tenant_id: int, discount: Discount, max_uses: int, valid_days: int | None, now: datetime,
    member_id: int | None, redemption_id: int | None,
) -> Coupon:
    """A new coupon with a fresh code (drawn again in the unlikely case it is taken)."""
    valid_until = now + timedelta(days=valid_days) if valid_days else None
    for _ in range(8):
        inserted = insert_unless_exists(
            session, Coupon,
            {"tenant_id": tenant_id, "code": codes.generate(), "campaign_id": None, "redemption_id": redemption_id,
             "member_id": member_id, "discount": discount.to_json(), "max_uses": max_uses, "uses": 0, "valid_from": now,
             "valid_until": valid_until, "status": "active", "created_at": now},
            conflict=["tenant_id", "code"], returning=[Coupon.id],
        ).first()
        if inserted is not None:
            coupon = session.get_one(Coupon, inserted[0])
            if member_id is not None:
                outbox.emit(session, tenant_id=tenant_id, type_="coupon.issued", member_id=member_id, now=now, payload={
                    "coupon_id": coupon.id, "code": coupon.code, "discount": coupon.discount, "max_uses": max_uses,
                    "valid_until": valid_until, "redemption_id": redemption_id,
                })
            return coupon
    raise RuntimeError("could not draw a free coupon code")  # 8 collisions in a 58-bit space: the generator is broken


def get_by_code(session: Session, *, tenant_id: int, code: str, lock: bool = False) -> Coupon | None:
    """A coupon of this tenant by code as typed (case, spaces and dashes ignored), or None."""
    query = select(Coupon).where(Coupon.tenant_id == tenant_id, Coupon.code == codes.normalise(code))
    if lock:
        query = query.with_for_update()
    return session.execute(query.execution_options(populate_existing=True)).scalar_one_or_none()


def get_by_code_or_raise(session: Session, *, tenant_id: int, code: str, lock: bool = False) -> Coupon:
    """A coupon of this tenant by code, or NotFound."""
    coupon = get_by_code(session, tenant_id=tenant_id, code=code, lock=lock)
    if coupon is None:
        raise NotFound("no such coupon code", field="code")
    return coupon


@dataclass(frozen=True, slots=True)
class Basket:
    """A basket as a till sends it, in minor units."""

    amount: int
    currency: str
    lines: tuple[discounts.Line, ...]
    member_id: int | None


def basket_of(*, amount: str, currency: str, items: list[Item], member_id: int | None) -> Basket:
    """A basket from the API's terms (major units)."""
    cur = currency.upper()
    lines = tuple(
        discounts.Line(item.sku, item.category, item.quantity, to_minor(item.unit_price, cur, field=f"items[{i}].unit_price"))
        for i, item in enumerate(items)
    )
    return Basket(to_minor(amount, cur), cur, lines, member_id)


def check(coupon: Coupon, basket: Basket, *, now: datetime, campaign: CouponCampaign | None = None) -> discounts.Applied:
    """What the coupon takes off the basket; raise CouponNotUsable (or CouponUsed) if it cannot be used now
    (a campaign's code: pass its campaign, which may be paused or ended)."""
    state = status_of(coupon, now, campaign)
    if state == "used":
        raise CouponUsed("this coupon has no uses left", field="code")
    if state != "active":
        raise CouponNotUsable(f"this coupon is {state}", field="code")
    if coupon.valid_from is not None and now < coupon.valid_from:
        raise CouponNotUsable(f"this coupon is valid from {coupon.valid_from.isoformat()}", field="code")
    if coupon.member_id is not None and basket.member_id is not None and basket.member_id != coupon.member_id:
        raise CouponNotUsable("this coupon belongs to another member", field="member_id")
    discount = Discount.from_json(coupon.discount)
    if discount.currency != basket.currency:
        raise CouponNotUsable(f"this coupon is in {discount.currency}, the basket in {basket.currency}", field="currency")
    return discounts.apply(discount, amount=basket.amount, lines=basket.lines)


@dataclass(frozen=True, slots=True)
class Used:
    use: CouponUse
    coupon: Coupon
    replayed: bool


def redeem(
    session: Session, *, tenant_id: int, code: str, basket: Basket, order_id: str | None, key: str, request_hash: str,
    now: datetime,
) -> Used:
    """Use a coupon once on a basket; the same key again answers the same use."""
    coupon = get_by_code_or_raise(session, tenant_id=tenant_id, code=code, lock=True)
    earlier = session.execute(
        select(CouponUse).where(CouponUse.tenant_id == tenant_id, CouponUse.coupon_id == coupon.id, CouponUse.key == key)
    ).scalar_one_or_none()
    if earlier is not None:
        if earlier.request_hash != request_hash:
            raise Conflict("this use of the coupon was recorded with other details", field="Idempotency-Key")
        return Used(earlier, coupon, True)
    if basket.member_id is not None:
        members.get_or_raise(session, tenant_id=tenant_id, member_id=basket.member_id)
    applied = check(coupon, basket, now=now, campaign=campaign_of(session, coupon=coupon))
    if applied.discount <= 0:
        raise CouponNotUsable(applied.reason or "the coupon gives nothing on this basket", field="items")
    if order_id is not None and session.execute(
        select(CouponUse.id).where(CouponUse.tenant_id == tenant_id, CouponUse.coupon_id == coupon.id,
                                   CouponUse.order_id == order_id, CouponUse.restored == False)  # noqa: E712
    ).first():
        raise CouponUsed(f"this coupon is already used on order {order_id!r}", field="order_id")
    coupon.uses += 1
    use = CouponUse(
        tenant_id=tenant_id, coupon_id=coupon.id, key=key, request_hash=request_hash, order_id=order_id,
        member_id=basket.member_id or coupon.member_id, discount=applied.discount, currency=basket.currency,
        restored=False, used_at=now,
    )
    session.add(use)
    session.flush()
    if order_id is not None:
        session.add(OrderPayment(
            tenant_id=tenant_id, member_id=use.member_id, order_id=order_id, method="coupon", amount=applied.discount,
            currency=basket.currency, restored=0, coupon_use_id=use.id, created_at=now,
        ))
    outbox.emit(session, tenant_id=tenant_id, type_="coupon.redeemed", member_id=use.member_id, now=now, payload={
        "coupon_id": coupon.id, "campaign_id": coupon.campaign_id, "order_id": order_id, "discount": applied.discount,
        "currency": basket.currency, "uses": coupon.uses, "max_uses": coupon.max_uses,
    })
    if coupon.redemption_id is not None and coupon.uses >= coupon.max_uses:
        session.execute(
            update(RewardRedemption)
            .where(RewardRedemption.tenant_id == tenant_id, RewardRedemption.id == coupon.redemption_id,
                   RewardRedemption.status == "issued")
            .values(status="used", updated_at=now)
        )
    session.flush()
    return Used(use, coupon, False)


def restore_use(session: Session, *, tenant_id: int, use_id: int, now: datetime) -> bool:
    """Give a coupon's use back (its whole order was returned); once only. True if it was given back."""
    use = session.execute(
        select(CouponUse).where(CouponUse.tenant_id == tenant_id, CouponUse.id == use_id)
    ).scalar_one()
    coupon = session.execute(
        select(Coupon).where(Coupon.tenant_id == tenant_id, Coupon.id == use.coupon_id).with_for_update()
    ).scalar_one()
    won = session.execute(
        update(CouponUse)
        .where(CouponUse.tenant_id == tenant_id, CouponUse.id == use_id, CouponUse.restored == False)  # noqa: E712
        .values(restored=True)
        .returning(CouponUse.id)
    ).first()
    if won is None:
        return False
    session.execute(update(Coupon).where(Coupon.tenant_id == tenant_id, Coupon.id == coupon.id).values(uses=Coupon.uses - 1))
    if coupon.redemption_id is not None:
        session.execute(
            update(RewardRedemption)
            .where(RewardRedemption.tenant_id == tenant_id, RewardRedemption.id == coupon.redemption_id,
                   RewardRedemption.status == "used")
            .values(status="issued", updated_at=now)
        )
    return True


def create_campaign(
    session: Session, *, tenant_id: int, name: str, discount: Discount, count: int, max_uses: int, prefix: str,
    length: int, valid_from: datetime | None, valid_until: datetime | None, now: datetime,
    progress: Callable[[int], None] | None = None,
) -> CouponCampaign:
    """A campaign of `count` fresh codes, inserted in batches (`progress` hears each batch's size)."""
    if valid_from and valid_until and valid_until <= valid_from:
        raise InvalidInput("valid_until must be after valid_from", field="valid_until")
    campaign = CouponCampaign(
        tenant_id=tenant_id, name=name, discount=discount.to_json(), max_uses=max_uses, prefix=prefix, code_length=length,
        valid_from=valid_from, valid_until=valid_until, codes=0, created_at=now,
    )
    session.add(campaign)
    session.flush()
    statement = insert_or_skip(session, Coupon, conflict=["tenant_id", "code"]).returning(Coupon.__table__.c.id)
    terms = discount.to_json()
    made = 0
    while made < count:
        want = min(_BATCH, count - made)
        batch = {codes.generate(length, prefix) for _ in range(want)}
        inserted = len(session.execute(statement, [
            {"tenant_id": tenant_id, "code": code, "campaign_id": campaign.id, "redemption_id": None, "member_id": None,
             "discount": terms, "max_uses": max_uses, "uses": 0, "valid_from": valid_from, "valid_until": valid_until,
             "status": "active", "created_at": now}
            for code in batch
        ]).all())
        # Codes that collided (within the batch, or with a code issued before) are drawn again.
        if progress is not None:
            progress(inserted)
        made += inserted
    campaign.codes = made
    session.flush()
    return campaign


def get_campaign_or_raise(session: Session, *, tenant_id: int, campaign_id: int) -> CouponCampaign:
    """A campaign of this tenant, or NotFound."""
    campaign = session.execute(
        select(CouponCampaign).where(CouponCampaign.tenant_id == tenant_id, CouponCampaign.id == campaign_id)
    ).scalar_one_or_none()
    if campaign is None:
        raise NotFound(f"coupon campaign {campaign_id} not found", field="campaign_id")
    return campaign


def campaign_uses(session: Session, *, tenant_id: int, campaign_id: int) -> int:
    """Uses so far over all of a campaign's codes."""
    return session.execute(
        select(func.coalesce(func.sum(Coupon.uses), 0)).where(Coupon.tenant_id == tenant_id, Coupon.campaign_id == campaign_id)
    ).scalar_one()


def campaign_codes(session: Session, *, tenant_id: int, campaign_id: int, batch: int = 10_000) -> Iterator[Any]:
    """A campaign's coupons in id order, as rows of what an export shows (code, status, uses, max_uses,
    valid_from, valid_until), read in batches: an export of a million codes stays small in memory."""
    after = 0
    while True:
        rows = session.execute(
            select(Coupon.id, Coupon.code, Coupon.status, Coupon.uses, Coupon.max_uses, Coupon.valid_from, Coupon.valid_until)
            .where(Coupon.tenant_id == tenant_id, Coupon.campaign_id == campaign_id, Coupon.id > after)
            .order_by(Coupon.id).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        after = rows[-1].id


def held_by(session: Session, *, tenant_id: int, member_id: int) -> list[Coupon]:
    """The coupons a member's redemptions issued that are still theirs to use (redemption issued)."""
    return list(session.execute(
        select(Coupon).join(RewardRedemption, RewardRedemption.coupon_id == Coupon.id).where(
            RewardRedemption.tenant_id == tenant_id, RewardRedemption.member_id == member_id, RewardRedemption.status == "issued",
        )
    ).scalars())


def csv_lines(found, now: datetime, campaign: CouponCampaign | None = None) -> Iterator[str]:
    """CSV text of coupons (of `campaign`, when they are a campaign's codes): code, status, uses, max uses, validity."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["code", "status", "uses", "max_uses", "valid_from", "valid_until"])
    for count, coupon in enumerate(found, 1):
        writer.writerow([
            coupon.code, status_of(coupon, now, campaign), coupon.uses, coupon.max_uses,
            coupon.valid_from.isoformat() if coupon.valid_from else "",
            until.isoformat() if (until := valid_until_of(coupon, campaign)) else "",
        ])
        if count % 1000 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def list_campaigns(session: Session, *, tenant_id: int, limit: int = 200) -> list[CouponCampaign]:
    """A tenant's campaigns, newest first."""
    return list(session.execute(
        select(CouponCampaign).where(CouponCampaign.tenant_id == tenant_id).order_by(CouponCampaign.id.desc()).limit(limit)
    ).scalars())
