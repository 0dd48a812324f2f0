"""The review queue: actions held past a velocity limit (trust/velocity.py), approved or rejected by a person.

- Held earnings and adjustments were credited as held points. Approving gives them the pending window they
  would have had (released at once if it is over); rejecting reverses them: a held purchase is returned in
  full (its points, cashback and rule awards come back exactly as a return takes them), a held adjustment
  is clawed back.
- A held redemption or wallet debit is only its request. Approving carries it out as it would have been
  (if the member can no longer pay, the review ends `failed`, with why); rejecting drops it.

Each decision happens once (the review row is locked, and only a held review is decided) and is audited by
the caller, in the same transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from wafa.coalition import service as coalition
from wafa.errors import Conflict, InvalidInput, NotFound, WafaError
from wafa.events import awards
from wafa.events import returns as event_returns
from wafa.events import service as event_service
from wafa.events.schemas import ReturnIn
from wafa.ledger import service as ledger
from wafa.ledger import wallet
from wafa.money import to_major
from wafa.programs import service as programs
from wafa.rewards import payments, redemptions
from wafa.rewards.schemas import RedemptionIn
from wafa.trust import velocity
from wafa.trust.models import Review
from wafa.trust.schemas import ReviewRead, VelocityLimit


def table_query(*, tenant_id: int, status: str | None = None, member_id: int | None = None) -> Select:
    query = select(Review).where(Review.tenant_id == tenant_id)
    if status is not None:
        query = query.where(Review.status == status)
    if member_id is not None:
        query = query.where(Review.member_id == member_id)
    return query


def list_(
    session: Session, *, tenant_id: int, status: str | None, before_id: int | None, limit: int, member_id: int | None = None,
) -> list[Review]:
    """Newest first."""
    query = table_query(tenant_id=tenant_id, status=status, member_id=member_id)
    if before_id is not None:
        query = query.where(Review.id < before_id)
    return list(session.execute(query.order_by(Review.id.desc()).limit(limit)).scalars())


def get_or_raise(session: Session, *, tenant_id: int, review_id: int, lock: bool = False) -> Review:
    query = select(Review).where(Review.tenant_id == tenant_id, Review.id == review_id)
    if lock:
        query = query.with_for_update()
    review = session.execute(query.execution_options(populate_existing=True)).scalar_one_or_none()
    if review is None:
        raise NotFound(f"review {review_id} not found")
    return review


def to_read(review: Review) -> ReviewRead:
    return ReviewRead(
        id=review.id, action=review.action, member_id=review.member_id, status=review.status,
        limit=VelocityLimit(**review.breached), observed=review.observed, value=review.value, subjects=review.subjects,
        event_id=review.event_id, order_id=review.order_id, entry_id=review.entry_id, request=review.request,
        outcome=review.outcome, created_at=review.created_at, decided_at=review.decided_at, decided_by=review.decided_by,
        note=review.note,
    )


def _decide(session: Session, *, tenant_id: int, review_id: int) -> Review:
    review = get_or_raise(session, tenant_id=tenant_id, review_id=review_id, lock=True)
    if review.status != "held":
        raise Conflict(f"review {review_id} is already {review.status}", review_status=review.status)
    return review


def _close(review: Review, *, status: str, outcome: dict[str, Any], actor: str, note: str | None, now: datetime) -> Review:
    review.status, review.outcome, review.decided_by, review.decided_at, review.note = status, outcome, actor, now, note
    return review


def approve(session: Session, *, tenant_id: int, review_id: int, actor: str, note: str | None, now: datetime) -> Review:
    """Let a held action through: held points get their pending window back, a held request is carried out."""
    review = _decide(session, tenant_id=tenant_id, review_id=review_id)
    if review.action in ("earn", "adjust"):
        return _close(review, status="approved", outcome=_release(session, review, now=now), actor=actor, note=note, now=now)
    try:
        with session.begin_nested():  # a request that can no longer be carried out leaves nothing behind
            outcome = _carry_out(session, review, now=now)
    except WafaError as exc:
        return _close(review, status="failed", outcome={"problem": f"/problems/{exc.slug}", "detail": exc.detail}, actor=actor, note=note, now=now)
    return _close(review, status="approved", outcome=outcome, actor=actor, note=note, now=now)


def reject(session: Session, *, tenant_id: int, review_id: int, actor: str, note: str | None, now: datetime) -> Review:
    """Refuse a held action: held points are reversed, a held request is dropped."""
    review = _decide(session, tenant_id=tenant_id, review_id=review_id)
    outcome: dict[str, Any] = {"dropped": True}
    if review.action == "earn" and review.order_id is not None:
        outcome = _return_purchase(session, review, now=now)
    elif review.action == "adjust" and review.lot_id is not None:
        # Held points are pending, so nothing spent them: what is left is what the credit gave.
        points = ledger.points_left(session, tenant_id=tenant_id, lot_id=review.lot_id)
        outcome = {"points_reversed": points}
        if points:
            debit = ledger.claw_back(
                session, tenant_id=tenant_id, member_id=review.member_id, points=points, lot_id=review.lot_id,
                idempotency_key=f"review:{review.id}:reject", reason=f"adjustment rejected in review {review.id}", now=now,
                reverses_entry_id=review.entry_id, details={"review_id": review.id, "actor": actor},
            )
            outcome["entry_id"] = debit.entry_id
    return _close(review, status="rejected", outcome=outcome, actor=actor, note=note, now=now)


def _release(session: Session, review: Review, *, now: datetime) -> dict[str, Any]:
    """Give held points (and an earning's held cashback) the pending window they would have had."""
    due = review.available_at or now
    released = cashback = 0
    if review.lot_id is not None:
        released = ledger.reschedule_lot(session, tenant_id=review.tenant_id, lot_id=review.lot_id, available_at=due, now=now)
    if review.event_id is not None:
        cashback = awards.reschedule_held_cashback(
            session, tenant_id=review.tenant_id, event_id=review.event_id, held_from=velocity.HELD_FROM, available_at=due, now=now,
        )
    return {"available_at": due.isoformat(), "points_released": released, "cashback_released": cashback}


def _return_purchase(session: Session, review: Review, *, now: datetime) -> dict[str, Any]:
    """Reverse a held purchase's points, cashback and rule awards as a whole return of the order does."""
    assert review.order_id is not None
    try:
        with session.begin_nested():
            result = event_returns.record_return(
                session, tenant_id=review.tenant_id, now=now,
                event_in=ReturnIn(type="return", order_id=review.order_id, return_id=f"review-{review.id}"),
            )
    except (Conflict, InvalidInput) as exc:  # returned in full already: nothing is left to reverse
        return {"points_reversed": 0, "detail": exc.detail}
    reversal = result.reversal
    return {"return_event_id": result.event_id, "points_reversed": reversal.total_points if reversal is not None else 0}


def _carry_out(session: Session, review: Review, *, now: datetime) -> dict[str, Any]:
    """A held redemption or wallet debit, carried out now as it was asked."""
    request = review.request or {}
    tenant_id, member_id = review.tenant_id, review.member_id
    if review.action == "redeem" and "points" in request:  # a spend of points (now, or a till's hold)
        program = programs.get(session, tenant_id=tenant_id)
        at = coalition.attribute(session, tenant_id=tenant_id, key_partner_id=request.get("partner_id"), named=request.get("partner"), store=None)
        points = int(request["points"])
        debit = ledger.debit(
            session, tenant_id=tenant_id, member_id=member_id, points=points, kind="redeem", destination="redeemed",
            idempotency_key=f"review:{review.id}", reason=str(request.get("reason") or f"approved in review {review.id}"), now=now,
            block_in_debt=program.block_redemptions_in_debt,
            money=coalition.redeem_money(session, tenant_id=tenant_id, partner=at, points=points) if at else None,
        )
        return {"entry_id": debit.entry_id, "points": debit.points, "balance": debit.balance_after}
    if review.action == "redeem":
        redemption, _ = redemptions.redeem(
            session, tenant_id=tenant_id, member_id=member_id, redemption_in=RedemptionIn(**request["body"]),
            key=f"review:{review.id}", now=now, key_partner_id=request.get("partner_id"),
        )
        return {"redemption_id": redemption.id, "points": redemption.points}
    amount, currency = int(request["amount"]), str(request["currency"])
    at = coalition.attribute(session, tenant_id=tenant_id, key_partner_id=request.get("partner_id"), named=request.get("partner"), store=None)
    money = coalition.spend_money(session, tenant_id=tenant_id, partner=at, amount=amount, currency=currency) if at else None
    entry_id, left = wallet.debit(
        session, tenant_id=tenant_id, member_id=member_id, amount=amount, currency=currency, idempotency_key=f"review:{review.id}",
        reason=str(request.get("reason") or f"wallet debit approved in review {review.id}"), now=now, money=money,
    )
    if request.get("order_id"):
        order_id = str(request["order_id"])
        payments.record_wallet(
            session, tenant_id=tenant_id, member_id=member_id, order_id=event_service.partner_order_id(at, order_id) if at else order_id,
            amount=amount, currency=currency, entry_id=entry_id, now=now,
        )
    return {"entry_id": entry_id, "amount": to_major(amount, currency), "currency": currency, "available": to_major(left, currency)}
