"""Who may call what (401 without a valid key, 403 without the scope), and the shape of every error body."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import TenantCtx, make_key

PROBLEM = "application/problem+json"
NON_ADMIN = ["read", "members:write", "events:write", "redeem"]


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def assert_problem(response, status: int, type_: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    """Every error is RFC 9457 problem+json with type, title, status and detail."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert (body["type"], body["status"]) == (type_, status)
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    return body


@pytest.fixture
def member_id(client: TestClient) -> int:
    member = client.post("/v1/members", json={"external_id": "AU-1"}).json()
    client.post(f"/v1/members/{member['id']}/adjustments", json={"points": 100, "reason": "seed"})
    return member["id"]


# --- 401


@pytest.mark.parametrize("path", ["/v1/program", "/v1/members", "/v1/api-keys"])
def test_request_without_key_is_401(client: TestClient, path: str) -> None:
    client.headers.pop("Authorization")
    body = assert_problem(client.get(path), 401, "/problems/unauthorized")
    assert (body["title"], body["detail"]) == ("Unauthorized", "send an API key as `Authorization: Bearer <key>`")


@pytest.mark.parametrize("header", ["Bearer wafa_not-a-real-key", "Bearer ", "Basic YWRtaW46YWRtaW4=", "wafa_bare", "Bearer wafa_"])
def test_request_with_bad_key_is_401(client: TestClient, header: str) -> None:
    body = assert_problem(client.get("/v1/program", headers={"Authorization": header}), 401, "/problems/unauthorized")
    assert "errors" not in body


def test_request_with_bad_key_changes_nothing(client: TestClient, member_id: int) -> None:
    response = client.post(
        f"/v1/members/{member_id}/redemptions", json={"points": 10, "reason": "x"}, headers=bearer("wafa_forged")
    )
    assert_problem(response, 401, "/problems/unauthorized")
    assert client.get(f"/v1/members/{member_id}/balance").json()["available"] == 100


# --- 403: one case per scope; a key holding every other non-admin scope is refused, the scope alone passes


def _scoped_request(client: TestClient, scope: str, member_id: int):  # type: ignore[no-untyped-def]
    """A request needing `scope`, and a check of what it did when allowed."""
    if scope == "events:write":
        body = {"type": "purchase", "member": {"id": member_id}, "order_id": "SC-1", "amount": "25.00", "currency": "SAR"}
        return "POST", "/v1/events", body, lambda r: (r.status_code, r.json()["award"]["points"]) == (201, 25)
    if scope == "members:write":
        return "POST", "/v1/members", {"external_id": "SC-2"}, lambda r: (r.status_code, r.json()["external_id"]) == (201, "SC-2")
    if scope == "redeem":
        body = {"points": 30, "reason": "coffee"}
        return "POST", f"/v1/members/{member_id}/redemptions", body, lambda r: (r.status_code, r.json()["balance"]) == (201, 70)
    if scope == "admin":
        body = {"points": 5, "reason": "goodwill"}
        return "POST", f"/v1/members/{member_id}/adjustments", body, lambda r: (r.status_code, r.json()["balance"]) == (201, 105)
    if scope == "read":
        return "GET", f"/v1/members/{member_id}/balance", None, lambda r: (r.status_code, r.json()["available"]) == (200, 100)
    raise AssertionError(scope)


@pytest.mark.parametrize("scope", ["events:write", "members:write", "redeem", "admin", "read"])
def test_request_missing_scope_is_403(client: TestClient, factory, clock, tenant: TenantCtx, member_id: int, scope: str) -> None:  # type: ignore[no-untyped-def]
    method, path, body, did = _scoped_request(client, scope, member_id)
    others = make_key(factory, tenant.id, [s for s in NON_ADMIN if s != scope], clock.now())
    refused = client.request(method, path, json=body, headers=bearer(others))
    problem = assert_problem(refused, 403, "/problems/forbidden")
    assert problem["detail"] == f"this API key lacks the {scope!r} scope"
    assert client.get(f"/v1/members/{member_id}/balance").json()["available"] == 100  # nothing happened
    assert client.get("/v1/members", params={"external_id": "SC-2"}).json()["items"] == []
    only = make_key(factory, tenant.id, [scope], clock.now())
    assert did(client.request(method, path, json=body, headers=bearer(only)))


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/v1/members"),
        ("GET", "/v1/members/{m}"),
        ("GET", "/v1/members/{m}/balance"),
        ("GET", "/v1/members/{m}/entries"),
        ("GET", "/v1/program"),
    ],
)
def test_read_routes_missing_read_scope_is_403(client: TestClient, factory, clock, tenant: TenantCtx, member_id: int, method: str, path: str) -> None:  # type: ignore[no-untyped-def]
    key = make_key(factory, tenant.id, ["members:write", "events:write", "redeem"], clock.now())
    assert_problem(client.request(method, path.format(m=member_id), headers=bearer(key)), 403, "/problems/forbidden")


def test_admin_key_holds_every_scope(client: TestClient, member_id: int) -> None:
    for scope in ("read", "redeem", "members:write", "events:write"):
        method, path, body, did = _scoped_request(client, scope, member_id)
        assert did(client.request(method, path, json=body)), scope


def test_missing_scope_is_checked_before_the_body(client: TestClient, factory, clock, tenant: TenantCtx) -> None:  # type: ignore[no-untyped-def]
    # Without the scope, a bad body is still a 403 (not a 422 that would describe the API to the caller).
    key = make_key(factory, tenant.id, ["read"], clock.now())
    response = client.post("/v1/members", json={"external_id": "X-1", "email": "nope"}, headers=bearer(key))
    assert_problem(response, 403, "/problems/forbidden")


# --- the shape of error bodies


@pytest.mark.parametrize(
    "body, field",
    [
        ({"type": "purchase", "order_id": "E-1", "amount": "-1", "currency": "SAR"}, "amount"),
        ({"type": "purchase", "order_id": "E-1", "amount": "1", "currency": "SA"}, "currency"),
        ({"type": "purchase", "order_id": "", "amount": "1", "currency": "SAR"}, "order_id"),
        ({"type": "purchase", "order_id": "E-1", "amount": "1", "currency": "SAR", "member": {"external_id": ""}}, "member.external_id"),
        ({"type": "purchase", "order_id": "E-1", "amount": "1", "currency": "SAR",
          "items": [{"sku": "A", "quantity": 1, "unit_price": "1"}, {"sku": "B", "quantity": 0, "unit_price": "1"}]}, "items[1].quantity"),
        ({"type": "purchase", "order_id": "E-1", "amount": "1", "currency": "SAR", "occurred_at": "yesterday"}, "occurred_at"),
        ({"type": "return", "order_id": "E-1", "items": []}, "items"),
        # Any other type is a custom event, which names a member and carries no order id.
        ({"type": "refund", "order_id": "E-1", "member": {"id": 1}}, "order_id"),
        ({"order_id": "E-1"}, "type"),
    ],
)
def test_post_event_validation_error_names_the_field(client: TestClient, body: dict, field: str) -> None:  # type: ignore[type-arg]
    problem = assert_problem(client.post("/v1/events", json=body), 422, "/problems/invalid-input")
    assert problem["title"] == "Invalid input"
    assert [e["field"] for e in problem["errors"]] == [field]
    assert all(e["reason"] for e in problem["errors"])
    assert problem["detail"].startswith(f"{field}: ")


def test_post_member_several_bad_fields_are_all_named(client: TestClient) -> None:
    response = client.post("/v1/members", json={"external_id": "", "locale": "fr", "consent": {"fax": True}})
    problem = assert_problem(response, 422, "/problems/invalid-input")
    assert sorted(e["field"] for e in problem["errors"]) == ["consent.fax", "external_id", "locale"]


def test_post_member_without_body_is_422(client: TestClient) -> None:
    problem = assert_problem(client.post("/v1/members"), 422, "/problems/invalid-input")
    assert [e["field"] for e in problem["errors"]] == ["body"]


def test_post_event_body_not_json_is_400(client: TestClient) -> None:
    response = client.post("/v1/events", content=b'{"type": "purchase",', headers={"content-type": "application/json"})
    problem = assert_problem(response, 400, "/problems/malformed-request")
    assert problem["title"] == "Malformed request"


def test_service_error_names_the_field(client: TestClient) -> None:
    client.post("/v1/members", json={"external_id": "DUP"})
    problem = assert_problem(client.post("/v1/members", json={"external_id": "DUP"}), 409, "/problems/conflict")
    assert problem["errors"] == [{"field": "external_id", "reason": problem["detail"]}]


def test_query_and_path_errors_name_the_parameter(client: TestClient) -> None:
    limit = assert_problem(client.get("/v1/members", params={"limit": "many"}), 422, "/problems/invalid-input")
    assert [e["field"].rsplit(".", 1)[-1] for e in limit["errors"]] == ["limit"]
    path = assert_problem(client.get("/v1/members/not-a-number"), 422, "/problems/invalid-input")
    assert [e["field"].rsplit(".", 1)[-1] for e in path["errors"]] == ["member_id"]


def test_unknown_route_is_404_problem(client: TestClient) -> None:
    problem = assert_problem(client.get("/v1/no-such-thing"), 404, "/problems/not-found")
    assert problem["title"] == "Not found"


def test_wrong_method_is_405_problem(client: TestClient) -> None:
    response = client.delete("/v1/program")
    assert_problem(response, 405, "/problems/method-not-allowed")
    assert set(response.headers["allow"].replace(" ", "").split(",")) >= {"GET", "PATCH"}


def test_not_found_problem_has_no_errors_list(client: TestClient) -> None:
    problem = assert_problem(client.get("/v1/holds/987654321"), 404, "/problems/not-found")
    assert problem == {"type": "/problems/not-found", "title": "Not found", "status": 404, "detail": "hold 987654321 not found"}


def test_text_the_database_cannot_store_is_422_not_500(client: TestClient) -> None:
    # PostgreSQL refuses a NUL character in text, SQLite would store it: the API refuses it first, on both,
    # naming the field (wafa.inputs), and writes nothing.
    enrolled = client.post("/v1/members", json={"external_id": "a\u0000b"})
    assert "external_id" in [e["field"] for e in assert_problem(enrolled, 422, "/problems/invalid-input")["errors"]]
    assert client.get("/v1/members").json()["items"] == []
    assert client.get("/v1/coupons/AB%00CDEFGHJK").status_code in (404, 422)
