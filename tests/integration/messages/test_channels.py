"""The channels against real servers on 127.0.0.1: an SMTP server (aiosmtpd) that reads what Wafa sends,
refuses recipients, asks for a password and speaks TLS; an HTTP server playing Twilio, Unifonic and a
JSON gateway, which checks each request as sent and answers each way a provider does. Every answer
maps to sent, retry or failed (a hard bounce when the address is bad), and no detail shows a secret."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.messages.provider import (
    Answer,
    providing,
    refused_url,
    twilio_created,
    twilio_error,
    unifonic_error,
    unifonic_sent,
)
from tests.integration.messages.smtp import make_certificate, silent_server, smtp_server
from wafa.config import get_settings
from wafa.messages import channels
from wafa.messages.channels import Delivery, OutgoingMessage

pytestmark = [
    pytest.mark.usefixtures("allow_private_webhooks"),
    # aiosmtpd's warning for a test server that takes a password in clear (on purpose, or under implicit TLS it does not see).
    pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning"),
]

SENDER = "وفاء Wafa <no-reply@wafa.example>"
ACCOUNT = "AC" + "0123456789abcdef" * 2
TOKEN = "5e3c9d0b7a2f4e6a8c1d3b5f7a9e2c4d"
APP_SID = "uNiF0n1cAppSid2024xyz"
PHONE = "+966501234567"
ARABIC = "رصيدك 120 نقطة تنتهي في 31 مارس. استبدلها الآن!"


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with channels.client() as client:
        yield client


def email(to: str = "layla@example.com", **overrides: Any) -> OutgoingMessage:
    values: dict[str, Any] = {
        "message_id": "mm_0f1e2d3c4b5a", "channel": "email", "to": to, "language": "en", "subject": "Your points expire soon",
        "text": "You have 120 points expiring on 31 March.",
    } | overrides
    return OutgoingMessage(**values)


def phone_message(channel: str = "sms", to: str = PHONE, text: str = ARABIC) -> OutgoingMessage:
    return OutgoingMessage(message_id="mm_9a8b7c6d", channel=channel, to=to, language="ar", text=text)


def smtp_config(port: int, **overrides: Any) -> channels.SmtpConfig:
    data = {"provider": "smtp", "host": "127.0.0.1", "port": port, "sender": SENDER, "starttls": False} | overrides
    config = channels.parse_config("email", data)
    assert isinstance(config, channels.SmtpConfig)
    return config


# E-mail --------------------------------------------------------------------------------------------

def test_email_arrives_with_its_headers_and_the_one_click_unsubscribe(http: httpx.Client) -> None:
    url = "https://wafa.example/m/souq/unsubscribe/42/email/0123456789abcdef0123456789abcdef"
    with smtp_server() as server:
        config = smtp_config(server.port, reply_to="help@wafa.example")
        delivery = channels.send(config, email(unsubscribe_url=url, unsubscribe_mailto="unsubscribe+42@wafa.example"), http=http)
    assert delivery == Delivery("sent", "<mm_0f1e2d3c4b5a@wafa.example>", "accepted by 127.0.0.1: 2.0.0 Ok: queued as TEST-QUEUE-ID", False)
    [received] = server.received
    assert received.mail_from == "no-reply@wafa.example"
    assert received.rcpt_tos == ["layla@example.com"]
    message = received.message
    assert message["From"].addresses[0].display_name == "وفاء Wafa"
    assert message["To"] == "layla@example.com"
    assert message["Reply-To"] == "help@wafa.example"
    assert message["Subject"] == "Your points expire soon"
    assert message["Message-ID"] == "<mm_0f1e2d3c4b5a@wafa.example>"
    assert message["Date"].datetime.tzinfo is not None
    assert message["Content-Language"] == "en"
    assert received.header("List-Unsubscribe") == f"<{url}>, <mailto:unsubscribe+42@wafa.example>"
    assert received.header("List-Unsubscribe-Post") == "List-Unsubscribe=One-Click"
    assert message.get_content_type() == "text/plain"
    assert message.get_content() == "You have 120 points expiring on 31 March.\n"


def test_an_arabic_email_keeps_its_subject_and_its_html_reads_right_to_left(http: httpx.Client) -> None:
    subject = "نقاطك ستنتهي قريبًا — لا تفوّت فرصة استبدالها قبل نهاية الشهر"
    with smtp_server() as server:
        delivery = channels.send(smtp_config(server.port), email(
            language="ar", subject=subject, text=ARABIC, html="<p>رصيدك <b>120</b> نقطة</p>",
            unsubscribe_url="https://wafa.example/u/1",
        ), http=http)
    assert delivery.status == "sent"
    [received] = server.received
    message = received.message
    assert message["Subject"] == subject
    assert "=?utf-8?" in received.header("Subject")  # encoded for 7-bit transport, decoded above
    assert message["Content-Language"] == "ar"
    assert message.get_content_type() == "multipart/alternative"
    plain, html = message.iter_parts()  # type: ignore[misc]
    assert plain.get_content() == ARABIC + "\n"
    assert html.get_content_type() == "text/html"
    document = html.get_content()
    assert '<html lang="ar" dir="rtl">' in document
    assert '<body dir="rtl">' in document
    assert "<p>رصيدك <b>120</b> نقطة</p>" in document
    assert b"\r\nContent-Transfer-Encoding: 8bit" not in received.raw


def test_a_long_unsubscribe_link_is_folded_between_links_never_encoded(http: httpx.Client) -> None:
    url = "https://wafa.example/m/a-tenant-with-a-long-slug/unsubscribe/123456789/email/" + "f" * 120
    with smtp_server() as server:
        channels.send(smtp_config(server.port), email(unsubscribe_url=url, unsubscribe_mailto="unsub@wafa.example"), http=http)
    [received] = server.received
    assert received.header("List-Unsubscribe") == f"<{url}>, <mailto:unsub@wafa.example>"
    assert b"=?utf-8?" not in received.raw.split(b"List-Unsubscribe:", 1)[1].split(b"\r\nList-Unsubscribe-Post", 1)[0]


def test_a_transactional_email_without_a_link_has_no_list_headers(http: httpx.Client) -> None:
    with smtp_server() as server:
        channels.send(smtp_config(server.port), email(), http=http)
    [message] = server.messages()
    assert "List-Unsubscribe" not in message
    assert "List-Unsubscribe-Post" not in message


@pytest.mark.parametrize(("reply", "status", "hard_bounce"), [
    ("550 5.1.1 <gone@example.com>: Recipient address rejected: User unknown", "failed", True),
    ("550 No such user here", "failed", True),
    ("552 5.2.2 Mailbox full", "failed", False),
    ("554 5.7.1 <gone@example.com>: Relay access denied", "failed", False),  # our relay's settings, not the member's address
    ("451 4.3.0 Temporary lookup failure", "retry", False),
    ("450 4.2.1 Mailbox busy, try later", "retry", False),
])
def test_a_refused_recipient_is_classified_by_its_reply(http: httpx.Client, reply: str, status: str, hard_bounce: bool) -> None:
    with smtp_server(refuse={"gone@example.com": reply}) as server:
        delivery = channels.send(smtp_config(server.port), email("gone@example.com"), http=http)
    assert (delivery.status, delivery.hard_bounce) == (status, hard_bounce)
    assert delivery.detail == reply
    assert server.received == []


def test_a_malformed_address_is_a_hard_bounce_without_a_connection(http: httpx.Client) -> None:
    with smtp_server() as server:
        delivery = channels.send(smtp_config(server.port), email("layla-at-example.com"), http=http)
    assert (delivery.status, delivery.hard_bounce) == ("failed", True)
    assert delivery.detail.startswith("the recipient is not an e-mail address")
    assert server.received == []


def test_no_smtp_server_is_a_retry(http: httpx.Client) -> None:
    port = int(refused_url().rsplit(":", 1)[1])
    delivery = channels.send(smtp_config(port), email(), http=http)
    assert (delivery.status, delivery.hard_bounce) == ("retry", False)
    assert "ConnectionRefusedError" in delivery.detail


def test_a_silent_smtp_server_is_a_retry_after_the_timeout(http: httpx.Client) -> None:
    with silent_server() as port:
        started = time.monotonic()
        delivery = channels.send(smtp_config(port, timeout=0.5), email(), http=http)
    assert delivery.status == "retry"
    assert "timed out" in delivery.detail
    assert time.monotonic() - started < 5


def test_smtp_auth_logs_in_and_a_wrong_password_fails_without_showing_it(http: httpx.Client) -> None:
    # In clear: WAFA_WEBHOOK_ALLOW_PRIVATE (set here) is what lets a password go without TLS.
    with smtp_server(users={"wafa": "s3cret-pass"}) as server:
        ok = channels.send(smtp_config(server.port, username="wafa", password="s3cret-pass"), email(), http=http)
        wrong = channels.send(smtp_config(server.port, username="wafa", password="not-the-pass"), email(), http=http)
        anonymous = channels.send(smtp_config(server.port), email(), http=http)
    assert ok.status == "sent"
    assert server.logins == [("wafa", "s3cret-pass")]
    assert (wrong.status, wrong.hard_bounce) == ("failed", False)
    assert wrong.detail == "the server refused the username and password (535)"
    assert anonymous.status == "failed"  # 530 authentication required: the settings, not the member
    assert anonymous.hard_bounce is False
    assert len(server.received) == 1


@pytest.fixture
def certificate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A certificate for 127.0.0.1 that this test's TLS clients trust (SSL_CERT_FILE)."""
    made = make_certificate(tmp_path)
    if made is None:
        pytest.skip("the openssl command is needed to make a test certificate (apt-get install openssl)")
    monkeypatch.setenv("SSL_CERT_FILE", str(made))
    return made


def test_starttls_then_auth(http: httpx.Client, certificate: Path) -> None:
    with smtp_server(users={"wafa": "s3cret-pass"}, certificate=certificate) as server:
        delivery = channels.send(smtp_config(server.port, starttls=True, username="wafa", password="s3cret-pass"), email(), http=http)
    assert delivery.status == "sent", delivery.detail
    assert server.logins == [("wafa", "s3cret-pass")]
    assert len(server.received) == 1


def test_implicit_tls_smtps(http: httpx.Client, certificate: Path) -> None:
    with smtp_server(users={"wafa": "s3cret-pass"}, certificate=certificate, implicit_tls=True) as server:
        delivery = channels.send(smtp_config(server.port, ssl=True, username="wafa", password="s3cret-pass"), email(), http=http)
    assert delivery.status == "sent", delivery.detail
    assert len(server.received) == 1


def test_an_untrusted_certificate_fails(http: httpx.Client, tmp_path: Path) -> None:
    made = make_certificate(tmp_path)
    if made is None:
        pytest.skip("the openssl command is needed to make a test certificate (apt-get install openssl)")
    with smtp_server(certificate=made) as server:  # the client is not told to trust it
        delivery = channels.send(smtp_config(server.port, starttls=True), email(), http=http)
    assert (delivery.status, delivery.hard_bounce) == ("failed", False)
    assert delivery.detail.startswith("the server's TLS certificate is not trusted")
    assert server.received == []


# Twilio ---------------------------------------------------------------------------------------------

def twilio(base_url: str, channel: str = "sms", sender: str = "+14155552671") -> channels.TwilioConfig:
    config = channels.parse_config(channel, {"provider": "twilio", "account_sid": ACCOUNT, "auth_token": TOKEN, "from": sender, "base_url": base_url})
    assert isinstance(config, channels.TwilioConfig)
    return config


def test_twilio_sms_is_the_documented_request(http: httpx.Client) -> None:
    with providing(twilio_created("SMaaaabbbbccccddddeeeeffff00001111")) as provider:
        delivery = channels.send(twilio(provider.url), phone_message(), http=http)
    assert delivery == Delivery("sent", "SMaaaabbbbccccddddeeeeffff00001111", "HTTP 201, queued", False)
    [request] = provider.requests
    assert (request.method, request.path) == ("POST", f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json")
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.form == {"To": PHONE, "From": "+14155552671", "Body": ARABIC}
    assert request.basic_auth == (ACCOUNT, TOKEN)
    assert request.headers["idempotency-key"] == "mm_9a8b7c6d"


def test_twilio_whatsapp_addresses_carry_the_prefix(http: httpx.Client) -> None:
    with providing(twilio_created()) as provider:
        delivery = channels.send(twilio(provider.url, "whatsapp", "whatsapp:+14155238886"), phone_message("whatsapp"), http=http)
    assert delivery.status == "sent"
    assert provider.requests[0].form == {"To": f"whatsapp:{PHONE}", "From": "whatsapp:+14155238886", "Body": ARABIC}


def test_twilio_messaging_service_and_alphanumeric_senders(http: httpx.Client) -> None:
    service = "MG" + "9" * 32
    with providing(twilio_created()) as provider:
        channels.send(twilio(provider.url, sender=service), phone_message(), http=http)
        channels.send(twilio(provider.url, sender="WafaShop"), phone_message(), http=http)
    first, second = provider.requests
    assert first.form == {"To": PHONE, "MessagingServiceSid": service, "Body": ARABIC}
    assert second.form == {"To": PHONE, "From": "WafaShop", "Body": ARABIC}


@pytest.mark.parametrize(("answer", "status", "hard_bounce", "detail"), [
    (twilio_error(400, 21211, "The 'To' number +966501234567 is not a valid phone number."), "failed", True,
     "HTTP 400, Twilio 21211: The 'To' number +966501234567 is not a valid phone number."),
    (twilio_error(400, 21614, "'To' number is not a valid mobile number"), "failed", True,
     "HTTP 400, Twilio 21614: 'To' number is not a valid mobile number"),
    (twilio_error(400, 21610, "Attempt to send to unsubscribed recipient"), "failed", False,
     "HTTP 400, Twilio 21610: Attempt to send to unsubscribed recipient"),
    (twilio_error(401, 20003, "Authenticate"), "failed", False, "HTTP 401, Twilio 20003: Authenticate"),
    (twilio_error(429, 20429, "Too Many Requests"), "retry", False, "HTTP 429, Twilio 20429: Too Many Requests"),
    (Answer(500, b"Internal Server Error"), "retry", False, "HTTP 500"),
    (Answer(503, {"code": 20503, "message": "Service unavailable"}), "retry", False, "HTTP 503, Twilio 20503: Service unavailable"),
    (Answer(302, b"", headers={"location": "https://elsewhere.example/"}), "failed", False,
     "HTTP 302 (a redirect, not followed: check the URL)"),
])
def test_twilio_answers_map_to_outcomes(http: httpx.Client, answer: Answer, status: str, hard_bounce: bool, detail: str) -> None:
    with providing(answer) as provider:
        delivery = channels.send(twilio(provider.url), phone_message(), http=http)
    assert delivery == Delivery(status, None, detail, hard_bounce)
    assert len(provider.requests) == 1  # the redirect was not followed


def test_a_provider_that_echoes_the_token_does_not_get_it_into_the_detail(http: httpx.Client) -> None:
    with providing(twilio_error(401, 20003, f"bad credentials {ACCOUNT}:{TOKEN}")) as provider:
        delivery = channels.send(twilio(provider.url), phone_message(), http=http)
    assert TOKEN not in delivery.detail
    assert delivery.detail == f"HTTP 401, Twilio 20003: bad credentials {ACCOUNT}:{channels.MASK}"


def test_a_provider_that_hangs_is_a_retry_after_the_timeout() -> None:
    with providing(Answer(201, {"sid": "SMlate"}, hang=5)) as provider, httpx.Client(timeout=0.3, follow_redirects=False) as http:
        started = time.monotonic()
        delivery = channels.send(twilio(provider.url), phone_message(), http=http)
    assert (delivery.status, delivery.hard_bounce) == ("retry", False)
    assert delivery.detail == "no answer in time (ReadTimeout)"
    assert time.monotonic() - started < 3
    assert len(provider.requests) == 1


def test_a_provider_that_refuses_connections_is_a_retry(http: httpx.Client) -> None:
    delivery = channels.send(twilio(refused_url()), phone_message(), http=http)
    assert (delivery.status, delivery.hard_bounce) == ("retry", False)
    assert delivery.detail.startswith("ConnectError")


def test_an_invalid_number_is_a_hard_bounce_without_a_request(http: httpx.Client) -> None:
    with providing(twilio_created()) as provider:
        delivery = channels.send(twilio(provider.url), phone_message(to="+96612"), http=http)
    assert (delivery.status, delivery.hard_bounce) == ("failed", True)
    assert provider.requests == []


def test_a_number_is_sent_in_e164(http: httpx.Client) -> None:
    with providing(twilio_created()) as provider:
        channels.send(twilio(provider.url), phone_message(to="+966 50 123 4567"), http=http)
    assert provider.requests[0].form["To"] == PHONE


def test_an_address_refused_since_the_settings_were_saved_is_not_reached(http: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    with providing(twilio_created()) as provider:
        config = twilio(provider.url)
        monkeypatch.delenv("WAFA_WEBHOOK_ALLOW_PRIVATE")
        get_settings.cache_clear()
        delivery = channels.send(config, phone_message(), http=http)
    assert (delivery.status, delivery.detail) == ("retry", "the URL must use https")
    assert provider.requests == []


# Unifonic -------------------------------------------------------------------------------------------

def unifonic(base_url: str) -> channels.UnifonicConfig:
    config = channels.parse_config("sms", {"provider": "unifonic", "app_sid": APP_SID, "sender_id": "WafaShop", "base_url": base_url})
    assert isinstance(config, channels.UnifonicConfig)
    return config


def test_unifonic_is_the_documented_request(http: httpx.Client) -> None:
    with providing(unifonic_sent(42000348806924)) as provider:
        delivery = channels.send(unifonic(provider.url), phone_message(), http=http)
    assert delivery == Delivery("sent", "42000348806924", "HTTP 200, Sent", False)
    [request] = provider.requests
    assert (request.method, request.path) == ("POST", "/rest/SMS/messages")
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.form == {
        "AppSid": APP_SID, "SenderID": "WafaShop", "Recipient": "966501234567", "Body": ARABIC, "responseType": "JSON",
        "CorrelationID": "mm_9a8b7c6d",
    }
    assert request.headers["idempotency-key"] == "mm_9a8b7c6d"


@pytest.mark.parametrize(("answer", "status", "hard_bounce", "detail"), [
    (unifonic_sent(7, success="true", status="Queued"), "sent", False, "HTTP 200, Queued"),
    (unifonic_error("ER-04", "Dest num is too short"), "failed", True, "HTTP 200, Unifonic ER-04: Dest num is too short"),
    (unifonic_error("ER-02", "Invalid destination number"), "failed", True, "HTTP 200, Unifonic ER-02: Invalid destination number"),
    (unifonic_error("ER-01", "No rate found or insufficient funds"), "failed", False,
     "HTTP 200, Unifonic ER-01: No rate found or insufficient funds"),
    (unifonic_sent(8, status="Rejected"), "failed", False, "HTTP 200, Unifonic status Rejected"),
    (Answer(482, {"success": False, "message": "Invalid dest num", "errorCode": 482}), "failed", True, "HTTP 482, Unifonic 482: Invalid dest num"),
    (Answer(401, {"success": False, "message": "Authentication failed", "errorCode": 401}), "failed", False,
     "HTTP 401, Unifonic 401: Authentication failed"),
    (Answer(429, {"success": False, "message": "Too many requests generated by this user"}), "retry", False,
     "HTTP 429: Too many requests generated by this user"),
    (Answer(503, b"upstream unavailable"), "retry", False, "HTTP 503"),
])
def test_unifonic_answers_map_to_outcomes(http: httpx.Client, answer: Answer, status: str, hard_bounce: bool, detail: str) -> None:
    with providing(answer) as provider:
        delivery = channels.send(unifonic(provider.url), phone_message(), http=http)
    assert (delivery.status, delivery.hard_bounce, delivery.detail) == (status, hard_bounce, detail)


# A generic JSON or form gateway ---------------------------------------------------------------------

def gateway(base: str, **overrides: Any) -> channels.GenericHttpConfig:
    channel = overrides.pop("channel", "sms")
    data = {
        "provider": "http", "url": base + "/v1/messages", "headers": {"Authorization": "Bearer gw-secret-token-123", "X-Tenant": "souq"},
        "body_template": '{"to": {{ to|tojson }}, "from": {{ sender|tojson }}, "text": {{ text|tojson }}, "ref": {{ message_id|tojson }}}',
        "sender": "WafaShop", "id_path": "messages.0.id",
    } | overrides
    config = channels.parse_config(channel, data)
    assert isinstance(config, channels.GenericHttpConfig)
    return config


def test_a_json_gateway_gets_the_rendered_body_and_its_headers(http: httpx.Client) -> None:
    text = 'Say "مرحبا" & <welcome>\nline two'
    with providing(Answer(202, {"messages": [{"id": "gw-771", "status": "accepted"}]})) as provider:
        delivery = channels.send(gateway(provider.url), phone_message(text=text), http=http)
    assert (delivery.status, delivery.provider_id) == ("sent", "gw-771")
    [request] = provider.requests
    assert (request.method, request.path) == ("POST", "/v1/messages")
    assert request.headers["content-type"] == "application/json"
    assert request.headers["authorization"] == "Bearer gw-secret-token-123"
    assert request.headers["x-tenant"] == "souq"
    assert request.headers["idempotency-key"] == "mm_9a8b7c6d"
    assert request.json == {"to": PHONE, "from": "WafaShop", "text": text, "ref": "mm_9a8b7c6d"}


def test_a_form_gateway_by_post_and_by_get(http: httpx.Client) -> None:
    form = "to={{ to_digits }}&msg={{ text|urlencode }}&lang={{ language }}"
    with providing(Answer(200, b"OK 5512")) as provider:
        posted = channels.send(gateway(provider.url, content_type="application/x-www-form-urlencoded", body_template=form, id_path=None),
                               phone_message(), http=http)
        got = channels.send(gateway(provider.url, url=provider.url + "/send?key=k-123", content_type="application/x-www-form-urlencoded",
                                    method="GET", body_template=form, id_path=None), phone_message(), http=http)
    assert (posted.status, posted.provider_id, posted.detail) == ("sent", None, "HTTP 200: OK 5512")
    assert got.status == "sent"
    post, get = provider.requests
    assert post.headers["content-type"] == "application/x-www-form-urlencoded"
    assert post.form == {"to": "966501234567", "msg": ARABIC, "lang": "ar"}
    assert (get.method, get.body) == ("GET", b"")
    assert get.query == {"key": "k-123", "to": "966501234567", "msg": ARABIC, "lang": "ar"}


@pytest.mark.parametrize(("answer", "status"), [
    (Answer(400, {"error": "bad number"}), "failed"),
    (Answer(404, b""), "failed"),
    (Answer(429, b""), "retry"),
    (Answer(500, {"error": "boom"}), "retry"),
    (Answer(502, b"bad gateway"), "retry"),
])
def test_gateway_answers_map_to_outcomes(http: httpx.Client, answer: Answer, status: str) -> None:
    with providing(answer) as provider:
        delivery = channels.send(gateway(provider.url), phone_message(), http=http)
    assert (delivery.status, delivery.hard_bounce, delivery.provider_id) == (status, False, None)  # a gateway's 4xx is never a hard bounce
    assert delivery.detail.startswith(f"HTTP {answer.status}")


def test_gateway_success_statuses_and_the_secrets_in_its_answer(http: httpx.Client) -> None:
    with providing(Answer(201, {"echo": "Bearer gw-secret-token-123"}), Answer(200, {"ok": True})) as provider:
        first = channels.send(gateway(provider.url, success_status=[201], id_path=None), phone_message(), http=http)
        second = channels.send(gateway(provider.url, success_status=[201], id_path=None), phone_message(), http=http)
    assert first.status == "sent"
    assert "gw-secret-token-123" not in first.detail
    assert channels.MASK in first.detail
    assert (second.status, second.detail) == ("failed", 'HTTP 200: {"ok": true}')


def test_a_gateway_that_hangs_or_refuses_is_a_retry() -> None:
    with providing(Answer(200, hang=5)) as provider, httpx.Client(timeout=0.3) as http:
        hung = channels.send(gateway(provider.url), phone_message(), http=http)
        refused = channels.send(gateway(refused_url()), phone_message(), http=http)
    assert (hung.status, hung.detail) == ("retry", "no answer in time (ReadTimeout)")
    assert refused.status == "retry"


def test_whatsapp_through_a_gateway(http: httpx.Client) -> None:
    with providing(Answer(200, {"messages": [{"id": "wamid.HBgM"}]})) as provider:
        config = gateway(provider.url, channel="whatsapp", body_template=(
            '{"messaging_product": "whatsapp", "to": {{ to_digits|tojson }}, "type": "text", "text": {"body": {{ text|tojson }}}}'))
        delivery = channels.send(config, phone_message("whatsapp"), http=http)
    assert (delivery.status, delivery.provider_id) == ("sent", "wamid.HBgM")
    assert provider.requests[0].json["text"] == {"body": ARABIC}


def test_a_message_for_another_channel_is_a_bug_not_a_delivery(http: httpx.Client) -> None:
    with pytest.raises(ValueError, match="cannot go through"):
        channels.send(twilio("http://127.0.0.1:9"), email(), http=http)

