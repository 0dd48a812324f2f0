"""POST /v1/events and GET /v1/events/{id}: purchases earn, returns take back exactly, bad input names the field."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from tests.conftest import START, problem


def enrol(client: TestClient, external_id: str = "E-1") -> int:
    response = client.post("/v1/members", json={"external_id": external_id})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def buy(client: TestClient, order_id: str, amount: str, currency: str = "SAR", member: str | None = "E-1", **extra):  # type: ignore[no-untyped-def]
    body = {"type": "purchase", "order_id": order_id, "amount": amount, "currency": currency, **extra}
    if member is not None:
        body["member"] = {"external_id": member}
    return client.post("/v1/events", json=body)


def give_back(client: TestClient, order_id: str, **extra):  # type: ignore[no-untyped-def]
    return client.post("/v1/events", json={"type": "return", "order_id": order_id, **extra})


def balance(client: TestClient, member_id: int) -> tuple[int, int, int]:
    body = client.get(f"/v1/members/{member_id}/balance").json()
    return body["available"], body["pending"], body["held"]


def entry_count(client: TestClient, member_id: int) -> int:
    return len(client.get(f"/v1/members/{member_id}/entries", params={"limit": 200}).json()["items"])


# --- purchases


def test_post_event_purchase_awards_one_point_per_sar_floored(client: TestClient) -> None:
    member_id = enrol(client)
    response = buy(client, "O-1", "200.75")
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response.headers
    body = response.json()
    assert isinstance(body["event_id"], int) and isinstance(body["award"]["entry_id"], int)
    assert body == {
        "event_id": body["event_id"], "type": "purchase", "order_id": "O-1", "member_id": member_id,
        "amount": "200.75", "currency": "SAR", "occurred_at": "2026-03-01T09:00:00Z",
        "award": {"points": 200, "status": "available", "available_at": "2026-03-01T09:00:00Z", "expires_at": None,
                  "entry_id": body["award"]["entry_id"]},
        "not_awarded_reason": None, "reversal": None, "returned_amount": None,
        "rules": [], "total_points": 200, "reference": None, "attributes": None,
        "balance": {"available": 200, "pending": 0, "held": 0}, "review_id": None,
    }
    assert balance(client, member_id) == (200, 0, 0)


def test_post_event_purchase_by_member_id_is_201(client: TestClient) -> None:
    member_id = enrol(client)
    response = client.post("/v1/events", json={
        "type": "purchase", "member": {"id": member_id}, "order_id": "O-2", "amount": "45.50", "currency": "sar",
    })
    assert response.status_code == 201
    assert (response.json()["member_id"], response.json()["currency"], response.json()["award"]["points"]) == (member_id, "SAR", 45)


def test_post_event_purchase_adds_to_balance(client: TestClient) -> None:
    member_id = enrol(client)
    buy(client, "O-3", "10.99")
    second = buy(client, "O-4", "89.01").json()
    assert second["award"]["points"] == 89
    assert second["balance"] == {"available": 99, "pending": 0, "held": 0}
    assert balance(client, member_id) == (99, 0, 0)


def test_post_event_purchase_below_one_point_earns_nothing(client: TestClient) -> None:
    member_id = enrol(client)
    body = buy(client, "O-5", "0.99").json()
    assert (body["award"], body["not_awarded_reason"], body["balance"]) == (None, "amount earns less than one point", None)
    assert balance(client, member_id) == (0, 0, 0)
    assert entry_count(client, member_id) == 0


def test_post_event_purchase_three_decimal_currency(client: TestClient) -> None:
    client.patch("/v1/program", json={"earn_rates": {"SAR": "1", "JOD": "10"}})
    member_id = enrol(client)
    body = buy(client, "O-6", "12.345", currency="JOD").json()
    assert (body["amount"], body["currency"], body["award"]["points"]) == ("12.345", "JOD", 123)  # 123.45, floored
    assert buy(client, "O-7", "0.1", currency="JOD").json()["amount"] == "0.100"
    assert balance(client, member_id) == (124, 0, 0)


def test_post_event_purchase_fractional_rate_floors(client: TestClient) -> None:
    client.patch("/v1/program", json={"earn_rates": {"SAR": "0.5"}})
    enrol(client)
    assert buy(client, "O-8", "5.99").json()["award"]["points"] == 2  # 2.995


def test_post_event_purchase_trailing_zeros_are_not_extra_decimals(client: TestClient) -> None:
    enrol(client)
    body = buy(client, "O-9", "10.500000").json()
    assert (body["amount"], body["award"]["points"]) == ("10.50", 10)


def test_post_event_purchase_more_decimals_than_currency_is_422(client: TestClient) -> None:
    client.patch("/v1/program", json={"earn_rates": {"SAR": "1", "JOD": "10"}})
    member_id = enrol(client)
    body = problem(buy(client, "O-10", "10.001"), 422, "/problems/invalid-input", "amount")
    assert "SAR has 2 decimal places" in body["detail"]
    body = problem(buy(client, "O-11", "1.2345", currency="JOD"), 422, "/problems/invalid-input", "amount")
    assert "JOD has 3 decimal places" in body["detail"]
    assert balance(client, member_id) == (0, 0, 0)


def test_post_event_purchase_earning_too_many_points_is_422(client: TestClient) -> None:
    client.patch("/v1/program", json={"earn_rates": {"SAR": "1000000"}})
    member_id = enrol(client)
    body = problem(buy(client, "O-35", "9999999999999.99"), 422, "/problems/invalid-input", "amount")  # not a 500
    assert body["detail"] == "this amount would earn 9999999999999990000 points; one event earns at most 1000000000000"
    assert balance(client, member_id) == (0, 0, 0)
    assert buy(client, "O-36", "1000000.00").json()["award"]["points"] == 10**12


def test_post_event_purchase_pending_when_program_has_a_return_window(client: TestClient) -> None:
    client.patch("/v1/program", json={"pending_days": 14})
    member_id = enrol(client)
    body = buy(client, "O-12", "100.00").json()
    assert {k: body["award"][k] for k in ("points", "status", "available_at")} == {
        "points": 100, "status": "pending", "available_at": "2026-03-15T09:00:00Z",
    }
    assert body["balance"] == {"available": 0, "pending": 100, "held": 0}
    assert balance(client, member_id) == (0, 100, 0)


def test_post_event_purchase_backdated_past_window_is_available_now(client: TestClient) -> None:
    client.patch("/v1/program", json={"pending_days": 14})
    member_id = enrol(client)
    old = buy(client, "O-13", "30.00", occurred_at=(START - timedelta(days=20)).isoformat()).json()
    assert (old["award"]["status"], old["award"]["available_at"]) == ("available", "2026-03-01T09:00:00Z")
    recent = buy(client, "O-14", "20.00", occurred_at=(START - timedelta(days=10)).isoformat()).json()
    assert (recent["award"]["status"], recent["award"]["available_at"]) == ("pending", "2026-03-05T09:00:00Z")
    assert recent["occurred_at"] == "2026-02-19T09:00:00Z"
    assert balance(client, member_id) == (30, 20, 0)


def test_post_event_purchase_without_member_earns_nothing(client: TestClient) -> None:
    response = buy(client, "O-15", "500.00", member=None)
    assert response.status_code == 201
    body = response.json()
    assert (body["member_id"], body["award"], body["not_awarded_reason"], body["balance"]) == (None, None, "not a member", None)
    assert client.get(f"/v1/events/{body['event_id']}").json() == body


def test_post_event_purchase_unknown_member_is_404(client: TestClient) -> None:
    problem(buy(client, "O-16", "10.00", member="nobody"), 404, "/problems/not-found", "member.external_id")
    body = {"type": "purchase", "member": {"id": 987654321}, "order_id": "O-16", "amount": "10.00", "currency": "SAR"}
    problem(client.post("/v1/events", json=body), 404, "/problems/not-found", "member.id")
    # Nothing was recorded: the order id is still free once the member exists.
    enrol(client, "nobody")
    assert buy(client, "O-16", "10.00", member="nobody").status_code == 201


def test_post_event_purchase_member_with_both_ids_is_422(client: TestClient) -> None:
    member_id = enrol(client)
    body = {"type": "purchase", "member": {"id": member_id, "external_id": "E-1"}, "order_id": "O-17", "amount": "1", "currency": "SAR"}
    problem(client.post("/v1/events", json=body), 422, "/problems/invalid-input", "member")


@pytest.mark.parametrize("currency", ["XYZ", "XAU", "S1R"])
def test_post_event_purchase_unknown_currency_is_422(client: TestClient, currency: str) -> None:
    member_id = enrol(client)
    problem(buy(client, "O-18", "10.00", currency=currency), 422, "/problems/invalid-input", "currency")
    assert balance(client, member_id) == (0, 0, 0)


def test_post_event_purchase_currency_not_accepted_is_422(client: TestClient) -> None:
    member_id = enrol(client)
    body = problem(buy(client, "O-19", "10.00", currency="USD"), 422, "/problems/invalid-input", "currency")
    assert body["detail"] == "this program does not accept USD (accepted: SAR)"
    assert balance(client, member_id) == (0, 0, 0)


@pytest.mark.parametrize("amount", ["-5.00", "12,50", "abc", "1e3", "", "1.2.3", "0x10", "NaN"])
def test_post_event_purchase_malformed_amount_is_422(client: TestClient, amount: str) -> None:
    member_id = enrol(client)
    problem(buy(client, "O-20", amount), 422, "/problems/invalid-input", "amount")
    assert balance(client, member_id) == (0, 0, 0)


def test_post_event_purchase_number_amount_is_422(client: TestClient) -> None:
    enrol(client)
    body = {"type": "purchase", "member": {"external_id": "E-1"}, "order_id": "O-21", "amount": 12.5, "currency": "SAR"}
    problem(client.post("/v1/events", json=body), 422, "/problems/invalid-input", "amount")


def test_post_event_purchase_in_the_future_is_422(client: TestClient) -> None:
    member_id = enrol(client)
    later = (START + timedelta(minutes=6)).isoformat()
    problem(buy(client, "O-22", "10.00", occurred_at=later), 422, "/problems/invalid-input", "occurred_at")
    assert balance(client, member_id) == (0, 0, 0)


def test_post_event_purchase_till_clock_a_little_fast_is_accepted(client: TestClient) -> None:
    enrol(client)
    body = buy(client, "O-23", "10.00", occurred_at=(START + timedelta(minutes=4)).isoformat()).json()
    assert (body["occurred_at"], body["award"]["points"]) == ("2026-03-01T09:04:00Z", 10)


def test_post_event_purchase_naive_occurred_at_is_422(client: TestClient) -> None:
    enrol(client)
    problem(buy(client, "O-24", "10.00", occurred_at="2026-03-01T08:00:00"), 422, "/problems/invalid-input", "occurred_at")


def test_post_event_purchase_suspended_member_earns_nothing(client: TestClient) -> None:
    member_id = enrol(client)
    client.post(f"/v1/members/{member_id}/suspend", json={"reason": "fraud check"})
    body = buy(client, "O-25", "300.00").json()
    assert (body["member_id"], body["award"], body["not_awarded_reason"], body["balance"]) == (
        member_id, None, "member is suspended", None,
    )
    assert balance(client, member_id) == (0, 0, 0)
    client.post(f"/v1/members/{member_id}/reactivate", json={"reason": "cleared"})
    assert buy(client, "O-26", "300.00").json()["award"]["points"] == 300


def test_post_event_purchase_closed_member_earns_nothing(client: TestClient) -> None:
    member_id = enrol(client)
    client.post(f"/v1/members/{member_id}/close", json={"reason": "left"})
    assert buy(client, "O-27", "300.00").json()["not_awarded_reason"] == "member is closed"
    assert balance(client, member_id) == (0, 0, 0)


def test_post_event_purchase_same_order_replays_first_result(client: TestClient) -> None:
    member_id = enrol(client)
    first = buy(client, "O-28", "150.00", channel="store", store="RUH-01")
    again = buy(client, "O-28", "150.00", channel="store", store="RUH-01")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert balance(client, member_id) == (150, 0, 0)
    assert entry_count(client, member_id) == 1


def test_post_event_purchase_replay_with_utc_offset_is_the_same_body(client: TestClient) -> None:
    enrol(client)
    riyadh = "2026-03-01T11:30:00+03:00"  # 08:30 UTC
    first = buy(client, "O-29", "70.00", occurred_at=riyadh)
    again = buy(client, "O-29", "70.00", occurred_at=riyadh)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["occurred_at"] == "2026-03-01T08:30:00Z"
    assert again.json() == first.json()


def test_post_event_purchase_replay_without_member_is_the_same_body(client: TestClient) -> None:
    first = buy(client, "O-30", "70.00", member=None)
    again = buy(client, "O-30", "70.00", member=None)
    assert (again.status_code, again.headers["Idempotent-Replayed"]) == (200, "true")
    assert again.json() == first.json()


def test_post_event_purchase_replay_of_pending_award_is_the_same_body(client: TestClient) -> None:
    client.patch("/v1/program", json={"pending_days": 7, "expiry": {"policy": "days", "periods": 365}})
    enrol(client)
    first = buy(client, "O-31", "70.00")
    again = buy(client, "O-31", "70.00")
    assert first.json()["award"]["expires_at"] == "2027-03-08T09:00:00Z"
    assert again.json() == first.json()


def test_post_event_purchase_replay_after_a_redemption_is_the_same_body(client: TestClient) -> None:
    member_id = enrol(client)
    first = buy(client, "O-40", "100.00")
    client.post(f"/v1/members/{member_id}/redemptions", json={"points": 30, "reason": "coffee"})
    again = buy(client, "O-40", "100.00")
    assert again.status_code == 200
    assert again.json() == first.json()  # the first answer said 100 available, not the 70 of now


def test_post_event_purchase_replay_of_unawarded_purchase_keeps_the_reason(client: TestClient) -> None:
    member_id = enrol(client)
    client.post(f"/v1/members/{member_id}/suspend", json={"reason": "fraud check"})
    first = buy(client, "O-41", "100.00")
    again = buy(client, "O-41", "100.00")
    assert first.json()["not_awarded_reason"] == "member is suspended"
    assert again.json() == first.json()


def test_reading_an_event_gives_its_first_answer_and_an_event_kept_before_outcomes_the_balance_of_now(
    client: TestClient, factory,  # type: ignore[no-untyped-def]
) -> None:
    from sqlalchemy import delete

    from wafa.db import unit_of_work
    from wafa.events.models import EventOutcome

    member_id = enrol(client)
    first = buy(client, "O-42", "100.00").json()
    client.post(f"/v1/members/{member_id}/redemptions", json={"points": 30, "reason": "coffee"})
    assert client.get(f"/v1/events/{first['event_id']}").json() == first
    # Events recorded before the outcomes were kept (migration 0027) answer with the balance of the moment.
    with unit_of_work(factory) as session:
        session.execute(delete(EventOutcome).where(EventOutcome.event_id == first["event_id"]))
    again = buy(client, "O-42", "100.00").json()
    assert again["balance"]["available"] == 70 and {**again, "balance": first["balance"]} == first


def test_post_event_purchase_same_order_other_body_is_409(client: TestClient) -> None:
    member_id = enrol(client)
    buy(client, "O-32", "150.00")
    body = problem(buy(client, "O-32", "151.00"), 409, "/problems/conflict", "order_id")
    assert "O-32" in body["detail"]
    problem(buy(client, "O-32", "150.00", store="JED-02"), 409, "/problems/conflict", "order_id")
    assert balance(client, member_id) == (150, 0, 0)


def test_post_event_purchase_idempotency_key_replays_with_201(client: TestClient) -> None:
    member_id = enrol(client)
    headers = {"Idempotency-Key": "till-7-0001"}
    first = client.post("/v1/events", headers=headers, json={
        "type": "purchase", "member": {"external_id": "E-1"}, "order_id": "O-33", "amount": "60.00", "currency": "SAR",
    })
    again = client.post("/v1/events", headers=headers, json={
        "type": "purchase", "member": {"external_id": "E-1"}, "order_id": "O-33", "amount": "60.00", "currency": "SAR",
    })
    assert (first.status_code, again.status_code, again.headers["Idempotent-Replayed"]) == (201, 201, "true")
    assert again.json() == first.json()
    assert balance(client, member_id) == (60, 0, 0)


def test_post_event_undeclared_custom_type_is_422(client: TestClient) -> None:
    member_id = enrol(client)
    problem(client.post("/v1/events", json={"type": "visit", "member": {"id": member_id}}), 422, "/problems/invalid-input", "type")


def test_post_event_purchase_missing_order_id_is_422(client: TestClient) -> None:
    body = {"type": "purchase", "amount": "10.00", "currency": "SAR"}
    problem(client.post("/v1/events", json=body), 422, "/problems/invalid-input", "order_id")


def test_post_event_purchase_bad_item_price_is_422(client: TestClient) -> None:
    enrol(client)
    items = [{"sku": "A", "quantity": 1, "unit_price": "5.00"}, {"sku": "B", "quantity": 1, "unit_price": "5.001"}]
    problem(buy(client, "O-34", "10.00", items=items), 422, "/problems/invalid-input", "items[1].unit_price")


# --- returns


def test_post_event_return_by_items_is_cumulative_and_lands_exactly(client: TestClient) -> None:
    member_id = enrol(client)
    items = [{"sku": "MUG", "quantity": 3, "unit_price": "10.00"}]
    assert buy(client, "R-1", "29.00", items=items).json()["award"]["points"] == 29  # a discount: 29 paid for 30 listed
    seen = []
    for _ in range(3):
        response = give_back(client, "R-1", items=[{"sku": "MUG", "quantity": 1}])
        assert response.status_code == 201, response.text
        body = response.json()
        seen.append((body["returned_amount"], body["reversal"]["points"], body["reversal"]["from_available"], body["balance"]["available"]))
    # 9.66 of 29 paid -> 9 points; 19.33 -> 19 in all; 29.00 -> all 29: nothing lost to rounding.
    assert seen == [("9.66", 9, 9, 20), ("9.67", 10, 10, 10), ("9.67", 10, 10, 0)]
    assert balance(client, member_id) == (0, 0, 0)


def test_post_event_return_by_items_shares_discount_by_list_price(client: TestClient) -> None:
    member_id = enrol(client)
    items = [{"sku": "A", "quantity": 2, "unit_price": "15.00"}, {"sku": "B", "quantity": 1, "unit_price": "70.00"}]
    buy(client, "R-2", "80.00", items=items)  # 100.00 listed, 80.00 paid: 80 points
    body = give_back(client, "R-2", items=[{"sku": "B", "quantity": 1}]).json()
    assert (body["returned_amount"], body["reversal"]["points"]) == ("56.00", 56)
    body = give_back(client, "R-2", items=[{"sku": "A", "quantity": 2}]).json()
    assert (body["returned_amount"], body["reversal"]["points"]) == ("24.00", 24)
    assert balance(client, member_id) == (0, 0, 0)


def test_post_event_return_more_items_than_bought_is_422(client: TestClient) -> None:
    member_id = enrol(client)
    buy(client, "R-3", "30.00", items=[{"sku": "MUG", "quantity": 3, "unit_price": "10.00"}])
    give_back(client, "R-3", items=[{"sku": "MUG", "quantity": 2}])
    body = problem(give_back(client, "R-3", items=[{"sku": "MUG", "quantity": 2}]), 422, "/problems/invalid-input", "items[0].quantity")
    assert body["detail"] == "MUG: 2 returned but only 1 left"
    assert balance(client, member_id) == (10, 0, 0)


def test_post_event_return_unknown_item_is_422(client: TestClient) -> None:
    member_id = enrol(client)
    buy(client, "R-4", "30.00", items=[{"sku": "MUG", "quantity": 3, "unit_price": "10.00"}])
    problem(give_back(client, "R-4", items=[{"sku": "CUP", "quantity": 1}]), 422, "/problems/invalid-input", "items[0].sku")
    assert balance(client, member_id) == (30, 0, 0)


def test_post_event_return_items_of_order_without_items_is_422(client: TestClient) -> None:
    enrol(client)
    buy(client, "R-5", "30.00")
    problem(give_back(client, "R-5", items=[{"sku": "MUG", "quantity": 1}]), 422, "/problems/invalid-input", "items")


def test_post_event_return_by_amount_is_cumulative(client: TestClient) -> None:
    enrol(client)
    buy(client, "R-6", "200.00")
    first = give_back(client, "R-6", amount="50.50").json()
    assert (first["returned_amount"], first["reversal"]["points"], first["balance"]["available"]) == ("50.50", 50, 150)
    rest = give_back(client, "R-6", amount="149.50").json()
    assert (rest["returned_amount"], rest["reversal"]["points"], rest["balance"]["available"]) == ("149.50", 150, 0)


def test_post_event_return_amount_above_what_is_left_is_422(client: TestClient) -> None:
    member_id = enrol(client)
    buy(client, "R-7", "200.00")
    give_back(client, "R-7", amount="50.50")
    body = problem(give_back(client, "R-7", amount="149.51"), 422, "/problems/invalid-input", "amount")
    assert body["detail"] == "return of 149.51 SAR exceeds the 149.50 left on the order"
    assert balance(client, member_id) == (150, 0, 0)


def test_post_event_return_amount_with_too_many_decimals_is_422(client: TestClient) -> None:
    enrol(client)
    buy(client, "R-8", "200.00")
    problem(give_back(client, "R-8", amount="1.005"), 422, "/problems/invalid-input", "amount")


def test_post_event_return_whole_order(client: TestClient) -> None:
    member_id = enrol(client)
    buy(client, "R-9", "99.99")  # 99 points
    part = give_back(client, "R-9", amount="33.33").json()
    assert part["reversal"]["points"] == 33
    whole = give_back(client, "R-9")
    assert whole.status_code == 201
    assert (whole.json()["returned_amount"], whole.json()["reversal"]["points"]) == ("66.66", 66)
    assert balance(client, member_id) == (0, 0, 0)


def test_post_event_return_when_nothing_left_is_422(client: TestClient) -> None:
    enrol(client)
    buy(client, "R-10", "40.00")
    give_back(client, "R-10")
    body = problem(give_back(client, "R-10"), 422, "/problems/invalid-input", "order_id")
    assert body["detail"] == "order 'R-10' has nothing left to return"


def test_post_event_return_unknown_order_is_404(client: TestClient) -> None:
    enrol(client)
    problem(give_back(client, "NO-SUCH-ORDER"), 404, "/problems/not-found", "order_id")


def test_post_event_return_for_another_member_is_422(client: TestClient) -> None:
    enrol(client)
    enrol(client, "E-2")
    buy(client, "R-11", "40.00")
    problem(give_back(client, "R-11", member={"external_id": "E-2"}), 422, "/problems/invalid-input", "member")


def test_post_event_return_before_its_purchase_is_422(client: TestClient) -> None:
    enrol(client)
    buy(client, "R-12", "40.00")
    earlier = (START - timedelta(hours=1)).isoformat()
    problem(give_back(client, "R-12", occurred_at=earlier), 422, "/problems/invalid-input", "occurred_at")


def test_post_event_return_takes_from_pending_first(client: TestClient) -> None:
    member_id = enrol(client)
    buy(client, "R-13", "100.00")  # available
    client.patch("/v1/program", json={"pending_days": 14})
    buy(client, "R-14", "100.00")  # pending
    body = give_back(client, "R-14", amount="40.00").json()
    assert body["reversal"] | {"entry_id": None} == {
        "points": 40, "from_pending": 40, "from_available": 0, "entry_id": None, "rules": [], "total_points": 40, "payments_restored": [],
    }
    assert body["balance"] == {"available": 100, "pending": 60, "held": 0}
    other = give_back(client, "R-13", amount="40.00").json()
    assert other["reversal"] | {"entry_id": None} == {
        "points": 40, "from_pending": 0, "from_available": 40, "entry_id": None, "rules": [], "total_points": 40, "payments_restored": [],
    }
    assert balance(client, member_id) == (60, 60, 0)


def test_post_event_return_of_spent_points_leaves_debt(client: TestClient) -> None:
    member_id = enrol(client)
    buy(client, "R-15", "100.00")
    assert client.post(f"/v1/members/{member_id}/redemptions", json={"points": 80, "reason": "voucher"}).status_code == 201
    body = give_back(client, "R-15").json()
    assert (body["reversal"]["points"], body["reversal"]["from_available"], body["balance"]["available"]) == (100, 100, -80)
    owed = client.get(f"/v1/members/{member_id}/balance").json()
    assert (owed["available"], owed["debt"]) == (-80, 80)
    refused = client.post(f"/v1/members/{member_id}/redemptions", json={"points": 1, "reason": "coffee"})
    assert problem(refused, 422, "/problems/member-in-debt", "points")["detail"] == "member owes 80 points; redemptions resume once repaid"
    problem(client.post(f"/v1/members/{member_id}/holds", json={"points": 1, "reason": "till"}), 422, "/problems/member-in-debt")
    # New purchases repay the debt first.
    assert buy(client, "R-16", "50.00").json()["balance"]["available"] == -30
    assert client.get(f"/v1/members/{member_id}/balance").json()["debt"] == 30
    assert buy(client, "R-17", "40.00").json()["balance"]["available"] == 10
    assert client.post(f"/v1/members/{member_id}/redemptions", json={"points": 10, "reason": "coffee"}).json()["balance"] == 0


def test_post_event_return_of_order_that_earned_nothing_reverses_zero(client: TestClient) -> None:
    member_id = enrol(client)
    client.post(f"/v1/members/{member_id}/suspend", json={"reason": "x"})
    buy(client, "R-18", "40.00")
    body = give_back(client, "R-18").json()
    assert body["reversal"] == {"points": 0, "from_pending": 0, "from_available": 0, "entry_id": None, "rules": [], "total_points": 0,
                                "payments_restored": []}
    assert entry_count(client, member_id) == 0


def test_post_event_return_same_return_id_replays(client: TestClient) -> None:
    member_id = enrol(client)
    buy(client, "R-19", "100.00")
    first = give_back(client, "R-19", return_id="RET-1", amount="25.00")
    again = give_back(client, "R-19", return_id="RET-1", amount="25.00")
    assert (first.status_code, again.status_code, again.headers["Idempotent-Replayed"]) == (201, 200, "true")
    assert {k: v for k, v in again.json().items() if k != "balance"} == {k: v for k, v in first.json().items() if k != "balance"}
    assert balance(client, member_id) == (75, 0, 0)
    problem(give_back(client, "R-19", return_id="RET-1", amount="30.00"), 409, "/problems/conflict", "return_id")


def test_post_event_return_same_return_id_replays_the_whole_body(client: TestClient) -> None:
    enrol(client)
    buy(client, "R-20", "100.00")
    first = give_back(client, "R-20", return_id="RET-2", amount="25.00")
    again = give_back(client, "R-20", return_id="RET-2", amount="25.00")
    assert again.json() == first.json()  # the balance too


# --- GET /v1/events/{id}


def test_get_event_purchase_is_200(client: TestClient) -> None:
    enrol(client)
    posted = buy(client, "G-1", "75.25").json()
    response = client.get(f"/v1/events/{posted['event_id']}")
    assert response.status_code == 200
    assert response.json() == posted


def test_get_event_return_is_200(client: TestClient) -> None:
    member_id = enrol(client)
    buy(client, "G-2", "80.00")
    posted = give_back(client, "G-2", amount="20.00").json()
    got = client.get(f"/v1/events/{posted['event_id']}").json()
    assert {k: v for k, v in got.items() if k != "balance"} == {k: v for k, v in posted.items() if k != "balance"}
    assert (got["type"], got["member_id"], got["returned_amount"], got["reversal"]["points"]) == ("return", member_id, "20.00", 20)


def test_get_event_unknown_is_404(client: TestClient) -> None:
    problem(client.get("/v1/events/987654321"), 404, "/problems/not-found")
