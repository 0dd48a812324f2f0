"""Stamp cards and returns at the edges: a return takes back only the stamps its order put on the card,
a reward cancelled by hand is not cancelled twice, a card whose reward cannot be given keeps it owed."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.test_stamp_cards import FREE_LATTE, add_card, add_reward, buy, coffee_card, give_back, progress, rewards_of, stamps_rule


def test_return_of_an_order_stamped_while_the_card_was_paused_takes_no_stamps(client: TestClient) -> None:
    member_id = coffee_card(client, 5)
    card_id = client.get("/v1/stamp-cards").json()["items"][0]["id"]
    buy(client, "A", ("LATTE", "coffee", 3))
    assert client.patch(f"/v1/stamp-cards/{card_id}", json={"status": "paused"}).json()["status"] == "paused"
    buy(client, "B", ("LATTE", "coffee", 2))  # no stamps: the card is paused
    client.patch(f"/v1/stamp-cards/{card_id}", json={"status": "active"})
    give_back(client, "B")
    assert progress(client, member_id)["coffee"] == (3, 0, 3)


def test_return_of_an_order_from_before_the_card_existed_takes_no_stamps(client: TestClient) -> None:
    member_id = client.post("/v1/members", json={"external_id": "m-1"}).json()["id"]
    stamps_rule(client, "coffee", "coffee")
    buy(client, "A", ("LATTE", "coffee", 3))
    add_card(client, "coffee", 5, add_reward(client, "free-latte", FREE_LATTE))
    buy(client, "B", ("LATTE", "coffee", 3))
    give_back(client, "A")
    assert progress(client, member_id)["coffee"] == (3, 0, 3)


def test_return_after_a_hand_cancel_keeps_the_reward_the_member_still_earned(client: TestClient) -> None:
    member_id = coffee_card(client, 5)
    buy(client, "A", ("LATTE", "coffee", 5))
    buy(client, "B", ("LATTE", "coffee", 5))
    newest = client.get(f"/v1/members/{member_id}/reward-redemptions").json()["items"][0]["id"]
    assert client.post(f"/v1/reward-redemptions/{newest}/cancel").status_code == 200
    give_back(client, "B")
    assert rewards_of(client, member_id) == [("free-latte", "stamp_card", "issued"), ("free-latte", "stamp_card", "cancelled")]
    assert progress(client, member_id)["coffee"] == (0, 1, 5)
    buy(client, "C", ("LATTE", "coffee", 5))  # a new full card: rewarded once
    assert [status for _, _, status in rewards_of(client, member_id)] == ["issued", "cancelled", "issued"]


def test_full_card_whose_reward_is_paused_stays_owed_until_it_can_be_given(client: TestClient) -> None:
    member_id = coffee_card(client, 3)
    reward_id = client.get("/v1/rewards").json()["items"][0]["id"]
    client.patch(f"/v1/rewards/{reward_id}", json={"status": "paused"})
    buy(client, "A", ("LATTE", "coffee", 3))
    assert rewards_of(client, member_id) == []
    client.patch(f"/v1/rewards/{reward_id}", json={"status": "active"})
    buy(client, "B", ("LATTE", "coffee", 1))
    assert rewards_of(client, member_id) == [("free-latte", "stamp_card", "issued")]
    assert progress(client, member_id)["coffee"] == (1, 1, 4)


def test_full_cards_never_take_more_than_the_rewards_stock(client: TestClient) -> None:
    member_id = coffee_card(client, 1)
    reward_id = client.get("/v1/rewards").json()["items"][0]["id"]
    client.patch(f"/v1/rewards/{reward_id}", json={"stock": 2})
    buy(client, "A", ("LATTE", "coffee", 3))
    assert len(rewards_of(client, member_id)) == 2
    assert client.get(f"/v1/rewards/{reward_id}").json()["stock"] == 0


def test_purchase_earning_more_than_a_thousand_stamps_is_422(client: TestClient) -> None:
    coffee_card(client, 1)
    lines = [{"sku": "LATTE", "category": "coffee", "quantity": 1001, "unit_price": "1.00"}]
    answer = client.post("/v1/events", json={"type": "purchase", "member": {"external_id": "m-1"}, "order_id": "X",
                                             "amount": "1001.00", "currency": "SAR", "items": lines})
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "items"
