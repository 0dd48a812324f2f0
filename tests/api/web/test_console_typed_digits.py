"""Forms typed by people (wafa.web.admin.forms): the console reads Arabic-Indic and Eastern Arabic-Indic digits
in every number it passes to a domain (the API, which machines speak, refuses them); text with a control
character is a page saying what to fix, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.web.conftest import Browser, csrf_of, make_admin, signed_in


@pytest.fixture
def admin(browser: Browser, factory, clock, tenant) -> TestClient:  # type: ignore[no-untyped-def]
    signed = signed_in(browser(), tenant.slug, make_admin(factory, tenant.id, clock.now()))
    signed.get("/admin/account", params={"lang": "en"})
    return signed


def post(admin: TestClient, path: str, data: dict[str, Any], page: str | None = None):  # type: ignore[no-untyped-def]
    return admin.post(path, data={**data, "csrf": csrf_of(admin.get(page or path).text)}, follow_redirects=False)


@pytest.mark.parametrize(("typed", "amount"), [("١٠٫٥٠", "10.50"), ("۷.۲۵", "7.25"), ("12.5", "12.50")])
def test_a_coupon_campaign_takes_arabic_indic_digits(admin: TestClient, client: TestClient, typed: str, amount: str) -> None:
    made = post(admin, "/admin/coupons", {"name": "Winter", "count": "٢٥", "max_uses": "۱", "discount_type": "fixed", "amount": typed,
                                          "min_order": "٥٠"})
    assert made.status_code == 303, made.text[:2000]
    (campaign,) = client.get("/v1/coupon-campaigns").json()["items"]
    assert (campaign["codes"], campaign["max_uses"], campaign["discount"]["amount"], campaign["discount"]["min_order"]) == (25, 1, amount, "50.00")


def test_a_reward_takes_arabic_indic_digits_in_its_money_and_points(admin: TestClient, client: TestClient) -> None:
    made = post(admin, "/admin/rewards/save", {
        "reward_id": "", "key": "mug", "kind": "gift", "gift_sku": "MUG", "name_en": "Mug", "name_ar": "كوب", "points": "٥٠٠",
        "money": "٢٫٥٠", "status": "active",
    }, page="/admin/rewards/new")
    assert made.status_code == 303, made.text[:2000]
    (reward,) = client.get("/v1/rewards").json()["items"]
    assert (reward["points"], reward["money"]) == (500, "2.50")


def test_a_partner_s_terms_take_arabic_indic_digits(admin: TestClient, client: TestClient) -> None:
    assert client.put("/v1/coalition", json={"breakage_policy": "operator"}).status_code == 200
    made = post(admin, "/admin/coalition/partners", {
        "key": "zaytoon", "name": "Zaytoon Grocer", "name_ar": "بقالة زيتون", "currency": "SAR", "period": "monthly", "earn_rate": "١",
        "issue_price": "٠٫٠٥", "redeem_value": "۰.۰۴", "issue_fee": "٠٫١", "redeem_fee": "0",
    }, page="/admin/coalition/partners/new")
    assert made.status_code == 303, made.text[:2000]
    (partner,) = client.get("/v1/partners").json()["items"]
    assert [partner[k] for k in ("earn_rate", "issue_price", "redeem_value", "issue_fee")] == ["1", "0.05", "0.04", "0.1"]


def test_other_scripts_digits_are_still_refused_beside_the_field(admin: TestClient, client: TestClient) -> None:
    refused = post(admin, "/admin/coupons", {"name": "Winter", "count": "25", "max_uses": "1", "discount_type": "fixed", "amount": "१०"})
    assert refused.status_code == 422 and "Traceback" not in refused.text
    assert client.get("/v1/coupon-campaigns").json()["items"] == []


@pytest.mark.parametrize("name", ["Acme\x1bCo", "Acme\x00Co"], ids=["ESC", "NUL"])
def test_a_name_with_a_control_character_is_a_page_that_says_so_not_a_500(admin: TestClient, client: TestClient, name: str) -> None:
    before = client.get("/v1/tenant").json()
    settings = post(admin, "/admin/settings", {
        "tenant_name": name, "points_name_en": "Points", "points_name_ar": "نقاط", "earn_rates": "SAR=1", "rounding": "floor",
        "point_cost": "0", "pending_days": "0", "expiry_policy": "none", "expiry_periods": "0", "return_restores": "proportional",
        "min_redemption": "1", "redemption_step": "1", "timezone": "Asia/Riyadh", "default_region": "SA", "numerals": "latn",
    })
    assert settings.status_code == 422, settings.text[:1000]
    assert "This value is not in the expected form." in settings.text
    assert client.get("/v1/tenant").json() == before
