"""HTTP: a member's data rights: export everything held about them, erase their personal data, read their
consent history page by page. Mounted on the members router."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Body, Depends, Header, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from wafa.api.deps import Context, IdPath, decode_cursor, paginate, require, run_idempotent
from wafa.events.idempotency import request_hash
from wafa.members import privacy
from wafa.members import service as members
from wafa.members.models import ConsentChange
from wafa.members.privacy_schemas import ConsentChangePage, ConsentChangeRead, ErasureIn, ErasureRead, MemberExport
from wafa.tenants import audit
from wafa.tenants.service import Principal

router = APIRouter(tags=["members"])  # included by members.routes, under its /v1

ZIP = "application/zip"


@router.get(
    "/members/{member_id}/export", response_model=None, summary="Export everything held about a member (admin)",
    responses={200: {"model": MemberExport, "description": "JSON, or with format=zip a zip of one CSV per section and the JSON",
                     "content": {ZIP: {"schema": {"type": "string", "format": "binary"}}}}},
)
def export_member(
    request: Request, member_id: IdPath,
    format_: Literal["json", "zip"] | None = Query(
        None, alias="format", description="json (the default) or zip; without it, `Accept: application/zip` asks for the zip",
    ),
    accept: str | None = Header(None, include_in_schema=False),
    principal: Principal = Depends(require("admin")),
) -> Response:
    """The member's right of access: their profile, consent history, ledger (entries, their postings, lots,
    holds, balances, wallet), events, rewards and coupons, tier, memberships, referrals, achievements, survey
    answers, the messages sent to them, segments and portal sign-ins, read one query per table. Recorded in
    the audit trail (who, when, which member)."""
    ctx = Context(request)
    zipped = format_ == "zip" or (format_ is None and ZIP in (accept or ""))
    with ctx.transaction() as session:
        data = privacy.export(session, tenant_id=principal.tenant_id, member_id=member_id, now=ctx.now())
        # A bulk read of one person's data: recorded as the console's exports are (one row).
        audit.record(session, tenant_id=principal.tenant_id, user_id=None, actor=f"api key {principal.key_id}", action="member.exported",
                     target=f"member:{member_id}", details={"format": "zip" if zipped else "json", "via": "api"}, now=ctx.now())
    if zipped:
        return Response(privacy.as_zip(data), media_type=ZIP, headers={
            "Content-Disposition": f'attachment; filename="member-{member_id}.zip"', "Cache-Control": "no-store"})
    return Response(privacy.as_json(data), media_type="application/json", headers={"Cache-Control": "no-store"})


@router.post("/members/{member_id}/erase", response_model=ErasureRead, summary="Erase a member's personal data for good (admin)")
def erase_member(
    request: Request, member_id: IdPath, erasure_in: ErasureIn | None = Body(None), principal: Principal = Depends(require("admin")),
    idempotency_key: str | None = Header(None, alias="Idempotency-Key", description="repeats with the same key return the first result"),
) -> Response:
    """The member's right to erasure: their profile, contact details, free texts and message contents go; the
    member stays, closed, so the ledger still balances. Refused (409 balance-outstanding) while they hold
    points or money, or owe some, unless the body says to forfeit or write them off; repeating it answers
    the first erasure (`already_erased`)."""
    ctx = Context(request)
    asked = erasure_in or ErasureIn()

    def work(session: Session) -> ErasureRead:
        done = privacy.erase(
            session, tenant_id=principal.tenant_id, member_id=member_id, now=ctx.now(), via="api", actor=f"api key {principal.key_id}",
            forfeit_balance=asked.forfeit_balance, write_off_debt=asked.write_off_debt,
        )
        return ErasureRead(
            member_id=member_id, erased_at=done.erased_at, already_erased=done.already, forfeited_points=done.forfeited_points,
            written_off_points=done.written_off_points, forfeited_money=done.forfeited_money, written_off_money=done.written_off_money,
        )

    fingerprint = request_hash("POST", request.url.path, asked.model_dump(mode="json"))
    return run_idempotent(ctx, principal=principal, key=idempotency_key, fingerprint=fingerprint, status_code=200, work=work)


def consent_read(change: ConsentChange) -> ConsentChangeRead:
    return ConsentChangeRead(id=change.id, channel=change.channel, granted=change.granted, source=change.source, actor=change.actor, at=change.at)


@router.get("/members/{member_id}/consents", response_model=ConsentChangePage, summary="A member's consent history, newest first")
def consent_history(
    request: Request, member_id: IdPath, cursor: str | None = Query(None, max_length=200), limit: int = Query(50, ge=1, le=200),
    principal: Principal = Depends(require("read")),
) -> ConsentChangePage:
    """Each change of consent per channel: when, where (api, console, portal, import, unsubscribe link,
    erasure) and by whom; never changed or deleted."""
    ctx = Context(request)
    with ctx.transaction() as session:
        members.get_or_raise(session, tenant_id=principal.tenant_id, member_id=member_id)
        found = members.consent_history(session, tenant_id=principal.tenant_id, member_id=member_id, before_id=decode_cursor(cursor),
                                        limit=limit + 1)
        items, next_cursor = paginate(found, limit, consent_read)
        return ConsentChangePage(items=items, next_cursor=next_cursor)
