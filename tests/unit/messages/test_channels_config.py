"""A tenant's channel settings as the API takes them: each provider's fields checked with a reason and a
field path (a 422), addresses refused as webhooks refuse them, the gateway template held to values and
filters, secrets masked for display and never in a repr; and the messages themselves checked."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from wafa.errors import InvalidInput
from wafa.messages import channels
from wafa.messages.channels import ChannelConfigError, InvalidMessage, OutgoingMessage

ACCOUNT = "AC" + "0123456789abcdef" * 2
TOKEN = "5e3c9d0b7a2f4e6a8c1d3b5f7a9e2c4d"
SMTP = {"provider": "smtp", "host": "smtp.mailer.example.com", "username": "wafa", "password": "p@ss w0rd!", "sender": "Wafa <no-reply@wafa.example>"}
TWILIO = {"provider": "twilio", "account_sid": ACCOUNT, "auth_token": TOKEN, "from": "+14155552671"}
UNIFONIC = {"provider": "unifonic", "app_sid": "uNiF0n1cAppSid2024xyz", "sender_id": "WafaShop"}
JSON_BODY = '{"to": {{ to|tojson }}, "text": {{ text|tojson }}}'
GATEWAY = {"provider": "http", "url": "https://gw.example.com/send", "body_template": JSON_BODY}


def parse(channel: str, data: dict[str, Any]) -> Any:
    return channels.parse_config(channel, data, resolve=False)  # no DNS in unit tests


def errors_of(channel: str, data: Any, *, resolve: bool = False) -> dict[str, str]:
    with pytest.raises(ChannelConfigError) as caught:
        channels.parse_config(channel, data, resolve=resolve)
    return {e["field"]: e["reason"] for e in caught.value.extra["errors"]}


# Parsing and errors -----------------------------------------------------------------------------

def test_smtp_defaults_to_starttls_on_587() -> None:
    config = parse("email", SMTP)
    assert isinstance(config, channels.SmtpConfig)
    assert (config.port, config.starttls, config.ssl, config.timeout, config.channel) == (587, True, False, 10.0, "email")


def test_a_config_error_is_a_422_with_every_field_named() -> None:
    with pytest.raises(ChannelConfigError) as caught:
        parse("email", {**SMTP, "port": 0, "sender": "no-at-sign", "colour": "blue"})
    error = caught.value
    assert isinstance(error, ValueError) and isinstance(error, InvalidInput)
    problem = error.problem()
    assert problem["status"] == 422
    assert {e["field"] for e in problem["errors"]} == {"port", "sender", "colour"}
    assert error.field == "port"
    assert {e["field"]: e["reason"] for e in problem["errors"]}["colour"] == "not a setting of this provider"


@pytest.mark.parametrize(("data", "field", "reason"), [
    ({**SMTP, "ssl": True}, "starttls", "ssl (implicit TLS, port 465) and starttls (port 587) exclude each other: set starttls to false"),
    ({**SMTP, "password": None}, "password", "give both username and password, or neither"),
    ({**SMTP, "username": None}, "username", "give both username and password, or neither"),
    ({**SMTP, "starttls": False}, "starttls", "a password is sent only over TLS: set starttls (or ssl)"),
    ({**SMTP, "host": "smtp://mail.example.com"}, "host", "a host name or address, such as smtp.example.com (no scheme, no port)"),
    ({**SMTP, "reply_to": "a@example.com, b@example.com"}, "reply_to", 'must be one address, as "Name <address@example.com>" or address@example.com'),
    ({**SMTP, "sender": "Wafa <no-reply@wafa.example>\r\nBcc: x@example.com"}, "sender", "must be on one line"),
    ({**SMTP, "timeout": 0}, "timeout", "Input should be greater than 0"),
])
def test_smtp_settings_that_cannot_work_are_refused(data: dict[str, Any], field: str, reason: str) -> None:
    assert errors_of("email", data) == {field: reason}


def test_a_plain_relay_without_a_password_may_skip_tls() -> None:
    config = parse("email", {"provider": "smtp", "host": "relay.example.com", "port": 25, "sender": "shop@example.com", "starttls": False})
    assert config.username is None


@pytest.mark.parametrize(("channel", "data", "reason"), [
    ("sms", SMTP, "smtp carries email, not 'sms'"),
    ("email", TWILIO, "twilio carries sms or whatsapp, not 'email'"),
    ("whatsapp", UNIFONIC, "Unifonic's WhatsApp is a separate product with its own API: use twilio or http for WhatsApp"),
    ("push", GATEWAY, "http carries sms or whatsapp, not 'push'"),
])
def test_a_provider_carries_only_its_channels(channel: str, data: dict[str, Any], reason: str) -> None:
    assert errors_of(channel, data) == {"channel": reason}


def test_provider_and_shape_errors() -> None:
    assert errors_of("sms", {"app_sid": "x"}) == {"provider": "provider must be one of smtp, http, twilio, unifonic, log"}
    assert errors_of("sms", {"provider": "vonage"}) == {"provider": "provider must be one of smtp, http, twilio, unifonic, log"}
    assert errors_of("sms", ["not", "an", "object"]) == {"": "the configuration must be a JSON object"}
    assert errors_of("sms", {**TWILIO, "channel": "whatsapp"}) == {"channel": "this configuration is for 'whatsapp', not 'sms'"}


def test_a_stored_configuration_parses_back_to_itself() -> None:
    for channel, data in (("email", SMTP), ("sms", TWILIO), ("sms", UNIFONIC), ("whatsapp", GATEWAY)):
        config = parse(channel, data)
        assert parse(channel, config.model_dump(mode="json", by_alias=True)) == config


# Addresses: the SSRF rule of webhooks -----------------------------------------------------------

def test_private_and_plain_http_addresses_are_refused_by_default() -> None:
    assert errors_of("email", {**SMTP, "host": "10.0.0.7"}, resolve=True) == {
        "host": "10.0.0.7 resolves to 10.0.0.7, which is not a public address"}
    assert errors_of("sms", {**TWILIO, "base_url": "https://169.254.169.254"}, resolve=True) == {
        "base_url": "169.254.169.254 resolves to 169.254.169.254, which is not a public address"}
    assert errors_of("sms", {**GATEWAY, "url": "http://gw.example.com/send"}) == {"url": "the URL must use https"}
    assert errors_of("sms", {**GATEWAY, "url": "https://user:pw@gw.example.com/send"})["url"].startswith("the URL must not carry a user name")
    assert errors_of("sms", {**UNIFONIC, "base_url": "https://el.cloud.unifonic.com/?x=1"}) == {
        "base_url": "a base URL, without query or fragment"}


@pytest.mark.usefixtures("allow_private_webhooks")
def test_private_addresses_are_allowed_for_tests_and_development() -> None:
    assert parse("email", {**SMTP, "host": "127.0.0.1", "starttls": False}).host == "127.0.0.1"
    assert parse("sms", {**TWILIO, "base_url": "http://127.0.0.1:8080/"}).base_url == "http://127.0.0.1:8080"


# Twilio and Unifonic ------------------------------------------------------------------------------

def test_twilio_from_is_a_number_a_service_or_an_sms_sender_id() -> None:
    assert parse("whatsapp", {**TWILIO, "from": "whatsapp:+1 415 523 8886"}).from_ == "+14155238886"
    assert parse("sms", {**TWILIO, "from": "MG" + "a" * 32}).from_ == "MG" + "a" * 32
    assert parse("sms", {**TWILIO, "from": "WafaShop"}).from_ == "WafaShop"
    assert parse("sms", {**{k: v for k, v in TWILIO.items() if k != "from"}, "from_": "+14155552671"}).from_ == "+14155552671"
    assert errors_of("whatsapp", {**TWILIO, "from": "WafaShop"}) == {"from": "not a phone number (E.164 expected, such as +966501234567)"}
    assert errors_of("sms", {**TWILIO, "from": "+1555"}) == {"from": "not a valid phone number"}


def test_twilio_credentials_are_checked() -> None:
    assert set(errors_of("sms", {**TWILIO, "account_sid": "SK123", "auth_token": "short"})) == {"account_sid", "auth_token"}


def test_unifonic_needs_its_app_sid_and_a_sender() -> None:
    assert set(errors_of("sms", {"provider": "unifonic"})) == {"app_sid", "sender_id"}
    assert parse("sms", UNIFONIC).base_url == "https://el.cloud.unifonic.com"


# The gateway's template ---------------------------------------------------------------------------

@pytest.mark.parametrize(("data", "reason"), [
    ({"body_template": '{"to": "{{ to }}", "text": "{{ text }}"}'},
     "the rendered body is not JSON: quote values with the tojson filter, as {{ text|tojson }}"),
    ({"body_template": '{"to": {{ to|tojson }}}'}, "the message text does not arrive intact: write it as {{ text|tojson }}"),
    ({"body_template": "to={{ to }}&text={{ text }}", "content_type": "application/x-www-form-urlencoded"},
     "the message text does not arrive intact: write it as text={{ text|urlencode }}"),
    ({"body_template": '{% for i in range(99999) %}{{ text|tojson }}{% endfor %}'}, "the template may use values, filters and if/else, not for"),
    ({"body_template": '{{ lipsum(999999)|tojson }}'}, "the template may use values, filters and if/else, not call"),
    ({"body_template": '{{ (text * 99999999)|tojson }}'}, "the template may use values, filters and if/else, not mul"),
    ({"body_template": '{{ text|center(999999999)|tojson }}'},
     "filter 'center' is not allowed (use d, default, lower, string, tojson, trim, truncate, upper, urlencode)"),
    ({"body_template": '{{ text|tojson|tojson|tojson|tojson }}'}, "at most 2 filters one inside another, as {{ text|truncate(300)|tojson }}"),
    ({"body_template": '{{ (text|urlencode ~ "x")|urlencode|tojson }}'}, "at most 2 filters one inside another, as {{ text|truncate(300)|tojson }}"),
    ({"body_template": '{"t": {{ text|tojson }}, "k": {{ api_key|tojson }}}'},
     "unknown variable 'api_key' (known: channel, language, message_id, sender, text, to, to_digits)"),
    ({"body_template": '{{ text.__class__|tojson }}'}, "the template may use values, filters and if/else, not getattr"),
    ({"body_template": '{{ text["__class__"]|tojson }}'}, "the template does not render: Object of type StrictUndefined is not JSON serializable"),
    ({"body_template": '{{ text|tojson }'}, "the template does not render: unexpected '}'"),
    ({"body_template": "text={{ text|urlencode }}", "method": "GET"},
     "a GET sends the rendered template as the query string: set content_type to application/x-www-form-urlencoded"),
])
def test_gateway_templates_that_cannot_carry_the_text_safely_are_refused(data: dict[str, Any], reason: str) -> None:
    assert errors_of("sms", {**GATEWAY, **data}) == {"body_template": reason}


def test_gateway_templates_may_choose_by_language() -> None:
    template = '{"lang": {{ ("arabic" if language == "ar" else "english")|tojson }}, "text": {{ ("Wafa: " ~ text|trim)|tojson }}}'
    assert parse("sms", {**GATEWAY, "body_template": template}).body_template == template


@pytest.mark.parametrize(("data", "field", "reason"), [
    ({"headers": {"Content-Type": "text/plain"}}, "headers", "Value error, Content-Type is set by Wafa (content_type sets Content-Type)"),
    ({"headers": {"X-Key": "a\r\nX-Evil: 1"}}, "headers", "the value of X-Key must be one line of at most 4096 characters"),
    ({"headers": {"Bad Name": "v"}}, "headers", "'Bad Name' is not a header name"),
    ({"success_status": [200, 404]}, "success_status", "one or more statuses from 200 to 299 (or leave it out: any 2xx)"),
    ({"id_path": "$.messages[0].id"}, "id_path", "dotted keys (and list indexes) into the JSON answer, such as data.messages.0.id"),
    ({"method": "PUT"}, "method", "Input should be 'POST' or 'GET'"),
])
def test_gateway_fields_are_checked(data: dict[str, Any], field: str, reason: str) -> None:
    assert errors_of("sms", {**GATEWAY, **data}) == {field: reason.removeprefix("Value error, ")}


# Showing a configuration --------------------------------------------------------------------------

def test_redacted_masks_every_secret_and_keeps_the_rest() -> None:
    mask = channels.MASK
    assert channels.redacted(parse("email", SMTP))["password"] == mask
    assert channels.redacted(parse("sms", TWILIO)) == {
        "provider": "twilio", "channel": "sms", "account_sid": ACCOUNT, "auth_token": mask, "from": "+14155552671",
        "base_url": "https://api.twilio.com",
    }
    assert channels.redacted(parse("sms", UNIFONIC))["app_sid"] == mask
    gateway = parse("sms", {**GATEWAY, "url": "https://gw.example.com/send?api_key=k-123&route=fast", "headers": {
        "Authorization": "Bearer abc", "X-Api-Key": "k1", "X-Auth-Token": "t1", "Accept-Language": "ar",
    }})
    shown = channels.redacted(gateway)
    assert shown["headers"] == {"Authorization": mask, "X-Api-Key": mask, "X-Auth-Token": mask, "Accept-Language": "ar"}
    assert shown["url"] == "https://gw.example.com/send?api_key=********&route=fast"
    assert gateway.headers["Authorization"] == "Bearer abc"  # the configuration itself is untouched


def test_no_secret_is_in_a_repr() -> None:
    for channel, data, secret in (("email", SMTP, "p@ss w0rd!"), ("sms", TWILIO, TOKEN), ("sms", UNIFONIC, "uNiF0n1cAppSid2024xyz"),
                                  ("sms", {**GATEWAY, "headers": {"Authorization": "Bearer abc-secret"}}, "abc-secret")):
        assert secret not in repr(parse(channel, data))


# Messages and phone numbers -----------------------------------------------------------------------

def test_normalize_phone() -> None:
    assert channels.normalize_phone("+966 50 123 4567") == "+966501234567"
    assert channels.normalize_phone("0501234567", region="SA") == "+966501234567"
    for bad in ("0501234567", "+96612", "not a number", "+1 555 0100"):
        with pytest.raises(ValueError):
            channels.normalize_phone(bad)


def message(**overrides: Any) -> OutgoingMessage:
    values: dict[str, Any] = {"message_id": "mm_0f1e", "channel": "email", "to": "layla@example.com", "language": "ar",
                              "subject": "نقاطك", "text": "مرحبا"} | overrides
    return OutgoingMessage(**values)


@pytest.mark.parametrize(("overrides", "reason"), [
    ({"channel": "push"}, "channel must be one of email, sms, whatsapp"),
    ({"language": "fr"}, "language must be one of ar, en"),
    ({"message_id": "<mm@wafa>"}, "message_id: 1-128 letters, digits and ._+=-"),
    ({"text": "  "}, "the message has no text"),
    ({"subject": None}, "an e-mail needs a subject on one line"),
    ({"subject": "Hi\r\nBcc: x@example.com"}, "an e-mail needs a subject on one line"),
    ({"unsubscribe_url": "http://wafa.example/u"}, "unsubscribe_url must be an https URL of at most 900 characters"),
    ({"marketing": True}, "a marketing e-mail needs an unsubscribe_url (RFC 8058 one-click)"),
    ({"unsubscribe_mailto": "mailto:nobody"}, "unsubscribe_mailto: An email address must have an @-sign."),
])
def test_a_message_built_wrong_is_refused(overrides: dict[str, Any], reason: str) -> None:
    with pytest.raises(InvalidMessage, match=reason.replace("(", r"\(").replace(")", r"\)").replace("+", r"\+").replace(".", r"\.")):
        message(**overrides)


def test_an_sms_needs_no_subject_and_messages_are_frozen() -> None:
    sms = message(channel="sms", to="+966501234567", subject=None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        sms.text = "changed"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        channels.Delivery("sent", "x", "ok").status = "failed"  # type: ignore[misc]


def test_html_is_marked_with_the_language_and_direction() -> None:
    config = parse("email", SMTP)
    fragment = channels.build_email(config, message(html="<p>مرحبا</p>"))
    document = channels.build_email(config, message(language="en", html='<html class="x"><body><p>Hi</p></body></html>'))
    assert '<html lang="ar" dir="rtl">' in fragment.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert '<html class="x" lang="en" dir="ltr">' in document.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "MIME-Version" not in fragment.get_body(("html",))  # type: ignore[operator]
