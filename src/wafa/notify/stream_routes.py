"""HTTP: stream sinks (admin), the tenant's outbox published to its own RabbitMQ or NATS JetStream."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request, Response

from wafa.api.deps import Context, IdPath, decode_cursor, paginate, require
from wafa.notify import streams
from wafa.notify.stream_models import StreamSink
from wafa.notify.stream_schemas import RewindIn, StreamIn, StreamPage, StreamRead, StreamUpdate
from wafa.outbox import service as outbox
from wafa.tenants.service import Principal

router = APIRouter(prefix="/v1", tags=["streams"])


def _read(sink: StreamSink, last_seq: int) -> StreamRead:
    return StreamRead(
        id=sink.id, kind=sink.kind, url=streams.mask_url(sink.url), target=sink.target,
        subject_prefix=sink.subject_prefix, event_types=sink.event_types, description=sink.description, enabled=sink.enabled,
        acked_seq=sink.acked_seq, last_seq=last_seq, lag=max(0, last_seq - sink.acked_seq), last_error=sink.last_error,
        failing_since=sink.failing_since, next_attempt_at=sink.leased_until if sink.failing_since is not None else None,
        created_at=sink.created_at, updated_at=sink.updated_at,
    )


@router.post("/streams", status_code=201, response_model=StreamRead, summary="Stream the outbox to a RabbitMQ exchange or NATS JetStream (admin)")
def create_stream(request: Request, stream_in: StreamIn, principal: Principal = Depends(require("admin"))) -> StreamRead:
    """Messages numbered from now on are published, or from `start_from`; the broker is reached by the worker."""
    ctx = Context(request)
    with ctx.transaction() as session:
        sink = streams.create(
            session, tenant_id=principal.tenant_id, kind=stream_in.kind, url=stream_in.url, target=stream_in.target,
            subject_prefix=stream_in.subject_prefix, event_types=stream_in.event_types, description=stream_in.description,
            enabled=stream_in.enabled, start_from=stream_in.start_from, now=ctx.now(),
        )
        return _read(sink, outbox.last_seq(session, tenant_id=principal.tenant_id))


@router.get("/streams", response_model=StreamPage, summary="The stream sinks, with how far each is behind (admin)")
def list_streams(
    request: Request, principal: Principal = Depends(require("admin")), limit: int = Query(50, ge=1, le=200),
    cursor: str | None = Query(None, description="next_cursor of the page before"),
) -> StreamPage:
    ctx = Context(request)
    with ctx.transaction() as session:
        rows = streams.list_(session, tenant_id=principal.tenant_id, limit=limit + 1, after_id=decode_cursor(cursor))
        last_seq = outbox.last_seq(session, tenant_id=principal.tenant_id)
        items, next_cursor = paginate(rows, limit, lambda sink: _read(sink, last_seq))
        return StreamPage(items=items, next_cursor=next_cursor)


@router.get("/streams/{stream_id}", response_model=StreamRead, summary="One stream sink: acknowledged sequence, lag, last error (admin)")
def get_stream(request: Request, stream_id: IdPath, principal: Principal = Depends(require("admin"))) -> StreamRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        sink = streams.get_or_raise(session, tenant_id=principal.tenant_id, sink_id=stream_id)
        return _read(sink, outbox.last_seq(session, tenant_id=principal.tenant_id))


@router.patch("/streams/{stream_id}", response_model=StreamRead, summary="Change a stream sink, or turn it off or on (admin)")
def update_stream(
    request: Request, stream_id: IdPath, stream_in: StreamUpdate, principal: Principal = Depends(require("admin")),
) -> StreamRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        sink = streams.update_sink(
            session, tenant_id=principal.tenant_id, sink_id=stream_id, changes=stream_in.model_dump(exclude_unset=True), now=ctx.now(),
        )
        return _read(sink, outbox.last_seq(session, tenant_id=principal.tenant_id))


@router.delete("/streams/{stream_id}", status_code=204, summary="Remove a stream sink (what it made on the broker stays) (admin)")
def delete_stream(request: Request, stream_id: IdPath, principal: Principal = Depends(require("admin"))) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        streams.delete_sink(session, tenant_id=principal.tenant_id, sink_id=stream_id)
    return Response(status_code=204)


@router.post("/streams/{stream_id}/rewind", response_model=StreamRead, summary="Publish again from an earlier sequence (admin)")
def rewind_stream(request: Request, stream_id: IdPath, rewind_in: RewindIn, principal: Principal = Depends(require("admin"))) -> StreamRead:
    """Down to the oldest message kept (30 days); a batch in flight then leaves acked_seq as rewound."""
    ctx = Context(request)
    with ctx.transaction() as session:
        sink = streams.rewind(session, tenant_id=principal.tenant_id, sink_id=stream_id, from_sequence=rewind_in.from_sequence, now=ctx.now())
        return _read(sink, outbox.last_seq(session, tenant_id=principal.tenant_id))
