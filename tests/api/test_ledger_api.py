"""Balances, history, redemptions, holds and adjustments over HTTP."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from tests.conftest import make_key


def member_with(client: TestClient, points: int, external_id: str = "lg-1") -> int:
    member_id = client.post("/v1/members", json={"external_id": external_id}).json()["id"]
    if points:
        assert client.post(f"/v1/members/{member_id}/adjustments", json={"points": points, "reason": "seed"}).status_code == 201
    return member_id


def test_get_balance_shows_expiring_windows(client: TestClient, clock) -> None:  # type: ignore[no-untyped-def]
    client.patch("/v1/program", json={"expiry": {"policy": "days", "periods": 45}})
    member_id = member_with(client, 0)
    client.post(f"/v1/members/{member_id}/adjustments",
                json={"points": 100, "reason": "soon", "expires_at": (clock.now() + timedelta(days=20)).isoformat()})
    client.post(f"/v1/members/{member_id}/adjustments", json={"points": 30, "reason": "program expiry"})  # 45 days
    client.post(f"/v1/members/{member_id}/adjustments",
                json={"points": 7, "reason": "late", "expires_at": (clock.now() + timedelta(days=400)).isoformat()})
    balance = client.get(f"/v1/members/{member_id}/balance").json()
    assert balance["available"] == 137
    assert balance["expiring"] == {"days_30": 100, "days_60": 130, "days_90": 130}
    clock.advance(timedelta(days=21))  # past the first lot's expiry, before any worker pass
    balance = client.get(f"/v1/members/{member_id}/balance").json()
    assert balance["available"] == 37
    assert balance["expiring"] == {"days_30": 30, "days_60": 30, "days_90": 30}


def test_get_balance_unknown_member_is_404(client: TestClient) -> None:
    assert client.get("/v1/members/987654321/balance").status_code == 404


def test_get_entries_newest_first_with_cursor(client: TestClient) -> None:
    member_id = member_with(client, 0)
    for n in range(5):
        client.post(f"/v1/members/{member_id}/adjustments", json={"points": n + 1, "reason": f"gift {n}"})
    page = client.get(f"/v1/members/{member_id}/entries", params={"limit": 2}).json()
    assert [e["reason"] for e in page["items"]] == ["gift 4", "gift 3"]
    rest = client.get(f"/v1/members/{member_id}/entries", params={"limit": 10, "cursor": page["next_cursor"]}).json()
    assert [e["points"] for e in rest["items"]] == [3, 2, 1] and rest["next_cursor"] is None
    assert client.get(f"/v1/members/{member_id}/entries", params={"cursor": "garbage"}).status_code == 422


def test_post_redemption_spends_and_refuses_overdraw(client: TestClient) -> None:
    member_id = member_with(client, 300)
    spent = client.post(f"/v1/members/{member_id}/redemptions", json={"points": 120, "reason": "coffee"})
    assert spent.status_code == 201 and spent.json()["balance"] == 180
    over = client.post(f"/v1/members/{member_id}/redemptions", json={"points": 181, "reason": "too much"})
    assert over.status_code == 422
    assert over.json()["type"] == "/problems/insufficient-points" and over.json()["available"] == 180
    assert client.get(f"/v1/members/{member_id}/balance").json()["available"] == 180


def test_post_redemption_below_program_minimum_is_422(client: TestClient) -> None:
    client.patch("/v1/program", json={"min_redemption": 100})
    member_id = member_with(client, 300)
    response = client.post(f"/v1/members/{member_id}/redemptions", json={"points": 50, "reason": "small"})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "points"


def test_post_redemption_suspended_member_is_422(client: TestClient) -> None:
    member_id = member_with(client, 300)
    client.post(f"/v1/members/{member_id}/suspend", json={"reason": "check"})
    response = client.post(f"/v1/members/{member_id}/redemptions", json={"points": 10, "reason": "x"})
    assert response.status_code == 422 and response.json()["type"] == "/problems/member-not-active"


def test_post_redemption_idempotency_key_debits_once(client: TestClient) -> None:
    member_id = member_with(client, 300)
    headers = {"Idempotency-Key": "till-1-77"}
    body = {"points": 100, "reason": "coffee"}
    first = client.post(f"/v1/members/{member_id}/redemptions", json=body, headers=headers)
    again = client.post(f"/v1/members/{member_id}/redemptions", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert client.get(f"/v1/members/{member_id}/balance").json()["available"] == 200
    clash = client.post(f"/v1/members/{member_id}/redemptions", json={"points": 101, "reason": "coffee"}, headers=headers)
    assert clash.status_code == 409


def test_post_redemption_bad_body_is_422_naming_field(client: TestClient) -> None:
    member_id = member_with(client, 300)
    for body, field in (({"points": 0, "reason": "x"}, "points"), ({"points": 5}, "reason"), ({"points": "lots", "reason": "x"}, "points")):
        response = client.post(f"/v1/members/{member_id}/redemptions", json=body)
        assert response.status_code == 422 and response.json()["errors"][0]["field"] == field


def test_hold_capture_in_part_returns_the_rest(client: TestClient) -> None:
    member_id = member_with(client, 500)
    hold = client.post(f"/v1/members/{member_id}/holds", json={"points": 300, "reason": "basket 1"})
    assert hold.status_code == 201 and hold.json()["status"] == "open"
    assert client.get(f"/v1/members/{member_id}/balance").json()["held"] == 300
    done = client.post(f"/v1/holds/{hold.json()['id']}/capture", json={"points": 250})
    assert done.status_code == 200 and done.json()["status"] == "captured" and done.json()["captured_points"] == 250
    balance = client.get(f"/v1/members/{member_id}/balance").json()
    assert (balance["available"], balance["held"]) == (250, 0)


def test_hold_void_gives_all_back_and_second_resolution_is_409(client: TestClient) -> None:
    member_id = member_with(client, 500)
    hold_id = client.post(f"/v1/members/{member_id}/holds", json={"points": 200, "reason": "basket 2"}).json()["id"]
    assert client.post(f"/v1/holds/{hold_id}/void").json()["status"] == "voided"
    again = client.post(f"/v1/holds/{hold_id}/capture", json={})
    assert again.status_code == 409 and again.json()["hold_status"] == "voided"
    assert client.get(f"/v1/members/{member_id}/balance").json()["available"] == 500
    assert client.get(f"/v1/holds/{hold_id}").json()["status"] == "voided"


def test_hold_capture_after_fifteen_minutes_is_409(client: TestClient, clock) -> None:  # type: ignore[no-untyped-def]
    member_id = member_with(client, 500)
    hold_id = client.post(f"/v1/members/{member_id}/holds", json={"points": 100, "reason": "slow till"}).json()["id"]
    clock.advance(timedelta(minutes=15, seconds=1))
    late = client.post(f"/v1/holds/{hold_id}/capture", json={})
    assert late.status_code == 409 and late.json()["hold_status"] == "lapsed"
    assert client.post(f"/v1/holds/{hold_id}/void").status_code == 200  # the points go back


def test_hold_bad_requests(client: TestClient) -> None:
    member_id = member_with(client, 100)
    assert client.post(f"/v1/members/{member_id}/holds", json={"points": 101, "reason": "x"}).status_code == 422
    hold_id = client.post(f"/v1/members/{member_id}/holds", json={"points": 50, "reason": "x"}).json()["id"]
    assert client.post(f"/v1/holds/{hold_id}/capture", json={"points": 51}).status_code == 422
    assert client.post(f"/v1/holds/{hold_id}/void", json={"points": 5}).status_code == 422
    assert client.get("/v1/holds/424242").status_code == 404
    assert client.post("/v1/holds/424242/capture", json={}).status_code == 404


def test_post_adjustment_credit_and_debit(client: TestClient) -> None:
    member_id = member_with(client, 0)
    credit = client.post(f"/v1/members/{member_id}/adjustments", json={"points": 250, "reason": "apology for late delivery"})
    assert credit.status_code == 201 and credit.json()["balance"] == 250
    debit = client.post(f"/v1/members/{member_id}/adjustments", json={"points": -50, "reason": "duplicate credit"})
    assert debit.status_code == 201 and debit.json()["balance"] == 200
    entries = client.get(f"/v1/members/{member_id}/entries").json()["items"]
    assert [(e["kind"], e["points"], e["reason"]) for e in entries] == [
        ("adjust", -50, "duplicate credit"), ("adjust", 250, "apology for late delivery"),
    ]


def test_post_adjustment_invalid_is_422(client: TestClient) -> None:
    member_id = member_with(client, 10)
    assert client.post(f"/v1/members/{member_id}/adjustments", json={"points": 0, "reason": "nothing"}).status_code == 422
    assert client.post(f"/v1/members/{member_id}/adjustments", json={"points": 5}).status_code == 422
    over = client.post(f"/v1/members/{member_id}/adjustments", json={"points": -11, "reason": "too much"})
    assert over.status_code == 422 and over.json()["type"] == "/problems/insufficient-points"


def test_post_adjustment_needs_admin(client: TestClient, factory, clock, tenant) -> None:  # type: ignore[no-untyped-def]
    member_id = member_with(client, 0)
    key = make_key(factory, tenant.id, ["read", "members:write", "events:write", "redeem"], clock.now())
    response = client.post(f"/v1/members/{member_id}/adjustments", json={"points": 5, "reason": "gift"}, headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 403
