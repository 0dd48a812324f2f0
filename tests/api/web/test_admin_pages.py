"""Each console page renders in both languages, and each of its forms does what it says, through the
domains' services, leaving an audit entry."""

from __future__ import annotations

import csv
import io
import re
import time

import pytest
from fastapi.testclient import TestClient

from tests.api.web.conftest import Browser, csrf_of, make_admin, signed_in
from wafa.db import unit_of_work
from wafa.tenants import audit

PAGES = ["/admin", "/admin/members", "/admin/rules", "/admin/rules/new", "/admin/rewards", "/admin/rewards/new", "/admin/coupons",
         "/admin/tiers", "/admin/plans", "/admin/segments", "/admin/surveys", "/admin/imports", "/admin/settings", "/admin/api-keys",
         "/admin/webhooks", "/admin/audit"]


@pytest.fixture
def admin(browser: Browser, factory, clock, tenant) -> TestClient:  # type: ignore[no-untyped-def]
    return signed_in(browser(), tenant.slug, make_admin(factory, tenant.id, clock.now()))


def actions(factory, tenant_id: int) -> list[str]:  # type: ignore[no-untyped-def]
    with unit_of_work(factory) as session:
        return [row.action for row in audit.list_(session, tenant_id=tenant_id, limit=100)]


def post(admin: TestClient, path: str, data: dict, page: str | None = None, **kw):  # type: ignore[no-untyped-def]
    """Send a form the way the page would: with the CSRF token the page carries."""
    token = csrf_of(admin.get(page or path).text)
    return admin.post(path, data={**data, "csrf": token}, follow_redirects=False, **kw)


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_every_console_page_renders_in_both_languages(admin: TestClient, lang: str) -> None:
    """Arabic pages are right to left, English ones left to right; none fails on an empty program."""
    for path in PAGES:
        page = admin.get(path, params={"lang": lang})
        assert page.status_code == 200, (path, page.text[:500])
        assert f'<html lang="{lang}" dir="{"rtl" if lang == "ar" else "ltr"}">' in page.text, path


def test_a_rule_made_in_the_form_editor_earns_what_the_simulate_panel_shows(admin: TestClient, client: TestClient, factory, tenant) -> None:  # type: ignore[no-untyped-def]
    """Conditions and actions from the form become a rule version; the simulator shows its points rule by rule."""
    saved = post(admin, "/admin/rules/save", {
        "rule_id": "", "rows": "3", "name_en": "Big baskets", "name_ar": "سلال كبيرة", "trigger": "purchase", "status": "active",
        "c0-type": "order_amount", "c0-at_least": "200", "a0-type": "fixed_points", "a0-points": "50", "stackable": "on",
    }, page="/admin/rules/new")
    assert saved.status_code == 303
    rule_id = int(saved.headers["location"].rsplit("/", 1)[1])
    rule = client.get(f"/v1/rules/{rule_id}").json()
    assert rule["status"] == "active"
    assert rule["definition"]["conditions"] == [{"type": "order_amount", "at_least": "200", "at_most": None}]
    assert rule["definition"]["actions"] == [{"type": "fixed_points", "points": 50}]
    shown = post(admin, "/admin/rules/simulate", {"rule_id": str(rule_id), "currency": "SAR", "items": "OUD-1, perfume, 2, 150"},
                 page=f"/admin/rules/{rule_id}", headers={"HX-Request": "true"})
    assert shown.status_code == 200
    assert ("300" in shown.text and "50" in shown.text and "Big baskets" in shown.text) or "سلال كبيرة" in shown.text
    assert "rule.created" in actions(factory, tenant.id)


def test_a_rule_the_form_cannot_hold_is_refused_with_what_to_fix(admin: TestClient, client: TestClient) -> None:
    """No action: nothing saved, the page says why (422)."""
    before = client.get("/v1/rules").json()["items"]
    refused = post(admin, "/admin/rules/save", {"rule_id": "", "rows": "2", "name_en": "x", "name_ar": "س", "trigger": "purchase"},
                   page="/admin/rules/new")
    assert refused.status_code == 422 and "actions" in refused.text
    assert client.get("/v1/rules").json()["items"] == before


def test_a_reward_created_in_the_console_is_in_the_catalog(admin: TestClient, client: TestClient) -> None:
    made = post(admin, "/admin/rewards/save", {
        "reward_id": "", "key": "ten-off", "kind": "coupon", "name_en": "10 off", "name_ar": "خصم ١٠", "points": "500",
        "discount_type": "fixed", "amount": "10.00", "uses": "1", "valid_days": "30", "status": "active", "stock": "3",
    }, page="/admin/rewards/new")
    assert made.status_code == 303
    reward = client.get("/v1/rewards").json()["items"][0]
    assert (reward["key"], reward["points"], reward["stock"], reward["gives"]["discount"]["amount"]) == ("ten-off", 500, 3, "10.00")


def test_a_coupon_campaign_is_generated_and_exported(admin: TestClient, factory, tenant) -> None:  # type: ignore[no-untyped-def]
    made = post(admin, "/admin/coupons", {"name": "Winter", "count": "25", "max_uses": "1", "discount_type": "percent", "percent": "15"})
    assert made.status_code == 303
    campaign_id = re.search(r"/admin/coupons/(\d+)", made.headers["location"]).group(1)  # type: ignore[union-attr]
    exported = post(admin, f"/admin/coupons/{campaign_id}/codes.csv", {}, page=f"/admin/coupons/{campaign_id}")  # audited: a post
    rows = list(csv.DictReader(io.StringIO(exported.text.removeprefix("\ufeff"))))  # a BOM: spreadsheets read it as UTF-8
    assert exported.headers["content-type"].startswith("text/csv") and len(rows) == 25 and len({r["code"] for r in rows}) == 25
    assert {"coupon_campaign.created", "coupon_campaign.exported"} <= set(actions(factory, tenant.id))


def test_settings_tiers_and_plans_change_through_their_forms(admin: TestClient, client: TestClient) -> None:
    settings = post(admin, "/admin/settings", {
        "points_name_en": "Stars", "points_name_ar": "نجوم", "earn_rates": "SAR=2", "rounding": "floor", "point_cost": "0.05",
        "pending_days": "7", "expiry_policy": "days", "expiry_periods": "365", "return_restores": "proportional", "min_redemption": "100",
        "redemption_step": "1", "timezone": "Asia/Riyadh", "default_region": "SA", "numerals": "arab",
    })
    assert settings.status_code == 303
    program = client.get("/v1/program").json()
    assert (program["points_name"]["en"], program["earn_rates"], program["numerals"], program["pending_days"]) == ("Stars", {"SAR": "2"}, "arab", 7)
    tier = post(admin, "/admin/tiers", {"tier_id": "", "key": "gold", "rank": "2", "name_en": "Gold", "name_ar": "ذهبي", "threshold": "1000"})
    assert tier.status_code == 303 and client.get("/v1/tiers").json()["items"][0]["key"] == "gold"
    plan = post(admin, "/admin/plans", {"plan_id": "", "key": "plus", "name_en": "Plus", "name_ar": "بلس", "interval": "month", "price": "29.00",
                                        "currency": "SAR", "trial_days": "14", "grace_days": "7"})
    assert plan.status_code == 303 and client.get("/v1/membership-plans").json()["items"][0]["key"] == "plus"


def test_arabic_indic_digits_show_when_the_program_asks_for_them(admin: TestClient, client: TestClient) -> None:
    client.patch("/v1/program", json={"numerals": "arab"})
    post(admin, "/admin/tiers", {"tier_id": "", "key": "gold", "rank": "2", "name_en": "Gold", "name_ar": "ذهبي", "threshold": "1500"})
    page = admin.get("/admin/tiers?lang=ar").text
    assert "١٬٥٠٠" in page


def test_an_api_key_is_shown_once_and_can_be_revoked(admin: TestClient, client: TestClient) -> None:
    made = post(admin, "/admin/api-keys", {"name": "till 3", "scopes": ["events:write", "read"]})
    secret = re.search(r'id="new-secret">([^<]+)<', made.text).group(1)  # type: ignore[union-attr]
    assert TestClient(client.app).get("/v1/members", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    assert secret not in admin.get("/admin/api-keys").text
    keys = [k for k in client.get("/v1/api-keys").json() if k["name"] == "till 3"]
    assert len(keys) == 1 and f"/admin/api-keys/{keys[0]['id']}/revoke" in admin.get("/admin/api-keys").text
    assert post(admin, f"/admin/api-keys/{keys[0]['id']}/revoke", {}, page="/admin/api-keys").status_code == 303
    assert TestClient(client.app).get("/v1/members", headers={"Authorization": f"Bearer {secret}"}).status_code == 401


def test_segments_and_surveys_are_made_from_the_console(admin: TestClient, client: TestClient) -> None:
    segment = post(admin, "/admin/segments",
                   {"key": "big", "name_en": "Big spenders", "name_ar": "كبار", "s0-type": "total_spend", "s0-at_least": "1000"})
    assert segment.status_code == 303 and [s["key"] for s in client.get("/v1/segments").json()["items"]] == ["big"]
    survey = post(admin, "/admin/surveys",
                  {"key": "nps-q4", "title_en": "Tell us", "title_ar": "أخبرنا", "nps_en": "How likely?", "nps_ar": "ما مدى؟"})
    assert survey.status_code == 303 and client.get("/v1/surveys").json()["items"][0]["key"] == "nps-q4"


def test_a_purchase_file_imports_with_progress_to_its_report(admin: TestClient, client: TestClient) -> None:
    """The job runs in the server; its page shows how far it is and, at the end, the bad rows by line."""
    body = "customer_id,date,amount,order_id\nC1,2026-01-05,100.00,O-1\nC2,2026-01-06,50.00,O-2\nC3,yesterday,10,O-3\n"
    token = csrf_of(admin.get("/admin/imports").text)
    started = admin.post("/admin/imports", data={"csrf": token}, files={"file": ("history.csv", body.encode(), "text/csv")}, follow_redirects=False)
    assert started.status_code == 303
    for _ in range(200):
        page = admin.get(started.headers["location"], headers={"HX-Request": "true"}).text
        if 'data-status="done"' in page or 'data-status="failed"' in page:
            break
        time.sleep(0.05)
    assert 'data-status="done"' in page and 'value="1000"' in page
    assert re.findall(r"<dd>([^<]+)</dd>", page)[:4] == ["2", "0", "2", "1"]
    assert len(client.get("/v1/members").json()["items"]) == 2


def test_a_viewer_reads_every_page_but_changes_nothing(browser: Browser, factory, clock, tenant, client: TestClient) -> None:  # type: ignore[no-untyped-def]
    viewer = signed_in(browser(), tenant.slug, make_admin(factory, tenant.id, clock.now(), role="viewer"))
    for path in PAGES:
        assert viewer.get(path).status_code == 200, path
    refused = post(viewer, "/admin/coupons", {"name": "Nope", "count": "5", "discount_type": "percent", "percent": "5"})
    assert refused.status_code in (403, 422) and client.get("/v1/coupon-campaigns/1").status_code == 404
