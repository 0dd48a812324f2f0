"""Webhook delivery against a real receiver on 127.0.0.1 (both databases): signed per Standard Webhooks
and checked by its verifier, in order per member, retried on the schedule with the clock moved, dead
after the retries, an endpoint disabled after five days of failures, a hang cut by the timeout, a lease
left by a dead worker taken over with the same webhook-id, secrets rotated with both signatures sent,
replays, and 30 days of logs."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

from tests.conftest import START, make_member, make_tenant
from tests.integration.notify.receiver import receiving
from wafa.clock import FrozenClock
from wafa.config import get_settings
from wafa.db import unit_of_work
from wafa.errors import InvalidInput
from wafa.events import service as events
from wafa.events.schemas import MemberRef, PurchaseIn
from wafa.notify import webhooks
from wafa.notify.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from wafa.outbox.models import OutboxMessage

pytestmark = pytest.mark.usefixtures("allow_private_webhooks")


def _buy(factory, tenant_id: int, member_id: int, order_id: str, now, amount: str = "50.00") -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(factory) as session:
        events.record_purchase(session, tenant_id=tenant_id, request_hash=order_id, now=now, event_in=PurchaseIn(
            type="purchase", member=MemberRef(id=member_id), order_id=order_id, amount=amount, currency="SAR",
        ))


def _endpoint(factory, tenant_id: int, url: str, now, types: list[str] | None = None) -> WebhookEndpoint:  # type: ignore[no-untyped-def]
    with unit_of_work(factory) as session:
        return webhooks.create(session, tenant_id=tenant_id, url=url, event_types=types, description=None, enabled=True, now=now)


def _pass(factory, clock, tenant_id: int, http: httpx.Client | None = None) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """What a worker does until nothing is due: number, owe, send (a member's next message waits for the one before)."""
    webhooks.number_and_fan_out(factory, now=clock.now(), tenant_id=tenant_id)
    total: dict[str, int] = {}
    client = http or webhooks.client()
    try:
        while done := webhooks.deliver_due(factory, clock=clock, client=client, tenant_id=tenant_id):
            for status, count in done.items():
                total[status] = total.get(status, 0) + count
    finally:
        if http is None:
            client.close()
    return total


def _deliveries(factory, endpoint_id: int) -> list[WebhookDelivery]:  # type: ignore[no-untyped-def]
    with factory() as session:
        query = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id).order_by(WebhookDelivery.seq)
        return list(session.execute(query).scalars())


def test_messages_reach_the_receiver_signed_in_order_with_the_envelope(factory) -> None:  # type: ignore[no-untyped-def]
    clock = FrozenClock(START)
    tenant = make_tenant(factory, START)
    with receiving(200) as receiver:
        endpoint = _endpoint(factory, tenant.id, receiver.url, START)
        receiver.secrets.append(endpoint.secret)
        ana = make_member(factory, tenant.id, START, external_id="ana")
        _buy(factory, tenant.id, ana, "W1", START)
        _buy(factory, tenant.id, ana, "W2", START)
        assert _pass(factory, clock, tenant.id) == {"delivered": 3}  # enrolled, earned, earned
    got = receiver.messages()
    assert [m["type"] for m in got] == ["member.enrolled", "points.earned", "points.earned"]
    assert [m["sequence"] for m in got] == [1, 2, 3]
    assert all(r.verified for r in receiver.received)
    first = got[1]
    assert first["member"] == {"id": ana, "external_id": "ana"} and first["tenant"] == tenant.slug and first["version"] == 1
    assert first["data"]["points"] == 50 and first["data"]["order_id"] == "W1" and first["data"]["status"] in ("pending", "available")
    assert receiver.received[1].headers["webhook-id"] == first["id"] and first["id"].startswith("msg_")
    with factory() as session:
        assert session.execute(select(func.count()).select_from(WebhookAttempt).where(WebhookAttempt.endpoint_id == endpoint.id)).scalar() == 3
    # Nothing owed twice: a second pass sends nothing.
    assert _pass(factory, clock, tenant.id) == {}


def test_a_rolled_back_change_emits_nothing(factory) -> None:  # type: ignore[no-untyped-def]
    tenant = make_tenant(factory, START)
    member = make_member(factory, tenant.id, START)
    with pytest.raises(RuntimeError), unit_of_work(factory) as session:
        events.record_purchase(session, tenant_id=tenant.id, request_hash="R1", now=START, event_in=PurchaseIn(
            type="purchase", member=MemberRef(id=member), order_id="R1", amount="20.00", currency="SAR",
        ))
        raise RuntimeError("the request failed after the purchase")
    with factory() as session:
        types = list(session.execute(select(OutboxMessage.type).where(OutboxMessage.tenant_id == tenant.id)).scalars())
    assert types == ["member.enrolled"]


def test_a_failing_receiver_is_retried_on_the_schedule_and_later_messages_of_the_member_wait(factory) -> None:  # type: ignore[no-untyped-def]
    clock = FrozenClock(START)
    tenant = make_tenant(factory, START)
    with receiving(500, 200) as receiver:
        endpoint = _endpoint(factory, tenant.id, receiver.url, START, types=["points.earned"])
        receiver.secrets.append(endpoint.secret)
        ana, bob = make_member(factory, tenant.id, START), make_member(factory, tenant.id, START)
        _buy(factory, tenant.id, ana, "A1", START)
        assert _pass(factory, clock, tenant.id) == {"pending": 1}  # 500: to be retried
        _buy(factory, tenant.id, ana, "A2", START)
        _buy(factory, tenant.id, bob, "B1", START)
        # Bob's message goes; Ana's second waits behind her first.
        assert _pass(factory, clock, tenant.id) == {"delivered": 1}
        assert receiver.messages()[-1]["member"]["id"] == bob
        first = _deliveries(factory, endpoint.id)[0]
        assert first.attempts == 1 and first.last_status == 500
        assert timedelta(seconds=4) <= first.next_attempt_at - START <= timedelta(seconds=6)
        clock.advance(timedelta(seconds=7))
        assert _pass(factory, clock, tenant.id) == {"delivered": 2}  # Ana's first, then her second
    orders = [m["data"]["order_id"] for m in receiver.messages()]
    assert orders == ["A1", "B1", "A1", "A2"]
    with factory() as session:
        endpoint_now = session.get_one(WebhookEndpoint, endpoint.id)
        assert endpoint_now.failing_since is None and endpoint_now.enabled


def test_retries_run_out_after_about_three_days_and_five_days_of_failures_disable_the_endpoint(factory) -> None:  # type: ignore[no-untyped-def]
    clock = FrozenClock(START)
    tenant = make_tenant(factory, START)
    with receiving(503) as receiver:
        endpoint = _endpoint(factory, tenant.id, receiver.url, START, types=["points.earned"])
        member = make_member(factory, tenant.id, START)
        _buy(factory, tenant.id, member, "D1", START)
        statuses = []
        while True:
            statuses.append(_pass(factory, clock, tenant.id))
            delivery = _deliveries(factory, endpoint.id)[0]
            if delivery.status != "pending":
                break
            clock.set(delivery.next_attempt_at)
        assert delivery.status == "dead" and delivery.attempts == len(webhooks.RETRIES) + 1
        # About three days: the retries' delays, each jittered by ±20 % (2.25 to 3.4 days in all).
        spent = sum(webhooks.RETRIES, timedelta())
        assert spent * 0.8 <= clock.now() - START <= spent * 1.2
        # Two days later the endpoint still fails: five days of it disable it, with the reason.
        clock.advance(timedelta(days=2, hours=12))
        _buy(factory, tenant.id, member, "D2", clock.now())
        _pass(factory, clock, tenant.id)
    with factory() as session:
        disabled = session.get_one(WebhookEndpoint, endpoint.id)
        assert not disabled.enabled and "every delivery failed since" in (disabled.disabled_reason or "")
        assert session.execute(select(func.count()).select_from(WebhookAttempt).where(WebhookAttempt.endpoint_id == endpoint.id)).scalar() == (
            len(webhooks.RETRIES) + 2
        )
    # Enabled again by hand: failures count afresh, and what is due goes out.
    with unit_of_work(factory) as session:
        again = webhooks.update_endpoint(session, tenant_id=tenant.id, endpoint_id=endpoint.id, changes={"enabled": True}, now=clock.now())
        assert again.enabled and again.failing_since is None and again.disabled_reason is None


def test_a_receiver_that_hangs_is_cut_by_the_timeout(factory) -> None:  # type: ignore[no-untyped-def]
    clock = FrozenClock(START)
    tenant = make_tenant(factory, START)
    with receiving(("hang", 2.0, 200), 200) as receiver:
        endpoint = _endpoint(factory, tenant.id, receiver.url, START, types=["points.earned"])
        _buy(factory, tenant.id, make_member(factory, tenant.id, START), "H1", START)
        with httpx.Client(timeout=0.5, follow_redirects=False) as impatient:
            assert _pass(factory, clock, tenant.id, http=impatient) == {"pending": 1}
        delivery = _deliveries(factory, endpoint.id)[0]
        assert delivery.last_status is None and "Timeout" in (delivery.last_error or "")
        clock.advance(timedelta(seconds=7))
        assert _pass(factory, clock, tenant.id) == {"delivered": 1}


def test_a_lease_left_by_a_dead_worker_runs_out_and_the_same_message_goes_again(factory) -> None:  # type: ignore[no-untyped-def]
    clock = FrozenClock(START)
    tenant = make_tenant(factory, START)
    with receiving(200) as receiver:
        endpoint = _endpoint(factory, tenant.id, receiver.url, START, types=["points.earned"])
        _buy(factory, tenant.id, make_member(factory, tenant.id, START), "L1", START)
        webhooks.number_and_fan_out(factory, now=clock.now(), tenant_id=tenant.id)
        with unit_of_work(factory) as session:  # a worker leases it, then dies before sending
            assert len(webhooks.lease(session, now=clock.now(), tenant_id=tenant.id)) == 1
        assert _pass(factory, clock, tenant.id) == {}  # held by the dead worker's lease
        clock.advance(timedelta(seconds=get_settings().delivery_lease_seconds + 1))
        assert _pass(factory, clock, tenant.id) == {"delivered": 1}
    assert _deliveries(factory, endpoint.id)[0].status == "delivered"


def test_a_rotated_secret_signs_beside_the_old_one_for_a_day(factory) -> None:  # type: ignore[no-untyped-def]
    clock = FrozenClock(START)
    tenant = make_tenant(factory, START)
    with receiving(200) as receiver:
        endpoint = _endpoint(factory, tenant.id, receiver.url, START, types=["points.earned"])
        old = endpoint.secret
        with unit_of_work(factory) as session:
            new = webhooks.rotate_secret(session, tenant_id=tenant.id, endpoint_id=endpoint.id, now=START).secret
        member = make_member(factory, tenant.id, START)
        receiver.secrets[:] = [old]  # a receiver not switched over yet
        _buy(factory, tenant.id, member, "S1", START)
        _pass(factory, clock, tenant.id)
        receiver.secrets[:] = [new]  # one switched over
        _buy(factory, tenant.id, member, "S2", START)
        _pass(factory, clock, tenant.id)
        clock.advance(timedelta(hours=25))
        receiver.secrets[:] = [old]  # a day later the old one no longer signs
        _buy(factory, tenant.id, member, "S3", clock.now())
        _pass(factory, clock, tenant.id)
    assert [len(r.headers["webhook-signature"].split(" ")) for r in receiver.received] == [2, 2, 1]
    assert [r.verified for r in receiver.received] == [True, True, False]


def test_replay_one_message_or_everything_since_and_send_a_test(factory) -> None:  # type: ignore[no-untyped-def]
    clock = FrozenClock(START)
    tenant = make_tenant(factory, START)
    with receiving(200) as receiver:
        endpoint = _endpoint(factory, tenant.id, receiver.url, START, types=["points.earned"])
        other = _endpoint(factory, tenant.id, receiver.url, START, types=["tier.upgraded"])
        member = make_member(factory, tenant.id, START)
        _buy(factory, tenant.id, member, "P1", START)
        _buy(factory, tenant.id, member, "P2", START)
        _pass(factory, clock, tenant.id)
        first_id = receiver.messages()[0]["id"]
        with unit_of_work(factory) as session:
            assert webhooks.replay(session, tenant_id=tenant.id, endpoint_id=endpoint.id, now=clock.now(), message_id=first_id) == 1
        _pass(factory, clock, tenant.id)
        with unit_of_work(factory) as session:
            assert webhooks.replay(session, tenant_id=tenant.id, endpoint_id=endpoint.id, now=clock.now(), since=START - timedelta(hours=1)) == 2
            # The other endpoint subscribes to neither: nothing to replay.
            assert webhooks.replay(session, tenant_id=tenant.id, endpoint_id=other.id, now=clock.now(), since=START - timedelta(hours=1)) == 0
        _pass(factory, clock, tenant.id)
        with unit_of_work(factory) as session:
            test_id = webhooks.send_test(session, tenant_id=tenant.id, endpoint_id=other.id, now=clock.now())
        _pass(factory, clock, tenant.id)
    got = receiver.messages()
    assert [m["data"].get("order_id") for m in got[:5]] == ["P1", "P2", "P1", "P1", "P2"]
    assert got[0]["id"] == got[2]["id"]  # a replay is the same message: receivers deduplicate by its id
    assert got[5]["id"] == test_id and got[5]["type"] == "webhook.test" and got[5]["member"] is None and len(got) == 6


def test_urls_must_be_https_on_public_addresses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAFA_WEBHOOK_ALLOW_PRIVATE", "0")
    get_settings.cache_clear()
    for url, says in (
        ("http://example.com/hook", "https"), ("https://127.0.0.1/hook", "not a public address"),
        ("https://10.1.2.3/hook", "not a public address"), ("https://[::1]/hook", "not a public address"),
        ("https://169.254.169.254/latest", "not a public address"), ("https://user:pw@93.184.216.34/", "password"),
        ("ftp://example.com/", "https"), ("not a url", "https"),
    ):
        with pytest.raises(InvalidInput) as refused:
            webhooks.check_url(url)
        assert says in str(refused.value), url
    webhooks.check_url("https://93.184.216.34/hook")  # a public address, given as one: no lookup needed


def test_thirty_days_of_logs_are_kept(factory) -> None:  # type: ignore[no-untyped-def]
    clock = FrozenClock(START)
    tenant = make_tenant(factory, START)
    with receiving(200) as receiver:
        endpoint = _endpoint(factory, tenant.id, receiver.url, START, types=["points.earned"])
        _buy(factory, tenant.id, make_member(factory, tenant.id, START), "K1", START)
        _pass(factory, clock, tenant.id)
    with unit_of_work(factory) as session:
        webhooks.purge(session, now=START + timedelta(days=29), tenant_id=tenant.id)
    assert len(_deliveries(factory, endpoint.id)) == 1
    with unit_of_work(factory) as session:
        webhooks.purge(session, now=START + timedelta(days=31), tenant_id=tenant.id)
        assert session.execute(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.tenant_id == tenant.id)).scalar() == 0
        assert session.execute(select(func.count()).select_from(WebhookAttempt).where(WebhookAttempt.endpoint_id == endpoint.id)).scalar() == 0
    assert _deliveries(factory, endpoint.id) == []
