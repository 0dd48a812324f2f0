"""A return carrying the shop's return_id is recorded once, however often it is sent."""

from fastapi.testclient import TestClient


def _setup(client: TestClient) -> int:
    member = client.post("/v1/members", json={"external_id": "R-1"}).json()
    bought = client.post(
        "/v1/events",
        json={"type": "purchase", "member": {"id": member["id"]}, "order_id": "R-O1", "amount": "100.00", "currency": "SAR"},
    )
    assert bought.status_code == 201
    return member["id"]


def test_post_return_same_return_id_replays_first_result(client: TestClient) -> None:
    member_id = _setup(client)
    body = {"type": "return", "order_id": "R-O1", "return_id": "RET-7", "amount": "30.00"}
    first = client.post("/v1/events", json=body)
    again = client.post("/v1/events", json=body)
    assert first.status_code == 201 and again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["event_id"] == first.json()["event_id"]
    assert again.json()["reversal"]["points"] == first.json()["reversal"]["points"] == 30
    assert client.get(f"/v1/members/{member_id}/balance").json()["available"] == 70


def test_post_return_same_return_id_other_details_is_409(client: TestClient) -> None:
    _setup(client)
    client.post("/v1/events", json={"type": "return", "order_id": "R-O1", "return_id": "RET-8", "amount": "30.00"})
    clash = client.post("/v1/events", json={"type": "return", "order_id": "R-O1", "return_id": "RET-8", "amount": "40.00"})
    assert clash.status_code == 409
    assert clash.json()["errors"][0]["field"] == "return_id"
