"""The channels that carry messages to members: e-mail over SMTP, SMS and WhatsApp through Twilio, Unifonic
or any HTTP gateway. Transport only: a tenant's provider settings (validated, and masked for display), and
`send`, which delivers one rendered message and says how it went: sent, retry later, or failed (a hard
bounce when the address itself is bad)."""

from __future__ import annotations

import json
import logging
import os
import re
import smtplib
import ssl
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy as email_policy
from email.headerregistry import BaseHeader, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses
from functools import lru_cache
from typing import Annotated, Any, ClassVar, Literal, get_args
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import phonenumbers
from email_validator import EmailNotValidError, validate_email
from jinja2 import StrictUndefined, TemplateError, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, ValidationInfo, field_validator, model_validator

from wafa.config import get_settings
from wafa.errors import InvalidInput
from wafa.notify.webhooks import check_url

CHANNELS: tuple[str, ...] = ("email", "sms", "whatsapp")
LANGUAGES: tuple[str, ...] = ("ar", "en")
TIMEOUT_SECONDS = 10.0
log = logging.getLogger("wafa.messages")
MASK = "********"
USER_AGENT = "Wafa-Messages/1"
DETAIL_KEPT = 300
BODY_KEPT = 64 * 1024
# Statuses a provider sends when trying again later can work.
RETRYABLE = frozenset({408, 425, 429})
TWILIO_INVALID_NUMBER = frozenset({21211, 21614})  # 'To' is not a valid phone number / not a mobile number
UNIFONIC_INVALID_NUMBER = frozenset({"ER-02", "ER-03", "ER-04"})  # invalid destination (malformed, too long, too short)
UNIFONIC_INVALID_STATUS = frozenset({410, 482})  # "Invalid recipient format", "Invalid dest num"
SECRET_NAME = re.compile(r"auth|key|token|secret|pass|signature|credential|cookie|session", re.IGNORECASE)


class ChannelConfigError(InvalidInput, ValueError):
    """A channel configuration that cannot be used: `field` is the dotted path of the first bad value,
    `extra["errors"]` lists every one (the API answers 422 with them)."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        detail = "; ".join(f"{e['field']}: {e['reason']}" if e["field"] else e["reason"] for e in errors)
        super().__init__(detail, field=errors[0]["field"] or None, errors=errors)


class InvalidMessage(ValueError):
    """An OutgoingMessage built wrong (a bug in the caller, not a member's bad address)."""


class _FieldError(ValueError):
    """A check across fields that names the field to blame."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field


# Phone numbers and addresses ------------------------------------------------------------------------

def normalize_phone(raw: str, *, region: str | None = None) -> str:
    """The number in E.164 (+966501234567); ValueError when it is not a valid phone number. Without a
    region the number must start with + and its country code."""
    try:
        number = phonenumbers.parse(raw.strip(), region)
    except phonenumbers.NumberParseException:
        raise ValueError("not a phone number (E.164 expected, such as +966501234567)") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _email_address(value: str) -> str:
    """The one address in an e-mail address or a "Name <address>" (ValueError when there is not exactly one)."""
    if any(c in value for c in "\r\n\0"):
        raise ValueError("must be on one line")
    found = getaddresses([value])
    if len(found) != 1 or not found[0][1]:
        raise ValueError('must be one address, as "Name <address@example.com>" or address@example.com')
    try:
        checked = validate_email(found[0][1], check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from None
    return checked.ascii_email or checked.normalized  # an internationalised domain goes out in its ASCII form


def _public_url(url: str, *, field: str, resolve: bool) -> str:
    """The URL, when the SSRF rule of webhooks allows it (https, public address; WAFA_WEBHOOK_ALLOW_PRIVATE for tests)."""
    try:
        check_url(url, field=field, resolve=resolve)
    except InvalidInput as exc:
        raise ValueError(exc.detail) from None
    return url


def _resolve(info: ValidationInfo) -> bool:
    return bool((info.context or {}).get("resolve", True))


# Configurations -----------------------------------------------------------------------------------

class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    carries: ClassVar[tuple[str, ...]] = ()

    @field_validator("channel", mode="before", check_fields=False)
    @classmethod
    def _carried(cls, value: Any) -> Any:
        if value not in cls.carries:
            provider = get_args(cls.model_fields["provider"].annotation)[0]
            if provider == "unifonic" and value == "whatsapp":
                raise ValueError("Unifonic's WhatsApp is a separate product with its own API: use twilio or http for WhatsApp")
            raise ValueError(f"{provider} carries {' or '.join(cls.carries)}, not {value!r}")
        return value


class SmtpConfig(_Config):
    """E-mail through an SMTP server: STARTTLS (587) or implicit TLS (`ssl`, 465); a password never goes in clear."""

    carries: ClassVar[tuple[str, ...]] = ("email",)
    provider: Literal["smtp"]
    channel: Literal["email"] = "email"
    host: str = Field(min_length=1, max_length=253)
    port: int = Field(default=587, ge=1, le=65535)
    username: str | None = Field(default=None, min_length=1, max_length=256)
    password: str | None = Field(default=None, min_length=1, max_length=1024, repr=False)
    sender: str = Field(max_length=320, description='the From: "Name <address>"')
    reply_to: str | None = Field(default=None, max_length=320)
    starttls: bool = True
    ssl: bool = False
    timeout: float = Field(default=TIMEOUT_SECONDS, gt=0, le=60)

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        value = value.strip().lower()
        if not re.fullmatch(r"[a-z0-9.-]+|\[?[0-9a-f:.]+\]?", value) or value.strip("[]") != value.strip("[]").strip("."):
            raise ValueError("a host name or address, such as smtp.example.com (no scheme, no port)")
        return value.strip("[]")

    @field_validator("sender", "reply_to")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        if value is not None:
            _email_address(value)
        return value

    @model_validator(mode="after")
    def _security(self, info: ValidationInfo) -> SmtpConfig:
        if self.ssl and self.starttls:
            raise _FieldError("starttls", "ssl (implicit TLS, port 465) and starttls (port 587) exclude each other: set starttls to false")
        if (self.username is None) != (self.password is None):
            raise _FieldError("password" if self.username else "username", "give both username and password, or neither")
        host = f"[{self.host}]" if ":" in self.host else self.host
        try:
            check_url(f"https://{host}:{self.port}/", field="host", resolve=_resolve(info))
        except InvalidInput as exc:
            raise _FieldError("host", exc.detail.replace("the URL", "the host")) from None
        if self.password and not (self.ssl or self.starttls) and not _private_allowed():
            raise _FieldError("starttls", "a password is sent only over TLS: set starttls (or ssl)")
        return self


def _private_allowed() -> bool:
    return get_settings().webhook_allow_private


_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}")
_OWN_HEADERS = frozenset({"host", "content-length", "content-type", "transfer-encoding", "connection", "idempotency-key", "user-agent"})
_ID_PATH = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+){0,9}")


class GenericHttpConfig(_Config):
    """SMS or WhatsApp through any HTTP gateway: one request per message, its body rendered from a
    sandboxed Jinja2 template with `to`, `to_digits`, `text`, `sender`, `message_id`, `language`, `channel`."""

    carries: ClassVar[tuple[str, ...]] = ("sms", "whatsapp")
    provider: Literal["http"]
    channel: Literal["sms", "whatsapp"]
    url: str = Field(max_length=2048)
    method: Literal["POST", "GET"] = "POST"
    headers: dict[str, str] = Field(default_factory=dict, max_length=20, repr=False)
    content_type: Literal["application/json", "application/x-www-form-urlencoded"] = "application/json"
    body_template: str = Field(min_length=1, max_length=10_000)
    success_status: list[int] | None = Field(default=None, description="statuses that mean sent; none: any 2xx")
    id_path: str | None = Field(default=None, description="where the provider's message id is in a JSON answer: data.messages.0.id")
    sender: str | None = Field(default=None, max_length=64)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str, info: ValidationInfo) -> str:
        return _public_url(value.strip(), field="url", resolve=_resolve(info))

    @field_validator("method", mode="before")
    @classmethod
    def _method(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            if not _HEADER_NAME.fullmatch(name):
                raise ValueError(f"{name!r} is not a header name")
            if name.lower() in _OWN_HEADERS:
                raise ValueError(f"{name} is set by Wafa (content_type sets Content-Type)")
            if any(c in text for c in "\r\n\0") or len(text) > 4096:
                raise ValueError(f"the value of {name} must be one line of at most 4096 characters")
        return value

    @field_validator("body_template")
    @classmethod
    def _template(cls, value: str, info: ValidationInfo) -> str:
        content_type, method = info.data.get("content_type"), info.data.get("method")
        if content_type is None or method is None:
            return value  # reported on their own fields
        if method == "GET" and content_type != "application/x-www-form-urlencoded":
            raise ValueError("a GET sends the rendered template as the query string: set content_type to application/x-www-form-urlencoded")
        _check_template(value, content_type)
        return value

    @field_validator("success_status")
    @classmethod
    def _statuses(cls, value: list[int] | None) -> list[int] | None:
        if value is not None and (not value or any(not 200 <= code <= 299 for code in value)):
            raise ValueError("one or more statuses from 200 to 299 (or leave it out: any 2xx)")
        return sorted(set(value)) if value else value

    @field_validator("id_path")
    @classmethod
    def _id_path(cls, value: str | None) -> str | None:
        if value is not None and not _ID_PATH.fullmatch(value):
            raise ValueError("dotted keys (and list indexes) into the JSON answer, such as data.messages.0.id")
        return value


class TwilioConfig(_Config):
    """SMS or WhatsApp through Twilio's Messages API. `from` is an E.164 number, a Messaging Service
    SID (MG...), or for SMS an alphanumeric sender ID."""

    carries: ClassVar[tuple[str, ...]] = ("sms", "whatsapp")
    provider: Literal["twilio"]
    channel: Literal["sms", "whatsapp"]
    account_sid: str = Field(pattern=r"^AC[0-9a-fA-F]{32}$")
    auth_token: str = Field(min_length=16, max_length=128, pattern=r"^[A-Za-z0-9]+$", repr=False)
    from_: str = Field(alias="from", max_length=64)
    base_url: str = Field(default="https://api.twilio.com", max_length=256)

    @field_validator("base_url")
    @classmethod
    def _base(cls, value: str, info: ValidationInfo) -> str:
        return _base_url(value, info)

    @field_validator("from_")
    @classmethod
    def _from(cls, value: str, info: ValidationInfo) -> str:
        value = value.strip().removeprefix("whatsapp:")
        if re.fullmatch(r"MG[0-9a-fA-F]{32}", value):
            return value
        if info.data.get("channel") == "sms" and re.fullmatch(r"(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}", value):
            return value
        return normalize_phone(value)


class UnifonicConfig(_Config):
    """SMS through Unifonic's REST API (WhatsApp is a separate Unifonic product, not supported here)."""

    carries: ClassVar[tuple[str, ...]] = ("sms",)
    provider: Literal["unifonic"]
    channel: Literal["sms"]
    app_sid: str = Field(min_length=8, max_length=128, pattern=r"^[A-Za-z0-9_-]+$", repr=False)
    sender_id: str = Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9 ._&-]+$")
    base_url: str = Field(default="https://el.cloud.unifonic.com", max_length=256)

    @field_validator("base_url")
    @classmethod
    def _base(cls, value: str, info: ValidationInfo) -> str:
        return _base_url(value, info)


def _base_url(value: str, info: ValidationInfo) -> str:
    value = value.strip().rstrip("/")
    parts = urlsplit(value)
    if parts.query or parts.fragment:
        raise ValueError("a base URL, without query or fragment")
    return _public_url(value, field="base_url", resolve=_resolve(info))


class LogConfig(_Config):
    """Development and demos: the message is written to the server log and counts as sent; nothing leaves
    the machine (like sign-in codes when no SMTP server is set)."""

    carries: ClassVar[tuple[str, ...]] = ("email", "sms", "whatsapp")
    provider: Literal["log"]
    channel: Literal["email", "sms", "whatsapp"]


ChannelConfig = Annotated[SmtpConfig | GenericHttpConfig | TwilioConfig | UnifonicConfig | LogConfig, Field(discriminator="provider")]
AnyConfig = SmtpConfig | GenericHttpConfig | TwilioConfig | UnifonicConfig | LogConfig
_CONFIG: TypeAdapter[AnyConfig] = TypeAdapter(ChannelConfig)
PROVIDERS = ("smtp", "http", "twilio", "unifonic", "log")


def parse_config(channel: str, data: Any, *, resolve: bool = True) -> AnyConfig:
    """A tenant's settings for one channel, checked; ChannelConfigError (a ValueError and an InvalidInput,
    so a 422) naming each bad field. `resolve=False` skips looking host names up (a configuration saved
    earlier: `send` checks the address again anyway)."""
    if not isinstance(data, dict):
        raise ChannelConfigError([{"field": "", "reason": "the configuration must be a JSON object"}])
    if "channel" in data and data["channel"] != channel:
        raise ChannelConfigError([{"field": "channel", "reason": f"this configuration is for {data['channel']!r}, not {channel!r}"}])
    try:
        return _CONFIG.validate_python({**data, "channel": channel}, context={"resolve": resolve})
    except ValidationError as exc:
        raise ChannelConfigError([_reason(error) for error in exc.errors()]) from None


def _reason(error: Any) -> dict[str, str]:
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, _FieldError):
        return {"field": cause.field, "reason": str(cause)}
    if error["type"] in ("union_tag_not_found", "union_tag_invalid"):
        return {"field": "provider", "reason": f"provider must be one of {', '.join(PROVIDERS)}"}
    loc = [str(part) for part in error["loc"][1:] if part != "[key]"]  # the first is the provider (the union's tag)
    reason = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        reason = "not a setting of this provider"
    return {"field": ".".join(loc), "reason": reason}


def redacted(config: AnyConfig) -> dict[str, Any]:
    """The configuration as the API shows it: passwords, tokens, secret-looking headers and URL
    parameters masked with MASK."""
    data = config.model_dump(mode="json", by_alias=True)
    for name in ("password", "auth_token", "app_sid"):
        if data.get(name):
            data[name] = MASK
    if "headers" in data:
        data["headers"] = {name: MASK if SECRET_NAME.search(name) else value for name, value in data["headers"].items()}
    if "url" in data:
        parts = urlsplit(data["url"])
        if parts.query:
            query = [(k, MASK if SECRET_NAME.search(k) else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
            data["url"] = urlunsplit(parts._replace(query=urlencode(query, safe="*")))
    return data


def _secrets(config: AnyConfig) -> list[str]:
    """Every value `redacted` hides, to scrub from what a provider answered."""
    found = [getattr(config, name, None) or "" for name in ("password", "auth_token", "app_sid")]
    if isinstance(config, GenericHttpConfig):
        found += list(config.headers.values()) + [v for k, v in parse_qsl(urlsplit(config.url).query) if SECRET_NAME.search(k)]
    return sorted((s for s in found if len(s) >= 4), key=len, reverse=True)


# The gateway template -----------------------------------------------------------------------------

_JINJA = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
# A request body needs values, a few filters and choices, never loops, calls or filters that multiply
# their input (replace, center), and at most two filters one inside another (each of tojson and
# urlencode can triple a text): so no template can make a worker spin or fill its memory.
_NODES = (
    nodes.Template, nodes.Output, nodes.TemplateData, nodes.Name, nodes.Const, nodes.Filter, nodes.Test, nodes.If, nodes.CondExpr,
    nodes.Compare, nodes.Operand, nodes.And, nodes.Or, nodes.Not, nodes.Concat, nodes.Getitem, nodes.Slice, nodes.Keyword,
)
_FILTERS = frozenset({"tojson", "urlencode", "upper", "lower", "trim", "truncate", "default", "d", "string"})
_FILTER_DEPTH = 2
_TESTS = frozenset({"defined", "undefined", "none", "eq", "equalto", "ne", "string"})
_SAMPLE = {
    "to": "+966501234567", "to_digits": "966501234567", "sender": "Wafa", "message_id": "mm_sample", "language": "ar", "channel": "sms",
    "text": 'رصيدك 120 نقطة & "Wafa" <1+1=2>\nline 2 %20 \\',
}


@lru_cache(maxsize=256)
def _compiled(source: str) -> Any:
    tree = _JINJA.parse(source)
    for node in tree.find_all(nodes.Node):
        if type(node) not in _NODES:
            raise ValueError(f"the template may use values, filters and if/else, not {type(node).__name__.lower()}")
        if isinstance(node, nodes.Filter) and node.name not in _FILTERS:
            raise ValueError(f"filter {node.name!r} is not allowed (use {', '.join(sorted(_FILTERS))})")
        if isinstance(node, nodes.Test) and node.name not in _TESTS:
            raise ValueError(f"test {node.name!r} is not allowed")
        if isinstance(node, nodes.Name) and node.name not in _SAMPLE:
            raise ValueError(f"unknown variable {node.name!r} (known: {', '.join(sorted(_SAMPLE))})")
    if _filter_depth(tree) > _FILTER_DEPTH:
        raise ValueError(f"at most {_FILTER_DEPTH} filters one inside another, as {{{{ text|truncate(300)|tojson }}}}")
    return _JINJA.from_string(tree)


def _filter_depth(node: nodes.Node) -> int:
    inner = max((_filter_depth(child) for child in node.iter_child_nodes()), default=0)
    return inner + 1 if isinstance(node, nodes.Filter) else inner


def _check_template(source: str, content_type: str) -> None:
    """Compile and render with a hard sample: the text must arrive intact (quoted with `tojson` for JSON,
    `urlencode` for a form)."""
    try:
        body = _compiled(source).render(**_SAMPLE)
    except (TemplateError, TypeError, LookupError) as exc:
        raise ValueError(f"the template does not render: {exc}") from None
    if content_type == "application/json":
        try:
            values = _strings(json.loads(body))
        except ValueError:
            raise ValueError("the rendered body is not JSON: quote values with the tojson filter, as {{ text|tojson }}") from None
        hint = "{{ text|tojson }}"
    else:
        values = [v for _, v in parse_qsl(body, keep_blank_values=True)]
        hint = "text={{ text|urlencode }}"
    if not any(_SAMPLE["text"] in value for value in values):
        raise ValueError(f"the message text does not arrive intact: write it as {hint}")


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


# Messages and outcomes ----------------------------------------------------------------------------

_MESSAGE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+=-]{0,127}")


@dataclass(frozen=True, slots=True, kw_only=True)
class OutgoingMessage:
    """One rendered message for one member on one channel. `message_id` is Wafa's: the e-mail's
    Message-ID and the HTTP providers' Idempotency-Key. `subject`, `html` and the unsubscribe links are
    for e-mail; a marketing e-mail must carry `unsubscribe_url`. `to` is checked when sent (a bad address
    is that message's hard bounce)."""

    message_id: str
    channel: str
    to: str
    language: str
    text: str
    subject: str | None = None
    html: str | None = None
    unsubscribe_url: str | None = None
    unsubscribe_mailto: str | None = None
    marketing: bool = False

    def __post_init__(self) -> None:
        if self.channel not in CHANNELS:
            raise InvalidMessage(f"channel must be one of {', '.join(CHANNELS)}")
        if self.language not in LANGUAGES:
            raise InvalidMessage(f"language must be one of {', '.join(LANGUAGES)}")
        if not _MESSAGE_ID.fullmatch(self.message_id):
            raise InvalidMessage("message_id: 1-128 letters, digits and ._+=-")
        if not self.text.strip():
            raise InvalidMessage("the message has no text")
        if self.channel != "email":
            return
        if not self.subject or any(c in self.subject for c in "\r\n"):
            raise InvalidMessage("an e-mail needs a subject on one line")
        url = self.unsubscribe_url
        # http only where private addresses are allowed (development, tests): RFC 8058 wants https.
        secure = url is not None and (url.startswith("https://") or (url.startswith("http://") and (
            _private_allowed() or urlsplit(url).hostname in ("127.0.0.1", "localhost", "::1"))))
        if url is not None and (not secure or len(url) > 900 or re.search(r"[\s<>,]", url)):
            raise InvalidMessage("unsubscribe_url must be an https URL of at most 900 characters")
        if self.unsubscribe_mailto is not None:
            try:
                _email_address(self.unsubscribe_mailto.removeprefix("mailto:").split("?", 1)[0])
            except ValueError as exc:
                raise InvalidMessage(f"unsubscribe_mailto: {exc}") from None
        if self.marketing and url is None:
            raise InvalidMessage("a marketing e-mail needs an unsubscribe_url (RFC 8058 one-click)")


@dataclass(frozen=True, slots=True)
class Delivery:
    """How a send went: `sent` (the provider took it; `provider_id` is its id), `retry` (try again later)
    or `failed` (do not retry); `hard_bounce` when the address is bad and should be suppressed."""

    status: Literal["sent", "retry", "failed"]
    provider_id: str | None
    detail: str
    hard_bounce: bool = False


def client() -> httpx.Client:
    """The HTTP client for the providers: 10 s timeouts, redirects not followed."""
    return httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False, headers={"user-agent": USER_AGENT})


def send(
    config: AnyConfig, message: OutgoingMessage, *, http: httpx.Client,
) -> Delivery:
    """Deliver one message through the tenant's provider for its channel and classify the outcome.
    Raises only for a caller's mistake (a message for another channel)."""
    if message.channel != config.channel:
        raise ValueError(f"a {message.channel} message cannot go through the {config.channel} channel")
    if isinstance(config, LogConfig):
        log.info("%s message %s to %s (%s): %s%s", message.channel, message.message_id, message.to, message.language,
                 f"{message.subject} | " if message.subject else "", message.text)
        return Delivery("sent", f"log:{message.message_id}", "written to the server log (the log provider sends nothing)")
    if isinstance(config, SmtpConfig):
        delivery = _send_email(config, message)
    else:
        try:
            to = normalize_phone(message.to)
        except ValueError as exc:
            return Delivery("failed", None, f"the recipient is {exc}", hard_bounce=True)
        if isinstance(config, TwilioConfig):
            delivery = _send_twilio(config, message, to, http)
        elif isinstance(config, UnifonicConfig):
            delivery = _send_unifonic(config, message, to, http)
        else:
            delivery = _send_http(config, message, to, http)
    return _scrubbed(delivery, config)


NOT_ATTEMPTED = "not attempted: the batch ran out of time"


def send_many(
    config: AnyConfig, messages: list[OutgoingMessage], *, http: httpx.Client,
    deadline: float | None = None,
) -> list[Delivery]:
    """Deliver several messages through one provider, in order: e-mails over one SMTP connection, HTTP
    providers over the client's kept-alive connections. One outcome per message, as `send` gives; once
    `deadline` (time.monotonic()) has passed, the rest are not tried and come back as NOT_ATTEMPTED retries."""
    connection = _SmtpConnection(config) if isinstance(config, SmtpConfig) else None
    try:
        out = []
        for message in messages:
            if message.channel != config.channel:
                raise ValueError(f"a {message.channel} message cannot go through the {config.channel} channel")
            if deadline is not None and time.monotonic() > deadline:
                out.append(Delivery("retry", None, NOT_ATTEMPTED))
            elif connection is None:
                out.append(send(config, message, http=http))
            else:
                out.append(_scrubbed(connection.send(message), config))
        return out
    finally:
        if connection is not None:
            connection.close()


def _scrubbed(delivery: Delivery, config: AnyConfig) -> Delivery:
    detail = " ".join(delivery.detail.split())
    for secret in _secrets(config):
        detail = detail.replace(secret, MASK)
    if len(detail) > DETAIL_KEPT:
        detail = detail[: DETAIL_KEPT - 1] + "…"
    provider_id = delivery.provider_id[:200] if delivery.provider_id else None
    return Delivery(delivery.status, provider_id, detail, delivery.hard_bounce)


# E-mail -------------------------------------------------------------------------------------------

class _LinksHeader(UnstructuredHeader, BaseHeader):
    """List-Unsubscribe holds URIs in angle brackets: folded between them, never RFC 2047-encoded (the
    email package would encode a long line, and mail providers would not read the links)."""

    def fold(self, *, policy: Any) -> str:
        links = re.findall(r"<[^<>]*>", str(self)) or [str(self)]
        return f"{self.name}: " + f",{policy.linesep} ".join(links) + policy.linesep


_HEADERS = HeaderRegistry()
_HEADERS.map_to_type("list-unsubscribe", _LinksHeader)
_POLICY = email_policy.default.clone(header_factory=_HEADERS)


def build_email(config: SmtpConfig, message: OutgoingMessage, *, at: datetime | None = None) -> EmailMessage:
    """The e-mail as sent: plain text, with an HTML alternative (right to left in Arabic) when given; the
    one-click unsubscribe headers (RFC 2369, RFC 8058) when there is a link."""
    email = EmailMessage(policy=_POLICY)
    email["From"] = config.sender
    email["To"] = message.to
    if config.reply_to:
        email["Reply-To"] = config.reply_to
    email["Subject"] = message.subject or ""
    email["Date"] = format_datetime(at or datetime.now(UTC), usegmt=True)
    email["Message-ID"] = f"<{message.message_id}@{_email_address(config.sender).rsplit('@', 1)[1]}>"
    links = [f"<{message.unsubscribe_url}>"] if message.unsubscribe_url else []
    if message.unsubscribe_mailto:
        links.append(f"<mailto:{message.unsubscribe_mailto.removeprefix('mailto:')}>")
    if links:
        email["List-Unsubscribe"] = ", ".join(links)
    if message.unsubscribe_url:
        email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    # Base64 keeps a non-ASCII body 7-bit clean for servers without 8BITMIME.
    email.set_content(message.text, cte="base64" if not message.text.isascii() else None)
    if message.html:
        email.add_alternative(_html_document(message.html, message.language), subtype="html", cte="base64")
        for part in email.iter_parts():
            del part["MIME-Version"]  # set_content puts one on the new part; it belongs on the message only
    email["Content-Language"] = message.language  # after set_content, which resets the Content-* headers
    return email


def _html_document(html: str, language: str) -> str:
    direction = "rtl" if language == "ar" else "ltr"
    if re.search(r"<html[\s>]", html, re.IGNORECASE):
        def marked(tag: re.Match[str]) -> str:
            found = tag.group(0)
            for name, value in (("lang", language), ("dir", direction)):
                if not re.search(rf"\s{name}\s*=", found, re.IGNORECASE):
                    found = found[:-1] + f' {name}="{value}">'
            return found
        return re.sub(r"<html\b[^>]*>", marked, html, count=1, flags=re.IGNORECASE)
    return (
        f'<!DOCTYPE html>\n<html lang="{language}" dir="{direction}">\n<head><meta charset="utf-8"></head>\n'
        f'<body dir="{direction}">\n{html}\n</body>\n</html>\n'
    )


class _SMTP(smtplib.SMTP):
    """Keeps the server's answer to DATA (usually its queue id) for the delivery's detail."""

    accepted = b""

    def data(self, msg: Any) -> tuple[int, bytes]:
        code, reply = super().data(msg)
        self.accepted = reply
        return code, reply


class _SMTPS(smtplib.SMTP_SSL, _SMTP):
    pass


@lru_cache(maxsize=4)
def _tls_context(cafile: str | None, capath: str | None) -> ssl.SSLContext:
    """One TLS client context per trust store: making one reads every CA certificate (about 20 ms of CPU),
    which per e-mail was most of a broadcast's time. Contexts are safe to share between threads."""
    return ssl.create_default_context()


class _SmtpConnection:
    """One connection to a tenant's SMTP server, opened at the first message and kept for the next ones
    (a broadcast sends a batch over one connection instead of one connection per e-mail). A broken
    connection is that message's retry, and the next message opens a new one."""

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config
        self.smtp: _SMTP | None = None

    def _open(self) -> _SMTP:
        config = self.config
        context = _tls_context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
        smtp = _SMTPS(config.host, config.port, timeout=config.timeout, context=context) if config.ssl else _SMTP(
            config.host, config.port, timeout=config.timeout)
        try:
            if config.starttls:
                smtp.starttls(context=context)
            if config.username:
                smtp.login(config.username, config.password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (smtplib.SMTPException, OSError):
                self.smtp.close()
            self.smtp = None

    def send(self, message: OutgoingMessage) -> Delivery:
        config = self.config
        try:
            recipient = _email_address(message.to)
        except ValueError as exc:
            return Delivery("failed", None, f"the recipient is not an e-mail address: {exc}", hard_bounce=True)
        email = build_email(config, message)
        if self.smtp is None:
            host = f"[{config.host}]" if ":" in config.host else config.host
            try:
                check_url(f"https://{host}:{config.port}/", field="host")  # the address may have changed since the settings were saved
            except InvalidInput as exc:
                return Delivery("retry", None, exc.detail.replace("the URL", "the host"))
        try:
            if self.smtp is None:
                self.smtp = self._open()
            self.smtp.send_message(email, from_addr=_email_address(config.sender), to_addrs=[recipient])
            accepted = self.smtp.accepted.decode(errors="replace")
        except smtplib.SMTPRecipientsRefused as exc:  # smtplib reset the transaction: the connection goes on
            code, reply = next(iter(exc.recipients.values()))
            return _refused(code, reply, recipient=True)
        except smtplib.SMTPAuthenticationError as exc:
            self.close()
            return Delivery("failed", None, f"the server refused the username and password ({exc.smtp_code})")
        except smtplib.SMTPResponseException as exc:  # sender or data refused, HELO refused, 421 on connect
            if exc.smtp_code == 421 or self.smtp is None:
                self.close()
            return _refused(exc.smtp_code, exc.smtp_error, recipient=False)
        except smtplib.SMTPNotSupportedError as exc:
            self.close()
            return Delivery("failed", None, f"the server does not offer what the settings ask: {exc}")
        except ssl.SSLCertVerificationError as exc:
            self.close()
            return Delivery("failed", None, f"the server's TLS certificate is not trusted: {exc.verify_message}")
        except (smtplib.SMTPException, OSError) as exc:  # disconnected, refused, timed out, TLS broken
            if self.smtp is not None:
                self.smtp.close()
            self.smtp = None
            return Delivery("retry", None, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
        return Delivery("sent", str(email["Message-ID"]), f"accepted by {config.host}: {accepted}".rstrip(": "))


def _send_email(config: SmtpConfig, message: OutgoingMessage) -> Delivery:
    connection = _SmtpConnection(config)
    try:
        return connection.send(message)
    finally:
        connection.close()


def _refused(code: int, reply: bytes | str, *, recipient: bool) -> Delivery:
    """An SMTP refusal: 4xx is for later; 5xx is final, and on RCPT a hard bounce unless the enhanced code
    says the refusal is about policy or the system (5.7.x relay denied, blocklisted sender...), not the address."""
    text = reply.decode(errors="replace") if isinstance(reply, bytes) else reply
    detail = f"{code} {text}"
    if not 500 <= code <= 599:
        return Delivery("retry", None, detail)
    enhanced = re.match(r"\s*5\.(\d{1,3})\.(\d{1,3})\b", text)
    about_address = enhanced is None or enhanced.group(1) == "1" or (enhanced.group(1), enhanced.group(2)) == ("2", "1")
    return Delivery("failed", None, detail, hard_bounce=recipient and about_address)


# SMS and WhatsApp over HTTP -----------------------------------------------------------------------

def _request(http: httpx.Client, method: str, url: str, **kwargs: Any) -> httpx.Response | Delivery:
    """The provider's answer, or the retry that a refused address, a timeout or a broken connection means."""
    try:
        check_url(url)  # the address may have changed since the settings were saved
    except InvalidInput as exc:
        return Delivery("retry", None, exc.detail)
    try:
        return http.request(method, url, follow_redirects=False, **kwargs)
    except httpx.TimeoutException as exc:
        return Delivery("retry", None, f"no answer in time ({type(exc).__name__})")
    except httpx.HTTPError as exc:
        return Delivery("retry", None, f"{type(exc).__name__}: {exc}")


def _headers(message: OutgoingMessage, content_type: str | None = None) -> dict[str, str]:
    headers = {"idempotency-key": message.message_id, "user-agent": USER_AGENT, "accept": "application/json"}
    if content_type:
        headers["content-type"] = content_type
    return headers


def _answer(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _unsuccessful(response: httpx.Response, detail: str, *, hard_bounce: bool = False) -> Delivery:
    """A non-2xx answer: 408/425/429 and 5xx are for later, a redirect or another 4xx is final."""
    status = response.status_code
    if status in RETRYABLE or status >= 500:
        return Delivery("retry", None, detail)
    if 300 <= status < 400:
        return Delivery("failed", None, f"{detail} (a redirect, not followed: check the URL)")
    return Delivery("failed", None, detail, hard_bounce=hard_bounce)


def _send_twilio(config: TwilioConfig, message: OutgoingMessage, to: str, http: httpx.Client) -> Delivery:
    prefix = "whatsapp:" if config.channel == "whatsapp" else ""
    form = {"To": prefix + to}
    if config.from_.startswith("MG"):
        form["MessagingServiceSid"] = config.from_
    else:
        form["From"] = (prefix if config.from_.startswith("+") else "") + config.from_
    form["Body"] = message.text
    url = f"{config.base_url}/2010-04-01/Accounts/{config.account_sid}/Messages.json"
    response = _request(http, "POST", url, data=form, auth=(config.account_sid, config.auth_token), headers=_headers(message))
    if isinstance(response, Delivery):
        return response
    found = _answer(response)
    answer: dict[str, Any] = found if isinstance(found, dict) else {}
    if response.is_success:
        sid = answer.get("sid")
        return Delivery("sent", str(sid) if sid else None, f"HTTP {response.status_code}, {answer.get('status') or 'accepted'}")
    code = answer.get("code")
    detail = f"HTTP {response.status_code}, Twilio {code}: {answer.get('message')}" if code else f"HTTP {response.status_code}"
    return _unsuccessful(response, detail, hard_bounce=code in TWILIO_INVALID_NUMBER)


def _send_unifonic(config: UnifonicConfig, message: OutgoingMessage, to: str, http: httpx.Client) -> Delivery:
    form = {
        "AppSid": config.app_sid, "SenderID": config.sender_id, "Recipient": to.removeprefix("+"), "Body": message.text,
        "responseType": "JSON", "CorrelationID": message.message_id,
    }
    response = _request(http, "POST", f"{config.base_url}/rest/SMS/messages", data=form, headers=_headers(message))
    if isinstance(response, Delivery):
        return response
    found = _answer(response)
    answer: dict[str, Any] = found if isinstance(found, dict) else {}
    error, text = answer.get("errorCode"), answer.get("message")
    detail = f"HTTP {response.status_code}" + (f", Unifonic {error}" if error else "") + (f": {text}" if text else "")
    if not response.is_success:
        hard = response.status_code in UNIFONIC_INVALID_STATUS or error in UNIFONIC_INVALID_NUMBER
        return _unsuccessful(response, detail, hard_bounce=hard)
    if str(answer.get("success")).lower() != "true":
        return Delivery("failed", None, detail if error or text else f"{detail}, no success in the answer",
                        hard_bounce=error in UNIFONIC_INVALID_NUMBER)
    data: dict[str, Any] = answer["data"] if isinstance(answer.get("data"), dict) else {}
    provider_id = str(data["MessageID"]) if data.get("MessageID") is not None else None
    if str(data.get("Status", "")).lower() in ("rejected", "failed"):
        return Delivery("failed", provider_id, f"HTTP {response.status_code}, Unifonic status {data['Status']}")
    return Delivery("sent", provider_id, f"HTTP {response.status_code}, {data.get('Status') or 'accepted'}")


def _send_http(config: GenericHttpConfig, message: OutgoingMessage, to: str, http: httpx.Client) -> Delivery:
    values = {
        "to": to, "to_digits": to.removeprefix("+"), "text": message.text, "sender": config.sender or "", "message_id": message.message_id,
        "language": message.language, "channel": message.channel,
    }
    try:
        body = _compiled(config.body_template).render(**values)
    except (TemplateError, TypeError, ValueError, LookupError) as exc:
        return Delivery("failed", None, f"the body template does not render: {exc}")
    if len(body.encode()) > BODY_KEPT:
        return Delivery("failed", None, "the rendered body is over 64 KiB")
    headers = {**config.headers, **_headers(message, None if config.method == "GET" else config.content_type)}
    if config.method == "GET":
        url = config.url + ("&" if urlsplit(config.url).query else "?") + body
        response = _request(http, "GET", url, headers=headers)
    else:
        response = _request(http, "POST", config.url, content=body.encode(), headers=headers)
    if isinstance(response, Delivery):
        return response
    snippet = " ".join(response.content[:200].decode(errors="replace").split())
    detail = f"HTTP {response.status_code}" + (f": {snippet}" if snippet else "")
    sent = response.status_code in config.success_status if config.success_status else response.is_success
    if not sent:
        return _unsuccessful(response, detail) if not response.is_success else Delivery("failed", None, detail)
    return Delivery("sent", _at_path(_answer(response), config.id_path) if config.id_path else None, detail)


def _at_path(answer: Any, path: str) -> str | None:
    for key in path.split("."):
        if isinstance(answer, dict):
            answer = answer.get(key)
        elif isinstance(answer, list) and key.isdigit() and int(key) < len(answer):
            answer = answer[int(key)]
        else:
            return None
    return str(answer) if isinstance(answer, str | int) and not isinstance(answer, bool) else None
