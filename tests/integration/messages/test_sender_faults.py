"""What goes wrong around sending, on both databases: a wording that breaks on one member's values fails
that message alone; a worker whose lease ran out writes nothing over the next worker's; the caps count
a batch's own messages and never hold back a coupon; a hard bounce replaces an unsubscribe; a channel's
settings made invalid keep its messages waiting; reminders reach every member of a big program, with
the last usable day; members born on 29 February hear on the 28th."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, update

from tests.conftest import make_member, make_tenant
from tests.integration.messages.smtp import smtp_server
from wafa.clock import FrozenClock
from wafa.config import get_settings
from wafa.db import unit_of_work
from wafa.events import service as events
from wafa.events.schemas import MemberRef, PurchaseIn
from wafa.messages import channels, journeys, policy, reminders, sender, templates
from wafa.messages import service as messaging
from wafa.messages.models import MemberMessage, MessageChannel, Suppression
from wafa.outbox.models import OutboxMessage


@pytest.fixture(autouse=True)
def _settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("WAFA_WEBHOOK_ALLOW_PRIVATE", "1")
    monkeypatch.setenv("WAFA_PUBLIC_URL", "https://loyalty.example")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _program(factory, clock, server, rules: policy.Policy | None = None, **program) -> int:  # type: ignore[no-untyped-def]
    t = make_tenant(factory, clock.now(), **program).id
    with unit_of_work(factory) as session:
        messaging.save_channel(session, tenant_id=t, channel="email", enabled=True, now=clock.now(), config={
            "provider": "smtp", "host": server.host, "port": server.port, "starttls": False, "sender": "Club <club@example.com>"})
        policy.save(session, tenant_id=t, policy=rules or policy.Policy("00:00", "00:00", 0, 0), now=clock.now())
    return t


def _owe(factory, clock, t: int, member: int, kind: str, key: str) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(factory) as session:
        journeys.queue(session, tenant_id=t, member_id=member, kind=kind, channels=["email"], dedupe_key=key, variables={},
                       due_at=clock.now(), now=clock.now())


def _send(factory, clock, t: int) -> None:  # type: ignore[no-untyped-def]
    with channels.client() as http:
        sender.send_all_due(factory, clock=clock, http=http, tenant_id=t)


def _state(factory, t: int) -> dict[str, tuple[str, str | None]]:  # type: ignore[no-untyped-def]
    with factory() as session:
        rows = session.execute(select(MemberMessage).where(MemberMessage.tenant_id == t)).scalars()
        return {m.dedupe_key: (m.status, m.reason) for m in rows}


def test_a_wording_that_breaks_on_one_members_values_fails_that_message_alone(factory, clock: FrozenClock) -> None:  # type: ignore[no-untyped-def]
    with smtp_server() as server:
        t = _program(factory, clock, server)
        with unit_of_work(factory) as session:  # saved: it renders with the examples (a balance of 1,240)
            templates.save(session, tenant_id=t, kind="birthday", channel="email", language="en", subject="Hi",
                           body="{{ name }}, {{ 100 // balance }} points a day", now=clock.now())
        broke = make_member(factory, t, clock.now(), email="zero@example.com", locale="en", consent={"email": True})
        fine = make_member(factory, t, clock.now(), email="fine@example.com", locale="ar", consent={"email": True})
        _owe(factory, clock, t, broke, "birthday", "broke")
        _owe(factory, clock, t, fine, "birthday", "fine")
        _send(factory, clock, t)
        assert [m["To"] for m in server.messages()] == ["fine@example.com"]
    state = _state(factory, t)
    assert state["broke"] == ("failed", "template_error") and state["fine"] == ("sent", None)


def test_a_worker_whose_lease_ran_out_writes_nothing_over_the_next_ones(factory, clock: FrozenClock) -> None:  # type: ignore[no-untyped-def]
    with smtp_server() as server:
        t = _program(factory, clock, server)
        member = make_member(factory, t, clock.now(), email="slow@example.com", consent={"email": True})
        _owe(factory, clock, t, member, "birthday", "one")
        first = clock.now()
        with unit_of_work(factory) as session:
            [row_id] = sender.lease(session, now=first, tenant_id=t)
        later = first + sender.LEASE + timedelta(seconds=1)  # the first worker is still sending: its lease ran out
        with unit_of_work(factory) as session:
            assert sender.lease(session, now=later, tenant_id=t) == [row_id]
        sender.record(factory, [sender.Decision(row_id, "skipped", "daily_cap", tenant_id=t, member_id=member)], {}, now=later,
                      rng=random.Random(1), until=first + sender.LEASE)
        with factory() as session:
            row = session.get(MemberMessage, row_id)
            assert (row.status, row.leased_until) == ("queued", later + sender.LEASE)  # the second worker's, untouched
        assert server.messages() == []


def test_caps_count_the_batchs_own_messages_and_never_hold_back_a_coupon(factory, clock: FrozenClock) -> None:  # type: ignore[no-untyped-def]
    with smtp_server() as server:
        t = _program(factory, clock, server, rules=policy.Policy("00:00", "00:00", 2, 10))
        member = make_member(factory, t, clock.now(), email="busy@example.com", consent={"email": True})
        for key in ("a", "b", "c"):
            _owe(factory, clock, t, member, "birthday", key)
        _owe(factory, clock, t, member, "reward_issued", "coupon")
        _send(factory, clock, t)
        assert len(server.messages()) == 3
    state = _state(factory, t)
    assert sorted(state.values()) == [("sent", None), ("sent", None), ("sent", None), ("skipped", "daily_cap")]
    assert state["coupon"] == ("sent", None)


def test_a_hard_bounce_replaces_an_unsubscribe(factory, clock: FrozenClock) -> None:  # type: ignore[no-untyped-def]
    t = make_tenant(factory, clock.now()).id
    with unit_of_work(factory) as session:
        sender.suppress(session, tenant_id=t, channel="email", address="Back@example.com", reason="unsubscribe", detail=None, now=clock.now())
        sender.suppress(session, tenant_id=t, channel="email", address="back@example.com", reason="hard_bounce", detail="550", now=clock.now())
        sender.suppress(session, tenant_id=t, channel="email", address="back@example.com", reason="unsubscribe", detail=None, now=clock.now())
    with factory() as session:
        assert session.execute(select(Suppression.address, Suppression.reason, Suppression.detail)
                               .where(Suppression.tenant_id == t)).all() == [("back@example.com", "hard_bounce", "550")]


def test_a_channel_whose_settings_became_invalid_keeps_its_messages_waiting(factory, clock: FrozenClock) -> None:  # type: ignore[no-untyped-def]
    with smtp_server() as server:
        t = _program(factory, clock, server)
        member = make_member(factory, t, clock.now(), email="wait@example.com", consent={"email": True})
        with unit_of_work(factory) as session:  # a setting the rules now refuse (a bare word as the host)
            session.execute(update(MessageChannel).where(MessageChannel.tenant_id == t).values(config={
                "provider": "smtp", "host": "not a host", "port": server.port, "starttls": False, "sender": "Club <club@example.com>"}))
        _owe(factory, clock, t, member, "birthday", "waits")
        _send(factory, clock, t)
        assert server.messages() == []
    with factory() as session:
        row = session.execute(select(MemberMessage).where(MemberMessage.tenant_id == t)).scalar_one()
    assert (row.status, row.reason) == ("queued", "channel_invalid") and row.due_at == clock.now() + timedelta(hours=1)


def test_reminders_reach_every_member_of_a_big_program_with_the_last_usable_day(factory, clock: FrozenClock) -> None:  # type: ignore[no-untyped-def]
    # Every lot expires at local midnight on 1 April (end of month): the last day to use them is 31 March.
    t = make_tenant(factory, clock.now(), timezone="Asia/Riyadh", expiry={"policy": "end_of_month", "periods": 0}).id
    members = [make_member(factory, t, clock.now()) for _ in range(7)]
    for n, member in enumerate(members):
        with unit_of_work(factory) as session:
            events.record_purchase(session, tenant_id=t, request_hash=f"o-{n}", now=clock.now(), event_in=PurchaseIn(
                type="purchase", member=MemberRef(id=member), order_id=f"o-{n}", amount="10.00", currency="SAR"))
    clock.advance(timedelta(days=28))
    with unit_of_work(factory) as session:  # two members a page: every page is read
        assert reminders.points_expiring(session, tenant_id=t, offsets=[7], now=clock.now(), page=2) == 7
        assert reminders.points_expiring(session, tenant_id=t, offsets=[7], now=clock.now(), page=2) == 0
    with factory() as session:
        days = {p["expires_on"] for p in session.execute(select(OutboxMessage.payload).where(
            OutboxMessage.tenant_id == t, OutboxMessage.type == "points.expiring")).scalars()}
    assert days == {"2026-03-31"}


def test_a_member_born_on_29_february_hears_on_the_28th_in_other_years(factory) -> None:  # type: ignore[no-untyped-def]
    clock = FrozenClock(datetime(2027, 2, 28, 9, 0, tzinfo=UTC))
    with smtp_server() as server:
        t = _program(factory, clock, server)
        with unit_of_work(factory) as session:
            journeys.save(session, tenant_id=t, kind="birthday", enabled=True, channels=["email"], settings={}, now=clock.now())
        make_member(factory, t, clock.now(), email="leap@example.com", birth_date=date(2000, 2, 29), consent={"email": True})
        journeys.scan(factory, now=clock.now(), tenant_id=t)
        _send(factory, clock, t)
        assert [m["To"] for m in server.messages()] == ["leap@example.com"]
