"""HTTP: the tier policy and tiers (admin), a member's tier with progress, setting one by hand, history."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import select

from wafa.api.deps import Context, IdPath, decode_cursor, paginate, require
from wafa.members import service as members
from wafa.programs import service as programs
from wafa.tenants.service import Principal
from wafa.tiers import service
from wafa.tiers.models import Tier, TierChange
from wafa.tiers.reads import member_tier, tier_read
from wafa.tiers.schemas import (
    MemberTierRead,
    TierChangeRead,
    TierHistoryPage,
    TierIn,
    TierPage,
    TierPolicyIn,
    TierPolicyRead,
    TierRead,
    TierSetIn,
    TierUpdate,
)

router = APIRouter(prefix="/v1", tags=["tiers"])




def _policy_read(found) -> TierPolicyRead:
    return TierPolicyRead(
        metric=found.metric, window=found.window, months=found.months, grace_days=found.grace_days, max_drop=found.max_drop,
        updated_at=found.updated_at,
    )


@router.get("/tier-policy", response_model=TierPolicyRead, summary="How members qualify for tiers")
def get_policy(request: Request, principal: Principal = Depends(require("read"))) -> TierPolicyRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        return _policy_read(service.policy(session, tenant_id=principal.tenant_id))


@router.put("/tier-policy", response_model=TierPolicyRead, summary="Set how members qualify for tiers (admin)")
def put_policy(request: Request, policy_in: TierPolicyIn, principal: Principal = Depends(require("admin"))) -> TierPolicyRead:
    """The metric (points earned, money spent, purchases), the window (rolling months or the calendar
    year), the grace period and how many tiers a review may drop."""
    ctx = Context(request)
    with ctx.transaction() as session:
        return _policy_read(service.set_policy(session, tenant_id=principal.tenant_id, policy_in=policy_in, now=ctx.now()))


@router.post("/tiers", status_code=201, response_model=TierRead, summary="Add a tier (admin)")
def create_tier(request: Request, tier_in: TierIn, principal: Principal = Depends(require("admin"))) -> TierRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        tier = service.create(session, tenant_id=principal.tenant_id, tier_in=tier_in, now=ctx.now())
        metric = service.policy(session, tenant_id=principal.tenant_id).metric
        return tier_read(tier, metric=metric, currency=programs.get(session, tenant_id=principal.tenant_id).base_currency)


@router.get("/tiers", response_model=TierPage, summary="The tiers, lowest first")
def list_tiers(request: Request, principal: Principal = Depends(require("read"))) -> TierPage:
    ctx = Context(request)
    with ctx.transaction() as session:
        metric = service.policy(session, tenant_id=principal.tenant_id).metric
        currency = programs.get(session, tenant_id=principal.tenant_id).base_currency
        found = session.execute(select(Tier).where(Tier.tenant_id == principal.tenant_id).order_by(Tier.rank)).scalars()
        return TierPage(items=[tier_read(tier, metric=metric, currency=currency) for tier in found])


@router.patch("/tiers/{tier_id}", response_model=TierRead, summary="Change a tier's names, threshold or benefits (admin)")
def update_tier(request: Request, tier_id: IdPath, tier_in: TierUpdate, principal: Principal = Depends(require("admin"))) -> TierRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        tier = service.update(session, tenant_id=principal.tenant_id, tier_id=tier_id, tier_in=tier_in, now=ctx.now())
        metric = service.policy(session, tenant_id=principal.tenant_id).metric
        return tier_read(tier, metric=metric, currency=programs.get(session, tenant_id=principal.tenant_id).base_currency)


@router.get("/members/{member_id}/tier", response_model=MemberTierRead, summary="A member's tier, how long it is secured, and the way to the next")
def getmember_tier(request: Request, member_id: IdPath, principal: Principal = Depends(require("read"))) -> MemberTierRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        members.get_or_raise(session, tenant_id=principal.tenant_id, member_id=member_id)
        return member_tier(session, principal.tenant_id, member_id, ctx.now())


@router.post("/members/{member_id}/tier", response_model=MemberTierRead, summary="Set a member's tier by hand, as a floor until a date (admin)")
def setmember_tier(request: Request, member_id: IdPath, set_in: TierSetIn, principal: Principal = Depends(require("admin"))) -> MemberTierRead:
    """Reviews never put the member below this tier before `until`; `{"tier": null}` lifts the floor."""
    ctx = Context(request)
    with ctx.transaction() as session:
        members.get_or_raise(session, tenant_id=principal.tenant_id, member_id=member_id)
        service.set_by_hand(
            session, tenant_id=principal.tenant_id, member_id=member_id, tier_key=set_in.tier, reason=set_in.reason,
            until=set_in.until, now=ctx.now(), actor=f"API key {principal.key_id}",
        )
        return member_tier(session, principal.tenant_id, member_id, ctx.now())


@router.get("/members/{member_id}/tier-history", response_model=TierHistoryPage, summary="A member's tier changes, newest first")
def tier_history(
    request: Request, member_id: IdPath, cursor: str | None = Query(None, max_length=200), limit: int = Query(50, ge=1, le=200),
    principal: Principal = Depends(require("read")),
) -> TierHistoryPage:
    ctx = Context(request)
    with ctx.transaction() as session:
        members.get_or_raise(session, tenant_id=principal.tenant_id, member_id=member_id)
        metric = service.policy(session, tenant_id=principal.tenant_id).metric
        currency = programs.get(session, tenant_id=principal.tenant_id).base_currency
        keys = dict(session.execute(select(Tier.id, Tier.key).where(Tier.tenant_id == principal.tenant_id)).all())
        query = select(TierChange).where(TierChange.tenant_id == principal.tenant_id, TierChange.member_id == member_id)
        before = decode_cursor(cursor)
        if before is not None:
            query = query.where(TierChange.id < before)
        rows = list(session.execute(query.order_by(TierChange.id.desc()).limit(limit + 1)).scalars())
        items, next_cursor = paginate(rows, limit, lambda c: TierChangeRead(
            id=c.id, from_tier=keys.get(c.from_tier_id), to_tier=keys.get(c.to_tier_id), cause=c.cause,
            value=service.format_value(c.metric_value, metric=metric, currency=currency) if c.metric_value is not None else None,
            reason=c.reason, at=c.at,
        ))
        return TierHistoryPage(items=items, next_cursor=next_cursor)
