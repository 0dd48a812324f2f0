"""Spending points: redemptions at once, and holds at a till that are captured (all or part), voided or lapse."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from tests.conftest import problem
from wafa.jobs.service import run_due


def member_with(client: TestClient, points: int, external_id: str = "R-1") -> int:
    """A member who earned `points` with a purchase."""
    member_id = client.post("/v1/members", json={"external_id": external_id}).json()["id"]
    if points:
        response = client.post("/v1/events", json={
            "type": "purchase", "member": {"id": member_id}, "order_id": f"seed-{external_id}", "amount": str(points), "currency": "SAR",
        })
        assert response.json()["award"]["points"] == points, response.text
    return member_id


def balance(client: TestClient, member_id: int) -> tuple[int, int, int]:
    body = client.get(f"/v1/members/{member_id}/balance").json()
    return body["available"], body["pending"], body["held"]


def kinds(client: TestClient, member_id: int) -> list[tuple[str, int]]:
    return [(e["kind"], e["points"]) for e in client.get(f"/v1/members/{member_id}/entries").json()["items"]]


def redeem(client: TestClient, member_id: int, points: int, reason: str = "coffee", **headers: str):  # type: ignore[no-untyped-def]
    return client.post(f"/v1/members/{member_id}/redemptions", json={"points": points, "reason": reason}, headers=headers)


def hold(client: TestClient, member_id: int, points: int, reason: str = "till 3") -> dict:  # type: ignore[type-arg]
    response = client.post(f"/v1/members/{member_id}/holds", json={"points": points, "reason": reason})
    assert response.status_code == 201, response.text
    return response.json()


# --- POST /v1/members/{id}/redemptions


def test_post_redemption_is_201_and_debits(client: TestClient) -> None:
    member_id = member_with(client, 100)
    response = redeem(client, member_id, 30)
    assert response.status_code == 201
    body = response.json()
    assert body == {"entry_id": body["entry_id"], "member_id": member_id, "points": 30, "balance": 70}
    newest = client.get(f"/v1/members/{member_id}/entries").json()["items"][0]
    assert (newest["id"], newest["kind"], newest["points"], newest["reason"]) == (body["entry_id"], "redeem", -30, "coffee")
    assert balance(client, member_id) == (70, 0, 0)


def test_post_redemption_of_everything_leaves_zero(client: TestClient) -> None:
    member_id = member_with(client, 100)
    assert redeem(client, member_id, 100).json()["balance"] == 0
    assert balance(client, member_id) == (0, 0, 0)


def test_post_redemption_insufficient_is_422(client: TestClient) -> None:
    member_id = member_with(client, 100)
    body = problem(redeem(client, member_id, 101), 422, "/problems/insufficient-points", "points")
    assert (body["detail"], body["available"]) == ("101 points requested, 100 available", 100)
    assert balance(client, member_id) == (100, 0, 0)
    assert kinds(client, member_id) == [("earn", 100)]


def test_post_redemption_of_pending_points_is_422(client: TestClient) -> None:
    client.patch("/v1/program", json={"pending_days": 14})
    member_id = member_with(client, 50)
    assert problem(redeem(client, member_id, 10), 422, "/problems/insufficient-points", "points")["available"] == 0
    assert balance(client, member_id) == (0, 50, 0)


def test_post_redemption_of_held_points_is_422(client: TestClient) -> None:
    member_id = member_with(client, 50)
    hold(client, member_id, 40)
    assert problem(redeem(client, member_id, 11), 422, "/problems/insufficient-points", "points")["available"] == 10
    assert balance(client, member_id) == (10, 0, 40)


def test_post_redemption_below_program_minimum_is_422(client: TestClient) -> None:
    client.patch("/v1/program", json={"min_redemption": 100})
    member_id = member_with(client, 500)
    body = problem(redeem(client, member_id, 99), 422, "/problems/invalid-input", "points")
    assert body["detail"] == "the program's minimum redemption is 100 points"
    assert balance(client, member_id) == (500, 0, 0)
    assert redeem(client, member_id, 100).json()["balance"] == 400


def test_post_redemption_suspended_member_is_422(client: TestClient) -> None:
    member_id = member_with(client, 100)
    client.post(f"/v1/members/{member_id}/suspend", json={"reason": "fraud check"})
    body = problem(redeem(client, member_id, 10), 422, "/problems/member-not-active")
    assert body["member_status"] == "suspended"
    assert balance(client, member_id) == (100, 0, 0)


def test_post_redemption_closed_member_is_422(client: TestClient) -> None:
    member_id = member_with(client, 100)
    client.post(f"/v1/members/{member_id}/close", json={"reason": "left"})
    assert problem(redeem(client, member_id, 10), 422, "/problems/member-not-active")["member_status"] == "closed"


def test_post_redemption_in_debt_without_blocking_is_insufficient_422(client: TestClient) -> None:
    client.patch("/v1/program", json={"block_redemptions_in_debt": False})
    member_id = member_with(client, 100)
    redeem(client, member_id, 100)
    client.post("/v1/events", json={"type": "return", "order_id": "seed-R-1"})
    body = problem(redeem(client, member_id, 1), 422, "/problems/insufficient-points", "points")
    assert body["available"] == 0
    assert balance(client, member_id) == (-100, 0, 0)


def test_post_redemption_bad_points_is_422(client: TestClient) -> None:
    member_id = member_with(client, 100)
    for points in (0, -5, 10**12 + 1):
        problem(redeem(client, member_id, points), 422, "/problems/invalid-input", "points")
    problem(client.post(f"/v1/members/{member_id}/redemptions", json={"points": "ten", "reason": "x"}), 422, "/problems/invalid-input", "points")
    assert balance(client, member_id) == (100, 0, 0)


def test_post_redemption_missing_reason_is_422(client: TestClient) -> None:
    member_id = member_with(client, 100)
    problem(client.post(f"/v1/members/{member_id}/redemptions", json={"points": 10}), 422, "/problems/invalid-input", "reason")


def test_post_redemption_unknown_member_is_404(client: TestClient) -> None:
    problem(redeem(client, 987654321, 10), 404, "/problems/not-found", "member_id")


def test_post_redemption_idempotency_key_replays_first_response(client: TestClient) -> None:
    member_id = member_with(client, 100)
    first = redeem(client, member_id, 30, **{"Idempotency-Key": "pos-42-1"})
    again = redeem(client, member_id, 30, **{"Idempotency-Key": "pos-42-1"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert balance(client, member_id) == (70, 0, 0)
    assert kinds(client, member_id) == [("redeem", -30), ("earn", 100)]


def test_post_redemption_idempotency_key_other_body_is_409(client: TestClient) -> None:
    member_id = member_with(client, 100)
    redeem(client, member_id, 30, **{"Idempotency-Key": "pos-42-2"})
    body = problem(redeem(client, member_id, 31, **{"Idempotency-Key": "pos-42-2"}), 409, "/problems/idempotency-key-reused", "Idempotency-Key")
    assert "pos-42-2" in body["detail"]
    assert balance(client, member_id) == (70, 0, 0)


def test_post_redemption_idempotency_key_for_another_member_is_409(client: TestClient) -> None:
    first_id = member_with(client, 100)
    second_id = member_with(client, 100, "R-2")
    redeem(client, first_id, 30, **{"Idempotency-Key": "pos-42-3"})
    problem(redeem(client, second_id, 30, **{"Idempotency-Key": "pos-42-3"}), 409, "/problems/idempotency-key-reused")
    assert balance(client, second_id) == (100, 0, 0)


def test_post_redemption_idempotency_key_after_a_refusal_can_succeed(client: TestClient) -> None:
    member_id = member_with(client, 20)
    problem(redeem(client, member_id, 30, **{"Idempotency-Key": "pos-42-4"}), 422, "/problems/insufficient-points")
    client.post(f"/v1/members/{member_id}/adjustments", json={"points": 10, "reason": "top up"})
    retried = redeem(client, member_id, 30, **{"Idempotency-Key": "pos-42-4"})
    assert (retried.status_code, retried.json()["balance"]) == (201, 0)
    assert "Idempotent-Replayed" not in retried.headers


def test_post_redemption_bad_idempotency_key_is_422(client: TestClient) -> None:
    member_id = member_with(client, 100)
    problem(redeem(client, member_id, 10, **{"Idempotency-Key": "k" * 201}), 422, "/problems/invalid-input", "Idempotency-Key")
    assert balance(client, member_id) == (100, 0, 0)


# --- POST /v1/members/{id}/holds


def test_post_hold_is_201_and_reserves_points(client: TestClient) -> None:
    member_id = member_with(client, 100)
    response = client.post(f"/v1/members/{member_id}/holds", json={"points": 40, "reason": "till 3"})
    assert response.status_code == 201
    body = response.json()
    assert body == {
        "id": body["id"], "member_id": member_id, "points": 40, "captured_points": 0, "status": "open", "reason": "till 3",
        "created_at": "2026-03-01T09:00:00Z", "expires_at": "2026-03-01T09:15:00Z", "resolved_at": None,
    }
    assert balance(client, member_id) == (60, 0, 40)
    assert kinds(client, member_id) == [("hold", -40), ("earn", 100)]


def test_post_hold_idempotency_key_replays_the_same_hold(client: TestClient) -> None:
    member_id = member_with(client, 100)
    body = {"points": 40, "reason": "till 3"}
    first = client.post(f"/v1/members/{member_id}/holds", json=body, headers={"Idempotency-Key": "hold-1"})
    again = client.post(f"/v1/members/{member_id}/holds", json=body, headers={"Idempotency-Key": "hold-1"})
    assert (first.status_code, again.status_code, again.headers["Idempotent-Replayed"]) == (201, 201, "true")
    assert again.json() == first.json()
    assert balance(client, member_id) == (60, 0, 40)
    other = client.post(f"/v1/members/{member_id}/holds", json={**body, "points": 41}, headers={"Idempotency-Key": "hold-1"})
    problem(other, 409, "/problems/idempotency-key-reused", "Idempotency-Key")


def test_post_hold_lasts_the_program_hold_time(client: TestClient) -> None:
    client.patch("/v1/program", json={"hold_ttl_seconds": 90})
    member_id = member_with(client, 100)
    assert hold(client, member_id, 10)["expires_at"] == "2026-03-01T09:01:30Z"


def test_post_hold_insufficient_is_422(client: TestClient) -> None:
    member_id = member_with(client, 100)
    hold(client, member_id, 60)
    body = problem(client.post(f"/v1/members/{member_id}/holds", json={"points": 41, "reason": "x"}), 422, "/problems/insufficient-points", "points")
    assert body["available"] == 40
    assert balance(client, member_id) == (40, 0, 60)


def test_post_hold_below_program_minimum_is_422(client: TestClient) -> None:
    client.patch("/v1/program", json={"min_redemption": 50})
    member_id = member_with(client, 100)
    problem(client.post(f"/v1/members/{member_id}/holds", json={"points": 49, "reason": "x"}), 422, "/problems/invalid-input", "points")


def test_post_hold_suspended_member_is_422(client: TestClient) -> None:
    member_id = member_with(client, 100)
    client.post(f"/v1/members/{member_id}/suspend", json={"reason": "x"})
    problem(client.post(f"/v1/members/{member_id}/holds", json={"points": 10, "reason": "x"}), 422, "/problems/member-not-active")
    assert balance(client, member_id) == (100, 0, 0)


def test_post_hold_unknown_member_is_404(client: TestClient) -> None:
    problem(client.post("/v1/members/987654321/holds", json={"points": 10, "reason": "x"}), 404, "/problems/not-found")


# --- GET /v1/holds/{id}


def test_get_hold_is_200(client: TestClient) -> None:
    member_id = member_with(client, 100)
    made = hold(client, member_id, 25)
    response = client.get(f"/v1/holds/{made['id']}")
    assert response.status_code == 200
    assert response.json() == made


def test_get_hold_unknown_is_404(client: TestClient) -> None:
    problem(client.get("/v1/holds/987654321"), 404, "/problems/not-found")


# --- POST /v1/holds/{id}/capture


def test_capture_hold_in_full(client: TestClient, clock) -> None:  # type: ignore[no-untyped-def]
    member_id = member_with(client, 100)
    made = hold(client, member_id, 40)
    clock.advance(timedelta(minutes=5))
    response = client.post(f"/v1/holds/{made['id']}/capture")
    assert response.status_code == 200
    assert response.json() == {**made, "status": "captured", "captured_points": 40, "resolved_at": "2026-03-01T09:05:00Z"}
    assert client.get(f"/v1/holds/{made['id']}").json() == response.json()
    assert balance(client, member_id) == (60, 0, 0)
    newest = client.get(f"/v1/members/{member_id}/entries").json()["items"][0]
    assert (newest["kind"], newest["points"], newest["reason"]) == ("capture", 0, f"hold {made['id']} captured (40 of 40 points)")


def test_capture_hold_in_part_gives_the_rest_back(client: TestClient) -> None:
    member_id = member_with(client, 100)
    made = hold(client, member_id, 40)
    response = client.post(f"/v1/holds/{made['id']}/capture", json={"points": 25})
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["captured_points"]) == ("captured", 25)
    assert balance(client, member_id) == (75, 0, 0)
    assert kinds(client, member_id)[0] == ("capture", 15)
    assert redeem(client, member_id, 75).json()["balance"] == 0  # the 15 given back are spendable


def test_capture_hold_more_than_held_is_422(client: TestClient) -> None:
    member_id = member_with(client, 100)
    made = hold(client, member_id, 40)
    body = problem(client.post(f"/v1/holds/{made['id']}/capture", json={"points": 41}), 422, "/problems/invalid-input", "points")
    assert body["detail"] == "capture between 1 and 40 points"
    assert client.get(f"/v1/holds/{made['id']}").json()["status"] == "open"
    assert balance(client, member_id) == (60, 0, 40)


def test_capture_hold_twice_is_409(client: TestClient) -> None:
    member_id = member_with(client, 100)
    made = hold(client, member_id, 40)
    client.post(f"/v1/holds/{made['id']}/capture", json={"points": 10})
    body = problem(client.post(f"/v1/holds/{made['id']}/capture", json={"points": 10}), 409, "/problems/conflict")
    assert body["hold_status"] == "captured"
    assert balance(client, member_id) == (90, 0, 0)


def test_capture_hold_after_void_is_409(client: TestClient) -> None:
    member_id = member_with(client, 100)
    made = hold(client, member_id, 40)
    client.post(f"/v1/holds/{made['id']}/void")
    assert problem(client.post(f"/v1/holds/{made['id']}/capture"), 409, "/problems/conflict")["hold_status"] == "voided"
    assert balance(client, member_id) == (100, 0, 0)


def test_capture_hold_just_before_it_lapses_is_200(client: TestClient, clock) -> None:  # type: ignore[no-untyped-def]
    member_id = member_with(client, 100)
    made = hold(client, member_id, 40)
    clock.advance(timedelta(minutes=15) - timedelta(seconds=1))
    assert client.post(f"/v1/holds/{made['id']}/capture").json()["status"] == "captured"
    assert balance(client, member_id) == (60, 0, 0)


def test_capture_hold_after_15_minutes_is_409(client: TestClient, clock) -> None:  # type: ignore[no-untyped-def]
    member_id = member_with(client, 100)
    made = hold(client, member_id, 40)
    clock.advance(timedelta(minutes=15))
    body = problem(client.post(f"/v1/holds/{made['id']}/capture"), 409, "/problems/conflict")
    assert body["hold_status"] == "lapsed"
    assert balance(client, member_id) == (60, 0, 40)  # nothing spent; the worker gives the points back


def test_capture_hold_after_the_worker_lapsed_it_is_409(client: TestClient, clock, factory, tenant) -> None:  # type: ignore[no-untyped-def]
    member_id = member_with(client, 100)
    made = hold(client, member_id, 40)
    clock.advance(timedelta(minutes=16))
    assert run_due(factory, now=clock.now(), tenant_id=tenant.id).lapsed_holds == 1
    assert client.get(f"/v1/holds/{made['id']}").json()["status"] == "lapsed"
    assert balance(client, member_id) == (100, 0, 0)
    assert problem(client.post(f"/v1/holds/{made['id']}/capture"), 409, "/problems/conflict")["hold_status"] == "lapsed"
    assert problem(client.post(f"/v1/holds/{made['id']}/void"), 409, "/problems/conflict")["hold_status"] == "lapsed"


def test_capture_hold_idempotency_key_replays(client: TestClient) -> None:
    member_id = member_with(client, 100)
    made = hold(client, member_id, 40)
    first = client.post(f"/v1/holds/{made['id']}/capture", json={"points": 30}, headers={"Idempotency-Key": "cap-1"})
    again = client.post(f"/v1/holds/{made['id']}/capture", json={"points": 30}, headers={"Idempotency-Key": "cap-1"})
    assert (first.status_code, again.status_code, again.headers["Idempotent-Replayed"]) == (200, 200, "true")
    assert again.json() == first.json()
    assert balance(client, member_id) == (70, 0, 0)


def test_capture_hold_unknown_is_404(client: TestClient) -> None:
    problem(client.post("/v1/holds/987654321/capture"), 404, "/problems/not-found")


# --- POST /v1/holds/{id}/void


def test_void_hold_gives_everything_back(client: TestClient, clock) -> None:  # type: ignore[no-untyped-def]
    member_id = member_with(client, 100)
    made = hold(client, member_id, 40)
    clock.advance(timedelta(minutes=2))
    response = client.post(f"/v1/holds/{made['id']}/void")
    assert response.status_code == 200
    assert response.json() == {**made, "status": "voided", "captured_points": 0, "resolved_at": "2026-03-01T09:02:00Z"}
    assert balance(client, member_id) == (100, 0, 0)
    assert kinds(client, member_id) == [("void", 40), ("hold", -40), ("earn", 100)]


def test_void_hold_with_points_is_422(client: TestClient) -> None:
    member_id = member_with(client, 100)
    made = hold(client, member_id, 40)
    problem(client.post(f"/v1/holds/{made['id']}/void", json={"points": 10}), 422, "/problems/invalid-input", "points")
    assert client.get(f"/v1/holds/{made['id']}").json()["status"] == "open"


def test_void_hold_after_capture_is_409(client: TestClient) -> None:
    member_id = member_with(client, 100)
    made = hold(client, member_id, 40)
    client.post(f"/v1/holds/{made['id']}/capture")
    assert problem(client.post(f"/v1/holds/{made['id']}/void"), 409, "/problems/conflict")["hold_status"] == "captured"
    assert balance(client, member_id) == (60, 0, 0)


def test_void_hold_twice_is_409(client: TestClient) -> None:
    member_id = member_with(client, 100)
    made = hold(client, member_id, 40)
    client.post(f"/v1/holds/{made['id']}/void")
    assert problem(client.post(f"/v1/holds/{made['id']}/void"), 409, "/problems/conflict")["hold_status"] == "voided"
    assert balance(client, member_id) == (100, 0, 0)


def test_void_hold_unknown_is_404(client: TestClient) -> None:
    problem(client.post("/v1/holds/987654321/void"), 404, "/problems/not-found")


def test_redemptions_and_captures_go_in_the_programs_steps(client: TestClient) -> None:
    assert client.patch("/v1/program", json={"redemption_step": 100}).json()["redemption_step"] == 100
    member_id = client.post("/v1/members", json={"external_id": "step-1"}).json()["id"]
    client.post("/v1/events", json={"type": "purchase", "member": {"id": member_id}, "order_id": "S-1", "amount": "1000.00", "currency": "SAR"})
    problem(client.post(f"/v1/members/{member_id}/redemptions", json={"points": 250, "reason": "x"}), 422, "/problems/invalid-input", "points")
    assert client.post(f"/v1/members/{member_id}/redemptions", json={"points": 300, "reason": "x"}).status_code == 201
    problem(client.post(f"/v1/members/{member_id}/holds", json={"points": 150, "reason": "x"}), 422, "/problems/invalid-input", "points")
    hold = client.post(f"/v1/members/{member_id}/holds", json={"points": 500, "reason": "x"}).json()
    problem(client.post(f"/v1/holds/{hold['id']}/capture", json={"points": 250}), 422, "/problems/invalid-input", "points")
    assert client.post(f"/v1/holds/{hold['id']}/capture", json={"points": 200}).json()["captured_points"] == 200
    assert client.get(f"/v1/members/{member_id}/balance").json()["available"] == 1000 - 300 - 200
    problem(client.patch("/v1/program", json={"redemption_step": 0}), 422, "/problems/invalid-input", "redemption_step")
