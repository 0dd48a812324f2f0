"""A custom segment's numbers typed in the console (wafa.web.admin.engagement) read Arabic-Indic digits; the API
takes the same conditions only as JSON numbers and ASCII digits (wafa.analytics.segment_rules, wafa.inputs)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.web.conftest import Browser, csrf_of, make_admin, signed_in


@pytest.fixture
def admin(browser: Browser, factory, clock, tenant) -> TestClient:  # type: ignore[no-untyped-def]
    return signed_in(browser(), tenant.slug, make_admin(factory, tenant.id, clock.now()))


@pytest.mark.parametrize(("row", "condition"), [
    ({"s0-type": "churn_risk", "s0-at_least": "٠٫٥"}, {"type": "churn_risk", "at_least": 0.5}),
    ({"s0-type": "total_spend", "s0-at_least": "١٠٠٠"}, {"type": "total_spend", "at_least": "1000", "at_most": None}),
])
def test_a_segment_typed_with_arabic_indic_digits_is_made(admin: TestClient, client: TestClient, row: dict[str, str],
                                                          condition: dict[str, object]) -> None:
    made = admin.post("/admin/segments", data={"key": "risky", "name_en": "Risky", "name_ar": "خطر", **row,
                                               "csrf": csrf_of(admin.get("/admin/segments").text)}, follow_redirects=False)
    assert made.status_code == 303, made.text[:2000]
    (segment,) = client.get("/v1/segments").json()["items"]
    assert segment["conditions"] == [condition]


@pytest.mark.parametrize(("condition", "field"), [
    ({"type": "churn_risk", "at_least": True}, "conditions[0].at_least"),
    ({"type": "churn_risk", "at_least": "0.5"}, "conditions[0].at_least"),
    ({"type": "total_spend", "at_least": "١٠٠٠"}, "conditions[0].at_least"),
    ({"type": "last_purchase", "within_days": 30.0}, "conditions[0].within_days"),
    ({"type": "tier", "any_of": ["gold\x00"]}, "conditions[0].any_of[0]"),
])
def test_the_api_takes_a_segment_s_numbers_strictly(client: TestClient, condition: dict[str, object], field: str) -> None:
    answer = client.post("/v1/segments", json={"key": "risky", "name_en": "Risky", "name_ar": "خطر", "conditions": [condition]})
    assert answer.status_code == 422 and field in [e["field"] for e in answer.json()["errors"]], answer.text
    assert client.get("/v1/segments").json()["items"] == []
