"""Browsers for the console and the portal: each `browser()` is a TestClient with its own cookie jar on
the test's app, so two people (or an attacker and a victim) can be played side by side. Helpers read
the CSRF token out of a page the way a form would carry it, and sign an admin in through the form."""

from __future__ import annotations

import re
import socket
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from wafa.db import unit_of_work
from wafa.notify.mail import Mailer
from wafa.tenants import admin_users

PASSWORD = "correct horse battery"
HOST = "testserver.local"  # the domain the test client's cookie jar files testserver's cookies under

Browser = Callable[[], TestClient]


@pytest.fixture
def browser(client: TestClient) -> Iterator[Browser]:
    """Opens a new browser (no cookies, no API key) on the same app as `client`, which stays the API."""
    app = client.app
    mailer = app.state.mailer  # type: ignore[attr-defined]
    with ExitStack() as stack:
        yield lambda: stack.enter_context(TestClient(app, raise_server_exceptions=False))
    app.state.mailer = mailer  # type: ignore[attr-defined]


def make_admin(factory: sessionmaker[Session], tenant_id: int, now: datetime, *, role: str = "admin", email: str | None = None) -> str:
    """A console user of the tenant with PASSWORD; returns their e-mail."""
    email = email or f"admin-{uuid.uuid4().hex[:8]}@example.com"
    with unit_of_work(factory) as session:
        admin_users.create(session, tenant_id=tenant_id, email=email, name="Layla Admin", password=PASSWORD, role=role, now=now)
    return email


def csrf_of(html: str) -> str:
    """The CSRF token the page's (first) form carries."""
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field in the page"
    return found.group(1)


def field_of(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no {name} field in the page"
    return found.group(1)


def sign_in(browser: TestClient, slug: str, email: str, password: str = PASSWORD, **form: str):  # type: ignore[no-untyped-def]
    """Fill in and send the console's sign-in form; returns the answer to the post (not followed)."""
    page = browser.get("/admin/login")
    assert page.status_code == 200, page.text
    data = {"tenant": slug, "email": email, "password": password, "csrf": csrf_of(page.text), **form}
    return browser.post("/admin/login", data=data, follow_redirects=False)


def signed_in(browser: TestClient, slug: str, email: str) -> TestClient:
    answer = sign_in(browser, slug, email)
    assert answer.status_code == 303, answer.text
    return browser


def cookie_from(response, name: str) -> str | None:  # type: ignore[no-untyped-def]
    """The value this answer sets for cookie `name` (None if it sets none)."""
    for header in response.headers.get_list("set-cookie"):
        key, _, rest = header.partition("=")
        if key.strip() == name:
            return rest.split(";", 1)[0].strip().strip('"')
    return None


def set_cookie_header(response, name: str) -> str:  # type: ignore[no-untyped-def]
    return next(h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}="))


# --- a real SMTP server for the portal's sign-in codes ---------------------------------------------


class Inbox:
    """What the SMTP server received: (recipients, parsed message), in order of arrival."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # type: ignore[no-untyped-def]  # aiosmtpd's name
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append((list(envelope.rcpt_tos), message))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [message for rcpt, message in self.messages if address in rcpt]

    def codes_for(self, address: str) -> list[str]:
        """The sign-in codes sent to an address, oldest first (read from the subject, as a person would)."""
        return [re.search(r"\b(\d{6})\b", str(m["Subject"])).group(1) for m in self.to(address)]  # type: ignore[union-attr]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


@pytest.fixture
def inbox(smtp_server: tuple[Inbox, int], client: TestClient, browser: Browser) -> Inbox:
    """This test's app sends mail to the real SMTP server; the inbox it lands in. (Addresses are unique per
    test, so earlier tests' messages never match.)"""
    inbox, port = smtp_server
    client.app.state.mailer = Mailer(host="127.0.0.1", port=port)  # type: ignore[attr-defined]
    return inbox


def unique_email(name: str = "member") -> str:
    return f"{name}-{uuid.uuid4().hex[:10]}@example.com"
