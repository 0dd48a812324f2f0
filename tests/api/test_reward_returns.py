"""Rewards at the edges: a return meeting a free cashback grant whose money is spent, a policy changed
between returns, a coupon basket naming a member of another tenant, a voucher granted with no code left."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import TenantCtx, problem
from wafa.db import unit_of_work
from wafa.ledger.verify import verify


def _member(client: TestClient, external_id: str = "m-1") -> int:
    return client.post("/v1/members", json={"external_id": external_id}).json()["id"]


def _buy(client: TestClient, member_id: int, order_id: str, amount: str = "100.00"):  # type: ignore[no-untyped-def]
    return client.post("/v1/events", json={"type": "purchase", "member": {"id": member_id}, "order_id": order_id,
                                           "amount": amount, "currency": "SAR"})


def test_return_of_an_order_whose_free_cashback_was_spent_keeps_the_ledger_whole(
    client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    client.patch("/v1/program", json={"point_cost": "0.10"})
    client.post("/v1/rewards", json={"key": "cash-5", "name_en": "5 SAR", "name_ar": "٥ ريال", "points": 50,
                                     "gives": {"type": "cashback"}})
    client.post("/v1/rules", json={"name_en": "Gift", "name_ar": "هدية", "trigger": "purchase", "status": "active",
                                   "actions": [{"type": "issue_reward", "reward": "cash-5"}]})
    member_id = _member(client)
    assert _buy(client, member_id, "O-1").status_code == 201
    assert client.get(f"/v1/members/{member_id}/wallet").json()["currencies"][0]["available"] == "5.00"
    paid = client.post(f"/v1/members/{member_id}/wallet/debits", json={"amount": "5.00", "currency": "SAR", "reason": "till"})
    assert paid.status_code == 201
    back = client.post("/v1/events", json={"type": "return", "order_id": "O-1"})
    assert back.status_code == 201, back.text
    grants = client.get(f"/v1/members/{member_id}/reward-redemptions").json()["items"]
    assert [(g["source"], g["status"]) for g in grants] == [("rule", "issued")]  # spent: it stays
    with unit_of_work(factory) as session:
        assert verify(session, tenant_id=tenant.id).ok


def test_return_after_a_policy_change_never_gives_wallet_money_back_twice(client: TestClient) -> None:
    client.post("/v1/rules", json={"name_en": "Cashback", "name_ar": "استرداد", "trigger": "purchase", "status": "active",
                                   "actions": [{"type": "cashback", "percent": "50"}]})
    member_id = _member(client)
    _buy(client, member_id, "F-1", amount="60.00")  # 30.00 cashback, pending
    client.patch("/v1/program", json={"pending_days": 0})
    _buy(client, member_id, "F-2", amount="40.00")  # 20.00 available now
    client.post(f"/v1/members/{member_id}/wallet/debits",
                json={"amount": "20.00", "currency": "SAR", "reason": "till", "order_id": "O-9"})
    _buy(client, member_id, "O-9", amount="100.00")  # 50.00 more cashback
    client.patch("/v1/program", json={"return_restores": "none"})
    first = client.post("/v1/events", json={"type": "return", "order_id": "O-9", "amount": "50.00"}).json()
    assert first["reversal"]["payments_restored"] == []  # the merchant refunds this half in cash
    client.patch("/v1/program", json={"return_restores": "proportional"})
    second = client.post("/v1/events", json={"type": "return", "order_id": "O-9", "amount": "50.00"}).json()
    assert second["reversal"]["payments_restored"] == [{"method": "wallet", "amount": "10.00", "currency": "SAR"}]


def test_post_coupon_redeem_for_a_member_of_another_tenant_is_404(client: TestClient) -> None:
    made = client.post("/v1/coupon-campaigns", json={"name": "Ten", "discount": {"type": "percent", "percent": "10"}, "count": 1})
    code = client.get(f"/v1/coupon-campaigns/{made.json()['id']}/codes").text.splitlines()[1].split(",")[0]
    answer = client.post(f"/v1/coupons/{code}:redeem", json={"amount": "50.00", "currency": "SAR", "member_id": 987654})
    problem(answer, 404, "/problems/not-found", "member_id")


def test_voucher_granted_with_no_code_left_waits_for_the_next_upload(client: TestClient) -> None:
    reward = client.post("/v1/rewards", json={"key": "cinema", "name_en": "Cinema", "name_ar": "سينما", "points": 100,
                                              "gives": {"type": "voucher", "partner": "Riyadh Cinemas"}}).json()
    client.post("/v1/rules", json={"name_en": "Movie night", "name_ar": "ليلة سينما", "trigger": "purchase", "status": "active",
                                   "actions": [{"type": "issue_reward", "reward": "cinema"}]})
    member_id = _member(client)
    _buy(client, member_id, "V-1")
    grant = client.get(f"/v1/members/{member_id}/reward-redemptions").json()["items"][0]
    assert (grant["voucher_code"], grant["note"]) == (None, "awaiting a partner code")
    problem(client.post(f"/v1/reward-redemptions/{grant['id']}/use"), 409, "/problems/conflict")
    uploaded = client.post(f"/v1/rewards/{reward['id']}/vouchers", json={"codes": ["RC-1", "RC-2"]}).json()
    assert uploaded == {"imported": 2, "duplicates": 0, "available": 1}
    assert client.get(f"/v1/reward-redemptions/{grant['id']}").json()["voucher_code"] == "RC-1"
    assert client.post(f"/v1/reward-redemptions/{grant['id']}/use").json()["status"] == "used"
