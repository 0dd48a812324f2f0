"""The rules editor of the console in a real browser (Debian's Chromium, Playwright) against `wafa serve`
on a copy of the demo: what a marketing manager relies on when writing a rule.

- The editor shows the fields of the chosen condition or action type only, and refuses (never drops) a
  field the type cannot hold, saying which type to use instead.
- The simulate panel starts with a real basket, previews any date and time (a Ramadan evening, a
  Friday), includes the rule as it is in the editor (saved or not) and says rule by rule why it fires.
- Triggers, types and comparisons read as words in Arabic and English; a refused form keeps every row
  as typed with the problem next to the field; the window is chosen with date pickers; days are
  checkboxes with their labels beside them.
- Tiers, segments, channels and categories are picked from what the program has, with free entry.
- Ending a rule asks first, naming the rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.browser import DESKTOP, PAGE_WIDTH, PHONE, SHOTS, Server, axe_blocking, new_context, number, require_browser, watch_errors

require_browser()
from playwright.sync_api import Browser, Page, expect  # noqa: E402

RIYADH = ZoneInfo("Asia/Riyadh")
RAW_CODES = re.compile(r"\b(purchase|birthday|enrolment|profile_completed|order_amount|nth_purchase|points_per_unit|fixed_points|"
                       r"multiplier|issue_reward|eq|gte|lte|per_member_day)\b")


@pytest.fixture
def page(browser: Browser, server: Server, admin_state: dict) -> Iterator[Page]:
    context = new_context(browser, viewport=DESKTOP, storage_state=admin_state)
    page = context.new_page()
    errors = watch_errors(page)
    yield page
    context.close()
    # A refused form answers 422 on purpose; anything else the browser reports is a fault.
    assert not [e for e in errors if "status of 422" not in e], errors


def rule_id(server: Server, name_en: str) -> int:
    with server.api() as http:
        found = [r for r in http.get("/v1/rules", params={"limit": 100}).json()["items"] if r["definition"]["name_en"] == name_en]
    assert found, f"no rule {name_en!r}"
    return int(found[0]["id"])


def make_rule(server: Server, **spec: Any) -> int:
    body = {"name_en": "Test rule", "name_ar": "قاعدة تجربة", "trigger": "purchase", "status": "active",
            "actions": [{"type": "fixed_points", "points": 10}], **spec}
    with server.api() as http:
        made = http.post("/v1/rules", json=body)
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def rule_count(server: Server) -> int:
    with server.api() as http:
        return len(http.get("/v1/rules", params={"limit": 100}).json()["items"])


def next_weekday(weekday: int, *, after: date | None = None) -> date:
    """The next day (after today in Riyadh, or `after`) falling on `weekday` (0 = Monday)."""
    day = (after or datetime.now(RIYADH).date()) + timedelta(days=1)
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def simulate(page: Page, day: date, at: str = "20:00") -> Any:
    """Choose a moment in the simulate panel and run it; the panel's result."""
    page.locator('input[name="at-date"]').fill(day.isoformat())
    page.locator('input[name="at-time"]').fill(at)
    with page.expect_response(re.compile(r"/admin/rules/simulate$")):
        page.locator("[data-simulate-button]").click()
    result = page.locator("#simulation")
    expect(result.locator("table")).to_be_visible()
    return result


# --- defect 2: only the fields of the chosen type; a field the type cannot hold is refused ----------------


def test_the_editor_shows_only_the_fields_of_the_chosen_type(page: Page, server: Server) -> None:
    page.goto(f"{server.url}/admin/rules/new?lang=en")
    action = page.locator("[data-row]").filter(has=page.locator('select[name="a0-type"]'))
    action.locator('select[name="a0-type"]').select_option("multiplier")
    expect(action.locator('input[name="a0-factor"]')).to_be_visible()
    for name in ("a0-skus", "a0-brands", "a0-points", "a0-per", "a0-percent"):
        expect(action.locator(f'input[name="{name}"]')).to_be_hidden()
    action.locator('select[name="a0-type"]').select_option("points_per_unit")
    expect(action.locator('input[name="a0-skus"]')).to_be_visible()
    expect(action.locator('input[name="a0-per"]')).to_be_visible()
    expect(action.locator('input[name="a0-factor"]')).to_be_hidden()
    condition = page.locator("[data-row]").filter(has=page.locator('select[name="c0-type"]'))
    condition.locator('select[name="c0-type"]').select_option("order_amount")
    expect(condition.locator('input[name="c0-at_least"]')).to_be_visible()
    expect(condition.locator('input[name="c0-skus"]')).to_be_hidden()
    expect(condition.locator('input[name="c0-n"]')).to_be_hidden()


def test_a_field_hidden_by_a_type_change_is_not_sent(page: Page, server: Server) -> None:
    """What is saved is what is seen: categories typed for points per amount, then the type changed to
    a multiplier, do not travel with the form (a multiplier has no items to count)."""
    before = rule_count(server)
    page.goto(f"{server.url}/admin/rules/new?lang=en")
    page.locator('input[name="name_en"]').fill("Hidden fields stay behind")
    page.locator('input[name="name_ar"]').fill("الحقول المخفية")
    page.locator('select[name="a0-type"]').select_option("points_per_unit")
    page.locator('input[name="a0-skus"]').fill("COF-LAT")
    page.locator('select[name="a0-type"]').select_option("multiplier")
    expect(page.locator('input[name="a0-skus"]')).to_be_hidden()
    page.locator('input[name="a0-factor"]').fill("2")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(re.compile(r"/admin/rules/\d+$"))
    with server.api() as http:
        saved = http.get(f"/v1/rules/{page.url.rsplit('/', 1)[1]}").json()
    assert saved["definition"]["actions"] == [{"type": "multiplier", "factor": "2"}]
    assert rule_count(server) == before + 1


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_a_field_the_chosen_action_cannot_hold_is_refused_with_the_type_to_use(
    browser: Browser, server: Server, admin_state: dict, lang: str
) -> None:
    """Without JavaScript every field shows; "categories = coffee" sent with a ×2 multiplier is refused next
    to that field, saying to use "Points per amount spent", and nothing is saved."""
    context = new_context(browser, viewport=DESKTOP, storage_state=admin_state, java_script_enabled=False)
    page = context.new_page()
    try:
        before = rule_count(server)
        page.goto(f"{server.url}/admin/rules/new?lang={lang}")
        page.locator('input[name="name_en"]').fill("Coffee x2")
        page.locator('input[name="name_ar"]').fill("القهوة ×٢")
        page.locator('select[name="a0-type"]').select_option("multiplier")
        page.locator('input[name="a0-points"]').fill("")
        page.locator('input[name="a0-per"]').fill("")
        page.locator('input[name="a0-factor"]').fill("2")
        # The free entry beside the categories of the program (an older editor had a single text field).
        page.locator('input[name="a0-categories-more"], input[name="a0-categories"]:not([type="checkbox"])').first.fill("coffee")
        page.get_by_role("button", name="Save" if lang == "en" else "حفظ", exact=True).click()
        error = page.locator("#err-a0-categories-more")
        expect(error).to_be_visible()
        expect(error).to_contain_text("Points per amount spent" if lang == "en" else "نقاط لكل مبلغ مُنفق")
        expect(page.locator('input[name="a0-categories-more"]')).to_have_value("coffee")
        expect(page.locator('input[name="a0-factor"]')).to_have_value("2")
        assert rule_count(server) == before
    finally:
        context.close()


# --- defect 3: the simulate panel ------------------------------------------------------------------------


def test_the_simulate_panel_starts_with_a_valid_basket_and_says_why_each_rule_fires(page: Page, server: Server) -> None:
    weekend = rule_id(server, "Weekend double points")
    page.goto(f"{server.url}/admin/rules/{weekend}?lang=en")
    basket = page.locator('textarea[name="items"]').input_value()
    assert "built-in" not in basket and basket.strip()
    for line in basket.strip().splitlines():
        sku, _category, quantity, price = (part.strip() for part in line.split(","))
        assert sku and int(quantity) >= 1 and float(price) >= 0, line
    friday = simulate(page, next_weekday(4))
    mine = friday.locator("tr[data-this-rule]")
    expect(mine).to_have_attribute("data-outcome", "applies")
    base = number(friday.locator("tbody tr").first.locator("td").nth(1).inner_text())
    assert number(mine.locator("td").nth(1).inner_text()) == base > 0  # ×2: one more base
    monday = simulate(page, next_weekday(0))
    mine = monday.locator("tr[data-this-rule]")
    expect(mine).to_have_attribute("data-outcome", "day")
    expect(mine).to_contain_text("Not on Monday")
    expect(mine).to_contain_text("Friday")
    # Every other rule says why too.
    for row in monday.locator("tbody tr[data-outcome]").all():
        assert row.locator("td").nth(2).inner_text().strip(), row.inner_text()


def test_the_simulation_uses_the_rule_as_edited_without_saving_it(page: Page, server: Server) -> None:
    """Arabic page: the factor changed to 3 in the editor (not saved) gives two more bases; the reasons
    are in Arabic; the saved rule is unchanged."""
    weekend = rule_id(server, "Weekend double points")
    page.goto(f"{server.url}/admin/rules/{weekend}?lang=ar")
    page.locator('input[name="a0-factor"]').fill("3")
    result = simulate(page, next_weekday(5))
    base = number(result.locator("tbody tr").first.locator("td").nth(1).inner_text())
    mine = result.locator("tr[data-this-rule]")
    assert number(mine.locator("td").nth(1).inner_text()) == 2 * base
    expect(mine).to_contain_text("كما في المحرر")
    monday = simulate(page, next_weekday(0))
    expect(monday.locator("tr[data-this-rule]")).to_contain_text("ليس يوم الاثنين")
    with server.api() as http:
        assert http.get(f"/v1/rules/{weekend}").json()["definition"]["actions"] == [{"type": "multiplier", "factor": "2"}]


def test_a_ramadan_evening_rule_is_previewed_before_it_is_saved(page: Page, server: Server) -> None:
    """A new rule for Ramadan evenings, chosen with the date pickers in Riyadh time: it applies on a
    Ramadan evening, says "not started" before Ramadan and "outside its hours" at noon; saved, its window
    is the one chosen."""
    page.goto(f"{server.url}/admin/rules/new?lang=en")
    page.locator('input[name="name_en"]').fill("Ramadan evenings")
    page.locator('input[name="name_ar"]').fill("أمسيات رمضان")
    page.locator('select[name="a0-type"]').select_option("fixed_points")
    page.locator('input[name="a0-points"]').fill("77")
    page.locator('input[name="starts_at-date"]').fill("2027-02-08")
    page.locator('input[name="ends_at-date"]').fill("2027-03-09")
    page.locator('input[name="hours_from"]').fill("19:00")
    page.locator('input[name="hours_to"]').fill("23:30")
    evening = simulate(page, date(2027, 2, 15), "20:30")
    mine = evening.locator("tr[data-this-rule]")
    expect(mine).to_have_attribute("data-outcome", "applies")
    assert number(mine.locator("td").nth(1).inner_text()) == 77
    expect(mine).to_contain_text("Not saved yet")
    expect(simulate(page, date(2027, 1, 20), "20:30").locator("tr[data-this-rule]")).to_contain_text("Not started yet")
    expect(simulate(page, date(2027, 2, 15), "12:00").locator("tr[data-this-rule]")).to_contain_text("Outside its hours")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(re.compile(r"/admin/rules/\d+$"))
    with server.api() as http:
        window = http.get(f"/v1/rules/{page.url.rsplit('/', 1)[1]}").json()["definition"]["window"]
    assert window["starts_at"].startswith("2027-02-08T00:00:00") and window["starts_at"].endswith("+03:00")
    assert window["ends_at"].startswith("2027-03-10T00:00:00")  # to the end of the chosen day
    assert window["hours"] == {"from": "19:00:00", "to": "23:30:00"}
    expect(page.locator('input[name="starts_at-date"]')).to_have_value("2027-02-08")


# --- defect 9: words, not codes ----------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_triggers_types_and_comparisons_read_as_words(page: Page, server: Server, lang: str) -> None:
    page.goto(f"{server.url}/admin/rules?lang={lang}")
    # The rule's own name may hold any word ("First purchase bonus"): the other columns are the program's.
    listed = " ".join(page.locator("main table tbody tr td:not(:first-child)").all_inner_texts())
    assert not RAW_CODES.search(listed), listed
    expect(page.locator("main table")).to_contain_text("عملية شراء" if lang == "ar" else "Purchase")
    page.goto(f"{server.url}/admin/rules/new?lang={lang}")
    page.locator('select[name="c0-type"]').select_option("event_attribute")
    for select in ("c0-op", "trigger", "c0-type", "a0-type"):
        options = page.locator(f'select[name="{select}"] option').evaluate_all("els => els.map(e => [e.value, e.textContent.trim()])")
        # "contains" is the English word for its code; every other option reads differently from its code.
        assert options and all(text and (text != value or value == "contains") and "_" not in text for value, text in options), options


# --- defect 7: what was typed is kept, problems next to the fields, pickers for dates and days ------------


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_a_refused_rule_keeps_every_row_as_typed_with_the_problem_beside_the_field(page: Page, server: Server, lang: str) -> None:
    before = rule_count(server)
    page.goto(f"{server.url}/admin/rules/new?lang={lang}")
    page.locator('input[name="name_en"]').fill("Big Fridays")
    page.locator('input[name="name_ar"]').fill("جمعة كبيرة")
    page.locator('select[name="c0-type"]').select_option("order_amount")
    page.locator('input[name="c0-at_least"]').fill("two hundred")
    page.locator('select[name="c1-type"]').select_option("channel")
    page.locator('input[name="c1-channels"][value="app"]').check()
    page.locator('select[name="a0-type"]').select_option("fixed_points")
    page.locator('input[name="a0-points"]').fill("50")
    page.locator('select[name="a1-type"]').select_option("cashback")
    page.locator('input[name="a1-percent"]').fill("150")
    page.locator('input[name="days"][value="4"]').check()
    page.locator('input[name="starts_at-date"]').fill("2027-01-01")
    page.locator('input[name="hours_from"]').fill("18:00")
    page.get_by_role("button", name="Save" if lang == "en" else "حفظ", exact=True).click()
    expect(page.locator("div.problem[role=alert]")).to_be_visible()
    assert rule_count(server) == before
    expect(page.locator('input[name="c0-at_least"]')).to_have_value("two hundred")
    expect(page.locator('input[name="c1-channels"][value="app"]')).to_be_checked()
    expect(page.locator('input[name="a0-points"]')).to_have_value("50")
    expect(page.locator('input[name="a1-percent"]')).to_have_value("150")
    expect(page.locator('input[name="days"][value="4"]')).to_be_checked()
    expect(page.locator('input[name="starts_at-date"]')).to_have_value("2027-01-01")
    expect(page.locator('select[name="a1-type"]')).to_have_value("cashback")
    expected = {"en": ("Enter an amount, such as 12.50.", "Enter 100 or less.", "Give both times, or neither."),
                "ar": ("أدخل مبلغًا", "أدخل 100 أو أقل", "أدخل الوقتين")}[lang]
    for field, text in zip(("c0-at_least", "a1-percent", "hours_to"), expected, strict=True):
        expect(page.locator(f"#err-{field}")).to_contain_text(text)
        expect(page.locator(f'[name="{field}"]')).to_have_attribute("aria-invalid", "true")
    shown = page.locator("main").inner_text()
    assert "Input should" not in shown and "\\d" not in shown and "pattern" not in shown
    # The days are checkboxes with their labels beside them (on the same line), not above.
    friday = page.locator('input[name="days"][value="4"]')
    label = page.locator("label.check").filter(has=friday).locator("span")
    box, text_box = friday.bounding_box(), label.bounding_box()
    assert box and text_box and abs((box["y"] + box["height"] / 2) - (text_box["y"] + text_box["height"] / 2)) < box["height"]
    assert page.locator('input[name="starts_at"], input[placeholder*="T00:00"]').count() == 0


# --- item 5: pickers offer what exists, with free entry ----------------------------------------------------


def test_tiers_segments_channels_and_categories_are_picked_from_what_exists(page: Page, server: Server) -> None:
    page.goto(f"{server.url}/admin/rules/new?lang=ar")
    page.locator('select[name="c0-type"]').select_option("tier")
    tiers = page.locator('input[name="c0-tiers"]')
    assert sorted(tiers.evaluate_all("els => els.map(e => e.value)")) == ["gold", "platinum", "silver"]
    expect(page.locator("[data-row]").first).to_contain_text("ذهبي")
    page.locator('input[name="c0-tiers"][value="gold"]').check()
    page.locator('select[name="c1-type"]').select_option("segment")
    segments = page.locator('input[name="c1-segments"]').evaluate_all("els => els.map(e => e.value)")
    assert "champions" in segments and "abc_a" in segments
    page.locator('input[name="c1-segments"][value="champions"]').check()
    page.locator('select[name="c2-type"]').select_option("channel")
    channels = page.locator('input[name="c2-channels"]').evaluate_all("els => els.map(e => e.value)")
    assert {"app", "store", "web"} <= set(channels)
    page.locator('input[name="c2-channels"][value="app"]').check()
    page.locator('input[name="c2-channels-more"]').fill("kiosk")
    page.locator('select[name="a0-type"]').select_option("points_per_unit")
    categories = page.locator('input[name="a0-categories"]').evaluate_all("els => els.map(e => e.value)")
    assert "coffee" in categories
    page.locator('input[name="a0-categories"][value="coffee"]').check()
    page.locator('input[name="a0-categories-more"]').fill("new-blend")
    page.locator('input[name="a0-points"]').fill("2")
    page.locator('input[name="name_en"]').fill("Gold champions coffee")
    page.locator('input[name="name_ar"]').fill("قهوة الأبطال الذهبيين")
    page.get_by_role("button", name="حفظ", exact=True).click()
    page.wait_for_url(re.compile(r"/admin/rules/\d+$"))
    with server.api() as http:
        spec = http.get(f"/v1/rules/{page.url.rsplit('/', 1)[1]}").json()["definition"]
    assert [c["any_of"] for c in spec["conditions"]] == [["gold"], ["champions"], ["app", "kiosk"]]
    assert spec["actions"][0]["match"]["categories"] == ["coffee", "new-blend"]
    # Opened again, the rule shows what it holds, the new names included.
    expect(page.locator('input[name="c0-tiers"][value="gold"]')).to_be_checked()
    expect(page.locator('input[name="a0-categories"][value="new-blend"]')).to_be_checked()


# --- defect 11: ending a rule asks first, naming it --------------------------------------------------------


def test_ending_a_rule_asks_first_and_names_the_rule(page: Page, server: Server) -> None:
    made = make_rule(server, name_en="Summer dates", name_ar="تمور الصيف")
    page.goto(f"{server.url}/admin/rules/{made}?lang=ar")
    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.locator('button[name="status"][value="ended"]').click()
    page.wait_for_timeout(300)
    assert asked and "تمور الصيف" in asked[0]
    with server.api() as http:
        assert http.get(f"/v1/rules/{made}").json()["status"] == "active"
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.locator('button[name="status"][value="ended"]').click()
    page.wait_for_url(re.compile(rf"/admin/rules/{made}\?done=ended"))
    with server.api() as http:
        assert http.get(f"/v1/rules/{made}").json()["status"] == "ended"


# --- accessibility, phone width, screenshots --------------------------------------------------------------


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_the_rule_pages_are_accessible_fit_a_phone_and_are_photographed(browser: Browser, server: Server, admin_state: dict, lang: str) -> None:
    weekend = rule_id(server, "Weekend double points")
    SHOTS.mkdir(parents=True, exist_ok=True)
    for size, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        context = new_context(browser, viewport=viewport, storage_state=admin_state, bypass_csp=True)
        page = context.new_page()
        try:
            for name, path in (("rules", "/admin/rules"), ("rule-edit", f"/admin/rules/{weekend}"), ("rule-new", "/admin/rules/new")):
                page.goto(f"{server.url}{path}?lang={lang}")
                if name == "rule-edit":
                    simulate(page, next_weekday(4))
                blocking, report = axe_blocking(page)
                assert not blocking, f"{name} ({lang}, {size}):\n{report}"
                if size == "phone":
                    assert page.evaluate(PAGE_WIDTH) <= PHONE["width"], f"{name} ({lang}) is wider than the phone"
                page.screenshot(path=str(SHOTS / f"{name}-{lang}-{size}.png"), full_page=True)
        finally:
            context.close()
