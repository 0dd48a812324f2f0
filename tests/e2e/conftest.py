"""Fixtures of the browser tests (see tests/e2e/browser.py): one SMTP server and one Chromium per test session,
one demo database per test run; a `wafa serve` on its own copy of the demo per test module."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import demo_sqlite
from tests.e2e.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DESKTOP,
    PHONE,
    Demo,
    Mailbox,
    Server,
    admin_sign_in,
    copy_database,
    member_sign_in,
    new_context,
    serve,
    start_mailbox,
)

# The member whose portal pages the tests that are not about signing in use.
PAGES_MEMBER = "member14@example.com"


@pytest.fixture(scope="session")
def mailbox() -> Iterator[Mailbox]:
    box, controller = start_mailbox()
    try:
        yield box
    finally:
        controller.stop()


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """`wafa demo` once per test run; modules serve copies of it."""
    return Demo(*demo_sqlite(tmp_path_factory))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, demo: Demo, mailbox: Mailbox) -> Iterator[Server]:
    """A `wafa serve` of this module's own copy of the demo."""
    database = copy_database(demo, tmp_path_factory.mktemp("served"))
    yield from serve(database, mailbox, demo.api_key)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def admin_state(browser: Any, server: Server) -> dict[str, Any]:
    """A signed-in console (cookies), for the tests that are not about signing in."""
    context = new_context(browser, viewport=DESKTOP)
    try:
        admin_sign_in(context.new_page(), server)
        return context.storage_state()
    finally:
        context.close()


@pytest.fixture(scope="module")
def member_state(browser: Any, server: Server, mailbox: Mailbox) -> dict[str, Any]:
    """A member signed in to the portal (cookies), for the tests that are not about signing in."""
    context = new_context(browser, viewport=PHONE)
    try:
        member_sign_in(context.new_page(), server, mailbox, PAGES_MEMBER)
        return context.storage_state()
    finally:
        context.close()


@pytest.fixture
def admin_page(browser: Any, server: Server, admin_state: dict[str, Any]) -> Iterator[Any]:
    """A page of a signed-in console at desktop size, closed after the test."""
    context = new_context(browser, viewport=DESKTOP, storage_state=admin_state)
    try:
        yield context.new_page()
    finally:
        context.close()
