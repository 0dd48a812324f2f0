"""/v1/api-keys: create (the secret shown once), list (never a secret), revoke (the key stops working)."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from tests.conftest import TenantCtx, make_key, problem

LISTED_FIELDS = {"id", "name", "prefix", "scopes", "partner_id", "created_at", "revoked_at"}


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def create(client: TestClient, name: str = "till 7", scopes: list[str] | None = None) -> dict:  # type: ignore[type-arg]
    response = client.post("/v1/api-keys", json={"name": name, "scopes": scopes or ["read"]})
    assert response.status_code == 201, response.text
    return response.json()


def test_post_api_key_is_201_with_secret(client: TestClient) -> None:
    response = client.post("/v1/api-keys", json={"name": "till 7", "scopes": ["redeem", "read", "read"]})
    assert response.status_code == 201
    body = response.json()
    assert set(body) == LISTED_FIELDS | {"secret"}
    assert (body["name"], body["scopes"], body["created_at"], body["revoked_at"]) == ("till 7", ["read", "redeem"], "2026-03-01T09:00:00Z", None)
    assert body["secret"].startswith("wafa_") and len(body["secret"]) > 40
    assert body["prefix"] == body["secret"][:11]


def test_post_api_key_secret_authenticates_with_its_scopes(client: TestClient) -> None:
    member_id = client.post("/v1/members", json={"external_id": "K-1"}).json()["id"]
    client.post(f"/v1/members/{member_id}/adjustments", json={"points": 50, "reason": "seed"})
    secret = create(client, scopes=["read", "redeem"])["secret"]
    assert client.get(f"/v1/members/{member_id}/balance", headers=bearer(secret)).json()["available"] == 50
    spent = client.post(f"/v1/members/{member_id}/redemptions", json={"points": 20, "reason": "coffee"}, headers=bearer(secret))
    assert (spent.status_code, spent.json()["balance"]) == (201, 30)
    problem(client.post("/v1/members", json={"external_id": "K-2"}, headers=bearer(secret)), 403, "/problems/forbidden")
    problem(client.get("/v1/api-keys", headers=bearer(secret)), 403, "/problems/forbidden")


def test_post_api_key_each_key_is_different(client: TestClient) -> None:
    first, second = create(client, "a"), create(client, "b")
    assert first["secret"] != second["secret"] and first["id"] != second["id"]


def test_post_api_key_unknown_scope_is_422(client: TestClient) -> None:
    body = problem(client.post("/v1/api-keys", json={"name": "x", "scopes": ["read", "superuser"]}), 422, "/problems/invalid-input", "scopes")
    assert "superuser" in body["detail"]
    assert len(client.get("/v1/api-keys").json()) == 1


def test_post_api_key_without_scopes_is_422(client: TestClient) -> None:
    problem(client.post("/v1/api-keys", json={"name": "x", "scopes": []}), 422, "/problems/invalid-input", "scopes")
    problem(client.post("/v1/api-keys", json={"name": "x"}), 422, "/problems/invalid-input", "scopes")


def test_post_api_key_without_name_is_422(client: TestClient) -> None:
    problem(client.post("/v1/api-keys", json={"scopes": ["read"]}), 422, "/problems/invalid-input", "name")
    problem(client.post("/v1/api-keys", json={"name": "", "scopes": ["read"]}), 422, "/problems/invalid-input", "name")


def test_post_api_key_without_admin_scope_is_403(client: TestClient, factory, clock, tenant: TenantCtx) -> None:  # type: ignore[no-untyped-def]
    key = make_key(factory, tenant.id, ["read", "members:write", "events:write", "redeem"], clock.now())
    problem(client.post("/v1/api-keys", json={"name": "x", "scopes": ["admin"]}, headers=bearer(key)), 403, "/problems/forbidden")
    assert len(client.get("/v1/api-keys").json()) == 2


def test_get_api_keys_lists_without_secrets(client: TestClient, tenant: TenantCtx) -> None:
    made = [create(client, "till 1", ["events:write"]), create(client, "reports", ["read"])]
    response = client.get("/v1/api-keys")
    assert response.status_code == 200
    listed = response.json()
    assert [(k["name"], k["scopes"]) for k in listed] == [("admin", ["admin"]), ("till 1", ["events:write"]), ("reports", ["read"])]
    assert all(set(k) == LISTED_FIELDS for k in listed)
    assert [k["prefix"] for k in listed[1:]] == [m["prefix"] for m in made]
    for secret in [tenant.admin_key, *(m["secret"] for m in made)]:
        assert secret not in response.text


def test_get_api_keys_without_admin_scope_is_403(client: TestClient, factory, clock, tenant: TenantCtx) -> None:  # type: ignore[no-untyped-def]
    key = make_key(factory, tenant.id, ["read"], clock.now())
    problem(client.get("/v1/api-keys", headers=bearer(key)), 403, "/problems/forbidden")


def test_delete_api_key_is_204_and_key_stops_working(client: TestClient, clock) -> None:  # type: ignore[no-untyped-def]
    made = create(client, "temp", ["read"])
    assert client.get("/v1/program", headers=bearer(made["secret"])).status_code == 200  # now in the key cache
    clock.advance(timedelta(minutes=10))
    response = client.delete(f"/v1/api-keys/{made['id']}")
    assert (response.status_code, response.content) == (204, b"")
    problem(client.get("/v1/program", headers=bearer(made["secret"])), 401, "/problems/unauthorized")
    listed = {k["id"]: k for k in client.get("/v1/api-keys").json()}
    assert listed[made["id"]]["revoked_at"] == "2026-03-01T09:10:00Z"


def test_delete_api_key_twice_is_404(client: TestClient) -> None:
    made = create(client)
    client.delete(f"/v1/api-keys/{made['id']}")
    problem(client.delete(f"/v1/api-keys/{made['id']}"), 404, "/problems/not-found")


def test_delete_api_key_unknown_is_404(client: TestClient) -> None:
    problem(client.delete("/v1/api-keys/987654321"), 404, "/problems/not-found")


def test_delete_api_key_own_key_ends_own_access(client: TestClient) -> None:
    own = client.get("/v1/api-keys").json()[0]
    assert client.delete(f"/v1/api-keys/{own['id']}").status_code == 204
    problem(client.get("/v1/program"), 401, "/problems/unauthorized")


def test_delete_api_key_without_admin_scope_is_403(client: TestClient, factory, clock, tenant: TenantCtx) -> None:  # type: ignore[no-untyped-def]
    made = create(client)
    key = make_key(factory, tenant.id, ["read", "members:write", "events:write", "redeem"], clock.now())
    problem(client.delete(f"/v1/api-keys/{made['id']}", headers=bearer(key)), 403, "/problems/forbidden")
    assert client.get("/v1/program", headers=bearer(made["secret"])).status_code == 200
