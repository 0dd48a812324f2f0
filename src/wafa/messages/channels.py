"""The channels that carry messages to members: e-mail over SMTP, SMS and WhatsApp through Twilio, Unifonic
or any HTTP gateway. Transport only: a tenant's provider settings (validated, and masked for display), and
`send`, which delivers one rendered message and says how it went: sent, retry later, or failed (a hard
bounce when the address itself is bad).

This is the channels' public face; the settings live in `channel_settings`, the gateway's body template in
`gateway_template`, the message and its outcome in `outgoing_message`, and the two transports in
`email_sending` and `sms_sending`."""

from __future__ import annotations

import logging
import time

import httpx

from wafa.messages.channel_settings import (
    MASK,
    PROVIDERS,
    SECRET_NAME,
    TIMEOUT_SECONDS,
    AnyConfig,
    ChannelConfig,
    ChannelConfigError,
    GenericHttpConfig,
    LogConfig,
    SmtpConfig,
    TwilioConfig,
    UnifonicConfig,
    normalize_phone,
    parse_config,
    redacted,
    secret_values,
)
from wafa.messages.email_sending import SmtpConnection, build_email, send_email
from wafa.messages.outgoing_message import CHANNELS, LANGUAGES, Delivery, InvalidMessage, OutgoingMessage
from wafa.messages.sms_sending import (
    BODY_KEPT,
    RETRYABLE,
    TWILIO_INVALID_NUMBER,
    UNIFONIC_INVALID_NUMBER,
    UNIFONIC_INVALID_STATUS,
    USER_AGENT,
    send_http,
    send_twilio,
    send_unifonic,
)

__all__ = [
    "BODY_KEPT", "CHANNELS", "DETAIL_KEPT", "LANGUAGES", "MASK", "NOT_ATTEMPTED", "PROVIDERS", "RETRYABLE", "SECRET_NAME", "TIMEOUT_SECONDS",
    "TWILIO_INVALID_NUMBER", "UNIFONIC_INVALID_NUMBER", "UNIFONIC_INVALID_STATUS", "USER_AGENT", "AnyConfig", "ChannelConfig",
    "ChannelConfigError", "Delivery", "GenericHttpConfig", "InvalidMessage", "LogConfig", "OutgoingMessage", "SmtpConfig", "TwilioConfig",
    "UnifonicConfig", "build_email", "client", "normalize_phone", "parse_config", "redacted", "send", "send_many",
]

log = logging.getLogger("wafa.messages")
DETAIL_KEPT = 300


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
        delivery = send_email(config, message)
    else:
        try:
            to = normalize_phone(message.to)
        except ValueError as exc:
            return Delivery("failed", None, f"the recipient is {exc}", hard_bounce=True)
        if isinstance(config, TwilioConfig):
            delivery = send_twilio(config, message, to, http)
        elif isinstance(config, UnifonicConfig):
            delivery = send_unifonic(config, message, to, http)
        else:
            delivery = send_http(config, message, to, http)
    return _scrubbed(delivery, config)


NOT_ATTEMPTED = "not attempted: the batch ran out of time"


def send_many(
    config: AnyConfig, messages: list[OutgoingMessage], *, http: httpx.Client,
    deadline: float | None = None,
) -> list[Delivery]:
    """Deliver several messages through one provider, in order: e-mails over one SMTP connection, HTTP
    providers over the client's kept-alive connections. One outcome per message, as `send` gives; once
    `deadline` (time.monotonic()) has passed, the rest are not tried and come back as NOT_ATTEMPTED retries."""
    connection = SmtpConnection(config) if isinstance(config, SmtpConfig) else None
    try:
        out = []
        for message in messages:
            if message.channel != config.channel:
                raise ValueError(f"a {message.channel} message cannot go through the {config.channel} channel")
            if deadline is not None and time.monotonic() > deadline:
                out.append(Delivery("retry", None, NOT_ATTEMPTED))
                continue
            try:
                out.append(send(config, message, http=http) if connection is None else _scrubbed(connection.send(message), config))
            except Exception as exc:  # this message's retry; those before it went, those after it still go
                log.exception("sending %s failed", message.message_id)
                if connection is not None:
                    connection.close()  # in an unknown state: the next message opens a new one
                out.append(Delivery("retry", None, type(exc).__name__))
        return out
    finally:
        if connection is not None:
            connection.close()


def _scrubbed(delivery: Delivery, config: AnyConfig) -> Delivery:
    detail = " ".join(delivery.detail.split())
    for secret in secret_values(config):
        detail = detail.replace(secret, MASK)
    if len(detail) > DETAIL_KEPT:
        detail = detail[: DETAIL_KEPT - 1] + "…"
    provider_id = delivery.provider_id[:200] if delivery.provider_id else None
    return Delivery(delivery.status, provider_id, detail, delivery.hard_bounce)
