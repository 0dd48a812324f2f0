"""Webhooks: endpoints a tenant registers, and delivering the outbox to them.

Delivery is at least once, in sequence order per member and endpoint. The worker numbers what
committed (`outbox.sequence`), owes each new message to every enabled endpoint that subscribes to
its type (`fan_out`), then sends what is due: it leases a batch in one short transaction (on
PostgreSQL `FOR UPDATE SKIP LOCKED`, so several workers share the work and never take the same
delivery), sends each outside any transaction, and records the outcome. A worker that dies mid-send
leaves its lease to run out; another then sends the same message again, with the same `webhook-id`.
A delivery waits while the same endpoint owes an earlier message about the same member.

Signing follows Standard Webhooks (`standardwebhooks`): `webhook-id`, `webhook-timestamp` and
`webhook-signature` = `v1,<base64 HMAC-SHA256 of id.timestamp.body>`; for 24 hours after a rotation
the old secret's signature is sent too. Anything but a 2xx is retried after 5 s, 5 min, 30 min, 2 h,
5 h, then every 10 h (each ±20 %), about three days in all; then the delivery is dead. An endpoint
whose every attempt failed for five days is disabled, with the reason, until someone enables it.
"""

from __future__ import annotations

import base64
import ipaddress
import random
import secrets
import socket
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
from sqlalchemy import ColumnElement, and_, bindparam, case, delete, exists, func, or_, select, true, update
from sqlalchemy.orm import Session, aliased, sessionmaker
from standardwebhooks.webhooks import Webhook

from wafa.config import get_settings
from wafa.db import rowcount, unit_of_work
from wafa.errors import InvalidInput, NotFound
from wafa.members.models import Member
from wafa.messages.models import JourneyCursor
from wafa.notify.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from wafa.notify.stream_models import StreamSink
from wafa.outbox import catalog
from wafa.outbox import service as outbox
from wafa.outbox.models import OutboxMessage
from wafa.tenants.models import Tenant

# Delays before each retry (the first try is at once); jitter ±20 % spreads a recovering receiver's load.
RETRIES = (
    timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2), timedelta(hours=5),
    *(timedelta(hours=10),) * 6,
)
DISABLE_AFTER = timedelta(days=5)
SECRET_OVERLAP = timedelta(hours=24)
TIMEOUT_SECONDS = 10.0
KEEP_LOG = timedelta(days=30)
SENDERS = 16  # requests in flight per worker
BATCH = 64  # deliveries a worker leases at once: four rounds of senders, at worst 40 s of timeouts, inside the lease
RESPONSE_KEPT = 1024


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


# Endpoints --------------------------------------------------------------------------------------

def check_url(url: str, *, field: str = "url", resolve: bool = True) -> None:
    """Refuse what a webhook must not reach: anything but https, or a private, loopback, link-local or
    reserved address (unless WAFA_WEBHOOK_ALLOW_PRIVATE is set, for tests and development)."""
    parts = urlsplit(url)
    allow_private = get_settings().webhook_allow_private
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise InvalidInput("the URL must be an absolute https URL", field=field)
    if parts.scheme != "https" and not allow_private:
        raise InvalidInput("the URL must use https", field=field)
    if parts.username or parts.password:
        raise InvalidInput("the URL must not carry a user name or password: sign with the endpoint's secret instead", field=field)
    if allow_private or not resolve:
        return
    try:
        found = {info[4][0] for info in socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)}
    except (socket.gaierror, UnicodeError):
        raise InvalidInput(f"{parts.hostname} does not resolve", field=field) from None
    for address in found:
        ip = ipaddress.ip_address(str(address).split("%")[0])
        if not ip.is_global or ip.is_multicast:
            raise InvalidInput(f"{parts.hostname} resolves to {ip}, which is not a public address", field=field)


def check_types(types: list[str] | None, *, field: str = "event_types") -> list[str] | None:
    if types is None:
        return None
    unknown = sorted(set(types) - set(catalog.TYPES))
    if unknown:
        raise InvalidInput(f"unknown event types: {', '.join(unknown)} (GET /v1/outbox/event-types lists them)", field=field)
    if not types:
        raise InvalidInput("subscribe to at least one type, or leave event_types out for every type", field=field)
    return sorted(set(types))


def create(
    session: Session, *, tenant_id: int, url: str, event_types: list[str] | None, description: str | None, enabled: bool, now: datetime,
    resolve: bool = True,
) -> WebhookEndpoint:
    """A new endpoint; `resolve=False` skips looking the host up (the demo's example, made offline and
    off: every send checks the address again anyway)."""
    check_url(url, resolve=resolve)
    endpoint = WebhookEndpoint(
        tenant_id=tenant_id, url=url, event_types=check_types(event_types), description=description, enabled=enabled,
        secret=new_secret(), from_seq=outbox.last_seq(session, tenant_id=tenant_id) + 1, created_at=now, updated_at=now,
    )
    session.add(endpoint)
    session.flush()
    return endpoint


def get_or_raise(session: Session, *, tenant_id: int, endpoint_id: int) -> WebhookEndpoint:
    found = session.execute(
        select(WebhookEndpoint).where(WebhookEndpoint.tenant_id == tenant_id, WebhookEndpoint.id == endpoint_id)
    ).scalar_one_or_none()
    if found is None:
        raise NotFound(f"no webhook endpoint {endpoint_id}")
    return found


def list_(session: Session, *, tenant_id: int) -> list[WebhookEndpoint]:
    return list(session.execute(
        select(WebhookEndpoint).where(WebhookEndpoint.tenant_id == tenant_id).order_by(WebhookEndpoint.id)
    ).scalars())


def update_endpoint(session: Session, *, tenant_id: int, endpoint_id: int, changes: dict[str, Any], now: datetime) -> WebhookEndpoint:
    endpoint = get_or_raise(session, tenant_id=tenant_id, endpoint_id=endpoint_id)
    if "url" in changes:
        if changes["url"] is None:
            raise InvalidInput("an endpoint needs a URL", field="url")
        check_url(changes["url"])
        endpoint.url = changes["url"]
    if "event_types" in changes:
        endpoint.event_types = check_types(changes["event_types"])
    if "description" in changes:
        endpoint.description = changes["description"]
    if "enabled" in changes and changes["enabled"] is not None:
        if changes["enabled"] and not endpoint.enabled:
            # Enabled again by someone: failures start counting afresh.
            endpoint.failing_since, endpoint.disabled_reason = None, None
        endpoint.enabled = bool(changes["enabled"])
    endpoint.updated_at = now
    session.flush()
    return endpoint


def delete_endpoint(session: Session, *, tenant_id: int, endpoint_id: int) -> None:
    endpoint = get_or_raise(session, tenant_id=tenant_id, endpoint_id=endpoint_id)
    session.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.status == "pending"))
    session.delete(endpoint)
    session.flush()


def rotate_secret(session: Session, *, tenant_id: int, endpoint_id: int, now: datetime) -> WebhookEndpoint:
    """A new secret; the old one keeps signing beside it for 24 hours, so receivers can switch over."""
    endpoint = get_or_raise(session, tenant_id=tenant_id, endpoint_id=endpoint_id)
    endpoint.previous_secret, endpoint.previous_secret_until = endpoint.secret, now + SECRET_OVERLAP
    endpoint.secret = new_secret()
    endpoint.updated_at = now
    session.flush()
    return endpoint


def send_test(session: Session, *, tenant_id: int, endpoint_id: int, now: datetime) -> str:
    """Queue a webhook.test message for this endpoint only; return its id."""
    endpoint = get_or_raise(session, tenant_id=tenant_id, endpoint_id=endpoint_id)
    return outbox.emit(session, tenant_id=tenant_id, type_="webhook.test", member_id=None, now=now, payload={
        "endpoint_id": endpoint.id, "message": "a test message from Wafa",
    })


def replay(
    session: Session, *, tenant_id: int, endpoint_id: int, now: datetime, message_id: str | None = None, since: datetime | None = None,
) -> int:
    """Owe the endpoint again one message (by id) or every message it subscribes to since a moment;
    return how many. Messages are kept 30 days."""
    endpoint = get_or_raise(session, tenant_id=tenant_id, endpoint_id=endpoint_id)
    query = select(OutboxMessage.id, OutboxMessage.seq, OutboxMessage.member_id, OutboxMessage.type, OutboxMessage.payload).where(
        OutboxMessage.tenant_id == tenant_id, OutboxMessage.seq.is_not(None),
    )
    if message_id is not None:
        query = query.where(OutboxMessage.message_id == message_id)
    elif since is not None:
        query = query.where(OutboxMessage.created_at >= since)
    else:
        raise InvalidInput("give message_id or since", field="message_id")
    rows = [row for row in session.execute(query.order_by(OutboxMessage.seq)) if _wants(endpoint, row.type, row.payload)]
    if message_id is not None and not rows:
        raise NotFound(f"no message {message_id} for this endpoint (messages are kept 30 days)")
    for row in rows:
        found = session.execute(
            select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.message_pk == row.id)
        ).scalar_one_or_none()
        if found is None:
            session.add(WebhookDelivery(
                tenant_id=tenant_id, endpoint_id=endpoint.id, message_pk=row.id, seq=row.seq, member_id=row.member_id,
                status="pending", attempts=0, next_attempt_at=now, created_at=now,
            ))
        elif found.status != "pending":
            found.status, found.attempts, found.next_attempt_at, found.finished_at = "pending", 0, now, None
    session.flush()
    return len(rows)


def _wants(endpoint: WebhookEndpoint, type_: str, payload: dict[str, Any]) -> bool:
    if type_ == "webhook.test":
        return bool(payload.get("endpoint_id") == endpoint.id)
    return endpoint.event_types is None or type_ in endpoint.event_types


# Numbering and fan-out ----------------------------------------------------------------------------

def fan_out(session: Session, *, tenant_id: int, first: int, last: int, now: datetime) -> int:
    """Owe messages [first, last] of a tenant to the endpoints that want them (those turned off too: their
    messages wait for them, kept until delivered); return deliveries made."""
    endpoints = list_(session, tenant_id=tenant_id)
    if not endpoints or first <= 0:
        return 0
    rows = session.execute(
        select(OutboxMessage.id, OutboxMessage.seq, OutboxMessage.member_id, OutboxMessage.type, OutboxMessage.payload)
        .where(OutboxMessage.tenant_id == tenant_id, OutboxMessage.seq >= first, OutboxMessage.seq <= last)
        .order_by(OutboxMessage.seq)
    ).all()
    made = [
        {"tenant_id": tenant_id, "endpoint_id": endpoint.id, "message_pk": row.id, "seq": row.seq, "member_id": row.member_id,
         "status": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now}
        for row in rows for endpoint in endpoints
        if row.seq >= endpoint.from_seq and _wants(endpoint, row.type, row.payload)
    ]
    if made:
        session.execute(WebhookDelivery.__table__.insert(), made)
    return len(made)


def number_and_fan_out(factory: sessionmaker[Session], *, now: datetime, tenant_id: int | None = None) -> int:
    """Number every tenant's committed messages (or one tenant's) and owe them to endpoints; return
    messages numbered."""
    with factory() as session:
        tenants = outbox.unsequenced_tenants(session) if tenant_id is None else [tenant_id]
    numbered = 0
    for tenant_id in tenants:
        with unit_of_work(factory) as session:
            done = outbox.sequence(session, tenant_id=tenant_id)
            if done.first:
                numbered += done.last - done.first + 1
                fan_out(session, tenant_id=tenant_id, first=done.first, last=done.last, now=now)
    return numbered


# Sending ------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Leased:
    delivery_id: int
    tenant_id: int
    endpoint_id: int
    attempts: int
    url: str
    secrets: tuple[str, ...]
    message_id: str
    body: bytes


def lease(session: Session, *, now: datetime, limit: int = 50, tenant_id: int | None = None) -> list[int]:
    """Take up to `limit` due deliveries (of every tenant, or one) for this worker until the lease runs
    out (WAFA_DELIVERY_LEASE_SECONDS, 60: longer than a send can take); the caller commits."""
    earlier = aliased(WebhookDelivery)
    waiting = exists().where(
        earlier.endpoint_id == WebhookDelivery.endpoint_id, earlier.member_id == WebhookDelivery.member_id,
        earlier.status == "pending", earlier.seq < WebhookDelivery.seq,
    )
    query = (
        select(WebhookDelivery.id)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(
            WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now,
            or_(WebhookDelivery.leased_until.is_(None), WebhookDelivery.leased_until <= now),
            WebhookEndpoint.enabled.is_(True), ~waiting,
        )
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.seq)
        .limit(limit)
    )
    if tenant_id is not None:
        query = query.where(WebhookDelivery.tenant_id == tenant_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=WebhookDelivery)
    ids = list(session.execute(query).scalars())
    if not ids:
        return []
    until = now + timedelta(seconds=get_settings().delivery_lease_seconds)
    # Only what no one leased meanwhile (on SQLite, where nothing is skipped, that is the guard).
    taken = session.execute(
        update(WebhookDelivery.__table__)
        .where(WebhookDelivery.id.in_(ids), or_(WebhookDelivery.leased_until.is_(None), WebhookDelivery.leased_until <= now))
        .values(leased_until=until)
        .returning(WebhookDelivery.__table__.c.id)
    ).scalars()
    return sorted(taken)


def _envelopes(session: Session, ids: list[int], now: datetime) -> list[Leased]:
    rows = session.execute(
        select(WebhookDelivery, WebhookEndpoint, OutboxMessage, Tenant.slug, Member.external_id)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .join(OutboxMessage, OutboxMessage.id == WebhookDelivery.message_pk)
        .join(Tenant, Tenant.id == WebhookDelivery.tenant_id)
        .outerjoin(Member, and_(Member.id == OutboxMessage.member_id, Member.tenant_id == OutboxMessage.tenant_id))
        .where(WebhookDelivery.id.in_(ids))
        .order_by(WebhookDelivery.seq)
    ).all()
    out = []
    for delivery, endpoint, message, slug, external_id in rows:
        body = orjson.dumps({
            "id": message.message_id, "type": message.type, "version": message.version, "sequence": message.seq, "tenant": slug,
            "occurred_at": message.occurred_at.isoformat(),
            "member": {"id": message.member_id, "external_id": external_id} if message.member_id is not None else None,
            "data": message.payload,
        })
        keys: tuple[str, ...] = (endpoint.secret,)
        if endpoint.previous_secret and endpoint.previous_secret_until and endpoint.previous_secret_until > now:
            keys += (endpoint.previous_secret,)
        out.append(Leased(delivery.id, delivery.tenant_id, endpoint.id, delivery.attempts, endpoint.url, keys, message.message_id, body))
    return out


def headers_for(leased: Leased, at: datetime) -> dict[str, str]:
    """The Standard Webhooks headers: one signature per secret in use, space-separated."""
    signatures = " ".join(Webhook(key).sign(leased.message_id, at, leased.body) for key in leased.secrets)
    return {
        "content-type": "application/json", "user-agent": "Wafa-Webhooks/1", "webhook-id": leased.message_id,
        "webhook-timestamp": str(int(at.timestamp())), "webhook-signature": signatures,
    }


@dataclass(frozen=True, slots=True)
class Outcome:
    status_code: int | None
    latency_ms: int
    response: str | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def send(client: httpx.Client, leased: Leased, *, at: datetime) -> Outcome:
    started = time.perf_counter()
    try:
        check_url(leased.url)  # the address may have changed since the endpoint was saved
        response = client.post(leased.url, content=leased.body, headers=headers_for(leased, at))
        text = response.content[:RESPONSE_KEPT].decode("utf-8", errors="replace")
        return Outcome(response.status_code, int((time.perf_counter() - started) * 1000), text or None, None)
    except InvalidInput as refused:
        return Outcome(None, int((time.perf_counter() - started) * 1000), None, str(refused))
    except httpx.HTTPError as failed:
        return Outcome(None, int((time.perf_counter() - started) * 1000), None, f"{type(failed).__name__}: {failed}"[:500])


def next_delay(attempts: int, rng: random.Random) -> timedelta | None:
    """The wait before retry number `attempts` (1: the first retry); None when retries are spent."""
    if attempts > len(RETRIES):
        return None
    return RETRIES[attempts - 1] * rng.uniform(0.8, 1.2)


def _record_failure(session: Session, leased: Leased, outcome: Outcome, *, now: datetime, rng: random.Random) -> str:
    """A failed attempt: retry later, or give up (dead); an endpoint failing for five days is disabled."""
    delivery = session.get_one(WebhookDelivery, leased.delivery_id, with_for_update=True)
    if delivery.status != "pending":
        return delivery.status  # replayed or finished meanwhile (a lease that ran out): keep what it is
    delivery.attempts += 1
    delivery.leased_until = None
    delivery.last_status, delivery.last_error = outcome.status_code, outcome.error
    endpoint = session.get_one(WebhookEndpoint, leased.endpoint_id, with_for_update=True)
    if endpoint.failing_since is None:
        endpoint.failing_since = now
    elif now - endpoint.failing_since >= DISABLE_AFTER and endpoint.enabled:
        endpoint.enabled = False
        endpoint.disabled_reason = (
            f"disabled on {now.date().isoformat()}: every delivery failed since {endpoint.failing_since.isoformat()}"
            f" (last: {outcome.status_code or outcome.error})"
        )
    delay = next_delay(delivery.attempts, rng)
    if delay is None:
        delivery.status, delivery.finished_at = "dead", now
        return "dead"
    delivery.next_attempt_at = now + delay
    return "pending"


def deliver_due(
    factory: sessionmaker[Session], *, clock: Any, client: httpx.Client, limit: int = BATCH, rng: random.Random | None = None,
    tenant_id: int | None = None,
) -> dict[str, int]:
    """Lease what is due, send it, record each outcome: one pass of a worker. Returns counts by outcome.
    The signature's timestamp is the wall clock's (receivers refuse one five minutes off theirs)."""
    rng = rng or random.Random()
    with unit_of_work(factory) as session:
        ids = lease(session, now=clock.now(), limit=limit, tenant_id=tenant_id)
    if not ids:
        return {}
    with factory() as session:
        batch = _envelopes(session, ids, clock.now())

    def one(leased: Leased) -> Outcome:
        return send(client, leased, at=datetime.now(UTC))

    # All at once: a batch never holds two deliveries one endpoint owes about the same member (the
    # later one waits), and a batch then takes at most one timeout (10 s), well inside its lease. The
    # outcomes are kept in one transaction: a worker that dies before it leaves them to be sent again.
    with ThreadPoolExecutor(max_workers=min(len(batch), SENDERS)) as pool:
        outcomes = list(pool.map(one, batch))
    with unit_of_work(factory) as session:
        return record_many(session, list(zip(batch, outcomes, strict=True)), now=clock.now(), rng=rng)


_DELIVERED = (
    update(WebhookDelivery.__table__)
    .where(WebhookDelivery.__table__.c.id == bindparam("delivery_id"), WebhookDelivery.__table__.c.status == "pending")
    .values(status="delivered", attempts=WebhookDelivery.__table__.c.attempts + 1, leased_until=None, last_status=bindparam("code"),
            last_error=None, finished_at=bindparam("now"))
)


def record_many(session: Session, done: list[tuple[Leased, Outcome]], *, now: datetime, rng: random.Random) -> dict[str, int]:
    """Keep a batch's outcomes: every attempt in one INSERT, the deliveries that succeeded in one
    statement sent as a batch, and what failed one by one (it moves the endpoint's health). Returns
    counts by the deliveries' status."""
    if not done:
        return {}
    session.execute(WebhookAttempt.__table__.insert(), [
        {"tenant_id": leased.tenant_id, "delivery_id": leased.delivery_id, "endpoint_id": leased.endpoint_id, "attempted_at": now,
         "status_code": outcome.status_code, "latency_ms": outcome.latency_ms, "response": outcome.response, "error": outcome.error}
        for leased, outcome in done
    ])
    counts: dict[str, int] = {}
    ok = [(leased, outcome) for leased, outcome in done if outcome.ok]
    if ok:
        # (A delivery finished meanwhile, its lease having run out, keeps its status: the WHERE says so.)
        session.execute(_DELIVERED, [{"delivery_id": leased.delivery_id, "code": outcome.status_code, "now": now} for leased, outcome in ok])
        counts["delivered"] = len(ok)
        recovered = sorted({leased.endpoint_id for leased, _ in ok})
        # Only a change of an endpoint's health locks its row: the healthy path never waits on it.
        session.execute(
            update(WebhookEndpoint).where(WebhookEndpoint.id.in_(recovered), WebhookEndpoint.failing_since.is_not(None)).values(failing_since=None)
        )
    for leased, outcome in done:
        if not outcome.ok:
            status = _record_failure(session, leased, outcome, now=now, rng=rng)
            counts[status] = counts.get(status, 0) + 1
    return counts


def client() -> httpx.Client:
    """The worker's HTTP client: 10 s timeouts, redirects not followed (a redirect could lead anywhere)."""
    return httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False)


def purge(session: Session, *, now: datetime, tenant_id: int | None = None) -> int:
    """Forget attempts, finished deliveries and numbered messages older than 30 days (a message some
    endpoint still owes is kept), of every tenant or one; return rows deleted."""
    before = now - KEEP_LOG

    def mine(table: Any) -> ColumnElement[bool]:
        return table.tenant_id == tenant_id if tenant_id is not None else true()

    done = rowcount(session.execute(delete(WebhookAttempt).where(WebhookAttempt.attempted_at < before, mine(WebhookAttempt))))
    done += rowcount(session.execute(delete(WebhookDelivery).where(
        WebhookDelivery.status != "pending", WebhookDelivery.finished_at < before, mine(WebhookDelivery),
    )))
    owed = select(WebhookDelivery.id).where(WebhookDelivery.message_pk == OutboxMessage.id, WebhookDelivery.status == "pending")
    # A stream (or the journeys) still behind a message keeps it: they read the outbox itself.
    streamed = select(StreamSink.id).where(
        StreamSink.tenant_id == OutboxMessage.tenant_id, StreamSink.enabled.is_(True), StreamSink.acked_seq < OutboxMessage.seq,
    )  # a sink turned off keeps nothing: turned on again, it resumes with what is still kept
    planned = select(JourneyCursor.tenant_id).where(JourneyCursor.tenant_id == OutboxMessage.tenant_id, JourneyCursor.last_seq < OutboxMessage.seq)
    done += rowcount(session.execute(delete(OutboxMessage).where(
        OutboxMessage.created_at < before, OutboxMessage.seq.is_not(None), ~exists(owed), ~exists(streamed), ~exists(planned),
        mine(OutboxMessage),
    )))
    return done


# Reading ----------------------------------------------------------------------------------------

def health(session: Session, *, tenant_id: int, endpoint_ids: Iterable[int], since: datetime) -> dict[int, dict[str, int]]:
    """Per endpoint: deliveries pending and dead, and attempts since a moment, succeeded and failed."""
    ids = list(endpoint_ids)
    out = {endpoint_id: {"pending": 0, "dead": 0, "succeeded": 0, "failed": 0} for endpoint_id in ids}
    if not ids:
        return out
    for endpoint_id, status, count in session.execute(
        select(WebhookDelivery.endpoint_id, WebhookDelivery.status, func.count())
        .where(WebhookDelivery.tenant_id == tenant_id, WebhookDelivery.endpoint_id.in_(ids), WebhookDelivery.status.in_(("pending", "dead")))
        .group_by(WebhookDelivery.endpoint_id, WebhookDelivery.status)
    ):
        out[endpoint_id][status] = int(count)
    ok = (WebhookAttempt.status_code >= 200) & (WebhookAttempt.status_code < 300)
    for endpoint_id, succeeded, total in session.execute(
        select(WebhookAttempt.endpoint_id, func.sum(case((ok, 1), else_=0)), func.count())
        .where(WebhookAttempt.tenant_id == tenant_id, WebhookAttempt.endpoint_id.in_(ids), WebhookAttempt.attempted_at >= since)
        .group_by(WebhookAttempt.endpoint_id)
    ):
        out[endpoint_id]["succeeded"] = int(succeeded or 0)
        out[endpoint_id]["failed"] = int(total) - int(succeeded or 0)
    return out


def deliveries(
    session: Session, *, tenant_id: int, endpoint_id: int, limit: int = 50, before_id: int | None = None, status: str | None = None,
) -> list[tuple[WebhookDelivery, OutboxMessage]]:
    """An endpoint's deliveries, newest first, with their messages."""
    query = (
        select(WebhookDelivery, OutboxMessage).join(OutboxMessage, OutboxMessage.id == WebhookDelivery.message_pk)
        .where(WebhookDelivery.tenant_id == tenant_id, WebhookDelivery.endpoint_id == endpoint_id)
    )
    if before_id is not None:
        query = query.where(WebhookDelivery.id < before_id)
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    return [(d, m) for d, m in session.execute(query.order_by(WebhookDelivery.id.desc()).limit(limit))]


def attempts_of(session: Session, *, tenant_id: int, delivery_id: int) -> list[WebhookAttempt]:
    return list(session.execute(
        select(WebhookAttempt).where(WebhookAttempt.tenant_id == tenant_id, WebhookAttempt.delivery_id == delivery_id)
        .order_by(WebhookAttempt.id)
    ).scalars())
