"""The wallet over HTTP: cashback in, payments out at a till (never overdrawn, paid once per key),
and the statement."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import problem


def funded(client: TestClient, amount: str = "100.00") -> int:
    """A member whose wallet holds 10% of `amount` in SAR, from a cashback rule."""
    member_id = client.post("/v1/members", json={"external_id": "m-1"}).json()["id"]
    client.post("/v1/rules", json={"name_en": "Cashback", "name_ar": "استرداد", "trigger": "purchase", "status": "active",
                                   "actions": [{"type": "cashback", "percent": "10"}]})
    client.post("/v1/events", json={"type": "purchase", "member": {"id": member_id}, "order_id": "F-1", "amount": amount,
                                    "currency": "SAR"})
    return member_id


def pay(client: TestClient, member_id: int, amount: str, key: str | None = None, currency: str = "SAR"):  # type: ignore[no-untyped-def]
    headers = {"Idempotency-Key": key} if key else {}
    return client.post(f"/v1/members/{member_id}/wallet/debits", json={"amount": amount, "currency": currency, "reason": "till RUH-01"},
                       headers=headers)


def test_post_wallet_debit_pays_and_says_what_is_left(client: TestClient) -> None:
    member_id = funded(client)
    paid = pay(client, member_id, "4.25")
    assert paid.status_code == 201
    assert {k: paid.json()[k] for k in ("amount", "currency", "available")} == {"amount": "4.25", "currency": "SAR", "available": "5.75"}
    assert client.get(f"/v1/members/{member_id}/wallet").json()["currencies"][0]["available"] == "5.75"


def test_post_wallet_debit_beyond_the_balance_is_422(client: TestClient) -> None:
    member_id = funded(client)
    body = problem(pay(client, member_id, "10.01"), 422, "/problems/insufficient-funds", "amount")
    assert body["available"] == 1000
    assert problem(pay(client, member_id, "1.00", currency="USD"), 422, "/problems/insufficient-funds", "amount")


def test_post_wallet_debit_with_the_same_key_pays_once(client: TestClient) -> None:
    member_id = funded(client)
    first = pay(client, member_id, "3.00", key="till-1")
    again = pay(client, member_id, "3.00", key="till-1")
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert client.get(f"/v1/members/{member_id}/wallet").json()["currencies"][0]["available"] == "7.00"
    problem(pay(client, member_id, "4.00", key="till-1"), 409, "/problems/idempotency-key-reused")


def test_post_wallet_debit_bad_input_is_422(client: TestClient) -> None:
    member_id = funded(client)
    problem(pay(client, member_id, "0"), 422, "/problems/invalid-input", "amount")
    problem(pay(client, member_id, "1.005"), 422, "/problems/invalid-input", "amount")
    problem(pay(client, member_id, "-1"), 422, "/problems/invalid-input", "amount")


def test_post_wallet_debit_for_a_suspended_or_unknown_member(client: TestClient) -> None:
    member_id = funded(client)
    assert pay(client, 999_999, "1.00").status_code == 404
    client.post(f"/v1/members/{member_id}/suspend", json={"reason": "x"})
    problem(pay(client, member_id, "1.00"), 422, "/problems/member-not-active")


def test_get_wallet_entries_is_the_statement(client: TestClient) -> None:
    member_id = funded(client)
    pay(client, member_id, "2.00")
    pay(client, member_id, "1.00")
    page = client.get(f"/v1/members/{member_id}/wallet/entries", params={"limit": 2}).json()
    assert [(e["kind"], e["available"], e["pending"]) for e in page["items"]] == [("redeem", "-1.00", "0.00"), ("redeem", "-2.00", "0.00")]
    rest = client.get(f"/v1/members/{member_id}/wallet/entries", params={"cursor": page["next_cursor"]}).json()
    assert [(e["kind"], e["available"], e["currency"]) for e in rest["items"]] == [("cashback", "10.00", "SAR")]
    assert rest["next_cursor"] is None
    assert client.get("/v1/members/999999/wallet/entries").status_code == 404
