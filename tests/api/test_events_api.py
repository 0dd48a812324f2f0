"""POST /v1/events: purchases earn, returns take back, bad input is a 4xx naming the field."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient


def enrol(client: TestClient, external_id: str = "ev-1") -> int:
    return client.post("/v1/members", json={"external_id": external_id}).json()["id"]


def purchase(client: TestClient, order_id: str, amount: str, currency: str = "SAR", member: str | None = "ev-1", **extra):  # type: ignore[no-untyped-def]
    body = {"type": "purchase", "order_id": order_id, "amount": amount, "currency": currency, **extra}
    if member is not None:
        body["member"] = {"external_id": member}
    return client.post("/v1/events", json=body)


def test_post_event_purchase_awards_floor_of_amount(client: TestClient) -> None:
    enrol(client)
    response = purchase(client, "P-1", "120.99")
    assert response.status_code == 201
    body = response.json()
    assert body["award"]["points"] == 120 and body["award"]["status"] == "available"
    assert body["balance"] == {"available": 120, "pending": 0, "held": 0}
    assert body["amount"] == "120.99"


def test_post_event_purchase_three_decimal_currency_and_rate(client: TestClient) -> None:
    client.patch("/v1/program", json={"earn_rates": {"SAR": "1", "JOD": "10"}})
    enrol(client)
    response = purchase(client, "P-J", "12.345", currency="JOD")
    assert response.status_code == 201
    assert response.json()["award"]["points"] == 123  # 12.345 JOD x 10, floored
    assert response.json()["amount"] == "12.345"


def test_post_event_purchase_half_up_rounding(client: TestClient) -> None:
    client.patch("/v1/program", json={"rounding": "half_up", "earn_rates": {"SAR": "0.5"}})
    enrol(client)
    assert purchase(client, "P-H", "5.00").json()["award"]["points"] == 3  # 2.5 rounds up


def test_post_event_purchase_pending_until_window_closes(client: TestClient, clock) -> None:  # type: ignore[no-untyped-def]
    client.patch("/v1/program", json={"pending_days": 14})
    member_id = enrol(client)
    body = purchase(client, "P-P", "50.00").json()
    assert body["award"]["status"] == "pending"
    assert body["award"]["available_at"].startswith((clock.now() + timedelta(days=14)).date().isoformat())
    balance = client.get(f"/v1/members/{member_id}/balance").json()
    assert (balance["available"], balance["pending"]) == (0, 50)
    assert client.post(f"/v1/members/{member_id}/redemptions", json={"points": 10, "reason": "x"}).status_code == 422


def test_post_event_purchase_without_member_earns_nothing(client: TestClient) -> None:
    response = purchase(client, "P-N", "80.00", member=None)
    assert response.status_code == 201
    assert response.json()["award"] is None
    assert response.json()["not_awarded_reason"] == "not a member"


def test_post_event_purchase_suspended_member_earns_nothing(client: TestClient) -> None:
    member_id = enrol(client)
    client.post(f"/v1/members/{member_id}/suspend", json={"reason": "fraud check"})
    response = purchase(client, "P-S", "80.00")
    assert response.status_code == 201
    assert response.json()["award"] is None and response.json()["not_awarded_reason"] == "member is suspended"


def test_post_event_purchase_unknown_member_is_404(client: TestClient) -> None:
    response = purchase(client, "P-U", "10.00", member="nobody")
    assert response.status_code == 404
    assert response.json()["errors"][0]["field"] == "member.external_id"


@pytest.mark.parametrize(
    "amount, currency, field",
    [
        ("10.00", "XYZ", "currency"),     # not an ISO 4217 code
        ("10.00", "USD", "currency"),     # a real currency the program does not take
        ("10.001", "SAR", "amount"),      # more decimals than SAR has
        ("-5.00", "SAR", "amount"),       # negative
        ("ten", "SAR", "amount"),         # not a number
        ("1e3", "SAR", "amount"),         # no exponents
    ],
)
def test_post_event_purchase_bad_amount_or_currency_is_422(client: TestClient, amount: str, currency: str, field: str) -> None:
    enrol(client)
    response = purchase(client, "P-BAD", amount, currency=currency)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == field
    assert client.get("/v1/members", params={"external_id": "ev-1"}).status_code == 200


def test_post_event_purchase_float_amount_is_422(client: TestClient) -> None:
    enrol(client)
    response = client.post(
        "/v1/events", json={"type": "purchase", "member": {"external_id": "ev-1"}, "order_id": "F", "amount": 10.5, "currency": "SAR"},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "amount"


def test_post_event_purchase_in_the_future_is_422(client: TestClient, clock) -> None:  # type: ignore[no-untyped-def]
    enrol(client)
    response = purchase(client, "P-F", "10.00", occurred_at=(clock.now() + timedelta(hours=1)).isoformat())
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "occurred_at"


def test_post_event_unknown_type_is_422(client: TestClient) -> None:
    response = client.post("/v1/events", json={"type": "teleport", "order_id": "x"})
    assert response.status_code == 422


def test_post_event_same_order_replays_first_result(client: TestClient) -> None:
    member_id = enrol(client)
    first = purchase(client, "P-R", "30.00")
    again = purchase(client, "P-R", "30.00")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["event_id"] == first.json()["event_id"]
    assert again.json()["award"] == first.json()["award"]
    assert client.get(f"/v1/members/{member_id}/balance").json()["available"] == 30


def test_post_event_same_order_other_details_is_409(client: TestClient) -> None:
    enrol(client)
    purchase(client, "P-C", "30.00")
    clash = purchase(client, "P-C", "31.00")
    assert clash.status_code == 409 and clash.json()["errors"][0]["field"] == "order_id"


def test_post_event_idempotency_key_replays_and_conflicts(client: TestClient) -> None:
    enrol(client)
    headers = {"Idempotency-Key": "till-9-0001"}
    body = {"type": "purchase", "member": {"external_id": "ev-1"}, "order_id": "P-K", "amount": "5.00", "currency": "SAR"}
    first = client.post("/v1/events", json=body, headers=headers)
    again = client.post("/v1/events", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    other = client.post("/v1/events", json={**body, "order_id": "P-K2"}, headers=headers)
    assert other.status_code == 409 and other.json()["type"] == "/problems/idempotency-key-reused"


ITEMS = [
    {"sku": "A", "category": "dates", "quantity": 2, "unit_price": "45.00"},
    {"sku": "B", "category": "coffee", "quantity": 1, "unit_price": "30.50"},
]


def test_post_event_return_by_items_is_proportional_and_ends_exact(client: TestClient) -> None:
    member_id = enrol(client)
    assert purchase(client, "R-1", "120.50", items=ITEMS).json()["award"]["points"] == 120
    one = client.post("/v1/events", json={"type": "return", "order_id": "R-1", "items": [{"sku": "A", "quantity": 1}]})
    assert one.status_code == 201
    assert (one.json()["returned_amount"], one.json()["reversal"]["points"]) == ("45.00", 44)
    two = client.post("/v1/events", json={"type": "return", "order_id": "R-1", "items": [{"sku": "A", "quantity": 1}]}).json()
    assert (two["returned_amount"], two["reversal"]["points"]) == ("45.00", 45)  # cumulative: 90.00 -> 89 of 120
    last = client.post("/v1/events", json={"type": "return", "order_id": "R-1", "items": [{"sku": "B", "quantity": 1}]}).json()
    assert last["reversal"]["points"] == 31  # lands exactly on the 120 earned
    assert client.get(f"/v1/members/{member_id}/balance").json()["available"] == 0


def test_post_event_return_more_than_bought_is_422(client: TestClient) -> None:
    enrol(client)
    purchase(client, "R-2", "120.50", items=ITEMS)
    response = client.post("/v1/events", json={"type": "return", "order_id": "R-2", "items": [{"sku": "A", "quantity": 3}]})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "items[0].quantity"
    unknown = client.post("/v1/events", json={"type": "return", "order_id": "R-2", "items": [{"sku": "Z", "quantity": 1}]})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "items[0].sku"
    too_much = client.post("/v1/events", json={"type": "return", "order_id": "R-2", "amount": "200.00"})
    assert too_much.status_code == 422 and too_much.json()["errors"][0]["field"] == "amount"


def test_post_event_return_of_unknown_order_is_404(client: TestClient) -> None:
    response = client.post("/v1/events", json={"type": "return", "order_id": "never-sold"})
    assert response.status_code == 404 and response.json()["errors"][0]["field"] == "order_id"


def test_post_event_return_whole_order_twice_is_422(client: TestClient) -> None:
    enrol(client)
    purchase(client, "R-3", "10.00")
    assert client.post("/v1/events", json={"type": "return", "order_id": "R-3"}).json()["reversal"]["points"] == 10
    again = client.post("/v1/events", json={"type": "return", "order_id": "R-3"})
    assert again.status_code == 422


def test_post_event_return_takes_pending_first(client: TestClient) -> None:
    client.patch("/v1/program", json={"pending_days": 7})
    member_id = enrol(client)
    client.post(f"/v1/members/{member_id}/adjustments", json={"points": 100, "reason": "welcome"})
    purchase(client, "R-4", "60.00")
    back = client.post("/v1/events", json={"type": "return", "order_id": "R-4", "amount": "60.00"}).json()
    assert back["reversal"] == {**back["reversal"], "points": 60, "from_pending": 60, "from_available": 0}
    balance = client.get(f"/v1/members/{member_id}/balance").json()
    assert (balance["available"], balance["pending"]) == (100, 0)


def test_post_event_return_of_spent_points_leaves_debt_and_blocks_redemptions(client: TestClient) -> None:
    member_id = enrol(client)
    purchase(client, "R-5", "100.00")
    assert client.post(f"/v1/members/{member_id}/redemptions", json={"points": 80, "reason": "gift"}).status_code == 201
    back = client.post("/v1/events", json={"type": "return", "order_id": "R-5"}).json()
    assert back["reversal"]["from_available"] == 100
    balance = client.get(f"/v1/members/{member_id}/balance").json()
    assert (balance["available"], balance["debt"]) == (-80, 80)
    refused = client.post(f"/v1/members/{member_id}/redemptions", json={"points": 1, "reason": "x"})
    assert refused.status_code == 422 and refused.json()["type"] == "/problems/member-in-debt"
    purchase(client, "R-6", "100.00")  # repays the debt first
    balance = client.get(f"/v1/members/{member_id}/balance").json()
    assert (balance["available"], balance["debt"]) == (20, 0)
    assert client.post(f"/v1/members/{member_id}/redemptions", json={"points": 20, "reason": "x"}).status_code == 201


def test_get_event_returns_recorded_purchase_and_404(client: TestClient) -> None:
    enrol(client)
    made = purchase(client, "G-1", "9.00").json()
    assert client.get(f"/v1/events/{made['event_id']}").json()["award"]["points"] == 9
    assert client.get("/v1/events/999999999").status_code == 404
