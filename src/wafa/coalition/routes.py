"""HTTP: the coalition (PUT/GET /v1/coalition), partners, their stores and keys, exchanges of their own
points, settlements and statements (JSON, CSV, PDF), and the flows report across partners."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import Response
from pydantic import AwareDatetime

from wafa.api.deps import Context, IdPath, decode_cursor, encode_cursor, paginate, require, run_idempotent, scoped_key
from wafa.coalition import exchanges, exports, reads, service, settlement
from wafa.coalition.schemas import (
    CoalitionIn,
    CoalitionRead,
    ExchangeIn,
    ExchangeRead,
    FlowRead,
    FlowsRead,
    PartnerIn,
    PartnerKeyIn,
    PartnerPage,
    PartnerRead,
    PartnerUpdate,
    SettlementIn,
    SettlementRead,
    StatementPage,
    StoreIn,
    StoreRead,
)
from wafa.errors import InvalidInput, NotFound
from wafa.events.idempotency import request_hash
from wafa.ledger import money as ledger_money
from wafa.tenants import service as tenants
from wafa.tenants.schemas import ApiKeyCreated
from wafa.tenants.service import Principal

router = APIRouter(prefix="/v1", tags=["coalition"])


def _own(principal: Principal, partner_id: int | None) -> None:
    """A partner's key sees its own partner only: anything else is not found."""
    if principal.partner_id is not None and principal.partner_id != partner_id:
        raise NotFound("not found")


@router.put("/coalition", response_model=CoalitionRead, summary="Run the program as a coalition, or change its settings")
def put_coalition(request: Request, coalition_in: CoalitionIn, principal: Principal = Depends(require("admin"))) -> CoalitionRead:
    """The tenant becomes the operator of a coalition: partners join it and share its points."""
    ctx = Context(request)
    with ctx.transaction() as session:
        found = service.configure(session, tenant_id=principal.tenant_id, coalition_in=coalition_in, now=ctx.now())
        return CoalitionRead(
            breakage_policy=found.breakage_policy, partners=service.count_partners(session, tenant_id=principal.tenant_id),
            created_at=found.created_at, updated_at=found.updated_at,
        )


@router.get("/coalition", response_model=CoalitionRead, summary="The coalition's settings")
def get_coalition(request: Request, principal: Principal = Depends(require("read"))) -> CoalitionRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        found = service.get_settings(session, tenant_id=principal.tenant_id)
        if found is None:
            raise NotFound("this program is not a coalition")
        return CoalitionRead(
            breakage_policy=found.breakage_policy, partners=service.count_partners(session, tenant_id=principal.tenant_id),
            created_at=found.created_at, updated_at=found.updated_at,
        )


@router.post("/partners", status_code=201, response_model=PartnerRead, summary="Add a partner to the coalition")
def create_partner(request: Request, partner_in: PartnerIn, principal: Principal = Depends(require("admin"))) -> PartnerRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        partner = service.create(session, tenant_id=principal.tenant_id, partner_in=partner_in, now=ctx.now())
        return reads.partner_read(session, partner)


@router.get("/partners", response_model=PartnerPage, summary="The coalition's partners")
def list_partners(
    request: Request, cursor: str | None = Query(None, max_length=200), limit: int = Query(50, ge=1, le=200),
    principal: Principal = Depends(require("read")),
) -> PartnerPage:
    ctx = Context(request)
    with ctx.transaction() as session:
        rows = service.list_(session, tenant_id=principal.tenant_id, after_id=decode_cursor(cursor), limit=limit)
        items, next_cursor = paginate(rows, limit, lambda p: reads.partner_read(session, p))
        return PartnerPage(items=items, next_cursor=next_cursor)


@router.get("/partners/{partner_id}", response_model=PartnerRead, summary="A partner, its terms and stores")
def get_partner(request: Request, partner_id: IdPath, principal: Principal = Depends(require("read", partners_read=True))) -> PartnerRead:
    _own(principal, partner_id)
    ctx = Context(request)
    with ctx.transaction() as session:
        return reads.partner_read(session, service.get_or_raise(session, tenant_id=principal.tenant_id, partner_id=partner_id))


@router.patch("/partners/{partner_id}", response_model=PartnerRead, summary="Change a partner's name, status or terms")
def update_partner(
    request: Request, partner_id: IdPath, partner_in: PartnerUpdate, principal: Principal = Depends(require("admin")),
) -> PartnerRead:
    """New terms apply to what happens from now on; what was posted keeps the terms it was posted with."""
    ctx = Context(request)
    with ctx.transaction() as session:
        partner = service.update(session, tenant_id=principal.tenant_id, partner_id=partner_id, partner_in=partner_in, now=ctx.now())
        return reads.partner_read(session, partner)


@router.post("/partners/{partner_id}/stores", status_code=201, response_model=StoreRead, summary="Give a partner a store")
def add_store(request: Request, partner_id: IdPath, store_in: StoreIn, principal: Principal = Depends(require("admin"))) -> StoreRead:
    """Events naming the store's code are the partner's."""
    ctx = Context(request)
    with ctx.transaction() as session:
        store = service.add_store(session, tenant_id=principal.tenant_id, partner_id=partner_id, store_in=store_in, now=ctx.now())
        return StoreRead(code=store.code, name=store.name, city=store.city)


@router.delete("/partners/{partner_id}/stores/{code}", status_code=204, summary="Take a store from a partner")
def remove_store(request: Request, partner_id: IdPath, code: str, principal: Principal = Depends(require("admin"))) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        service.remove_store(session, tenant_id=principal.tenant_id, partner_id=partner_id, code=code)
    return Response(status_code=204)


@router.post("/partners/{partner_id}/keys", status_code=201, response_model=ApiKeyCreated, summary="Make an API key for a partner's tills")
def create_partner_key(
    request: Request, partner_id: IdPath, key_in: PartnerKeyIn, principal: Principal = Depends(require("admin")),
) -> ApiKeyCreated:
    """The key enrols members, records purchases and returns, and redeems, all as the partner; it reads
    the partner's own statements and nothing else. The secret is shown once."""
    ctx = Context(request)
    with ctx.transaction() as session:
        service.get_or_raise(session, tenant_id=principal.tenant_id, partner_id=partner_id)
        key = tenants.create_key(
            session, tenant_id=principal.tenant_id, name=key_in.name, scopes=list(key_in.scopes), now=ctx.now(), partner_id=partner_id,
        )
        return ApiKeyCreated(
            id=key.id, name=key_in.name, prefix=key.prefix, scopes=key.scopes, partner_id=partner_id, created_at=ctx.now(),
            revoked_at=None, secret=key.secret,
        )


@router.post(
    "/partners/{partner_id}/exchanges", status_code=201, response_model=ExchangeRead,
    summary="Exchange a member's points of the partner's own for coalition points",
)
def exchange(
    request: Request, partner_id: IdPath, exchange_in: ExchangeIn, principal: Principal = Depends(require("events:write")),
    idempotency_key: str = Header(alias="Idempotency-Key", description="required: an exchange happens once per key"),
) -> Response:
    """Whole coalition points at the partner's rate; what is short of a whole point is kept for the
    member's next exchange. The partner pays for the coalition points as for points earned with it."""
    _own(principal, partner_id)
    ctx = Context(request)

    def work(session):
        return exchanges.exchange(
            session, tenant_id=principal.tenant_id, partner_id=partner_id, member_id=exchange_in.member_id,
            own_points=exchange_in.own_points, key=scoped_key(principal, idempotency_key), now=ctx.now(),
        )

    fingerprint = request_hash("POST", request.url.path, exchange_in.model_dump(mode="json"))
    return run_idempotent(ctx, principal=principal, key=idempotency_key, fingerprint=fingerprint, status_code=201, work=work)


@router.get("/partners/{partner_id}/statements", response_model=StatementPage, summary="A partner's statements, newest first")
def list_statements(
    request: Request, partner_id: IdPath, cursor: str | None = Query(None, max_length=200), limit: int = Query(50, ge=1, le=200),
    principal: Principal = Depends(require("read", partners_read=True)),
) -> StatementPage:
    _own(principal, partner_id)
    ctx = Context(request)
    with ctx.transaction() as session:
        service.get_or_raise(session, tenant_id=principal.tenant_id, partner_id=partner_id)
        rows = settlement.list_statements(
            session, tenant_id=principal.tenant_id, partner_id=partner_id, before_id=decode_cursor(cursor), limit=limit,
        )
        items = [reads.statement_read(s) for s in rows[:limit]]
        return StatementPage(items=items, next_cursor=encode_cursor(items[-1].id) if len(rows) > limit else None)


def _statement(request: Request, principal: Principal, statement_id: int):
    ctx = Context(request)
    with ctx.transaction() as session:
        found = settlement.get_statement_or_raise(session, tenant_id=principal.tenant_id, statement_id=statement_id)
        _own(principal, found.partner_id)
        if found.partner_id is not None:
            party = service.get_or_raise(session, tenant_id=principal.tenant_id, partner_id=found.partner_id).name
        else:
            party = "Operator"
        operator = tenants.get_or_raise(session, tenant_id=principal.tenant_id).name
        session.expunge(found)
        return found, party, operator


@router.get(
    "/statements/{statement_id}.csv", summary="A closed statement as CSV", response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "the statement"}},
)
def get_statement_csv(
    request: Request, statement_id: IdPath, principal: Principal = Depends(require("read", partners_read=True)),
) -> Response:
    found, party, _ = _statement(request, principal, statement_id)
    return Response(
        exports.csv_of(found, party_name=party), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="statement-{found.id}-{found.period}.csv"'},
    )


@router.get(
    "/statements/{statement_id}.pdf", summary="A closed statement as PDF", response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "the statement"}},
)
def get_statement_pdf(
    request: Request, statement_id: IdPath, principal: Principal = Depends(require("read", partners_read=True)),
) -> Response:
    found, party, operator = _statement(request, principal, statement_id)
    return Response(
        exports.pdf_of(found, party_name=party, operator_name=operator), media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="statement-{found.id}-{found.period}.pdf"'},
    )


# After the .csv and .pdf routes: its path would match theirs too.
@router.get("/statements/{statement_id}", response_model=reads.StatementRead, summary="A closed statement")
def get_statement(
    request: Request, statement_id: IdPath, principal: Principal = Depends(require("read", partners_read=True)),
) -> reads.StatementRead:
    found, _, _ = _statement(request, principal, statement_id)
    return reads.statement_read(found)


@router.post(
    "/coalition/settlements", status_code=201, response_model=SettlementRead, summary="Close a settlement period",
    responses={200: {"model": SettlementRead, "description": "the period was closed before: its statements, unchanged"}},
)
def close_period(request: Request, settlement_in: SettlementIn, principal: Principal = Depends(require("admin"))) -> Response:
    """One statement per partner settled by the period's kind (monthly: 2026-11, weekly: 2026-W47) and
    currency, and the operator's; they sum to zero. Closing a closed period changes nothing."""
    ctx = Context(request)
    with ctx.transaction() as session:
        run, replayed = settlement.close(
            session, tenant_id=principal.tenant_id, period=settlement_in.period, now=ctx.now(), by=f"api key {principal.key_id}",
        )
        body = reads.settlement_read(session, run, replayed=replayed)
    return Response(body.model_dump_json(), status_code=200 if replayed else 201, media_type="application/json")


@router.get("/coalition/settlements", response_model=list[SettlementRead], summary="Closed periods, newest first")
def list_settlements(request: Request, principal: Principal = Depends(require("read"))) -> list[SettlementRead]:
    ctx = Context(request)
    with ctx.transaction() as session:
        return [reads.settlement_read(session, run, replayed=False) for run in settlement.list_runs(session, tenant_id=principal.tenant_id)]


@router.get("/reports/coalition-flows", response_model=FlowsRead, summary="Who sends customers to whom: points earned at A, spent at B")
def coalition_flows(
    request: Request, since: AwareDatetime | None = Query(None), until: AwareDatetime | None = Query(None),
    principal: Principal = Depends(require("read")),
) -> FlowsRead:
    """Points spent in [since, until), traced to the partner where each was earned (through the lots the
    spending took them from)."""
    ctx = Context(request)
    end: datetime = until or ctx.now()
    if since is not None and since >= end:
        raise InvalidInput("since must be before until", field="since")
    with ctx.transaction() as session:
        found = service.config_or_raise(session, tenant_id=principal.tenant_id)
        rows = ledger_money.flows(session, tenant_id=principal.tenant_id, start=since, end=end)

        def key_of(partner_id: int | None) -> str | None:
            terms_ = found.partners.get(partner_id) if partner_id is not None else None
            return terms_.key if terms_ is not None else None

        return FlowsRead(since=since, until=end, flows=[FlowRead(earned_at=key_of(a), spent_at=key_of(b), points=p) for a, b, p in rows])
