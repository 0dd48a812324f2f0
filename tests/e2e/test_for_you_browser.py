"""The portal's "For you" page in a real browser, on a phone: reached from the "More" page, it shows a member the
offer made to them with why it is for them, right to left in Arabic and left to right in English, with no
page wider than the phone; the offer is redeemed at its personal price with its button, and then, at its
cap, leaves the page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.browser import DESKTOP, DIRECTION, PAGE_WIDTH, PHONE, SHOTS, SLUG, Server, axe_blocking, new_context, require_browser, watch_errors
from tests.e2e.conftest import PAGES_MEMBER

require_browser()
from playwright.sync_api import Browser, expect  # noqa: E402

KEY = "for-you-mug"
PRICE = 150


@pytest.fixture(scope="module")
def offered(server: Server) -> dict[str, Any]:
    """A mug at a personal price (the catalog asks 300 points), offered once to the signed-in member, who has the points."""
    member = server.member(PAGES_MEMBER)
    with server.api() as http:
        made = http.post("/v1/rewards", json={"key": KEY, "name_en": "Travel mug", "name_ar": "كوب السفر", "points": 300,
                                              "gives": {"type": "gift", "sku": "MUG"}})
        assert made.status_code == 201, made.text
        topped = http.post(f"/v1/members/{member['id']}/adjustments", json={"points": 1000, "reason": "for-you test: points to spend"})
        assert topped.status_code == 201, topped.text
        offer = http.post("/v1/offers", json={"key": KEY, "name_en": "Your travel mug", "name_ar": "كوب السفر لك", "kind": "reward",
                                              "reward_key": KEY, "points": PRICE, "audience": {"external_ids": [member["external_id"]]},
                                              "valid_days": 7, "per_member_cap": 1})
        assert offer.status_code == 201, offer.text
        active = http.post(f"/v1/offers/{KEY}:activate")
        assert active.status_code == 200 and active.json()["granted"] == 1, active.text
    return member


@pytest.fixture
def phone(browser: Browser, member_state: dict) -> Iterator[Any]:
    context = new_context(browser, viewport=PHONE, storage_state=member_state, bypass_csp=True)
    try:
        yield context
    finally:
        context.close()


def test_for_you_in_arabic_reads_right_to_left_with_the_reason(server: Server, phone: Any, offered: dict) -> None:
    page = phone.new_page()
    errors = watch_errors(page)
    page.goto(f"{server.url}/m/{SLUG}/achievements?lang=ar")
    page.locator(f'main a[href="/m/{SLUG}/for-you"]').click()
    page.wait_for_url(re.compile(rf"/m/{SLUG}/for-you$"))
    assert page.evaluate(DIRECTION) == {"dir": "rtl", "lang": "ar", "computed": "rtl"}
    card = page.locator(f"#offer-{KEY}")
    expect(card.locator("h2")).to_have_text("كوب السفر لك")
    expect(card.locator(".reason")).to_have_text("اخترناه لك")
    expect(card).to_contain_text("نقطة")
    expect(page.locator('nav.tabs a[aria-current="page"]')).to_have_attribute("href", f"/m/{SLUG}/achievements")  # "More" is lit
    assert page.evaluate(PAGE_WIDTH) <= PHONE["width"]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "portal-for-you-ar-phone.png"), full_page=True)
    blocking, report = axe_blocking(page)
    assert not blocking, report
    assert not errors, errors


def test_for_you_in_english_shows_the_offer_and_redeems_it_once(server: Server, phone: Any, offered: dict) -> None:
    before = server.available(offered["id"])
    page = phone.new_page()
    errors = watch_errors(page)
    page.goto(f"{server.url}/m/{SLUG}/for-you?lang=en")
    assert page.evaluate(DIRECTION) == {"dir": "ltr", "lang": "en", "computed": "ltr"}
    card = page.locator(f"#offer-{KEY}")
    expect(card.locator("h2")).to_have_text("Your travel mug")
    expect(card.locator(".reason")).to_have_text("Picked for you")
    expect(card.locator(".cost")).to_have_text(f"{PRICE} points")
    expect(card).to_contain_text("Uses left: 1")
    card.locator("summary.redeem").click()
    expect(card.locator("form")).to_contain_text(f"Spend {PRICE} points on Your travel mug?")
    card.locator('form button[type="submit"]').click()
    page.wait_for_url(re.compile(rf"/m/{SLUG}/coupons\?new=\d+$"))
    expect(page.locator("main")).to_contain_text("Travel mug")
    assert server.available(offered["id"]) == before - PRICE
    page.goto(f"{server.url}/m/{SLUG}/for-you?lang=en")
    expect(page.locator(f"#offer-{KEY}")).to_have_count(0)  # used up to its cap of one
    assert not errors, errors


@pytest.fixture
def desk(browser: Browser, admin_state: dict) -> Iterator[Any]:
    """The signed-in console at desktop size (axe injected: the context bypasses CSP)."""
    context = new_context(browser, viewport=DESKTOP, storage_state=admin_state, bypass_csp=True)
    try:
        yield context.new_page()
    finally:
        context.close()


def test_the_console_lists_the_offer_and_pauses_it(server: Server, desk: Any, offered: dict) -> None:
    """The same offer on the console's Offers page: its row, in words, with the buttons of an active offer."""
    page = desk
    errors = watch_errors(page)
    page.goto(f"{server.url}/admin/offers?lang=en")
    row = page.locator(f'tr[data-offer="{KEY}"]')
    expect(row).to_contain_text("Your travel mug")
    expect(row).to_contain_text("By external id (1)")
    expect(row).to_have_attribute("data-status", "active")
    expect(page.locator("#new-offer")).to_be_visible()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "console-offers-en.png"), full_page=True)
    blocking, report = axe_blocking(page)
    assert not blocking, report
    row.locator(f'form[action="/admin/offers/{KEY}/pause"] button').click()
    page.wait_for_url(re.compile(r"/admin/offers\?done=paused"))
    expect(page.locator(f'tr[data-offer="{KEY}"]')).to_have_attribute("data-status", "paused")
    expect(page.locator(".flash")).to_contain_text("The offer is paused")
    assert not errors, errors


def test_the_console_offers_page_fits_a_phone_in_arabic(browser: Browser, server: Server, admin_state: dict, offered: dict) -> None:
    context = new_context(browser, viewport=PHONE, storage_state=admin_state, bypass_csp=True)
    try:
        page = context.new_page()
        errors = watch_errors(page)
        page.goto(f"{server.url}/admin/offers?lang=ar")
        assert page.evaluate(DIRECTION) == {"dir": "rtl", "lang": "ar", "computed": "rtl"}
        expect(page.locator(f'tr[data-offer="{KEY}"]')).to_contain_text("كوب السفر لك")
        assert page.evaluate(PAGE_WIDTH) <= PHONE["width"]  # the table scrolls in its own region, the page does not
        page.screenshot(path=str(SHOTS / "console-offers-ar-phone.png"), full_page=True)
        blocking, report = axe_blocking(page)
        assert not blocking, report
        assert not errors, errors
    finally:
        context.close()
