"""A coalition over HTTP: partners and their terms, partner keys, earning at one partner and spending
at another with the money each movement creates, returns, exchanges of a partner's own points, and
closing a period into statements that sum to zero."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from tests.conftest import problem

CAFE = {"key": "cafe", "name": "Qahwa Café", "name_ar": "مقهى قهوة", "currency": "SAR", "earn_rate": "2", "issue_price": "0.05",
        "redeem_value": "0.04", "issue_fee": "0.1", "redeem_fee": "0.05"}
PHARMACY = {"key": "pharmacy", "name": "Shifa Pharmacy", "currency": "SAR", "earn_rate": "1", "issue_price": "0.06",
            "redeem_value": "0.05", "own_points_name": "Shifa stars", "own_points_rate": 10}


def coalition(client: TestClient, policy: str = "operator") -> dict[str, dict]:
    """A coalition with a café (store RUH-CAFE-1) and a pharmacy, and a key for each."""
    assert client.put("/v1/coalition", json={"breakage_policy": policy}).status_code == 200
    out = {}
    for body in (CAFE, PHARMACY):
        partner = client.post("/v1/partners", json=body)
        assert partner.status_code == 201, partner.text
        key = client.post(f"/v1/partners/{partner.json()['id']}/keys", json={"name": f"{body['key']} tills"})
        assert key.status_code == 201, key.text
        out[body["key"]] = {**partner.json(), "secret": key.json()["secret"]}
    assert client.post(f"/v1/partners/{out['cafe']['id']}/stores", json={"code": "RUH-CAFE-1", "name": "Olaya"}).status_code == 201
    return out


def as_partner(client: TestClient, partner: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {partner['secret']}"}


def enrol(client: TestClient, partner: dict | None = None, external_id: str = "m-1") -> int:
    headers = as_partner(client, partner) if partner else {}
    response = client.post("/v1/members", json={"external_id": external_id}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def buy(client: TestClient, member_id: int, order: str, amount: str, at: dict | None = None, **extra: object):  # type: ignore[no-untyped-def]
    """A purchase, with the key of the partner `at` (None: the operator's key)."""
    headers = as_partner(client, at) if at else {}
    return client.post("/v1/events", json={"type": "purchase", "member": {"id": member_id}, "order_id": order, "amount": amount,
                                           "currency": "SAR", **extra}, headers=headers)


def test_put_coalition_and_partners_with_their_terms(client: TestClient) -> None:
    partners = coalition(client)
    assert client.get("/v1/coalition").json()["partners"] == 2
    listed = client.get("/v1/partners").json()["items"]
    assert [p["key"] for p in listed] == ["cafe", "pharmacy"]
    assert listed[0]["stores"] == [{"code": "RUH-CAFE-1", "name": "Olaya", "city": None}]
    changed = client.patch(f"/v1/partners/{partners['cafe']['id']}", json={"earn_rate": "3"})
    assert changed.status_code == 200 and changed.json()["earn_rate"] == "3"


def test_partner_terms_are_checked(client: TestClient) -> None:
    problem(client.post("/v1/partners", json=CAFE), 404, "/problems/not-found")  # not a coalition yet
    coalition(client)
    problem(client.post("/v1/partners", json=CAFE), 409, "/problems/conflict", "key")
    problem(client.post("/v1/partners", json={**CAFE, "key": "x", "issue_fee": "1.5"}), 422, "/problems/invalid-input", "issue_fee")
    problem(client.post("/v1/partners", json={**CAFE, "key": "x", "currency": "ZZZ"}), 422, "/problems/invalid-input", "currency")
    problem(client.post("/v1/partners", json={**CAFE, "key": "Bad Key"}), 422, "/problems/invalid-input", "key")
    problem(client.post("/v1/partners", json={**CAFE, "key": "x", "own_points_name": "stars"}), 422, "/problems/invalid-input")


def test_earning_at_a_partner_uses_its_rate_and_names_it(client: TestClient) -> None:
    partners = coalition(client)
    member_id = enrol(client, partners["cafe"])
    assert client.get(f"/v1/members/{member_id}").json()["partner_id"] == partners["cafe"]["id"]
    bought = buy(client, member_id, "1001", "100.00", partners["cafe"])
    assert bought.status_code == 201, bought.text
    assert bought.json()["order_id"] == "cafe:1001" and bought.json()["total_points"] == 200
    entry = client.get(f"/v1/members/{member_id}/entries").json()["items"][0]
    # 200 points at 0.05 SAR: the café owes 10.00 SAR, of which the operator's 10% commission is 1.00.
    assert entry["details"]["coalition"] == {"partner_id": partners["cafe"]["id"], "breakage": "operator", "points_charged": 200,
                                             "issue_price": "0.05", "currency": "SAR"}
    # The same order number at the pharmacy is another order.
    assert buy(client, member_id, "1001", "10.00", partners["pharmacy"]).json()["order_id"] == "pharmacy:1001"
    # An operator key names the partner, or a store of the partner's.
    assert buy(client, member_id, "1002", "10.00", partner_key="cafe").status_code == 422  # an unknown field
    assert buy(client, member_id, "1002", "10.00", None, partner="cafe").json()["order_id"] == "cafe:1002"
    assert buy(client, member_id, "1003", "10.00", None, store="RUH-CAFE-1").json()["order_id"] == "cafe:1003"


def test_a_partner_key_cannot_speak_for_another_partner(client: TestClient) -> None:
    partners = coalition(client)
    member_id = enrol(client)
    problem(buy(client, member_id, "1", "10.00", partners["pharmacy"], partner="cafe"), 403, "/problems/forbidden")
    problem(buy(client, member_id, "1", "10.00", partners["pharmacy"], store="RUH-CAFE-1"), 403, "/problems/forbidden")
    problem(buy(client, member_id, "1", "10.00", None, partner="nobody"), 422, "/problems/invalid-input", "partner")


def test_spending_at_another_partner_pays_it_and_statements_sum_to_zero(client: TestClient, clock) -> None:  # type: ignore[no-untyped-def]
    partners = coalition(client)
    member_id = enrol(client, partners["cafe"])
    buy(client, member_id, "1", "100.00", partners["cafe"])  # 200 points
    spent = client.post(f"/v1/members/{member_id}/redemptions", json={"points": 150, "reason": "till"},
                        headers=as_partner(client, partners["pharmacy"]))
    assert spent.status_code == 201, spent.text
    clock.advance(timedelta(days=40))
    period = clock.now().strftime("%Y-%m")
    early = client.post("/v1/coalition/settlements", json={"period": period})
    problem(early, 409, "/problems/conflict", "period")  # this month has not ended
    last = (clock.now().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    closed = client.post("/v1/coalition/settlements", json={"period": last})
    assert closed.status_code == 201, closed.text
    statements = {s["party"]: s for s in closed.json()["statements"]}
    cafe = statements[f"partner:{partners['cafe']['id']}"]
    pharmacy = statements[f"partner:{partners['pharmacy']['id']}"]
    # The café pays 200 x 0.05 = 10.00; the pharmacy is paid 150 x 0.05 = 7.50 (redeem_value 0.05), no commission.
    assert (cafe["net"], cafe["points_issued"]) == ("-10.00", 200)
    assert (pharmacy["net"], pharmacy["points_redeemed"]) == ("7.50", 150)
    total = sum(Decimal(s["net"]) for s in closed.json()["statements"])
    assert total == 0
    again = client.post("/v1/coalition/settlements", json={"period": last})
    assert again.status_code == 200 and again.json()["replayed"] is True
    assert again.json()["statements"] == closed.json()["statements"]


@pytest.mark.parametrize("fmt", ["csv", "pdf"])
def test_a_statement_exports_as_csv_and_pdf(client: TestClient, clock, fmt: str) -> None:  # type: ignore[no-untyped-def]
    partners = coalition(client)
    member_id = enrol(client)
    buy(client, member_id, "1", "100.00", partners["cafe"])
    clock.advance(timedelta(days=40))
    last = (clock.now().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    client.post("/v1/coalition/settlements", json={"period": last})
    statement = client.get(f"/v1/partners/{partners['cafe']['id']}/statements").json()["items"][0]
    got = client.get(f"/v1/statements/{statement['id']}.{fmt}", headers=as_partner(client, partners["cafe"]))
    assert got.status_code == 200, got.text
    if fmt == "csv":
        assert "net,positive: the operator pays the partner,,-10.00" in got.text
    else:
        assert got.content.startswith(b"%PDF")
    problem(client.get(f"/v1/statements/{statement['id']}.{fmt}", headers=as_partner(client, partners["pharmacy"])), 404, "/problems/not-found")
