"""Reward redemptions: spend points (and money) on a reward and issue what it gives; grant rewards for
free (rules, full stamp cards); cancel before use, giving back the points, money and stock; ship gifts.

What a reward gives, by kind: a coupon (coupon, free_product), wallet money (cashback), a gift order
(gift), a partner's code (voucher), a privilege valid for some days (privilege).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from wafa.coalition import service as coalition
from wafa.db import rowcount
from wafa.errors import Conflict, Forbidden, InsufficientFunds, InvalidInput, NotFound, OutOfStock, RewardLocked
from wafa.ledger import service as ledger
from wafa.ledger import wallet
from wafa.members import service as members
from wafa.money import precision, to_major
from wafa.outbox import service as outbox
from wafa.programs import service as programs
from wafa.programs.service import ProgramConfig
from wafa.rewards import catalog, coupons, vouchers
from wafa.rewards.discounts import Discount
from wafa.rewards.models import Coupon, MemberStampCard, Reward, RewardRedemption
from wafa.rewards.schemas import RedemptionIn

log = logging.getLogger(__name__)


def get_or_raise(session: Session, *, tenant_id: int, redemption_id: int, lock: bool = False) -> RewardRedemption:
    """A redemption of this tenant, or NotFound."""
    query = select(RewardRedemption).where(RewardRedemption.tenant_id == tenant_id, RewardRedemption.id == redemption_id)
    if lock:
        query = query.with_for_update()
    found = session.execute(query.execution_options(populate_existing=True)).scalar_one_or_none()
    if found is None:
        raise NotFound(f"reward redemption {redemption_id} not found", field="redemption_id")
    return found


def list_for_member(session: Session, *, tenant_id: int, member_id: int, before_id: int | None, limit: int) -> list[RewardRedemption]:
    """A member's redemptions, newest first (limit + 1 rows)."""
    query = select(RewardRedemption).where(RewardRedemption.tenant_id == tenant_id, RewardRedemption.member_id == member_id)
    if before_id is not None:
        query = query.where(RewardRedemption.id < before_id)
    return list(session.execute(query.order_by(RewardRedemption.id.desc()).limit(limit + 1)).scalars())


def list_by_reward(session: Session, *, tenant_id: int, reward_id: int, limit: int = 50) -> list[RewardRedemption]:
    """A reward's latest redemptions, newest first."""
    return list(session.execute(
        select(RewardRedemption).where(RewardRedemption.tenant_id == tenant_id, RewardRedemption.reward_id == reward_id)
        .order_by(RewardRedemption.id.desc()).limit(limit)
    ).scalars())


def table_query(*, tenant_id: int, reward_id: int | None = None, status: str | None = None) -> Select:
    """Redemptions (of one reward, of a status), for a table to sort and page."""
    query = select(RewardRedemption).where(RewardRedemption.tenant_id == tenant_id)
    if reward_id is not None:
        query = query.where(RewardRedemption.reward_id == reward_id)
    if status:
        query = query.where(RewardRedemption.status == status)
    return query


def cashback_amount(points: int, *, rate: str, currency: str) -> int:
    """Wallet money (minor units) for points at a rate in major units per point, rounded down."""
    amount = int((Decimal(points) * Decimal(rate)).scaleb(precision(currency)).to_integral_value(rounding=ROUND_FLOOR))
    if amount > 10**15:
        raise InvalidInput(f"{points} points at {rate} a point come to more than a wallet holds", field="points")
    return amount


def redeem(
    session: Session, *, tenant_id: int, member_id: int, redemption_in: RedemptionIn, key: str, now: datetime,
    key_partner_id: int | None = None, price: int | None = None,
) -> tuple[RewardRedemption, bool]:
    """Spend a member's points on a reward and issue what it gives; (redemption, replayed). `price`: a
    personal offer's price in points instead of the reward's (offers/personal.py). In a
    coalition, a partner's reward pays that partner for the points (a partner's key redeems its own
    rewards only), and wallet money converted from points is paid from the points fund.

    The member's points accounts are locked first, so two redemptions by one member run one after
    the other and the per-member limit is counted under the lock.
    """
    member = members.get_or_raise(session, tenant_id=tenant_id, member_id=member_id)
    program = programs.get(session, tenant_id=tenant_id)
    if redemption_in.reward_id is not None:
        reward = catalog.get_or_raise(session, tenant_id=tenant_id, reward_id=redemption_in.reward_id)
    else:
        reward = catalog.get_by_key_or_raise(session, tenant_id=tenant_id, key=redemption_in.reward_key or "")
    coalition.own(key_partner_id, reward.partner_id)
    accounts = ledger.member_accounts(session, tenant_id=tenant_id, member_id=member_id)
    ledger.lock_accounts(session, tenant_id=tenant_id, account_ids=[accounts["available"], accounts["pending"]])
    source_key = f"points:{key}"
    earlier = _by_source_key(session, tenant_id=tenant_id, source_key=source_key)
    if earlier is not None:
        if earlier.member_id != member_id or earlier.reward_id != reward.id:
            raise Conflict("this key was used for another redemption", field="Idempotency-Key")
        return earlier, True
    points = _points_to_spend(reward, redemption_in, program) if price is None else price
    summary = ledger.summary(session, tenant_id=tenant_id, member_id=member_id, now=now) or {"available": 0}
    locked = catalog.locks(
        session, reward=reward, member=member, available_points=summary["available"], program=program, now=now, points=points,
    )
    if locked and all(lock["code"] == "stock" for lock in locked):
        raise OutOfStock(f"{reward.name_en} is out of stock", field="reward_id")
    if locked:
        raise RewardLocked(
            f"{reward.name_en}: " + "; ".join(lock["message"] for lock in locked), field="reward_id", locked=locked,
        )
    redemption = _issue(
        session, reward=reward, member_id=member_id, source="points", source_key=source_key, points=points, now=now,
        program=program, note=redemption_in.note,
    )
    if points:
        money = None
        if reward.partner_id is not None:
            partner = coalition.terms_of(session, tenant_id=tenant_id, partner_id=reward.partner_id)
            if partner.status != "active" and key_partner_id is not None:
                raise Forbidden(f"partner {partner.key!r} is {partner.status}: it records nothing until reactivated")
            if partner.status != "active":
                raise Conflict(f"{reward.name_en} is given by partner {partner.key!r}, which is {partner.status}", field="reward_id")
            money = coalition.redeem_money(session, tenant_id=tenant_id, partner=partner, points=points)
        debit = ledger.debit(
            session, tenant_id=tenant_id, member_id=member_id, points=points, kind="redeem", destination="redeemed",
            idempotency_key=f"reward:{redemption.id}", reason=f"reward: {reward.name_en}", now=now,
            block_in_debt=program.block_redemptions_in_debt,
            details={"reward_id": reward.id, "reward_key": reward.key, "reward_kind": reward.kind, "redemption_id": redemption.id},
            money=money,
        )
        redemption.points_entry_id = debit.entry_id
    if reward.money and redemption_in.pay_money_from_wallet:
        redemption.wallet_entry_id, _ = wallet.debit(
            session, tenant_id=tenant_id, member_id=member_id, amount=reward.money, currency=program.base_currency,
            idempotency_key=f"reward-money:{redemption.id}", reason=f"reward: {reward.name_en}", now=now,
            details={"reward_id": reward.id, "redemption_id": redemption.id},
        )
    if reward.kind == "cashback":
        amount = cashback_amount(points, rate=reward.config["rate"], currency=program.base_currency)
        if amount <= 0:
            raise InvalidInput(f"{points} points come to less than the smallest unit of {program.base_currency}", field="points")
        wallet.credit_cashback(
            session, tenant_id=tenant_id, member_id=member_id, amount=amount, currency=program.base_currency, pending=False,
            idempotency_key=f"reward-cashback:{redemption.id}", reason=f"reward: {reward.name_en} ({points} points)", now=now,
            details={"reward_id": reward.id, "redemption_id": redemption.id, "points": points},
            money=coalition.conversion_money(session, tenant_id=tenant_id, amount=amount, currency=program.base_currency),
        )
        redemption.wallet_amount = amount
    session.flush()
    return redemption, False


def points_asked(session: Session, *, tenant_id: int, redemption_in: RedemptionIn) -> int:
    """What a redemption would spend, before it is tried (velocity limits count it)."""
    program = programs.get(session, tenant_id=tenant_id)
    if redemption_in.reward_id is not None:
        reward = catalog.get_or_raise(session, tenant_id=tenant_id, reward_id=redemption_in.reward_id)
    else:
        reward = catalog.get_by_key_or_raise(session, tenant_id=tenant_id, key=redemption_in.reward_key or "")
    return _points_to_spend(reward, redemption_in, program)


def _points_to_spend(reward: Reward, redemption_in: RedemptionIn, program: ProgramConfig) -> int:
    """The reward's price in points; a cashback reward converts what the member asks, within the
    program's minimum and step."""
    if redemption_in.points is None:
        return reward.points
    if reward.kind != "cashback":
        raise InvalidInput(f"{reward.name_en} costs {reward.points} points; only cashback rewards take a number of points", field="points")
    points = redemption_in.points
    least = max(reward.points, program.min_redemption)
    if points < least:
        raise InvalidInput(f"convert at least {least} points", field="points")
    if points % program.redemption_step:
        raise InvalidInput(
            f"the program redeems points in steps of {program.redemption_step}: {points} is not a multiple", field="points"
        )
    return points


def _by_source_key(session: Session, *, tenant_id: int, source_key: str) -> RewardRedemption | None:
    return session.execute(
        select(RewardRedemption).where(RewardRedemption.tenant_id == tenant_id, RewardRedemption.source_key == source_key)
    ).scalar_one_or_none()


def _issue(
    session: Session, *, reward: Reward, member_id: int, source: str, source_key: str, points: int, now: datetime,
    program: ProgramConfig, note: str | None = None, event_id: int | None = None, card_id: int | None = None,
) -> RewardRedemption:
    """Record a redemption and give what the reward gives (but for cashback money: the caller pays it)."""
    counted = reward.kind != "voucher" and reward.stock_left is not None
    if counted and not catalog.take_stock(session, tenant_id=reward.tenant_id, reward_id=reward.id):
        raise OutOfStock(f"{reward.name_en} is out of stock", field="reward_id")
    redemption = RewardRedemption(
        tenant_id=reward.tenant_id, member_id=member_id, reward_id=reward.id, kind=reward.kind, source=source,
        source_key=source_key, points=points, money=reward.money, currency=program.base_currency if reward.money else None,
        status="issued", fulfilment="requested" if reward.kind == "gift" else None, note=note, event_id=event_id,
        card_id=card_id, wallet_amount=0, created_at=now, updated_at=now,
    )
    session.add(redemption)
    session.flush()
    config = reward.config
    if reward.kind in ("coupon", "free_product"):
        coupon = coupons.issue(
            session, tenant_id=reward.tenant_id, discount=Discount.from_json(config["discount"]),
            max_uses=config.get("uses", 1), valid_days=config.get("valid_days"), now=now, member_id=member_id,
            redemption_id=redemption.id,
        )
        redemption.coupon_id = coupon.id
        redemption.expires_at = coupon.valid_until
    elif reward.kind == "voucher":
        try:
            redemption.voucher_code = vouchers.hand_out(session, reward=reward, redemption_id=redemption.id)
        except OutOfStock:
            if source == "points":
                raise
            # A free grant waits for the partner's next upload rather than being lost.
            redemption.note = "awaiting a partner code"
    elif reward.kind == "privilege" and config.get("valid_days"):
        redemption.expires_at = now + timedelta(days=config["valid_days"])
    session.flush()
    outbox.emit(session, tenant_id=reward.tenant_id, type_="reward.redeemed", member_id=member_id, now=now, payload={
        "redemption_id": redemption.id, "reward_id": reward.id, "reward_key": reward.key, "kind": reward.kind, "source": source,
        "points": points, "money": reward.money, "currency": redemption.currency, "expires_at": redemption.expires_at,
        "fulfilment": redemption.fulfilment,
    })
    return redemption


def grant(
    session: Session, *, tenant_id: int, member_id: int, reward: Reward, source: str, source_key: str, now: datetime,
    event_id: int | None = None, card_id: int | None = None,
) -> RewardRedemption | None:
    """Give a member a reward for free (a rule, a full stamp card), once per source key; None when the
    reward cannot be given now (not active, outside its dates, out of stock)."""
    earlier = _by_source_key(session, tenant_id=tenant_id, source_key=source_key)
    if earlier is not None:
        return earlier
    if reward.status != "active" or (reward.valid_from is not None and now < reward.valid_from) or (
        reward.valid_until is not None and now >= reward.valid_until
    ):
        return None
    program = programs.get(session, tenant_id=tenant_id)
    try:
        redemption = _issue(
            session, reward=reward, member_id=member_id, source=source, source_key=source_key, points=0, now=now,
            program=program, event_id=event_id, card_id=card_id,
        )
    except OutOfStock:
        return None
    if reward.kind == "cashback":
        # A free cashback reward pays what its points are worth.
        amount = cashback_amount(reward.points, rate=reward.config["rate"], currency=program.base_currency)
        if amount > 0:
            wallet.credit_cashback(
                session, tenant_id=tenant_id, member_id=member_id, amount=amount, currency=program.base_currency,
                pending=False, idempotency_key=f"reward-cashback:{redemption.id}", reason=f"reward: {reward.name_en}",
                now=now, event_id=event_id, details={"reward_id": reward.id, "redemption_id": redemption.id},
                money=coalition.conversion_money(session, tenant_id=tenant_id, amount=amount, currency=program.base_currency),
            )
            redemption.wallet_amount = amount
    session.flush()
    return redemption


def cancel(
    session: Session, *, tenant_id: int, redemption_id: int, now: datetime, reason: str | None = None, by_card: bool = False
) -> RewardRedemption:
    """Undo a redemption not yet used: points, wallet money and stock go back, the coupon or code is void.

    Locks in the order every path takes them: the member's points accounts, the coupon, the redemption
    (a till using the coupon locks the coupon then the redemption; a redemption locks the accounts first).
    """
    found = get_or_raise(session, tenant_id=tenant_id, redemption_id=redemption_id)
    accounts = ledger.member_accounts(session, tenant_id=tenant_id, member_id=found.member_id)
    ledger.lock_accounts(session, tenant_id=tenant_id, account_ids=[accounts["available"], accounts["pending"]])
    coupon = None
    if found.coupon_id is not None:
        coupon = session.execute(
            select(Coupon).where(Coupon.tenant_id == tenant_id, Coupon.id == found.coupon_id)
            .with_for_update().execution_options(populate_existing=True)
        ).scalar_one()
    redemption = get_or_raise(session, tenant_id=tenant_id, redemption_id=redemption_id, lock=True)
    if redemption.status != "issued":
        raise Conflict(f"redemption {redemption_id} is {redemption.status}", redemption_status=redemption.status)
    if redemption.fulfilment in ("shipped", "delivered"):
        raise Conflict(f"the gift is already {redemption.fulfilment}", redemption_status=redemption.status)
    if redemption.expires_at is not None and now >= redemption.expires_at:
        raise Conflict(f"redemption {redemption_id} expired at {redemption.expires_at.isoformat()}", redemption_status="expired")
    reward = catalog.get_or_raise(session, tenant_id=tenant_id, reward_id=redemption.reward_id)
    label = f"reward cancelled: {reward.name_en}" + (f" ({reason})" if reason else "")
    if coupon is not None:
        if coupon.uses > 0:
            raise Conflict("the coupon has been used", redemption_status="used")
        coupon.status = "cancelled"
    if redemption.wallet_amount:
        try:
            wallet.debit(
                session, tenant_id=tenant_id, member_id=redemption.member_id, amount=redemption.wallet_amount,
                currency=programs.get(session, tenant_id=tenant_id).base_currency, idempotency_key=f"reward-cashback-back:{redemption.id}",
                reason=label, now=now, to="cashback", kind="reverse", details={"redemption_id": redemption.id},
                money=coalition.conversion_money(
                    session, tenant_id=tenant_id, amount=redemption.wallet_amount, currency=redemption_currency(session, tenant_id), sign=-1,
                ),
            )
        except InsufficientFunds:
            raise Conflict("the cashback has already been spent from the wallet", redemption_status="used") from None
    if redemption.voucher_code is not None:
        vouchers.revoke(session, tenant_id=tenant_id, redemption_id=redemption.id)
    if redemption.points_entry_id is not None and redemption.points:
        redemption.refund_entry_id = ledger.refund(
            session, tenant_id=tenant_id, member_id=redemption.member_id, debit_entry_id=redemption.points_entry_id,
            points=redemption.points, source="redeemed", idempotency_key=f"reward-refund:{redemption.id}", reason=label,
            now=now, details={"reward_id": reward.id, "reward_kind": reward.kind, "redemption_id": redemption.id},
        )
    if redemption.wallet_entry_id is not None:
        wallet.refund(
            session, tenant_id=tenant_id, member_id=redemption.member_id, amount=redemption.money,
            currency=redemption.currency or "", idempotency_key=f"reward-money-back:{redemption.id}", reason=label, now=now,
            details={"redemption_id": redemption.id}, of_entry_id=redemption.wallet_entry_id,
        )
    if reward.kind != "voucher":
        catalog.put_back_stock(session, tenant_id=tenant_id, reward_id=reward.id)
    if redemption.source == "stamp_card" and redemption.card_id is not None and not by_card:
        # Cancelled by hand: that full card is forfeited, not owed again (a return takes it back first).
        session.execute(
            update(MemberStampCard)
            .where(MemberStampCard.tenant_id == tenant_id, MemberStampCard.member_id == redemption.member_id,
                   MemberStampCard.card_id == redemption.card_id)
            .values(rewarded=MemberStampCard.rewarded - 1, forfeited=MemberStampCard.forfeited + 1)
        )
    redemption.status = "cancelled"
    redemption.cancelled_at = now
    if redemption.fulfilment is not None:
        redemption.fulfilment = "cancelled"
    redemption.updated_at = now
    session.flush()
    outbox.emit(session, tenant_id=tenant_id, type_="reward.cancelled", member_id=redemption.member_id, now=now, payload={
        "redemption_id": redemption.id, "reward_id": redemption.reward_id, "kind": redemption.kind, "points": redemption.points,
        "reason": reason,
    })
    return redemption


def revoke_grant(
    session: Session, *, tenant_id: int, source_key: str, now: datetime, reason: str, by_card: bool = False
) -> bool:
    """Cancel a free grant a return took away, if it is still unused; False if it was used (it stays)."""
    redemption = _by_source_key(session, tenant_id=tenant_id, source_key=source_key)
    if redemption is None or redemption.status != "issued":
        return False
    try:
        # A savepoint: a cancel that fails half-way (the cashback is spent) must leave nothing behind.
        with session.begin_nested():
            cancel(session, tenant_id=tenant_id, redemption_id=redemption.id, now=now, reason=reason, by_card=by_card)
    except Conflict:
        return False
    return True


def fulfil(session: Session, *, tenant_id: int, redemption_id: int, status: str, note: str | None, now: datetime) -> RewardRedemption:
    """Move a gift along: requested → shipped → delivered; cancelled before shipping gives everything back."""
    if get_or_raise(session, tenant_id=tenant_id, redemption_id=redemption_id).kind != "gift":
        raise InvalidInput(f"redemption {redemption_id} is not a gift", field="status")
    if status == "cancelled":
        return cancel(session, tenant_id=tenant_id, redemption_id=redemption_id, now=now, reason=note)
    redemption = get_or_raise(session, tenant_id=tenant_id, redemption_id=redemption_id, lock=True)
    allowed = {"shipped": ("requested",), "delivered": ("requested", "shipped")}[status]
    if redemption.status != "issued" or redemption.fulfilment not in allowed:
        raise Conflict(f"a gift that is {redemption.fulfilment} cannot become {status}", fulfilment=redemption.fulfilment)
    redemption.fulfilment = status
    if status == "delivered":
        redemption.status = "used"
    if note:
        redemption.note = note
    redemption.updated_at = now
    session.flush()
    outbox.emit(session, tenant_id=tenant_id, type_="reward.fulfilment_changed", member_id=redemption.member_id, now=now, payload={
        "redemption_id": redemption.id, "reward_id": redemption.reward_id, "fulfilment": status, "note": note,
    })
    return redemption


def use(session: Session, *, tenant_id: int, redemption_id: int, now: datetime) -> RewardRedemption:
    """Mark a privilege (or a voucher handed over in person) used, once."""
    redemption = get_or_raise(session, tenant_id=tenant_id, redemption_id=redemption_id, lock=True)
    if redemption.kind not in ("privilege", "voucher"):
        raise InvalidInput(
            f"a {redemption.kind} is used at the till (coupons) or by fulfilment (gifts), not marked by hand", field="redemption_id"
        )
    if redemption.status != "issued":
        raise Conflict(f"redemption {redemption_id} is {redemption.status}", redemption_status=redemption.status)
    if redemption.expires_at is not None and now >= redemption.expires_at:
        raise Conflict(f"redemption {redemption_id} expired at {redemption.expires_at.isoformat()}", redemption_status="expired")
    if redemption.kind == "voucher" and redemption.voucher_code is None:
        raise Conflict(f"redemption {redemption_id} is still waiting for a partner code", redemption_status="issued")
    redemption.status = "used"
    redemption.updated_at = now
    session.flush()
    return redemption


def points_by_kind(session: Session, *, tenant_id: int, start: datetime, end: datetime) -> dict[str, tuple[int, int]]:
    """Points spent on rewards in [start, end) by reward kind: (spent, given back by cancellations)."""
    out: dict[str, list[int]] = {}
    for column, slot in ((RewardRedemption.created_at, 0), (RewardRedemption.cancelled_at, 1)):
        rows = session.execute(
            select(RewardRedemption.kind, func.coalesce(func.sum(RewardRedemption.points), 0))
            .where(
                RewardRedemption.tenant_id == tenant_id, RewardRedemption.source == "points",
                RewardRedemption.points_entry_id.is_not(None), column >= start, column < end,
            )
            .group_by(RewardRedemption.kind)
        ).all()
        for kind, points in rows:
            out.setdefault(kind, [0, 0])[slot] += int(points)
    return {kind: (spent, back) for kind, (spent, back) in sorted(out.items())}


def money_of(redemption: RewardRedemption) -> str | None:
    return to_major(redemption.money, redemption.currency) if redemption.money and redemption.currency else None


def expire_unused(session: Session, *, now: datetime, tenant_id: int | None = None) -> int:
    """Mark issued privileges and coupons past their end expired; return how many."""
    done = session.execute(
        update(RewardRedemption)
        .where(
            *([RewardRedemption.tenant_id == tenant_id] if tenant_id is not None else []),
            RewardRedemption.status == "issued",
            RewardRedemption.kind.in_(("privilege", "coupon", "free_product")),
            RewardRedemption.expires_at.is_not(None), RewardRedemption.expires_at <= now,
        )
        .values(status="expired", updated_at=now)
    )
    return rowcount(done) or 0


def fill_waiting(session: Session, *, reward: Reward, now: datetime) -> int:
    """Hand freshly uploaded partner codes to free grants that were waiting for one; return how many got one."""
    if reward.kind != "voucher":
        return 0
    waiting = session.execute(
        select(RewardRedemption).where(
            RewardRedemption.tenant_id == reward.tenant_id, RewardRedemption.reward_id == reward.id,
            RewardRedemption.status == "issued", RewardRedemption.voucher_code.is_(None),
        # A return may be cancelling one of these grants now: skip it rather than wait on (or deadlock with) it.
        ).order_by(RewardRedemption.id).with_for_update(skip_locked=True)
    ).scalars().all()
    filled = 0
    for redemption in waiting:
        try:
            redemption.voucher_code = vouchers.hand_out(session, reward=reward, redemption_id=redemption.id)
        except OutOfStock:
            break
        redemption.note = None
        redemption.updated_at = now
        filled += 1
    session.flush()
    return filled


def counts_by_member(session: Session, *, tenant_id: int, since: datetime, until: datetime) -> dict[int, int]:
    """Member -> rewards received in [since, until) (a campaign's lift counts them)."""
    rows = session.execute(
        select(RewardRedemption.member_id, func.count())
        .where(RewardRedemption.tenant_id == tenant_id, RewardRedemption.created_at >= since, RewardRedemption.created_at < until)
        .group_by(RewardRedemption.member_id)
    )
    return {int(m): int(n) for m, n in rows}


def redemption_currency(session: Session, tenant_id: int) -> str:
    """The currency reward money and cashback are in: the program's base currency."""
    return programs.get(session, tenant_id=tenant_id).base_currency
