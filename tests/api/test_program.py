"""GET and PATCH /v1/program: the settings every earn, spend and expiry follows."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import TenantCtx, make_key, problem

DEFAULTS = {
    "points_name": {"en": "points", "ar": "نقاط"},
    "base_currency": "SAR",
    "earn_rates": {"SAR": "1"},
    "rounding": "floor",
    "pending_days": 0,
    "expiry": {"policy": "none", "periods": 0},
    "timezone": "UTC",
    "default_region": "SA",
    "block_redemptions_in_debt": True,
    "min_redemption": 1,
    "hold_ttl_seconds": 900,
    "redemption_step": 1,
    "point_cost": "0",
    "return_restores": "proportional",
    "numerals": "latn",
    "anonymise_inactive_after_years": None,
    "reenrol_debt": "carry",
    "tier_return_policy": "keep",
    "tier_return_days": 30,
}


def test_get_program_defaults(client: TestClient) -> None:
    response = client.get("/v1/program")
    assert response.status_code == 200
    assert response.json() == DEFAULTS


def test_get_program_with_read_scope_is_200(client: TestClient, factory, clock, tenant: TenantCtx) -> None:  # type: ignore[no-untyped-def]
    key = make_key(factory, tenant.id, ["read"], clock.now())
    assert client.get("/v1/program", headers={"Authorization": f"Bearer {key}"}).json() == DEFAULTS


def test_patch_program_every_setting(client: TestClient) -> None:
    change = {
        "points_name": {"en": "Stars", "ar": "نجوم"},
        "base_currency": "jod",
        "earn_rates": {"jod": "10", "SAR": "1.50"},
        "rounding": "half_up",
        "pending_days": 14,
        "expiry": {"policy": "end_of_month", "periods": 12},
        "timezone": "Asia/Amman",
        "default_region": "jo",
        "block_redemptions_in_debt": False,
        "min_redemption": 100,
        "hold_ttl_seconds": 600,
        "redemption_step": 50,
        "point_cost": "0.04",
        "return_restores": "none",
        "numerals": "arab",
        "reenrol_debt": "refuse",
        "tier_return_policy": "demote",
        "tier_return_days": 14,
    }
    response = client.patch("/v1/program", json=change)
    assert response.status_code == 200
    expected = {**change, "base_currency": "JOD", "earn_rates": {"JOD": "10", "SAR": "1.50"}, "default_region": "JO",
                "anonymise_inactive_after_years": None}
    assert response.json() == expected
    assert client.get("/v1/program").json() == expected


def test_patch_program_only_given_fields_change(client: TestClient) -> None:
    response = client.patch("/v1/program", json={"pending_days": 30})
    assert response.json() == {**DEFAULTS, "pending_days": 30}
    assert client.patch("/v1/program", json={}).json() == {**DEFAULTS, "pending_days": 30}


def test_patch_program_expiry_is_replaced_whole(client: TestClient) -> None:
    client.patch("/v1/program", json={"expiry": {"policy": "days", "periods": 365}})
    assert client.patch("/v1/program", json={"expiry": {"policy": "end_of_year"}}).json()["expiry"] == {"policy": "end_of_year", "periods": 0}


def test_patch_program_new_rates_apply_to_new_purchases(client: TestClient) -> None:
    client.post("/v1/members", json={"external_id": "P-1"})
    purchase = {"type": "purchase", "member": {"external_id": "P-1"}, "amount": "10.00", "currency": "SAR"}
    assert client.post("/v1/events", json={**purchase, "order_id": "1"}).json()["award"]["points"] == 10
    client.patch("/v1/program", json={"earn_rates": {"SAR": "2.5"}})
    assert client.post("/v1/events", json={**purchase, "order_id": "2"}).json()["award"]["points"] == 25
    assert client.post("/v1/events", json={**purchase, "order_id": "3", "amount": "10.30"}).json()["award"]["points"] == 25  # 25.75


@pytest.mark.parametrize("rounding, points", [("floor", 2), ("half_up", 3), ("ceil", 3)])
def test_patch_program_rounding_applies_to_purchases(client: TestClient, rounding: str, points: int) -> None:
    client.patch("/v1/program", json={"rounding": rounding, "earn_rates": {"SAR": "0.5"}})
    client.post("/v1/members", json={"external_id": "P-2"})
    body = {"type": "purchase", "member": {"external_id": "P-2"}, "order_id": "R", "amount": "5.00", "currency": "SAR"}
    assert client.post("/v1/events", json=body).json()["award"]["points"] == points  # 2.5


@pytest.mark.parametrize("timezone", ["Mars/Olympus", "Asia/Nowhere", "../../etc/passwd", ""])
def test_patch_program_unknown_time_zone_is_422(client: TestClient, timezone: str) -> None:
    problem(client.patch("/v1/program", json={"timezone": timezone}), 422, "/problems/invalid-input", "timezone")
    assert client.get("/v1/program").json() == DEFAULTS


@pytest.mark.parametrize("code", ["XYZ", "XAU", "SA", "SARS"])
def test_patch_program_unknown_base_currency_is_422(client: TestClient, code: str) -> None:
    problem(client.patch("/v1/program", json={"base_currency": code}), 422, "/problems/invalid-input", "base_currency")
    assert client.get("/v1/program").json() == DEFAULTS


def test_patch_program_unknown_earn_currency_is_422(client: TestClient) -> None:
    problem(client.patch("/v1/program", json={"earn_rates": {"SAR": "1", "XYZ": "1"}}), 422, "/problems/invalid-input", "earn_rates")
    assert client.get("/v1/program").json() == DEFAULTS


def test_patch_program_base_currency_without_rate_is_422(client: TestClient) -> None:
    body = problem(client.patch("/v1/program", json={"base_currency": "JOD"}), 422, "/problems/invalid-input", "base_currency")
    assert body["detail"] == "the base currency JOD needs an earn rate"
    assert client.get("/v1/program").json() == DEFAULTS


def test_patch_program_rates_without_base_currency_is_422(client: TestClient) -> None:
    body = problem(client.patch("/v1/program", json={"earn_rates": {"JOD": "10"}}), 422, "/problems/invalid-input", "earn_rates")
    assert body["detail"] == "the base currency SAR needs an earn rate"
    assert client.get("/v1/program").json() == DEFAULTS


def test_patch_program_base_currency_with_its_rate_is_200(client: TestClient) -> None:
    body = client.patch("/v1/program", json={"base_currency": "JOD", "earn_rates": {"JOD": "10"}}).json()
    assert (body["base_currency"], body["earn_rates"]) == ("JOD", {"JOD": "10"})


@pytest.mark.parametrize("rates", [{}, {"SAR": "-1"}, {"SAR": "abc"}, {"SAR": "Infinity"}, {"SAR": "NaN"}, {"SAR": "1000001"}])
def test_patch_program_bad_earn_rates_are_422(client: TestClient, rates: dict) -> None:  # type: ignore[type-arg]
    problem(client.patch("/v1/program", json={"earn_rates": rates}), 422, "/problems/invalid-input", "earn_rates")
    assert client.get("/v1/program").json() == DEFAULTS


@pytest.mark.parametrize(
    "change, field",
    [
        ({"rounding": "up"}, "rounding"),
        ({"pending_days": -1}, "pending_days"),
        ({"pending_days": 366}, "pending_days"),
        ({"expiry": {"policy": "days", "periods": 0}}, "expiry.periods"),
        ({"expiry": {"policy": "weekly", "periods": 1}}, "expiry.policy"),
        ({"min_redemption": 0}, "min_redemption"),
        ({"hold_ttl_seconds": 29}, "hold_ttl_seconds"),
        ({"hold_ttl_seconds": 86401}, "hold_ttl_seconds"),
        ({"redemption_step": 0}, "redemption_step"),
        ({"point_cost": "0.1.2"}, "point_cost"),
        ({"points_name": {"en": "", "ar": "نقاط"}}, "points_name.en"),
        ({"default_region": "SAU"}, "default_region"),
        ({"default_region": "ZZ"}, "default_region"),
        ({"colour": "green"}, "colour"),
    ],
)
def test_patch_program_invalid_value_is_422(client: TestClient, change: dict, field: str) -> None:  # type: ignore[type-arg]
    problem(client.patch("/v1/program", json=change), 422, "/problems/invalid-input", field)
    assert client.get("/v1/program").json() == DEFAULTS


def test_patch_program_with_read_scope_is_403(client: TestClient, factory, clock, tenant: TenantCtx) -> None:  # type: ignore[no-untyped-def]
    key = make_key(factory, tenant.id, ["read", "members:write", "events:write", "redeem"], clock.now())
    response = client.patch("/v1/program", json={"pending_days": 3}, headers={"Authorization": f"Bearer {key}"})
    assert problem(response, 403, "/problems/forbidden")["detail"] == "this API key lacks the 'admin' scope"
    assert client.get("/v1/program").json() == DEFAULTS
