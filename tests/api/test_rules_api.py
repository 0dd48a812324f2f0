"""Rules over HTTP: create, validate, version on edit, status moves, simulate without writing."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import make_key, make_tenant

WEEKEND = {
    "name_en": "Weekend x2", "name_ar": "نقاط مضاعفة في العطلة", "trigger": "purchase",
    "actions": [{"type": "multiplier", "factor": "2"}], "window": {"days_of_week": [4, 5]}, "status": "active",
}
FIRST = {
    "name_en": "First purchase bonus", "name_ar": "مكافأة أول شراء", "trigger": "purchase",
    "conditions": [{"type": "nth_purchase", "n": 1}], "actions": [{"type": "fixed_points", "points": 100}], "status": "active",
}


def test_post_rule_creates_version_one(client: TestClient) -> None:
    made = client.post("/v1/rules", json=WEEKEND)
    assert made.status_code == 201
    body = made.json()
    assert (body["version"], body["status"]) == (1, "active")
    assert body["definition"]["actions"] == [{"type": "multiplier", "factor": "2"}]
    assert client.get(f"/v1/rules/{body['id']}").json() == body


def test_post_rule_invalid_is_422_naming_the_field(client: TestClient) -> None:
    bad = client.post("/v1/rules", json={**WEEKEND, "actions": [{"type": "multiplier", "factor": "two"}]})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"].startswith("actions[0]")
    assert client.post("/v1/rules", json={**WEEKEND, "trigger": "Not A Type"}).json()["errors"][0]["field"] == "trigger"
    assert client.post("/v1/rules", json={**WEEKEND, "status": "ended"}).status_code == 422


def test_put_rule_makes_a_new_version_only_when_it_changes(client: TestClient) -> None:
    rule_id = client.post("/v1/rules", json=WEEKEND).json()["id"]
    definition = {k: v for k, v in WEEKEND.items() if k != "status"}
    same = client.put(f"/v1/rules/{rule_id}", json=definition)
    assert same.json()["version"] == 1
    changed = client.put(f"/v1/rules/{rule_id}", json={**definition, "actions": [{"type": "multiplier", "factor": "3"}]})
    assert changed.status_code == 200 and changed.json()["version"] == 2
    assert client.get(f"/v1/rules/{rule_id}").json()["definition"]["actions"][0]["factor"] == "3"


def test_rule_status_moves(client: TestClient) -> None:
    rule_id = client.post("/v1/rules", json={**WEEKEND, "status": "draft"}).json()["id"]
    assert client.post(f"/v1/rules/{rule_id}/status", json={"status": "paused"}).status_code == 409
    assert client.post(f"/v1/rules/{rule_id}/status", json={"status": "active"}).json()["status"] == "active"
    assert client.post(f"/v1/rules/{rule_id}/status", json={"status": "paused"}).json()["status"] == "paused"
    assert client.post(f"/v1/rules/{rule_id}/status", json={"status": "ended"}).json()["status"] == "ended"
    definition = {k: v for k, v in WEEKEND.items() if k != "status"}
    assert client.put(f"/v1/rules/{rule_id}", json=definition).status_code == 409
    assert [r["id"] for r in client.get("/v1/rules", params={"status": "ended"}).json()["items"]] == [rule_id]


def test_rules_need_admin_and_stay_in_their_tenant(client: TestClient, factory, clock, tenant) -> None:  # type: ignore[no-untyped-def]
    rule_id = client.post("/v1/rules", json=WEEKEND).json()["id"]
    reader = make_key(factory, tenant.id, ["read", "events:write"], clock.now())
    assert client.post("/v1/rules", json=WEEKEND, headers={"Authorization": f"Bearer {reader}"}).status_code == 403
    assert client.get(f"/v1/rules/{rule_id}", headers={"Authorization": f"Bearer {reader}"}).status_code == 200
    other = make_tenant(factory, clock.now())
    foreign = {"Authorization": f"Bearer {other.admin_key}"}
    assert client.get(f"/v1/rules/{rule_id}", headers=foreign).status_code == 404
    assert client.post(f"/v1/rules/{rule_id}/status", json={"status": "paused"}, headers=foreign).status_code == 404
    assert client.get("/v1/rules", headers=foreign).json()["items"] == []


def test_simulate_shows_each_rule_and_writes_nothing(client: TestClient, clock) -> None:  # type: ignore[no-untyped-def]
    client.post("/v1/rules", json=WEEKEND)
    client.post("/v1/rules", json=FIRST)
    member_id = client.post("/v1/members", json={"external_id": "SIM-1"}).json()["id"]
    body = {"type": "purchase", "member": {"id": member_id}, "order_id": "SIM-O1", "amount": "120.00", "currency": "SAR",
            "occurred_at": "2026-02-27T12:00:00+00:00"}  # a Friday
    sim = client.post("/v1/events:simulate", json=body)
    assert sim.status_code == 200, sim.text
    result = sim.json()
    assert result["base_points"] == 120 and result["total_points"] == 340
    assert sorted((a["name"]["en"], a["points"]) for a in result["awards"]) == [("First purchase bonus", 100), ("Weekend x2", 120)]
    assert all(a["line"].endswith("v1") for a in result["awards"])
    # Nothing was recorded: the order id is still free and the balance untouched.
    assert client.get(f"/v1/members/{member_id}/balance").json()["available"] == 0
    assert client.post("/v1/events", json=body).status_code == 201
    again = client.post("/v1/events:simulate", json={**body, "order_id": "SIM-O2"}).json()
    assert [a["name"]["en"] for a in again["awards"]] == ["Weekend x2"]  # no longer the first purchase


def test_simulate_paused_rules_do_not_apply(client: TestClient) -> None:
    rule_id = client.post("/v1/rules", json=WEEKEND).json()["id"]
    client.post(f"/v1/rules/{rule_id}/status", json={"status": "paused"})
    body = {"type": "purchase", "order_id": "SIM-P", "amount": "50.00", "currency": "SAR", "occurred_at": "2026-02-27T12:00:00+00:00"}
    assert client.post("/v1/events:simulate", json=body).json()["awards"] == []
