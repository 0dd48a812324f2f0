"""HTTP: POST /v1/events (purchases, returns, custom events), POST /v1/events:batch,
POST /v1/events:simulate, GET /v1/events/{id}; declared event types under /v1/event-types."""

from __future__ import annotations

import hashlib
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.orm import Session

from wafa.api.deps import Context, IdPath, decode_cursor, fingerprinted, paginate, require, run_idempotent
from wafa.api.metrics import count_on_commit
from wafa.api.problems import invalid_input, problem_of
from wafa.db import autocommit_session
from wafa.errors import Forbidden
from wafa.events import member_events, returns, service
from wafa.events import types as event_types
from wafa.events.idempotency import check_key, lookup, request_hash, store
from wafa.events.models import EventType
from wafa.events.schemas import (
    BatchIn,
    BatchItem,
    BatchResult,
    CustomEventIn,
    EventIn,
    EventResult,
    EventTypeCreate,
    EventTypePage,
    EventTypeRead,
    EventTypeUpdate,
    PurchaseIn,
    ReturnIn,
    SimulatedEventIn,
    Simulation,
)
from wafa.tenants.service import Principal

log = logging.getLogger("wafa.api")

router = APIRouter(prefix="/v1/events", tags=["events"])
types_router = APIRouter(prefix="/v1/event-types", tags=["events"])
_one_event: TypeAdapter[PurchaseIn | ReturnIn | CustomEventIn] = TypeAdapter(EventIn)


def _record(
    session: Session, *, ctx: Context, tenant_id: int, event_in: Any, fingerprint: str, partner_id: int | None = None,
    key_id: int | None = None,
) -> tuple[EventResult, bool]:
    """Record one event in the caller's transaction (a coalition partner's, with its key's `partner_id`);
    return its result and whether it replayed an earlier one."""
    if isinstance(event_in, PurchaseIn):
        result, replay = service.record_purchase(
            session, tenant_id=tenant_id, event_in=event_in, request_hash=fingerprint, now=ctx.now(), partner_id=partner_id,
            key_id=key_id,
        )
    elif isinstance(event_in, ReturnIn):
        event_in = returns.for_partner(session, tenant_id=tenant_id, key_partner_id=partner_id, event_in=event_in)
        found = returns.find_return(session, tenant_id=tenant_id, event_in=event_in, request_hash=fingerprint)
        replay = found is not None
        result = found or returns.record_return(
            session, tenant_id=tenant_id, event_in=event_in, now=ctx.now(), request_hash=fingerprint
        )
    elif partner_id is not None:
        raise Forbidden("a partner's key records purchases and returns only")
    else:
        result, replay = member_events.record_custom(
            session, tenant_id=tenant_id, event_in=event_in, request_hash=fingerprint, now=ctx.now()
        )
    if not replay:
        count_on_commit(session, "event_types", event_in.type if event_in.type in ("purchase", "return") else "custom")
    return result, replay


@router.post(
    "",
    status_code=201,
    response_model=EventResult,
    responses={200: {"model": EventResult, "description": "a repeat of a purchase (order_id), a return (return_id) or a custom event (reference)"}},
    summary="Record a purchase, a return or a custom event",
)
def post_event(
    request: Request,
    event_in: Annotated[EventIn, Body()],
    principal: Principal = Depends(require("events:write")),
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
) -> Response:
    """A purchase earns points (pending until the program's return window closes) and whatever the
    active rules add; a return takes back the returned part's points and rule awards; a custom event
    (a type the tenant declared) awards what its rules give. Replays return the first result."""
    ctx = Context(request)
    body = fingerprinted(event_in)
    fingerprint = request_hash("POST", "/v1/events", body)
    replayed = {"value": False}
    if idempotency_key is None and isinstance(event_in, PurchaseIn) and ctx.is_postgres and event_in.member is not None:
        # The common case, a member's purchase with no purchase rules active, is one statement.
        try:
            with autocommit_session(ctx.factory) as session:
                result, _ = service.record_purchase(
                    session, tenant_id=principal.tenant_id, event_in=event_in, request_hash=fingerprint,
                    now=ctx.now(), fast_only=True, partner_id=principal.partner_id,
                )
                count_on_commit(session, "event_types", "purchase")
            return Response(result.model_dump_json(), status_code=201, media_type="application/json")
        except service.NeedsTransaction:
            pass

    def work(session: Session) -> EventResult:
        result, replayed["value"] = _record(
            session, ctx=ctx, tenant_id=principal.tenant_id, event_in=event_in, fingerprint=fingerprint, partner_id=principal.partner_id,
            key_id=principal.key_id,
        )
        return result

    response = run_idempotent(
        ctx, principal=principal, key=idempotency_key, fingerprint=fingerprint, status_code=201, work=work,
        # A repeat of an order id (or return id, or reference) answers 200, and is stored as such.
        status_for=lambda: 200 if replayed["value"] else 201,
    )
    if replayed["value"] and "Idempotent-Replayed" not in response.headers:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@router.post(
    ":batch",
    response_model=BatchResult,
    summary="Record up to 1,000 events, each on its own",
)
def post_batch(
    request: Request,
    batch: BatchIn,
    principal: Principal = Depends(require("events:write")),
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
) -> Response:
    """Each event is checked and recorded in its own transaction, in order, and gets its own result:
    the status and body POST /v1/events would have answered. One bad event does not sink the others.
    With an Idempotency-Key, a repeat of the whole batch replays the first answer."""
    ctx = Context(request)
    fingerprint = request_hash("POST", "/v1/events:batch", batch.model_dump(mode="json"))
    if idempotency_key is not None:
        check_key(idempotency_key)
        with ctx.factory() as session:  # a repeat of a finished batch: its answer, or 409 for another body
            stored = lookup(session, tenant_id=principal.tenant_id, key=idempotency_key, request_hash_=fingerprint)
        if stored is not None:
            return JSONResponse(stored.response, status_code=stored.status_code, headers={"Idempotent-Replayed": "true"})
    # Each event commits on its own, so each carries a key of its own too: a retried or concurrent
    # repeat of the batch replays the events already recorded instead of recording them twice.
    item_key = None
    if idempotency_key is not None:
        item_key = "batch:" + hashlib.sha256(f"{idempotency_key}\n{fingerprint}".encode()).hexdigest()[:40]

    items = [_batch_item(ctx, principal, index, raw, item_key) for index, raw in enumerate(batch.events)]
    result = BatchResult(
        recorded=sum(1 for item in items if item.status == 201),
        replayed=sum(1 for item in items if item.status == 200),
        refused=sum(1 for item in items if item.status >= 400),
        items=items,
    )
    content = result.model_dump(mode="json")
    if idempotency_key is not None and all(item.status < 500 for item in items):
        # Kept only when every event got a lasting answer: after a 5xx (a busy database, a defect)
        # a retry under the same key tries those events again and replays the others.
        # A concurrent copy may have stored its answer first: both name the same events.
        with ctx.transaction() as session:
            store(session, tenant_id=principal.tenant_id, key=idempotency_key, request_hash_=fingerprint,
                  status_code=200, response=content, now=ctx.now())
    return JSONResponse(content, status_code=200)


def _batch_item(ctx: Context, principal: Principal, index: int, raw: dict[str, Any], item_key: str | None) -> BatchItem:
    try:
        event_in = _one_event.validate_python(raw)
    except ValidationError as exc:
        # The problem POST /v1/events would answer: fields named within the event, its place given by `index`.
        problem = invalid_input(exc.errors(), body=raw)
        return BatchItem(index=index, status=422, problem=problem)
    fingerprint = request_hash("POST", "/v1/events", fingerprinted(event_in))
    key = f"{item_key}:{index}" if item_key else None
    try:
        with ctx.transaction() as session:
            result, replay = _record(
                session, ctx=ctx, tenant_id=principal.tenant_id, event_in=event_in, fingerprint=fingerprint, key_id=principal.key_id,
            )
            item = BatchItem(index=index, status=200 if replay else 201, result=result)
            if key is not None and not store(
                session, tenant_id=principal.tenant_id, key=key, request_hash_=fingerprint, status_code=item.status,
                response=item.model_dump(mode="json"), now=ctx.now(),
            ):
                raise _Done  # a concurrent repeat of the batch recorded this event first: undo ours, replay its
        return item
    except Exception as exc:  # expected failures become this event's problem; defects are logged and answered as 500s
        if key is not None:
            with ctx.factory() as session:
                stored = lookup(session, tenant_id=principal.tenant_id, key=key, request_hash_=fingerprint)
            if stored is not None:
                return BatchItem.model_validate(stored.response)
        found = problem_of(exc)
        if found is None:  # a defect, not bad input: logged, answered as a 500 for this event only
            log.exception("batch event %d failed", index)
            found = {"type": "/problems/internal-error", "title": "Internal error", "status": 500,
                     "detail": "an unexpected error occurred; it has been logged"}
        return BatchItem(index=index, status=found["status"], problem=found)


class _Done(Exception):
    """Internal: another request stored this batch event's result first."""


@router.post(":simulate", response_model=Simulation, summary="What an event would award, rule by rule, without writing")
def simulate_event(
    request: Request, event_in: Annotated[SimulatedEventIn, Body()], principal: Principal = Depends(require("read"))
) -> Simulation:
    """A purchase or a custom event, as for POST /v1/events; with a member named, their caps and
    the rules' budgets are taken as they stand. Nothing is recorded."""
    ctx = Context(request)
    with ctx.transaction() as session:
        return service.simulate(session, tenant_id=principal.tenant_id, event_in=event_in, now=ctx.now())


@router.get("/{event_id}", response_model=EventResult, summary="Read an event as recorded")
def get_event(request: Request, event_id: IdPath, principal: Principal = Depends(require("read"))) -> EventResult:
    ctx = Context(request)
    with ctx.transaction() as session:
        event = service.get_or_raise(session, tenant_id=principal.tenant_id, event_id=event_id)
        return service.event_result(session, event=event)


# --- event types --------------------------------------------------------------------------------


def _type_read(found: EventType) -> EventTypeRead:
    return EventTypeRead(
        id=found.id, name=found.name, description=found.description, attributes_schema=found.attributes_schema,
        created_at=found.created_at, updated_at=found.updated_at,
    )



@types_router.post("", status_code=201, response_model=EventTypeRead, summary="Declare a custom event type")
def create_type(request: Request, type_in: EventTypeCreate, principal: Principal = Depends(require("admin"))) -> EventTypeRead:
    """Rules may then trigger on it, and POST /v1/events accepts it, checking attributes against the schema."""
    ctx = Context(request)
    with ctx.transaction() as session:
        return _type_read(
            event_types.create(
                session, tenant_id=principal.tenant_id, name=type_in.name, description=type_in.description,
                schema=type_in.attributes_schema, now=ctx.now(),
            )
        )


@types_router.get("", response_model=EventTypePage, summary="List declared event types")
def list_types(
    request: Request,
    cursor: str | None = Query(None, max_length=200),
    limit: int = Query(50, ge=1, le=200),
    principal: Principal = Depends(require("read")),
) -> EventTypePage:
    ctx = Context(request)
    with ctx.transaction() as session:
        rows = event_types.list_(session, tenant_id=principal.tenant_id, after_id=decode_cursor(cursor), limit=limit + 1)
        items, next_cursor = paginate(rows, limit, _type_read)
        return EventTypePage(items=items, next_cursor=next_cursor)


@types_router.get("/{name}", response_model=EventTypeRead, summary="Read a declared event type")
def get_type(request: Request, name: str, principal: Principal = Depends(require("read"))) -> EventTypeRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        return _type_read(event_types.get_by_name_or_raise(session, tenant_id=principal.tenant_id, name=name))


@types_router.patch("/{name}", response_model=EventTypeRead, summary="Change an event type's description or schema")
def update_type(
    request: Request, name: str, type_in: EventTypeUpdate, principal: Principal = Depends(require("admin"))
) -> EventTypeRead:
    """Events already recorded keep their attributes; later ones must meet the new schema."""
    ctx = Context(request)
    with ctx.transaction() as session:
        return _type_read(
            event_types.update_(
                session, tenant_id=principal.tenant_id, name=name, description=type_in.description,
                schema=type_in.attributes_schema, now=ctx.now(),
            )
        )
