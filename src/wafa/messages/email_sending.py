"""E-mail over SMTP: the message as sent (plain text, an HTML alternative, the one-click unsubscribe
headers), one connection kept for a batch, and the server's refusals classified (retry, failure, hard bounce)."""

from __future__ import annotations

import os
import re
import smtplib
import ssl
from datetime import UTC, datetime
from email import policy as email_policy
from email.headerregistry import BaseHeader, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.utils import format_datetime
from functools import lru_cache
from typing import Any

from wafa.errors import InvalidInput
from wafa.messages.channel_settings import SmtpConfig, email_address
from wafa.messages.outgoing_message import Delivery, OutgoingMessage
from wafa.notify.webhooks import check_url


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
    email["Message-ID"] = f"<{message.message_id}@{email_address(config.sender).rsplit('@', 1)[1]}>"
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


class SmtpConnection:
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
            recipient = email_address(message.to)
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
            self.smtp.send_message(email, from_addr=email_address(config.sender), to_addrs=[recipient])
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


def send_email(config: SmtpConfig, message: OutgoingMessage) -> Delivery:
    connection = SmtpConnection(config)
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
