"""The console's program editors in a real browser: tiers, paid plans and program settings.

What a manager relies on: an editor opens with the current values of what it edits and a save changes
only what was changed (editing Gold's welcome points keeps its ×1.25 multiplier and free delivery); a
form refused for a bad value keeps what was typed and says what is wrong next to the field, in the
page's language; benefits and the organisation's name read in the page's language, never as raw keys;
archiving a plan asks first.

Each module serves its own copy of the demo, so the changes here show nowhere else.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.browser import (
    DESKTOP,
    PHONE,
    SHOTS,
    SLUG,
    Server,
    axe_blocking,
    new_context,
    require_browser,
    watch_errors,
)

require_browser()
from playwright.sync_api import Browser, Page, expect  # noqa: E402  after the skip, so a machine without Playwright skips

ARABIC = re.compile(r"[\u0600-\u06FF]")


@pytest.fixture
def page_in(browser: Browser, server: Server, admin_state: dict) -> Iterator[Any]:
    """Opens console pages of the signed-in admin at desktop size; each page's context closes after the test."""
    contexts: list[Any] = []

    def open_page(viewport: dict[str, int] = DESKTOP) -> Page:
        context = new_context(browser, viewport=viewport, storage_state=admin_state, bypass_csp=True)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def tier(server: Server, key: str) -> dict[str, Any]:
    with server.api() as http:
        return next(t for t in http.get("/v1/tiers").json()["items"] if t["key"] == key)


def plan(server: Server, key: str) -> dict[str, Any]:
    with server.api() as http:
        return next(p for p in http.get("/v1/membership-plans").json()["items"] if p["key"] == key)


def open_editor(page: Page, server: Server, section: str, name: str, lang: str = "en") -> Any:
    """From the list of tiers or plans, follow the edit link of the row named `name`; the edit form."""
    page.goto(f"{server.url}/admin/{section}?lang={lang}")
    page.locator("table.list tbody tr", has_text=name).get_by_role("link").first.click()
    page.wait_for_url(re.compile(rf"/admin/{section}/\d+"))
    return page.locator("form.editor")


def test_a_tier_opens_with_its_values_and_saving_one_change_keeps_the_others(page_in: Any, server: Server) -> None:
    """Gold (×1.25, 200 welcome points, free delivery): only the welcome points change."""
    before = tier(server, "gold")
    assert before["benefits"] == {"earn_multiplier": "1.25", "welcome_points": 200, "flags": ["free_delivery"]}
    page = page_in()
    errors = watch_errors(page)
    form = open_editor(page, server, "tiers", "Gold")
    expect(form.locator('input[name="name_en"]')).to_have_value("Gold")
    expect(form.locator('input[name="name_ar"]')).to_have_value("ذهبي")
    expect(form.locator('input[name="threshold"]')).to_have_value("5000")
    expect(form.locator('input[name="earn_multiplier"]')).to_have_value("1.25")
    expect(form.locator('input[name="welcome_points"]')).to_have_value("200")
    expect(form.locator('input[name="flags"][value="free_delivery"]')).to_be_checked()
    expect(form.locator('input[name="flags"][value="priority_service"]')).not_to_be_checked()
    expect(form).to_contain_text("gold")

    form.locator('input[name="welcome_points"]').fill("300")
    form.locator('button[type="submit"]').click()
    page.wait_for_url(re.compile(r"/admin/tiers(\?|$)"))
    expect(page.locator("p.flash")).to_be_visible()

    after = tier(server, "gold")
    assert after["benefits"] == {"earn_multiplier": "1.25", "welcome_points": 300, "flags": ["free_delivery"]}
    assert (after["name"], after["threshold"], after["rank"]) == (before["name"], before["threshold"], before["rank"])
    assert not errors, errors


def test_a_plan_opens_with_its_values_and_saving_one_change_keeps_the_others(page_in: Any, server: Server) -> None:
    """Noor Plus (×2, 100 points a month, free delivery): only the monthly points change."""
    before = plan(server, "plus")
    assert before["benefits"] == {"earn_multiplier": "2", "monthly_points": 100, "flags": ["free_delivery"]}
    page = page_in()
    form = open_editor(page, server, "plans", "Noor Plus")
    expect(form.locator('input[name="name_en"]')).to_have_value("Noor Plus")
    expect(form.locator('input[name="earn_multiplier"]')).to_have_value("2")
    expect(form.locator('input[name="monthly_points"]')).to_have_value("100")
    expect(form.locator('input[name="flags"][value="free_delivery"]')).to_be_checked()

    form.locator('input[name="monthly_points"]').fill("150")
    form.locator('button[type="submit"]').click()
    page.wait_for_url(re.compile(r"/admin/plans(\?|$)"))

    after = plan(server, "plus")
    assert after["benefits"] == {"earn_multiplier": "2", "monthly_points": 150, "flags": ["free_delivery"]}
    assert (after["name"], after["status"], after["price"]) == (before["name"], before["status"], before["price"])


def test_a_refused_tier_keeps_what_was_typed_and_says_why_in_arabic_next_to_the_field(page_in: Any, server: Server) -> None:
    before = tier(server, "platinum")
    page = page_in()
    form = open_editor(page, server, "tiers", "بلاتيني", lang="ar")
    form.locator('input[name="name_en"]').fill("Platinum Elite")
    form.locator('input[name="earn_multiplier"]').fill("abc")
    form.locator('input[name="flags"][value="birthday_gift"]').check()
    form.locator('button[type="submit"]').click()

    form = page.locator("form.editor")
    message = form.locator("#err-earn_multiplier")
    expect(message).to_have_text("أدخل مضاعِفًا بين 1 و10، مثل 1.25.")
    expect(form.locator('input[name="earn_multiplier"]')).to_have_attribute("aria-invalid", "true")
    expect(form.locator('input[name="earn_multiplier"]')).to_have_value("abc")
    expect(form.locator('input[name="name_en"]')).to_have_value("Platinum Elite")
    expect(form.locator('input[name="flags"][value="birthday_gift"]')).to_be_checked()
    expect(form.locator('input[name="flags"][value="priority_service"]')).to_be_checked()
    assert tier(server, "platinum") == before


def test_refused_settings_keep_what_was_typed_and_say_why_in_arabic_next_to_the_field(page_in: Any, server: Server) -> None:
    with server.api() as http:
        before = http.get("/v1/program").json()
    page = page_in()
    page.goto(f"{server.url}/admin/settings?lang=ar")
    form = page.locator("main form").first  # the settings form (the retention form follows it)
    form.locator('input[name="points_name_en"]').fill("Stars")
    form.locator('input[name="earn_rates"]').fill("SAR=one")
    form.locator('button[type="submit"]').click()

    form = page.locator("main form").first  # the settings form (the retention form follows it)
    expect(form.locator("#err-earn_rates")).to_be_visible()
    assert ARABIC.search(form.locator("#err-earn_rates").inner_text())
    expect(form.locator('input[name="earn_rates"]')).to_have_value("SAR=one")
    expect(form.locator('input[name="points_name_en"]')).to_have_value("Stars")
    with server.api() as http:
        assert http.get("/v1/program").json() == before

    # Codes read as words: the rounding, expiry and region choices are labelled in Arabic.
    expect(form.locator('select[name="expiry_policy"] option:checked')).to_have_text("في نهاية السنة")
    expect(form.locator('select[name="default_region"] option:checked')).to_contain_text("السعودية")
    expect(form.locator('select[name="timezone"] option:checked')).to_contain_text("الرياض")


def test_benefits_and_the_organisation_read_in_the_page_language(page_in: Any, server: Server) -> None:
    page = page_in()
    page.goto(f"{server.url}/admin/tiers?lang=ar")
    table = page.locator("table.list")
    expect(table).to_contain_text("توصيل مجاني")
    expect(table).not_to_contain_text("free_delivery")
    expect(table).not_to_contain_text("priority_service")
    expect(page.locator("header .tenant")).to_have_text("متاجر النور (تجريبي)")
    page.goto(f"{server.url}/admin/tiers?lang=en")
    expect(page.locator("table.list")).to_contain_text("Free delivery")
    expect(page.locator("header .tenant")).to_have_text("Al Noor Stores (demo)")
    page.goto(f"{server.url}/m/{SLUG}/login?lang=ar")
    expect(page.locator("header")).to_contain_text("متاجر النور (تجريبي)")
    page.goto(f"{server.url}/m/{SLUG}/login?lang=en")
    expect(page.locator("header")).to_contain_text("Al Noor Stores (demo)")


def test_a_custom_benefit_gets_a_name_in_both_languages(page_in: Any, server: Server) -> None:
    page = page_in()
    form = open_editor(page, server, "tiers", "Silver")
    form.locator('input[name="benefit_en"]').fill("Valet parking")
    form.locator('input[name="benefit_ar"]').fill("خدمة صف السيارات")
    form.locator('button[type="submit"]').click()
    page.wait_for_url(re.compile(r"/admin/tiers(\?|$)"))
    assert tier(server, "silver")["benefits"]["flags"] == ["valet_parking"]
    expect(page.locator("table.list tbody tr", has_text="Silver")).to_contain_text("Valet parking")
    page.goto(f"{server.url}/admin/tiers?lang=ar")
    expect(page.locator("table.list tbody tr", has_text="فضي")).to_contain_text("خدمة صف السيارات")
    # The new benefit is offered to the other tiers and plans, by its name.
    form = open_editor(page, server, "plans", "نور بلس", lang="ar")
    expect(form.locator("label", has=page.locator('input[value="valet_parking"]'))).to_contain_text("خدمة صف السيارات")


def test_the_organisation_arabic_name_is_changed_in_the_settings(page_in: Any, server: Server) -> None:
    page = page_in()
    page.goto(f"{server.url}/admin/settings?lang=ar")
    form = page.locator("main form").first  # the settings form (the retention form follows it)
    expect(form.locator('input[name="tenant_name_ar"]')).to_have_value("متاجر النور (تجريبي)")
    form.locator('input[name="tenant_name_ar"]').fill("أسواق النور")
    form.locator('button[type="submit"]').click()
    expect(page.locator("p.flash")).to_be_visible()
    expect(page.locator("header .tenant")).to_have_text("أسواق النور")
    with server.api() as http:
        assert http.get("/v1/tenant").json()["name_ar"] == "أسواق النور"
        http.patch("/v1/tenant", json={"name_ar": "متاجر النور (تجريبي)"}).raise_for_status()


def test_archiving_a_plan_asks_first(page_in: Any, server: Server) -> None:
    page = page_in()
    open_editor(page, server, "plans", "Noor Plus")
    archive = page.locator("form[data-confirm]", has=page.locator("button.danger"))
    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    archive.locator("button").click()
    page.wait_for_timeout(300)
    assert asked and ARABIC.search(asked[0]) is None and "archive" in asked[0].lower()
    assert plan(server, "plus")["status"] == "active"

    page.once("dialog", lambda dialog: dialog.accept())
    archive.locator("button").click()
    page.wait_for_url(re.compile(r"/admin/plans"))
    assert plan(server, "plus")["status"] == "archived"
    # And back: restoring takes no confirmation.
    open_editor(page, server, "plans", "Noor Plus")
    page.locator('form[action$="/restore"] button').click()
    page.wait_for_url(re.compile(r"/admin/plans"))
    assert plan(server, "plus")["status"] == "active"


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_editors_have_no_serious_accessibility_violations(page_in: Any, server: Server, viewport: dict) -> None:
    """And they fit a phone; screenshots of each in Arabic and English."""
    gold, plus = tier(server, "gold")["id"], plan(server, "plus")["id"]
    SHOTS.mkdir(parents=True, exist_ok=True)
    size = "phone" if viewport is PHONE else "desktop"
    page = page_in(viewport)
    for path in ["/admin/tiers", f"/admin/tiers/{gold}", "/admin/plans", f"/admin/plans/{plus}", "/admin/settings"]:
        for lang in ("ar", "en"):
            page.goto(f"{server.url}{path}?lang={lang}", wait_until="networkidle")
            blocking, report = axe_blocking(page)
            assert not blocking, f"{path} ({lang}, {size}):\n{report}"
            name = path.strip("/").replace("/", "-")
            page.screenshot(path=str(SHOTS / f"program-{name}-{lang}-{size}.png"), full_page=True)
