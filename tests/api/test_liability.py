"""GET /v1/reports/liability: points outstanding, their value at the program's cost per point,
expected breakage from the history of expiry, and the period's flows."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from tests.conftest import problem


def test_liability_counts_and_values_what_members_hold(client: TestClient, factory, clock, tenant) -> None:  # type: ignore[no-untyped-def]
    from wafa.jobs.service import run_due

    client.patch("/v1/program", json={"point_cost": "0.05", "expiry": {"policy": "days", "periods": 10}})
    a = client.post("/v1/members", json={"external_id": "a"}).json()["id"]
    b = client.post("/v1/members", json={"external_id": "b"}).json()["id"]
    buy = {"type": "purchase", "currency": "SAR"}
    client.post("/v1/events", json={**buy, "member": {"id": a}, "order_id": "L-1", "amount": "1000.00"})
    client.post("/v1/events", json={**buy, "member": {"id": b}, "order_id": "L-2", "amount": "300.00"})
    client.post(f"/v1/members/{a}/redemptions", json={"points": 300, "reason": "voucher"})
    clock.advance(timedelta(days=11))
    run_due(factory, now=clock.now(), tenant_id=tenant.id)  # a's 700 left and b's 300 expire
    client.post("/v1/events", json={**buy, "member": {"id": a}, "order_id": "L-3", "amount": "200.00"})

    report = client.get("/v1/reports/liability", params={"from": "2026-01-01T00:00:00Z", "to": "2026-04-01T00:00:00Z"}).json()
    assert report["currency"] == "SAR" and report["point_cost"] == "0.05"
    assert report["available"] == {"points": 200, "value": "10.00"}
    assert report["outstanding"] == {"points": 200, "value": "10.00"}
    assert (report["issued"], report["expired"], report["debt"]) == (1500, 1000, 0)
    assert report["redeemed_by_type"] == {"points redemption": {"points": 300, "value": "15.00"}}
    assert report["breakage_rate"] == "0.7692"  # 1,000 expired of 1,300 that ended
    assert report["expected_breakage"] == {"points": 153, "value": "7.65"}
    # The period's flows follow the window (from inclusive, to exclusive); the outstanding points do not.
    later = client.get("/v1/reports/liability", params={"from": "2026-03-05T00:00:00Z", "to": "2026-04-01T00:00:00Z"}).json()
    assert (later["issued"], later["expired"], later["outstanding"]["points"]) == (200, 1000, 200)


def test_liability_without_a_cost_or_history(client: TestClient) -> None:
    report = client.get("/v1/reports/liability").json()
    assert report["outstanding"] == {"points": 0, "value": None}
    assert report["breakage_rate"] is None and report["expected_breakage"] is None
    problem(client.get("/v1/reports/liability", params={"from": "2026-03-01T00:00:00Z", "to": "2026-02-01T00:00:00Z"}),
            422, "/problems/invalid-input", "from")
    problem(client.patch("/v1/program", json={"point_cost": "-1"}), 422, "/problems/invalid-input", "point_cost")
