"""Members and the audit trail in a real browser, on a copy of the demo: a member list that pages with a
total, filters, sorts and exports; a profile whose history says what each line was and goes back to
the first one; suspending and adjusting that ask first, with a reason and a sane bound; the portal's
history with the same explanations; an audit trail that pages, filters, exports and shows Arabic as Arabic.

Each test was written before the change it checks and failed on the console as it was."""

from __future__ import annotations

import csv
import io
import re
import uuid
from typing import Any

import pytest

from tests.e2e.browser import (
    DEMO_MEMBERS,
    DESKTOP,
    PHONE,
    SHOTS,
    SLUG,
    Server,
    axe_blocking,
    new_context,
    number,
    require_browser,
    watch_errors,
)
from tests.e2e.conftest import PAGES_MEMBER

require_browser()
from playwright.sync_api import Browser, Page, expect  # noqa: E402

SUSPENDED, ADJUSTED = "member21@example.com", "member22@example.com"
# The pager's line with the total ("26–40 of 40"), as web/admin/_table.html writes it.
TOTAL = "nav.pager [role=status]"


def entries_of(server: Server, member_id: int) -> list[dict[str, Any]]:
    """Every ledger entry of a member, newest first, through the API."""
    out, cursor = [], None
    with server.api() as http:
        while True:
            page = http.get(f"/v1/members/{member_id}/entries", params={"limit": 200, **({"cursor": cursor} if cursor else {})}).json()
            out += page["items"]
            cursor = page["next_cursor"]
            if not cursor:
                return out


def shown(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The entries a history shows: none that moves 0 points (wallet money lines say their amount)."""
    return [e for e in entries if e["points"] != 0 or (e["kind"] in ("cashback", "wallet_spent", "reverse", "redeem") and
                                                      (e["details"] or {}).get("amount"))]


@pytest.fixture(scope="module")
def busiest(server: Server) -> dict[str, Any]:
    """The demo member with the longest history, which has earned a badge."""
    best: dict[str, Any] = {}
    with server.api() as http:
        for n in range(DEMO_MEMBERS):
            member = http.get("/v1/members", params={"email": f"member{n}@example.com"}).json()["items"][0]
            entries = entries_of(server, member["id"])
            if len(shown(entries)) > len(best.get("lines", [])) and any((e["details"] or {}).get("badge") for e in entries):
                best = {**member, "lines": shown(entries), "entries": entries}
    assert len(best["lines"]) > 100, "the demo's busiest member has more than two pages of history"
    return best


def till_redemption(server: Server, member_id: int, reason: str, points: int = 100) -> None:
    with server.api() as http:
        made = http.post(f"/v1/members/{member_id}/redemptions", json={"points": points, "reason": reason},
                         headers={"Idempotency-Key": uuid.uuid4().hex})
    assert made.status_code == 201, made.text


# --- defect 15 and tables that scale: the member list ----------------------------------------------------------


def test_the_member_list_pages_with_a_total(admin_page: Page, server: Server) -> None:
    errors = watch_errors(admin_page)
    admin_page.goto(f"{server.url}/admin/members?lang=en&size=25")
    expect(admin_page.locator(TOTAL)).to_contain_text(f"1–25 of {DEMO_MEMBERS}")
    rows = admin_page.locator("table.members tbody tr")
    expect(rows).to_have_count(25)
    first_page = rows.all_inner_texts()
    admin_page.locator("nav.pager").get_by_role("link", name="Next").click()
    expect(admin_page.locator(TOTAL)).to_contain_text(f"26–{DEMO_MEMBERS} of {DEMO_MEMBERS}")
    expect(rows).to_have_count(DEMO_MEMBERS - 25)
    assert not set(first_page) & set(rows.all_inner_texts()), "the second page shows other members"
    assert not errors, errors


def test_the_member_list_filters_by_tier_sorts_by_name_and_exports_what_it_shows(admin_page: Page, server: Server) -> None:
    with server.api() as http:
        gold = []
        for n in range(DEMO_MEMBERS):
            member = http.get("/v1/members", params={"email": f"member{n}@example.com"}).json()["items"][0]
            tier = http.get(f"/v1/members/{member['id']}/tier").json()["tier"]
            if tier and tier["key"] == "gold":
                gold.append(member)
    assert gold, "the demo has Gold members"
    admin_page.goto(f"{server.url}/admin/members?lang=en")
    filters = admin_page.locator("form.filters")
    filters.get_by_label("Tier").select_option("gold")
    filters.get_by_role("button", name="Search").click()
    admin_page.wait_for_url(re.compile(r"tier=gold"))
    expect(admin_page.locator(TOTAL)).to_contain_text(f"of {len(gold)}")
    # Sorted by name, A to Z.
    admin_page.locator("table.members thead").get_by_role("link", name="Name").click()
    admin_page.wait_for_url(re.compile(r"sort=name"))
    names = admin_page.locator("table.members tbody tr td:first-child").all_inner_texts()
    assert names == sorted((m["name"] or "" for m in gold), key=str.casefold)
    export = admin_page.get_by_role("link", name="Export CSV")
    answer = admin_page.request.get(server.url + export.get_attribute("href"))
    assert answer.status == 200 and answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text().removeprefix("\ufeff"))))
    assert sorted(int(r["id"]) for r in rows) == sorted(m["id"] for m in gold)
    assert [r["name"] for r in rows] == names


def test_the_member_list_filters_by_joining_dates_and_status(admin_page: Page, server: Server) -> None:
    admin_page.goto(f"{server.url}/admin/members?lang=en&joined-from-date=2999-01-01")
    expect(admin_page.locator("main")).to_contain_text("No member matches")
    expect(admin_page.locator(TOTAL)).to_contain_text("Nothing to show")
    assert admin_page.get_by_label("Joined from").input_value() == "2999-01-01"
    admin_page.goto(f"{server.url}/admin/members?lang=en&status=closed")
    expect(admin_page.locator("table.members tbody tr")).to_have_count(0)


# --- defect 11: confirmation, reason and bound -----------------------------------------------------------------


def test_suspending_a_member_asks_for_confirmation_first(admin_page: Page, server: Server) -> None:
    member = server.member(SUSPENDED)
    admin_page.goto(f"{server.url}/admin/members/{member['id']}?lang=en")
    status = admin_page.locator("#status-form")
    status.locator('input[name="reason"]').fill("Card reported stolen")
    status.get_by_role("button", name="Suspend").click()
    admin_page.wait_for_load_state()
    assert server.member(SUSPENDED)["status"] == "active", "nothing happens before the confirmation"
    confirm = admin_page.locator("#confirm")
    expect(confirm).to_contain_text("Card reported stolen")
    confirm.get_by_role("button", name="Yes, suspend").click()
    admin_page.wait_for_url(re.compile(r"done=suspend"))
    assert server.member(SUSPENDED)["status"] == "suspended"
    # The list's status filter finds them.
    admin_page.goto(f"{server.url}/admin/members?lang=en&status=suspended")
    expect(admin_page.locator("table.members tbody tr")).to_have_count(1)
    expect(admin_page.locator("table.members tbody")).to_contain_text(SUSPENDED)


@pytest.mark.parametrize(("lang", "over"), [("en", "at most 1,000,000"), ("ar", "1,000,000")])
def test_adjusting_points_needs_a_reason_stays_within_a_bound_and_asks_first(admin_page: Page, server: Server, lang: str, over: str) -> None:
    member = server.member(ADJUSTED)
    before = server.available(member["id"])
    admin_page.goto(f"{server.url}/admin/members/{member['id']}?lang={lang}")
    form = admin_page.locator("#adjust-form")
    form.locator('input[name="points"]').fill("5000000")
    form.locator('input[name="reason"]').fill("Typo")
    form.locator('button[type="submit"]').click()
    admin_page.wait_for_load_state()
    expect(form.locator("#err-points")).to_contain_text(over)
    assert form.locator('input[name="points"]').input_value() == "5000000"
    # A reason of spaces is no reason.
    form.locator('input[name="points"]').fill("250")
    form.locator('input[name="reason"]').fill("   ")
    form.locator('button[type="submit"]').click()
    admin_page.wait_for_load_state()
    expect(form.locator("#err-reason")).to_be_visible()
    assert server.available(member["id"]) == before
    # A sane one is asked about first, then posted once.
    form.locator('input[name="points"]').fill("250")
    form.locator('input[name="reason"]').fill(f"Goodwill ({lang})")
    form.locator('button[type="submit"]').click()
    admin_page.wait_for_load_state()
    confirm = admin_page.locator("#confirm")
    expect(confirm).to_contain_text(f"Goodwill ({lang})")
    assert server.available(member["id"]) == before
    confirm.locator('button[type="submit"]').first.click()
    admin_page.wait_for_url(re.compile(r"done=adjusted"))
    assert server.available(member["id"]) == before + 250


# --- defect 10: history lines that say something ----------------------------------------------------------------


def test_the_profile_history_explains_each_line_and_goes_back_to_the_first(admin_page: Page, server: Server, busiest: dict) -> None:
    till_redemption(server, busiest["id"], "Coffee at the till (browser test)")
    lines = shown(entries_of(server, busiest["id"]))
    with server.api() as http:
        badges = {b["key"]: b["name"]["en"] for b in http.get("/v1/badges").json()["items"]}
    admin_page.goto(f"{server.url}/admin/members/{busiest['id']}?lang=en")
    history = admin_page.locator("table.history")
    expect(admin_page.locator(".history-total")).to_contain_text(f"of {len(lines)}")
    newest = history.locator("tbody tr").first
    expect(newest).to_contain_text("Coffee at the till (browser test)")
    seen: list[str] = []
    while True:
        rows = history.locator("tbody tr")
        seen += rows.all_inner_texts()
        older = admin_page.locator("nav.history-pages").get_by_role("link", name="Older")
        if older.count() == 0:
            break
        older.click()
        admin_page.wait_for_load_state()
    assert len(seen) == len(lines), "every line, back to the first"
    assert not [row for row in seen if re.search(r"(^|\s)0$", row.strip())], "no line of 0 points"
    badge_keys = [(e["details"] or {}).get("badge") for e in lines if (e["details"] or {}).get("badge")]
    assert any(f"Badge earned: {badges[key]}" in row for row in seen for key in badge_keys), "the badge is named"


def test_the_portal_history_explains_the_same_way(browser: Browser, server: Server, member_state: dict) -> None:
    member = server.member(PAGES_MEMBER)
    till_redemption(server, member["id"], "Tea at the till (browser test)")
    context = new_context(browser, viewport=PHONE, storage_state=member_state)
    try:
        page = context.new_page()
        page.goto(f"{server.url}/m/{SLUG}/history?lang=en")
        rows = page.locator("table.history tbody tr")
        expect(rows.first).to_contain_text("Tea at the till (browser test)")
        texts = rows.all_inner_texts()
        assert not [row for row in texts if re.search(r"(^|\s)0$", row.strip())], texts
        assert not [row for row in texts if row.strip().startswith("Pending points became available")], texts
    finally:
        context.close()


# --- the audit trail ------------------------------------------------------------------------------------------


def test_the_audit_trail_shows_arabic_pages_filters_and_exports(admin_page: Page, server: Server) -> None:
    member = server.member("member23@example.com")
    reason = "تعويض عن تأخير التوصيل"
    admin_page.goto(f"{server.url}/admin/members/{member['id']}?lang=ar")
    form = admin_page.locator("#adjust-form")
    form.locator('input[name="points"]').fill("20")
    form.locator('input[name="reason"]').fill(reason)
    form.locator('button[type="submit"]').click()
    admin_page.wait_for_load_state()
    admin_page.locator("#confirm").locator('button[type="submit"]').first.click()
    admin_page.wait_for_url(re.compile(r"done=adjusted"))

    admin_page.goto(f"{server.url}/admin/audit?lang=ar")
    main = admin_page.locator("main")
    expect(main).to_contain_text(reason)
    assert "\\u06" not in main.inner_text()
    admin_page.goto(f"{server.url}/admin/audit?lang=en&action=member.points_adjusted")
    rows = admin_page.locator("table.audit tbody tr")
    assert all("member.points_adjusted" in text or "Points adjusted" in text for text in rows.all_inner_texts())
    expect(rows.first).to_contain_text(reason)
    answer = admin_page.request.get(server.url + admin_page.get_by_role("link", name="Export CSV").get_attribute("href"))
    assert answer.status == 200 and answer.headers["content-type"].startswith("text/csv")
    exported = list(csv.DictReader(io.StringIO(answer.text().removeprefix("\ufeff"))))
    assert exported and all(r["action"] == "member.points_adjusted" for r in exported)
    assert any(reason in r["details"] for r in exported)
    # Filtered by who and by dates, with the total.
    admin_page.goto(f"{server.url}/admin/audit?lang=en&who=ADMIN@example")
    total = number(admin_page.locator(TOTAL).inner_text().split("of")[-1])
    assert total >= 2, "the sign-in and the adjustment, at least"
    admin_page.goto(f"{server.url}/admin/audit?lang=en&who=nobody-here")
    expect(admin_page.locator(TOTAL)).to_contain_text("Nothing to show")
    admin_page.goto(f"{server.url}/admin/audit?lang=en&to-date=2000-01-01")
    expect(admin_page.locator("table.audit tbody")).to_contain_text("Nothing matches")


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_the_member_pages_have_no_serious_accessibility_faults_on_a_phone(browser: Browser, server: Server, admin_state: dict,
                                                                          busiest: dict, lang: str) -> None:
    context = new_context(browser, viewport=PHONE, storage_state=admin_state, bypass_csp=True)
    try:
        page = context.new_page()
        SHOTS.mkdir(parents=True, exist_ok=True)
        for name, path in (("members", "/admin/members"), ("member", f"/admin/members/{busiest['id']}"), ("audit", "/admin/audit")):
            page.goto(f"{server.url}{path}?lang={lang}")
            page.screenshot(path=str(SHOTS / f"{name}-{lang}-phone.png"), full_page=True)
            blocking, report = axe_blocking(page)
            assert not blocking, f"{name} ({lang}):\n{report}"
        page.set_viewport_size(DESKTOP)
        for name, path in (("members", "/admin/members"), ("member", f"/admin/members/{busiest['id']}"), ("audit", "/admin/audit")):
            page.goto(f"{server.url}{path}?lang={lang}")
            page.screenshot(path=str(SHOTS / f"{name}-{lang}-desktop.png"), full_page=True)
    finally:
        context.close()
