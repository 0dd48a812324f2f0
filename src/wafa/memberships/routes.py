"""HTTP: membership plans (admin), subscribing, payments reported by the shop, cancelling."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import Response

from wafa.api.deps import Context, IdPath, require, run_idempotent
from wafa.errors import InvalidInput
from wafa.events.idempotency import check_key, request_hash
from wafa.members import service as members
from wafa.memberships import service
from wafa.memberships.models import Membership, Plan
from wafa.memberships.schemas import (
    CancelIn,
    ChangePlanIn,
    LogRead,
    MembershipHistory,
    MembershipPage,
    MembershipRead,
    PaymentIn,
    PaymentRead,
    PlanIn,
    PlanPage,
    PlanRead,
    PlanUpdate,
    SubscribeIn,
)
from wafa.money import to_major
from wafa.tenants.service import Principal

router = APIRouter(prefix="/v1", tags=["memberships"])
IdempotencyKey = Header(None, alias="Idempotency-Key", description="the payment provider's event id makes a good key")


def _plan_read(plan: Plan) -> PlanRead:
    return PlanRead(
        id=plan.id, key=plan.key, name={"en": plan.name_en, "ar": plan.name_ar}, interval=plan.interval,
        price=to_major(plan.price, plan.currency), currency=plan.currency, trial_days=plan.trial_days,
        grace_days=plan.grace_days, benefits=dict(plan.benefits or {}), status=plan.status, created_at=plan.created_at,
    )


def _read(session, membership: Membership) -> MembershipRead:
    return MembershipRead(
        id=membership.id, member_id=membership.member_id, plan=_plan_read(service.plan_of(session, membership)),
        status=membership.status, period_start=membership.period_start, period_end=membership.period_end,
        grace_until=membership.grace_until, cancel_at_period_end=membership.cancel_at_period_end,
        next_plan=service.next_plan_key(session, membership), ended_at=membership.ended_at, created_at=membership.created_at,
    )


@router.post("/membership-plans", status_code=201, response_model=PlanRead, summary="Put a membership plan on sale (admin)")
def create_plan(request: Request, plan_in: PlanIn, principal: Principal = Depends(require("admin"))) -> PlanRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        return _plan_read(service.create_plan(session, tenant_id=principal.tenant_id, plan_in=plan_in, now=ctx.now()))


@router.get("/membership-plans", response_model=PlanPage, summary="The membership plans")
def list_plans(request: Request, principal: Principal = Depends(require("read"))) -> PlanPage:
    ctx = Context(request)
    with ctx.transaction() as session:
        return PlanPage(items=[_plan_read(plan) for plan in service.list_plans(session, tenant_id=principal.tenant_id)])


@router.patch("/membership-plans/{plan_id}", response_model=PlanRead, summary="Rename a plan, change its benefits or archive it (admin)")
def update_plan(request: Request, plan_id: IdPath, plan_in: PlanUpdate, principal: Principal = Depends(require("admin"))) -> PlanRead:
    """Price and interval stay: members agreed to them (put a new plan on sale instead)."""
    ctx = Context(request)
    with ctx.transaction() as session:
        return _plan_read(service.update_plan(session, tenant_id=principal.tenant_id, plan_id=plan_id, plan_in=plan_in))


@router.get("/memberships/{membership_id}/history", response_model=MembershipHistory, summary="A membership's payments and log")
def membership_history(request: Request, membership_id: IdPath, principal: Principal = Depends(require("read"))) -> MembershipHistory:
    ctx = Context(request)
    with ctx.transaction() as session:
        payments, log = service.history(session, tenant_id=principal.tenant_id, membership_id=membership_id)
        return MembershipHistory(
            membership_id=membership_id,
            payments=[{
                "id": p.id, "status": p.status, "amount": to_major(p.amount, p.currency), "currency": p.currency,
                "provider_ref": p.provider_ref, "period_start": p.period_start, "period_end": p.period_end, "created_at": p.created_at,
            } for p in payments],
            log=[LogRead(id=entry.id, type=entry.type, details=entry.details, at=entry.at) for entry in log],
        )


@router.post("/members/{member_id}/memberships", status_code=201, response_model=MembershipRead, summary="Subscribe a member to a plan")
def subscribe(
    request: Request, member_id: IdPath, subscribe_in: SubscribeIn, principal: Principal = Depends(require("members:write"))
) -> MembershipRead:
    """Trialing if the plan has a trial; otherwise incomplete until the first payment is reported."""
    ctx = Context(request)
    with ctx.transaction() as session:
        membership = service.subscribe(session, tenant_id=principal.tenant_id, member_id=member_id, plan_key=subscribe_in.plan, now=ctx.now())
        return _read(session, membership)


@router.get("/members/{member_id}/memberships", response_model=MembershipPage, summary="A member's memberships, newest first")
def member_memberships(request: Request, member_id: IdPath, principal: Principal = Depends(require("read"))) -> MembershipPage:
    ctx = Context(request)
    with ctx.transaction() as session:
        members.get_or_raise(session, tenant_id=principal.tenant_id, member_id=member_id)
        return MembershipPage(items=[_read(session, m) for m in service.of_member(session, tenant_id=principal.tenant_id, member_id=member_id)])


@router.get("/memberships/{membership_id}", response_model=MembershipRead, summary="Read a membership")
def get_membership(request: Request, membership_id: IdPath, principal: Principal = Depends(require("read"))) -> MembershipRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        return _read(session, service.get_or_raise(session, tenant_id=principal.tenant_id, membership_id=membership_id))


@router.post("/memberships/{membership_id}/payments", status_code=201, response_model=PaymentRead,
             summary="Report a payment from the payment provider")
def report_payment(
    request: Request, membership_id: IdPath, payment_in: PaymentIn, principal: Principal = Depends(require("members:write")),
    idempotency_key: str | None = IdempotencyKey,
) -> Response:
    """A paid payment starts or renews the period; a failed one is recorded (the renewal stays due).
    The same Idempotency-Key (or provider_ref) is the same payment."""
    ctx = Context(request)
    if idempotency_key is not None:
        key = f"key:{check_key(idempotency_key)}"
    elif payment_in.provider_ref:
        # A failed attempt and its paid retry may share the provider's reference: they are two reports.
        key = f"ref:{payment_in.status}:{payment_in.provider_ref}"
    else:
        raise InvalidInput("send an Idempotency-Key or the provider's reference, so a retry is not paid twice", field="provider_ref")
    replayed = False

    def work(session):
        nonlocal replayed
        payment, replayed = service.record_payment(
            session, tenant_id=principal.tenant_id, membership_id=membership_id, key=key, payment_in=payment_in, now=ctx.now(),
        )
        membership = service.get_or_raise(session, tenant_id=principal.tenant_id, membership_id=membership_id)
        return PaymentRead(
            id=payment.id, membership=_read(session, membership), status=payment.status,
            amount=to_major(payment.amount, payment.currency), currency=payment.currency, provider_ref=payment.provider_ref,
            period_start=payment.period_start, period_end=payment.period_end, created_at=payment.created_at,
        )

    fingerprint = request_hash("POST", request.url.path, payment_in.model_dump(mode="json"))
    return run_idempotent(
        ctx, principal=principal, key=idempotency_key, fingerprint=fingerprint, status_code=201, work=work,
        status_for=lambda: 200 if replayed else 201,
    )


@router.post("/memberships/{membership_id}/cancel", response_model=MembershipRead, summary="Cancel a membership, at the period's end or now")
def cancel(request: Request, membership_id: IdPath, cancel_in: CancelIn, principal: Principal = Depends(require("members:write"))) -> MembershipRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        return _read(session, service.cancel(
            session, tenant_id=principal.tenant_id, membership_id=membership_id, at_period_end=cancel_in.at_period_end, now=ctx.now(),
        ))


@router.post("/memberships/{membership_id}/change-plan", response_model=MembershipRead, summary="Move a membership to another plan")
def change_plan(
    request: Request, membership_id: IdPath, change_in: ChangePlanIn, principal: Principal = Depends(require("members:write"))
) -> MembershipRead:
    """From the next paid period (the renewal is charged at the new plan's price and interval), or now
    (the new plan's benefits at once; the paid period stays as it is). Wafa never charges: a price
    difference for the rest of the period is the shop's to settle."""
    ctx = Context(request)
    with ctx.transaction() as session:
        return _read(session, service.change_plan(
            session, tenant_id=principal.tenant_id, membership_id=membership_id, plan_key=change_in.plan, when=change_in.when,
            now=ctx.now(),
        ))
