"""Wallet money and coupons used on an order, and what a return of that order gives back.

Under the program's `return_restores` policy "proportional" (the default), a return gives back
the returned share of the wallet money paid, cumulatively (many partial returns never give back
more than one whole return would), and a coupon's use once the whole order has come back; the
coupon's discount on the kept part stays the merchant's. Under "none" a return restores neither:
the merchant refunds in cash. Every restoration is recorded against the payment, so nothing is
refunded twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from wafa.ledger import wallet
from wafa.money import to_major
from wafa.programs import earning
from wafa.rewards import coupons
from wafa.rewards.models import Coupon, CouponUse, OrderPayment


def _share(amount: int, returned: int, total: int, whole: bool) -> int:
    """The part of a payment a return of `returned` of `total` (cumulative) gives back."""
    if whole:
        return amount
    if total <= 0:
        return 0  # a free order gives wallet money back only when all of it comes back
    return earning.proportional_share(amount, min(returned, total), total)


def record_wallet(
    session: Session, *, tenant_id: int, member_id: int, order_id: str, amount: int, currency: str, entry_id: int, now: datetime
) -> None:
    """Note that wallet money paid (part of) an order, so its return can give it back."""
    session.add(OrderPayment(
        tenant_id=tenant_id, member_id=member_id, order_id=order_id, method="wallet", amount=amount, currency=currency,
        restored=0, wallet_entry_id=entry_id, created_at=now,
    ))
    session.flush()


def restore_for_return(
    session: Session, *, tenant_id: int, order_id: str, returned: int, total: int, whole: bool, policy: str,
    return_event_id: int, now: datetime,
) -> list[dict[str, Any]]:
    """Give back what the order's payments are owed after a return of `returned` of `total` (cumulative)."""
    payments = session.execute(
        select(OrderPayment).where(OrderPayment.tenant_id == tenant_id, OrderPayment.order_id == order_id)
        .order_by(OrderPayment.id).with_for_update()
    ).scalars().all()
    done: list[dict[str, Any]] = []
    for payment in payments:
        if policy == "none":
            # The merchant settles this share in cash: recorded as settled, so a later return under
            # another policy gives back only what is left.
            if payment.method == "wallet":
                payment.restored = max(payment.restored, _share(payment.amount, returned, total, whole))
            elif whole:
                payment.restored = payment.amount
            continue
        if payment.method == "wallet" and payment.member_id is not None:
            target = _share(payment.amount, returned, total, whole)
            give = target - payment.restored
            if give <= 0:
                continue
            wallet.refund(
                session, tenant_id=tenant_id, member_id=payment.member_id, amount=give, currency=payment.currency,
                idempotency_key=f"wallet-refund:{payment.id}:{return_event_id}",
                reason=f"return on order {order_id}: wallet payment given back", now=now, event_id=return_event_id,
                details={"order_id": order_id, "payment_id": payment.id}, of_entry_id=payment.wallet_entry_id,
            )
            payment.restored = target
            done.append({"method": "wallet", "amount": to_major(give, payment.currency), "currency": payment.currency})
        # Not merged with the `if` below (SIM102): that call restores the use, an action kept out of the branch's test.
        elif payment.method == "coupon" and whole and payment.restored == 0 and payment.coupon_use_id is not None:  # noqa: SIM102
            if coupons.restore_use(session, tenant_id=tenant_id, use_id=payment.coupon_use_id, now=now):
                payment.restored = payment.amount
                code = session.execute(
                    select(Coupon.code).join(CouponUse, CouponUse.coupon_id == Coupon.id)
                    .where(CouponUse.tenant_id == tenant_id, CouponUse.id == payment.coupon_use_id)
                ).scalar_one()
                done.append({"method": "coupon", "code": code, "amount": to_major(payment.amount, payment.currency),
                             "currency": payment.currency})
    session.flush()
    return done
