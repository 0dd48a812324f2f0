"""A tenant's provider settings for each channel, checked (every bad field named) and masked for display:
SMTP, Twilio, Unifonic, any HTTP gateway, or the server log; and the phone and e-mail address rules they share."""

from __future__ import annotations

import re
from email.utils import getaddresses
from typing import Annotated, Any, ClassVar, Literal, get_args
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, ValidationInfo, field_validator, model_validator

from wafa.config import get_settings
from wafa.errors import InvalidInput
from wafa.messages.gateway_template import check_template
from wafa.notify.webhooks import check_url

TIMEOUT_SECONDS = 10.0
MASK = "********"
SECRET_NAME = re.compile(r"auth|key|token|secret|pass|signature|credential|cookie|session", re.IGNORECASE)


class ChannelConfigError(InvalidInput, ValueError):
    """A channel configuration that cannot be used: `field` is the dotted path of the first bad value,
    `extra["errors"]` lists every one (the API answers 422 with them)."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        detail = "; ".join(f"{e['field']}: {e['reason']}" if e["field"] else e["reason"] for e in errors)
        super().__init__(detail, field=errors[0]["field"] or None, errors=errors)


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


def email_address(value: str) -> str:
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
            email_address(value)
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
        if self.password and not (self.ssl or self.starttls) and not private_allowed():
            raise _FieldError("starttls", "a password is sent only over TLS: set starttls (or ssl)")
        return self


def private_allowed() -> bool:
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
        check_template(value, content_type)
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


def secret_values(config: AnyConfig) -> list[str]:
    """Every value `redacted` hides, to scrub from what a provider answered."""
    found = [getattr(config, name, None) or "" for name in ("password", "auth_token", "app_sid")]
    if isinstance(config, GenericHttpConfig):
        found += list(config.headers.values()) + [v for k, v in parse_qsl(urlsplit(config.url).query) if SECRET_NAME.search(k)]
    return sorted((s for s in found if len(s) >= 4), key=len, reverse=True)
