"""Event streams: a tenant's outbox published to the broker it runs, a RabbitMQ topic exchange (aio-pika)
or a NATS JetStream stream (nats-py), with the bodies and message ids of its webhooks.

Delivery is at least once and in sequence order per sink, resumable from `acked_seq`, the last sequence
the broker confirmed. A worker leases one sink at a time (a conditional UPDATE ... RETURNING: two
workers never publish the same batch), reads up to 500 of the tenant's messages after `acked_seq`,
publishes them in order outside any transaction, each awaited until the broker confirmed it (RabbitMQ
publisher confirms; a JetStream PubAck), then moves `acked_seq` to the last confirmed one in one UPDATE
guarded by the lease. A worker that dies between the publish and that UPDATE leaves its lease to run
out, and the batch goes again with the same ids: JetStream drops a repeat inside its duplicate window
(by Nats-Msg-Id), RabbitMQ consumers deduplicate by message_id. A broker error keeps what was confirmed
and holds the sink back (5 s, doubling up to 5 min) with the error shown; nothing is skipped.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from wafa.config import get_settings
from wafa.db import rowcount, unit_of_work
from wafa.errors import InvalidInput, NotFound
from wafa.members.models import Member
from wafa.notify import webhooks
from wafa.notify.stream_clients import CONNECT_TIMEOUT as CONNECT_TIMEOUT
from wafa.notify.stream_clients import IDLE_SECONDS as IDLE_SECONDS
from wafa.notify.stream_clients import PUBLISH_TIMEOUT as PUBLISH_TIMEOUT
from wafa.notify.stream_clients import Leased, Outgoing, Published, StreamPublisher
from wafa.notify.stream_clients import _covers as _covers  # the subject rule, which the stream tests check through this module
from wafa.notify.stream_models import StreamSink
from wafa.notify.stream_urls import SCHEMES, check_url
from wafa.notify.stream_urls import mask_url as mask_url
from wafa.outbox import service as outbox
from wafa.outbox.models import OutboxMessage, OutboxSequence
from wafa.tenants.models import Tenant

BATCH = 500  # messages read and published per lease
ROUNDS = 20  # batches one `publish_due` call publishes at most, over every sink
FIRST_RETRY = timedelta(seconds=5)
LONGEST_RETRY = timedelta(minutes=5)
_NAME = re.compile(r"[A-Za-z0-9_-]{1,100}")
_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,100}")
_TEST = "webhook.test"  # a webhook endpoint's own test message: never streamed


# Sinks ------------------------------------------------------------------------------------------

def check_target(target: str, *, field: str = "target") -> str:
    if not _NAME.fullmatch(target):
        raise InvalidInput("an exchange or stream name is 1 to 100 letters, digits, _ and -", field=field)
    return target


def check_prefix(prefix: str, *, field: str = "subject_prefix") -> str:
    tokens = prefix.split(".")
    if len(prefix) > 100 or not all(_TOKEN.fullmatch(token) for token in tokens):
        raise InvalidInput("a subject prefix is dot-separated tokens of letters, digits, _ and - (no * or >)", field=field)
    return prefix


def check_types(types: list[str] | None, *, field: str = "event_types") -> list[str] | None:
    if types is not None and _TEST in types:
        raise InvalidInput(f"{_TEST} goes to one webhook endpoint only; streams never carry it", field=field)
    return webhooks.check_types(types, field=field)


def _acked_for(session: Session, *, tenant_id: int, start: int, field: str) -> int:
    """The acked_seq that resumes at sequence `start` (0: the oldest message kept), if it is kept."""
    last = outbox.last_seq(session, tenant_id=tenant_id)
    oldest = session.execute(
        select(func.min(OutboxMessage.seq)).where(OutboxMessage.tenant_id == tenant_id, OutboxMessage.seq.is_not(None))
    ).scalar()
    lowest = int(oldest) if oldest is not None else last + 1
    if start == 0:
        return lowest - 1
    if start < lowest:
        raise InvalidInput(f"messages before sequence {lowest} are no longer kept (30 days)", field=field)
    if start > last + 1:
        raise InvalidInput(f"the tenant's last sequence is {last}: start at {last + 1} at the latest", field=field)
    return start - 1


def create(
    session: Session, *, tenant_id: int, kind: str, url: str, target: str, subject_prefix: str, event_types: list[str] | None,
    description: str | None, enabled: bool, now: datetime, start_from: int | None = None,
) -> StreamSink:
    """A new sink, publishing what is numbered from now on, or from sequence `start_from` (0: every message kept)."""
    if kind not in SCHEMES:
        raise InvalidInput("kind is rabbitmq or nats", field="kind")
    check_url(url, kind=kind)
    acked = (outbox.last_seq(session, tenant_id=tenant_id) if start_from is None
             else _acked_for(session, tenant_id=tenant_id, start=start_from, field="start_from"))
    sink = StreamSink(
        tenant_id=tenant_id, kind=kind, url=url, target=check_target(target), subject_prefix=check_prefix(subject_prefix),
        event_types=check_types(event_types), description=description, enabled=enabled, acked_seq=acked, created_at=now, updated_at=now,
    )
    session.add(sink)
    session.flush()
    return sink


def get_or_raise(session: Session, *, tenant_id: int, sink_id: int) -> StreamSink:
    found = session.execute(select(StreamSink).where(StreamSink.tenant_id == tenant_id, StreamSink.id == sink_id)).scalar_one_or_none()
    if found is None:
        raise NotFound(f"no stream {sink_id}")
    return found


def list_(session: Session, *, tenant_id: int, limit: int = 50, after_id: int | None = None) -> list[StreamSink]:
    """A tenant's sinks in the order they were made."""
    query = select(StreamSink).where(StreamSink.tenant_id == tenant_id)
    if after_id is not None:
        query = query.where(StreamSink.id > after_id)
    return list(session.execute(query.order_by(StreamSink.id).limit(limit)).scalars())


def update_sink(session: Session, *, tenant_id: int, sink_id: int, changes: dict[str, Any], now: datetime) -> StreamSink:
    """Change a sink; a failing one whose broker settings changed is tried again at once."""
    sink = get_or_raise(session, tenant_id=tenant_id, sink_id=sink_id)
    for name in ("url", "target", "subject_prefix", "enabled"):
        if name in changes and changes[name] is None:
            raise InvalidInput(f"{name} cannot be null", field=name)
    if "url" in changes:
        url = _unmasked(changes["url"], saved=sink.url)
        check_url(url, kind=sink.kind)
        sink.url = url
    if "target" in changes:
        sink.target = check_target(changes["target"])
    if "subject_prefix" in changes:
        sink.subject_prefix = check_prefix(changes["subject_prefix"])
    if "event_types" in changes:
        sink.event_types = check_types(changes["event_types"])
    if "description" in changes:
        sink.description = changes["description"]
    if "enabled" in changes:
        if changes["enabled"] and not sink.enabled:
            sink.failing_since, sink.last_error = None, None
        sink.enabled = bool(changes["enabled"])
    if sink.failing_since is not None and {"url", "target", "subject_prefix"} & changes.keys():
        sink.leased_until = None
    sink.updated_at = now
    session.flush()
    return sink


def _unmasked(url: str, *, saved: str) -> str:
    """The URL with the saved password in place of ***, as GET showed it (to change only the host, say)."""
    try:
        given, kept = urlsplit(url), urlsplit(saved)
        if given.password == "***" and kept.password is not None:
            return urlunsplit(given._replace(netloc=given.netloc.replace(":***@", f":{kept.password}@", 1)))
    except ValueError:
        pass  # not a URL: check_url says why
    return url


def delete_sink(session: Session, *, tenant_id: int, sink_id: int) -> None:
    """Forget a sink (what it made on the broker stays)."""
    session.delete(get_or_raise(session, tenant_id=tenant_id, sink_id=sink_id))
    session.flush()


def rewind(session: Session, *, tenant_id: int, sink_id: int, from_sequence: int, now: datetime) -> StreamSink:
    """Publish again from an earlier sequence, down to the oldest message kept. A batch in flight then
    does not move acked_seq (its UPDATE expects the old value)."""
    sink = get_or_raise(session, tenant_id=tenant_id, sink_id=sink_id)
    if from_sequence > sink.acked_seq + 1:
        raise InvalidInput(f"the sink has published up to {sink.acked_seq}: rewind to {sink.acked_seq + 1} or earlier", field="from_sequence")
    sink.acked_seq = _acked_for(session, tenant_id=tenant_id, start=from_sequence, field="from_sequence")
    sink.updated_at = now
    session.flush()
    return sink


# Leasing and recording ------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Batch:
    messages: list[Outgoing]
    upper: int  # acked_seq once every message is confirmed (past those of other types too)


def envelope(message: OutboxMessage, *, slug: str, external_id: str | None) -> bytes:
    """A message's body: the webhook's, byte for byte."""
    return orjson.dumps({
        "id": message.message_id, "type": message.type, "version": message.version, "sequence": message.seq, "tenant": slug,
        "occurred_at": message.occurred_at.isoformat(),
        "member": {"id": message.member_id, "external_id": external_id} if message.member_id is not None else None,
        "data": message.payload,
    })


def lease(session: Session, *, now: datetime, skip: Sequence[int] = (), tenant_id: int | None = None) -> Leased | None:
    """Take one enabled sink (of every tenant, or one) with messages after its acked_seq and no live lease,
    until the lease runs out (WAFA_DELIVERY_LEASE_SECONDS); the caller commits."""
    query = (
        select(StreamSink.id, Tenant.slug)
        .join(OutboxSequence, OutboxSequence.tenant_id == StreamSink.tenant_id)
        .join(Tenant, Tenant.id == StreamSink.tenant_id)
        .where(StreamSink.enabled.is_(True), StreamSink.acked_seq < OutboxSequence.last_seq,
               or_(StreamSink.leased_until.is_(None), StreamSink.leased_until <= now))
        .order_by(StreamSink.id)
        .limit(1)
    )
    if skip:
        query = query.where(StreamSink.id.not_in(list(skip)))
    if tenant_id is not None:
        query = query.where(StreamSink.tenant_id == tenant_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=StreamSink)
    found = session.execute(query).first()
    if found is None:
        return None
    until = now + timedelta(seconds=get_settings().delivery_lease_seconds)
    table = StreamSink.__table__
    # Only if no one leased it meanwhile (on SQLite, where nothing is skipped, that is the guard).
    row = session.execute(
        update(table).where(table.c.id == found.id, or_(table.c.leased_until.is_(None), table.c.leased_until <= now))
        .values(leased_until=until)
        .returning(table.c.tenant_id, table.c.kind, table.c.url, table.c.target, table.c.subject_prefix, table.c.event_types,
                   table.c.acked_seq, table.c.failing_since)
    ).first()
    if row is None:
        return None
    return Leased(found.id, row.tenant_id, found.slug, row.kind, row.url, row.target, row.subject_prefix,
                  tuple(row.event_types) if row.event_types is not None else None, row.acked_seq, until, row.failing_since)


def pending(session: Session, leased: Leased, *, limit: int = BATCH) -> Batch:
    """Up to `limit` of the tenant's numbered messages after the sink's acked_seq that it wants, in order."""
    upper = outbox.last_seq(session, tenant_id=leased.tenant_id)
    query = (
        select(OutboxMessage, Member.external_id)
        .outerjoin(Member, and_(Member.id == OutboxMessage.member_id, Member.tenant_id == OutboxMessage.tenant_id))
        .where(OutboxMessage.tenant_id == leased.tenant_id, OutboxMessage.seq > leased.acked_seq, OutboxMessage.seq <= upper,
               OutboxMessage.type != _TEST)
    )
    if leased.event_types is not None:
        query = query.where(OutboxMessage.type.in_(leased.event_types))
    rows = session.execute(query.order_by(OutboxMessage.seq).limit(limit)).all()
    messages = [
        Outgoing(message.seq or 0, message.message_id, message.type, message.created_at,
                 envelope(message, slug=leased.slug, external_id=external_id))
        for message, external_id in rows
    ]
    return Batch(messages, messages[-1].seq if len(messages) == limit else upper)


def retry_after(failing_since: datetime | None, now: datetime) -> timedelta:
    """How long a failing sink waits: 5 s, then as long as it has been failing (so doubling), 5 min at most."""
    if failing_since is None:
        return FIRST_RETRY
    return min(LONGEST_RETRY, max(FIRST_RETRY, now - failing_since))


def record(session: Session, leased: Leased, batch: Batch, outcome: Published, *, now: datetime) -> bool:
    """Move acked_seq past what the broker confirmed and give the lease back (a failing sink: until its
    next try); False when the lease was lost or the sink rewound meanwhile, which then stands."""
    # Short of the whole batch: up to just before the first message not confirmed (those skipped before it too).
    whole = outcome.confirmed >= len(batch.messages)
    acked = batch.upper if whole else max(leased.acked_seq, batch.messages[outcome.confirmed].seq - 1)
    table = StreamSink.__table__
    ours = and_(table.c.id == leased.sink_id, table.c.leased_until == leased.until)
    values: dict[str, Any] = {"acked_seq": acked, "leased_until": None, "last_error": None, "failing_since": None}
    if outcome.error is not None:
        values = {"acked_seq": acked, "leased_until": now + retry_after(leased.failing_since, now), "last_error": outcome.error[:500],
                  "failing_since": leased.failing_since or now}
    if rowcount(session.execute(update(table).where(ours, table.c.acked_seq == leased.acked_seq).values(**values))):
        return True
    session.execute(update(table).where(ours).values(leased_until=None))
    return False


def publish_due(
    factory: sessionmaker[Session], *, now: datetime, publisher: StreamPublisher, batch: int = BATCH, rounds: int = ROUNDS,
    tenant_id: int | None = None,
) -> int:
    """Publish what the sinks (of every tenant, or one) are owed, a batch per lease, each due sink in turn,
    up to `rounds` batches; return the messages brokers confirmed. One pass of a worker."""
    started = time.monotonic()
    lease_seconds = get_settings().delivery_lease_seconds
    confirmed = 0
    served: list[int] = []
    for _ in range(rounds):
        at = now + timedelta(seconds=time.monotonic() - started)
        with unit_of_work(factory) as session:
            leased = lease(session, now=at, skip=served, tenant_id=tenant_id)
            if leased is None and served:  # every due sink had a turn: round again
                served.clear()
                leased = lease(session, now=at, tenant_id=tenant_id)
        if leased is None:
            break
        served.append(leased.sink_id)
        with factory() as session:
            todo = pending(session, leased, limit=batch)
        # Half the lease to publish in: a last publish may take its timeout on top, still inside it.
        outcome = publisher.publish(leased, todo.messages, deadline=time.monotonic() + lease_seconds / 2) if todo.messages else Published(0)
        with unit_of_work(factory) as session:
            record(session, leased, todo, outcome, now=now + timedelta(seconds=time.monotonic() - started))
        confirmed += outcome.confirmed
    return confirmed
