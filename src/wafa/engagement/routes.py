"""HTTP: the referral policy (admin) and a member's referrals."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from wafa.api.deps import Context, IdPath, require
from wafa.engagement import referrals
from wafa.engagement.models import Referral
from wafa.engagement.schemas import MemberReferrals, ReferralPolicyIn, ReferralPolicyRead, ReferralRead
from wafa.members import service as members
from wafa.money import to_major
from wafa.programs import service as programs
from wafa.tenants.service import Principal

router = APIRouter(prefix="/v1", tags=["engagement"])


def _policy_read(session, tenant_id: int) -> ReferralPolicyRead:
    found = referrals.policy(session, tenant_id=tenant_id)
    currency = programs.get(session, tenant_id=tenant_id).base_currency
    return ReferralPolicyRead(
        enabled=found.enabled, referrer_points=found.referrer_points, referee_points=found.referee_points,
        referrer_reward=found.referrer_reward, referee_reward=found.referee_reward,
        min_purchase=to_major(found.min_purchase, currency), max_per_month=found.max_per_month, expire_days=found.expire_days,
        reverse_within_days=found.reverse_within_days if found.reverse_within_days is not None else 30,
        require_contact=bool(found.require_contact), link_template=found.link_template, updated_at=found.updated_at,
    )


def _read(referral: Referral) -> ReferralRead:
    return ReferralRead(
        id=referral.id, referrer_id=referral.referrer_id, referee_id=referral.referee_id, code=referral.code,
        status=referral.status, reason=referral.reason, purchase_event_id=referral.purchase_event_id,
        created_at=referral.created_at, completed_at=referral.completed_at,
    )


@router.get("/referral-policy", response_model=ReferralPolicyRead, summary="What referrals give and what completes them")
def get_policy(request: Request, principal: Principal = Depends(require("read"))) -> ReferralPolicyRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        return _policy_read(session, principal.tenant_id)


@router.put("/referral-policy", response_model=ReferralPolicyRead, summary="Set what referrals give and the limits (admin)")
def put_policy(request: Request, policy_in: ReferralPolicyIn, principal: Principal = Depends(require("admin"))) -> ReferralPolicyRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        referrals.set_policy(session, tenant_id=principal.tenant_id, policy_in=policy_in, now=ctx.now())
        return _policy_read(session, principal.tenant_id)


@router.get("/members/{member_id}/referrals", response_model=MemberReferrals,
            summary="A member's referral code, who referred them, and their referrals")
def member_referrals(request: Request, member_id: IdPath, principal: Principal = Depends(require("read"))) -> MemberReferrals:
    ctx = Context(request)
    with ctx.transaction() as session:
        member = members.get_or_raise(session, tenant_id=principal.tenant_id, member_id=member_id)
        referred_by, made = referrals.of_member(session, tenant_id=principal.tenant_id, member_id=member_id)
        return MemberReferrals(
            member_id=member_id, referral_code=member.referral_code,
            referral_link=referrals.link(session, tenant_id=principal.tenant_id, code=member.referral_code),
            referred_by=_read(referred_by) if referred_by else None,
            referrals=[_read(r) for r in made],
        )
