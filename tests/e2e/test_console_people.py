"""People and passwords in a real browser, with the e-mails going through a real SMTP server: the demo's
owner invites a colleague, who accepts from the e-mailed link and signs in with the role given; a
person who forgot their password resets it from the sign-in page by the e-mailed link (in Arabic),
which signs them out everywhere, and signs in with the new one. The pages pass axe-core and fit a
phone; screenshots in both languages land in test-artifacts/screenshots/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.message import EmailMessage
from urllib.parse import urlsplit

import pytest

from tests.e2e.browser import (
    DESKTOP,
    PAGE_WIDTH,
    PHONE,
    SHOTS,
    SLUG,
    Mailbox,
    Server,
    admin_sign_in,
    axe_blocking,
    new_context,
    require_browser,
    watch_errors,
)

require_browser()
from playwright.sync_api import Browser, Page, expect  # noqa: E402

PASSWORD = "colleague passphrase 1"
NEW_PASSWORD = "a fresh passphrase 2"


def link_in(message: EmailMessage, server: Server) -> str:
    found = re.search(re.escape(server.url) + r"/admin/(?:invite|password/reset)/[A-Za-z0-9_-]+", message.get_content())
    assert found, message.get_content()
    return found.group(0)


@pytest.fixture
def fresh(browser: Browser) -> Iterator:  # type: ignore[type-arg]
    """New browser contexts (no cookies) at desktop size, closed after the test."""
    contexts = []

    def make(viewport: dict[str, int] = DESKTOP):  # type: ignore[no-untyped-def]
        context = new_context(browser, viewport=viewport)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def invite_and_accept(owner: Page, visitor: Page, server: Server, mailbox: Mailbox, *, address: str, role: str, name: str) -> EmailMessage:
    """The owner invites `address` (an English e-mail); the visitor opens the link and joins."""
    seen = mailbox.count(address)
    owner.goto(f"{server.url}/admin/people?lang=en")
    form = owner.locator("#invite-form")
    form.locator('input[name="email"]').fill(address)
    form.locator('select[name="role"]').select_option(role)
    form.locator('select[name="language"]').select_option("en")
    form.locator('button[type="submit"]').click()
    owner.wait_for_url(re.compile(r"/admin/people\?done=invited$"))
    expect(owner.locator("#people-done")).to_be_visible()
    expect(owner.locator(f'tr[data-email="{address}"] .status')).to_contain_text("invited")
    mail = mailbox.next_to(address, seen=seen)
    visitor.goto(link_in(mail, server) + "?lang=en")
    visitor.locator('input[name="name"]').fill(name)
    visitor.locator('input[name="password"]').fill(PASSWORD)
    visitor.locator('input[name="password_again"]').fill(PASSWORD)
    visitor.locator('main button[type="submit"]').click()
    visitor.wait_for_url(re.compile(r"/admin/login\?done=joined"))
    return mail


def sign_in_prefilled(page: Page, server: Server, password: str) -> None:
    """After joining or a reset, the sign-in form has the organisation and e-mail filled in: only the password is typed."""
    assert page.locator('input[name="tenant"]').input_value() == SLUG
    page.locator('input[name="password"]').fill(password)
    page.locator('main form button[type="submit"]').click()
    page.wait_for_url(f"{server.url}/admin")


def test_an_invited_colleague_joins_and_signs_in_with_the_role_given(
    server: Server, mailbox: Mailbox, admin_page: Page, fresh, browser: Browser,  # type: ignore[no-untyped-def]
) -> None:
    """Invite -> e-mail -> accept -> sign in: the marketer's console offers rule drafts but not the program settings."""
    address = "noura.marketing@example.com"
    mail = invite_and_accept(admin_page, visitor := fresh(), server, mailbox, address=address, role="marketer", name="Noura")
    assert str(mail["Subject"]).startswith("Join ") and str(mail["Subject"]).endswith(" in the Wafa console")
    assert "as Marketer" in mail.get_content() and f"organisation {SLUG}" in mail.get_content()
    expect(visitor.locator(".flash")).to_contain_text("Welcome to the team")
    sign_in_prefilled(visitor, server, PASSWORD)
    expect(visitor.locator(".topbar .who")).to_have_text("Noura")
    visitor.goto(f"{server.url}/admin/settings")
    expect(visitor.locator('form[action="/admin/settings"] button[type="submit"]')).to_have_count(0)
    visitor.goto(f"{server.url}/admin/rules")
    expect(visitor.locator('a[href="/admin/rules/new"]')).to_be_visible()
    # The link was for one use: opening it again says so.
    again = fresh()
    again.goto(link_in(mail, server) + "?lang=en")
    expect(again.locator(".problem")).to_contain_text("expired or was already used")
    admin_page.goto(f"{server.url}/admin/people?lang=en")
    row = admin_page.locator(f'tr[data-email="{address}"]')
    expect(row.locator(".role")).to_have_text("Marketer")
    expect(row.locator(".status")).to_have_text("active")


def test_a_forgotten_password_is_reset_by_the_emailed_link_in_arabic(
    server: Server, mailbox: Mailbox, admin_page: Page, fresh,  # type: ignore[no-untyped-def]
) -> None:
    """Forgot -> Arabic e-mail -> new password -> the old session is gone -> sign in with the new password only."""
    address = "omar.support@example.com"
    joined = fresh()
    invite_and_accept(admin_page, joined, server, mailbox, address=address, role="support", name="Omar")
    sign_in_prefilled(joined, server, PASSWORD)  # a session that the reset must end
    page = fresh()
    page.goto(f"{server.url}/admin/login?lang=ar")
    page.locator('a[href="/admin/password/forgot"]').click()
    page.locator('input[name="tenant"]').fill(SLUG)
    page.locator('input[name="email"]').fill(address)
    seen = mailbox.count(address)
    page.locator('main form button[type="submit"]').click()
    expect(page.locator("#reset-sent")).to_contain_text(address)
    mail = mailbox.next_to(address, seen=seen)
    assert mail["Content-Language"] == "ar" and "كلمة مرور" in str(mail["Subject"]) and "خلال ساعة" in mail.get_content()
    page.goto(link_in(mail, server))
    assert page.evaluate("document.documentElement.dir") == "rtl"
    page.locator('input[name="password"]').fill(NEW_PASSWORD)
    page.locator('input[name="password_again"]').fill(NEW_PASSWORD)
    page.locator('main form button[type="submit"]').click()
    page.wait_for_url(re.compile(r"/admin/login\?done=reset"))
    expect(page.locator(".flash")).to_be_visible()
    joined.goto(f"{server.url}/admin")
    assert urlsplit(joined.url).path == "/admin/login", "the reset should have signed the other browser out"
    old = fresh()
    old.goto(f"{server.url}/admin/login?lang=en")
    for name, value in (("tenant", SLUG), ("email", address), ("password", PASSWORD)):
        old.locator(f'input[name="{name}"]').fill(value)
    old.locator('main form button[type="submit"]').click()
    expect(old.locator(".problem")).to_be_visible()
    sign_in_prefilled(page, server, NEW_PASSWORD)
    expect(page.locator(".topbar .who")).to_have_text("Omar")


TABLE_FITS = "() => { const box = document.querySelector('table.people').parentElement; return box.scrollWidth <= box.clientWidth + 1; }"
PAGES = [("people", "/admin/people", True), ("account", "/admin/account", True), ("password-forgot", "/admin/password/forgot", False)]


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_the_people_pages_are_accessible_fit_a_phone_and_are_photographed(
    browser: Browser, server: Server, admin_state: dict, lang: str,  # type: ignore[type-arg]
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for size, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        for name, path, signed_in in PAGES:
            context = new_context(browser, viewport=viewport, storage_state=admin_state if signed_in else None, bypass_csp=True)
            try:
                page = context.new_page()
                errors = watch_errors(page)
                page.goto(f"{server.url}{path}?lang={lang}")
                assert urlsplit(page.url).path == path
                assert page.evaluate(PAGE_WIDTH) <= viewport["width"], f"{name} ({lang}) is wider than a {size} screen"
                if name == "people":  # the list itself fits too: a person is a card on a phone, not a row to scroll
                    assert page.evaluate(TABLE_FITS), f"the people list scrolls sideways ({lang}, {size})"
                page.screenshot(path=str(SHOTS / f"{name}-{lang}-{size}.png"), full_page=True)
                blocking, report = axe_blocking(page)
                assert not blocking, f"{name} ({lang}, {size}):\n{report}"
                assert not errors, errors
            finally:
                context.close()


def test_the_demo_admin_is_an_owner(server: Server, fresh) -> None:  # type: ignore[no-untyped-def]
    """`wafa demo` makes its admin the tenant's owner: the People page offers the support limit and the owner role."""
    page = fresh()
    admin_sign_in(page, server)
    page.goto(f"{server.url}/admin/people?lang=en")
    expect(page.locator('form[action="/admin/people/support-limit"]')).to_be_visible()
    expect(page.locator('#invite-form option[value="owner"]')).to_have_count(1)
