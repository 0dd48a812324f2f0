"""HTTP: enrol, read, search, update, suspend, reactivate and close members; read a card; and, from
privacy_routes, export, erase and the consent history."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request

from wafa.api.deps import Context, IdPath, decode_cursor, paginate, require
from wafa.bus import dispatch
from wafa.bus.messages import MemberEnrolled
from wafa.coalition import service as coalition
from wafa.engagement import leaderboard
from wafa.errors import NotFound
from wafa.events import member_events
from wafa.members import privacy, privacy_routes, service
from wafa.members.schemas import Consent, MemberCreate, MemberPage, MemberRead, MemberUpdate, StatusChange
from wafa.memberships import service as memberships
from wafa.programs import service as programs
from wafa.tenants.service import Principal

router = APIRouter(prefix="/v1", tags=["members"])


@router.post("/members", status_code=201, response_model=MemberRead, summary="Enrol a member")
def create_member(
    request: Request, member_in: MemberCreate, principal: Principal = Depends(require("members:write"))
) -> MemberRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        region = programs.get(session, tenant_id=principal.tenant_id).default_region
        partner = coalition.attribute(
            session, tenant_id=principal.tenant_id, key_partner_id=principal.partner_id, named=member_in.partner, store=None,
        )
        member = service.create(
            session, tenant_id=principal.tenant_id, member_in=member_in, region=region, now=ctx.now(), actor=f"api key {principal.key_id}",
            partner_id=partner.id if partner is not None else None,
        )
        # Welcome and profile bonuses and the referral, in the same transaction: enrolled means rewarded.
        dispatch.publish(session, MemberEnrolled(
            principal.tenant_id, member.id, ctx.now(), referral_code=member_in.referral_code, member=member,
        ))
        return service.to_read(member)


@router.get("/members", response_model=MemberPage, summary="Search members by external id, e-mail or phone")
def search_members(
    request: Request,
    external_id: str | None = Query(None, max_length=128),
    email: str | None = Query(None, max_length=254),
    phone: str | None = Query(None, max_length=32),
    cursor: str | None = Query(None, max_length=200),
    limit: int = Query(50, ge=1, le=200),
    principal: Principal = Depends(require("read")),
) -> MemberPage:
    ctx = Context(request)
    with ctx.transaction() as session:
        region = programs.get(session, tenant_id=principal.tenant_id).default_region
        found = service.search(
            session, tenant_id=principal.tenant_id, region=region, external_id=external_id, email=email, phone=phone,
            after_id=decode_cursor(cursor), limit=limit + 1,
        )
        items, next_cursor = paginate(found, limit, service.to_read)
        return MemberPage(items=items, next_cursor=next_cursor)


@router.get("/members/{member_id}", response_model=MemberRead, summary="Read a member")
def get_member(request: Request, member_id: IdPath, principal: Principal = Depends(require("read"))) -> MemberRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        return service.to_read(service.get_or_raise(session, tenant_id=principal.tenant_id, member_id=member_id))


@router.patch("/members/{member_id}", response_model=MemberRead, summary="Change a member's profile")
def update_member(
    request: Request, member_id: IdPath, member_in: MemberUpdate, principal: Principal = Depends(require("members:write"))
) -> MemberRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        region = programs.get(session, tenant_id=principal.tenant_id).default_region
        member = service.update_profile(
            session, tenant_id=principal.tenant_id, member_id=member_id, member_in=member_in, region=region, now=ctx.now(),
            actor=f"api key {principal.key_id}",
        )
        member_events.profile_changed(session, tenant_id=principal.tenant_id, member=member, now=ctx.now())
        return service.to_read(member)


def _status_route(action: str, summary: str):
    def change(
        request: Request, member_id: IdPath, change_in: StatusChange, principal: Principal = Depends(require("members:write"))
    ) -> MemberRead:
        ctx = Context(request)
        with ctx.transaction() as session:
            if action == "close":
                # A debt is written off in the ledger, on purpose, or the member stays open.
                privacy.write_off_debts(session, tenant_id=principal.tenant_id, member_id=member_id, write_off=change_in.write_off_debt,
                                        reason=f"debt written off: member closed ({change_in.reason})"[:500], now=ctx.now(),
                                        actor=f"api key {principal.key_id}")
            member = service.change_status(
                session, tenant_id=principal.tenant_id, member_id=member_id, action=action, reason=change_in.reason, now=ctx.now()
            )
            if action == "close":
                # A closed member pays for nothing more.
                memberships.end_for_member(session, tenant_id=principal.tenant_id, member_id=member_id, now=ctx.now())
            if action in ("close", "suspend"):
                # Off the leaderboards; a member reactivated may opt in again.
                leaderboard.withdraw(session, tenant_id=principal.tenant_id, member_id=member_id, now=ctx.now())
            return service.to_read(member)

    change.__name__ = f"{action}_member"
    router.add_api_route(f"/members/{{member_id}}/{action}", change, methods=["POST"], response_model=MemberRead, summary=summary)


_status_route("suspend", "Suspend a member: no earning or spending until reactivated")
_status_route("reactivate", "Reactivate a suspended member")
_status_route("close", "Close a member for good")


@router.get("/cards/{token}", response_model=MemberRead, summary="Find the member a scanned card belongs to")
def get_card(request: Request, token: str, principal: Principal = Depends(require("read", partners_read=True))) -> MemberRead:
    """A coalition partner's key (a till scanning the card) gets the member's id, external id, name, status
    and card only: their e-mail, phone, birth date, city and consent are the operator's to keep."""
    ctx = Context(request)
    with ctx.transaction() as session:
        member = service.get_by_card_token(session, tenant_id=principal.tenant_id, token=token)
        if member is None:
            raise NotFound("no member carries this card")
        found = service.to_read(member)
        if principal.partner_id is not None:
            found = found.model_copy(update={"email": None, "phone": None, "birth_date": None, "city": None, "consent": Consent()})
        return found


# Export, erasure and the consent history (their router has no prefix of its own: it takes /v1 from here).
router.include_router(privacy_routes.router)
