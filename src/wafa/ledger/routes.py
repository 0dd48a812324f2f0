"""HTTP: balances, history, redemptions, holds (capture, void), adjustments, the wallet, the liability report."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import Response
from pydantic import AwareDatetime

from wafa.api.deps import Context, IdPath, decode_cursor, fingerprinted, paginate, require, run_idempotent, scoped_key
from wafa.coalition import service as coalition
from wafa.errors import Forbidden, InvalidInput, NotFound
from wafa.events import service as events
from wafa.events.idempotency import request_hash
from wafa.ledger import liability, wallet
from wafa.ledger import service as ledger
from wafa.ledger.models import Hold
from wafa.ledger.schemas import (
    AdjustmentIn,
    AdjustmentRead,
    BalanceRead,
    CaptureIn,
    EntryPage,
    EntryRead,
    Expiring,
    HoldIn,
    HoldRead,
    LiabilityRead,
    PointsValue,
    RedemptionIn,
    RedemptionRead,
    WalletCurrency,
    WalletDebitIn,
    WalletDebitRead,
    WalletEntryPage,
    WalletEntryRead,
    WalletRead,
)
from wafa.members import service as members
from wafa.money import precision, to_major, to_minor
from wafa.programs import earning
from wafa.programs import service as programs
from wafa.rewards import payments, redemptions
from wafa.tenants.service import Principal
from wafa.trust import reviews, velocity
from wafa.trust.schemas import ReviewRead

router = APIRouter(prefix="/v1", tags=["ledger"])
IdempotencyKey = Header(None, alias="Idempotency-Key", description="repeats with the same key return the first result")


def _hold_read(hold: Hold) -> HoldRead:
    return HoldRead(
        id=hold.id, member_id=hold.member_id, points=hold.points, captured_points=hold.captured_points,
        status=hold.status, reason=hold.reason, created_at=hold.created_at,
        expires_at=hold.expires_at, resolved_at=hold.resolved_at,
    )


# Fields that are there only when they say something (a wallet's debt) are left out, not sent as null.
@router.get("/members/{member_id}/balance", response_model=BalanceRead, response_model_exclude_none=True, summary="A member's points now")
def get_balance(request: Request, member_id: IdPath, principal: Principal = Depends(require("read", partners_read=True))) -> BalanceRead:
    ctx = Context(request)
    with ctx.reading() as session:
        found = ledger.summary(session, tenant_id=principal.tenant_id, member_id=member_id, now=ctx.now())
        if found is None:
            raise NotFound(f"member {member_id} not found", field="member_id")
        program = programs.get(session, tenant_id=principal.tenant_id)
        owed = wallet.debts(session, tenant_id=principal.tenant_id, member_id=member_id)
    return BalanceRead(
        member_id=member_id,
        available=found["available"],
        pending=found["pending"],
        held=found["held"],
        debt=max(0, -found["available"]),
        wallet_debt=owed or None,
        expiring=Expiring(days_30=found["expiring_30"], days_60=found["expiring_60"], days_90=found["expiring_90"]),
        points_name={"en": program.points_name_en, "ar": program.points_name_ar},
    )


@router.get(
    "/members/{member_id}/wallet", response_model=WalletRead, response_model_exclude_none=True,
    summary="A member's wallet: cashback money by currency",
)
def get_wallet(request: Request, member_id: IdPath, principal: Principal = Depends(require("read"))) -> WalletRead:
    ctx = Context(request)
    with ctx.reading() as session:
        members.get_or_raise(session, tenant_id=principal.tenant_id, member_id=member_id)
        found = wallet.balances(session, tenant_id=principal.tenant_id, member_id=member_id)
    return WalletRead(
        member_id=member_id,
        currencies=[
            WalletCurrency(currency=currency, available=to_major(money["available"], currency), pending=to_major(money["pending"], currency),
                           debt=-money["available"] if money["available"] < 0 else None)
            for currency, money in found.items()
        ],
    )


@router.post(
    "/members/{member_id}/wallet/debits", status_code=201, response_model=WalletDebitRead,
    summary="Pay with wallet money at a till or in a shop",
    responses={202: {"model": ReviewRead, "description": "past a velocity limit: held for review, carried out if approved"}},
)
def debit_wallet(
    request: Request,
    member_id: IdPath,
    debit_in: WalletDebitIn,
    principal: Principal = Depends(require("redeem")),
    idempotency_key: str | None = IdempotencyKey,
) -> Response:
    """Never overdraws, also under concurrent requests; a repeat with the same Idempotency-Key pays once."""
    ctx = Context(request)
    currency = debit_in.currency.upper()
    held = {"status": 201}

    def work(session):
        member = members.get_or_raise(session, tenant_id=principal.tenant_id, member_id=member_id)
        members.require_active(member)
        amount = to_minor(debit_in.amount, currency)
        review = velocity.held_request(
            session, tenant_id=principal.tenant_id, action="wallet_debit", now=ctx.now(), value=amount,
            subjects=velocity.Subjects(member=member_id, key=principal.key_id),
            request={"amount": amount, "currency": currency, "reason": debit_in.reason, "order_id": debit_in.order_id,
                     "partner": debit_in.partner, "partner_id": principal.partner_id},
        )
        if review is not None:
            held["status"] = 202
            return reviews.to_read(review)
        at = coalition.attribute(session, tenant_id=principal.tenant_id, key_partner_id=principal.partner_id, named=debit_in.partner, store=None)
        money = coalition.spend_money(session, tenant_id=principal.tenant_id, partner=at, amount=amount, currency=currency) if at else None
        entry_id, left = wallet.debit(
            session, tenant_id=principal.tenant_id, member_id=member_id, amount=amount, currency=currency,
            idempotency_key=f"wallet-debit:{scoped_key(principal, idempotency_key) if idempotency_key else uuid.uuid4().hex}",
            reason=debit_in.reason, now=ctx.now(), money=money,
        )
        if debit_in.order_id is not None:
            # A partner's order ids are kept in its namespace (`cafe:1`), as its purchases are.
            order_id = events.partner_order_id(at, debit_in.order_id) if at is not None else debit_in.order_id
            payments.record_wallet(
                session, tenant_id=principal.tenant_id, member_id=member_id, order_id=order_id, amount=amount,
                currency=currency, entry_id=entry_id, now=ctx.now(),
            )
        return WalletDebitRead(
            entry_id=entry_id, member_id=member_id, amount=to_major(amount, currency), currency=currency,
            available=to_major(left, currency),
        )

    fingerprint = request_hash("POST", request.url.path, fingerprinted(debit_in))
    return run_idempotent(
        ctx, principal=principal, key=idempotency_key, fingerprint=fingerprint, status_code=201, work=work, status_for=lambda: held["status"],
    )


@router.get("/members/{member_id}/wallet/entries", response_model=WalletEntryPage, summary="A member's wallet statement")
def list_wallet_entries(
    request: Request,
    member_id: IdPath,
    currency: str | None = Query(None, min_length=3, max_length=3),
    cursor: str | None = Query(None, max_length=200),
    limit: int = Query(50, ge=1, le=200),
    principal: Principal = Depends(require("read")),
) -> WalletEntryPage:
    ctx = Context(request)
    with ctx.transaction() as session:
        members.get_or_raise(session, tenant_id=principal.tenant_id, member_id=member_id)
        rows = wallet.entries(
            session, tenant_id=principal.tenant_id, member_id=member_id, currency=currency.upper() if currency else None,
            before_id=decode_cursor(cursor), limit=limit,
        )

    def read(row):
        entry, unit, available, pending = row
        return WalletEntryRead(
            id=entry.id, kind=entry.kind, currency=unit, available=to_major(available, unit), pending=to_major(pending, unit),
            reason=entry.reason, event_id=entry.event_id, created_at=entry.created_at,
        )

    items, next_cursor = paginate(rows, limit, read)
    return WalletEntryPage(items=items, next_cursor=next_cursor)


@router.get("/members/{member_id}/entries", response_model=EntryPage, summary="A member's history, newest first")
def list_entries(
    request: Request,
    member_id: IdPath,
    cursor: str | None = Query(None, max_length=200),
    limit: int = Query(50, ge=1, le=200),
    principal: Principal = Depends(require("read")),
) -> EntryPage:
    ctx = Context(request)
    with ctx.transaction() as session:
        members.get_or_raise(session, tenant_id=principal.tenant_id, member_id=member_id)
        rows = ledger.list_entries(
            session, tenant_id=principal.tenant_id, member_id=member_id, before_id=decode_cursor(cursor), limit=limit + 1
        )
        found = coalition.config(session, tenant_id=principal.tenant_id)
        keys = {partner_id: terms.key for partner_id, terms in found.partners.items()} if found is not None else {}
        items, next_cursor = paginate(rows, limit, lambda e: EntryRead(
            id=e.id, kind=e.kind, points=e.points, reason=e.reason, event_id=e.event_id, details=e.details,
            partner=keys.get(e.partner_id) if e.partner_id is not None else None, created_at=e.created_at,
        ))
        return EntryPage(items=items, next_cursor=next_cursor)


def _held_spend(session, principal: Principal, member_id: int, points: int, reason: str, partner: str | None, now):
    """A spend of points (now, or a till's hold) past a velocity limit on redemptions: queued for review as a
    redemption of those points, carried out if approved (a hold would have lapsed by then)."""
    return velocity.held_request(
        session, tenant_id=principal.tenant_id, action="redeem", now=now, value=points,
        subjects=velocity.Subjects(member=member_id, key=principal.key_id),
        request={"points": points, "reason": reason, "partner": partner, "partner_id": principal.partner_id},
    )


def _spendable(session, principal: Principal, member_id: IdPath, points: int):
    member = members.get_or_raise(session, tenant_id=principal.tenant_id, member_id=member_id)
    members.require_active(member)
    program = programs.get(session, tenant_id=principal.tenant_id)
    if points < program.min_redemption:
        raise InvalidInput(f"the program's minimum redemption is {program.min_redemption} points", field="points")
    if points % program.redemption_step:
        raise InvalidInput(
            f"the program redeems points in steps of {program.redemption_step}: {points} is not a multiple", field="points"
        )
    return program


@router.post("/members/{member_id}/redemptions", status_code=201, response_model=RedemptionRead, summary="Spend points now",
    responses={202: {"model": ReviewRead, "description": "past a velocity limit: held for review, carried out if approved"}},
)
def redeem(
    request: Request,
    member_id: IdPath,
    redemption_in: RedemptionIn,
    principal: Principal = Depends(require("redeem")),
    idempotency_key: str | None = IdempotencyKey,
) -> Response:
    ctx = Context(request)
    held = {"status": 201}

    def work(session):
        program = _spendable(session, principal, member_id, redemption_in.points)
        review = _held_spend(session, principal, member_id, redemption_in.points, redemption_in.reason, redemption_in.partner, ctx.now())
        if review is not None:
            held["status"] = 202
            return reviews.to_read(review)
        at = coalition.attribute(
            session, tenant_id=principal.tenant_id, key_partner_id=principal.partner_id, named=redemption_in.partner, store=None,
        )
        money = coalition.redeem_money(session, tenant_id=principal.tenant_id, partner=at, points=redemption_in.points) if at else None
        debit = ledger.debit(
            session, tenant_id=principal.tenant_id, member_id=member_id, points=redemption_in.points, kind="redeem",
            destination="redeemed", idempotency_key=f"redeem:{scoped_key(principal, idempotency_key) if idempotency_key else uuid.uuid4().hex}",
            reason=redemption_in.reason, now=ctx.now(), block_in_debt=program.block_redemptions_in_debt, money=money,
        )
        return RedemptionRead(entry_id=debit.entry_id, member_id=member_id, points=debit.points, balance=debit.balance_after)

    fingerprint = request_hash("POST", request.url.path, fingerprinted(redemption_in))
    return run_idempotent(
        ctx, principal=principal, key=idempotency_key, fingerprint=fingerprint, status_code=201, work=work, status_for=lambda: held["status"],
    )


@router.post("/members/{member_id}/holds", status_code=201, response_model=HoldRead, summary="Reserve points at a till",
    responses={202: {"model": ReviewRead, "description": "past a velocity limit: held for review, carried out if approved"}},
)
def create_hold(
    request: Request,
    member_id: IdPath,
    hold_in: HoldIn,
    principal: Principal = Depends(require("redeem")),
    idempotency_key: str | None = IdempotencyKey,
) -> Response:
    """The points leave the available balance now; capture spends them, void (or the lapse after the
    program's hold time, 15 minutes by default) gives them back."""
    ctx = Context(request)

    held = {"status": 201}

    def work(session):
        program = _spendable(session, principal, member_id, hold_in.points)
        review = _held_spend(session, principal, member_id, hold_in.points, hold_in.reason, hold_in.partner, ctx.now())
        if review is not None:
            held["status"] = 202
            return reviews.to_read(review)
        at = coalition.attribute(session, tenant_id=principal.tenant_id, key_partner_id=principal.partner_id, named=hold_in.partner, store=None)
        hold = ledger.hold(
            session, tenant_id=principal.tenant_id, member_id=member_id, points=hold_in.points, reason=hold_in.reason,
            now=ctx.now(), ttl_seconds=program.hold_ttl_seconds, block_in_debt=program.block_redemptions_in_debt,
            partner_id=at.id if at is not None else None,
        )
        return _hold_read(hold)

    fingerprint = request_hash("POST", request.url.path, fingerprinted(hold_in))
    return run_idempotent(
        ctx, principal=principal, key=idempotency_key, fingerprint=fingerprint, status_code=201, work=work, status_for=lambda: held["status"],
    )


@router.get("/holds/{hold_id}", response_model=HoldRead, summary="Read a hold")
def get_hold(request: Request, hold_id: IdPath, principal: Principal = Depends(require("read"))) -> HoldRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        return _hold_read(ledger.get_hold_or_raise(session, tenant_id=principal.tenant_id, hold_id=hold_id))


def _resolve_route(action: str, summary: str):
    def resolve(
        request: Request,
        hold_id: IdPath,
        capture_in: CaptureIn | None = None,
        principal: Principal = Depends(require("redeem")),
        idempotency_key: str | None = IdempotencyKey,
    ) -> Response:
        ctx = Context(request)
        points = capture_in.points if capture_in is not None else None
        if action == "void" and points is not None:
            raise InvalidInput("a void gives back the whole hold; omit points", field="points")

        def work(session):
            step = programs.get(session, tenant_id=principal.tenant_id).redemption_step
            if points is not None and points % step:
                raise InvalidInput(f"the program redeems points in steps of {step}: capture a multiple", field="points")
            partner_id = ledger.partner_of_hold(session, tenant_id=principal.tenant_id, hold_id=hold_id)
            coalition.own(principal.partner_id, partner_id)  # a partner's till resolves its own holds only
            money = None
            if partner_id is not None and action == "capture":
                current = ledger.get_hold_or_raise(session, tenant_id=principal.tenant_id, hold_id=hold_id)
                at = coalition.terms_of(session, tenant_id=principal.tenant_id, partner_id=partner_id)
                if at.status != "active":
                    raise Forbidden(f"partner {at.key!r} is {at.status}: its holds can be voided, not captured")
                money = coalition.redeem_money(
                    session, tenant_id=principal.tenant_id, partner=at, points=points if points is not None else current.points,
                )
            hold = ledger.resolve_hold(
                session, tenant_id=principal.tenant_id, hold_id=hold_id, action=action, now=ctx.now(), points=points, money=money,
            )
            return _hold_read(hold)

        fingerprint = request_hash("POST", request.url.path, {"points": points})
        return run_idempotent(ctx, principal=principal, key=idempotency_key, fingerprint=fingerprint, status_code=200, work=work)

    resolve.__name__ = f"{action}_hold"
    router.add_api_route(
        f"/holds/{{hold_id}}/{action}", resolve, methods=["POST"], response_model=HoldRead, summary=summary,
        responses={409: {"description": "the hold is already resolved or has lapsed"}},
    )


_resolve_route("capture", "Spend held points (all, or part with the rest given back), exactly once")
_resolve_route("void", "Give held points back, exactly once")


@router.post(
    "/members/{member_id}/adjustments", status_code=201, response_model=AdjustmentRead, summary="Credit or debit by hand (admin)",
    responses={202: {"model": ReviewRead, "description": "a credit past a velocity limit: credited held, for review"}},
)
def adjust(
    request: Request,
    member_id: IdPath,
    adjustment_in: AdjustmentIn,
    principal: Principal = Depends(require("admin")),
    idempotency_key: str | None = IdempotencyKey,
) -> Response:
    ctx = Context(request)
    now = ctx.now()
    held = {"status": 201}

    def work(session):
        members.get_or_raise(session, tenant_id=principal.tenant_id, member_id=member_id)
        program = programs.get(session, tenant_id=principal.tenant_id)
        if adjustment_in.points < 0 and adjustment_in.expires_at is not None:
            raise InvalidInput("expires_at applies to credits only", field="expires_at")
        if adjustment_in.expires_at is not None and adjustment_in.expires_at <= now:
            raise InvalidInput("expires_at must be in the future", field="expires_at")
        expires_at = adjustment_in.expires_at or earning.expires_at(
            now, policy=program.expiry_policy, periods=program.expiry_periods, timezone=program.timezone
        )
        entry_key = f"adjust:{idempotency_key or uuid.uuid4().hex}"
        review = velocity.held_credit(
            session, tenant_id=principal.tenant_id, member_id=member_id, points=adjustment_in.points, reason=adjustment_in.reason,
            idempotency_key=entry_key, now=now, expires_at=expires_at, actor=f"api-key:{principal.key_id}", key_id=principal.key_id,
        )
        if review is not None:
            held["status"] = 202
            return reviews.to_read(review)
        entry_id = ledger.adjust(
            session, tenant_id=principal.tenant_id, member_id=member_id, points=adjustment_in.points,
            reason=adjustment_in.reason, idempotency_key=entry_key, now=now,
            expires_at=expires_at, actor=f"api-key:{principal.key_id}",
        )
        balance = ledger.balances(session, tenant_id=principal.tenant_id, member_id=member_id)["available"]
        return AdjustmentRead(entry_id=entry_id, member_id=member_id, points=adjustment_in.points, balance=balance)

    fingerprint = request_hash("POST", request.url.path, adjustment_in.model_dump(mode="json"))
    return run_idempotent(
        ctx, principal=principal, key=idempotency_key, fingerprint=fingerprint, status_code=201, work=work, status_for=lambda: held["status"],
    )


@router.get("/reports/liability", response_model=LiabilityRead, summary="The liability of points outstanding, and the period's flows")
def get_liability(
    request: Request,
    period_from: AwareDatetime | None = Query(None, alias="from", description="default: 30 days ago"),
    period_to: AwareDatetime | None = Query(None, alias="to", description="default: now"),
    principal: Principal = Depends(require("read")),
) -> LiabilityRead:
    ctx = Context(request)
    end = period_to or ctx.now()
    start = period_from or end - timedelta(days=30)
    if start >= end:
        raise InvalidInput("from must be before to", field="from")
    with ctx.transaction() as session:
        program = programs.get(session, tenant_id=principal.tenant_id)
        found = liability.report(session, tenant_id=principal.tenant_id, start=start, end=end)
        on_rewards = redemptions.points_by_kind(session, tenant_id=principal.tenant_id, start=start, end=end)
    by_type = dict(found.redeemed_by_type)
    # The ledger sees reward redemptions as redemptions and their cancellations as reversals; the
    # reward records say which kind of reward each was.
    if on_rewards:
        by_type["points redemption"] = by_type.get("points redemption", 0) - sum(spent for spent, _ in on_rewards.values())
        by_type["reverse"] = by_type.get("reverse", 0) + sum(back for _, back in on_rewards.values())
        for kind, (spent, back) in on_rewards.items():
            by_type[f"reward: {kind}"] = spent - back
    by_type = {name: points for name, points in sorted(by_type.items()) if points}
    currency = program.base_currency
    cost = Decimal(program.point_cost)

    def worth(points: int) -> PointsValue:
        if cost == 0:
            return PointsValue(points=points, value=None)
        return PointsValue(points=points, value=to_major(int((points * cost * 10 ** precision(currency)).to_integral_value(ROUND_HALF_UP)), currency))

    return LiabilityRead(
        as_of=ctx.now(), period_from=start, period_to=end, currency=currency, point_cost=program.point_cost,
        available=worth(found.available), pending=worth(found.pending), held=worth(found.held),
        outstanding=worth(found.outstanding), debt=found.debt,
        breakage_rate=f"{float(found.breakage_rate):.4f}" if found.breakage_rate is not None else None,
        expected_breakage=worth(found.expected_breakage) if found.expected_breakage is not None else None,
        issued=found.issued, reversed=found.reversed, expired=found.expired, adjusted=found.adjusted,
        redeemed_by_type={name: worth(points) for name, points in by_type.items()},
    )
