"""`wafa worker` delivering webhooks as a real process, killed in the middle of a send and started
again (every message arrives, a duplicate only of the one in flight, with its webhook-id), and two
workers at once on PostgreSQL sharing the work without sending anything twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import (
    PG_ENV,
    copy_sqlite,
    drop_postgres_database,
    factory_for,
    make_member,
    make_tenant,
    migrated_postgres,
    migrated_sqlite,
    new_postgres_database,
)
from tests.integration.notify.receiver import receiving
from wafa.clock import SystemClock
from wafa.db import unit_of_work
from wafa.events import service as events
from wafa.events.schemas import MemberRef, PurchaseIn
from wafa.notify import webhooks
from wafa.notify.models import WebhookDelivery

pytestmark = pytest.mark.usefixtures("allow_private_webhooks")


@pytest.fixture(params=["sqlite", "postgresql"])
def own_url(request: pytest.FixtureRequest, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database of the test's own: the worker process serves every tenant it finds."""
    if request.param == "sqlite":
        yield f"sqlite:///{copy_sqlite(migrated_sqlite(tmp_path_factory), tmp_path / 'wafa.db')}"
        return
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"PostgreSQL tests need {PG_ENV}")
    url = new_postgres_database(base, "wafa_worker", template=migrated_postgres(tmp_path_factory))
    yield url
    factory_for(url).kw["bind"].dispose()
    drop_postgres_database(url)


def _buy(factory, tenant_id: int, member_id: int, order_id: str) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(factory) as session:
        events.record_purchase(session, tenant_id=tenant_id, request_hash=order_id, now=datetime.now(UTC), event_in=PurchaseIn(
            type="purchase", member=MemberRef(id=member_id), order_id=order_id, amount="30.00", currency="SAR",
        ))


def _worker(url: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "WAFA_DATABASE_URL": url, "WAFA_WEBHOOK_ALLOW_PRIVATE": "1", "WAFA_DELIVERY_LEASE_SECONDS": "2",
           "WAFA_DELIVERY_INTERVAL_SECONDS": "0.1", "WAFA_LOG_LEVEL": "warning"}
    wafa = str(Path(sys.executable).parent / "wafa")
    return subprocess.Popen([wafa, "worker", "--deliveries-only"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _wait(condition, seconds: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {seconds} s for {what}")
        time.sleep(0.05)


def test_a_worker_killed_mid_delivery_loses_nothing_once_started_again(own_url: str) -> None:
    factory = factory_for(own_url)
    now = datetime.now(UTC)
    tenant = make_tenant(factory, now)
    # The first request hangs (the worker is killed while waiting for it); every later one succeeds.
    with receiving(("hang", 3.0, 200), 200) as receiver:
        with unit_of_work(factory) as session:
            endpoint = webhooks.create(session, tenant_id=tenant.id, url=receiver.url, event_types=["points.earned"], description=None,
                                       enabled=True, now=now)
        receiver.secrets.append(endpoint.secret)
        members = [make_member(factory, tenant.id, now) for _ in range(3)]
        for n in range(9):
            _buy(factory, tenant.id, members[n % 3], f"K{n}")
        first = _worker(own_url)
        try:
            _wait(lambda: receiver.arrived > 0, 30, "the first request")
            time.sleep(0.3)  # the first requests are in flight, one of them hanging
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(10)
        second = _worker(own_url)
        try:
            def all_delivered() -> bool:
                with factory() as session:
                    statuses = session.execute(select(WebhookDelivery.status).where(WebhookDelivery.endpoint_id == endpoint.id)).scalars().all()
                return len(statuses) == 9 and all(status == "delivered" for status in statuses)

            _wait(all_delivered, 60, "every delivery")
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(10)
    seen = Counter(r.headers["webhook-id"] for r in receiver.received)
    assert len(seen) == 9 and all(r.verified for r in receiver.received)
    assert sum(seen.values()) - 9 <= 3  # only what was in flight when the worker died came twice
    # In order per member, though the first of them came twice.
    by_member: dict[int, list[str]] = {}
    for message in receiver.messages():
        orders = by_member.setdefault(message["member"]["id"], [])
        if message["data"]["order_id"] not in orders:
            orders.append(message["data"]["order_id"])
    assert sorted(by_member.values()) == [["K0", "K3", "K6"], ["K1", "K4", "K7"], ["K2", "K5", "K8"]]


def test_two_workers_at_once_never_send_a_delivery_twice(pg_url: str) -> None:
    factory = factory_for(pg_url)
    now = datetime.now(UTC)
    tenant = make_tenant(factory, now)
    with receiving(200) as receiver:
        with unit_of_work(factory) as session:
            endpoint = webhooks.create(session, tenant_id=tenant.id, url=receiver.url, event_types=["points.earned"], description=None,
                                       enabled=True, now=now)
        members = [make_member(factory, tenant.id, now) for _ in range(40)]
        for n in range(120):
            _buy(factory, tenant.id, members[n % 40], f"T{n}")
        webhooks.number_and_fan_out(factory, now=now, tenant_id=tenant.id)
        clock = SystemClock()

        def pending() -> int:
            with factory() as session:
                return len(session.execute(select(WebhookDelivery.id).where(
                    WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.status == "pending",
                )).all())

        def work() -> None:
            deadline = time.monotonic() + 90
            with webhooks.client() as http:
                while pending() and time.monotonic() < deadline:
                    webhooks.deliver_due(factory, clock=clock, client=http, tenant_id=tenant.id, limit=8)

        threads = [threading.Thread(target=work) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
    seen = Counter(r.headers["webhook-id"] for r in receiver.received)
    assert len(seen) == 120 and set(seen.values()) == {1}
    with factory() as session:
        statuses = set(session.execute(select(WebhookDelivery.status).where(WebhookDelivery.endpoint_id == endpoint.id)).scalars())
    assert statuses == {"delivered"}


def test_one_worker_process_streams_the_outbox_and_sends_members_their_messages(own_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker's loop as shipped: a member joins, and the same `wafa worker` publishes the fact to a
    NATS JetStream stream and e-mails the welcome through a real SMTP server."""
    from tests.integration.messages.smtp import smtp_server
    from tests.integration.notify.test_streams import opened
    from wafa.messages import journeys, policy
    from wafa.messages import service as messaging
    from wafa.notify import streams

    monkeypatch.setenv("WAFA_PUBLIC_URL", "https://loyalty.example")
    factory = factory_for(own_url)
    now = datetime.now(UTC)
    with opened("nats") as broker:
        with smtp_server() as server:
            tenant = make_tenant(factory, now)
            with unit_of_work(factory) as session:
                streams.create(session, tenant_id=tenant.id, kind="nats", url=broker.url, target=broker.target, subject_prefix="wafa",
                               event_types=["member.enrolled"], description=None, enabled=True, now=now)
                messaging.save_channel(session, tenant_id=tenant.id, channel="email", enabled=True, now=now, config={
                    "provider": "smtp", "host": server.host, "port": server.port, "starttls": False, "sender": "Club <club@example.com>"})
                policy.save(session, tenant_id=tenant.id, policy=policy.Policy("00:00", "00:00", 0, 0), now=now)
                journeys.save(session, tenant_id=tenant.id, kind="welcome", enabled=True, channels=["email"], settings={}, now=now)
            member = make_member(factory, tenant.id, now, email="new@example.com", locale="en", consent={"email": True})
            worker = _worker(own_url)
            try:
                _wait(lambda: len(server.messages()) == 1 and len(broker.received()) == 1, 60, "the e-mail and the streamed message")
            finally:
                worker.send_signal(signal.SIGTERM)
                worker.wait(30)
        [got] = broker.received()
        assert got.key == f"wafa.{tenant.slug}.member.enrolled" and f'"id":{member}' in got.body.decode().replace(" ", "")
        assert server.messages()[0]["To"] == "new@example.com"
