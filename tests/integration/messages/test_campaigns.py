"""Broadcast campaigns on both databases: the audience and its holdout chosen at the send time, messages
through a real SMTP server to the audience only, cancel, progress, and a lift that recovers an effect
planted in the members' purchases (and finds none where none was planted)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.conftest import make_member, make_tenant
from tests.integration.messages.smtp import smtp_server
from wafa.clock import FrozenClock
from wafa.config import get_settings
from wafa.db import unit_of_work
from wafa.events import service as events
from wafa.events.schemas import MemberRef, PurchaseIn
from wafa.messages import campaigns, channels, policy, sender
from wafa.messages import service as messaging
from wafa.messages.models import Campaign, CampaignMember, MemberMessage


@pytest.fixture(autouse=True)
def _settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("WAFA_WEBHOOK_ALLOW_PRIVATE", "1")
    monkeypatch.setenv("WAFA_PUBLIC_URL", "https://loyalty.example")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _program(factory, clock, server, members: int) -> tuple[int, list[int]]:  # type: ignore[no-untyped-def]
    tenant = make_tenant(factory, clock.now())
    with unit_of_work(factory) as session:
        messaging.save_channel(session, tenant_id=tenant.id, channel="email", config={
            "provider": "smtp", "host": server.host, "port": server.port, "starttls": False, "sender": "Club <club@example.com>",
        }, enabled=True, now=clock.now())
        policy.save(session, tenant_id=tenant.id, policy=policy.Policy("00:00", "00:00", 0, 0), now=clock.now())
    ids = [make_member(factory, tenant.id, clock.now(), email=f"m{n}@example.com", locale="en" if n % 2 else "ar",
                       consent={"email": n % 10 != 0}) for n in range(members)]
    return tenant.id, ids


def _campaign(factory, clock, tenant_id: int, **overrides) -> int:  # type: ignore[no-untyped-def]
    fields = {"name": "Ramadan evenings", "audience": {"all": True}, "channel": "email",
              "subject": {"en": "Double points tonight", "ar": "نقاط مضاعفة الليلة"},
              "body": {"en": "Hello {{ name }}, double points after iftar.", "ar": "مرحباً {{ name }}، نقاط مضاعفة بعد الإفطار."},
              "send_at": clock.now() + timedelta(hours=1), "holdout_percent": 20, "lift_days": 14, **overrides}
    with unit_of_work(factory) as session:
        return campaigns.create(session, tenant_id=tenant_id, now=clock.now(), **fields).id


def _send(factory, clock) -> None:  # type: ignore[no-untyped-def]
    campaigns.start_due(factory, now=clock.now())
    with channels.client() as http:
        sender.send_all_due(factory, clock=clock, http=http)
    campaigns.finish_done(factory, now=clock.now())


def _buy(factory, tenant_id: int, member_id: int, order_id: str, now, amount: str = "40.00") -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(factory) as session:
        events.record_purchase(session, tenant_id=tenant_id, request_hash=order_id, now=now, event_in=PurchaseIn(
            type="purchase", member=MemberRef(id=member_id), order_id=order_id, amount=amount, currency="SAR",
        ))


def test_a_campaign_goes_to_its_audience_not_its_holdout_at_its_time(factory, clock: FrozenClock) -> None:  # type: ignore[no-untyped-def]
    with smtp_server() as server:
        t, members = _program(factory, clock, server, 40)
        campaign_id = _campaign(factory, clock, t)
        _send(factory, clock)
        assert server.messages() == []  # not before its time
        clock.advance(timedelta(hours=1))
        _send(factory, clock)
        received = {m["To"]: m for m in server.messages()}
    with factory() as session:
        campaign = session.get(Campaign, campaign_id)
        groups = dict(session.execute(
            select(CampaignMember.member_id, CampaignMember.holdout).where(CampaignMember.campaign_id == campaign_id)).all())
        messages = list(session.execute(select(MemberMessage).where(MemberMessage.campaign_id == campaign_id)).scalars())
        progress = campaigns.progress(session, campaign=campaign)
        reasons = campaigns.skipped_reasons(session, campaign=campaign)
    assert campaign.status == "sent" and campaign.audience_count == 40 and campaign.holdout_count == sum(groups.values())
    assert set(groups) == set(members)
    assert {m.member_id for m in messages} == {m for m, held in groups.items() if not held}
    assert all(campaigns.in_holdout(campaign_id, m, 20) == held for m, held in groups.items())
    without_consent = {members[n] for n in range(0, 40, 10)}
    assert progress["sent"] == len(received) == len([m for m, held in groups.items() if not held and m not in without_consent])
    assert reasons.get("no_consent", 0) == len([m for m in without_consent if not groups[m]])
    arabic = next(m for m in received.values() if m["Content-Language"] == "ar")
    assert arabic["Subject"] == "نقاط مضاعفة الليلة" and arabic["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_cancel_before_the_time_sends_nothing_and_while_sending_stops_the_rest(factory, clock: FrozenClock) -> None:  # type: ignore[no-untyped-def]
    with smtp_server() as server:
        t, _ = _program(factory, clock, server, 10)
        early = _campaign(factory, clock, t)
        late = _campaign(factory, clock, t, holdout_percent=0)
        with unit_of_work(factory) as session:
            campaigns.cancel(session, tenant_id=t, campaign_id=early, now=clock.now())
        clock.advance(timedelta(hours=1))
        campaigns.start_due(factory, now=clock.now())
        with unit_of_work(factory) as session:
            campaigns.cancel(session, tenant_id=t, campaign_id=late, now=clock.now())
        with channels.client() as http:
            sender.send_all_due(factory, clock=clock, http=http)
        assert server.messages() == []
    with factory() as session:
        assert session.get(Campaign, early).audience_count == 0
        assert campaigns.progress(session, campaign=session.get(Campaign, late))["cancelled"] == 10


def test_the_lift_recovers_a_planted_effect_and_is_provisional_until_the_horizon(factory, clock: FrozenClock) -> None:  # type: ignore[no-untyped-def]
    with smtp_server() as server:
        t, members = _program(factory, clock, server, 80)
        campaign_id = _campaign(factory, clock, t, send_at=clock.now(), holdout_percent=50, lift_days=7)
        _send(factory, clock)
    with factory() as session:
        groups = dict(session.execute(
            select(CampaignMember.member_id, CampaignMember.holdout).where(CampaignMember.campaign_id == campaign_id)).all())
    # Planted: every member of the audience buys twice in the week, the holdout once (and some not at all).
    for n, member in enumerate(members):
        buys = 1 if groups[member] else 2
        if groups[member] and n % 3 == 0:
            buys = 0
        for k in range(buys):
            _buy(factory, t, member, f"o-{member}-{k}", clock.now() + timedelta(days=1, hours=k))
    clock.advance(timedelta(days=3))
    with factory() as session:
        early = campaigns.lift(session, campaign=session.get(Campaign, campaign_id), now=clock.now())
    clock.advance(timedelta(days=10))
    _buy(factory, t, members[1], "after-the-horizon", clock.now())  # outside the horizon: not counted
    with factory() as session:
        final = campaigns.lift(session, campaign=session.get(Campaign, campaign_id), now=clock.now())
    assert early is not None and early.provisional
    assert final is not None and not final.provisional
    by_name = {m.name: m for m in final.metrics}
    purchases, revenue = by_name["purchases"], by_name["revenue"]
    audience = [m for m, held in groups.items() if not held]
    assert final.audience == len(audience) and purchases.audience_mean == 2.0
    truth = 2.0 - purchases.holdout_mean
    assert purchases.difference == pytest.approx(truth)
    assert purchases.low is not None and purchases.high is not None and 0 < purchases.low <= truth <= purchases.high
    assert purchases.p_value is not None and purchases.p_value < 0.001
    assert revenue.audience_mean == pytest.approx(8000.0)  # two purchases of 40.00 SAR, in halalas
    assert by_name["redemptions"].difference == 0 and by_name["redemptions"].p_value in (None, 1.0)


@pytest.mark.postgres_only
def test_two_workers_start_a_campaign_once(pg_url: str, clock: FrozenClock) -> None:
    from tests.conftest import factory_for

    factory = factory_for(pg_url)
    with smtp_server() as server:
        t, _ = _program(factory, clock, server, 30)
        campaign_id = _campaign(factory, clock, t, send_at=clock.now(), holdout_percent=10)
        started: list[int] = []
        barrier = threading.Barrier(2)

        def start() -> None:
            barrier.wait()
            started.append(campaigns.start_due(factory, now=clock.now()))

        threads = [threading.Thread(target=start) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(started) == [0, 1]
    with factory() as session:
        count = len(session.execute(select(MemberMessage.id).where(MemberMessage.campaign_id == campaign_id)).all())
        campaign = session.get(Campaign, campaign_id)
    assert count == campaign.audience_count - campaign.holdout_count
