"""Tenants never see or touch each other's data: tenant B's key gets 404 on every id of tenant A, and A is unchanged."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import TenantCtx, make_tenant

PROBLEM = "application/problem+json"
RULE = {
    "name_en": "Double points", "name_ar": "نقاط مضاعفة", "trigger": "purchase",
    "actions": [{"type": "multiplier", "factor": "2"}], "status": "draft",
}


@pytest.fixture
def tenant_b(factory, clock) -> TenantCtx:  # type: ignore[no-untyped-def]
    return make_tenant(factory, clock.now())


@pytest.fixture
def a(client: TestClient) -> dict[str, Any]:
    """Tenant A's objects: a member with 300 points (an open hold of 50 of them), a purchase, a return, a rule, a key."""
    member = client.post("/v1/members", json={"external_id": "shared-1", "email": "iso@example.com", "phone": "0501234567"}).json()
    bought = client.post("/v1/events", json={
        "type": "purchase", "member": {"id": member["id"]}, "order_id": "ORD-1", "amount": "400.00", "currency": "SAR",
    }).json()
    returned = client.post("/v1/events", json={"type": "return", "order_id": "ORD-1", "return_id": "RET-1", "amount": "100.00"}).json()
    hold = client.post(f"/v1/members/{member['id']}/holds", json={"points": 50, "reason": "till"}).json()
    rule = client.post("/v1/rules", json=RULE).json()
    key = client.post("/v1/api-keys", json={"name": "A's till", "scopes": ["events:write"]}).json()
    assert (bought["award"]["points"], returned["reversal"]["points"], hold["status"]) == (400, 100, "open")
    return {"member": member, "purchase": bought, "return": returned, "hold": hold, "rule": rule, "key": key}


def a_state(client: TestClient, a: dict[str, Any]) -> tuple[Any, ...]:
    """Everything B might have changed, read with A's key."""
    m = a["member"]["id"]
    return (
        client.get(f"/v1/members/{m}").json(),
        client.get(f"/v1/members/{m}/balance").json(),
        client.get(f"/v1/members/{m}/entries").json(),
        client.get(f"/v1/holds/{a['hold']['id']}").json(),
        client.get(f"/v1/events/{a['purchase']['event_id']}").json(),
        client.get(f"/v1/rules/{a['rule']['id']}").json(),
        client.get("/v1/api-keys").json(),
    )


# Each route that names one of A's objects, as B would call it.
ROUTES = [
    ("GET", "/v1/members/{member}", None),
    ("PATCH", "/v1/members/{member}", {"name": "taken over", "email": "b@example.com"}),
    ("POST", "/v1/members/{member}/suspend", {"reason": "b"}),
    ("POST", "/v1/members/{member}/reactivate", {"reason": "b"}),
    ("POST", "/v1/members/{member}/close", {"reason": "b"}),
    ("GET", "/v1/cards/{card}", None),
    ("GET", "/v1/members/{member}/balance", None),
    ("GET", "/v1/members/{member}/entries", None),
    ("POST", "/v1/members/{member}/redemptions", {"points": 10, "reason": "b"}),
    ("POST", "/v1/members/{member}/holds", {"points": 10, "reason": "b"}),
    ("GET", "/v1/holds/{hold}", None),
    ("POST", "/v1/holds/{hold}/capture", None),
    ("POST", "/v1/holds/{hold}/capture", {"points": 10}),
    ("POST", "/v1/holds/{hold}/void", None),
    ("POST", "/v1/members/{member}/adjustments", {"points": 1000, "reason": "b's gift"}),
    ("POST", "/v1/members/{member}/adjustments", {"points": -100, "reason": "b's debit"}),
    ("GET", "/v1/events/{purchase}", None),
    ("GET", "/v1/events/{return}", None),
    ("DELETE", "/v1/api-keys/{key}", None),
    ("GET", "/v1/rules/{rule}", None),
    ("PUT", "/v1/rules/{rule}", {k: v for k, v in RULE.items() if k != "status"}),
    ("POST", "/v1/rules/{rule}/status", {"status": "active"}),
]


@pytest.mark.parametrize("method, path, body", ROUTES, ids=[f"{m} {p}" + (" with body" if b else "") for m, p, b in ROUTES])
def test_other_tenant_gets_404_on_route_with_id(
    client: TestClient, tenant_b: TenantCtx, a: dict[str, Any], method: str, path: str, body: dict | None  # type: ignore[type-arg]
) -> None:
    before = a_state(client, a)
    url = path.format(
        member=a["member"]["id"], card=a["member"]["card_token"], hold=a["hold"]["id"], purchase=a["purchase"]["event_id"],
        key=a["key"]["id"], rule=a["rule"]["id"], **{"return": a["return"]["event_id"]},
    )
    response = client.request(method, url, json=body, headers={"Authorization": f"Bearer {tenant_b.admin_key}"})
    assert response.status_code == 404, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"] == "/problems/not-found"
    assert str(a["member"]["external_id"]) not in response.text
    assert a_state(client, a) == before


def test_other_tenant_purchase_cannot_credit_member_by_external_id(client: TestClient, tenant_b: TenantCtx, a: dict[str, Any]) -> None:
    before = a_state(client, a)
    b = {"Authorization": f"Bearer {tenant_b.admin_key}"}
    purchase = {"type": "purchase", "member": {"external_id": "shared-1"}, "order_id": "B-1", "amount": "999.00", "currency": "SAR"}
    response = client.post("/v1/events", json=purchase, headers=b)
    assert response.status_code == 404
    assert response.json()["errors"][0]["field"] == "member.external_id"
    by_id = {**purchase, "member": {"id": a["member"]["id"]}, "order_id": "B-2"}
    assert client.post("/v1/events", json=by_id, headers=b).status_code == 404
    assert a_state(client, a) == before
    assert client.get(f"/v1/members/{a['member']['id']}/balance").json()["available"] == 250


def test_other_tenant_same_external_id_is_a_different_member(client: TestClient, tenant_b: TenantCtx, a: dict[str, Any]) -> None:
    before = a_state(client, a)
    b = {"Authorization": f"Bearer {tenant_b.admin_key}"}
    b_member = client.post("/v1/members", json={"external_id": "shared-1"}, headers=b)
    assert b_member.status_code == 201
    assert b_member.json()["id"] != a["member"]["id"]
    purchase = {"type": "purchase", "member": {"external_id": "shared-1"}, "order_id": "ORD-1", "amount": "10.00", "currency": "SAR"}
    earned = client.post("/v1/events", json=purchase, headers=b).json()
    assert (earned["member_id"], earned["award"]["points"], earned["balance"]["available"]) == (b_member.json()["id"], 10, 10)
    assert a_state(client, a) == before


def test_other_tenant_return_of_order_is_404(client: TestClient, tenant_b: TenantCtx, a: dict[str, Any]) -> None:
    before = a_state(client, a)
    b = {"Authorization": f"Bearer {tenant_b.admin_key}"}
    for body in (
        {"type": "return", "order_id": "ORD-1"},
        {"type": "return", "order_id": "ORD-1", "amount": "50.00"},
        {"type": "return", "order_id": "ORD-1", "return_id": "RET-1", "amount": "100.00"},  # A's return id: no replay of A's result
    ):
        response = client.post("/v1/events", json=body, headers=b)
        assert (response.status_code, response.json()["errors"][0]["field"]) == (404, "order_id"), body
    assert a_state(client, a) == before


def test_other_tenant_search_finds_nothing(client: TestClient, tenant_b: TenantCtx, a: dict[str, Any]) -> None:
    b = {"Authorization": f"Bearer {tenant_b.admin_key}"}
    for params in ({"external_id": "shared-1"}, {"email": "iso@example.com"}, {"phone": "0501234567"}, {}):
        assert client.get("/v1/members", params=params, headers=b).json() == {"items": [], "next_cursor": None}, params
    assert client.get("/v1/rules", headers=b).json()["items"] == []
    assert [k["name"] for k in client.get("/v1/api-keys", headers=b).json()] == ["admin"]


def test_other_tenant_idempotency_key_is_its_own(client: TestClient, tenant_b: TenantCtx, a: dict[str, Any]) -> None:
    b = {"Authorization": f"Bearer {tenant_b.admin_key}"}
    key = {"Idempotency-Key": "till-1-0001"}
    a_redeemed = client.post(f"/v1/members/{a['member']['id']}/redemptions", json={"points": 20, "reason": "x"}, headers=key)
    b_member = client.post("/v1/members", json={"external_id": "b-1"}, headers=b).json()
    client.post(f"/v1/members/{b_member['id']}/adjustments", json={"points": 20, "reason": "seed"}, headers=b)
    b_redeemed = client.post(f"/v1/members/{b_member['id']}/redemptions", json={"points": 20, "reason": "x"}, headers={**b, **key})
    assert (a_redeemed.status_code, b_redeemed.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in b_redeemed.headers
    assert (b_redeemed.json()["member_id"], b_redeemed.json()["balance"]) == (b_member["id"], 0)
    assert client.get(f"/v1/members/{a['member']['id']}/balance").json()["available"] == 230


def test_other_tenant_program_change_leaves_this_one(client: TestClient, tenant_b: TenantCtx, a: dict[str, Any]) -> None:
    b = {"Authorization": f"Bearer {tenant_b.admin_key}"}
    assert client.patch("/v1/program", json={"earn_rates": {"SAR": "5"}, "min_redemption": 500}, headers=b).status_code == 200
    assert client.get("/v1/program").json()["earn_rates"] == {"SAR": "1"}
    body = {"type": "purchase", "member": {"external_id": "shared-1"}, "order_id": "ORD-2", "amount": "10.00", "currency": "SAR"}
    assert client.post("/v1/events", json=body).json()["award"]["points"] == 10
    assert client.post(f"/v1/members/{a['member']['id']}/redemptions", json={"points": 5, "reason": "x"}).status_code == 201
