"""The console's rules editor through its handlers (no browser), on SQLite and PostgreSQL: a field the
chosen type cannot hold is refused, never dropped; a refused form comes back as typed with the problem
next to the field in the page's language; the window is read from date pickers in the program's time
zone; pickers offer what exists; the simulate panel previews any moment with the rule as edited and
says why each rule fires or not; ending a rule asks first, naming it."""

from __future__ import annotations

import html as html_text
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.web.conftest import Browser, csrf_of, make_admin, signed_in
from tests.conftest import TenantCtx, make_member, make_tenant

RAMADAN_EVENING = {"name_en": "Ramadan evenings", "name_ar": "أمسيات رمضان", "trigger": "purchase", "status": "active",
                   "actions": [{"type": "fixed_points", "points": 77}],
                   "window": {"starts_at": "2027-02-08T00:00:00+03:00", "ends_at": "2027-03-10T00:00:00+03:00",
                              "hours": {"from": "19:00", "to": "23:30"}}}


@pytest.fixture
def tenant(factory, clock) -> TenantCtx:  # type: ignore[no-untyped-def]
    """A program in Riyadh time, as the demo's."""
    return make_tenant(factory, clock.now(), timezone="Asia/Riyadh")


@pytest.fixture
def admin(browser: Browser, factory, clock, tenant) -> TestClient:  # type: ignore[no-untyped-def]
    return signed_in(browser(), tenant.slug, make_admin(factory, tenant.id, clock.now()))


def post(admin: TestClient, path: str, data: dict, page: str = "/admin/rules/new", **kw: Any):  # type: ignore[no-untyped-def]
    token = csrf_of(admin.get(page).text)
    return admin.post(path, data={**data, "csrf": token}, follow_redirects=False, **kw)


def form(**fields: Any) -> dict:
    """An editor's submission: names, a purchase trigger, two rows, plus `fields`."""
    return {"rule_id": "", "rows": "2", "name_en": "Coffee x2", "name_ar": "القهوة ×٢", "trigger": "purchase", "stackable": "on", **fields}


def count(client: TestClient) -> int:
    return len(client.get("/v1/rules").json()["items"])


def error_of(html: str, name: str) -> str:
    found = re.search(rf'<span class="field-error" id="err-{re.escape(name)}">([^<]*)</span>', html)
    assert found, f"no error next to {name}"
    return html_text.unescape(found.group(1))


def value_of(html: str, name: str) -> str:
    found = re.search(rf'name="{re.escape(name)}" type="[a-z]+" value="([^"]*)"', html)
    assert found, f"no field {name}"
    return found.group(1)


# --- a field the type cannot hold is refused ----------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_save_multiplier_with_categories_refused_naming_the_type_to_use(admin: TestClient, client: TestClient, lang: str) -> None:
    before = count(client)
    answer = post(admin, f"/admin/rules/save?lang={lang}", form(**{"a0-type": "multiplier", "a0-factor": "2", "a0-categories-more": "coffee"}))
    assert answer.status_code == 422
    said = error_of(answer.text, "a0-categories-more")
    assert ("Points per amount spent" in said and "1 SAR" in said) if lang == "en" else "نقاط لكل مبلغ مُنفق" in said
    assert value_of(answer.text, "a0-categories-more") == "coffee" and value_of(answer.text, "a0-factor") == "2"
    assert count(client) == before


def test_save_fixed_points_with_a_per_amount_refused_next_to_the_field(admin: TestClient, client: TestClient) -> None:
    answer = post(admin, "/admin/rules/save?lang=en", form(**{"a0-type": "fixed_points", "a0-points": "5", "a0-per": "10"}))
    assert answer.status_code == 422 and "does not use this field" in error_of(answer.text, "a0-per")
    assert count(client) == 0


def test_save_a_row_with_fields_but_no_type_refused(admin: TestClient, client: TestClient) -> None:
    answer = post(admin, "/admin/rules/save?lang=en", form(**{"c0-type": "", "c0-at_least": "100", "a0-type": "fixed_points", "a0-points": "5"}))
    assert answer.status_code == 422 and "Choose a type" in error_of(answer.text, "c0-type")


def test_save_points_per_amount_on_coffee_kept_whole(admin: TestClient, client: TestClient) -> None:
    answer = post(admin, "/admin/rules/save", form(**{"a0-type": "points_per_unit", "a0-points": "1", "a0-per": "1",
                                                        "a0-categories": "coffee", "a0-categories-more": "tea, dates"}))
    assert answer.status_code == 303
    [rule] = client.get("/v1/rules").json()["items"]
    assert rule["status"] == "draft"
    assert rule["definition"]["actions"] == [{"type": "points_per_unit", "points": "1", "per": "1",
                                              "match": {"skus": None, "categories": ["coffee", "tea", "dates"], "brands": None,
                                                        "include_non_earning": False}}]


# --- what was typed is kept, problems in words next to the field -------------------------------------------


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_save_refused_keeps_every_row_and_says_what_to_fix_in_the_page_language(admin: TestClient, client: TestClient, lang: str) -> None:
    answer = post(admin, f"/admin/rules/save?lang={lang}", form(**{
        "rows": "3", "c0-type": "order_amount", "c0-at_least": "two hundred", "c1-type": "channel", "c1-channels": "app",
        "a0-type": "fixed_points", "a0-points": "50", "a1-type": "cashback", "a1-percent": "150", "a2-type": "stamps", "a2-count": "x",
        "days": ["4", "5"], "hours_from": "18:00", "starts_at-date": "2027-01-01", "ends_at-date": "2026-12-01",
    }))
    assert answer.status_code == 422
    html = answer.text
    assert value_of(html, "c0-at_least") == "two hundred" and value_of(html, "a0-points") == "50" and value_of(html, "a1-percent") == "150"
    assert re.search(r'name="c1-channels" value="app" checked', html)
    assert re.search(r'name="days" value="4" checked', html) and re.search(r'name="days" value="5" checked', html)
    assert 'name="starts_at-date" value="2027-01-01"' in html
    expected = {"en": {"c0-at_least": "Enter an amount", "a1-percent": "Enter 100 or less", "a2-count": "Enter a whole number",
                       "hours_to": "Give both times", "a2-card": "This field is required"},
                "ar": {"c0-at_least": "أدخل مبلغًا", "a1-percent": "أدخل 100 أو أقل", "a2-count": "أدخل عددًا صحيحًا",
                       "hours_to": "أدخل الوقتين", "a2-card": "هذا الحقل مطلوب"}}[lang]
    for name, text in expected.items():
        assert text in error_of(html, name), (name, error_of(html, name))
    assert "Input should" not in html and "pattern" not in html.lower().replace('pattern="', "")
    assert count(client) == 0


def test_save_window_read_from_date_pickers_in_the_program_time_zone(admin: TestClient, client: TestClient) -> None:
    answer = post(admin, "/admin/rules/save", form(**{
        "a0-type": "fixed_points", "a0-points": "77", "starts_at-date": "2027-02-08", "ends_at-date": "2027-03-09",
        "hours_from": "19:00", "hours_to": "23:30", "days": ["4"],
    }))
    assert answer.status_code == 303
    window = client.get("/v1/rules").json()["items"][0]["definition"]["window"]
    assert window["starts_at"] == "2027-02-08T00:00:00+03:00" and window["ends_at"] == "2027-03-10T00:00:00+03:00"
    assert window["days_of_week"] == [4] and window["hours"] == {"from": "19:00:00", "to": "23:30:00"}
    page = admin.get(answer.headers["location"] + "?lang=en").text
    assert 'name="starts_at-date" value="2027-02-08"' in page and 'name="starts_at-time" value="00:00"' in page


def test_save_unknown_tier_key_refused_next_to_the_tier_picker(admin: TestClient, client: TestClient) -> None:
    answer = post(admin, "/admin/rules/save?lang=en", form(**{"c0-type": "tier", "c0-tiers": "ذهبي", "a0-type": "fixed_points", "a0-points": "5"}))
    assert answer.status_code == 422 and "not one of the program's" in error_of(answer.text, "c0-tiers")
    assert count(client) == 0


def test_save_json_naming_an_unknown_segment_refused_at_the_json(admin: TestClient, client: TestClient) -> None:
    rule = {"name_en": "x", "name_ar": "س", "trigger": "purchase", "actions": [{"type": "fixed_points", "points": 5}],
            "conditions": [{"type": "any", "conditions": [{"type": "segment", "any_of": ["الأبطال"]}]}]}
    import json

    answer = post(admin, "/admin/rules/save?lang=en", {"rule_id": "", "use_json": "on", "definition_json": json.dumps(rule, ensure_ascii=False)})
    assert answer.status_code == 422 and "not one of the program's" in error_of(answer.text, "definition_json")
    assert count(client) == 0


def test_marketer_saves_a_draft_but_cannot_create_an_active_rule(browser: Browser, factory, clock, tenant, client: TestClient) -> None:  # type: ignore[no-untyped-def]
    marketer = signed_in(browser(), tenant.slug, make_admin(factory, tenant.id, clock.now(), role="marketer"))
    refused = post(marketer, "/admin/rules/save?lang=en", form(**{"status": "active", "a0-type": "fixed_points", "a0-points": "5"}))
    assert refused.status_code == 422 and "Only owners and admins" in refused.text and count(client) == 0
    assert post(marketer, "/admin/rules/save", form(**{"status": "draft", "a0-type": "fixed_points", "a0-points": "5"})).status_code == 303


def test_rule_with_nested_groups_opens_as_json_and_saves_whole(admin: TestClient, client: TestClient) -> None:
    nested = {"name_en": "Either", "name_ar": "أيّ", "trigger": "purchase", "status": "draft", "actions": [{"type": "fixed_points", "points": 5}],
              "conditions": [{"type": "any", "conditions": [{"type": "channel", "any_of": ["app"]}, {"type": "store", "any_of": ["RUH-01"]}]}]}
    made = client.post("/v1/rules", json=nested).json()["id"]
    page = admin.get(f"/admin/rules/{made}?lang=en").text
    assert 'name="use_json" value="on"' in page and 'name="c0-type"' not in page
    json_text = re.search(r'<textarea id="definition_json"[^>]*>([^<]*)</textarea>', page).group(1)  # type: ignore[union-attr]
    import html as html_lib

    saved = post(admin, "/admin/rules/save",
                 {"rule_id": str(made), "use_json": "on", "definition_json": html_lib.unescape(json_text).replace("أيّ", "أيّ قاعدة")},
                 page=f"/admin/rules/{made}")
    assert saved.status_code == 303
    assert client.get(f"/v1/rules/{made}").json()["definition"]["conditions"] == nested["conditions"]


# --- pickers and words ------------------------------------------------------------------------------------


def test_editor_offers_existing_tiers_segments_channels_and_categories(admin: TestClient, client: TestClient, factory, clock, tenant) -> None:  # type: ignore[no-untyped-def]
    client.put("/v1/tiers/policy", json={"metric": "points_earned", "window": "rolling", "months": 12})
    assert client.post("/v1/tiers", json={"key": "gold", "name_en": "Gold", "name_ar": "ذهبي", "rank": 2, "threshold": "5000"}).status_code == 201
    member = make_member(factory, tenant.id, clock.now())
    event = {"type": "purchase", "order_id": "o-1", "amount": "30.00", "currency": "SAR", "member": {"id": member}, "channel": "kiosk",
             "store": "JED-07", "items": [{"sku": "COF-1", "category": "coffee", "brand": "Roastery", "quantity": 2, "unit_price": "15.00"}]}
    assert client.post("/v1/events", json=event, headers={"Idempotency-Key": "o-1"}).status_code in (200, 201)
    page = admin.get("/admin/rules/new?lang=ar").text
    for name, value in (("c0-tiers", "gold"), ("c0-segments", "champions"), ("c0-segments", "abc_a"), ("c0-channels", "kiosk"),
                        ("c0-stores", "JED-07"), ("c0-categories", "coffee"), ("a0-categories", "coffee")):
        assert f'name="{name}" value="{value}"' in page, (name, value)
    assert "ذهبي" in page and 'name="c0-channels-more"' in page
    assert "COF-1, coffee, 2, 15.00" in page and "built-in" not in page  # the example basket is the latest purchase


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_rule_list_and_editor_name_triggers_types_and_operators_in_words(admin: TestClient, client: TestClient, lang: str) -> None:
    client.post("/v1/rules", json={"name_en": "Weekend", "name_ar": "عطلة", "trigger": "birthday", "actions": [{"type": "multiplier", "factor": "2"}],
                                   "conditions": [{"type": "order_amount", "at_least": "10"}]})
    listed = admin.get(f"/admin/rules?lang={lang}").text
    table = listed[listed.index("<table"):listed.index("</table>")]
    visible = re.sub(r"<[^>]+>", " ", table)
    assert not re.search(r"\b(birthday|multiplier|order_amount)\b", visible), visible
    assert ("عيد الميلاد" if lang == "ar" else "Birthday") in visible
    editor = admin.get(f"/admin/rules/new?lang={lang}").text
    options = re.findall(r'<option value="(eq|gte|lte|in)"[^>]*>([^<]*)</option>', editor)
    assert options and all(code != text for code, text in options)


def test_end_button_asks_first_naming_the_rule(admin: TestClient, client: TestClient) -> None:
    made = client.post("/v1/rules", json={**RAMADAN_EVENING}).json()["id"]
    page = admin.get(f"/admin/rules/{made}?lang=ar").text
    found = re.search(
        r'<form method="post" action="/admin/rules/\d+/status" data-confirm="([^"]*)">\s*<input[^>]*>\s*<button name="status" value="ended"', page
    )
    assert found and "أمسيات رمضان" in found.group(1)
    ended = post(admin, f"/admin/rules/{made}/status", {"status": "ended"}, page=f"/admin/rules/{made}")
    assert ended.status_code == 303 and client.get(f"/v1/rules/{made}").json()["status"] == "ended"


# --- the simulate panel ----------------------------------------------------------------------------------


def simulated(admin: TestClient, data: dict, rule_id: int | None = None, lang: str = "en") -> str:
    page = f"/admin/rules/{rule_id}" if rule_id else "/admin/rules/new"
    answer = post(admin, f"/admin/rules/simulate?lang={lang}", {"rule_id": str(rule_id or ""), "currency": "SAR",
                                                               "items": "COF-1, coffee, 2, 15.00", **data}, page=page, headers={"HX-Request": "true"})
    assert answer.status_code == 200, answer.text
    return answer.text


def this_rule(html: str) -> str:
    found = re.search(r'<tr data-outcome="([a-z_]+)" class="this-rule" data-this-rule>(.*?)</tr>', html, re.DOTALL)
    assert found, html
    return found.group(1) + " " + re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(2)))


def test_simulate_previews_a_coming_ramadan_evening(admin: TestClient, client: TestClient) -> None:
    made = client.post("/v1/rules", json=RAMADAN_EVENING).json()["id"]
    editor = {"rows": "1", "name_en": "Ramadan evenings", "name_ar": "أمسيات رمضان", "trigger": "purchase", "stackable": "on",
              "a0-type": "fixed_points", "a0-points": "77", "starts_at-date": "2027-02-08", "ends_at-date": "2027-03-09",
              "hours_from": "19:00", "hours_to": "23:30"}
    evening = this_rule(simulated(admin, {**editor, "at-date": "2027-02-15", "at-time": "20:30"}, made))
    assert evening.startswith("applies") and " 77 " in evening
    assert "Not started yet" in this_rule(simulated(admin, {**editor, "at-date": "2027-01-20", "at-time": "20:30"}, made))
    assert "Outside its hours" in this_rule(simulated(admin, {**editor, "at-date": "2027-02-15", "at-time": "12:00"}, made))
    assert "Over" in this_rule(simulated(admin, {**editor, "at-date": "2027-03-12", "at-time": "20:30"}, made))


def test_simulate_uses_the_editor_not_the_saved_version(admin: TestClient, client: TestClient) -> None:
    made = client.post("/v1/rules", json={"name_en": "Double", "name_ar": "مضاعفة", "trigger": "purchase", "status": "active",
                                          "actions": [{"type": "multiplier", "factor": "2"}]}).json()["id"]
    editor = {"rows": "1", "name_en": "Double", "name_ar": "مضاعفة", "trigger": "purchase", "stackable": "on",
              "a0-type": "multiplier", "a0-factor": "3"}
    row = this_rule(simulated(admin, editor, made))
    assert row.startswith("applies") and " 60 " in row  # base 30 points, ×3 adds two bases
    assert client.get(f"/v1/rules/{made}").json()["definition"]["actions"] == [{"type": "multiplier", "factor": "2"}]


def test_simulate_a_new_unsaved_rule_and_why_it_does_not_fire_in_arabic(admin: TestClient) -> None:
    editor = {"rows": "1", "name_en": "", "name_ar": "", "trigger": "purchase", "stackable": "on", "c0-type": "channel", "c0-channels": "app",
              "a0-type": "fixed_points", "a0-points": "40"}
    row = this_rule(simulated(admin, {**editor, "channel": "store"}, lang="ar"))
    assert row.startswith("condition") and "الشرط 1 غير متحقق" in row and "القناة" in row
    assert this_rule(simulated(admin, {**editor, "channel": "app"})).startswith("applies")


def test_simulate_incomplete_editor_leaves_the_rule_out_and_says_so(admin: TestClient) -> None:
    editor = {"rows": "1", "name_en": "x", "name_ar": "س", "trigger": "purchase", "a0-type": "fixed_points", "a0-points": "x"}
    row = this_rule(simulated(admin, editor))
    assert row.startswith("incomplete") and "Left out" in row


def test_simulate_bad_basket_line_said_in_words(admin: TestClient) -> None:
    html = simulated(admin, {"items": "COF-1, coffee, two, 15"}, lang="ar")
    assert 'role="alert"' in html and "السطر 1" in html


def test_simulate_unknown_member_said_in_words(admin: TestClient) -> None:
    html = simulated(admin, {"member": "nobody@example.com"})
    assert "No member matches this." in html


def test_simulate_without_javascript_shows_the_editor_as_filled_in(admin: TestClient) -> None:
    data = {"rule_id": "", "rows": "1", "name_en": "Draft", "name_ar": "مسودة", "trigger": "purchase", "stackable": "on", "a0-type": "fixed_points",
            "a0-points": "40", "currency": "SAR", "items": "COF-1, coffee, 2, 15.00", "at-date": "2026-03-06", "at-time": "20:00"}
    answer = post(admin, "/admin/rules/simulate?lang=en", data)
    assert answer.status_code == 200
    assert value_of(answer.text, "a0-points") == "40" and value_of(answer.text, "name_en") == "Draft"
    assert "data-this-rule" in answer.text and 'name="at-date" value="2026-03-06"' in answer.text
