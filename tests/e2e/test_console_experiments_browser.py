"""The experiments pages of the console in a real browser (Debian's Chromium, Playwright) against `wafa serve` on a
copy of the demo: an experiment created from the form lands on its page, which says the results are provisional
until the horizon, draws each arm's lift against the holdout as a chart people can read (and screen readers
too), passes axe, and in Arabic reads right to left."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.browser import DESKTOP, PHONE, SHOTS, Server, axe_blocking, new_context, require_browser, watch_errors

require_browser()
from playwright.sync_api import Browser, Page, expect  # noqa: E402


@pytest.fixture
def page(browser: Browser, server: Server, admin_state: dict[str, Any]) -> Iterator[Page]:
    context = new_context(browser, viewport=DESKTOP, storage_state=admin_state, bypass_csp=True)
    page = context.new_page()
    errors = watch_errors(page)
    yield page
    context.close()
    assert not [e for e in errors if "status of 422" not in e], errors


def test_create_start_and_read_an_experiment(page: Page, server: Server) -> None:
    page.goto(f"{server.url}/admin/experiments?lang=en")
    form = page.locator("#new-experiment")
    form.get_by_label("Name (for your team)").fill("Weekend double")
    form.get_by_label("Key (lower-case letters, digits and dashes; rules name it)").fill("weekend-double")
    form.get_by_label("Arms (keys separated by commas; a weight after a colon)").fill("a, b")
    form.get_by_role("button", name="Create the experiment").click()
    page.wait_for_url(f"{server.url}/admin/experiments/weekend-double?done=created")
    expect(page.get_by_role("status")).to_contain_text("created as a draft")
    page.get_by_role("button", name="Start the experiment").click()
    page.wait_for_url(f"{server.url}/admin/experiments/weekend-double?done=started")

    expect(page.locator("#provisional")).to_contain_text("Provisional until")
    chart = page.locator("#lift-chart svg")
    expect(chart).to_be_visible()
    assert chart.locator("line[data-arm]").count() == 2
    assert "arm a:" in (chart.get_attribute("aria-label") or "") and "arm b:" in (chart.get_attribute("aria-label") or "")
    expect(page.locator("#results-table tr[data-arm='b'][data-metric='purchases']")).to_be_visible()
    expect(page.locator("#ship")).to_be_visible()
    blocking, report = axe_blocking(page)
    assert not blocking, report
    page.screenshot(path=str(SHOTS / "experiment-en-desktop.png"), full_page=True)


def test_the_page_reads_right_to_left_in_arabic_on_a_phone(browser: Browser, server: Server, admin_state: dict[str, Any]) -> None:
    with server.api() as http:
        made = http.post("/v1/experiments", json={"key": "rtl-check", "name": "تجربة", "subject": "offers", "arms": [{"key": "a"}],
                                                   "primary_metric": "redemptions", "horizon_days": 7})
        assert made.status_code == 201, made.text
        assert http.post("/v1/experiments/rtl-check:start").status_code == 200
    context = new_context(browser, viewport=PHONE, storage_state=admin_state, bypass_csp=True)
    try:
        page = context.new_page()
        errors = watch_errors(page)
        page.goto(f"{server.url}/admin/experiments/rtl-check?lang=ar")
        assert page.locator("html").get_attribute("dir") == "rtl"
        expect(page.locator("#provisional")).to_contain_text("نتائج مؤقتة")
        expect(page.locator("#lift-chart svg")).to_be_visible()
        blocking, report = axe_blocking(page)
        assert not blocking, report
        page.screenshot(path=str(SHOTS / "experiment-ar-phone.png"), full_page=True)
        assert not errors, errors
    finally:
        context.close()
