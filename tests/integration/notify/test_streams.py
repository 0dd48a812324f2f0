"""Streaming the outbox to the real brokers on this machine, RabbitMQ (127.0.0.1:5672) and NATS JetStream
(127.0.0.1:4222), on both databases: every message arrives in sequence order with the webhook's id and
body; a sink publishes only its types and moves past the others; acked_seq moves only as far as the
broker confirmed; a broker that is down holds the sink back and skips nothing; a rewind publishes again;
a worker that dies before recording publishes the batch again with the same ids (JetStream keeps one);
two publishers on PostgreSQL never publish a batch twice; a JetStream stream is made, or given our
subjects, or the reason it cannot be is shown.

Each test makes its own exchange, queue or stream (named by a uuid) and deletes it. Where a broker is
not running the tests skip, saying so; in CI (CI set) they fail instead."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aio_pika
import nats
import pytest
from nats.js.api import DiscardPolicy, StreamConfig
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.conftest import START, factory_for, make_member, make_tenant
from tests.integration.notify.receiver import receiving
from wafa.clock import FrozenClock
from wafa.config import get_settings
from wafa.db import unit_of_work
from wafa.errors import InvalidInput
from wafa.events import service as events
from wafa.events.schemas import MemberRef, PurchaseIn
from wafa.notify import streams, webhooks
from wafa.notify.stream_models import StreamSink
from wafa.outbox import service as outbox

pytestmark = pytest.mark.usefixtures("allow_private_webhooks")

AMQP_URL = os.environ.get("WAFA_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
NATS_URL = os.environ.get("WAFA_TEST_NATS_URL", "nats://127.0.0.1:4222")
URLS = {"rabbitmq": AMQP_URL, "nats": NATS_URL}
# Nothing listens on port 1: a broker that is down.
DOWN = {"rabbitmq": "amqp://wafa:s3cret-pw@127.0.0.1:1/", "nats": "nats://wafa:s3cret-pw@127.0.0.1:1"}
STARTS = {"rabbitmq": "rabbitmq-server -detached", "nats": "nats-server -js"}
_probed: dict[str, str | None] = {}


def run_apart(work: Any) -> Any:
    """asyncio.run(work()) in a thread of its own: a test's thread may already run a loop (a browser's,
    when the same worker ran the browser tests before)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(work())).result()


async def _probe(kind: str) -> None:
    if kind == "rabbitmq":
        connection = await aio_pika.connect(AMQP_URL, timeout=5)
        await connection.close()
    else:
        client = await nats.connect(NATS_URL, connect_timeout=5, allow_reconnect=False, max_reconnect_attempts=1, reconnect_time_wait=0)
        try:
            await client.jetstream().account_info()  # JetStream is on
        finally:
            await client.close()


def need(kind: str) -> None:
    """Skip (fail in CI) where the broker is not running."""
    if kind not in _probed:
        try:
            run_apart(lambda: asyncio.wait_for(_probe(kind), 15))
            _probed[kind] = None
        except Exception as failed:  # noqa: BLE001  any failure to reach it is the same answer
            _probed[kind] = f"{type(failed).__name__}: {failed}"
    if _probed[kind] is not None:
        message = f"{kind} is not reachable at {URLS[kind]} ({_probed[kind]}); start it with `{STARTS[kind]}`"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@dataclass
class Got:
    """A message as the broker holds it."""

    message_id: str
    body: bytes
    key: str  # routing key or subject
    headers: dict[str, Any]
    extra: dict[str, Any]


class Broker:
    """A test's own exchange (with a queue bound to everything) or JetStream stream, read back."""

    def __init__(self, kind: str) -> None:
        self.kind, self.url = kind, URLS[kind]
        self.target = f"wafa-test-{uuid.uuid4().hex[:12]}"
        self.queue = f"{self.target}-q"
        self.got: list[Got] = []

    async def _amqp(self, work: Any) -> Any:
        connection = await aio_pika.connect(self.url, timeout=5)
        try:
            return await work(await connection.channel())
        finally:
            await connection.close()

    async def _js(self, work: Any) -> Any:
        client = await nats.connect(self.url, connect_timeout=5, allow_reconnect=False, max_reconnect_attempts=1, reconnect_time_wait=0)
        try:
            return await work(client.jetstream())
        finally:
            await client.close()

    def run(self, work: Any) -> Any:
        return run_apart(lambda: asyncio.wait_for(self._amqp(work) if self.kind == "rabbitmq" else self._js(work), 30))

    def open(self) -> None:
        if self.kind == "rabbitmq":
            async def bind(channel: Any) -> None:
                exchange = await channel.declare_exchange(self.target, aio_pika.ExchangeType.TOPIC, durable=True)
                queue = await channel.declare_queue(self.queue, durable=False)
                await queue.bind(exchange, "#")
            self.run(bind)

    def close(self) -> None:
        async def amqp(channel: Any) -> None:
            await channel.queue_delete(self.queue)
            await channel.exchange_delete(self.target)

        async def js(js: Any) -> None:
            with contextlib.suppress(nats.js.errors.NotFoundError):
                await js.delete_stream(self.target)
        self.run(amqp if self.kind == "rabbitmq" else js)

    def received(self) -> list[Got]:
        """Everything the exchange's queue or the stream got so far, in order."""
        async def amqp(channel: Any) -> list[Got]:
            queue = await channel.get_queue(self.queue)
            out = []
            while (message := await queue.get(no_ack=True, fail=False)) is not None:
                out.append(Got(message.message_id, message.body, message.routing_key, dict(message.headers), {
                    "type": message.type, "content_type": message.content_type, "delivery_mode": message.delivery_mode,
                    "timestamp": message.timestamp, "app_id": message.app_id,
                }))
            return out

        async def js(js: Any) -> list[Got]:
            try:
                info = await js.stream_info(self.target)
            except nats.js.errors.NotFoundError:
                return []
            out = []
            for seq in range(len(self.got) + 1, info.state.last_seq + 1):
                message = await js.get_msg(self.target, seq)
                out.append(Got(message.headers["Nats-Msg-Id"], message.data, message.subject, dict(message.headers), {}))
            return out

        # A queue is read by taking its messages: keep them, and read the stream on from where it was.
        self.got.extend(self.run(amqp if self.kind == "rabbitmq" else js))
        return list(self.got)

    def stored(self) -> int:
        async def js(js: Any) -> int:
            return int((await js.stream_info(self.target)).state.messages)
        return int(self.run(js))


@contextlib.contextmanager
def opened(kind: str) -> Iterator[Broker]:
    """A broker of the test's own (skipped, or failed in CI, where it is not running), removed afterwards."""
    need(kind)
    made = Broker(kind)
    made.open()
    try:
        yield made
    finally:
        made.close()


@pytest.fixture(params=["rabbitmq", "nats"])
def broker(request: pytest.FixtureRequest) -> Iterator[Broker]:
    with opened(request.param) as made:
        yield made


@pytest.fixture
def rabbit() -> Iterator[Broker]:
    with opened("rabbitmq") as made:
        yield made


@pytest.fixture
def jetstream() -> Iterator[Broker]:
    with opened("nats") as made:
        yield made


@pytest.fixture
def publisher() -> Iterator[streams.StreamPublisher]:
    with streams.StreamPublisher() as made:
        yield made


def _sink(factory, tenant_id: int, broker: Broker, now, url: str | None = None, **fields: Any) -> StreamSink:  # type: ignore[no-untyped-def]
    with unit_of_work(factory) as session:
        return streams.create(session, tenant_id=tenant_id, kind=broker.kind, url=url or broker.url, target=broker.target,
                              subject_prefix=fields.pop("subject_prefix", "wafa"), event_types=fields.pop("event_types", None),
                              description=None, enabled=True, now=now, **fields)


def _get(factory, sink_id: int) -> StreamSink:  # type: ignore[no-untyped-def]
    with factory() as session:
        return session.get_one(StreamSink, sink_id)


def _buy(factory, tenant_id: int, member_id: int, order_id: str, now) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(factory) as session:
        events.record_purchase(session, tenant_id=tenant_id, request_hash=order_id, now=now, event_in=PurchaseIn(
            type="purchase", member=MemberRef(id=member_id), order_id=order_id, amount="40.00", currency="SAR",
        ))


def _activity(factory, tenant_id: int, now, members: int = 2) -> int:  # type: ignore[no-untyped-def]
    """Members enrolled and buying, the messages numbered; returns the tenant's last sequence."""
    for n in range(members):
        member = make_member(factory, tenant_id, now, external_id=f"m{n}-{uuid.uuid4().hex[:6]}")
        _buy(factory, tenant_id, member, f"O{n}-{uuid.uuid4().hex[:6]}", now)
    webhooks.number_and_fan_out(factory, now=now, tenant_id=tenant_id)
    with factory() as session:
        return outbox.last_seq(session, tenant_id=tenant_id)


def _near(when: datetime | None, expected: datetime) -> bool:
    """The worker's time is the one it was given plus the time its work took: a few milliseconds here."""
    return when is not None and abs(when - expected) < timedelta(seconds=2)


def _one_batch(factory, publisher: streams.StreamPublisher, tenant_id: int, now, *, commit: bool = True) -> streams.Published:  # type: ignore[no-untyped-def]
    """A worker's turn, step by step: lease, read, publish, record (or die before the record commits)."""
    with unit_of_work(factory) as session:
        leased = streams.lease(session, now=now, tenant_id=tenant_id)
    assert leased is not None
    with factory() as session:
        batch = streams.pending(session, leased)
    outcome = publisher.publish(leased, batch.messages)
    with factory() as session:  # without commit: closing the session rolls the record back, as a crash would
        assert streams.record(session, leased, batch, outcome, now=now)
        if commit:
            session.commit()
    return outcome


def test_every_message_arrives_in_order_with_the_webhook_ids_and_bodies(factory, broker: Broker, publisher) -> None:  # type: ignore[no-untyped-def]
    clock = FrozenClock(START)
    tenant = make_tenant(factory, START)
    with receiving(200) as receiver:
        with unit_of_work(factory) as session:
            webhooks.create(session, tenant_id=tenant.id, url=receiver.url, event_types=None, description=None, enabled=True, now=START)
        sink = _sink(factory, tenant.id, broker, START)
        last = _activity(factory, tenant.id, START)
        with webhooks.client() as http:
            while webhooks.deliver_due(factory, clock=clock, client=http, tenant_id=tenant.id):
                pass
    assert streams.publish_due(factory, now=clock.now(), publisher=publisher, tenant_id=tenant.id) == last == 4
    got = broker.received()
    hooks = sorted(receiver.received, key=lambda r: r.message["sequence"])  # sent at once, they may arrive in any order
    assert [g.message_id for g in got] == [r.headers["webhook-id"] for r in hooks]
    assert [g.body for g in got] == [r.body for r in hooks]  # byte for byte
    bodies = [r.message for r in hooks]
    assert [b["sequence"] for b in bodies] == [1, 2, 3, 4] and {b["tenant"] for b in bodies} == {tenant.slug}
    for g, body in zip(got, bodies, strict=True):
        if broker.kind == "rabbitmq":
            assert g.key == body["type"] and g.headers == {"wafa-sequence": body["sequence"], "wafa-tenant": tenant.slug}
            assert g.extra["type"] == body["type"] and g.extra["content_type"] == "application/json"
            assert g.extra["delivery_mode"] == aio_pika.DeliveryMode.PERSISTENT and g.extra["timestamp"] is not None
        else:
            assert g.key == f"wafa.{tenant.slug}.{body['type']}"
            assert g.headers["wafa-sequence"] == str(body["sequence"]) and g.headers["Content-Type"] == "application/json"
    now_sink = _get(factory, sink.id)
    assert now_sink.acked_seq == last and now_sink.leased_until is None and now_sink.last_error is None
    assert streams.publish_due(factory, now=clock.now(), publisher=publisher, tenant_id=tenant.id) == 0  # nothing owed twice


def test_a_sink_publishes_only_its_types_and_moves_past_the_others(factory, rabbit: Broker, publisher) -> None:  # type: ignore[no-untyped-def]
    tenant = make_tenant(factory, START)
    sink = _sink(factory, tenant.id, rabbit, START, event_types=["points.earned"])
    _activity(factory, tenant.id, START)
    make_member(factory, tenant.id, START)  # the last message is one the sink does not want
    last = _activity(factory, tenant.id, START, members=0)
    assert streams.publish_due(factory, now=START, publisher=publisher, tenant_id=tenant.id) == 2
    assert [g.key for g in rabbit.received()] == ["points.earned", "points.earned"]
    assert _get(factory, sink.id).acked_seq == last == 5


def test_acked_seq_moves_only_as_far_as_the_broker_confirmed(factory, jetstream: Broker, publisher) -> None:  # type: ignore[no-untyped-def]
    clock = FrozenClock(START)
    tenant = make_tenant(factory, START)
    subjects = [f"wafa.{tenant.slug}.>"]
    # A stream that takes two messages and refuses the rest: the third publish gets an error, not a PubAck.
    jetstream.run(lambda js: js.add_stream(StreamConfig(name=jetstream.target, subjects=subjects, max_msgs=2, discard=DiscardPolicy.NEW)))
    sink = _sink(factory, tenant.id, jetstream, START)
    last = _activity(factory, tenant.id, START)
    assert streams.publish_due(factory, now=clock.now(), publisher=publisher, tenant_id=tenant.id) == 2
    held = _get(factory, sink.id)
    assert held.acked_seq == 2 and "maximum messages" in (held.last_error or "") and _near(held.failing_since, START)
    assert _near(held.leased_until, START + streams.FIRST_RETRY)
    assert streams.publish_due(factory, now=clock.now(), publisher=publisher, tenant_id=tenant.id) == 0  # held back until then
    jetstream.run(lambda js: js.update_stream(StreamConfig(name=jetstream.target, subjects=subjects, max_msgs=-1, discard=DiscardPolicy.NEW)))
    clock.advance(timedelta(seconds=6))
    assert streams.publish_due(factory, now=clock.now(), publisher=publisher, tenant_id=tenant.id) == 2
    assert [g.body for g in jetstream.received()] == _bodies(factory, tenant.id)
    done = _get(factory, sink.id)
    assert done.acked_seq == last and done.last_error is None and done.failing_since is None


def _bodies(factory, tenant_id: int) -> list[bytes]:  # type: ignore[no-untyped-def]
    """The envelopes of a tenant's messages, in sequence order, as streams build them."""
    with factory() as session:
        sink = session.execute(select(StreamSink).where(StreamSink.tenant_id == tenant_id).limit(1)).scalar_one()
        leased = streams.Leased(sink.id, tenant_id, _slug(session, tenant_id), sink.kind, sink.url, sink.target, sink.subject_prefix,
                                None, 0, START, None)
        return [m.body for m in streams.pending(session, leased).messages]


def _slug(session: Session, tenant_id: int) -> str:
    from wafa.tenants.models import Tenant

    return session.get_one(Tenant, tenant_id).slug


def test_a_broker_that_is_down_holds_the_sink_back_and_skips_nothing(factory, broker: Broker, publisher) -> None:  # type: ignore[no-untyped-def]
    clock = FrozenClock(START)
    tenant = make_tenant(factory, START)
    sink = _sink(factory, tenant.id, broker, START, url=DOWN[broker.kind])
    last = _activity(factory, tenant.id, START)
    assert streams.publish_due(factory, now=clock.now(), publisher=publisher, tenant_id=tenant.id) == 0
    down = _get(factory, sink.id)
    assert down.acked_seq == 0 and _near(down.failing_since, START) and _near(down.leased_until, START + streams.FIRST_RETRY)
    assert down.last_error and "s3cret-pw" not in down.last_error
    clock.advance(timedelta(seconds=20))
    assert streams.publish_due(factory, now=clock.now(), publisher=publisher, tenant_id=tenant.id) == 0
    again = _get(factory, sink.id)
    # Held back as long as it has been failing (doubling), still from the first failure.
    assert again.failing_since == down.failing_since and _near(again.leased_until, clock.now() + timedelta(seconds=20))
    with unit_of_work(factory) as session:  # pointed at the broker that runs: tried again at once
        streams.update_sink(session, tenant_id=tenant.id, sink_id=sink.id, changes={"url": broker.url}, now=clock.now())
    assert streams.publish_due(factory, now=clock.now(), publisher=publisher, tenant_id=tenant.id) == last
    assert [g.body for g in broker.received()] == _bodies(factory, tenant.id)
    up = _get(factory, sink.id)
    assert up.acked_seq == last and up.last_error is None and up.failing_since is None


def test_a_rewound_sink_publishes_again_from_the_sequence(factory, rabbit: Broker, publisher) -> None:  # type: ignore[no-untyped-def]
    tenant = make_tenant(factory, START)
    sink = _sink(factory, tenant.id, rabbit, START)
    last = _activity(factory, tenant.id, START)
    assert streams.publish_due(factory, now=START, publisher=publisher, tenant_id=tenant.id) == last
    with unit_of_work(factory) as session:
        with pytest.raises(InvalidInput, match="rewind to 5 or earlier"):
            streams.rewind(session, tenant_id=tenant.id, sink_id=sink.id, from_sequence=6, now=START)
        assert streams.rewind(session, tenant_id=tenant.id, sink_id=sink.id, from_sequence=3, now=START).acked_seq == 2
    assert streams.publish_due(factory, now=START, publisher=publisher, tenant_id=tenant.id) == 2
    sequences = [g.headers["wafa-sequence"] for g in rabbit.received()]
    assert sequences == [1, 2, 3, 4, 3, 4]
    # Messages purged after 30 days are gone: a rewind stops at the oldest one kept.
    later = START + timedelta(days=31)
    newer = _activity(factory, tenant.id, later, members=1)
    with unit_of_work(factory) as session:
        webhooks.purge(session, now=later, tenant_id=tenant.id)
    with unit_of_work(factory) as session, pytest.raises(InvalidInput, match="before sequence 5 are no longer kept"):
        streams.rewind(session, tenant_id=tenant.id, sink_id=sink.id, from_sequence=1, now=later)
    assert streams.publish_due(factory, now=later, publisher=publisher, tenant_id=tenant.id) == newer - last


def test_a_worker_that_dies_before_recording_publishes_the_batch_again_with_the_same_ids(factory, broker: Broker, publisher) -> None:  # type: ignore[no-untyped-def]
    clock = FrozenClock(START)
    tenant = make_tenant(factory, START)
    sink = _sink(factory, tenant.id, broker, START)
    last = _activity(factory, tenant.id, START)
    first = _one_batch(factory, publisher, tenant.id, clock.now(), commit=False)
    assert first.confirmed == last and first.error is None
    assert _get(factory, sink.id).acked_seq == 0  # published, but the worker died before it said so
    assert streams.publish_due(factory, now=clock.now(), publisher=publisher, tenant_id=tenant.id) == 0  # its lease still holds the sink
    clock.advance(timedelta(seconds=get_settings().delivery_lease_seconds + 1))
    again = _one_batch(factory, publisher, tenant.id, clock.now())
    assert again.confirmed == last and _get(factory, sink.id).acked_seq == last
    got = broker.received()
    if broker.kind == "rabbitmq":  # every message twice, with its id: consumers deduplicate by message_id
        assert [g.message_id for g in got[last:]] == [g.message_id for g in got[:last]]
        assert [g.body for g in got[last:]] == [g.body for g in got[:last]] == _bodies(factory, tenant.id)
    else:  # JetStream saw the ids (Nats-Msg-Id) inside its duplicate window, and kept each message once
        assert again.duplicates == last and broker.stored() == last and len(got) == last


@pytest.mark.postgres_only
def test_two_publishers_on_postgresql_never_publish_a_batch_twice(pg_url: str, rabbit: Broker) -> None:
    factory = factory_for(pg_url)
    tenant = make_tenant(factory, START)
    sink = _sink(factory, tenant.id, rabbit, START)
    last = _activity(factory, tenant.id, START, members=12)
    start = threading.Barrier(2)
    published: list[int] = []

    def work() -> None:
        with streams.StreamPublisher() as own:
            start.wait()
            deadline = time.monotonic() + 30
            while _get(factory, sink.id).acked_seq < last and time.monotonic() < deadline:
                published.append(streams.publish_due(factory, now=START, publisher=own, batch=3, rounds=1, tenant_id=tenant.id))

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    got = rabbit.received()
    assert sum(published) == last == 24
    assert Counter(g.message_id for g in got).most_common(1)[0][1] == 1 and [g.headers["wafa-sequence"] for g in got] == list(range(1, 25))


def test_a_stream_with_other_subjects_is_given_ours_or_the_reason_is_shown(factory, jetstream: Broker, publisher) -> None:  # type: ignore[no-untyped-def]
    tenant = make_tenant(factory, START)
    jetstream.run(lambda js: js.add_stream(name=jetstream.target, subjects=[f"{jetstream.target}.orders.>"]))
    sink = _sink(factory, tenant.id, jetstream, START, subject_prefix="shop.events")
    last = _activity(factory, tenant.id, START, members=1)
    assert streams.publish_due(factory, now=START, publisher=publisher, tenant_id=tenant.id) == last
    subjects = jetstream.run(lambda js: js.stream_info(jetstream.target)).config.subjects
    assert subjects == [f"{jetstream.target}.orders.>", f"shop.events.{tenant.slug}.>"]
    assert {g.key for g in jetstream.received()} == {f"shop.events.{tenant.slug}.member.enrolled", f"shop.events.{tenant.slug}.points.earned"}
    # Another stream of the tenant cannot take the same subjects: the sink says why, and waits.
    other = Broker("nats")
    try:
        with unit_of_work(factory) as session:
            streams.update_sink(session, tenant_id=tenant.id, sink_id=sink.id, changes={"target": other.target}, now=START)
        _activity(factory, tenant.id, START, members=1)
        assert streams.publish_due(factory, now=START, publisher=publisher, tenant_id=tenant.id) == 0
        assert "overlap" in (_get(factory, sink.id).last_error or "")
    finally:
        other.close()


def test_a_subject_pattern_covers_what_it_names() -> None:
    covers = streams._covers
    assert covers("wafa.>", "wafa.acme.>") and covers("wafa.*.>", "wafa.acme.>") and covers(">", "wafa.acme.>")
    assert covers("wafa.acme.>", "wafa.acme.>")
    assert not covers("wafa.acme.*", "wafa.acme.>") and not covers("wafa.other.>", "wafa.acme.>") and not covers("wafa", "wafa.acme.>")
