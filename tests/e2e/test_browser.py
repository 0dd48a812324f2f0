"""The console and the member portal in a real browser (Debian's Chromium driven by Playwright), against
a real `wafa serve` process on a demo database, with a real SMTP server in this process receiving the
members' sign-in codes.

What a person relies on: an admin signs in, reads charts and KPI cards that agree with the API, finds a
member and adjusts their points; a member signs in with the code e-mailed to them, shows a QR code the
till can scan, redeems a reward, and still sees the card with no network; pages read right to left in
Arabic (the default) and left to right in English; no page has a critical or serious accessibility fault.

Screenshots of the main pages in both languages land in test-artifacts/screenshots/ (git-ignored).
Without /usr/bin/chromium the module skips, unless WAFA_TEST_BROWSER_REQUIRED is set (CI), where it fails.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.e2e.browser import (
    CHART_DATA,
    CHARTS_DRAWN,
    DESKTOP,
    DIRECTION,
    PHONE,
    SHOTS,
    SLUG,
    WAIT_MS,
    Mailbox,
    Server,
    admin_sign_in,
    axe_blocking,
    member_sign_in,
    new_context,
    number,
    require_browser,
    watch_errors,
)

require_browser()
import zxingcpp  # noqa: E402
from PIL import Image  # noqa: E402
from playwright.sync_api import Browser, BrowserContext, expect  # noqa: E402

# Members of the demo, each signing in once at most (three codes per address per 15 minutes).
QR_MEMBER, REDEEM_MEMBER, LANDING_MEMBER, ADJUSTED_MEMBER = (f"member{n}@example.com" for n in (7, 11, 12, 3))


@pytest.fixture(scope="module")
def profile_member_id(server: Server) -> int:
    """The member whose console profile the audits and screenshots show."""
    return int(server.member(ADJUSTED_MEMBER)["id"])


# --- the console ---------------------------------------------------------------------------------------


def test_admin_signs_in_and_the_dashboard_draws_its_charts_and_agrees_with_the_api(browser: Browser, server: Server) -> None:
    context = new_context(browser, viewport=DESKTOP)
    page = context.new_page()
    errors = watch_errors(page)
    try:
        admin_sign_in(page, server, lang="en")
        expect(page.locator("h1")).to_have_text("Dashboard")
        page.wait_for_function(CHARTS_DRAWN)
        charts = page.evaluate(CHART_DATA)
        assert {c["id"] for c in charts} >= {"chart-members", "chart-revenue", "chart-points", "chart-liability", "chart-tiers"}
        for chart in charts:
            values = [v for d in chart["datasets"] for v in d["data"]]
            assert values and all(isinstance(v, int | float) for v in values), f"{chart['id']} holds non-numbers: {chart}"
            assert any(v != 0 for v in values), f"{chart['id']} draws only zeros: {chart}"

        # The period the dashboard shows (the last 30 days by default), asked of the API.
        first = date.fromisoformat(page.locator('input[name="from-date"]').input_value())
        last = date.fromisoformat(page.locator('input[name="to-date"]').input_value())
        assert (last - first).days == 29
        with server.api() as http:
            answer = http.get("/v1/analytics/kpis", params={"from": first.isoformat(), "to": last.isoformat()})
        assert answer.status_code == 200, answer.text
        expected = answer.json()["period"]["active_members"]
        assert expected > 0, "the demo should have active members in the last 30 days"
        card = page.locator('[data-kpi="active_members"]')
        expect(card.locator("h2")).to_have_text("Active members")
        assert number(card.locator(".value").inner_text()) == expected
        assert not errors, errors
    finally:
        context.close()


def test_admin_finds_a_member_by_email_and_adjusts_their_points(browser: Browser, server: Server, admin_state: dict) -> None:
    member = server.member(ADJUSTED_MEMBER)
    context = new_context(browser, viewport=DESKTOP, storage_state=admin_state)
    page = context.new_page()
    errors = watch_errors(page)
    try:
        page.goto(f"{server.url}/admin/members?lang=en")
        search = page.get_by_role("search")
        search.locator('input[name="q"]').fill(ADJUSTED_MEMBER)
        search.get_by_role("button", name="Search").click()
        # One member matches the e-mail: the search goes straight to the profile.
        page.wait_for_url(f"{server.url}/admin/members/{member['id']}")
        expect(page.locator("main")).to_contain_text(ADJUSTED_MEMBER)
        before = number(page.locator("#balance-available").inner_text())
        assert before == server.available(member["id"])

        form = page.locator("#adjust-form")
        form.locator('input[name="points"]').fill("250")
        form.locator('input[name="reason"]').fill("Goodwill: late delivery (browser test)")
        form.locator('button[type="submit"]').click()
        page.locator("#confirm").get_by_role("button", name="Yes, adjust").click()  # asked first
        page.wait_for_url(re.compile(rf"/admin/members/{member['id']}\?done=adjusted"))
        expect(page.locator("p.flash")).to_be_visible()
        assert number(page.locator("#balance-available").inner_text()) == before + 250
        assert server.available(member["id"]) == before + 250
        history = page.locator("table.history tbody tr").first
        expect(history).to_contain_text("Goodwill: late delivery (browser test)")
        expect(history).to_contain_text("+250")
        assert not errors, errors
    finally:
        context.close()


# --- the member portal ---------------------------------------------------------------------------------


def test_member_signs_in_with_the_emailed_code_and_the_card_qr_identifies_them(
    browser: Browser, server: Server, mailbox: Mailbox, tmp_path: Path,
) -> None:
    member = server.member(QR_MEMBER)
    context = new_context(browser, viewport=PHONE)
    page = context.new_page()
    errors = watch_errors(page)
    try:
        member_sign_in(page, server, mailbox, QR_MEMBER)
        expect(page.locator("#member-name")).to_have_text(member["name"])
        assert number(page.locator("#balance").inner_text()) == server.available(member["id"])

        shot = tmp_path / "card-qr.png"
        page.locator("#card-qr").screenshot(path=str(shot))
        decoded = zxingcpp.read_barcodes(Image.open(shot))
        assert len(decoded) == 1, f"expected one QR code on the card, decoded {decoded}"
        token = decoded[0].text
        assert token == member["card_token"]
        with server.api() as http:
            scanned = http.get(f"/v1/cards/{token}")
        assert scanned.status_code == 200, scanned.text
        assert scanned.json()["id"] == member["id"]
        assert not errors, errors
    finally:
        context.close()


# Explicit waits done in the page, bounded so a broken worker fails the test instead of hanging it.
SW_READY = """(ms) => Promise.race([navigator.serviceWorker.ready.then(() => true),
  new Promise((resolve) => setTimeout(() => resolve(false), ms))])"""
CARD_CACHED = """async (ms) => {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await caches.match(location.href)) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}"""


def test_sign_in_lands_on_the_card_page_the_service_worker_controls(
    browser: Browser, server: Server, mailbox: Mailbox,
) -> None:
    """The card a member sees right after signing in is the page that must show offline later: it has to
    be inside the service worker's scope (/m/<slug>/), like the Card tab and the manifest's start_url."""
    context = new_context(browser, viewport=PHONE)
    page = context.new_page()
    try:
        member_sign_in(page, server, mailbox, LANDING_MEMBER)
        scope = f"{server.url}/m/{SLUG}/"
        assert page.url.startswith(scope), (
            f"after sign-in the member lands on {urlsplit(page.url).path}, outside the service worker's scope "
            f"{urlsplit(scope).path}: that page is never controlled (navigator.serviceWorker.ready never resolves there) "
            "and does not show offline"
        )
        assert page.evaluate(SW_READY, WAIT_MS), "the service worker never became ready on the card page"
    finally:
        context.close()


def test_member_redeems_the_first_unlocked_reward_and_the_card_balance_drops_by_its_cost(
    browser: Browser, server: Server, mailbox: Mailbox,
) -> None:
    member = server.member(REDEEM_MEMBER)
    if server.available(member["id"]) < 1500:
        with server.api() as http:
            topped = http.post(f"/v1/members/{member['id']}/adjustments", json={"points": 1500, "reason": "browser test: enough to redeem"},
                               headers={"Idempotency-Key": f"browser-redeem-{member['id']}"})
        assert topped.status_code == 201, topped.text
    with server.api() as http:
        catalog = {r["key"]: r for r in http.get("/v1/rewards", params={"member_id": member["id"], "limit": 200}).json()["items"]}

    context = new_context(browser, viewport=PHONE)
    page = context.new_page()
    errors = watch_errors(page)
    try:
        member_sign_in(page, server, mailbox, REDEEM_MEMBER)
        before = number(page.locator("#balance").inner_text())
        assert before == server.available(member["id"])

        page.goto(f"{server.url}/m/{SLUG}/rewards")
        unlocked = page.locator("li.reward:not(.locked)")
        expect(unlocked.first).to_be_visible()
        # The first reward that is not locked and costs points (a plan's free reward may cost none).
        keys = unlocked.evaluate_all("items => items.map((li) => li.dataset.reward)")
        key = next(k for k in keys if catalog[k]["points"] > 0)
        reward = page.locator(f'li.reward[data-reward="{key}"]')
        cost = number(reward.locator(".cost").inner_text())
        assert cost == catalog[key]["points"]

        reward.locator("summary").click()
        note = reward.locator('input[name="note"]')
        if note.count():
            note.fill("1 King Fahd Road, Riyadh")
        reward.locator('form button[type="submit"]').click()
        page.wait_for_url(re.compile(rf"/m/{SLUG}/coupons\?new=\d+"))
        expect(page.locator("p.flash")).to_be_visible()
        new_id = re.search(r"new=(\d+)", page.url).group(1)  # type: ignore[union-attr]
        expect(page.locator(f"#redemption-{new_id}")).to_be_visible()

        page.goto(f"{server.url}/m/{SLUG}/")
        assert number(page.locator("#balance").inner_text()) == before - cost
        assert server.available(member["id"]) == before - cost
        assert not errors, errors
    finally:
        context.close()


def test_the_card_still_shows_offline(browser: Browser, server: Server, member_state: dict) -> None:
    context = new_context(browser, viewport=PHONE, storage_state=member_state)
    page = context.new_page()
    try:
        page.goto(f"{server.url}/m/{SLUG}/")
        assert page.evaluate(SW_READY, WAIT_MS), "the service worker never became ready on the card page"
        # The worker controls the pages loaded after it activated: reload once.
        page.reload()
        page.wait_for_function("navigator.serviceWorker.controller !== null")
        # The worker keeps a copy of the card as it passes (cache.put is not awaited by the page load).
        assert page.evaluate(CARD_CACHED, WAIT_MS), "the service worker did not keep a copy of the card"
        qr = page.locator("#card-qr").inner_html()
        expect(page.locator(".offline-note")).to_be_hidden()

        context.set_offline(True)
        page.reload()
        expect(page.locator("#card-qr svg")).to_be_visible()
        assert page.locator("#card-qr").inner_html() == qr
        expect(page.locator(".offline-note")).to_be_visible()
    finally:
        context.set_offline(False)
        context.close()


# --- languages -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/admin/login", f"/m/{SLUG}/login"])
def test_pages_are_arabic_right_to_left_by_default_and_english_left_to_right_on_request(
    browser: Browser, server: Server, path: str,
) -> None:
    context = new_context(browser, viewport=DESKTOP, locale="en-US")
    page = context.new_page()
    try:
        page.goto(server.url + path)
        assert page.evaluate(DIRECTION) == {"dir": "rtl", "lang": "ar", "computed": "rtl"}
        page.goto(f"{server.url}{path}?lang=en")
        assert page.evaluate(DIRECTION) == {"dir": "ltr", "lang": "en", "computed": "ltr"}
        # The choice is remembered.
        page.goto(server.url + path)
        assert page.evaluate(DIRECTION) == {"dir": "ltr", "lang": "en", "computed": "ltr"}
        page.get_by_role("link", name="العربية").click()
        page.wait_for_url(re.compile(r"lang=ar"))
        assert page.evaluate(DIRECTION) == {"dir": "rtl", "lang": "ar", "computed": "rtl"}
    finally:
        context.close()


# --- accessibility -------------------------------------------------------------------------------------

AXE_PAGES = [
    ("admin-login", "/admin/login", None),
    ("dashboard", "/admin", "admin"),
    ("member-profile", "/admin/members/{member_id}", "admin"),
    ("portal-login", f"/m/{SLUG}/login", None),
    ("card", f"/m/{SLUG}/", "member"),
    ("rewards", f"/m/{SLUG}/rewards", "member"),
]


@pytest.fixture(scope="module")
def audit_context(browser: Browser, admin_state: dict, member_state: dict) -> Iterator[Callable[[str | None, bool], BrowserContext]]:
    """Browser contexts for the audits, one per visitor (None, "admin", "member") and device, opened as
    needed. axe is injected as a script tag, which the pages' CSP (script-src 'self') refuses: CSP is
    bypassed in these contexts only."""
    opened: dict[tuple[str | None, bool], BrowserContext] = {}
    states = {"admin": admin_state, "member": member_state}

    def context_for(who: str | None, phone: bool) -> BrowserContext:
        if (who, phone) not in opened:
            opened[(who, phone)] = new_context(browser, viewport=PHONE if phone else DESKTOP, storage_state=states.get(who or ""),
                                               bypass_csp=True)
        return opened[(who, phone)]

    yield context_for
    for context in opened.values():
        context.close()


@pytest.mark.parametrize("lang", ["ar", "en"])
@pytest.mark.parametrize(("name", "path", "who"), AXE_PAGES, ids=[p[0] for p in AXE_PAGES])
def test_pages_have_no_serious_accessibility_violations(
    server: Server, audit_context: Callable[[str | None, bool], BrowserContext], profile_member_id: int,
    name: str, path: str, who: str | None, lang: str,
) -> None:
    """axe-core on each main page in both languages. Note: axe-core (4.14) takes Arabic words for icon-font
    ligatures and skips them in its color-contrast rule, so contrast is really checked by the English run
    (the colors are the same in both languages); the Arabic run still checks names, labels, landmarks, lang."""
    page = audit_context(who, path.startswith("/m/")).new_page()
    try:
        target = path.format(member_id=profile_member_id)
        page.goto(f"{server.url}{target}?lang={lang}")
        assert urlsplit(page.url).path == urlsplit(server.url + target).path, f"{name}: redirected to {page.url}"
        if name == "dashboard":
            page.wait_for_function(CHARTS_DRAWN)
        blocking, report = axe_blocking(page)
        assert not blocking, f"{name} ({lang}) has accessibility violations:\n{report}"
    finally:
        page.close()


# --- screenshots -----------------------------------------------------------------------------------------

SHOT_PAGES = [
    ("dashboard", "/admin", "admin"),
    ("member-profile", "/admin/members/{member_id}", "admin"),
    ("card", f"/m/{SLUG}/", "member"),
    ("rewards", f"/m/{SLUG}/rewards", "member"),
    ("history", f"/m/{SLUG}/history", "member"),
]


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_screenshots_of_the_main_pages(
    browser: Browser, server: Server, admin_state: dict, member_state: dict, profile_member_id: int, lang: str,
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    member_id = profile_member_id
    direction = "rtl" if lang == "ar" else "ltr"
    for who, viewport, state in (("admin", DESKTOP, admin_state), ("member", PHONE, member_state)):
        context = new_context(browser, viewport=viewport, storage_state=state)
        page = context.new_page()
        errors = watch_errors(page)
        try:
            for name, path, owner in SHOT_PAGES:
                if owner != who:
                    continue
                target = path.format(member_id=member_id)
                page.goto(f"{server.url}{target}?lang={lang}")
                assert urlsplit(page.url).path == urlsplit(server.url + target).path, f"{name}: redirected to {page.url}"
                assert page.evaluate(DIRECTION) == {"dir": direction, "lang": lang, "computed": direction}, name
                if name == "dashboard":
                    page.wait_for_function(CHARTS_DRAWN)
                page.screenshot(path=str(SHOTS / f"{name}-{lang}.png"), full_page=True)
            assert not errors, errors
        finally:
            context.close()
