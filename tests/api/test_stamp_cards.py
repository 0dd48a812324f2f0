"""Stamp cards over HTTP: rules put stamps on a member's cards, a full card issues its reward at once
and the overflow starts the next card; returns take stamps back and cancel rewards not yet used. Rules
that issue a catalog reward, and what a return does to it."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import problem

FREE_LATTE = {"type": "free_product", "sku": "LATTE"}


def add_reward(client: TestClient, key: str, gives: dict, points: int = 0) -> int:  # type: ignore[type-arg]
    made = client.post("/v1/rewards", json={"key": key, "name_en": key.title(), "name_ar": "مكافأة", "points": points, "gives": gives})
    assert made.status_code == 201, made.text
    return made.json()["id"]


def add_card(client: TestClient, key: str, stamps_needed: int, reward_id: int):  # type: ignore[no-untyped-def]
    return client.post("/v1/stamp-cards", json={"key": key, "name_en": key.title(), "name_ar": "بطاقة", "stamps_needed": stamps_needed,
                                                "reward_id": reward_id})


def stamps_rule(client: TestClient, card: str, category: str) -> None:
    made = client.post("/v1/rules", json={
        "name_en": f"{card} stamps", "name_ar": "أختام", "trigger": "purchase", "status": "active",
        "actions": [{"type": "stamps", "card": card, "per_item": True, "match": {"categories": [category]}}],
    })
    assert made.status_code == 201, made.text


def coffee_card(client: TestClient, stamps_needed: int = 5) -> int:
    """A member, a coffee card of `stamps_needed` stamps giving a free latte, and a rule stamping each coffee."""
    member_id = client.post("/v1/members", json={"external_id": "m-1"}).json()["id"]
    assert add_card(client, "coffee", stamps_needed, add_reward(client, "free-latte", FREE_LATTE)).status_code == 201
    stamps_rule(client, "coffee", "coffee")
    return member_id


def buy(client: TestClient, order_id: str, *items: tuple[str, str, int]):  # type: ignore[no-untyped-def]
    lines = [{"sku": sku, "category": category, "quantity": quantity, "unit_price": "10.00"} for sku, category, quantity in items]
    amount = f"{10 * sum(quantity for _, _, quantity in items)}.00"
    bought = client.post("/v1/events", json={"type": "purchase", "member": {"external_id": "m-1"}, "order_id": order_id, "amount": amount,
                                             "currency": "SAR", "items": lines})
    assert bought.status_code == 201, bought.text
    return bought.json()


def give_back(client: TestClient, order_id: str, **extra: object) -> dict:  # type: ignore[type-arg]
    returned = client.post("/v1/events", json={"type": "return", "order_id": order_id, **extra})
    assert returned.status_code == 201, returned.text
    return returned.json()


def progress(client: TestClient, member_id: int) -> dict[str, tuple[int, int, int]]:
    cards = client.get(f"/v1/members/{member_id}/stamp-cards").json()["cards"]
    return {c["card"]["key"]: (c["stamps"], c["completed"], c["total_stamps"]) for c in cards}


def rewards_of(client: TestClient, member_id: int) -> list[tuple[str, str, str]]:
    items = client.get(f"/v1/members/{member_id}/reward-redemptions").json()["items"]
    return [(r["reward"]["key"], r["source"], r["status"]) for r in reversed(items)]


def test_create_and_list_stamp_cards(client: TestClient) -> None:
    reward_id = add_reward(client, "free-latte", FREE_LATTE)
    made = add_card(client, "coffee", 8, reward_id)
    assert made.status_code == 201
    body = made.json()
    assert {k: body[k] for k in ("key", "name", "stamps_needed", "reward_id", "status")} == {
        "key": "coffee", "name": {"en": "Coffee", "ar": "بطاقة"}, "stamps_needed": 8, "reward_id": reward_id, "status": "active",
    }
    add_card(client, "sandwich", 5, reward_id)
    assert [c["key"] for c in client.get("/v1/stamp-cards").json()["items"]] == ["coffee", "sandwich"]
    problem(add_card(client, "coffee", 3, reward_id), 409, "/problems/conflict", "key")
    problem(add_card(client, "tea", 3, 999999), 404, "/problems/not-found", "reward_id")
    problem(add_card(client, "tea", 0, reward_id), 422, "/problems/invalid-input", "stamps_needed")
    problem(client.get("/v1/members/999999/stamp-cards"), 404, "/problems/not-found")


def test_stamps_that_fill_a_card_issue_its_reward(client: TestClient) -> None:
    member_id = coffee_card(client)
    buy(client, "O-1", ("LATTE", "coffee", 3), ("CAKE", "bakery", 2))
    assert progress(client, member_id) == {"coffee": (3, 0, 3)}
    assert rewards_of(client, member_id) == []
    buy(client, "O-2", ("FLAT-WHITE", "coffee", 2))
    assert progress(client, member_id) == {"coffee": (0, 1, 5)}
    [issued] = client.get(f"/v1/members/{member_id}/reward-redemptions").json()["items"]
    assert (issued["reward"]["key"], issued["source"], issued["status"], issued["points"]) == ("free-latte", "stamp_card", "issued", 0)
    assert issued["coupon"]["discount"] == {"type": "free_product", "currency": "SAR", "sku": "LATTE", "quantity": 1}
    # A free reward costs no points: the member keeps the 70 points the orders earned.
    assert client.get(f"/v1/members/{member_id}/balance").json()["available"] == 70


def test_stamps_beyond_a_full_card_carry_to_the_next(client: TestClient) -> None:
    member_id = coffee_card(client)
    buy(client, "O-1", ("LATTE", "coffee", 7))
    assert progress(client, member_id) == {"coffee": (2, 1, 7)}
    buy(client, "O-2", ("LATTE", "coffee", 8))
    assert progress(client, member_id) == {"coffee": (0, 3, 15)}
    assert rewards_of(client, member_id) == [("free-latte", "stamp_card", "issued")] * 3


def test_stamps_go_to_each_of_several_cards(client: TestClient) -> None:
    member_id = coffee_card(client)
    assert add_card(client, "sandwich", 3, add_reward(client, "free-juice", {"type": "free_product", "sku": "JUICE"})).status_code == 201
    stamps_rule(client, "sandwich", "sandwich")
    buy(client, "O-1", ("LATTE", "coffee", 2), ("CLUB", "sandwich", 4))
    assert progress(client, member_id) == {"coffee": (2, 0, 2), "sandwich": (1, 1, 4)}
    assert rewards_of(client, member_id) == [("free-juice", "stamp_card", "issued")]


def test_return_that_empties_a_full_card_cancels_its_unused_reward(client: TestClient) -> None:
    member_id = coffee_card(client)
    buy(client, "O-1", ("LATTE", "coffee", 3))
    buy(client, "O-2", ("LATTE", "coffee", 2))
    assert rewards_of(client, member_id) == [("free-latte", "stamp_card", "issued")]
    give_back(client, "O-1", items=[{"sku": "LATTE", "quantity": 1}])
    assert progress(client, member_id) == {"coffee": (4, 0, 4)}
    [cancelled] = client.get(f"/v1/members/{member_id}/reward-redemptions").json()["items"]
    assert (cancelled["status"], cancelled["coupon"]["status"]) == ("cancelled", "cancelled")
    # Filling the card again issues a new reward.
    buy(client, "O-3", ("LATTE", "coffee", 1))
    assert rewards_of(client, member_id) == [("free-latte", "stamp_card", "cancelled"), ("free-latte", "stamp_card", "issued")]


def test_return_keeps_a_used_reward_and_the_card_is_not_rewarded_twice(client: TestClient) -> None:
    member_id = coffee_card(client)
    buy(client, "O-1", ("LATTE", "coffee", 5))
    [issued] = client.get(f"/v1/members/{member_id}/reward-redemptions").json()["items"]
    till = {"amount": "12.00", "currency": "SAR", "items": [{"sku": "LATTE", "quantity": 1, "unit_price": "12.00"}]}
    assert client.post(f"/v1/coupons/{issued['coupon']['code']}:redeem", json=till).status_code == 201
    give_back(client, "O-1", items=[{"sku": "LATTE", "quantity": 2}])
    assert rewards_of(client, member_id) == [("free-latte", "stamp_card", "used")]
    assert progress(client, member_id) == {"coffee": (0, 1, 3)}
    # Two more stamps make five again, but that card was already rewarded; the next five earn the next reward.
    buy(client, "O-2", ("LATTE", "coffee", 2))
    assert rewards_of(client, member_id) == [("free-latte", "stamp_card", "used")]
    buy(client, "O-3", ("LATTE", "coffee", 5))
    assert rewards_of(client, member_id) == [("free-latte", "stamp_card", "used"), ("free-latte", "stamp_card", "issued")]
    assert progress(client, member_id) == {"coffee": (0, 2, 10)}


def test_rule_issue_reward_grants_it_and_a_full_return_cancels_it_unless_used(client: TestClient) -> None:
    member_id = client.post("/v1/members", json={"external_id": "m-1"}).json()["id"]
    add_reward(client, "lounge", {"type": "privilege", "valid_days": 30}, points=500)
    client.post("/v1/rules", json={"name_en": "Lounge", "name_ar": "صالة", "trigger": "purchase", "status": "active",
                                   "conditions": [{"type": "order_amount", "at_least": "100.00"}],
                                   "actions": [{"type": "issue_reward", "reward": "lounge"}]})
    assert buy(client, "O-1", ("SUIT", "men", 10))["rules"][0]["rewards"] == ["lounge"]
    buy(client, "O-2", ("SUIT", "men", 10))
    buy(client, "O-3", ("SUIT", "men", 10))
    granted = client.get(f"/v1/members/{member_id}/reward-redemptions").json()["items"]
    assert [(r["source"], r["status"], r["points"], r["expires_at"]) for r in granted] == [
        ("rule", "issued", 0, "2026-03-31T09:00:00Z")
    ] * 3
    assert client.get(f"/v1/members/{member_id}/balance").json()["available"] == 300
    client.post(f"/v1/reward-redemptions/{granted[1]['id']}/use")
    give_back(client, "O-2")
    give_back(client, "O-3")
    give_back(client, "O-1", amount="10.00")  # 90.00 kept: below the rule's 100.00, so the reward goes too
    assert rewards_of(client, member_id) == [("lounge", "rule", "cancelled"), ("lounge", "rule", "used"), ("lounge", "rule", "cancelled")]


def test_rule_issue_reward_of_a_partner_voucher_waits_for_codes(client: TestClient) -> None:
    member_id = client.post("/v1/members", json={"external_id": "m-1"}).json()["id"]
    reward_id = add_reward(client, "careem", {"type": "voucher", "partner": "Careem"}, points=100)
    client.post("/v1/rules", json={"name_en": "Ride", "name_ar": "رحلة", "trigger": "purchase", "status": "active",
                                   "actions": [{"type": "issue_reward", "reward": "careem"}]})
    buy(client, "O-1", ("SUIT", "men", 1))
    [waiting] = client.get(f"/v1/members/{member_id}/reward-redemptions").json()["items"]
    assert (waiting["status"], waiting["voucher_code"], waiting["note"]) == ("issued", None, "awaiting a partner code")
    uploaded = client.post(f"/v1/rewards/{reward_id}/vouchers", json={"codes": ["CAR-1", "CAR-2"]}).json()
    assert uploaded == {"imported": 2, "duplicates": 0, "available": 1}
    filled = client.get(f"/v1/reward-redemptions/{waiting['id']}").json()
    assert (filled["voucher_code"], filled["note"]) == ("CAR-1", None)
