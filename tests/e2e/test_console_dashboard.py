"""The dashboard in a real browser, on a copy of the demo: figures a manager can trust (the liability
against the start of the period, rates that move in points, every member in the tier chart, NPS with its
number of answers), custom periods refused with a message beside the dates, cohort months on one line,
program goals against their targets, a line of help beside the figures that need one, and the checklist
of a new program.

Each test was written before the change it checks and failed on the console as it was."""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.e2e.browser import (
    CHART_DATA,
    CHARTS_DRAWN,
    DEMO_MEMBERS,
    DESKTOP,
    PHONE,
    SHOTS,
    WAFA,
    Server,
    axe_blocking,
    new_context,
    number,
    require_browser,
    server_env,
    watch_errors,
)

require_browser()
from playwright.sync_api import Browser, Page, expect  # noqa: E402


def amount(text: str) -> Decimal:
    """The money a card shows ("SAR 12,345.60"), as a number."""
    found = re.search(r"[0-9][0-9,]*(\.[0-9]+)?", text)
    assert found, f"no amount in {text!r}"
    return Decimal(found.group(0).replace(",", ""))


def signed(text: str) -> float:
    """A change as shown: "+2.1 pts", "−37.2%", "▼ −0.5 pts"."""
    found = re.search(r"([+\-−]?)\s*([0-9][0-9,]*(\.[0-9]+)?)", text)
    assert found, f"no change in {text!r}"
    value = float(found.group(2).replace(",", ""))
    return -value if found.group(1) in ("-", "−") else value


def period_of(page: Page) -> tuple[str, str]:
    form = page.locator("form.period")
    return form.locator('input[name="from-date"]').input_value(), form.locator('input[name="to-date"]').input_value()


def kpis(server: Server, first: str, last: str) -> dict[str, Any]:
    with server.api() as http:
        answer = http.get("/v1/analytics/kpis", params={"from": first, "to": last})
    assert answer.status_code == 200, answer.text
    return answer.json()


# --- defect 6: figures ------------------------------------------------------------------------------------


def test_the_liability_card_compares_today_with_the_start_of_the_period(admin_page: Page, server: Server) -> None:
    """Not today's balance against itself (always 0.0%): against what members held when the period began."""
    errors = watch_errors(admin_page)
    admin_page.goto(f"{server.url}/admin?lang=en")
    first, last = period_of(admin_page)
    card = admin_page.locator('[data-kpi="outstanding_liability"]')
    today = amount(card.locator(".value").inner_text())
    assert today == Decimal(kpis(server, first, last)["period"]["outstanding_liability"])
    earlier = card.locator(".earlier")
    expect(earlier).to_be_visible()
    expect(earlier).to_contain_text(date.fromisoformat(first).strftime("%b"))
    before = amount(earlier.inner_text().split(":", 1)[-1])
    assert before != today, "the demo's members earned and spent points in the last 30 days"
    shown = signed(card.locator(".change .delta").inner_text())
    assert shown == pytest.approx(float((today - before) / before * 100), abs=0.051)
    assert not errors, errors


def test_rates_change_in_points_and_counts_in_percent(admin_page: Page, server: Server) -> None:
    admin_page.goto(f"{server.url}/admin?lang=en")
    first, last = period_of(admin_page)
    report = kpis(server, first, last)
    now, before = report["period"], report["previous"]
    for key in ("retention_rate", "redemption_rate", "participation_rate_revenue"):
        if now[key] is None or before[key] is None:
            continue
        delta = admin_page.locator(f'[data-kpi="{key}"] .change .delta').inner_text()
        assert delta.endswith("pts"), f"{key}: {delta!r} should be a difference in points"
        assert signed(delta) == pytest.approx((now[key] - before[key]) * 100, abs=0.051), key
    delta = admin_page.locator('[data-kpi="active_members"] .change .delta').inner_text()
    assert delta.endswith("%"), delta
    assert signed(delta) == pytest.approx((now["active_members"] - before["active_members"]) / before["active_members"] * 100, abs=0.051)


def test_nps_shows_its_number_of_answers_and_marks_a_small_sample(admin_page: Page, server: Server) -> None:
    for lang, note in (("en", "fewer than 30 answers"), ("ar", "أقل من 30 إجابة")):
        admin_page.goto(f"{server.url}/admin?lang={lang}")
        first, last = period_of(admin_page)
        answers = kpis(server, first, last)["period"]["nps_responses"]
        card = admin_page.locator('[data-kpi="nps"]')
        assert number(card.locator(".answers").inner_text()) == answers
        assert 0 < answers < 30, "the demo has a handful of NPS answers a month"
        expect(card).to_have_class(re.compile(r"\bsmall-sample\b"))
        expect(card.locator(".small-note")).to_contain_text(note)


def test_the_tier_chart_counts_members_without_a_tier(admin_page: Page, server: Server) -> None:
    with server.api() as http:
        made = http.post("/v1/members", json={"external_id": f"no-tier-{uuid.uuid4().hex[:6]}", "name": "Newcomer"})
    assert made.status_code == 201, made.text
    admin_page.goto(f"{server.url}/admin?lang=en")
    admin_page.wait_for_function(CHARTS_DRAWN)
    tiers = next(c for c in admin_page.evaluate(CHART_DATA) if c["id"] == "chart-tiers")
    labels = admin_page.evaluate("() => Chart.getChart(document.getElementById('chart-tiers')).data.labels")
    assert "No tier" in labels, labels
    values = tiers["datasets"][0]["data"]
    assert values[labels.index("No tier")] >= 1
    assert sum(values) == DEMO_MEMBERS + 1, "every member is in the chart"


# --- defect 12: custom periods ------------------------------------------------------------------------------


@pytest.mark.parametrize(("lang", "show", "message"), [
    ("en", "Show", "Choose at most 10 years."),
    ("ar", "عرض", "اختر مدة لا تزيد على 10 سنوات."),
])
def test_a_custom_period_of_more_than_ten_years_is_refused_beside_the_dates(admin_page: Page, server: Server, lang: str, show: str,
                                                                              message: str) -> None:
    admin_page.goto(f"{server.url}/admin?lang={lang}")
    form = admin_page.locator("form.period")
    form.locator("select").select_option("custom")
    form.locator('input[type="date"]').nth(0).fill("2010-01-01")
    form.locator('input[type="date"]').nth(1).fill("2026-01-01")
    form.get_by_role("button", name=show).click()
    admin_page.wait_for_load_state()
    expect(admin_page.locator("h1").first).to_have_text("Dashboard" if lang == "en" else "لوحة المعلومات")
    expect(form.locator(".field-error")).to_have_text(message)
    # What was typed stays, and the page says what it shows instead.
    assert form.locator('input[type="date"]').nth(0).input_value() == "2010-01-01"
    expect(admin_page.locator(".problem")).to_be_visible()
    if lang == "ar":
        expect(form.locator(".hijri").first).to_contain_text("هـ")


def test_a_custom_period_ending_before_it_starts_is_refused(admin_page: Page, server: Server) -> None:
    admin_page.goto(f"{server.url}/admin?lang=en")
    form = admin_page.locator("form.period")
    form.locator("select").select_option("custom")
    form.locator('input[type="date"]').nth(0).fill("2026-05-01")
    form.locator('input[type="date"]').nth(1).fill("2026-04-01")
    form.get_by_role("button", name="Show").click()
    admin_page.wait_for_load_state()
    expect(form.locator(".field-error")).to_have_text("The end must be on or after the start.")
    assert period_of(admin_page) == ("2026-05-01", "2026-04-01")


# --- defect 15: cohort labels -------------------------------------------------------------------------------

LINES_OF = """(selector) => [...document.querySelectorAll(selector)].map((cell) => {
  const range = document.createRange();
  range.selectNodeContents(cell);
  return [cell.innerText, new Set([...range.getClientRects()].map((r) => Math.round(r.bottom))).size];
})"""


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_cohort_months_stay_on_one_line(browser: Browser, server: Server, admin_state: dict, viewport: dict) -> None:
    context = new_context(browser, viewport=viewport, storage_state=admin_state)
    try:
        page = context.new_page()
        page.goto(f"{server.url}/admin?lang=ar")
        cells = page.evaluate(LINES_OF, "table.cohorts tbody th")
        assert cells, "the demo has cohorts"
        assert all(lines == 1 for _, lines in cells), cells
    finally:
        context.close()


# --- help beside the figures ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("lang", "words"), [("en", "points that expire unused"), ("ar", "النقاط التي تنتهي")])
def test_breakage_liability_clv_nps_and_rfm_are_explained_on_the_page(browser: Browser, server: Server, admin_state: dict, lang: str,
                                                                      words: str) -> None:
    """A line of help a phone shows too (no hover), in the page's language."""
    context = new_context(browser, viewport=PHONE, storage_state=admin_state)
    try:
        page = context.new_page()
        page.goto(f"{server.url}/admin?lang={lang}")
        for key in ("breakage_rate", "outstanding_liability", "historic_clv", "nps"):
            helper = page.locator(f'[data-kpi="{key}"] .help')
            expect(helper).to_be_visible()
            assert len(helper.inner_text().strip()) > 15, key
        expect(page.locator('[data-kpi="breakage_rate"] .help')).to_contain_text(words)
        expect(page.locator("#rfm .help")).to_be_visible()
        member = server.member("member3@example.com")
        page.goto(f"{server.url}/admin/members/{member['id']}?lang={lang}")
        expect(page.locator("#member-rfm .help")).to_be_visible()
    finally:
        context.close()


# --- program goals ----------------------------------------------------------------------------------------------


def test_a_goal_set_in_the_console_shows_on_the_dashboard_against_its_target(admin_page: Page, server: Server) -> None:
    errors = watch_errors(admin_page)
    admin_page.goto(f"{server.url}/admin?lang=en")
    first, last = period_of(admin_page)
    admin_page.get_by_role("link", name="Set goals").click()
    form = admin_page.locator("form#goal-form")
    form.get_by_label("KPI").select_option("purchase_frequency")
    form.get_by_label("Target").fill("3.3")
    form.get_by_label("From", exact=True).fill(first)
    form.get_by_label("To", exact=True).fill(last)
    form.get_by_role("button", name="Save goal").click()
    admin_page.wait_for_url(re.compile(r"/admin/goals"))
    expect(admin_page.locator(".flash")).to_be_visible()

    admin_page.goto(f"{server.url}/admin?lang=en")
    goal = admin_page.locator('[data-goal="purchase_frequency"]')
    expect(goal).to_contain_text("Purchases per active member")
    expect(goal.locator(".target")).to_contain_text("3.3")
    with server.api() as http:
        api = next(g for g in http.get("/v1/analytics/goals").json()["items"] if g["kpi"] == "purchase_frequency")
    assert api["target"] == "3.3" and api["actual"] is not None
    assert float(goal.locator(".actual").get_attribute("data-value")) == pytest.approx(float(api["actual"]))
    expect(goal.locator("progress")).to_have_attribute("value", re.compile(r"^[0-9.]+$"))
    trend = goal.locator("svg.trend")
    expect(trend).to_be_visible()
    assert trend.locator("circle").count() == len(api["trend"])
    assert not errors, errors


def test_a_goal_with_a_rate_over_100_percent_is_refused_beside_the_field(admin_page: Page, server: Server) -> None:
    admin_page.goto(f"{server.url}/admin/goals?lang=ar")
    form = admin_page.locator("form#goal-form")
    form.locator('select[name="kpi"]').select_option("retention_rate")
    form.locator('input[name="target"]').fill("140")
    form.locator('button[type="submit"]').click()
    admin_page.wait_for_load_state()
    expect(form.locator("#err-target")).to_be_visible()
    assert form.locator('input[name="target"]').input_value() == "140"


# --- the checklist of a new program -----------------------------------------------------------------------------


def test_a_new_program_shows_the_first_day_checklist_and_ticks_what_is_done(browser: Browser, server: Server) -> None:
    env = server_env(server.database, _no_mail(), server.url)
    slug = f"fresh-{uuid.uuid4().hex[:6]}"
    made = subprocess.run([WAFA, "tenant", "create", "Fresh Shop", "--currency", "SAR", "--slug", slug, "--json"], env=env,
                          capture_output=True, text=True, check=True)
    key = json.loads(made.stdout)["api_key"]
    email, password = f"owner@{slug}.example", "fresh-password-1"
    subprocess.run([WAFA, "admin", "create-user", email, "--tenant", slug, "--name", "Owner", "--password", password], env=env,
                   capture_output=True, text=True, check=True)
    context = new_context(browser, viewport=PHONE, bypass_csp=True)
    try:
        page = context.new_page()
        page.goto(f"{server.url}/admin/login?lang=en")
        page.locator('input[name="tenant"]').fill(slug)
        page.locator('input[name="email"]').fill(email)
        page.locator('input[name="password"]').fill(password)
        page.locator('form button[type="submit"]').click()
        page.wait_for_url(f"{server.url}/admin")
        checklist = page.locator("#checklist")
        expect(checklist).to_be_visible()
        items = checklist.locator("li")
        assert items.count() == 7
        for name, href in (("points", "/admin/settings"), ("earn", "/admin/settings"), ("window", "/admin/settings"),
                           ("reward", "/admin/rewards/new"), ("rule", "/admin/rules/new"), ("colleague", "/admin/people"),
                           ("till", "/admin/api-keys")):
            item = checklist.locator(f'li[data-step="{name}"]')
            expect(item).to_have_attribute("data-done", "false")
            assert item.locator("a").get_attribute("href") == href
        # The program starts with a return window, and the checklist says how long it is.
        expect(checklist.locator('li[data-step="window"] .help')).to_have_text("Points stay pending 14 days after a purchase.")
        blocking, report = axe_blocking(page)
        assert not blocking, report
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "dashboard-checklist-en-phone.png"), full_page=True)

        # A till key connects the till.
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}) as http:
            assert http.post("/v1/api-keys", json={"name": "Till 1", "scopes": ["events:write"]}).status_code == 201
        page.reload()
        expect(checklist.locator('li[data-step="till"]')).to_have_attribute("data-done", "true")
        expect(checklist.locator('li[data-step="reward"]')).to_have_attribute("data-done", "false")
    finally:
        context.close()


def _no_mail() -> Any:
    from tests.e2e.browser import Mailbox

    return Mailbox(port=1)
