"""The workers' broker clients for event streams: a RabbitMQ channel with publisher confirms (aio-pika), a
NATS JetStream context (nats-py), and `StreamPublisher`, which keeps their connections; with what a
publisher is handed (a leased sink, its outgoing messages) and what it answers (`Published`)."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Self, TypeVar
from urllib.parse import urlsplit

import aio_pika
import nats
from nats.js.errors import APIError, NotFoundError

from wafa.errors import InvalidInput
from wafa.notify.stream_urls import check_url, mask_url

T = TypeVar("T")

log = logging.getLogger("wafa.streams")

CONNECT_TIMEOUT = 10.0
PUBLISH_TIMEOUT = 10.0
IDLE_SECONDS = 600.0  # a connection no sink used for this long is closed (its URL changed, or the sink went)


@dataclass(frozen=True, slots=True)
class Leased:
    """A sink a worker holds until `until`, as it was when taken."""

    sink_id: int
    tenant_id: int
    slug: str
    kind: str
    url: str
    target: str
    subject_prefix: str
    event_types: tuple[str, ...] | None
    acked_seq: int
    until: datetime
    failing_since: datetime | None


@dataclass(frozen=True, slots=True)
class Outgoing:
    seq: int
    message_id: str
    type: str
    created_at: datetime
    body: bytes


@dataclass(frozen=True, slots=True)
class Published:
    confirmed: int  # messages the broker confirmed, from the first, in order
    duplicates: int = 0  # of them, those JetStream already held (a repeat inside its duplicate window)
    error: str | None = None


@dataclass
class _Progress:
    confirmed: int = 0
    duplicates: int = 0


class _Amqp:
    """One AMQP connection with a channel in publisher-confirm mode, and the exchanges declared on it."""

    def __init__(self, connection: Any, channel: Any) -> None:
        self.connection, self.channel = connection, channel
        self.exchanges: dict[str, Any] = {}

    @classmethod
    async def open(cls, url: str) -> _Amqp:
        connection = await aio_pika.connect(url, timeout=CONNECT_TIMEOUT)
        return cls(connection, await connection.channel(publisher_confirms=True))

    def is_open(self) -> bool:
        return not self.connection.is_closed and not self.channel.is_closed

    async def publish(self, sink: Leased, messages: Sequence[Outgoing], progress: _Progress, deadline: float | None) -> None:
        exchange = self.exchanges.get(sink.target)
        if exchange is None:
            exchange = await self.channel.declare_exchange(sink.target, aio_pika.ExchangeType.TOPIC, durable=True, timeout=PUBLISH_TIMEOUT)
            self.exchanges[sink.target] = exchange
        for message in messages:
            if deadline is not None and time.monotonic() > deadline:
                return
            # Not mandatory: a message no queue is bound for is the consumers' choice (they bind what they want).
            await exchange.publish(aio_pika.Message(
                message.body, content_type="application/json", delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                message_id=message.message_id, type=message.type, timestamp=message.created_at, app_id="wafa",
                headers={"wafa-sequence": message.seq, "wafa-tenant": sink.slug},
            ), routing_key=message.type, mandatory=False, timeout=PUBLISH_TIMEOUT)
            progress.confirmed += 1

    async def close(self) -> None:
        await self.connection.close()


async def _quiet(error: Exception) -> None:
    log.debug("nats: %s", error)


def _covers(pattern: str, subject: str) -> bool:
    """Whether a NATS subject pattern takes every subject `subject` (itself a pattern) names."""
    ours, theirs = subject.split("."), pattern.split(".")
    for n, token in enumerate(theirs):
        if token == ">":
            return len(ours) > n
        if n >= len(ours) or (token != ours[n] and (token != "*" or ours[n] == ">")):
            return False
    return len(theirs) == len(ours)


class _Nats:
    """One NATS connection, its JetStream context, and the streams made sure of on it."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.js = client.jetstream(timeout=PUBLISH_TIMEOUT)
        self.ensured: set[tuple[str, str]] = set()

    @classmethod
    async def open(cls, url: str) -> _Nats:
        # Reconnecting is ours to do (the next call opens a new connection), so a dead broker fails fast.
        client = await nats.connect(url, connect_timeout=CONNECT_TIMEOUT, allow_reconnect=False, max_reconnect_attempts=1,
                                    reconnect_time_wait=0, error_cb=_quiet)
        return cls(client)

    def is_open(self) -> bool:
        return bool(self.client.is_connected)

    async def _ensure(self, stream: str, subjects: str) -> None:
        if (stream, subjects) in self.ensured:
            return
        try:
            info = await self.js.stream_info(stream)
        except NotFoundError:
            await self.js.add_stream(name=stream, subjects=[subjects])
        else:
            kept = list(info.config.subjects or [])
            if not any(_covers(pattern, subjects) for pattern in kept):
                info.config.subjects = [*kept, subjects]
                try:
                    await self.js.update_stream(info.config)
                except APIError as refused:
                    raise RuntimeError(f"the JetStream stream {stream} takes {', '.join(kept)}, not {subjects}, and refused it: {refused}") from None
        self.ensured.add((stream, subjects))

    async def publish(self, sink: Leased, messages: Sequence[Outgoing], progress: _Progress, deadline: float | None) -> None:
        root = f"{sink.subject_prefix}.{sink.slug}"
        await self._ensure(sink.target, f"{root}.>")
        for message in messages:
            if deadline is not None and time.monotonic() > deadline:
                return
            ack = await self.js.publish(f"{root}.{message.type}", message.body, timeout=PUBLISH_TIMEOUT, stream=sink.target, headers={
                "Nats-Msg-Id": message.message_id, "Content-Type": "application/json", "wafa-sequence": str(message.seq),
                "wafa-tenant": sink.slug, "wafa-type": message.type,
            })
            progress.confirmed += 1
            progress.duplicates += 1 if ack.duplicate else 0

    async def close(self) -> None:
        await self.client.close()


@dataclass
class _Link:
    client: _Amqp | _Nats
    used: float = field(default_factory=time.monotonic)


class StreamPublisher:
    """The worker's broker clients: one event loop of their own, in a thread of their own (so a caller
    that already runs a loop, as a test beside a browser does, can still publish), one connection per
    sink URL kept open across calls (opened again after a failure), closed on exit."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._links: dict[str, _Link] = {}

    def __enter__(self) -> Self:
        loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=loop.run_forever, name="wafa-streams", daemon=True)
        self._thread.start()
        self._loop = loop
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None and self._thread is not None
        try:
            self._call(self._close(list(self._links)))
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(30)
            self._loop.close()
            self._loop = self._thread = None

    def _call(self, work: Coroutine[Any, Any, T]) -> T:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(work, self._loop).result()

    def publish(self, sink: Leased, messages: Sequence[Outgoing], *, deadline: float | None = None) -> Published:
        """Publish in order, each confirmed before the next, until done, a failure or the (monotonic) deadline."""
        if self._loop is None:
            raise RuntimeError("StreamPublisher publishes inside its `with` block")
        return self._call(self._publish(sink, messages, deadline))

    async def _publish(self, sink: Leased, messages: Sequence[Outgoing], deadline: float | None) -> Published:
        now = time.monotonic()
        await self._close([url for url, link in self._links.items() if now - link.used > IDLE_SECONDS and url != sink.url])
        progress = _Progress()
        try:
            link = self._links.get(sink.url)
            if link is None or not link.client.is_open():
                await self._close([sink.url])
                check_url(sink.url, kind=sink.kind)  # the address may have changed since the sink was saved
                link = self._links[sink.url] = _Link(await (_Amqp.open(sink.url) if sink.kind == "rabbitmq" else _Nats.open(sink.url)))
            link.used = now
            await link.client.publish(sink, messages, progress, deadline)
        except Exception as failed:  # noqa: BLE001  whatever the broker or the network did: keep what was confirmed, retry later
            await self._close([sink.url])
            return Published(progress.confirmed, progress.duplicates, _describe(failed, sink.url))
        return Published(progress.confirmed, progress.duplicates)

    async def _close(self, urls: list[str]) -> None:
        for url in urls:
            link = self._links.pop(url, None)
            if link is not None:
                try:
                    await asyncio.wait_for(link.client.close(), CONNECT_TIMEOUT)
                except Exception as failed:  # noqa: BLE001  a connection that cannot even close is gone anyway
                    log.debug("closing a broker connection: %s", failed)


def _describe(failed: Exception, url: str) -> str:
    """An error as shown on the sink: its kind and message, the URL's password taken out."""
    text = failed.detail if isinstance(failed, InvalidInput) else f"{type(failed).__name__}: {str(failed) or 'no answer in time'}"
    text = text.replace(url, mask_url(url))
    password = urlsplit(url).password
    return (text.replace(password, "***") if password else text)[:500]
