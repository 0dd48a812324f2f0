"""What goes out on a channel and how it went: one rendered message for one member (`OutgoingMessage`,
checked when built) and the outcome of sending it (`Delivery`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from wafa.messages.channel_settings import email_address, private_allowed

CHANNELS: tuple[str, ...] = ("email", "sms", "whatsapp")
LANGUAGES: tuple[str, ...] = ("ar", "en")


class InvalidMessage(ValueError):
    """An OutgoingMessage built wrong (a bug in the caller, not a member's bad address)."""


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
            private_allowed() or urlsplit(url).hostname in ("127.0.0.1", "localhost", "::1"))))
        if url is not None and (not secure or len(url) > 900 or re.search(r"[\s<>,]", url)):
            raise InvalidMessage("unsubscribe_url must be an https URL of at most 900 characters")
        if self.unsubscribe_mailto is not None:
            try:
                email_address(self.unsubscribe_mailto.removeprefix("mailto:").split("?", 1)[0])
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
