"""The console's Stores pages in a real browser, on a phone and in both languages: the list with today's
check-ins and the store's own page fit the screen, and axe finds no serious accessibility fault."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.browser import DESKTOP, PAGE_WIDTH, PHONE, Server, axe_blocking, new_context, require_browser, watch_errors

require_browser()
from playwright.sync_api import Browser, expect  # noqa: E402


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_the_stores_pages_fit_a_phone_and_pass_axe(browser: Browser, server: Server, admin_state: dict[str, Any], lang: str) -> None:
    with server.api() as http:
        if http.get("/v1/stores/E2E-LAYOUT").status_code == 404:
            made = http.post("/v1/stores", json={"code": "E2E-LAYOUT", "name_en": "Layout check", "name_ar": "فحص التخطيط", "latitude": 24.7,
                                                 "longitude": 46.7, "timezone": "Asia/Riyadh", "hours": {"fri": [["18:00", "02:00"]]}})
            assert made.status_code == 201, made.text
    for viewport in (PHONE, DESKTOP):
        context = new_context(browser, viewport=viewport, storage_state=admin_state, bypass_csp=True)
        try:
            page = context.new_page()
            errors = watch_errors(page)
            for path in ("/admin/stores", "/admin/stores/E2E-LAYOUT"):
                page.goto(f"{server.url}{path}?lang={lang}")
                expect(page.locator("form#store-form")).to_be_visible()
                assert page.evaluate(PAGE_WIDTH) <= viewport["width"], path
                blocking, report = axe_blocking(page)
                assert not blocking, f"{path}:\n{report}"
            assert not errors, errors
        finally:
            context.close()
