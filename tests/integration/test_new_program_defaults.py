"""A new program starts with a return window: points from a purchase stay pending 14 days, so they cannot be
spent before the purchase can still be returned (buy, redeem, return). `wafa tenant create` says so and
takes --pending-days; tenants.create without settings gives the same window."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

from fastapi.testclient import TestClient

from tests.integration.test_cli import wafa  # noqa: F401 (the fixture running `wafa` on the test database)
from wafa.clock import FrozenClock
from wafa.db import unit_of_work
from wafa.jobs.service import run_due
from wafa.programs import service as programs
from wafa.programs.service import NEW_PROGRAM_PENDING_DAYS
from wafa.tenants import service as tenants


def _slug() -> str:
    return f"new-{uuid.uuid4().hex[:8]}"


def _buy(client: TestClient, key: str, *, order: str, amount: str) -> int:
    """Enrol a member with the tenant's key and record a purchase of theirs; returns the member's id."""
    client.headers["Authorization"] = f"Bearer {key}"
    member = client.post("/v1/members", json={"external_id": f"M-{order}"})
    assert member.status_code == 201, member.text
    bought = client.post("/v1/events", json={"type": "purchase", "member": {"id": member.json()["id"]}, "order_id": order,
                                             "amount": amount, "currency": "SAR"})
    assert bought.status_code == 201, bought.text
    return int(member.json()["id"])


def test_tenants_create_without_settings_gives_the_new_program_window(factory, clock: FrozenClock) -> None:  # type: ignore[no-untyped-def]
    assert NEW_PROGRAM_PENDING_DAYS == 14
    with unit_of_work(factory) as session:
        tenant = tenants.create(session, name="Fresh", slug=_slug(), currency="SAR", now=clock.now())
        assert programs.get(session, tenant_id=tenant.id, fresh=True).pending_days == 14


def test_a_tenant_from_the_cli_keeps_a_purchases_points_pending_for_14_days(wafa, client: TestClient, factory,  # type: ignore[no-untyped-def]  # noqa: F811
                                                                            clock: FrozenClock) -> None:
    slug = _slug()
    code, out, _ = wafa("tenant", "create", "Al Noor Stores", "--currency", "SAR", "--slug", slug, "--json")
    assert code == 0
    made = json.loads(out)
    assert made["program"] == {"pending_days": 14}
    assert json.loads(wafa("program", "show", "--tenant", slug, "--json")[1])["pending_days"] == 14

    member = _buy(client, made["api_key"], order="N-1", amount="1000.00")
    balance = client.get(f"/v1/members/{member}/balance").json()
    assert (balance["pending"], balance["available"]) == (1000, 0)
    # Not spendable before the return window closes: the points cannot become wallet money and then be returned.
    refused = client.post(f"/v1/members/{member}/redemptions", json={"points": 1000, "reason": "wallet"},
                          headers={"Idempotency-Key": f"{slug}-early"})
    assert refused.status_code == 422 and refused.json()["type"] == "/problems/insufficient-points", refused.text
    assert client.get(f"/v1/members/{member}/balance").json()["available"] == 0

    # Once the window has passed, the worker's pass releases them.
    run_due(factory, now=clock.advance(timedelta(days=14, seconds=1)), tenant_id=made["tenant"]["id"])
    balance = client.get(f"/v1/members/{member}/balance").json()
    assert (balance["pending"], balance["available"]) == (0, 1000)


def test_the_cli_says_the_window_and_takes_another(wafa, client: TestClient) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    code, out, _ = wafa("tenant", "create", "Shop", "--currency", "SAR", "--slug", _slug())
    assert code == 0
    assert "Points stay pending for 14 days after a purchase (the return window)" in out
    assert "wafa program set" in out and "--pending-days N" in out
    assert out.split()[-1].startswith("wafa_"), "the key stays the last word printed"

    slug = _slug()
    code, out, _ = wafa("tenant", "create", "Till Shop", "--currency", "SAR", "--slug", slug, "--pending-days", "0", "--json")
    assert code == 0
    made = json.loads(out)
    assert made["program"] == {"pending_days": 0}
    member = _buy(client, made["api_key"], order="Z-1", amount="50.00")
    assert client.get(f"/v1/members/{member}/balance").json()["available"] == 50

    code, out, _ = wafa("tenant", "create", "Shop", "--currency", "SAR", "--slug", _slug(), "--pending-days", "0")
    assert code == 0 and "no return window" in out
    code, _, err = wafa("tenant", "create", "Shop", "--currency", "SAR", "--slug", _slug(), "--pending-days", "366")
    assert code == 2 and "Traceback" not in err


def test_the_cli_help_names_the_default_window(wafa) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    code, out, _ = wafa("tenant", "create", "--help")
    assert code == 0 and f"default: {NEW_PROGRAM_PENDING_DAYS}" in " ".join(out.replace("│", " ").split())
