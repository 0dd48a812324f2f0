"""The walkthrough of the README: enrol, purchase, return, redeem."""

from fastapi.testclient import TestClient


def test_enrol_purchase_return_redeem(client: TestClient) -> None:
    member = client.post("/v1/members", json={"external_id": "C-1", "name": "Layla"}).json()
    purchase = client.post(
        "/v1/events",
        json={"type": "purchase", "member": {"external_id": "C-1"}, "order_id": "A-1", "amount": "200.00", "currency": "SAR"},
    )
    assert purchase.status_code == 201, purchase.text
    assert purchase.json()["award"] == {**purchase.json()["award"], "points": 200, "status": "available"}
    back = client.post("/v1/events", json={"type": "return", "order_id": "A-1", "amount": "50.00"})
    assert back.status_code == 201, back.text
    assert back.json()["reversal"]["points"] == 50
    spent = client.post(f"/v1/members/{member['id']}/redemptions", json={"points": 100, "reason": "coffee"})
    assert spent.status_code == 201, spent.text
    balance = client.get(f"/v1/members/{member['id']}/balance").json()
    assert (balance["available"], balance["pending"]) == (50, 0)
