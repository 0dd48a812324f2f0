"""The member portal in a real browser, as a member below the top tier sees it: the way to the next tier says
it counts points earned, not the balance; a locked reward says how to unlock it (how many more points, which
tier, which plan) in the member's language; a coupon's code is large, under its QR code, and copies with one
tap; the tab bar keeps to the content's width on a desktop screen.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.browser import (
    DESKTOP,
    PAGE_WIDTH,
    PHONE,
    SHOTS,
    SLUG,
    Mailbox,
    Server,
    axe_blocking,
    member_sign_in,
    new_context,
    number,
    require_browser,
    watch_errors,
)

require_browser()
from playwright.sync_api import Browser, expect  # noqa: E402

ARABIC = re.compile(r"[\u0600-\u06ff]")
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


@pytest.fixture(scope="module")
def climber(server: Server) -> dict[str, Any]:
    """A member of the demo below the Gold tier, with a next tier to reach."""
    with server.api() as http:
        for n in range(40):
            member = server.member(f"member{n}@example.com")
            tier = http.get(f"/v1/members/{member['id']}/tier").json()
            if tier["next"] is not None and (tier["tier"] is None or tier["tier"]["rank"] < 2):
                return {**member, "tier": tier}
    pytest.fail("the demo has no member below Gold")


@pytest.fixture(scope="module")
def climber_state(browser: Browser, server: Server, mailbox: Mailbox, climber: dict) -> dict[str, Any]:
    context = new_context(browser, viewport=PHONE)
    try:
        member_sign_in(context.new_page(), server, mailbox, climber["email"])
        return context.storage_state()
    finally:
        context.close()


@pytest.fixture
def phone(browser: Browser, climber_state: dict) -> Iterator[Any]:
    context = new_context(browser, viewport=PHONE, storage_state=climber_state, bypass_csp=True)
    try:
        yield context
    finally:
        context.close()


def _arabic_only(text: str) -> bool:
    return bool(ARABIC.search(text)) and not LATIN_WORD.search(text)


def test_the_way_to_the_next_tier_counts_points_earned_not_the_balance(server: Server, phone: Any, climber: dict) -> None:
    page = phone.new_page()
    errors = watch_errors(page)
    page.goto(f"{server.url}/m/{SLUG}/?lang=en")
    nxt = climber["tier"]["next"]
    counts = page.locator("#tier-counts")
    expect(counts).to_contain_text("points you earned in the last 12 months")
    expect(counts).to_contain_text("not your balance")
    to_go = page.locator("#tier-to-go")
    expect(to_go).to_contain_text(f"to reach {nxt['tier']['name']['en']}")
    assert number(to_go.inner_text()) == int(nxt["to_go"])
    # The balance is another figure: spending points does not move the bar.
    assert number(page.locator("#balance").inner_text()) == server.available(climber["id"])

    page.goto(f"{server.url}/m/{SLUG}/?lang=ar")
    assert _arabic_only(page.locator("#tier-counts").inner_text()), page.locator("#tier-counts").inner_text()
    assert _arabic_only(page.locator("#tier-to-go").inner_text()), page.locator("#tier-to-go").inner_text()
    expect(page.locator("#tier-to-go")).to_contain_text(nxt["tier"]["name"]["ar"])
    assert not errors, errors


def test_a_locked_reward_says_how_to_unlock_it_in_the_members_language(server: Server, phone: Any, climber: dict) -> None:
    with server.api() as http:
        rewards = {r["key"]: r for r in http.get("/v1/rewards", params={"member_id": climber["id"], "limit": 200}).json()["items"]}
        plans = {p["key"]: p for p in http.get("/v1/membership-plans").json()["items"]}
    available = server.available(climber["id"])
    tiered = next(r for r in rewards.values() if r["tiers"] and r["status"] == "active")
    costly = next((r for r in sorted(rewards.values(), key=lambda r: r["points"]) if r["points"] > available and r["status"] == "active"), None)
    if costly is None:
        # The demo's history depends on the day it is seeded: the member may afford every reward. Add one they cannot.
        with server.api() as http:
            made = http.post("/v1/rewards", json={"key": "portal-test-hamper", "name_en": "Hamper", "name_ar": "سلة هدايا",
                                                  "points": available + 1500, "gives": {"type": "gift", "sku": "HAMPER"}})
        assert made.status_code == 201, made.text
        costly = made.json()
    planned = next((r for r in rewards.values() if r["plans"] and r["status"] == "active"), None)

    page = phone.new_page()
    errors = watch_errors(page)
    page.goto(f"{server.url}/m/{SLUG}/rewards?lang=en")
    reasons = page.locator(f'li.reward[data-reward="{costly["key"]}"] .reasons')
    expect(reasons).to_contain_text(f"earn {costly['points'] - available:,} more")
    # The lowest tier that unlocks it is the member's next step.
    expect(page.locator(f'li.reward[data-reward="{tiered["key"]}"] .reasons')).to_contain_text("Reach the Gold tier")
    if planned is not None:
        plan = plans[planned["plans"][0]]
        expect(page.locator(f'li.reward[data-reward="{planned["key"]}"] .reasons')).to_contain_text(
            f"For members of the {plan['name']['en']} plan")

    page.goto(f"{server.url}/m/{SLUG}/rewards?lang=ar")
    for item in page.locator("li.reward.locked .reasons li").all():
        assert _arabic_only(item.inner_text()), f"a lock reason is not in Arabic: {item.inner_text()!r}"
    expect(page.locator(f'li.reward[data-reward="{tiered["key"]}"] .reasons')).to_contain_text("ذهبي")
    if planned is not None:
        expect(page.locator(f'li.reward[data-reward="{planned["key"]}"] .reasons')).to_contain_text(plans[planned["plans"][0]]["name"]["ar"])
    assert not errors, errors


def test_a_coupon_code_is_large_under_its_qr_and_copies_with_one_tap(server: Server, phone: Any, climber: dict) -> None:
    with server.api() as http:
        coupon = next(r for r in http.get("/v1/rewards", params={"limit": 200}).json()["items"] if r["kind"] == "coupon")
        topped = http.post(f"/v1/members/{climber['id']}/adjustments", json={"points": coupon["points"], "reason": "portal test: a coupon"},
                           headers={"Idempotency-Key": f"portal-coupon-{climber['id']}"})
        assert topped.status_code == 201, topped.text
        made = http.post(f"/v1/members/{climber['id']}/reward-redemptions", json={"reward_id": coupon["id"]},
                         headers={"Idempotency-Key": f"portal-coupon-redeem-{climber['id']}"})
        assert made.status_code == 201, made.text
    phone.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    page = phone.new_page()
    errors = watch_errors(page)
    page.goto(f"{server.url}/m/{SLUG}/coupons?lang=en")
    card = page.locator(f"#redemption-{made.json()['id']}")
    qr, code = card.locator(".coupon-qr"), card.locator(".coupon-code code")
    expect(qr).to_be_visible()
    text = code.inner_text().strip()
    assert len(text) >= 8, text
    assert float(code.evaluate("(e) => getComputedStyle(e).fontSize").removesuffix("px")) >= 24
    below, box = code.bounding_box(), qr.bounding_box()
    assert below and box and below["y"] >= box["y"] + box["height"], (below, box)
    # Centred under the QR code.
    assert abs((below["x"] + below["width"] / 2) - (box["x"] + box["width"] / 2)) < 4
    button = card.locator("button[data-copy]")
    expect(button).to_have_accessible_name("Copy the code")
    button.click()
    expect(button).to_have_text("Copied")
    assert page.evaluate("() => navigator.clipboard.readText()") == text
    assert page.evaluate(PAGE_WIDTH) <= PHONE["width"]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "portal-coupons-en-phone.png"), full_page=True)
    blocking, report = axe_blocking(page)
    assert not blocking, report
    assert not errors, errors


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_the_tab_bar_keeps_to_the_content_width_on_a_desktop(browser: Browser, server: Server, climber_state: dict, lang: str) -> None:
    context = new_context(browser, viewport=DESKTOP, storage_state=climber_state)
    try:
        page = context.new_page()
        page.goto(f"{server.url}/m/{SLUG}/?lang={lang}")
        tabs = page.locator("nav.tabs").bounding_box()
        content = page.locator("main").bounding_box()
        assert tabs and content
        assert tabs["width"] <= content["width"] + 2, f"the tab bar is {tabs['width']} px wide, the content {content['width']} px"
        assert abs(tabs["x"] - content["x"]) <= 2, (tabs, content)
        page.screenshot(path=str(SHOTS / f"portal-card-{lang}-desktop.png"), full_page=True)
        # On a phone it still spans the screen.
        phone = new_context(browser, viewport=PHONE, storage_state=climber_state)
        try:
            small = phone.new_page()
            small.goto(f"{server.url}/m/{SLUG}/?lang={lang}")
            assert small.locator("nav.tabs").bounding_box()["width"] >= PHONE["width"] - 2  # type: ignore[index]
        finally:
            phone.close()
    finally:
        context.close()
