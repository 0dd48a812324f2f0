"""HTTP: POST /v1/events (purchases and returns), GET /v1/events/{id}."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Header, Request
from fastapi.responses import Response

from wafa.api.deps import Context, IdPath, require, run_idempotent
from wafa.api.metrics import count_on_commit
from wafa.db import autocommit_session
from wafa.events import service
from wafa.events.idempotency import request_hash
from wafa.events.schemas import EventIn, EventResult, PurchaseIn, Simulation
from wafa.tenants.service import Principal

router = APIRouter(prefix="/v1/events", tags=["events"])


@router.post(
    "",
    status_code=201,
    response_model=EventResult,
    responses={200: {"model": EventResult, "description": "a repeat of a purchase (same order_id) or a return (same return_id)"}},
    summary="Record a purchase or a return",
)
def post_event(
    request: Request,
    event_in: Annotated[EventIn, Body()],
    principal: Principal = Depends(require("events:write")),
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
) -> Response:
    """A purchase earns points (pending until the program's return window closes); a return
    takes back the returned part's points. Replays of an order id or Idempotency-Key return the first result."""
    ctx = Context(request)
    body = event_in.model_dump(mode="json")
    fingerprint = request_hash("POST", "/v1/events", body)
    replayed = {"value": False}
    if idempotency_key is None and isinstance(event_in, PurchaseIn) and ctx.is_postgres and event_in.member is not None:
        # The common case, a member's purchase, is one statement: no transaction round trips.
        try:
            with autocommit_session(ctx.factory) as session:
                result, _ = service.record_purchase(
                    session, tenant_id=principal.tenant_id, event_in=event_in, request_hash=fingerprint,
                    now=ctx.now(), fast_only=True,
                )
                count_on_commit(session, "event_types", "purchase")
            return Response(result.model_dump_json(), status_code=201, media_type="application/json")
        except service.NeedsTransaction:
            pass

    def work(session):  # type: ignore[no-untyped-def]
        if isinstance(event_in, PurchaseIn):
            result, replay = service.record_purchase(
                session, tenant_id=principal.tenant_id, event_in=event_in, request_hash=fingerprint, now=ctx.now()
            )
            replayed["value"] = replay
        else:
            result = service.find_return(session, tenant_id=principal.tenant_id, event_in=event_in, request_hash=fingerprint)
            replayed["value"] = result is not None
            if result is None:
                result = service.record_return(
                    session, tenant_id=principal.tenant_id, event_in=event_in, now=ctx.now(), request_hash=fingerprint
                )
        if not replayed["value"]:
            count_on_commit(session, "event_types", event_in.type)
        return result

    response = run_idempotent(
        ctx, principal=principal, key=idempotency_key, fingerprint=fingerprint, status_code=201, work=work
    )
    if replayed["value"] and "Idempotent-Replayed" not in response.headers:
        # A repeat of an order id (or return id): 200, not 201; an Idempotency-Key replay keeps the first status.
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
    return response


@router.post(":simulate", response_model=Simulation, summary="What a purchase would earn, rule by rule, without writing")
def simulate_event(request: Request, event_in: PurchaseIn, principal: Principal = Depends(require("read"))) -> Simulation:
    ctx = Context(request)
    with ctx.transaction() as session:
        return service.simulate(session, tenant_id=principal.tenant_id, event_in=event_in, now=ctx.now())


@router.get("/{event_id}", response_model=EventResult, summary="Read a purchase as recorded")
def get_event(request: Request, event_id: IdPath, principal: Principal = Depends(require("read"))) -> EventResult:
    ctx = Context(request)
    with ctx.transaction() as session:
        event = service.get_or_raise(session, tenant_id=principal.tenant_id, event_id=event_id)
        return service.event_result(session, event=event)
