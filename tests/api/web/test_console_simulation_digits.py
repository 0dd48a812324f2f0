"""The rule simulator's basket (wafa.web.admin.rule_simulation) is typed by a person: its prices and amount read
Arabic-Indic digits, as every number of the console does."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.web.conftest import Browser, csrf_of, make_admin, signed_in


@pytest.fixture
def admin(browser: Browser, factory, clock, tenant) -> TestClient:  # type: ignore[no-untyped-def]
    signed = signed_in(browser(), tenant.slug, make_admin(factory, tenant.id, clock.now()))
    signed.get("/admin/account", params={"lang": "en"})
    return signed


@pytest.mark.parametrize("basket", [{"items": "OUD-1, perfume, ٢, ١٥٠"}, {"amount": "٣٠٠"}, {"items": "OUD-1, perfume, 2, 150"}])
def test_a_basket_typed_with_arabic_indic_digits_is_simulated(admin: TestClient, client: TestClient, basket: dict[str, str]) -> None:
    made = client.post("/v1/rules", json={"name_en": "Big baskets", "name_ar": "سلال كبيرة", "trigger": "purchase", "status": "active",
                                          "conditions": [{"type": "order_amount", "at_least": "200"}],
                                          "actions": [{"type": "fixed_points", "points": 50}]})
    rule_id = made.json()["id"]
    shown = admin.post("/admin/rules/simulate", data={"rule_id": str(rule_id), "currency": "SAR", **basket,
                                                      "csrf": csrf_of(admin.get(f"/admin/rules/{rule_id}").text)},
                       headers={"HX-Request": "true"})
    assert shown.status_code == 200 and "Big baskets" in shown.text, shown.text[:2000]
    assert "Enter an amount" not in shown.text and "Line 1:" not in shown.text
    assert "50" in shown.text and "300" in shown.text
