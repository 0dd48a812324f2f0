"""Messages to members, end to end on both databases: facts in the outbox become journey messages,
sent through a real SMTP server (aiosmtpd) and a real HTTP server playing the SMS provider, under the
rules every send obeys (consent, suppression, member status, quiet hours and caps with the clock
moved), with retries, hard bounces, reminders announced once, and one-click unsubscribe."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.conftest import make_member, make_tenant
from tests.integration.messages.provider import Answer, providing
from tests.integration.messages.smtp import smtp_server
from wafa.clock import FrozenClock
from wafa.config import get_settings
from wafa.db import unit_of_work
from wafa.events import service as events
from wafa.events.schemas import MemberRef, PurchaseIn
from wafa.members import service as members
from wafa.members.models import ConsentChange
from wafa.members.schemas import MemberUpdate
from wafa.messages import channels, journeys, policy, sender
from wafa.messages import service as messaging
from wafa.messages.models import MemberMessage, Suppression
from wafa.notify import webhooks
from wafa.outbox.models import OutboxMessage


@pytest.fixture(autouse=True)
def _settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Providers on 127.0.0.1, and links in messages on https (as a real deployment's)."""
    monkeypatch.setenv("WAFA_WEBHOOK_ALLOW_PRIVATE", "1")
    monkeypatch.setenv("WAFA_PUBLIC_URL", "https://loyalty.example")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


NO_QUIET = policy.Policy(quiet_start="00:00", quiet_end="00:00", daily_cap=0, weekly_cap=0)


def _setup(factory, clock, server=None, sms_url: str | None = None, rules: policy.Policy = NO_QUIET, **program) -> int:  # type: ignore[no-untyped-def]
    tenant = make_tenant(factory, clock.now(), **program)
    with unit_of_work(factory) as session:
        if server is not None:
            messaging.save_channel(session, tenant_id=tenant.id, channel="email", config={
                "provider": "smtp", "host": server.host, "port": server.port, "starttls": False, "sender": "Demo Coffee <club@example.com>",
            }, enabled=True, now=clock.now())
        if sms_url is not None:
            messaging.save_channel(session, tenant_id=tenant.id, channel="sms", config={
                "provider": "http", "channel": "sms", "url": sms_url, "body_template": '{"to": {{ to|tojson }}, "text": {{ text|tojson }}}',
            }, enabled=True, now=clock.now())
        policy.save(session, tenant_id=tenant.id, policy=rules, now=clock.now())
    return tenant.id


def _journey(factory, clock, tenant_id: int, kind: str, channels_: list[str] | None = None, **settings) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(factory) as session:
        journeys.save(session, tenant_id=tenant_id, kind=kind, enabled=True, channels=channels_ or ["email", "sms"], settings=settings,
                      now=clock.now())


def _run(factory, clock, tenant_id: int | None = None) -> int:  # type: ignore[no-untyped-def]
    """What the worker does between passes: number the outbox, plan, send until nothing is due (the
    databases are shared by the tests: a count asked for is one tenant's)."""
    webhooks.number_and_fan_out(factory, now=clock.now())
    journeys.plan(factory, now=clock.now())
    with channels.client() as http:
        return sender.send_all_due(factory, clock=clock, http=http, tenant_id=tenant_id)


def _messages(factory, tenant_id: int) -> list[MemberMessage]:  # type: ignore[no-untyped-def]
    with factory() as session:
        return list(session.execute(select(MemberMessage).where(MemberMessage.tenant_id == tenant_id).order_by(MemberMessage.id)).scalars())


def _consent(email: bool = True, sms: bool = False) -> dict:  # type: ignore[type-arg]
    return {"email": email, "sms": sms}


def test_welcome_goes_once_in_the_members_language_with_one_click_unsubscribe(factory, clock: FrozenClock) -> None:  # type: ignore[no-untyped-def]
    with smtp_server() as server:
        t = _setup(factory, clock, server)
        _journey(factory, clock, t, "welcome")
        ar = make_member(factory, t, clock.now(), name="سارة", email="sara@example.com", locale="ar", consent=_consent())
        en = make_member(factory, t, clock.now(), name="Omar", email="omar@example.com", locale="en", consent=_consent())
        assert _run(factory, clock, t) == 2
        assert _run(factory, clock, t) == 0  # planned once: reading the outbox again owes nothing more
        by_to = {m["To"]: m for m in server.messages()}
        assert set(by_to) == {"sara@example.com", "omar@example.com"}
        assert by_to["sara@example.com"]["Subject"].startswith("أهلاً بك في")
        assert "مرحباً سارة" in by_to["sara@example.com"].get_body(("plain",)).get_content()
        assert by_to["omar@example.com"]["Subject"].startswith("Welcome to")
        assert by_to["omar@example.com"]["Content-Language"] == "en"
        link = by_to["omar@example.com"]["List-Unsubscribe"]
        assert link.startswith("<https://loyalty.example/m/") and f"/unsubscribe/{en}/email/" in link
        assert by_to["omar@example.com"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    sent = _messages(factory, t)
    assert {(m.member_id, m.status, m.channel, m.kind) for m in sent} == {(ar, "sent", "email", "welcome"), (en, "sent", "email", "welcome")}
    assert all(m.sent_at == clock.now() and m.provider_id for m in sent)


def test_every_send_obeys_consent_status_and_suppression_and_says_why(factory, clock: FrozenClock) -> None:  # type: ignore[no-untyped-def]
    with smtp_server() as server, providing(Answer(200, {"id": "sms-1"})) as provider:
        t = _setup(factory, clock, server, sms_url=provider.url)
        _journey(factory, clock, t, "welcome", ["email", "sms"])
        no_consent = make_member(factory, t, clock.now(), email="a@example.com", consent=_consent(email=False))
        by_sms = make_member(factory, t, clock.now(), email="b@example.com", phone="+966501234567", consent=_consent(email=False, sms=True))
        suppressed = make_member(factory, t, clock.now(), email="c@example.com", consent=_consent())
        suspended = make_member(factory, t, clock.now(), email="d@example.com", consent=_consent())
        no_address = make_member(factory, t, clock.now(), consent=_consent())
        with unit_of_work(factory) as session:
            sender.suppress(session, tenant_id=t, channel="email", address="C@example.com", reason="manual", detail=None, now=clock.now())
            members.change_status(session, tenant_id=t, member_id=suspended, action="suspend", reason="fraud check", now=clock.now())
        _run(factory, clock)
        assert [m["To"] for m in server.messages()] == []
        assert [r.json["to"] for r in provider.requests] == ["+966501234567"]
    got = {m.member_id: (m.status, m.reason, m.channel) for m in _messages(factory, t)}
    assert got == {
        no_consent: ("skipped", "no_consent", None), by_sms: ("sent", None, "sms"), suppressed: ("skipped", "suppressed", None),
        suspended: ("skipped", "member_inactive", None), no_address: ("skipped", "no_address", None),
    }
    detail = next(m.detail for m in _messages(factory, t) if m.member_id == no_consent)
    assert detail == "email: no_consent; sms: no_address"


def test_quiet_hours_defer_to_their_end_in_the_programs_time_zone(factory) -> None:  # type: ignore[no-untyped-def]
    # 22:30 in Riyadh (UTC+3): quiet from 21:00 to 09:00.
    clock = FrozenClock(datetime(2026, 3, 1, 19, 30, tzinfo=UTC))
    with smtp_server() as server:
        t = _setup(factory, clock, server, rules=policy.Policy("21:00", "09:00", 0, 0), timezone="Asia/Riyadh")
        _journey(factory, clock, t, "welcome")
        make_member(factory, t, clock.now(), email="late@example.com", consent=_consent())
        _run(factory, clock)
        [waiting] = _messages(factory, t)
        assert (waiting.status, waiting.reason) == ("queued", "quiet_hours")
        assert waiting.due_at == datetime(2026, 3, 2, 6, 0, tzinfo=UTC)  # 09:00 in Riyadh
        clock.advance(timedelta(hours=10, minutes=29))
        _run(factory, clock)
        assert server.messages() == []
        clock.advance(timedelta(minutes=1))
        _run(factory, clock)
        assert [m["To"] for m in server.messages()] == ["late@example.com"]
    [sent] = _messages(factory, t)
    assert sent.status == "sent" and sent.sent_at == datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


def test_frequency_caps_per_local_day_and_week(factory, clock: FrozenClock) -> None:  # type: ignore[no-untyped-def]
    with smtp_server() as server:
        t = _setup(factory, clock, server, rules=policy.Policy("00:00", "00:00", 1, 2))
        member = make_member(factory, t, clock.now(), email="often@example.com", consent=_consent())

        def owe(key: str) -> None:
            with unit_of_work(factory) as session:
                journeys.queue(session, tenant_id=t, member_id=member, kind="birthday", channels=["email"], dedupe_key=key, variables={},
                               due_at=clock.now(), now=clock.now())
            _run(factory, clock)

        owe("one")
        owe("two")  # the same day: over the daily cap
        clock.advance(timedelta(days=1))
        owe("three")  # a new day: the second of the week
        clock.advance(timedelta(days=1))
        owe("four")  # a third in seven days: over the weekly cap
        clock.advance(timedelta(days=6))
        owe("five")  # the first two are more than seven days old
    assert [(m.dedupe_key, m.status, m.reason) for m in _messages(factory, t)] == [
        ("one", "sent", None), ("two", "skipped", "daily_cap"), ("three", "sent", None), ("four", "skipped", "weekly_cap"),
        ("five", "sent", None),
    ]
    assert len(server.messages()) == 3


def test_a_hard_bounce_fails_and_suppresses_and_a_provider_error_is_retried(factory, clock: FrozenClock) -> None:  # type: ignore[no-untyped-def]
    with smtp_server(refuse={"gone@example.com": "550 5.1.1 no such user"}) as server, \
            providing(Answer(503, {"error": "busy"}), Answer(200, {"id": "ok-2"})) as provider:
        t = _setup(factory, clock, server, sms_url=provider.url)
        _journey(factory, clock, t, "welcome", ["email", "sms"])
        gone = make_member(factory, t, clock.now(), email="gone@example.com", consent=_consent())
        retried = make_member(factory, t, clock.now(), phone="+966501234568", consent=_consent(email=False, sms=True))
        _run(factory, clock)
        state = {m.member_id: m for m in _messages(factory, t)}
        assert (state[gone].status, state[gone].reason) == ("failed", "hard_bounce")
        assert (state[retried].status, state[retried].reason, state[retried].attempts) == ("queued", "retrying", 1)
        assert state[retried].due_at > clock.now() + timedelta(seconds=59)
        with factory() as session:
            assert session.execute(select(Suppression.address, Suppression.reason).where(Suppression.tenant_id == t)).all() == [
                ("gone@example.com", "hard_bounce")]
        clock.advance(timedelta(minutes=2))
        _run(factory, clock)
        assert len(provider.requests) == 2
        assert provider.requests[0].headers["idempotency-key"] == provider.requests[1].headers["idempotency-key"]
    state = {m.member_id: m for m in _messages(factory, t)}
    assert (state[retried].status, state[retried].attempts, state[retried].provider_id) == ("sent", 2, "ok-2") or \
        (state[retried].status, state[retried].attempts) == ("sent", 2)


def test_points_expiring_is_announced_once_per_offset_and_tells_the_member(factory, clock: FrozenClock) -> None:  # type: ignore[no-untyped-def]
    with smtp_server() as server:
        t = _setup(factory, clock, server, expiry={"policy": "days", "periods": 30})
        _journey(factory, clock, t, "points_expiring", ["email"], days_before=[7, 1])
        member = make_member(factory, t, clock.now(), email="keep@example.com", locale="en", consent=_consent())
        with unit_of_work(factory) as session:
            events.record_purchase(session, tenant_id=t, request_hash="o-1", now=clock.now(), event_in=PurchaseIn(
                type="purchase", member=MemberRef(id=member), order_id="o-1", amount="120.00", currency="SAR",
            ))
        for _ in range(2):  # nothing within 7 days yet
            journeys.scan(factory, now=clock.now(), tenant_id=t)
            _run(factory, clock)
        clock.advance(timedelta(days=23, hours=1))  # 6 days 23 hours before expiry
        for _ in range(3):  # the same hour, then later hours: announced once
            journeys.scan(factory, now=clock.now(), tenant_id=t)
            _run(factory, clock)
            clock.advance(timedelta(hours=1))
        clock.advance(timedelta(days=5, hours=20))  # within a day of expiry
        journeys.scan(factory, now=clock.now(), tenant_id=t)
        _run(factory, clock)
        bodies = [m.get_body(("plain",)).get_content() for m in server.messages()]
    with factory() as session:
        announced = session.execute(select(OutboxMessage.payload).where(
            OutboxMessage.tenant_id == t, OutboxMessage.type == "points.expiring").order_by(OutboxMessage.id)).scalars().all()
    assert [(p["points"], p["days_before"]) for p in announced] == [(120, 7), (120, 1)]
    assert len(bodies) == 2
    assert "120 of your points expire on 2026-03-31 (7 days)" in bodies[0]
    assert "(1 days)" in bodies[1]


def test_birthday_goes_once_a_year_on_the_local_day(factory, clock: FrozenClock) -> None:  # type: ignore[no-untyped-def]
    with smtp_server() as server:
        t = _setup(factory, clock, server, timezone="Asia/Riyadh")
        _journey(factory, clock, t, "birthday", ["email"])
        today = clock.now().astimezone(ZoneInfoRiyadh).date()
        make_member(factory, t, clock.now(), email="bday@example.com", birth_date=date(1990, today.month, today.day), consent=_consent())
        make_member(factory, t, clock.now(), email="other@example.com", birth_date=date(1990, 1, 15), consent=_consent())
        for _ in range(2):
            journeys.scan(factory, now=clock.now(), tenant_id=t)
            _run(factory, clock)
            clock.advance(timedelta(hours=2))
        assert [m["To"] for m in server.messages()] == ["bday@example.com"]


def test_consent_history_records_when_where_and_who(factory, clock: FrozenClock) -> None:  # type: ignore[no-untyped-def]
    t = _setup(factory, clock)
    member = make_member(factory, t, clock.now(), email="c@example.com", consent=_consent(email=True))
    clock.advance(timedelta(days=1))
    with unit_of_work(factory) as session:
        members.update_profile(session, tenant_id=t, member_id=member, region="SA", now=clock.now(), source="console", actor="admin@example.com",
                               member_in=MemberUpdate(consent={"email": True, "sms": True, "whatsapp": True}))
    with factory() as session:
        history = [(c.channel, c.granted, c.source, c.actor) for c in members.consent_history(session, tenant_id=t, member_id=member)]
        stored = session.execute(select(ConsentChange.at).where(ConsentChange.member_id == member).order_by(ConsentChange.id)).scalars().all()
    assert history == [("whatsapp", True, "console", "admin@example.com"), ("sms", True, "console", "admin@example.com"),
                       ("email", True, "api", None)]
    assert stored[0] == clock.now() - timedelta(days=1) and stored[-1] == clock.now()


ZoneInfoRiyadh = __import__("zoneinfo").ZoneInfo("Asia/Riyadh")


def test_tier_upgraded_and_the_downgrade_warning_name_the_tier_in_the_members_language(factory, clock: FrozenClock) -> None:  # type: ignore[no-untyped-def]
    from wafa.events import returns
    from wafa.events.schemas import ReturnIn
    from wafa.tiers import service as tiers
    from wafa.tiers.models import MemberTier
    from wafa.tiers.schemas import TierIn, TierPolicyIn

    with smtp_server() as server:
        t = _setup(factory, clock, server)
        with unit_of_work(factory) as session:
            tiers.set_policy(session, tenant_id=t, policy_in=TierPolicyIn(metric="points_earned", window="rolling", months=12), now=clock.now())
            tiers.create(session, tenant_id=t, now=clock.now(),
                         tier_in=TierIn(key="silver", name_en="Silver", name_ar="فضي", rank=1, threshold="100"))
        _journey(factory, clock, t, "tier_upgraded", ["email"])
        _journey(factory, clock, t, "tier_downgrade_warning", ["email"], days_before=14)
        member = make_member(factory, t, clock.now(), email="up@example.com", locale="ar", consent=_consent())
        with unit_of_work(factory) as session:
            events.record_purchase(session, tenant_id=t, request_hash="o-1", now=clock.now(), event_in=PurchaseIn(
                type="purchase", member=MemberRef(id=member), order_id="o-1", amount="150.00", currency="SAR",
            ))
        _run(factory, clock)
        [upgraded] = server.messages()
        assert upgraded["Subject"] == "أصبحت في فئة فضي"
        # Most of it comes back: the member keeps the tier until the review, and is warned before it.
        with unit_of_work(factory) as session:
            returns.record_return(session, tenant_id=t, request_hash="r-1", now=clock.now(), event_in=ReturnIn(
                type="return", order_id="o-1", amount="100.00"))
        with factory() as session:
            review_at = session.execute(select(MemberTier.review_at).where(MemberTier.member_id == member)).scalar_one()
        clock.advance(review_at - clock.now() - timedelta(days=20))
        journeys.scan(factory, now=clock.now(), tenant_id=t)
        _run(factory, clock)
        assert len(server.messages()) == 1  # 20 days before: not yet
        clock.advance(timedelta(days=7))
        for _ in range(2):
            journeys.scan(factory, now=clock.now(), tenant_id=t)
            _run(factory, clock)
            clock.advance(timedelta(hours=1))
        warned = server.messages()[1:]
    assert [m["Subject"] for m in warned] == ["حافظ على فئة فضي"]
    assert "يلزمك 50 نقاط للحفاظ عليها" in warned[0].get_body(("plain",)).get_content()


def test_win_back_goes_once_per_lapse(factory, clock: FrozenClock) -> None:  # type: ignore[no-untyped-def]
    with smtp_server() as server:
        t = _setup(factory, clock, server)
        _journey(factory, clock, t, "win_back", ["email"], days=30)
        away = make_member(factory, t, clock.now(), email="away@example.com", locale="en", consent=_consent())
        make_member(factory, t, clock.now(), email="never@example.com", consent=_consent())  # never bought: nothing to win back
        with unit_of_work(factory) as session:
            events.record_purchase(session, tenant_id=t, request_hash="o-1", now=clock.now(), event_in=PurchaseIn(
                type="purchase", member=MemberRef(id=away), order_id="o-1", amount="20.00", currency="SAR",
            ))
        for days in (29, 2, 1, 1):  # day 29: not yet; day 31: once; the next days: not again
            clock.advance(timedelta(days=days))
            journeys.scan(factory, now=clock.now(), tenant_id=t)
            _run(factory, clock)
        assert [m["To"] for m in server.messages()] == ["away@example.com"]
        assert "it has been 31 days" in server.messages()[0].get_body(("plain",)).get_content()
        with unit_of_work(factory) as session:  # back, then away again: a new lapse
            events.record_purchase(session, tenant_id=t, request_hash="o-2", now=clock.now(), event_in=PurchaseIn(
                type="purchase", member=MemberRef(id=away), order_id="o-2", amount="20.00", currency="SAR",
            ))
        clock.advance(timedelta(days=31))
        journeys.scan(factory, now=clock.now(), tenant_id=t)
        _run(factory, clock)
        assert len(server.messages()) == 2


def test_each_fact_a_journey_follows_maps_to_its_message(factory, clock: FrozenClock) -> None:  # type: ignore[no-untyped-def]
    """The mapping from outbox facts to journeys, fact by fact (names in both languages, one key per occasion)."""
    from wafa.memberships.models import Plan
    from wafa.outbox.models import OutboxMessage as Message
    from wafa.rewards.models import Reward

    t = _setup(factory, clock)
    friend = make_member(factory, t, clock.now(), name="Omar")
    with unit_of_work(factory) as session:
        plan = Plan(tenant_id=t, key="club", name_en="Coffee Club", name_ar="نادي القهوة", price=4900, currency="SAR", **_plan_fields(clock))
        reward = Reward(tenant_id=t, key="free-coffee", name_en="Free coffee", name_ar="قهوة مجانية", **_reward_fields(clock))
        session.add_all([plan, reward])
        session.flush()
        plan_id, reward_id = plan.id, reward.id

    def fact(type_: str, payload: dict, member: int = 7) -> tuple | None:  # type: ignore[type-arg]
        with factory() as session:
            return journeys._for(Message(tenant_id=t, message_id=f"msg_{type_}", type=type_, member_id=member, payload=payload), session)

    assert fact("member.enrolled", {}) == ("welcome", 7, "welcome:7", {})
    assert fact("reward.redeemed", {"kind": "coupon", "redemption_id": 3, "reward_id": reward_id, "reward_key": "x"}) is None
    kind, _, key, variables = fact("reward.redeemed", {"kind": "free_product", "redemption_id": 3, "reward_id": reward_id, "reward_key": "x",
                                                        "expires_at": "2026-04-01T00:00:00+00:00"})
    assert (kind, key, variables["reward"], variables["valid_until"]) == (
        "reward_issued", "reward_issued:redemption:3", {"en": "Free coffee", "ar": "قهوة مجانية"}, "2026-04-01")
    assert fact("coupon.issued", {"coupon_id": 9, "code": "AB12", "redemption_id": 3, "valid_until": None})[2] == "reward_issued:redemption:3"
    assert fact("coupon.issued", {"coupon_id": 9, "code": "AB12", "valid_until": None})[3]["coupon_code"] == "AB12"
    kind, _, _, variables = fact("membership.payment_failed", {"plan_id": plan_id, "period_end": None})
    assert (kind, variables["plan"], variables["amount"]) == ("payment_failed", {"en": "Coffee Club", "ar": "نادي القهوة"}, "49.00 SAR")
    assert fact("membership.renewal_due", {"plan_id": plan_id, "period_end": "2026-03-10T00:00:00+00:00"})[3]["due_on"] == "2026-03-10"
    assert fact("referral.completed", {"referrer_id": 5, "referee_id": friend, "referral_id": 11}) == (
        "referral_completed", 5, "referral_completed:11", {"friend": "Omar", "points": 0})
    assert fact("referral.completed", {"referrer_id": None, "referee_id": friend, "referral_id": 12}) is None
    assert fact("points.earned", {"points": 5}) is None


def _plan_fields(clock: FrozenClock) -> dict:  # type: ignore[type-arg]
    return {"interval": "month", "trial_days": 0, "grace_days": 7, "benefits": {}, "status": "active", "created_at": clock.now()}


def _reward_fields(clock: FrozenClock) -> dict:  # type: ignore[type-arg]
    return {"kind": "free_product", "points": 100, "money": 0, "tiers": [], "segments": [], "plans": [], "status": "active", "config": {},
            "created_at": clock.now(), "updated_at": clock.now()}


def test_a_scan_passes_over_the_programs_whose_hour_and_day_are_claimed(factory, clock: FrozenClock) -> None:  # type: ignore[no-untyped-def]
    t = _setup(factory, clock, timezone="Asia/Riyadh")
    journeys.scan(factory, now=clock.now(), tenant_id=t)
    with factory() as session:
        assert journeys._unclaimed(session, [t], clock.now()) == []  # this hour's reminders are done: nothing to open
    _journey(factory, clock, t, "birthday", ["email"])
    with factory() as session:
        assert journeys._unclaimed(session, [t], clock.now()) == [t]  # a calendar journey turned on: today's run is owed
    journeys.scan(factory, now=clock.now(), tenant_id=t)
    clock.advance(timedelta(minutes=59))
    with factory() as session:
        assert journeys._unclaimed(session, [t], clock.now()) == []
    clock.advance(timedelta(minutes=1))
    with factory() as session:
        assert journeys._unclaimed(session, [t], clock.now()) == [t]  # the next local hour
