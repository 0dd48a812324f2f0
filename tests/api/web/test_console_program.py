"""The program editors' forms (tiers, tier policy, paid plans, settings) through a browser-like client,
on both databases: an editor opens with the current values, a save changes only what the person changed,
a refused form keeps what was typed and says why next to the field in the page's language, benefits and
the organisation's name read in the page's language, and each change leaves an audit entry."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.web.conftest import Browser, csrf_of, make_admin, signed_in
from wafa.db import unit_of_work
from wafa.tenants import audit

GOLD = {"key": "gold", "name_en": "Gold", "name_ar": "ذهبي", "rank": 2, "threshold": "5000",
        "benefits": {"earn_multiplier": "1.25", "welcome_points": 200, "flags": ["free_delivery", "vip_line"]}}
SILVER = {"key": "silver", "name_en": "Silver", "name_ar": "فضي", "rank": 1, "threshold": "1000"}
PLUS = {"key": "plus", "name_en": "Plus", "name_ar": "بلس", "interval": "month", "price": "29.00", "trial_days": 14,
        "benefits": {"earn_multiplier": "2", "monthly_points": 100, "flags": ["free_delivery"]}}


@pytest.fixture
def admin(browser: Browser, factory, clock, tenant) -> TestClient:  # type: ignore[no-untyped-def]
    return signed_in(browser(), tenant.slug, make_admin(factory, tenant.id, clock.now()))


@pytest.fixture
def ladder(client: TestClient) -> dict[str, int]:
    """Silver and Gold (×1.25, 200 welcome points, free delivery and a flag set through the API); their ids."""
    ids = {}
    for spec in (SILVER, GOLD):
        made = client.post("/v1/tiers", json=spec)
        assert made.status_code == 201, made.text
        ids[spec["key"]] = made.json()["id"]
    return ids


@pytest.fixture
def plus(client: TestClient) -> int:
    made = client.post("/v1/membership-plans", json=PLUS)
    assert made.status_code == 201, made.text
    return made.json()["id"]


def form_of(html: str, action: str) -> dict[str, Any]:
    """What the form posting to `action` would send untouched: its inputs' values, ticked boxes, chosen options."""
    found = re.search(rf'<form method="post" action="{re.escape(action)}"[^>]*>(.*?)</form>', html, re.DOTALL)
    assert found, f"no form posting to {action}"
    body = found.group(1)
    data: dict[str, Any] = {}

    def put(name: str, value: str) -> None:
        if name in data:
            data[name] = [*([data[name]] if isinstance(data[name], str) else data[name]), value]
        else:
            data[name] = value

    for tag in re.findall(r"<input\b[^>]*>", body):
        name = re.search(r'name="([^"]+)"', tag)
        if not name:
            continue
        value = re.search(r'value="([^"]*)"', tag)
        if 'type="checkbox"' in tag and " checked" not in tag:
            continue
        put(name.group(1), unescape(value.group(1)) if value else ("on" if 'type="checkbox"' in tag else ""))
    for name, options in re.findall(r'<select name="([^"]+)"[^>]*>(.*?)</select>', body, re.DOTALL):
        chosen = re.search(r'<option value="([^"]*)" selected', options) or re.search(r'<option value="([^"]*)"', options)
        if chosen:
            put(name, unescape(chosen.group(1)))
    return data


def unescape(text: str) -> str:
    return text.replace("&#34;", '"').replace("&#39;", "'").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def send(admin: TestClient, action: str, changes: dict[str, Any], page: str | None = None, lang: str = "en"):  # type: ignore[no-untyped-def]
    """Open the page, change some fields of the form posting to `action`, send it (not followed)."""
    html = admin.get(page or action, params={"lang": lang}).text
    data = {**form_of(html, action), **changes}
    data["csrf"] = csrf_of(html)
    return admin.post(action, data=data, follow_redirects=False)


def error_of(html: str, name: str) -> str:
    found = re.search(rf'<span class="field-error" id="err-{re.escape(name)}">([^<]*)</span>', html)
    assert found, f"no message next to {name}"
    return found.group(1)


def value_of(html: str, name: str) -> str:
    found = re.search(rf'<input name="{re.escape(name)}" value="([^"]*)"', html)
    assert found, f"no field {name}"
    return unescape(found.group(1))


def tier(client: TestClient, key: str) -> dict[str, Any]:
    return next(t for t in client.get("/v1/tiers").json()["items"] if t["key"] == key)


def actions(factory, tenant_id: int) -> list[tuple[str, dict]]:  # type: ignore[no-untyped-def]
    with unit_of_work(factory) as session:
        return [(row.action, row.details) for row in audit.list_(session, tenant_id=tenant_id, limit=100)]


# --- tiers ------------------------------------------------------------------------------------------


def test_a_tier_editor_opens_with_the_tier_values(admin: TestClient, ladder: dict[str, int]) -> None:
    data = form_of(admin.get(f"/admin/tiers/{ladder['gold']}").text, f"/admin/tiers/{ladder['gold']}")
    assert (data["name_en"], data["name_ar"], data["threshold"], data["earn_multiplier"], data["welcome_points"]) == (
        "Gold", "ذهبي", "5000", "1.25", "200")
    assert data["flags"] == ["free_delivery", "vip_line"]


def test_saving_one_field_of_a_tier_keeps_every_other(admin: TestClient, client: TestClient, ladder: dict[str, int], factory, tenant) -> None:  # type: ignore[no-untyped-def]
    saved = send(admin, f"/admin/tiers/{ladder['gold']}", {"welcome_points": "300"})
    assert saved.status_code == 303, saved.text
    after = tier(client, "gold")
    assert after["benefits"] == {"earn_multiplier": "1.25", "welcome_points": 300, "flags": ["free_delivery", "vip_line"]}
    assert (after["name"], after["threshold"]) == ({"en": "Gold", "ar": "ذهبي"}, "5000")
    action, details = actions(factory, tenant.id)[0]
    assert action == "tier.updated" and set(details) == {"key", "benefits"}


def test_a_tier_save_leaves_alone_what_someone_else_changed_meanwhile(admin: TestClient, client: TestClient, ladder: dict[str, int]) -> None:
    """The form remembers what it opened with: a field the person did not touch is not written back."""
    action = f"/admin/tiers/{ladder['gold']}"
    html = admin.get(action).text
    client.patch(f"/v1/tiers/{ladder['gold']}", json={"benefits": {**GOLD["benefits"], "earn_multiplier": "1.5"}, "name_en": "Gold+"})
    data = {**form_of(html, action), "welcome_points": "250", "csrf": csrf_of(html)}
    data["flags"] = ["free_delivery"]  # vip_line unticked
    assert admin.post(action, data=data, follow_redirects=False).status_code == 303
    after = tier(client, "gold")
    assert after["benefits"] == {"earn_multiplier": "1.5", "welcome_points": 250, "flags": ["free_delivery"]}
    assert after["name"]["en"] == "Gold+"


@pytest.mark.parametrize(("lang", "message"),
                         [("ar", "أدخل مضاعِفًا بين 1 و10، مثل 1.25."), ("en", "Enter a multiplier between 1 and 10, such as 1.25.")],
                         ids=["ar", "en"])
def test_a_refused_tier_keeps_what_was_typed_and_says_why_next_to_the_field(
    admin: TestClient, client: TestClient, ladder: dict[str, int], lang: str, message: str,
) -> None:
    before = tier(client, "gold")
    refused = send(admin, f"/admin/tiers/{ladder['gold']}", {"name_en": "Gold Elite", "earn_multiplier": "abc", "threshold": "lots"}, lang=lang)
    assert refused.status_code == 422
    assert error_of(refused.text, "earn_multiplier") == message
    assert error_of(refused.text, "threshold")
    assert value_of(refused.text, "name_en") == "Gold Elite" and value_of(refused.text, "earn_multiplier") == "abc"
    assert 'name="earn_multiplier" value="abc" required inputmode="decimal" dir="ltr" aria-invalid="true"' in refused.text
    assert "Input should" not in refused.text and "pattern" not in refused.text
    assert tier(client, "gold") == before


def test_a_threshold_out_of_the_ladder_is_refused_next_to_it(admin: TestClient, client: TestClient, ladder: dict[str, int]) -> None:
    refused = send(admin, f"/admin/tiers/{ladder['gold']}", {"threshold": "500"}, lang="ar")
    assert refused.status_code == 422
    assert error_of(refused.text, "threshold") == "يجب أن تتطلب كل فئة أكثر من الفئة التي تحتها وأقل من الفئة التي فوقها."
    assert tier(client, "gold")["threshold"] == "5000"


def test_adding_a_tier_checks_key_and_rank_and_keeps_what_was_typed(admin: TestClient, client: TestClient, ladder: dict[str, int]) -> None:
    refused = send(admin, "/admin/tiers", {"key": "gold", "rank": "1", "name_en": "Bronze", "name_ar": "برونزي", "threshold": "10",
                                          "flags": ["birthday_gift"]})
    assert refused.status_code == 422
    assert error_of(refused.text, "key") == "Another tier has this key." and error_of(refused.text, "rank") == "Another tier has this rank."
    assert value_of(refused.text, "name_en") == "Bronze"
    assert re.search(r'value="birthday_gift" checked', refused.text)
    made = send(admin, "/admin/tiers", {"key": "bronze", "rank": "0", "name_en": "Bronze", "name_ar": "برونزي", "threshold": "100",
                                       "earn_multiplier": "١٫١", "flags": ["birthday_gift"]})
    assert made.status_code == 303, made.text
    assert tier(client, "bronze")["benefits"] == {"earn_multiplier": "1.1", "welcome_points": 0, "flags": ["birthday_gift"]}


def test_changing_the_metric_asks_each_tier_threshold_in_the_new_unit(admin: TestClient, client: TestClient, ladder: dict[str, int]) -> None:
    refused = send(admin, "/admin/tiers/policy", {"metric": "money_spent"}, page="/admin/tiers")
    assert refused.status_code == 422 and error_of(refused.text, "threshold-gold") == "This field is required."
    assert re.search(r'<option value="money_spent" selected', refused.text)
    bad = send(admin, "/admin/tiers/policy", {"metric": "purchases", "months": "100", "threshold-silver": "2", "threshold-gold": "5"},
               page="/admin/tiers", lang="ar")
    assert bad.status_code == 422 and error_of(bad.text, "months") == "أدخل 60 أو أقل."
    saved = send(admin, "/admin/tiers/policy", {"metric": "money_spent", "threshold-silver": "1000.00", "threshold-gold": "5000.50"},
                 page="/admin/tiers")
    assert saved.status_code == 303, saved.text
    assert [t["threshold"] for t in client.get("/v1/tiers").json()["items"]] == ["1000.00", "5000.50"]


def test_benefits_read_by_name_in_the_page_language(admin: TestClient, ladder: dict[str, int]) -> None:
    arabic = admin.get("/admin/tiers", params={"lang": "ar"}).text
    assert "توصيل مجاني" in arabic and "free_delivery<" not in arabic and ", free_delivery" not in arabic
    assert "Free delivery" in admin.get("/admin/tiers", params={"lang": "en"}).text


def test_a_benefit_of_the_program_own_is_named_in_both_languages(admin: TestClient, client: TestClient, ladder: dict[str, int], plus: int) -> None:
    refused = send(admin, f"/admin/tiers/{ladder['silver']}", {"benefit_en": "Valet parking"}, lang="ar")
    assert refused.status_code == 422 and error_of(refused.text, "benefit_ar") == "سمِّ الميزة بالعربية أيضًا."
    saved = send(admin, f"/admin/tiers/{ladder['silver']}", {"benefit_en": "Valet parking", "benefit_ar": "صف السيارات"})
    assert saved.status_code == 303, saved.text
    assert tier(client, "silver")["benefits"]["flags"] == ["valet_parking"]
    assert client.get("/v1/tenant").json()["benefit_names"] == {"valet_parking": {"en": "Valet parking", "ar": "صف السيارات"}}
    assert "صف السيارات" in admin.get("/admin/tiers", params={"lang": "ar"}).text
    assert "Valet parking" in admin.get("/admin/tiers", params={"lang": "en"}).text
    # Offered, by its name, to every tier and plan.
    assert re.search(r'value="valet_parking"> صف السيارات', admin.get(f"/admin/plans/{plus}", params={"lang": "ar"}).text)


# --- paid plans -------------------------------------------------------------------------------------


def test_saving_one_field_of_a_plan_keeps_every_other(admin: TestClient, client: TestClient, plus: int) -> None:
    data = form_of(admin.get(f"/admin/plans/{plus}").text, f"/admin/plans/{plus}")
    assert (data["earn_multiplier"], data["monthly_points"], data["flags"]) == ("2", "100", "free_delivery")
    assert send(admin, f"/admin/plans/{plus}", {"monthly_points": "150"}).status_code == 303
    after = client.get("/v1/membership-plans").json()["items"][0]
    assert after["benefits"] == {"earn_multiplier": "2", "monthly_points": 150, "flags": ["free_delivery"]}
    assert (after["price"], after["status"], after["trial_days"]) == ("29.00", "active", 14)


def test_a_refused_plan_says_why_next_to_the_field(admin: TestClient, client: TestClient) -> None:
    refused = send(admin, "/admin/plans", {"key": "gold", "name_en": "Gold", "name_ar": "ذهبي", "price": "0", "currency": "XYZ"}, lang="ar")
    assert refused.status_code == 422
    assert error_of(refused.text, "currency") == "أدخل رمز عملة مثل SAR."
    assert value_of(refused.text, "name_en") == "Gold"
    assert client.get("/v1/membership-plans").json()["items"] == []


def test_a_plan_is_archived_after_a_confirmation_and_put_back_on_sale(admin: TestClient, client: TestClient, plus: int, factory, tenant) -> None:  # type: ignore[no-untyped-def]
    page = admin.get(f"/admin/plans/{plus}").text
    assert re.search(rf'<form method="post" action="/admin/plans/{plus}/archive" data-confirm="[^"]+">', page)
    assert send(admin, f"/admin/plans/{plus}/archive", {}, page=f"/admin/plans/{plus}").status_code == 303
    assert client.get("/v1/membership-plans").json()["items"][0]["status"] == "archived"
    assert send(admin, f"/admin/plans/{plus}/restore", {}, page=f"/admin/plans/{plus}").status_code == 303
    assert client.get("/v1/membership-plans").json()["items"][0]["status"] == "active"
    assert [a for a, _ in actions(factory, tenant.id)][:2] == ["plan.restored", "plan.archived"]


# --- settings ---------------------------------------------------------------------------------------


def test_settings_open_with_readable_choices(admin: TestClient) -> None:
    html = admin.get("/admin/settings", params={"lang": "ar"}).text
    assert re.search(r'<option value="floor" selected>', html) and "إلى الأدنى" in html
    assert re.search(r'<option value="SA" selected>المملكة العربية السعودية \(SA\)</option>', html)


def test_refused_settings_keep_what_was_typed_and_say_why(admin: TestClient, client: TestClient) -> None:
    before = client.get("/v1/program").json()
    refused = send(admin, "/admin/settings", {"points_name_en": "Stars", "earn_rates": "SAR=one", "point_cost": "five"}, lang="ar")
    assert refused.status_code == 422
    assert error_of(refused.text, "earn_rates") == "اكتب كل عملة بالصيغة الرمز=النقاط لكل وحدة، مثل SAR=1، USD=3.75."
    assert error_of(refused.text, "point_cost") == "أدخل مبلغًا مثل 0.05."
    assert value_of(refused.text, "points_name_en") == "Stars" and value_of(refused.text, "earn_rates") == "SAR=one"
    unknown = send(admin, "/admin/settings", {"earn_rates": "SAR=1, ZZZ=2"})
    assert error_of(unknown.text, "earn_rates") == "ZZZ is not a currency code such as SAR or USD."
    assert client.get("/v1/program").json() == before


def test_settings_save_only_what_changed_and_the_organisation_names(admin: TestClient, client: TestClient, factory, tenant) -> None:  # type: ignore[no-untyped-def]
    saved = send(admin, "/admin/settings", {"earn_rates": "SAR=2, USD=٧٫٥", "tenant_name_ar": "متاجر النور"})
    assert saved.status_code == 303, saved.text
    assert client.get("/v1/program").json()["earn_rates"] == {"SAR": "2", "USD": "7.5"}
    assert client.get("/v1/tenant").json()["name_ar"] == "متاجر النور"
    logged = dict(actions(factory, tenant.id))
    assert logged["program.updated"] == {"earn_rates": {"SAR": "2", "USD": "7.5"}}
    assert logged["tenant.updated"] == {"name_ar": "متاجر النور"}
    arabic = admin.get("/admin", params={"lang": "ar"}).text
    assert '<span class="tenant">متاجر النور</span>' in arabic
    assert f'<span class="tenant">Tenant {tenant.slug}</span>' in admin.get("/admin/settings", params={"lang": "en"}).text


def test_a_viewer_opens_the_editors_but_changes_nothing(  # type: ignore[no-untyped-def]
    browser: Browser, client: TestClient, factory, clock, tenant, ladder: dict[str, int], plus: int
) -> None:
    viewer = signed_in(browser(), tenant.slug, make_admin(factory, tenant.id, clock.now(), role="viewer"))
    for path in (f"/admin/tiers/{ladder['gold']}", f"/admin/plans/{plus}", "/admin/settings", "/admin/tiers", "/admin/plans"):
        page = viewer.get(path)
        assert page.status_code == 200 and '<button type="submit">' not in page.text.split("<main", 1)[1].replace(
            '<button type="submit">Filter', ""), path
    token = csrf_of(viewer.get(f"/admin/tiers/{ladder['gold']}").text)
    refused = viewer.post(f"/admin/tiers/{ladder['gold']}", data={"csrf": token, "name_en": "X", "name_ar": "س", "threshold": "5000",
                                                                  "earn_multiplier": "2"}, follow_redirects=False)
    assert refused.status_code in (403, 422) and tier(client, "gold")["name"]["en"] == "Gold"
