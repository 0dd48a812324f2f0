"""HTTP: webhook endpoints (admin) and the catalog of outbox messages."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy.orm import Session

from wafa.api.deps import Context, IdPath, decode_cursor, paginate, require
from wafa.errors import NotFound
from wafa.notify import webhooks
from wafa.notify.models import WebhookDelivery, WebhookEndpoint
from wafa.notify.schemas import (
    AttemptRead,
    DeliveryPage,
    DeliveryRead,
    EndpointCreated,
    EndpointHealth,
    EndpointIn,
    EndpointPage,
    EndpointRead,
    EndpointUpdate,
    EventTypePage,
    EventTypeRead,
    ReplayIn,
    ReplayRead,
    SecretRotated,
    TestSent,
)
from wafa.outbox import catalog
from wafa.outbox.models import OutboxMessage
from wafa.tenants.service import Principal

router = APIRouter(prefix="/v1", tags=["webhooks"])


def _read(session: Session, endpoint: WebhookEndpoint, now: datetime) -> EndpointRead:
    counts = webhooks.health(session, tenant_id=endpoint.tenant_id, endpoint_ids=[endpoint.id], since=now - timedelta(hours=24))[endpoint.id]
    return EndpointRead(
        id=endpoint.id, url=endpoint.url, event_types=endpoint.event_types, description=endpoint.description, enabled=endpoint.enabled,
        disabled_reason=endpoint.disabled_reason, created_at=endpoint.created_at, updated_at=endpoint.updated_at,
        health=EndpointHealth(**counts, failing_since=endpoint.failing_since),
    )


@router.get("/outbox/event-types", response_model=EventTypePage, response_model_by_alias=True,
            summary="The messages Wafa sends (webhooks, streams), each with its JSON Schema")
def event_types(principal: Principal = Depends(require("read"))) -> EventTypePage:
    return EventTypePage(items=[
        EventTypeRead(name=t.name, version=t.version, description=t.description, schema_=catalog.schema_of(t.name))
        for t in catalog.TYPES.values()
    ])


@router.get("/outbox/event-types/{name}", response_model=EventTypeRead, response_model_by_alias=True, summary="One message type")
def event_type(name: str, principal: Principal = Depends(require("read"))) -> EventTypeRead:
    found = catalog.TYPES.get(name)
    if found is None:
        raise NotFound(f"no message type {name!r}")
    return EventTypeRead(name=found.name, version=found.version, description=found.description, schema_=catalog.schema_of(found.name))


@router.post("/webhook-endpoints", status_code=201, response_model=EndpointCreated, summary="Register a webhook endpoint (admin)")
def create_endpoint(request: Request, endpoint_in: EndpointIn, principal: Principal = Depends(require("admin"))) -> EndpointCreated:
    """The answer carries the signing secret, once. Messages committed from now on are delivered."""
    ctx = Context(request)
    with ctx.transaction() as session:
        endpoint = webhooks.create(
            session, tenant_id=principal.tenant_id, url=endpoint_in.url, event_types=endpoint_in.event_types,
            description=endpoint_in.description, enabled=endpoint_in.enabled, now=ctx.now(),
        )
        return EndpointCreated(**_read(session, endpoint, ctx.now()).model_dump(), secret=endpoint.secret)


@router.get("/webhook-endpoints", response_model=EndpointPage, summary="The webhook endpoints, with their health (admin)")
def list_endpoints(request: Request, principal: Principal = Depends(require("admin"))) -> EndpointPage:
    ctx = Context(request)
    with ctx.transaction() as session:
        return EndpointPage(items=[_read(session, e, ctx.now()) for e in webhooks.list_(session, tenant_id=principal.tenant_id)])


@router.get("/webhook-endpoints/{endpoint_id}", response_model=EndpointRead, summary="One webhook endpoint (admin)")
def get_endpoint(request: Request, endpoint_id: IdPath, principal: Principal = Depends(require("admin"))) -> EndpointRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        return _read(session, webhooks.get_or_raise(session, tenant_id=principal.tenant_id, endpoint_id=endpoint_id), ctx.now())


@router.patch("/webhook-endpoints/{endpoint_id}", response_model=EndpointRead, summary="Change an endpoint, or enable it again (admin)")
def update_endpoint(
    request: Request, endpoint_id: IdPath, endpoint_in: EndpointUpdate, principal: Principal = Depends(require("admin")),
) -> EndpointRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        endpoint = webhooks.update_endpoint(
            session, tenant_id=principal.tenant_id, endpoint_id=endpoint_id, changes=endpoint_in.model_dump(exclude_unset=True), now=ctx.now(),
        )
        return _read(session, endpoint, ctx.now())


@router.delete("/webhook-endpoints/{endpoint_id}", status_code=204, summary="Remove an endpoint and what it is still owed (admin)")
def delete_endpoint(request: Request, endpoint_id: IdPath, principal: Principal = Depends(require("admin"))) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        webhooks.delete_endpoint(session, tenant_id=principal.tenant_id, endpoint_id=endpoint_id)
    return Response(status_code=204)


@router.post("/webhook-endpoints/{endpoint_id}/rotate-secret", response_model=SecretRotated, summary="A new signing secret (admin)")
def rotate_secret(request: Request, endpoint_id: IdPath, principal: Principal = Depends(require("admin"))) -> SecretRotated:
    """The old secret keeps signing beside the new one for 24 hours (both signatures are sent)."""
    ctx = Context(request)
    with ctx.transaction() as session:
        endpoint = webhooks.rotate_secret(session, tenant_id=principal.tenant_id, endpoint_id=endpoint_id, now=ctx.now())
        assert endpoint.previous_secret_until is not None  # a rotation always sets it
        return SecretRotated(secret=endpoint.secret, previous_valid_until=endpoint.previous_secret_until)


@router.post("/webhook-endpoints/{endpoint_id}/test", status_code=202, response_model=TestSent, summary="Send a test message (admin)")
def send_test(request: Request, endpoint_id: IdPath, principal: Principal = Depends(require("admin"))) -> TestSent:
    """A webhook.test message to this endpoint only, through the outbox like any other."""
    ctx = Context(request)
    with ctx.transaction() as session:
        return TestSent(message_id=webhooks.send_test(session, tenant_id=principal.tenant_id, endpoint_id=endpoint_id, now=ctx.now()))


@router.post("/webhook-endpoints/{endpoint_id}/replay", status_code=202, response_model=ReplayRead, summary="Deliver messages again (admin)")
def replay(request: Request, endpoint_id: IdPath, replay_in: ReplayIn, principal: Principal = Depends(require("admin"))) -> ReplayRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        return ReplayRead(messages=webhooks.replay(
            session, tenant_id=principal.tenant_id, endpoint_id=endpoint_id, now=ctx.now(), message_id=replay_in.message_id,
            since=replay_in.since,
        ))


@router.get("/webhook-endpoints/{endpoint_id}/deliveries", response_model=DeliveryPage, summary="An endpoint's deliveries, newest first (admin)")
def list_deliveries(
    request: Request, endpoint_id: IdPath, principal: Principal = Depends(require("admin")),
    status: str | None = Query(None, pattern="^(pending|delivered|dead)$"), limit: int = Query(50, ge=1, le=200),
    cursor: str | None = Query(None, description="next_cursor of the page before"), log: bool = Query(False, description="with every attempt"),
) -> DeliveryPage:
    ctx = Context(request)
    with ctx.transaction() as session:
        webhooks.get_or_raise(session, tenant_id=principal.tenant_id, endpoint_id=endpoint_id)
        rows = webhooks.deliveries(
            session, tenant_id=principal.tenant_id, endpoint_id=endpoint_id, limit=limit + 1, before_id=decode_cursor(cursor), status=status,
        )

        def read(row: tuple[WebhookDelivery, OutboxMessage]) -> DeliveryRead:
            delivery, message = row
            attempts = webhooks.attempts_of(session, tenant_id=principal.tenant_id, delivery_id=delivery.id) if log else None
            return DeliveryRead(
                id=delivery.id, message_id=message.message_id, type=message.type, sequence=delivery.seq, member_id=delivery.member_id,
                status=delivery.status, attempts=delivery.attempts,
                next_attempt_at=delivery.next_attempt_at if delivery.status == "pending" else None,
                last_status=delivery.last_status, last_error=delivery.last_error, created_at=delivery.created_at, finished_at=delivery.finished_at,
                log=[AttemptRead.model_validate(a, from_attributes=True) for a in attempts] if attempts is not None else None,
            )

        items, next_cursor = paginate(rows, limit, read)
        return DeliveryPage(items=items, next_cursor=next_cursor)
