"""Members in the console: search, a profile with balance, lots, history, tier, achievements and
referrals; adjust points with a reason; suspend and reactivate."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response

from wafa.analytics import segments
from wafa.analytics.rfm import SEGMENTS
from wafa.api.deps import Context, IdPath
from wafa.engagement import member_achievements, referrals
from wafa.errors import WafaError
from wafa.ledger import service as ledger
from wafa.ledger import wallet
from wafa.members import service as members
from wafa.programs import earning
from wafa.programs import service as programs
from wafa.rewards import redemptions
from wafa.tiers.reads import member_tier
from wafa.web import sessions
from wafa.web.admin.auth import PATH, Admin, changing_admin, current_admin
from wafa.web.history import explain
from wafa.web.pages import redirect, render

router = APIRouter(prefix=PATH, include_in_schema=False)


@router.get("/members")
def search(request: Request, q: str = Query("", max_length=200), admin: Admin = Depends(current_admin)) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        region = programs.get(session, tenant_id=admin.tenant_id).default_region
        if q.strip():
            found = members.find(session, tenant_id=admin.tenant_id, text=q, region=region, limit=50)
        else:
            found = members.find_recent(session, tenant_id=admin.tenant_id, limit=50)
    # One member found by an exact id, e-mail or phone: straight to the profile.
    if q.strip() and len(found) == 1 and request.headers.get("hx-request") != "true":
        return redirect(f"{PATH}/members/{found[0].id}")
    template = "admin/members_rows.html" if request.headers.get("hx-request") == "true" else "admin/members.html"
    return render(request, template, lang=admin.lang, me=admin, section="members", q=q, found=found)


def profile_data(session, *, admin: Admin, member_id: int, now) -> dict:  # type: ignore[no-untyped-def]
    tenant_id = admin.tenant_id
    member = members.get_or_raise(session, tenant_id=tenant_id, member_id=member_id)
    program = programs.get(session, tenant_id=tenant_id)
    entries = ledger.list_entries(session, tenant_id=tenant_id, member_id=member_id, before_id=None, limit=50)
    referred_by, referred = referrals.of_member(session, tenant_id=tenant_id, member_id=member_id)
    return {
        "member": member,
        "program": program,
        "balance": ledger.summary(session, tenant_id=tenant_id, member_id=member_id, now=now),
        "lots": ledger.open_lots(session, tenant_id=tenant_id, member_id=member_id, limit=50),
        "wallet": wallet.balances(session, tenant_id=tenant_id, member_id=member_id),
        "history": explain(session, tenant_id=tenant_id, entries=entries, lang=admin.lang),
        "tier": member_tier(session, tenant_id, member_id, now),
        "achievements": member_achievements.of_member(session, tenant_id=tenant_id, member_id=member_id, now=now),
        "referred_by": referred_by,
        "referred": referred,
        "rfm": segments.of_member(session, tenant_id=tenant_id, member_id=member_id),
        "redemptions": redemptions.list_for_member(session, tenant_id=tenant_id, member_id=member_id, before_id=None, limit=20),
        "rfm_names": SEGMENTS,
        "request_id": uuid.uuid4().hex,
        "now": now,
    }


@router.get("/members/{member_id}")
def profile(request: Request, member_id: IdPath, done: str | None = Query(None, max_length=32), admin: Admin = Depends(current_admin)) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        data = profile_data(session, admin=admin, member_id=member_id, now=ctx.now())
    return render(request, "admin/member.html", lang=admin.lang, me=admin, section="members", done=done, error=None, **data)


def _refuse(request: Request, admin: Admin, member_id: int, error: WafaError) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        data = profile_data(session, admin=admin, member_id=member_id, now=ctx.now())
    return render(request, "admin/member.html", lang=admin.lang, me=admin, section="members", done=None, error=error, status=error.status, **data)


@router.post("/members/{member_id}/adjust")
def adjust(
    request: Request, member_id: IdPath, points: int = Form(..., ge=-10**9, le=10**9), reason: str = Form(..., min_length=1, max_length=500),
    request_id: str = Form("", max_length=64), admin: Admin = Depends(changing_admin),
) -> Response:
    """Credit (positive) or debit (negative) by hand. The form's request id makes a double submit post once."""
    ctx = Context(request)
    now = ctx.now()
    key = f"adjust:web:{request_id or uuid.uuid4().hex}"
    try:
        with ctx.transaction() as session:
            members.get_or_raise(session, tenant_id=admin.tenant_id, member_id=member_id)
            if ledger.has_entry(session, tenant_id=admin.tenant_id, idempotency_key=key):
                return redirect(f"{PATH}/members/{member_id}?done=adjusted")
            program = programs.get(session, tenant_id=admin.tenant_id)
            expires_at = earning.expires_at(now, policy=program.expiry_policy, periods=program.expiry_periods, timezone=program.timezone)
            entry_id = ledger.adjust(
                session, tenant_id=admin.tenant_id, member_id=member_id, points=points, reason=reason.strip(),
                idempotency_key=key, now=now, expires_at=expires_at if points > 0 else None, actor=admin.email,
            )
            admin.record(session, request, action="member.points_adjusted", target=f"member:{member_id}",
                         details={"points": points, "reason": reason.strip(), "entry_id": entry_id}, now=now)
    except WafaError as exc:
        return _refuse(request, admin, member_id, exc)
    return redirect(f"{PATH}/members/{member_id}?done=adjusted")


@router.post("/members/{member_id}/status")
def change_status(
    request: Request, member_id: IdPath, action: str = Form(..., pattern="^(suspend|reactivate)$"),
    reason: str = Form("", max_length=500), admin: Admin = Depends(changing_admin),
) -> Response:
    ctx = Context(request)
    try:
        with ctx.transaction() as session:
            members.change_status(session, tenant_id=admin.tenant_id, member_id=member_id, action=action, reason=reason.strip() or None, now=ctx.now())
            if action == "suspend":
                # A suspended member is signed out of the portal everywhere.
                sessions.end_all(session, kind="member", tenant_id=admin.tenant_id, subject_id=member_id)
            admin.record(session, request, action=f"member.{action}ed" if action == "suspend" else "member.reactivated",
                         target=f"member:{member_id}", details={"reason": reason.strip()}, now=ctx.now())
    except WafaError as exc:
        return _refuse(request, admin, member_id, exc)
    return redirect(f"{PATH}/members/{member_id}?done={action}")
