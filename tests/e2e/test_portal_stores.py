"""Store check-ins in a real browser with its geolocation set (Playwright): a member signed in to the portal
presses "Use my location", sees the store near them open with its distance, checks in, and the check-in is a
`check_in` event, and the member's location offer there opens; the same list in a second tab is refused a second
check-in that day. Arabic reads right to left."""

from __future__ import annotations

import uuid

from tests.e2e.browser import (
    DIRECTION,
    PAGE_WIDTH,
    PHONE,
    SHOTS,
    SLUG,
    Mailbox,
    Server,
    axe_blocking,
    member_sign_in,
    new_context,
    require_browser,
    watch_errors,
)

require_browser()
from playwright.sync_api import Browser, expect  # noqa: E402

MEMBER = "member31@example.com"
STORE_AT = {"latitude": 24.6900, "longitude": 46.6850}
# About 55 m north of the store: inside its 150 m radius.
MEMBER_AT = {"latitude": 24.6905, "longitude": 46.6850}
ALL_DAY = {day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def test_a_member_checks_in_from_where_the_browser_says_they_are(browser: Browser, server: Server, mailbox: Mailbox) -> None:
    code = f"E2E-{uuid.uuid4().hex[:6]}"
    with server.api() as http:
        made = http.post("/v1/stores", json={"code": code, "name_en": "Olaya Gate", "name_ar": "بوابة العليا", **STORE_AT,
                                             "timezone": "Asia/Riyadh", "hours": ALL_DAY})
        assert made.status_code == 201, made.text
    member = server.member(MEMBER)
    offer = f"e2e-{code.lower()}"
    with server.api() as http:
        # A location offer for this member at this store: the list says a check-in there opens it.
        made = http.post("/v1/offers", json={"key": offer, "name_en": "Latte at Olaya Gate", "name_ar": "لاتيه في بوابة العليا",
                                             "kind": "reward", "reward_key": "free-latte", "points": 50,
                                             "audience": {"external_ids": [member["external_id"]]}, "store_codes": [code]})
        assert made.status_code == 201, made.text
        assert http.post(f"/v1/offers/{offer}:activate").json()["granted"] == 1
    context = new_context(browser, viewport=PHONE, geolocation=MEMBER_AT, permissions=["geolocation"])
    try:
        page = context.new_page()
        errors = watch_errors(page)
        member_sign_in(page, server, mailbox, MEMBER)
        page.goto(f"{server.url}/m/{SLUG}/achievements?lang=en")
        page.get_by_role("link", name="Stores near you").click()
        expect(page.locator("#location-privacy")).to_contain_text("it is not stored")

        # A second tab shows the same list, to try a second check-in from after the first.
        other = context.new_page()
        other.goto(f"{server.url}/m/{SLUG}/stores?lang=en")
        for tab in (page, other):
            tab.get_by_role("button", name="Use my location").click()
            card = tab.locator(f'[data-store="{code}"]')
            expect(card).to_contain_text("Olaya Gate")
            expect(card).to_contain_text("Open now")
            expect(card.get_by_role("button", name="Check in")).to_be_visible()
        expect(page.locator(f'[data-store-offer="{offer}"]')).to_contain_text("Check in here to use it")
        distance = page.locator(f'[data-store="{code}"]').inner_text()
        assert " m away" in distance

        page.locator(f'[data-store="{code}"]').get_by_role("button", name="Check in").click()
        expect(page.locator("#checked-in")).to_contain_text("You checked in at Olaya Gate")
        expect(page.locator(f'[data-store="{code}"] [data-checked-in]')).to_be_visible()
        page.locator(f'[data-store-offer="{offer}"]').get_by_role("link", name="Use it now on “For you”").click()
        expect(page.locator("body")).to_contain_text("Latte at Olaya Gate")
        with server.api() as http:
            made_ins = http.get(f"/v1/members/{member['id']}/check-ins").json()["items"]
            assert [(c["store"], 40 <= c["distance_m"] <= 70) for c in made_ins] == [(code, True)]
            event = http.get(f"/v1/events/{made_ins[0]['event_id']}").json()
            assert (event["type"], event["attributes"], event["member_id"]) == ("check_in", {"store": code}, member["id"])

        other.locator(f'[data-store="{code}"]').get_by_role("button", name="Check in").click()
        expect(other.locator("#check-in-problem")).to_contain_text("Already checked in today")
        with server.api() as http:
            assert len(http.get(f"/v1/members/{member['id']}/check-ins").json()["items"]) == 1

        other.goto(f"{server.url}/m/{SLUG}/stores?lang=ar")
        other.get_by_role("button", name="استعمل موقعي").click()
        expect(other.locator(f'[data-store="{code}"]')).to_contain_text("بوابة العليا")
        expect(other.locator(f'[data-store="{code}"] [data-checked-in]')).to_contain_text("سجّلت حضورك هنا اليوم")
        assert other.evaluate(DIRECTION)["dir"] == "rtl"
        assert errors == []
        state = context.storage_state()
    finally:
        context.close()
    # The list as a phone shows it, in both languages: nothing scrolls sideways, and axe finds no serious fault
    # (axe is injected, so this context bypasses the page's CSP; the one above ran stores.js under it).
    checking = new_context(browser, viewport=PHONE, geolocation=MEMBER_AT, permissions=["geolocation"], storage_state=state, bypass_csp=True)
    try:
        page = checking.new_page()
        for lang in ("ar", "en"):
            page.goto(f"{server.url}/m/{SLUG}/stores?lang={lang}")
            page.locator("button[data-locate-button]").click()
            expect(page.locator(f'[data-store="{code}"] [data-checked-in]')).to_be_visible()
            assert page.evaluate(PAGE_WIDTH) <= PHONE["width"]
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / f"portal-stores-{lang}-phone.png"), full_page=True)
            blocking, report = axe_blocking(page)
            assert not blocking, report
    finally:
        checking.close()
