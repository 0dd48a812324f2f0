"""Who may do what: every route refuses other tenants' objects, missing keys and missing scopes."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import TenantCtx, make_key, make_tenant

PROBLEM = "application/problem+json"


@pytest.fixture
def other(factory, clock) -> TenantCtx:  # type: ignore[no-untyped-def]
    return make_tenant(factory, clock.now())


@pytest.fixture
def a_objects(client: TestClient) -> dict[str, object]:
    """Tenant A's member with points, an open hold, a purchase and a second API key."""
    member = client.post("/v1/members", json={"external_id": "iso-1", "email": "iso@example.com"}).json()
    bought = client.post(
        "/v1/events",
        json={"type": "purchase", "member": {"id": member["id"]}, "order_id": "ISO-1", "amount": "500.00", "currency": "SAR"},
    ).json()
    hold = client.post(f"/v1/members/{member['id']}/holds", json={"points": 50, "reason": "till"}).json()
    key = client.post("/v1/api-keys", json={"name": "a till", "scopes": ["events:write"]}).json()
    return {"member": member, "event": bought, "hold": hold, "key": key}


def _state(client: TestClient, objects: dict) -> tuple:  # type: ignore[type-arg]
    member_id = objects["member"]["id"]
    return (
        client.get(f"/v1/members/{member_id}").json(),
        client.get(f"/v1/members/{member_id}/balance").json(),
        client.get(f"/v1/members/{member_id}/entries").json(),
        client.get(f"/v1/holds/{objects['hold']['id']}").json(),
        [k["revoked_at"] for k in client.get("/v1/api-keys").json()],
    )


def test_every_route_hides_another_tenants_objects(client: TestClient, other: TenantCtx, a_objects: dict) -> None:  # type: ignore[type-arg]
    before = _state(client, a_objects)
    m, h, e, k = a_objects["member"]["id"], a_objects["hold"]["id"], a_objects["event"]["event_id"], a_objects["key"]["id"]
    card = a_objects["member"]["card_token"]
    b = {"Authorization": f"Bearer {other.admin_key}"}
    attempts = [
        ("GET", f"/v1/members/{m}", None),
        ("PATCH", f"/v1/members/{m}", {"name": "stolen"}),
        ("POST", f"/v1/members/{m}/suspend", {"reason": "x"}),
        ("POST", f"/v1/members/{m}/reactivate", {"reason": "x"}),
        ("POST", f"/v1/members/{m}/close", {"reason": "x"}),
        ("GET", f"/v1/cards/{card}", None),
        ("GET", f"/v1/members/{m}/balance", None),
        ("GET", f"/v1/members/{m}/entries", None),
        ("POST", f"/v1/members/{m}/redemptions", {"points": 10, "reason": "x"}),
        ("POST", f"/v1/members/{m}/holds", {"points": 10, "reason": "x"}),
        ("GET", f"/v1/holds/{h}", None),
        ("POST", f"/v1/holds/{h}/capture", {}),
        ("POST", f"/v1/holds/{h}/void", None),
        ("POST", f"/v1/members/{m}/adjustments", {"points": 10, "reason": "gift"}),
        ("GET", f"/v1/events/{e}", None),
        ("DELETE", f"/v1/api-keys/{k}", None),
        ("POST", "/v1/events", {"type": "return", "order_id": "ISO-1"}),
    ]
    for method, path, body in attempts:
        response = client.request(method, path, json=body, headers=b)
        assert response.status_code == 404, (method, path, response.status_code, response.text)
        assert response.headers["content-type"] == PROBLEM
    # By the shop's ids too: B's key cannot find or credit A's member.
    assert client.get("/v1/members", params={"external_id": "iso-1"}, headers=b).json()["items"] == []
    assert client.get("/v1/members", params={"email": "iso@example.com"}, headers=b).json()["items"] == []
    purchase = client.post(
        "/v1/events", headers=b,
        json={"type": "purchase", "member": {"external_id": "iso-1"}, "order_id": "B-1", "amount": "10", "currency": "SAR"},
    )
    assert purchase.status_code == 404
    by_id = client.post(
        "/v1/events", headers=b,
        json={"type": "purchase", "member": {"id": m}, "order_id": "B-2", "amount": "10", "currency": "SAR"},
    )
    assert by_id.status_code == 404
    # B's own listings never show A's keys or members.
    b_keys = client.get("/v1/api-keys", headers=b).json()
    assert k not in [key["id"] for key in b_keys] and len(b_keys) == 1
    assert client.get("/v1/members", headers=b).json()["items"] == []
    # A's key list, program and data are untouched.
    assert _state(client, a_objects) == before
    assert client.get("/v1/program", headers=b).json()["base_currency"] == "SAR"


def test_same_order_id_in_two_tenants_is_two_orders(client: TestClient, other: TenantCtx) -> None:
    body = {"type": "purchase", "order_id": "SHARED-1", "amount": "10.00", "currency": "SAR"}
    first = client.post("/v1/events", json=body)
    second = client.post("/v1/events", json=body, headers={"Authorization": f"Bearer {other.admin_key}"})
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["event_id"] != second.json()["event_id"]


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("GET", "/v1/members/1", None),
        ("POST", "/v1/events", {"type": "purchase", "order_id": "x", "amount": "1", "currency": "SAR"}),
        ("GET", "/v1/program", None),
    ],
)
@pytest.mark.parametrize("header", [None, "Bearer wafa_not-a-key", "Basic abc"])
def test_request_without_a_valid_key_is_401(client: TestClient, method: str, path: str, body, header) -> None:  # type: ignore[no-untyped-def]
    headers = {"Authorization": header} if header else {}
    client.headers.pop("Authorization")
    response = client.request(method, path, json=body, headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"] == "/problems/unauthorized"


def test_revoked_key_is_401(client: TestClient, factory, clock, tenant: TenantCtx) -> None:  # type: ignore[no-untyped-def]
    made = client.post("/v1/api-keys", json={"name": "temp", "scopes": ["read"]}).json()
    assert client.get("/v1/program", headers={"Authorization": f"Bearer {made['secret']}"}).status_code == 200
    assert client.delete(f"/v1/api-keys/{made['id']}").status_code == 204
    assert client.get("/v1/program", headers={"Authorization": f"Bearer {made['secret']}"}).status_code == 401
    listed = client.get("/v1/api-keys").json()
    assert all("secret" not in key and made["secret"] not in str(key) for key in listed)


# Each route and the one scope it needs; a key with every other non-admin scope is refused.
SCOPED = [
    ("read", "GET", "/v1/members/{m}", None),
    ("read", "GET", "/v1/members/{m}/balance", None),
    ("read", "GET", "/v1/members/{m}/entries", None),
    ("read", "GET", "/v1/program", None),
    ("members:write", "POST", "/v1/members", {"external_id": "scoped-new"}),
    ("members:write", "PATCH", "/v1/members/{m}", {"name": "N"}),
    ("members:write", "POST", "/v1/members/{m}/suspend", {"reason": "r"}),
    ("events:write", "POST", "/v1/events", {"type": "purchase", "order_id": "S-1", "amount": "1", "currency": "SAR"}),
    ("redeem", "POST", "/v1/members/{m}/redemptions", {"points": 1, "reason": "r"}),
    ("redeem", "POST", "/v1/members/{m}/holds", {"points": 1, "reason": "r"}),
    ("admin", "POST", "/v1/members/{m}/adjustments", {"points": 1, "reason": "gift"}),
    ("admin", "PATCH", "/v1/program", {"pending_days": 3}),
    ("admin", "GET", "/v1/api-keys", None),
    ("admin", "POST", "/v1/api-keys", {"name": "k", "scopes": ["read"]}),
]
SCOPES = ["read", "members:write", "events:write", "redeem"]


@pytest.mark.parametrize("scope, method, path, body", SCOPED, ids=[f"{m} {p} needs {s}" for s, m, p, _ in SCOPED])
def test_missing_scope_is_403_and_right_scope_passes(
    client: TestClient, factory, clock, tenant: TenantCtx, scope: str, method: str, path: str, body  # type: ignore[no-untyped-def]
) -> None:
    member = client.post("/v1/members", json={"external_id": "scoped-1"}).json()
    client.post(f"/v1/members/{member['id']}/adjustments", json={"points": 100, "reason": "seed"})
    url = path.format(m=member["id"])
    wrong = make_key(factory, tenant.id, [s for s in SCOPES if s != scope], clock.now())
    refused = client.request(method, url, json=body, headers={"Authorization": f"Bearer {wrong}"})
    assert refused.status_code == 403, refused.text
    assert refused.json()["type"] == "/problems/forbidden"
    right = make_key(factory, tenant.id, [scope], clock.now())
    allowed = client.request(method, url, json=body, headers={"Authorization": f"Bearer {right}"})
    assert allowed.status_code in (200, 201), allowed.text
