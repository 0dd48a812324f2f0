"""Messages to members in the console: journeys, the policy and the channels saved (a real SMTP server
takes the test send, and a saved secret stays when the masked settings are saved again), wordings
previewed, refused, saved and reset, campaigns scheduled (with a CSV of external ids), sent, measured
and cancelled, a member's consent changed by hand and recorded as the console's; a role without the
permission is refused; every page speaks Arabic and English."""

from __future__ import annotations

import html
import json
import re
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.api.web.conftest import Browser, csrf_of, make_admin, signed_in
from tests.conftest import make_member
from tests.integration.messages.smtp import smtp_server
from wafa.messages import campaigns, channels, sender
from wafa.messages.models import Campaign
from wafa.programs import service as programs
from wafa.tenants.models import AuditEntry
from wafa.web.admin import messaging

pytestmark = pytest.mark.usefixtures("allow_private_webhooks")


def _post(browser: TestClient, path: str, data: dict, page: str, files: dict | None = None):  # type: ignore[no-untyped-def]
    return browser.post(path, data={**data, "csrf": csrf_of(browser.get(page).text)}, files=files, follow_redirects=False)


def _admin(browser: Browser, factory, clock, tenant, role: str = "admin") -> TestClient:  # type: ignore[no-untyped-def]
    return signed_in(browser(), tenant.slug, make_admin(factory, tenant.id, clock.now(), role=role))


def _email_of(admin: TestClient) -> str:
    return re.search(r'name="to" type="email"[^>]* value="([^"]+)"', admin.get("/admin/messages/templates/test/email/en").text).group(1)  # type: ignore[union-attr]


def _smtp(server: Any, **more: Any) -> dict[str, Any]:
    return {"provider": "smtp", "host": server.host, "port": server.port, "starttls": False, "sender": "Club <club@example.com>", **more}


def _actions(factory, tenant_id: int) -> list[tuple[str, str, dict]]:  # type: ignore[no-untyped-def]
    with factory() as session:
        rows = session.execute(select(AuditEntry).where(AuditEntry.tenant_id == tenant_id).order_by(AuditEntry.id)).scalars()
        # Changes only: sign-ins and reads of personal data (member.viewed, members.listed) are audited too.
        return [(r.action, r.actor, r.details or {}) for r in rows
                if not r.action.startswith("admin.") and r.action not in ("member.viewed", "members.listed")]


def _local(factory, tenant_id: int, moment) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """A moment as the date and time the console's pickers take (the program's time zone)."""
    with factory() as session:
        zone = ZoneInfo(programs.get(session, tenant_id=tenant_id).timezone)
    local = moment.astimezone(zone)
    return local.date().isoformat(), local.strftime("%H:%M")


# --- journeys and policy ---------------------------------------------------------------------------------


def test_a_journey_is_saved_with_its_channels_and_settings(browser: Browser, client: TestClient, factory, clock, tenant) -> None:  # type: ignore[no-untyped-def]
    admin = _admin(browser, factory, clock, tenant)
    page = admin.get("/admin/messages", params={"lang": "en"})
    assert page.status_code == 200 and "Points about to expire" in page.text and "When points expire soon" in page.text
    saved = _post(admin, "/admin/messages/journeys/points_expiring", {
        "enabled": "on", "channel_1": "sms", "channel_2": "email", "channel_3": "", "days_before_1": "7", "days_before_2": "30",
        "days_before_3": "",
    }, "/admin/messages")
    assert saved.status_code == 303 and saved.headers["location"].endswith("/admin/messages?done=saved#journey-points_expiring")
    journey = next(j for j in client.get("/v1/messaging/journeys").json()["items"] if j["kind"] == "points_expiring")
    assert journey["enabled"] is True and journey["channels"] == ["sms", "email"] and journey["settings"] == {"days_before": [30, 7]}
    assert _actions(factory, tenant.id)[-1][0] == "messaging.journey_saved"

    twice = _post(admin, "/admin/messages/journeys/win_back", {"enabled": "on", "channel_1": "email", "channel_2": "email", "days": "60"},
                  "/admin/messages")
    assert twice.status_code == 422 and "Choose at least one channel, each once." in twice.text
    risky = _post(admin, "/admin/messages/journeys/win_back", {"enabled": "on", "channel_1": "email", "days": "3", "churn_risk": "70"},
                  "/admin/messages")
    assert risky.status_code == 422 and "Enter a number of days from 7 to 730." in risky.text
    assert 'name="days" type="number" min="7" max="730" step="1" dir="ltr" value="3" aria-invalid="true"' in risky.text
    assert _post(admin, "/admin/messages/journeys/win_back", {"enabled": "on", "channel_1": "whatsapp", "days": "90", "churn_risk": "70"},
                 "/admin/messages").status_code == 303
    win_back = next(j for j in client.get("/v1/messaging/journeys").json()["items"] if j["kind"] == "win_back")
    assert win_back["settings"] == {"days": 90, "churn_risk": 0.7} and win_back["channels"] == ["whatsapp"]
    assert 'name="churn_risk" type="number" min="1" max="99" step="1" dir="ltr" value="70"' in admin.get("/admin/messages").text
    assert admin.post("/admin/messages/journeys/no_such", data={"csrf": csrf_of(page.text)}).status_code == 404


def test_the_policy_is_saved_and_a_bad_one_refused(browser: Browser, client: TestClient, factory, clock, tenant) -> None:  # type: ignore[no-untyped-def]
    admin = _admin(browser, factory, clock, tenant)
    admin.get("/admin/messages", params={"lang": "en"})
    below = _post(admin, "/admin/messages/policy", {"quiet_start": "22:00", "quiet_end": "08:00", "daily_cap": "3", "weekly_cap": "2"},
                  "/admin/messages")
    assert below.status_code == 422 and "The weekly cap cannot be below the daily cap." in below.text
    late = _post(admin, "/admin/messages/policy", {"quiet_start": "25:00", "quiet_end": "08:00", "daily_cap": "3", "weekly_cap": "5"},
                 "/admin/messages")
    assert late.status_code == 422 and "Enter a time of day, from 00:00 to 23:59." in late.text
    assert client.get("/v1/messaging/policy").json() == {"quiet_start": "21:00", "quiet_end": "09:00", "daily_cap": 2, "weekly_cap": 6}
    saved = _post(admin, "/admin/messages/policy", {"quiet_start": "22:00", "quiet_end": "08:00", "daily_cap": "3", "weekly_cap": "5"},
                  "/admin/messages")
    assert saved.status_code == 303
    assert client.get("/v1/messaging/policy").json() == {"quiet_start": "22:00", "quiet_end": "08:00", "daily_cap": 3, "weekly_cap": 5}
    assert _actions(factory, tenant.id)[-1][:2] == ("messaging.policy_saved", _email_of(admin))


# --- channels and wordings -------------------------------------------------------------------------------


def test_a_channel_from_the_console_sends_a_test_to_a_real_smtp_server(browser: Browser, client: TestClient, factory, clock, tenant) -> None:  # type: ignore[no-untyped-def]
    admin = _admin(browser, factory, clock, tenant)
    admin.get("/admin/messages", params={"lang": "en"})
    with smtp_server(users={"club": "s3cret-pass-word"}) as server:
        bad_json = _post(admin, "/admin/messages/channels/email", {"config": "{provider: smtp", "enabled": "on"}, "/admin/messages")
        assert bad_json.status_code == 422 and "This is not valid JSON." in bad_json.text
        assert 'aria-describedby="err-config"' in bad_json.text and "{provider: smtp</textarea>" in bad_json.text
        wrong = _post(admin, "/admin/messages/channels/email", {"config": json.dumps({"provider": "twilio"}), "enabled": "on"}, "/admin/messages")
        assert wrong.status_code == 422 and "These settings do not work:" in wrong.text
        assert client.get("/v1/messaging/channels").json()["items"] == []

        config = _smtp(server, username="club", password="s3cret-pass-word")
        assert _post(admin, "/admin/messages/channels/email", {"config": json.dumps(config), "enabled": "on"}, "/admin/messages").status_code == 303
        page = admin.get("/admin/messages").text
        assert "s3cret-pass-word" not in page and channels.MASK in page
        # Saved again as the page shows it (secret masked), with a change: the secret stays.
        shown = json.loads(html.unescape(re.search(r'<textarea name="config"[^>]*>([^<]+)</textarea>', page).group(1)))  # type: ignore[union-attr]
        assert shown["password"] == channels.MASK
        assert _post(admin, "/admin/messages/channels/email", {"config": json.dumps({**shown, "reply_to": "help@example.com"}), "enabled": "on"},
                     "/admin/messages").status_code == 303
        [listed] = client.get("/v1/messaging/channels").json()["items"]
        assert listed["enabled"] is True and listed["config"]["reply_to"] == "help@example.com" and listed["config"]["password"] == channels.MASK

        template = "/admin/messages/templates/welcome/email/ar"
        sent = _post(admin, template, {"action": "test", "to": "team@example.com"}, template)
        assert sent.status_code == 200 and 'data-status="sent"' in sent.text, sent.text
        [received] = server.received
        assert received.rcpt_tos == ["team@example.com"] and server.logins == [("club", "s3cret-pass-word")]
        assert str(received.message["Subject"]) == "أهلاً بك في مقهى التجربة"
    assert _actions(factory, tenant.id)[-1][0] == "messaging.test_sent"
    not_an_address = _post(admin, template, {"action": "test", "to": "nobody"}, template)
    assert not_an_address.status_code == 422 and 'aria-describedby="err-to"' in not_an_address.text

    removed = _post(admin, "/admin/messages/channels/email/delete", {}, "/admin/messages")
    assert removed.headers["location"].endswith("done=removed#channel-email")
    assert client.get("/v1/messaging/channels").json()["items"] == []
    no_channel = _post(admin, template, {"action": "test", "to": "team@example.com"}, template)
    assert no_channel.status_code == 422 and "Set up and turn on this channel first" in no_channel.text


def test_a_wording_is_previewed_refused_saved_and_reset(browser: Browser, client: TestClient, factory, clock, tenant) -> None:  # type: ignore[no-untyped-def]
    admin = _admin(browser, factory, clock, tenant)
    listed = admin.get("/admin/messages/templates", params={"lang": "en"})
    assert listed.status_code == 200 and 'href="/admin/messages/templates/birthday/sms/ar"' in listed.text
    assert "/admin/messages/templates/campaign/" not in listed.text  # a campaign has its own wording
    page = "/admin/messages/templates/birthday/sms/ar"
    assert "{{ program }}" in admin.get(page).text  # the variables it can use

    preview = _post(admin, page, {"action": "preview", "body": "عيد سعيد يا {{ name }}!"}, page)
    assert preview.status_code == 200
    assert re.search(r'<div lang="ar" dir="rtl" class="address">\s*<p style="white-space: pre-wrap">عيد سعيد يا سارة!</p>', preview.text)
    assert "عيد سعيد يا {{ name }}!</textarea>" in preview.text  # what was typed stays in the form

    typo = _post(admin, page, {"action": "save", "body": "عيد سعيد يا {{ nmae }}!"}, page)
    assert typo.status_code == 422 and "This wording does not work:" in typo.text and "nmae" in typo.text
    assert 'aria-describedby="err-body"' in typo.text

    def custom() -> bool:
        return next(t for t in client.get("/v1/messaging/templates").json()["items"]
                    if (t["kind"], t["channel"], t["language"]) == ("birthday", "sms", "ar"))["custom"]

    assert custom() is False
    saved = _post(admin, page, {"action": "save", "body": "عيد سعيد يا {{ name }}!"}, page)
    assert saved.headers["location"].endswith("?done=saved") and custom() is True
    assert "your own" in admin.get("/admin/messages/templates").text
    email = "/admin/messages/templates/welcome/email/en"
    no_subject = _post(admin, email, {"action": "save", "subject": "", "body": "Hello {{ name }}"}, email)
    assert no_subject.status_code == 422 and "An e-mail needs a subject" in no_subject.text
    reset = _post(admin, page, {"action": "reset"}, page)
    assert reset.headers["location"].endswith("?done=reset") and custom() is False
    assert [a for a, _, _ in _actions(factory, tenant.id)] == ["messaging.template_saved", "messaging.template_reset"]
    assert admin.get("/admin/messages/templates/campaign/sms/ar").status_code == 404


def test_every_example_of_the_channels_page_is_a_valid_configuration() -> None:
    for channel, examples in messaging.EXAMPLES.items():
        for example in examples:
            channels.parse_config(channel, example, resolve=False)


# --- campaigns -----------------------------------------------------------------------------------------


def _campaign_form(factory, clock, tenant_id: int, **fields: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    day, at = _local(factory, tenant_id, clock.now() + timedelta(hours=1))
    return {"name": "Ramadan evenings", "audience": "all", "channel": "email", "subject_ar": "نقاط مضاعفة الليلة",
            "subject_en": "Double points tonight", "body_ar": "مرحباً {{ name }}، نقاط مضاعفة بعد الإفطار.",
            "body_en": "Hello {{ name }}, double points after iftar.", "send_at-date": day, "send_at-time": at, "holdout_percent": "50",
            "lift_days": "14", **fields}


def test_a_campaign_is_refused_until_its_form_is_right(browser: Browser, client: TestClient, factory, clock, tenant) -> None:  # type: ignore[no-untyped-def]
    admin = _admin(browser, factory, clock, tenant)
    admin.get("/admin/campaigns", params={"lang": "en"})
    day, at = _local(factory, tenant.id, clock.now() - timedelta(days=1))
    wrong = _post(admin, "/admin/campaigns", _campaign_form(factory, clock, tenant.id, name="", body_ar="", body_en="", holdout_percent="80",
                                                            audience="tiers"), "/admin/campaigns")
    assert wrong.status_code == 422
    for sentence in ("Give the campaign a name.", "Write the message in Arabic, in English or in both.", "Tick at least one tier."):
        assert sentence in wrong.text
    past = _campaign_form(factory, clock, tenant.id, **{"send_at-date": day, "send_at-time": at})
    late = _post(admin, "/admin/campaigns", past, "/admin/campaigns")
    assert late.status_code == 422 and "Choose a time that has not passed." in late.text
    typo = _post(admin, "/admin/campaigns", _campaign_form(factory, clock, tenant.id, body_en="Hello {{ nmae }}"), "/admin/campaigns")
    assert typo.status_code == 422 and 'id="err-body_en"' in typo.text and "nmae" in typo.text
    no_subject = _post(admin, "/admin/campaigns", _campaign_form(factory, clock, tenant.id, subject_ar="", subject_en=""), "/admin/campaigns")
    assert no_subject.status_code == 422 and 'id="err-subject_ar"' in no_subject.text
    nobody = _post(admin, "/admin/campaigns", _campaign_form(factory, clock, tenant.id, audience="external_ids"), "/admin/campaigns")
    assert nobody.status_code == 422 and "Paste or upload at least one external id." in nobody.text
    assert client.get("/v1/campaigns").json()["items"] == []


def test_a_campaign_from_a_csv_is_sent_measured_and_shown(browser: Browser, client: TestClient, factory, clock, tenant) -> None:  # type: ignore[no-untyped-def]
    admin = _admin(browser, factory, clock, tenant)
    admin.get("/admin/campaigns", params={"lang": "en"})
    ids = [f"C{n:03d}" for n in range(12)]
    for n, external_id in enumerate(ids):
        make_member(factory, tenant.id, clock.now(), external_id=external_id, email=f"c{n}@example.com", locale="en" if n % 2 else "ar",
                    consent={"email": True})
    make_member(factory, tenant.id, clock.now(), external_id="OTHER", email="other@example.com", consent={"email": True})
    with smtp_server() as server:
        channel = {"config": json.dumps(_smtp(server)), "enabled": "on"}
        assert _post(admin, "/admin/messages/channels/email", channel, "/admin/messages").status_code == 303
        assert _post(admin, "/admin/messages/policy", {"quiet_start": "00:00", "quiet_end": "00:00", "daily_cap": "0", "weekly_cap": "0"},
                     "/admin/messages").status_code == 303
        csv_file = ("external_id,name\n" + "".join(f"{i},Member {i}\n" for i in ids[:10])).encode()
        made = _post(admin, "/admin/campaigns", _campaign_form(factory, clock, tenant.id, audience="external_ids", external_ids="C010\nC011\nC000"),
                     "/admin/campaigns", files={"file": ("members.csv", csv_file, "text/csv")})
        assert made.status_code == 303, made.text
        campaign_id = int(made.headers["location"].split("/")[-1].split("?")[0])
        campaign = client.get(f"/v1/campaigns/{campaign_id}").json()
        assert campaign["audience"] == {"external_ids": sorted(ids)} and campaign["holdout_percent"] == 50 and campaign["status"] == "scheduled"
        page = admin.get(made.headers["location"]).text
        assert "The campaign is scheduled." in page and "12 members by external id" in page and "nothing to compare yet" in page
        assert "Ramadan evenings" in admin.get("/admin/campaigns").text

        clock.advance(timedelta(hours=1))
        assert campaigns.start_due(factory, now=clock.now()) == 1
        with channels.client() as http:
            sender.send_all_due(factory, clock=clock, http=http)
        campaigns.finish_done(factory, now=clock.now())
        with factory() as session:
            row = session.get(Campaign, campaign_id)
            audience, holdout = row.audience_count - row.holdout_count, row.holdout_count  # type: ignore[union-attr]
        assert len(server.received) == audience and audience + holdout == 12
    shown = admin.get(f"/admin/campaigns/{campaign_id}")
    assert shown.status_code == 200
    assert re.search(r'data-status="sent"><h3 class="muted">sent</h3><p class="value">' + str(audience) + "<", shown.text)
    assert 'id="lift-table"' in shown.text and "Purchases per member" in shown.text and "Revenue per member" in shown.text
    assert "Provisional until" in shown.text and 'data-chart="bar"' in shown.text
    assert re.search(r'data-for="chart-lift-purchases">\{"labels": \["Purchases per member"\], "datasets": \[\["Difference", \[0', shown.text)
    listed = admin.get("/admin/campaigns").text
    assert f"{audience} sent, 0 not sent, of {audience}" in listed
    refused = _post(admin, f"/admin/campaigns/{campaign_id}/cancel", {}, f"/admin/campaigns/{campaign_id}")
    assert refused.status_code == 422 and "This campaign is already sent or cancelled." in refused.text


def test_a_scheduled_campaign_is_cancelled(browser: Browser, client: TestClient, factory, clock, tenant) -> None:  # type: ignore[no-untyped-def]
    admin = _admin(browser, factory, clock, tenant)
    admin.get("/admin/campaigns", params={"lang": "en"})
    made = _post(admin, "/admin/campaigns", _campaign_form(factory, clock, tenant.id, channel="sms"), "/admin/campaigns")
    assert made.status_code == 303
    page = made.headers["location"].split("?")[0]
    cancelled = _post(admin, f"{page}/cancel", {}, page)
    assert cancelled.headers["location"].endswith("?done=cancelled")
    assert client.get(f"/v1{page.removeprefix('/admin')}").json()["status"] == "cancelled"
    assert "The campaign is cancelled" in admin.get(cancelled.headers["location"]).text
    assert [a for a, _, _ in _actions(factory, tenant.id)] == ["campaign.created", "campaign.cancelled"]


# --- the member page ---------------------------------------------------------------------------------------


def test_consent_changed_on_the_member_page_is_the_consoles(browser: Browser, client: TestClient, factory, clock, tenant) -> None:  # type: ignore[no-untyped-def]
    admin = _admin(browser, factory, clock, tenant)
    member_id = make_member(factory, tenant.id, clock.now(), email="sara@example.com", consent={"email": True})
    page = f"/admin/members/{member_id}"
    shown = admin.get(page, params={"lang": "en"}).text
    assert 'data-consent="email">agreed<' in shown and 'data-consent="sms">not agreed<' in shown and "No messages to this member yet." in shown
    withdrawn = _post(admin, f"{page}/consent", {"channel": "email", "granted": "no"}, page)
    assert withdrawn.headers["location"].endswith("?done=consent#consent")
    history = client.get(f"/v1/members/{member_id}/consent").json()["items"]
    email = _email_of(admin)
    assert history[0] | {"at": None} == {"channel": "email", "granted": False, "source": "console", "actor": email, "at": None}
    assert _actions(factory, tenant.id)[-1] == ("member.consent_changed", email, {"channel": "email", "granted": False})
    after = admin.get(page).text
    assert 'data-consent="email">not agreed<' in after and "withdrawn" in after and email in after
    assert _post(admin, f"{page}/consent", {"channel": "fax", "granted": "yes"}, page).status_code == 422
    arabic = admin.get(page, params={"lang": "ar"}).text
    assert "سجل الموافقات" in arabic


# --- roles and languages -------------------------------------------------------------------------------------


def test_a_role_without_the_permission_is_refused(browser: Browser, client: TestClient, factory, clock, tenant) -> None:  # type: ignore[no-untyped-def]
    made = client.post("/v1/campaigns", json={"name": "Read only", "audience": {"all": True}, "channel": "sms", "body": {"en": "Hi"},
                                              "send_at": (clock.now() + timedelta(days=1)).isoformat()}).json()
    member_id = make_member(factory, tenant.id, clock.now())
    support = _admin(browser, factory, clock, tenant, role="support")
    page = support.get("/admin/messages", params={"lang": "en"})
    assert page.status_code == 200 and "Save the policy" not in page.text and "Save the channel" not in page.text
    assert "Schedule the campaign" not in support.get("/admin/campaigns").text
    for path, data in (("/admin/messages/policy", {"quiet_start": "22:00", "quiet_end": "08:00", "daily_cap": "1", "weekly_cap": "1"}),
                       ("/admin/messages/journeys/welcome", {"enabled": "on", "channel_1": "email"}),
                       ("/admin/messages/channels/email", {"config": "{}"}), ("/admin/campaigns", {"name": "x"}),
                       (f"/admin/campaigns/{made['id']}/cancel", {}), ("/admin/messages/templates/welcome/sms/en", {"action": "reset"})):
        assert _post(support, path, data, "/admin/messages").status_code == 403, path
    assert client.get(f"/v1/campaigns/{made['id']}").json()["status"] == "scheduled"
    # The channels hold the providers' secrets: set up by the roles that hold the API keys, whatever the section allows.
    marketer = _admin(browser, factory, clock, tenant, role="marketer")
    assert "Save the channel" not in marketer.get("/admin/messages").text
    refused = _post(marketer, "/admin/messages/channels/email", {"config": "{}"}, "/admin/messages")
    assert refused.status_code == 403
    viewer = _admin(browser, factory, clock, tenant, role="viewer")
    assert "Withdraw consent" not in viewer.get(f"/admin/members/{member_id}").text
    assert _post(viewer, f"/admin/members/{member_id}/consent", {"channel": "sms", "granted": "yes"}, "/admin/messages").status_code == 403
    assert _actions(factory, tenant.id) == []


def test_the_pages_speak_arabic_and_english(browser: Browser, client: TestClient, factory, clock, tenant) -> None:  # type: ignore[no-untyped-def]
    made = client.post("/v1/campaigns", json={"name": "عروض رمضان", "audience": {"all": True}, "channel": "email",
                                              "subject": {"ar": "عرض"}, "body": {"ar": "مرحباً {{ name }}"},
                                              "send_at": (clock.now() + timedelta(days=1)).isoformat()}).json()
    admin = _admin(browser, factory, clock, tenant)
    pages = {"/admin/messages": ("الرحلات", "Journeys"), "/admin/messages/templates": ("نصوص الرسائل", "Wordings"),
             "/admin/messages/templates/points_expiring/whatsapp/en": ("ما يمكن أن يستخدمه النص", "What the wording can use"),
             "/admin/campaigns": ("حملة جديدة", "New campaign"), f"/admin/campaigns/{made['id']}": ("الأثر", "Lift")}
    for path, (arabic, english) in pages.items():
        ar = admin.get(path, params={"lang": "ar"})
        assert ar.status_code == 200 and arabic in ar.text and 'dir="rtl"' in ar.text, path
        en = admin.get(path, params={"lang": "en"})
        assert en.status_code == 200 and english in en.text, path
    nav = admin.get("/admin", params={"lang": "en"}).text
    assert 'href="/admin/messages">Messages<' in nav and 'href="/admin/campaigns">Campaigns<' in nav
