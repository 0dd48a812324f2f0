"""POST /v1/events:batch: up to 1,000 events, each with its own result; one bad event sinks no other."""

from __future__ import annotations

from fastapi.testclient import TestClient


def purchase(order_id: str, amount: str = "10.00", member: str = "m-1") -> dict:
    return {"type": "purchase", "member": {"external_id": member}, "order_id": order_id, "amount": amount, "currency": "SAR"}


def test_batch_records_each_event_and_reports_each_result(client: TestClient) -> None:
    member_id = client.post("/v1/members", json={"external_id": "m-1"}).json()["id"]
    client.post("/v1/event-types", json={"name": "store_check_in"})
    events = [
        purchase("B-1"),
        purchase("B-2", amount="ten"),  # invalid: 422 naming the field
        purchase("B-3", member="nobody"),  # unknown member: 404
        purchase("B-1"),  # a repeat of the first: 200
        {"type": "return", "order_id": "B-1", "amount": "4.00"},
        {"type": "store_check_in", "member": {"external_id": "m-1"}, "reference": "visit-1"},
        {"type": "made_up", "member": {"external_id": "m-1"}},  # undeclared type: 422
        purchase("B-4", amount="20.00"),
    ]
    response = client.post("/v1/events:batch", json={"events": events})
    assert response.status_code == 200, response.text
    body = response.json()
    statuses = [item["status"] for item in body["items"]]
    assert statuses == [201, 422, 404, 200, 201, 201, 422, 201]
    assert (body["recorded"], body["replayed"], body["refused"]) == (4, 1, 3)
    assert body["items"][1]["problem"]["errors"][0]["field"] == "amount"
    assert body["items"][6]["problem"]["errors"][0]["field"] == "type"
    assert body["items"][3]["result"]["event_id"] == body["items"][0]["result"]["event_id"]
    assert body["items"][4]["result"]["reversal"]["points"] == 4
    assert client.get(f"/v1/members/{member_id}/balance").json()["available"] == 10 - 4 + 20


def test_batch_with_idempotency_key_replays_whole(client: TestClient) -> None:
    client.post("/v1/members", json={"external_id": "m-1"})
    headers = {"Idempotency-Key": "batch-1"}
    first = client.post("/v1/events:batch", json={"events": [purchase("K-1")]}, headers=headers)
    again = client.post("/v1/events:batch", json={"events": [purchase("K-1")]}, headers=headers)
    assert first.json() == again.json() and again.headers["Idempotent-Replayed"] == "true"
    assert client.post("/v1/events:batch", json={"events": [purchase("K-2")]}, headers=headers).status_code == 409


def test_batch_limits(client: TestClient) -> None:
    assert client.post("/v1/events:batch", json={"events": []}).status_code == 422
    too_many = client.post("/v1/events:batch", json={"events": [purchase(f"X-{i}") for i in range(1001)]})
    assert too_many.status_code == 422 and too_many.json()["errors"][0]["field"] == "events"
    assert client.post("/v1/events:batch", json={"events": ["not an object"]}).status_code == 422


def test_batch_of_a_thousand(client: TestClient) -> None:
    member_id = client.post("/v1/members", json={"external_id": "m-1"}).json()["id"]
    body = client.post("/v1/events:batch", json={"events": [purchase(f"T-{i}", "1.00") for i in range(1000)]}).json()
    assert body["recorded"] == 1000
    assert client.get(f"/v1/members/{member_id}/balance").json()["available"] == 1000


def test_batch_needs_events_write(client: TestClient, factory, clock, tenant) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import make_key

    reader = make_key(factory, tenant.id, ["read"], clock.now())
    refused = client.post("/v1/events:batch", json={"events": [purchase("R-1")]}, headers={"Authorization": f"Bearer {reader}"})
    assert refused.status_code == 403
