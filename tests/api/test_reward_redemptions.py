"""Redeeming rewards over HTTP: what each kind issues, the points spent, replays, locks and stock,
cancelling, gift fulfilment, privileges, and a member's list of rewards."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient

from tests.conftest import make_tenant, problem

CODE = re.compile(r"^[ABCDEFGHJKMNPQRSTVWXYZ23456789]{10,}$")
GIFT = {"type": "gift", "sku": "MUG"}


def add(client: TestClient, key: str, gives: dict, points: int = 100, **fields: object) -> dict:  # type: ignore[type-arg]
    body = {"key": key, "name_en": key.title(), "name_ar": "مكافأة", "points": points, "gives": gives, **fields}
    made = client.post("/v1/rewards", json=body)
    assert made.status_code == 201, made.text
    return made.json()


def enrol(client: TestClient, external_id: str = "m-1", points: int = 1000) -> int:
    member_id = client.post("/v1/members", json={"external_id": external_id}).json()["id"]
    if points:
        client.post(f"/v1/members/{member_id}/adjustments", json={"points": points, "reason": "opening balance"})
    return member_id


def redeem(client: TestClient, member_id: int, reward: dict, key: str | None = None, **fields: object):  # type: ignore[no-untyped-def]
    headers = {"Idempotency-Key": key} if key else {}
    return client.post(f"/v1/members/{member_id}/reward-redemptions", json={"reward_id": reward["id"], **fields}, headers=headers)


def act(client: TestClient, redemption_id: int, action: str, **body: object):  # type: ignore[no-untyped-def]
    return client.post(f"/v1/reward-redemptions/{redemption_id}/{action}", json=body or None)


def balance(client: TestClient, member_id: int) -> int:
    return client.get(f"/v1/members/{member_id}/balance").json()["available"]


def wallet(client: TestClient, member_id: int) -> str:
    currencies = client.get(f"/v1/members/{member_id}/wallet").json()["currencies"]
    return currencies[0]["available"] if currencies else "0.00"


def points_entries(client: TestClient, member_id: int) -> list[dict]:  # type: ignore[type-arg]
    return [e for e in client.get(f"/v1/members/{member_id}/entries").json()["items"] if e["points"]]


# --- what each kind issues --------------------------------------------------------------------


def test_redeem_coupon_reward_issues_a_code_and_spends_the_points_in_one_entry(client: TestClient) -> None:
    member_id = enrol(client)
    reward = add(client, "ten-off", {"type": "coupon", "discount": {"type": "fixed", "amount": "10.00", "min_order": "50.00"}}, points=300)
    made = redeem(client, member_id, reward)
    assert made.status_code == 201, made.text
    body = made.json()
    assert (body["source"], body["points"], body["status"], body["balance"]) == ("points", 300, "issued", 700)
    assert body["reward"] == {"id": reward["id"], "key": "ten-off", "kind": "coupon", "name": {"en": "Ten-Off", "ar": "مكافأة"}}
    coupon = body["coupon"]
    assert CODE.fullmatch(coupon["code"]), coupon["code"]
    assert {k: coupon[k] for k in ("max_uses", "uses", "status", "member_id", "valid_until")} == {
        "max_uses": 1, "uses": 0, "status": "active", "member_id": member_id, "valid_until": "2026-03-31T09:00:00Z",
    }
    assert coupon["discount"] == {"type": "fixed", "currency": "SAR", "amount": "10.00", "min_order": "50.00"}
    assert body["expires_at"] == "2026-03-31T09:00:00Z"
    spent = points_entries(client, member_id)[0]
    assert (spent["kind"], spent["points"], spent["reason"]) == ("redeem", -300, "reward: Ten-Off")
    assert {k: spent["details"][k] for k in ("reward_id", "reward_key", "redemption_id")} == {
        "reward_id": reward["id"], "reward_key": "ten-off", "redemption_id": body["id"],
    }
    assert len(points_entries(client, member_id)) == 2  # the opening balance and the one redemption
    assert client.get(f"/v1/reward-redemptions/{body['id']}").json() == {**body, "balance": None}


def test_redeem_free_product_reward_issues_a_coupon_for_the_product(client: TestClient) -> None:
    member_id = enrol(client)
    reward = add(client, "free-latte", {"type": "free_product", "sku": "LATTE"}, points=150)
    coupon = redeem(client, member_id, reward).json()["coupon"]
    assert coupon["discount"] == {"type": "free_product", "currency": "SAR", "sku": "LATTE", "quantity": 1}
    basket = {"amount": "30.00", "currency": "SAR", "items": [{"sku": "LATTE", "quantity": 2, "unit_price": "14.00"},
                                                               {"sku": "CAKE", "quantity": 1, "unit_price": "2.00"}]}
    assert client.post(f"/v1/coupons/{coupon['code']}:validate", json=basket).json()["discount"] == "14.00"


def test_redeem_cashback_reward_pays_its_points_into_the_wallet(client: TestClient) -> None:
    member_id = enrol(client)
    reward = add(client, "cash", {"type": "cashback", "rate": "0.01"}, points=500)
    body = redeem(client, member_id, reward).json()
    assert (body["points"], body["wallet_amount"], body["balance"]) == (500, "5.00", 500)
    assert wallet(client, member_id) == "5.00"


def test_redeem_cashback_reward_converts_the_points_asked_within_minimum_and_step(client: TestClient) -> None:
    client.patch("/v1/program", json={"min_redemption": 300, "redemption_step": 100})
    member_id = enrol(client, points=2000)
    reward = add(client, "cash", {"type": "cashback", "rate": "0.015"}, points=200)
    problem(redeem(client, member_id, reward, points=200), 422, "/problems/invalid-input", "points")
    problem(redeem(client, member_id, reward, points=750), 422, "/problems/invalid-input", "points")
    body = redeem(client, member_id, reward, points=700).json()
    assert (body["points"], body["wallet_amount"], body["balance"]) == (700, "10.50", 1300)
    problem(redeem(client, member_id, reward, points=1400), 422, "/problems/reward-locked")
    assert (balance(client, member_id), wallet(client, member_id)) == (1300, "10.50")


def test_redeem_points_on_a_reward_that_is_not_cashback_is_422(client: TestClient) -> None:
    member_id = enrol(client)
    problem(redeem(client, member_id, add(client, "mug", GIFT), points=200), 422, "/problems/invalid-input", "points")
    assert balance(client, member_id) == 1000


def test_fulfil_gift_requested_shipped_delivered(client: TestClient) -> None:
    member_id = enrol(client)
    body = redeem(client, member_id, add(client, "mug", GIFT), note="Riyadh, Olaya St 12").json()
    assert (body["fulfilment"], body["status"], body["note"]) == ("requested", "issued", "Riyadh, Olaya St 12")
    shipped = act(client, body["id"], "fulfilment", status="shipped", note="SMSA 123456")
    assert (shipped.status_code, shipped.json()["fulfilment"], shipped.json()["note"]) == (200, "shipped", "SMSA 123456")
    delivered = act(client, body["id"], "fulfilment", status="delivered").json()
    assert (delivered["fulfilment"], delivered["status"]) == ("delivered", "used")


def test_fulfil_gift_illegal_transitions_are_409(client: TestClient) -> None:
    member_id = enrol(client)
    gift = add(client, "mug", GIFT)
    first = redeem(client, member_id, gift).json()
    act(client, first["id"], "fulfilment", status="shipped")
    problem(act(client, first["id"], "fulfilment", status="shipped"), 409, "/problems/conflict")
    problem(act(client, first["id"], "fulfilment", status="cancelled"), 409, "/problems/conflict")
    problem(act(client, first["id"], "cancel"), 409, "/problems/conflict")
    act(client, first["id"], "fulfilment", status="delivered")
    problem(act(client, first["id"], "fulfilment", status="shipped"), 409, "/problems/conflict")
    problem(act(client, first["id"], "fulfilment", status="delivered"), 409, "/problems/conflict")
    assert balance(client, member_id) == 900
    cancelled = act(client, redeem(client, member_id, gift).json()["id"], "fulfilment", status="cancelled").json()
    assert (cancelled["fulfilment"], cancelled["status"], balance(client, member_id)) == ("cancelled", "cancelled", 900)
    problem(act(client, cancelled["id"], "fulfilment", status="shipped"), 409, "/problems/conflict")


def test_fulfil_or_use_a_reward_of_the_wrong_kind_is_422(client: TestClient) -> None:
    member_id = enrol(client)
    privilege = redeem(client, member_id, add(client, "lounge", {"type": "privilege"})).json()
    problem(act(client, privilege["id"], "fulfilment", status="shipped"), 422, "/problems/invalid-input", "status")
    coupon = redeem(client, member_id, add(client, "off", {"type": "coupon", "discount": {"type": "fixed", "amount": "5.00"}})).json()
    problem(act(client, coupon["id"], "use"), 422, "/problems/invalid-input", "redemption_id")
    assert client.get(f"/v1/reward-redemptions/{coupon['id']}").json()["status"] == "issued"


def test_redeem_voucher_reward_hands_out_one_code_per_redemption(client: TestClient) -> None:
    member_id = enrol(client)
    other = enrol(client, "m-2")
    reward = add(client, "careem", {"type": "voucher", "partner": "Careem"})
    client.post(f"/v1/rewards/{reward['id']}/vouchers", json={"codes": ["CAR-1", "CAR-2", "CAR-3"]})
    codes = [redeem(client, member_id, reward).json()["voucher_code"], redeem(client, other, reward).json()["voucher_code"]]
    assert codes == ["CAR-1", "CAR-2"]
    # A cancelled redemption's code was seen by the member: it is revoked, not handed to someone else.
    act(client, client.get(f"/v1/members/{other}/reward-redemptions").json()["items"][0]["id"], "cancel")
    assert client.get(f"/v1/rewards/{reward['id']}").json()["stock"] == 1
    assert redeem(client, other, reward).json()["voucher_code"] == "CAR-3"


def test_redeem_privilege_expires_and_is_used_once(client: TestClient, clock) -> None:  # type: ignore[no-untyped-def]
    member_id = enrol(client)
    reward = add(client, "lounge", {"type": "privilege", "valid_days": 7})
    first = redeem(client, member_id, reward).json()
    assert (first["expires_at"], first["status"]) == ("2026-03-08T09:00:00Z", "issued")
    used = act(client, first["id"], "use")
    assert (used.status_code, used.json()["status"]) == (200, "used")
    problem(act(client, first["id"], "use"), 409, "/problems/conflict")
    late = redeem(client, member_id, reward).json()
    clock.advance(timedelta(days=7))
    problem(act(client, late["id"], "use"), 409, "/problems/conflict")


# --- replays, locks, stock, limits ------------------------------------------------------------


def test_redeem_with_the_same_idempotency_key_redeems_once(client: TestClient) -> None:
    member_id = enrol(client)
    reward = add(client, "mug", GIFT, stock=5)
    first = redeem(client, member_id, reward, key="till-7")
    again = redeem(client, member_id, reward, key="till-7")
    assert (first.status_code, again.status_code, again.headers["Idempotent-Replayed"]) == (201, 201, "true")
    assert again.json() == first.json()
    assert len(client.get(f"/v1/members/{member_id}/reward-redemptions").json()["items"]) == 1
    assert (balance(client, member_id), client.get(f"/v1/rewards/{reward['id']}").json()["stock"]) == (900, 4)
    other = add(client, "pen", GIFT)
    problem(redeem(client, member_id, other, key="till-7"), 409, "/problems/idempotency-key-reused")


def test_redeem_a_locked_reward_is_422_with_the_locks(client: TestClient) -> None:
    member_id = enrol(client, points=100)
    reward = add(client, "mug", GIFT, points=300)
    body = problem(redeem(client, member_id, reward), 422, "/problems/reward-locked", "reward_id")
    assert body["locked"] == [{"code": "points", "message": "you have 100 of 300 points"}]
    client.post(f"/v1/members/{member_id}/suspend", json={"reason": "fraud check"})
    body = problem(redeem(client, member_id, reward), 422, "/problems/reward-locked", "reward_id")
    assert [lock["code"] for lock in body["locked"]] == ["member", "points"]
    assert (balance(client, member_id), client.get(f"/v1/members/{member_id}/reward-redemptions").json()["items"]) == (100, [])


def test_redeem_the_last_one_gone_is_409_out_of_stock(client: TestClient) -> None:
    first, second = enrol(client), enrol(client, "m-2")
    reward = add(client, "mug", GIFT, stock=1)
    assert redeem(client, first, reward).status_code == 201
    problem(redeem(client, second, reward), 409, "/problems/out-of-stock")
    assert (balance(client, second), client.get(f"/v1/rewards/{reward['id']}").json()["stock"]) == (1000, 0)


def test_redeem_beyond_the_members_limit_is_422_until_the_next_period(client: TestClient, clock) -> None:  # type: ignore[no-untyped-def]
    member_id = enrol(client)
    reward = add(client, "mug", GIFT, limit={"count": 2, "period": "month"})
    assert [redeem(client, member_id, reward).status_code for _ in range(2)] == [201, 201]
    body = problem(redeem(client, member_id, reward), 422, "/problems/reward-locked")
    assert body["locked"] == [{"code": "limit", "message": "limit reached: 2 a month"}]
    # A cancelled redemption does not count against the limit.
    act(client, client.get(f"/v1/members/{member_id}/reward-redemptions").json()["items"][0]["id"], "cancel")
    assert redeem(client, member_id, reward).status_code == 201
    assert redeem(client, enrol(client, "m-2"), reward).status_code == 201
    clock.advance(timedelta(days=31))
    assert redeem(client, member_id, reward).status_code == 201


def test_redeem_daily_limit_resets_at_the_programs_midnight(client: TestClient, clock) -> None:  # type: ignore[no-untyped-def]
    client.patch("/v1/program", json={"timezone": "Asia/Riyadh"})
    member_id = enrol(client)
    reward = add(client, "mug", GIFT, limit={"count": 1, "period": "day"})
    assert redeem(client, member_id, reward).status_code == 201  # 12:00 in Riyadh
    clock.advance(timedelta(hours=11, minutes=59))  # 23:59 in Riyadh, 20:59 UTC
    problem(redeem(client, member_id, reward), 422, "/problems/reward-locked")
    clock.advance(timedelta(minutes=1))  # midnight in Riyadh, still the same UTC day
    assert redeem(client, member_id, reward).status_code == 201


def test_redeem_or_cancel_unknown_things_or_both_ids_is_refused(client: TestClient) -> None:
    member_id = enrol(client)
    reward = add(client, "mug", GIFT)
    problem(redeem(client, 999999, reward), 404, "/problems/not-found")
    unknown = client.post(f"/v1/members/{member_id}/reward-redemptions", json={"reward_key": "nope"})
    problem(unknown, 404, "/problems/not-found", "reward_key")
    both = client.post(f"/v1/members/{member_id}/reward-redemptions", json={"reward_id": reward["id"], "reward_key": "mug"})
    problem(both, 422, "/problems/invalid-input")
    by_key = client.post(f"/v1/members/{member_id}/reward-redemptions", json={"reward_key": "mug"})
    assert (by_key.status_code, by_key.json()["reward"]["id"]) == (201, reward["id"])
    problem(act(client, 999999, "cancel"), 404, "/problems/not-found")
    problem(client.get("/v1/reward-redemptions/999999"), 404, "/problems/not-found")


# --- cancel -----------------------------------------------------------------------------------


def test_cancel_gives_back_points_and_stock_once(client: TestClient) -> None:
    member_id = enrol(client)
    reward = add(client, "off", {"type": "coupon", "discount": {"type": "fixed", "amount": "10.00"}}, points=400, stock=3)
    body = redeem(client, member_id, reward).json()
    assert (balance(client, member_id), client.get(f"/v1/rewards/{reward['id']}").json()["stock"]) == (600, 2)
    cancelled = act(client, body["id"], "cancel")
    assert (cancelled.status_code, cancelled.json()["status"], cancelled.json()["balance"]) == (200, "cancelled", 1000)
    assert cancelled.json()["coupon"]["status"] == "cancelled"
    assert (balance(client, member_id), client.get(f"/v1/rewards/{reward['id']}").json()["stock"]) == (1000, 3)
    assert points_entries(client, member_id)[0]["points"] == 400
    problem(act(client, body["id"], "cancel"), 409, "/problems/conflict")
    assert (balance(client, member_id), client.get(f"/v1/rewards/{reward['id']}").json()["stock"]) == (1000, 3)
    # The cancelled coupon no longer works at a till.
    till = client.post(f"/v1/coupons/{body['coupon']['code']}:redeem", json={"amount": "50.00", "currency": "SAR"})
    problem(till, 422, "/problems/coupon-not-usable")


def test_cancel_after_the_coupon_was_used_is_409(client: TestClient) -> None:
    member_id = enrol(client)
    body = redeem(client, member_id, add(client, "off", {"type": "coupon", "discount": {"type": "fixed", "amount": "10.00"}})).json()
    used = client.post(f"/v1/coupons/{body['coupon']['code']}:redeem", json={"amount": "50.00", "currency": "SAR", "order_id": "O-1"})
    assert used.status_code == 201
    assert client.get(f"/v1/reward-redemptions/{body['id']}").json()["status"] == "used"
    problem(act(client, body["id"], "cancel"), 409, "/problems/conflict")
    assert balance(client, member_id) == 900


def test_cancel_cashback_after_the_money_was_spent_is_409(client: TestClient) -> None:
    member_id = enrol(client)
    body = redeem(client, member_id, add(client, "cash", {"type": "cashback", "rate": "0.01"}, points=1000)).json()
    client.post(f"/v1/members/{member_id}/wallet/debits", json={"amount": "4.00", "currency": "SAR", "reason": "till RUH-01"})
    problem(act(client, body["id"], "cancel"), 409, "/problems/conflict")
    assert (balance(client, member_id), wallet(client, member_id)) == (0, "6.00")


def test_cancel_unspent_cashback_takes_the_money_back(client: TestClient) -> None:
    member_id = enrol(client)
    body = redeem(client, member_id, add(client, "cash", {"type": "cashback", "rate": "0.01"}, points=1000)).json()
    assert act(client, body["id"], "cancel").status_code == 200
    assert (balance(client, member_id), wallet(client, member_id)) == (1000, "0.00")


def test_redeem_paying_the_money_part_from_the_wallet_and_cancel_refunds_it(client: TestClient) -> None:
    member_id = enrol(client, points=1500)
    redeem(client, member_id, add(client, "cash", {"type": "cashback", "rate": "0.01"}, points=1000))
    reward = add(client, "mug", GIFT, points=200, money="7.50")
    body = redeem(client, member_id, reward, pay_money_from_wallet=True).json()
    assert (body["money"], body["currency"], body["balance"]) == ("7.50", "SAR", 300)
    assert wallet(client, member_id) == "2.50"
    problem(redeem(client, member_id, reward, pay_money_from_wallet=True), 422, "/problems/insufficient-funds")
    assert (balance(client, member_id), wallet(client, member_id)) == (300, "2.50")
    act(client, body["id"], "cancel")
    assert (balance(client, member_id), wallet(client, member_id)) == (500, "10.00")


# --- a member's rewards -----------------------------------------------------------------------


def test_list_member_redemptions_newest_first_with_a_cursor(client: TestClient) -> None:
    member_id = enrol(client)
    other = enrol(client, "m-2")
    keys = ["a", "b", "c"]
    for key in keys:
        redeem(client, member_id, add(client, key, GIFT))
    redeem(client, other, add(client, "d", GIFT))
    first = client.get(f"/v1/members/{member_id}/reward-redemptions", params={"limit": 2}).json()
    rest = client.get(f"/v1/members/{member_id}/reward-redemptions", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [r["reward"]["key"] for r in first["items"]] == ["c", "b"]
    assert [r["reward"]["key"] for r in rest["items"]] == ["a"] and rest["next_cursor"] is None
    problem(client.get("/v1/members/999999/reward-redemptions"), 404, "/problems/not-found")


def test_redeem_and_read_from_another_tenant_is_404(client: TestClient, factory, clock) -> None:  # type: ignore[no-untyped-def]
    member_id = enrol(client)
    reward = add(client, "off", {"type": "coupon", "discount": {"type": "fixed", "amount": "10.00"}})
    body = redeem(client, member_id, reward).json()
    other = {"Authorization": f"Bearer {make_tenant(factory, clock.now()).admin_key}"}
    problem(client.get(f"/v1/rewards/{reward['id']}", headers=other), 404, "/problems/not-found")
    problem(client.get(f"/v1/reward-redemptions/{body['id']}", headers=other), 404, "/problems/not-found")
    problem(client.post(f"/v1/reward-redemptions/{body['id']}/cancel", headers=other), 404, "/problems/not-found")
    problem(client.get(f"/v1/coupons/{body['coupon']['code']}", headers=other), 404, "/problems/not-found")
    problem(client.post(f"/v1/members/{member_id}/reward-redemptions", json={"reward_id": reward["id"]}, headers=other),
            404, "/problems/not-found")
    assert client.get("/v1/rewards", headers=other).json()["items"] == []
    assert client.get(f"/v1/reward-redemptions/{body['id']}").json()["status"] == "issued"
