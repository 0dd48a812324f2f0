"""GET /v1/trust/anomalies: the flags of one kind with their evidence, a page at a time, for keys with
the `read` scope of the tenant; odd queries are 422 problems."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import TenantCtx, make_key, make_tenant, problem
from wafa.clock import FrozenClock

HOUR = timedelta(hours=1)


def enrol(client: TestClient, external_id: str, **fields: str) -> int:
    made = client.post("/v1/members", json={"external_id": external_id, **fields})
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def anomalies(client: TestClient, **params: object):  # type: ignore[no-untyped-def]
    return client.get("/v1/trust/anomalies", params=params)


def test_get_anomalies_returns_is_200_with_the_evidence(client: TestClient, clock: FrozenClock) -> None:
    returner, *_ = (enrol(client, name) for name in ("returner", "plain-1", "plain-2"))
    for name in ("returner", "plain-1", "plain-2"):
        for n in range(3):
            body = {"type": "purchase", "member": {"external_id": name}, "order_id": f"{name}-{n}", "amount": "50.00", "currency": "SAR"}
            assert client.post("/v1/events", json=body).status_code == 201
    for n in range(3):
        assert client.post("/v1/events", json={"type": "return", "order_id": f"returner-{n}"}).status_code == 201
    clock.advance(HOUR)

    answer = anomalies(client, kind="returns")

    assert answer.status_code == 200, answer.text
    (item,) = answer.json()["items"]
    assert (item["kind"], item["member_ids"], item["score"], item["detected_at"]) == ("returns", [returner], 1.0, "2026-03-01T10:00:00Z")
    assert item["evidence"] == {
        "days": 90, "purchases": 3, "returned_orders": 3, "purchased": "150.00", "returned": "150.00", "currency": "SAR",
        "rate": 1.0, "program_rate": round(150 / 450, 6), "multiple": 3.0,
    }
    assert answer.json()["next_cursor"] is None


def test_get_anomalies_shared_contact_pages_by_cursor(client: TestClient) -> None:
    for phone in ("0501111111", "0502222222", "0503333333"):
        for n in range(3):
            enrol(client, f"{phone}-{n}", phone=phone)
    enrol(client, "alone", phone="0504444444")

    first = anomalies(client, kind="shared_contact", limit=2)
    assert first.status_code == 200, first.text
    assert len(first.json()["items"]) == 2 and first.json()["next_cursor"]
    rest = anomalies(client, kind="shared_contact", limit=2, cursor=first.json()["next_cursor"])
    assert rest.status_code == 200 and rest.json()["next_cursor"] is None
    contacts = [item["evidence"]["contact"] for item in first.json()["items"] + rest.json()["items"]]
    assert contacts == ["+966501111111", "+966502222222", "+966503333333"]
    member = first.json()["items"][0]["evidence"]["members"][0]
    assert set(member) == {"member_id", "external_id", "enrolled_at", "status"}


def test_get_anomalies_quick_redemption_lists_the_spends(client: TestClient, clock: FrozenClock) -> None:
    quick = enrol(client, "quick")
    assert client.post(f"/v1/members/{quick}/adjustments", json={"points": 300, "reason": "welcome"}).status_code == 201
    clock.advance(HOUR)
    assert client.post(f"/v1/members/{quick}/redemptions", json={"points": 120, "reason": "coffee"}).status_code == 201

    answer = anomalies(client, kind="quick_redemption", hours=2)

    assert answer.status_code == 200, answer.text
    (item,) = answer.json()["items"]
    assert (item["member_ids"], item["score"], item["evidence"]["hours"], item["evidence"]["points"]) == ([quick], 1.0, 2, 120)
    assert [(s["kind"], s["points"], s["amount"]) for s in item["evidence"]["spends"]] == [("redeem", 120, None)]


def test_get_anomalies_shows_only_the_keys_tenant(client: TestClient, factory: sessionmaker[Session], clock: FrozenClock) -> None:
    for n in range(3):
        enrol(client, f"mine-{n}", phone="0507777777")
    other = make_tenant(factory, clock.now())
    answer = client.get("/v1/trust/anomalies", params={"kind": "shared_contact"}, headers={"Authorization": f"Bearer {other.admin_key}"})
    assert answer.status_code == 200 and answer.json()["items"] == []


def test_get_anomalies_with_a_read_key_is_200_and_without_read_is_403(
    client: TestClient, factory: sessionmaker[Session], clock: FrozenClock, tenant: TenantCtx,
) -> None:
    reader = make_key(factory, tenant.id, ["read"], clock.now())
    till = make_key(factory, tenant.id, ["events:write", "redeem", "members:write"], clock.now())
    assert client.get("/v1/trust/anomalies?kind=returns", headers={"Authorization": f"Bearer {reader}"}).status_code == 200
    problem(client.get("/v1/trust/anomalies?kind=returns", headers={"Authorization": f"Bearer {till}"}), 403, "/problems/forbidden")


def test_get_anomalies_without_a_key_is_401(client: TestClient) -> None:
    problem(client.get("/v1/trust/anomalies?kind=returns", headers={"Authorization": ""}), 401, "/problems/unauthorized")


def test_get_anomalies_with_odd_queries_is_422(client: TestClient) -> None:
    problem(anomalies(client), 422, "/problems/invalid-input", "query.kind")
    problem(anomalies(client, kind="device"), 422, "/problems/invalid-input", "query.kind")
    problem(anomalies(client, kind="returns", limit=0), 422, "/problems/invalid-input", "query.limit")
    problem(anomalies(client, kind="returns", limit=501), 422, "/problems/invalid-input", "query.limit")
    problem(anomalies(client, kind="returns", cursor="not-ours"), 422, "/problems/invalid-input", "cursor")
    problem(anomalies(client, kind="returns", days=0), 422, "/problems/invalid-input", "query.days")
    problem(anomalies(client, kind="shared_contact", min_members=1), 422, "/problems/invalid-input", "query.min_members")
    problem(anomalies(client, kind="quick_redemption", hours=2**63), 422, "/problems/invalid-input", "query.hours")
