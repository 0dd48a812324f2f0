"""E-mail: through the SMTP server configured (WAFA_SMTP_*), or, with none configured, into the server
log, so that sign-in codes still reach a developer."""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from wafa.config import Settings

log = logging.getLogger("wafa.mail")


@dataclass(frozen=True, slots=True)
class Mail:
    to: str
    subject: str
    text: str
    # "ar" messages are marked right-to-left for clients that read the Content-Language.
    language: str = "ar"


class Mailer:
    """Sends through SMTP when a host is set; logs the message when not."""

    def __init__(
        self, *, host: str | None = None, port: int = 25, username: str | None = None, password: str | None = None,
        sender: str = "Wafa <no-reply@localhost>", starttls: bool = False, timeout: float = 10.0,
    ) -> None:
        self.host, self.port, self.username, self.password = host, port, username, password
        self.sender, self.starttls, self.timeout = sender, starttls, timeout

    @classmethod
    def from_settings(cls, settings: Settings) -> Mailer:
        return cls(
            host=settings.smtp_host, port=settings.smtp_port, username=settings.smtp_username, password=settings.smtp_password,
            sender=settings.smtp_from, starttls=settings.smtp_starttls,
        )

    def send(self, mail: Mail) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = formataddr(("", mail.to))
        message["Subject"] = mail.subject
        message["Message-ID"] = make_msgid(domain="wafa")
        message.set_content(mail.text)
        message["Content-Language"] = mail.language  # after set_content, which resets the Content-* headers
        if not self.host:
            log.warning("no SMTP server configured (WAFA_SMTP_HOST); e-mail to %s: %s\n%s", mail.to, mail.subject, mail.text)
            return
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(message)
