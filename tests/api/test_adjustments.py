"""POST /v1/members/{id}/adjustments: credits and debits by hand, for admin keys only."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from tests.conftest import START, TenantCtx, make_key, problem


def enrol(client: TestClient, external_id: str = "A-1") -> int:
    return client.post("/v1/members", json={"external_id": external_id}).json()["id"]


def adjust(client: TestClient, member_id: int, body: dict, **headers: str):  # type: ignore[no-untyped-def,type-arg]
    return client.post(f"/v1/members/{member_id}/adjustments", json=body, headers=headers)


def available(client: TestClient, member_id: int) -> int:
    return client.get(f"/v1/members/{member_id}/balance").json()["available"]


def entries(client: TestClient, member_id: int) -> list[dict]:  # type: ignore[type-arg]
    return client.get(f"/v1/members/{member_id}/entries").json()["items"]


def test_post_adjustment_credit_is_201(client: TestClient) -> None:
    member_id = enrol(client)
    response = adjust(client, member_id, {"points": 100, "reason": "welcome bonus"})
    assert response.status_code == 201
    body = response.json()
    assert body == {"entry_id": body["entry_id"], "member_id": member_id, "points": 100, "balance": 100}
    entry = entries(client, member_id)[0]
    assert (entry["id"], entry["kind"], entry["points"], entry["reason"]) == (body["entry_id"], "adjust", 100, "welcome bonus")
    assert entry["details"]["actor"].startswith("api-key:")
    assert available(client, member_id) == 100


def test_post_adjustment_credit_follows_program_expiry(client: TestClient, clock) -> None:  # type: ignore[no-untyped-def]
    client.patch("/v1/program", json={"expiry": {"policy": "days", "periods": 30}})
    member_id = enrol(client)
    adjust(client, member_id, {"points": 100, "reason": "welcome bonus"})
    assert client.get(f"/v1/members/{member_id}/balance").json()["expiring"]["days_30"] == 100
    clock.advance(timedelta(days=30))
    assert available(client, member_id) == 0


def test_post_adjustment_credit_with_own_expiry(client: TestClient, clock) -> None:  # type: ignore[no-untyped-def]
    member_id = enrol(client)
    adjust(client, member_id, {"points": 40, "reason": "apology", "expires_at": (START + timedelta(days=10)).isoformat()})
    assert client.get(f"/v1/members/{member_id}/balance").json()["expiring"] == {"days_30": 40, "days_60": 40, "days_90": 40}
    clock.advance(timedelta(days=10))
    assert available(client, member_id) == 0


def test_post_adjustment_credit_expiry_in_the_past_is_422(client: TestClient) -> None:
    member_id = enrol(client)
    body = {"points": 40, "reason": "apology", "expires_at": START.isoformat()}
    problem(adjust(client, member_id, body), 422, "/problems/invalid-input", "expires_at")
    assert available(client, member_id) == 0


def test_post_adjustment_debit_with_expiry_is_422(client: TestClient) -> None:
    member_id = enrol(client)
    adjust(client, member_id, {"points": 100, "reason": "seed"})
    body = {"points": -10, "reason": "correction", "expires_at": (START + timedelta(days=1)).isoformat()}
    problem(adjust(client, member_id, body), 422, "/problems/invalid-input", "expires_at")
    assert available(client, member_id) == 100


def test_post_adjustment_debit_is_201(client: TestClient) -> None:
    member_id = enrol(client)
    adjust(client, member_id, {"points": 100, "reason": "seed"})
    response = adjust(client, member_id, {"points": -30, "reason": "duplicate credit"})
    assert response.status_code == 201
    assert {k: v for k, v in response.json().items() if k != "entry_id"} == {"member_id": member_id, "points": -30, "balance": 70}
    assert [(e["kind"], e["points"], e["reason"]) for e in entries(client, member_id)] == [
        ("adjust", -30, "duplicate credit"), ("adjust", 100, "seed"),
    ]


def test_post_adjustment_debit_of_everything_leaves_zero(client: TestClient) -> None:
    member_id = enrol(client)
    adjust(client, member_id, {"points": 100, "reason": "seed"})
    assert adjust(client, member_id, {"points": -100, "reason": "fraud"}).json()["balance"] == 0


def test_post_adjustment_debit_above_balance_is_422(client: TestClient) -> None:
    member_id = enrol(client)
    adjust(client, member_id, {"points": 100, "reason": "seed"})
    body = problem(adjust(client, member_id, {"points": -101, "reason": "fraud"}), 422, "/problems/insufficient-points", "points")
    assert body["available"] == 100
    assert available(client, member_id) == 100


def test_post_adjustment_zero_is_422(client: TestClient) -> None:
    member_id = enrol(client)
    problem(adjust(client, member_id, {"points": 0, "reason": "nothing"}), 422, "/problems/invalid-input", "points")
    assert entries(client, member_id) == []


def test_post_adjustment_missing_reason_is_422(client: TestClient) -> None:
    member_id = enrol(client)
    problem(adjust(client, member_id, {"points": 10}), 422, "/problems/invalid-input", "reason")
    problem(adjust(client, member_id, {"points": 10, "reason": "ok"}), 422, "/problems/invalid-input", "reason")  # under 3 characters
    assert entries(client, member_id) == []


def test_post_adjustment_points_out_of_range_is_422(client: TestClient) -> None:
    member_id = enrol(client)
    problem(adjust(client, member_id, {"points": 10**12 + 1, "reason": "huge"}), 422, "/problems/invalid-input", "points")
    problem(adjust(client, member_id, {"points": 1.5, "reason": "half"}), 422, "/problems/invalid-input", "points")


def test_post_adjustment_credit_repays_debt_first(client: TestClient) -> None:
    member_id = enrol(client)
    client.post("/v1/events", json={"type": "purchase", "member": {"id": member_id}, "order_id": "D-1", "amount": "60", "currency": "SAR"})
    client.post(f"/v1/members/{member_id}/redemptions", json={"points": 60, "reason": "voucher"})
    client.post("/v1/events", json={"type": "return", "order_id": "D-1"})
    assert available(client, member_id) == -60
    assert adjust(client, member_id, {"points": 100, "reason": "goodwill"}).json()["balance"] == 40
    assert client.get(f"/v1/members/{member_id}/balance").json()["debt"] == 0
    assert client.post(f"/v1/members/{member_id}/redemptions", json={"points": 40, "reason": "x"}).json()["balance"] == 0


def test_post_adjustment_for_suspended_member_is_201(client: TestClient) -> None:
    member_id = enrol(client)
    client.post(f"/v1/members/{member_id}/suspend", json={"reason": "x"})
    assert adjust(client, member_id, {"points": 5, "reason": "goodwill"}).json()["balance"] == 5


def test_post_adjustment_idempotency_key_replays(client: TestClient) -> None:
    member_id = enrol(client)
    first = adjust(client, member_id, {"points": 50, "reason": "goodwill"}, **{"Idempotency-Key": "adj-1"})
    again = adjust(client, member_id, {"points": 50, "reason": "goodwill"}, **{"Idempotency-Key": "adj-1"})
    assert (first.status_code, again.status_code, again.headers["Idempotent-Replayed"]) == (201, 201, "true")
    assert again.json() == first.json()
    assert available(client, member_id) == 50
    problem(adjust(client, member_id, {"points": 51, "reason": "goodwill"}, **{"Idempotency-Key": "adj-1"}), 409, "/problems/idempotency-key-reused")


def test_post_adjustment_unknown_member_is_404(client: TestClient) -> None:
    problem(adjust(client, 987654321, {"points": 10, "reason": "goodwill"}), 404, "/problems/not-found", "member_id")


def test_post_adjustment_without_admin_scope_is_403(client: TestClient, factory, clock, tenant: TenantCtx) -> None:  # type: ignore[no-untyped-def]
    member_id = enrol(client)
    key = make_key(factory, tenant.id, ["read", "members:write", "events:write", "redeem"], clock.now())
    response = adjust(client, member_id, {"points": 10, "reason": "goodwill"}, Authorization=f"Bearer {key}")
    body = problem(response, 403, "/problems/forbidden")
    assert body["detail"] == "this API key lacks the 'admin' scope"
    assert available(client, member_id) == 0
