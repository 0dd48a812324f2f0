"""A/B/C ranking over HTTP: business customers scored on volume, growth, margin, payment speed and tenure
with the team's weights; A the top fifth, B the next three tenths; classes as segments."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import TenantCtx, problem
from wafa.clock import FrozenClock
from wafa.db import unit_of_work
from wafa.events import imports


def invoices(factory: sessionmaker[Session], tenant: TenantCtx, now: datetime) -> None:
    """Ten companies: c0 buys least and pays slowest ... c9 buys most; margins fall as volume rises."""
    rows, ids = [], []
    for n in range(10):
        for k in range(3):
            at = now - timedelta(days=30 * (k + 1))
            amount = (n + 1) * 10_000
            rows.append(imports.Row(line=len(rows) + 2, customer_id=f"c{n}", occurred_at=at, amount=amount, currency="SAR",
                                    order_id=f"c{n}-{k}", items=None, store=None, margin=amount * (20 - n) // 100,
                                    paid_at=at + timedelta(days=60 - 5 * n)))
            ids.append(f"c{n}-{k}")
    with unit_of_work(factory) as session:
        imports.write(session, tenant_id=tenant.id, rows=rows, ids=ids, now=now, report=imports.ImportReport())


def classes(client: TestClient) -> dict[str, str]:
    found = {}
    for page in client.get("/v1/members", params={"limit": 100}).json()["items"]:
        body = client.get(f"/v1/members/{page['id']}/abc").json()
        found[page["external_id"]] = body["abc_class"]
    return found


def test_weights_decide_who_is_a(client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx, clock: FrozenClock) -> None:
    invoices(factory, tenant, clock.now())
    by_volume = client.put("/v1/segments/abc/policy", json={"weights": {"volume": 1}}).json()
    assert (by_volume["a_share"], by_volume["b_share"]) == (0.2, 0.3)
    summary = client.post("/v1/segments/abc/recompute").json()
    assert (summary["A"], summary["B"], summary["C"]) == (2, 3, 5)
    ranked = classes(client)
    assert {k for k, v in ranked.items() if v == "A"} == {"c9", "c8"}
    assert {k for k, v in ranked.items() if v == "B"} == {"c7", "c6", "c5"}
    client.put("/v1/segments/abc/policy", json={"weights": {"margin": 1}})
    client.post("/v1/segments/abc/recompute")
    assert {k for k, v in classes(client).items() if v == "A"} == {"c0", "c1"}  # the best margins
    client.put("/v1/segments/abc/policy", json={"weights": {"payment_speed": 1}, "a_share": 0.1, "b_share": 0.1})
    assert client.post("/v1/segments/abc/recompute").json()["A"] == 1
    assert [k for k, v in classes(client).items() if v == "A"] == ["c9"]  # pays fastest
    member_id = next(m["id"] for m in client.get("/v1/members").json()["items"] if m["external_id"] == "c9")
    detail = client.get(f"/v1/members/{member_id}/abc").json()
    assert detail["factors"]["payment_speed"] == 1.0 and detail["factors"]["volume"] == 1.0 and detail["score"] == 1.0


def test_class_a_is_a_segment_rewards_read(client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx, clock: FrozenClock) -> None:
    invoices(factory, tenant, clock.now())
    client.post("/v1/segments/abc/recompute")
    client.post("/v1/rewards", json={"key": "key-account", "name_en": "Key account", "name_ar": "عميل رئيسي", "points": 0,
                                     "segments": ["abc_a"], "gives": {"type": "privilege", "valid_days": 30}})
    for member in client.get("/v1/members").json()["items"]:
        locked = next(r for r in client.get("/v1/rewards", params={"member_id": member["id"]}).json()["items"] if r["key"] == "key-account")
        assert ("segment" in [lock["code"] for lock in locked["locked"]]) == (member["external_id"] not in ("c8", "c9"))


def test_policy_refusals(client: TestClient) -> None:
    problem(client.put("/v1/segments/abc/policy", json={"weights": {"size": 1}}), 422, "/problems/invalid-input", "weights")
    problem(client.put("/v1/segments/abc/policy", json={"weights": {"volume": 0}}), 422, "/problems/invalid-input", "weights")
    problem(client.put("/v1/segments/abc/policy", json={"weights": {"volume": 1}, "a_share": 0.6, "b_share": 0.5}), 422,
            "/problems/invalid-input", "b_share")
