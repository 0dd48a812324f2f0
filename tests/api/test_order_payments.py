"""Wallet money and coupons that paid an order, and what returns of that order give back: the returned
share of the wallet money (cumulatively, never more than was paid) and the coupon's use once the whole
order is back, per the program's `return_restores` policy, exactly once."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import problem


def funded(client: TestClient, amount: str = "200.00") -> int:
    """A member whose wallet holds 10% of `amount` in SAR, from cashback on a purchase at the FUND store."""
    member_id = client.post("/v1/members", json={"external_id": "m-1"}).json()["id"]
    client.post("/v1/rules", json={"name_en": "Cashback", "name_ar": "استرداد", "trigger": "purchase", "status": "active",
                                   "conditions": [{"type": "store", "any_of": ["FUND"]}],
                                   "actions": [{"type": "cashback", "percent": "10"}]})
    buy(client, "F-1", amount, store="FUND")
    return member_id


def buy(client: TestClient, order_id: str, amount: str, **extra: object) -> None:
    bought = client.post("/v1/events", json={"type": "purchase", "member": {"external_id": "m-1"}, "order_id": order_id, "amount": amount,
                                             "currency": "SAR", **extra})
    assert bought.status_code == 201, bought.text


def pay(client: TestClient, member_id: int, amount: str, order_id: str) -> None:
    paid = client.post(f"/v1/members/{member_id}/wallet/debits",
                       json={"amount": amount, "currency": "SAR", "reason": "till RUH-01", "order_id": order_id})
    assert paid.status_code == 201, paid.text


def give_back(client: TestClient, order_id: str, **extra: object):  # type: ignore[no-untyped-def]
    return client.post("/v1/events", json={"type": "return", "order_id": order_id, **extra})


def restored(response) -> list[dict]:  # type: ignore[no-untyped-def,type-arg]
    assert response.status_code in (200, 201), response.text
    return response.json()["reversal"]["payments_restored"]


def wallet(client: TestClient, member_id: int) -> str:
    return client.get(f"/v1/members/{member_id}/wallet").json()["currencies"][0]["available"]


def coupon_code(client: TestClient) -> str:
    """A single-use 10.00 SAR coupon of a campaign."""
    made = client.post("/v1/coupon-campaigns", json={"name": "Welcome", "discount": {"type": "fixed", "amount": "10.00"}, "count": 1})
    return client.get(f"/v1/coupon-campaigns/{made.json()['id']}/codes").text.splitlines()[1].split(",")[0]


def use(client: TestClient, code: str, order_id: str, amount: str = "110.00"):  # type: ignore[no-untyped-def]
    return client.post(f"/v1/coupons/{code}:redeem", json={"amount": amount, "currency": "SAR", "order_id": order_id})


def wallet_back(amount: str) -> dict[str, str]:
    return {"method": "wallet", "amount": amount, "currency": "SAR"}


def test_partial_returns_give_back_the_returned_share_of_wallet_money_cumulatively(client: TestClient) -> None:
    member_id = funded(client)
    buy(client, "O-1", "100.00")
    pay(client, member_id, "10.00", "O-1")
    assert wallet(client, member_id) == "10.00"
    # A third of the order each time: 3.33, 3.33, then 3.34, so the whole 10.00 and no more comes back.
    assert restored(give_back(client, "O-1", amount="33.33")) == [wallet_back("3.33")]
    assert restored(give_back(client, "O-1", amount="33.33")) == [wallet_back("3.33")]
    assert wallet(client, member_id) == "16.66"
    assert restored(give_back(client, "O-1")) == [wallet_back("3.34")]
    assert wallet(client, member_id) == "20.00"
    problem(give_back(client, "O-1"), 422, "/problems/invalid-input", "order_id")
    assert wallet(client, member_id) == "20.00"


def test_small_partial_returns_never_give_back_more_than_was_paid(client: TestClient) -> None:
    member_id = funded(client)
    buy(client, "O-1", "3.00")
    pay(client, member_id, "1.00", "O-1")
    # Each 1.00 return is worth 0.333...: rounded down as it goes, the sum lands on 1.00 exactly.
    backs = [restored(give_back(client, "O-1", amount="1.00")) for _ in range(3)]
    assert backs == [[wallet_back("0.33")], [wallet_back("0.33")], [wallet_back("0.34")]]
    assert wallet(client, member_id) == "20.00"


def test_return_by_items_gives_back_the_items_share_of_wallet_money(client: TestClient) -> None:
    member_id = funded(client)
    items = [{"sku": "SHIRT", "quantity": 2, "unit_price": "30.00"}, {"sku": "BELT", "quantity": 1, "unit_price": "40.00"}]
    buy(client, "O-1", "100.00", items=items)
    pay(client, member_id, "20.00", "O-1")
    assert restored(give_back(client, "O-1", items=[{"sku": "BELT", "quantity": 1}])) == [wallet_back("8.00")]
    assert restored(give_back(client, "O-1", items=[{"sku": "SHIRT", "quantity": 2}])) == [wallet_back("12.00")]
    assert wallet(client, member_id) == "20.00"


def test_coupon_use_comes_back_only_with_the_whole_order(client: TestClient) -> None:
    funded(client)
    code = coupon_code(client)
    buy(client, "O-1", "100.00")
    assert use(client, code, "O-1").status_code == 201
    assert restored(give_back(client, "O-1", amount="60.00")) == []
    problem(use(client, code, "O-2"), 409, "/problems/coupon-used")
    assert restored(give_back(client, "O-1")) == [{"method": "coupon", "code": code, "amount": "10.00", "currency": "SAR"}]
    coupon = client.get(f"/v1/coupons/{code}").json()
    assert (coupon["uses"], coupon["status"]) == (0, "active")
    assert use(client, code, "O-2").status_code == 201


def test_whole_return_restores_wallet_money_and_a_members_reward_coupon(client: TestClient) -> None:
    member_id = funded(client)
    reward = client.post("/v1/rewards", json={"key": "off", "name_en": "10 off", "name_ar": "خصم", "points": 0,
                                              "gives": {"type": "coupon", "discount": {"type": "fixed", "amount": "10.00"}}}).json()
    redemption = client.post(f"/v1/members/{member_id}/reward-redemptions", json={"reward_id": reward["id"]}).json()
    code = redemption["coupon"]["code"]
    buy(client, "O-1", "100.00")
    pay(client, member_id, "15.00", "O-1")
    assert use(client, code, "O-1").status_code == 201
    assert client.get(f"/v1/reward-redemptions/{redemption['id']}").json()["status"] == "used"
    assert restored(give_back(client, "O-1")) == [
        wallet_back("15.00"), {"method": "coupon", "code": code, "amount": "10.00", "currency": "SAR"},
    ]
    assert wallet(client, member_id) == "20.00"
    assert client.get(f"/v1/reward-redemptions/{redemption['id']}").json()["status"] == "issued"


def test_return_restores_nothing_under_policy_none(client: TestClient) -> None:
    member_id = funded(client)
    code = coupon_code(client)
    assert client.patch("/v1/program", json={"return_restores": "none"}).status_code == 200
    buy(client, "O-1", "100.00")
    pay(client, member_id, "10.00", "O-1")
    use(client, code, "O-1")
    assert restored(give_back(client, "O-1", amount="50.00")) == []
    assert restored(give_back(client, "O-1")) == []
    assert wallet(client, member_id) == "10.00"
    assert client.get(f"/v1/coupons/{code}").json()["status"] == "used"


def test_replayed_return_restores_nothing_twice(client: TestClient) -> None:
    member_id = funded(client)
    code = coupon_code(client)
    buy(client, "O-1", "100.00")
    pay(client, member_id, "10.00", "O-1")
    use(client, code, "O-1")
    first = give_back(client, "O-1", return_id="RET-1", amount="40.00")
    again = give_back(client, "O-1", return_id="RET-1", amount="40.00")
    assert (first.status_code, again.status_code) == (201, 200)
    assert restored(first) == restored(again) == [wallet_back("4.00")]
    assert wallet(client, member_id) == "14.00"
    last = give_back(client, "O-1", return_id="RET-2")
    assert restored(last) == [wallet_back("6.00"), {"method": "coupon", "code": code, "amount": "10.00", "currency": "SAR"}]
    assert restored(give_back(client, "O-1", return_id="RET-2")) == restored(last)
    assert wallet(client, member_id) == "20.00"
    assert client.get(f"/v1/coupons/{code}").json()["uses"] == 0


def test_a_replayed_wallet_payment_is_given_back_once(client: TestClient) -> None:
    member_id = funded(client)
    buy(client, "O-1", "100.00")
    body = {"amount": "10.00", "currency": "SAR", "reason": "till RUH-01", "order_id": "O-1"}
    for _ in range(2):
        paid = client.post(f"/v1/members/{member_id}/wallet/debits", json=body, headers={"Idempotency-Key": "till-1-sale-4"})
        assert paid.status_code == 201
    assert wallet(client, member_id) == "10.00"
    assert restored(give_back(client, "O-1")) == [wallet_back("10.00")]
    assert wallet(client, member_id) == "20.00"
