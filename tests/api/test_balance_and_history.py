"""GET /v1/members/{id}/balance and /entries: what a member has, owes, waits for and loses soon; their history."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from tests.conftest import START, problem
from wafa.jobs.service import run_due

NO_EXPIRY = {"days_30": 0, "days_60": 0, "days_90": 0}


def enrol(client: TestClient, external_id: str = "B-1") -> int:
    response = client.post("/v1/members", json={"external_id": external_id})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def buy(client: TestClient, order_id: str, amount: str, member: str = "B-1") -> dict:  # type: ignore[type-arg]
    response = client.post("/v1/events", json={
        "type": "purchase", "member": {"external_id": member}, "order_id": order_id, "amount": amount, "currency": "SAR",
    })
    assert response.status_code == 201, response.text
    return response.json()


def credit(client: TestClient, member_id: int, points: int, reason: str = "goodwill", **extra: object) -> dict:  # type: ignore[type-arg]
    response = client.post(f"/v1/members/{member_id}/adjustments", json={"points": points, "reason": reason, **extra})
    assert response.status_code == 201, response.text
    return response.json()


def balance(client: TestClient, member_id: int) -> dict:  # type: ignore[type-arg]
    response = client.get(f"/v1/members/{member_id}/balance")
    assert response.status_code == 200, response.text
    return response.json()


# --- GET /v1/members/{id}/balance


def test_get_balance_new_member_is_all_zero(client: TestClient) -> None:
    member_id = enrol(client)
    assert balance(client, member_id) == {
        "member_id": member_id, "available": 0, "pending": 0, "held": 0, "debt": 0, "expiring": NO_EXPIRY,
        "points_name": {"en": "points", "ar": "نقاط"},
    }


def test_get_balance_splits_available_pending_and_held(client: TestClient) -> None:
    member_id = enrol(client)
    buy(client, "A-1", "100.00")
    client.patch("/v1/program", json={"pending_days": 14})
    buy(client, "A-2", "40.00")
    assert client.post(f"/v1/members/{member_id}/holds", json={"points": 30, "reason": "till 3"}).status_code == 201
    body = balance(client, member_id)
    assert (body["available"], body["pending"], body["held"], body["debt"]) == (70, 40, 30, 0)


def test_get_balance_shows_debt_after_a_return_of_spent_points(client: TestClient) -> None:
    member_id = enrol(client)
    buy(client, "A-3", "50.00")
    client.post(f"/v1/members/{member_id}/redemptions", json={"points": 50, "reason": "voucher"})
    client.post("/v1/events", json={"type": "return", "order_id": "A-3"})
    body = balance(client, member_id)
    assert (body["available"], body["pending"], body["held"], body["debt"]) == (-50, 0, 0, 50)


def test_get_balance_uses_program_points_name(client: TestClient) -> None:
    member_id = enrol(client)
    client.patch("/v1/program", json={"points_name": {"en": "Stars", "ar": "نجوم"}})
    assert balance(client, member_id)["points_name"] == {"en": "Stars", "ar": "نجوم"}


def test_get_balance_expiring_windows_move_with_the_clock(client: TestClient, clock) -> None:  # type: ignore[no-untyped-def]
    client.patch("/v1/program", json={"expiry": {"policy": "days", "periods": 45}})
    member_id = enrol(client)
    assert buy(client, "X-1", "100.00")["award"]["expires_at"] == "2026-04-15T09:00:00Z"  # day 45
    clock.advance(timedelta(days=20))
    assert buy(client, "X-2", "50.00")["award"]["expires_at"] == "2026-05-05T09:00:00Z"  # day 65
    body = balance(client, member_id)
    assert (body["available"], body["expiring"]) == (150, {"days_30": 100, "days_60": 150, "days_90": 150})
    clock.advance(timedelta(days=26))  # day 46: the first lot is gone, whether or not the worker ran
    body = balance(client, member_id)
    assert (body["available"], body["expiring"]) == (50, {"days_30": 50, "days_60": 50, "days_90": 50})
    refused = client.post(f"/v1/members/{member_id}/redemptions", json={"points": 51, "reason": "too much"})
    assert problem(refused, 422, "/problems/insufficient-points")["available"] == 50
    clock.advance(timedelta(days=20))  # day 66
    body = balance(client, member_id)
    assert (body["available"], body["expiring"]) == (0, NO_EXPIRY)


def test_get_balance_expiring_windows_ignore_distant_and_pending_points(client: TestClient) -> None:
    client.patch("/v1/program", json={"expiry": {"policy": "days", "periods": 100}})
    member_id = enrol(client)
    buy(client, "X-3", "80.00")  # expires on day 100: outside every window
    client.patch("/v1/program", json={"expiry": {"policy": "days", "periods": 20}, "pending_days": 14})
    buy(client, "X-4", "30.00")  # pending: not spendable, so not "expiring"
    body = balance(client, member_id)
    assert (body["available"], body["pending"], body["expiring"]) == (80, 30, NO_EXPIRY)


def test_get_balance_end_of_month_expiry_in_program_time_zone(client: TestClient) -> None:
    client.patch("/v1/program", json={"expiry": {"policy": "end_of_month", "periods": 0}, "timezone": "Asia/Riyadh"})
    member_id = enrol(client)
    # Midnight at the end of March in Riyadh is 21:00 UTC, just after the 30-day window ends.
    assert buy(client, "X-5", "100.00")["award"]["expires_at"] == "2026-03-31T21:00:00Z"
    assert balance(client, member_id)["expiring"] == {"days_30": 0, "days_60": 100, "days_90": 100}
    client.patch("/v1/program", json={"expiry": {"policy": "end_of_month", "periods": 1}})
    assert buy(client, "X-6", "10.00")["award"]["expires_at"] == "2026-04-30T21:00:00Z"
    client.patch("/v1/program", json={"expiry": {"policy": "end_of_year", "periods": 0}})
    assert buy(client, "X-7", "10.00")["award"]["expires_at"] == "2026-12-31T21:00:00Z"
    assert balance(client, member_id)["expiring"] == {"days_30": 0, "days_60": 100, "days_90": 110}


def test_get_balance_spending_takes_soonest_expiring_points_first(client: TestClient) -> None:
    client.patch("/v1/program", json={"expiry": {"policy": "days", "periods": 45}})
    member_id = enrol(client)
    credit(client, member_id, 100, expires_at=(START + timedelta(days=400)).isoformat())
    buy(client, "X-8", "100.00")  # expires on day 45
    client.post(f"/v1/members/{member_id}/redemptions", json={"points": 60, "reason": "voucher"})
    body = balance(client, member_id)
    assert (body["available"], body["expiring"]) == (140, {"days_30": 0, "days_60": 40, "days_90": 40})


def test_get_balance_pending_points_become_available_after_the_window(client: TestClient, clock, factory, tenant) -> None:  # type: ignore[no-untyped-def]
    client.patch("/v1/program", json={"pending_days": 14})
    member_id = enrol(client)
    buy(client, "X-9", "100.00")
    clock.advance(timedelta(days=13))
    run_due(factory, now=clock.now(), tenant_id=tenant.id)
    assert (balance(client, member_id)["available"], balance(client, member_id)["pending"]) == (0, 100)
    clock.advance(timedelta(days=1))
    report = run_due(factory, now=clock.now(), tenant_id=tenant.id)
    assert (report.released_lots, report.released_points) == (1, 100)
    body = balance(client, member_id)
    assert (body["available"], body["pending"]) == (100, 0)
    newest = client.get(f"/v1/members/{member_id}/entries").json()["items"][0]
    assert (newest["kind"], newest["points"], newest["reason"]) == ("release", 0, "100 points released: return window closed")


def test_get_balance_unknown_member_is_404(client: TestClient) -> None:
    problem(client.get("/v1/members/987654321/balance"), 404, "/problems/not-found", "member_id")


# --- GET /v1/members/{id}/entries


def test_get_entries_newest_first_with_reasons(client: TestClient, clock) -> None:  # type: ignore[no-untyped-def]
    member_id = enrol(client)
    bought = buy(client, "H-1", "200.00")
    clock.advance(timedelta(minutes=1))
    client.post(f"/v1/members/{member_id}/redemptions", json={"points": 50, "reason": "coffee"})
    clock.advance(timedelta(minutes=1))
    returned = client.post("/v1/events", json={"type": "return", "order_id": "H-1", "amount": "50.00"}).json()
    clock.advance(timedelta(minutes=1))
    credit(client, member_id, 10, "birthday gift")
    clock.advance(timedelta(minutes=1))
    hold = client.post(f"/v1/members/{member_id}/holds", json={"points": 20, "reason": "till 3"}).json()
    clock.advance(timedelta(minutes=1))
    client.post(f"/v1/holds/{hold['id']}/void")
    response = client.get(f"/v1/members/{member_id}/entries")
    assert response.status_code == 200
    page = response.json()
    assert page["next_cursor"] is None
    lines = [(e["kind"], e["points"], e["reason"], e["event_id"], e["created_at"]) for e in page["items"]]
    assert lines == [
        ("void", 20, f"hold {hold['id']} voided", None, "2026-03-01T09:05:00Z"),
        ("hold", -20, "till 3", None, "2026-03-01T09:04:00Z"),
        ("adjust", 10, "birthday gift", None, "2026-03-01T09:03:00Z"),
        ("reverse", -50, "return on order H-1: 50.00 SAR", returned["event_id"], "2026-03-01T09:02:00Z"),
        ("redeem", -50, "coffee", None, "2026-03-01T09:01:00Z"),
        ("earn", 200, "purchase H-1: 200.00 SAR", bought["event_id"], "2026-03-01T09:00:00Z"),
    ]
    items = page["items"]
    assert items[-1]["details"] == {"order_id": "H-1", "amount": "200.00", "currency": "SAR", "rate": "1"}
    assert items[0]["details"] == {"hold_id": hold["id"], "captured": 0, "returned": 20}
    assert items[-1]["id"] == bought["award"]["entry_id"]
    assert balance(client, member_id)["available"] == 110


def test_get_entries_pages_with_cursor(client: TestClient) -> None:
    member_id = enrol(client)
    for points in range(1, 6):
        credit(client, member_id, points, f"credit {points}")
    pages, cursor = [], None
    while True:
        page = client.get(f"/v1/members/{member_id}/entries", params={"limit": 2, **({"cursor": cursor} if cursor else {})}).json()
        pages.append([e["points"] for e in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == [[5, 4], [3, 2], [1]]


def test_get_entries_only_this_members(client: TestClient) -> None:
    member_id = enrol(client)
    other_id = enrol(client, "B-2")
    credit(client, member_id, 7)
    credit(client, other_id, 9)
    assert [e["points"] for e in client.get(f"/v1/members/{member_id}/entries").json()["items"]] == [7]


def test_get_entries_new_member_is_empty(client: TestClient) -> None:
    member_id = enrol(client)
    assert client.get(f"/v1/members/{member_id}/entries").json() == {"items": [], "next_cursor": None}


def test_get_entries_bad_cursor_is_422(client: TestClient) -> None:
    member_id = enrol(client)
    problem(client.get(f"/v1/members/{member_id}/entries", params={"cursor": "!!"}), 422, "/problems/invalid-input", "cursor")


def test_get_entries_bad_limit_is_422(client: TestClient) -> None:
    member_id = enrol(client)
    assert client.get(f"/v1/members/{member_id}/entries", params={"limit": 0}).status_code == 422
    assert client.get(f"/v1/members/{member_id}/entries", params={"limit": 201}).status_code == 422


def test_get_entries_unknown_member_is_404(client: TestClient) -> None:
    problem(client.get("/v1/members/987654321/entries"), 404, "/problems/not-found", "member_id")
