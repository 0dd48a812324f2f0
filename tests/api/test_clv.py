"""Lifetime value over HTTP: fit BG/NBD and Gamma-Gamma to a program's purchase history, read the
newest fit with its holdout diagnostics, and a member's prediction (P(alive), churn risk, expected
purchases, lifetime value)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import TenantCtx, make_member, make_tenant, problem
from wafa.clock import FrozenClock
from wafa.db import unit_of_work
from wafa.events import service as events
from wafa.events.schemas import MemberRef, PurchaseIn

CALIBRATION_END = date(2025, 11, 30)
HOLDOUT_END = date(2026, 2, 28)


def shop(factory: sessionmaker[Session], tenant: TenantCtx, now: datetime, customers: int = 60) -> dict[int, list[date]]:
    """A year of purchases: each customer buys at their own weekly rate until they drop out."""
    rng = random.Random(5)
    bought: dict[int, list[date]] = {}
    start = datetime(2025, 3, 1, 12, tzinfo=UTC)
    ids = [make_member(factory, tenant.id, start, external_id=f"c{n}") for n in range(customers)]
    with unit_of_work(factory) as session:
        for n, member_id in enumerate(ids):
            rate, day, days = rng.uniform(0.05, 0.6), rng.randrange(0, 200), []
            while day < 365:
                days.append(day)
                if rng.random() < 0.08:
                    break  # dropped out
                day += max(1, int(rng.expovariate(rate / 7)))
            bought[member_id] = []
            for k, offset in enumerate(days):
                at = start + timedelta(days=offset)
                purchase = PurchaseIn(type="purchase", member=MemberRef(id=member_id), order_id=f"c{n}-{k}",
                                      amount=f"{rng.uniform(20, 80):.2f}", currency="SAR", occurred_at=at)
                events.record_purchase(session, tenant_id=tenant.id, event_in=purchase, request_hash=f"h{n}-{k}", now=now)
                bought[member_id].append(at.date())
    return bought


def test_fit_reports_parameters_and_a_holdout_that_matches_the_purchases(
    client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx, clock: FrozenClock,
) -> None:
    bought = shop(factory, tenant, clock.now())
    made = client.post("/v1/analytics/clv/fit", json={"calibration_end": str(CALIBRATION_END), "unit": "week",
                                                      "holdout_end": str(HOLDOUT_END)})
    assert made.status_code == 201, made.text
    body = made.json()
    assert all(body["bgnbd"][k] > 0 for k in ("r", "alpha", "a", "b")) and body["gamma_gamma"]["q"] > 1
    cohort = {m: days for m, days in bought.items() if days[0] <= CALIBRATION_END}
    assert body["diagnostics"]["customers"] == len(cohort)
    assert body["diagnostics"]["calibration_repeat_purchases"] == sum(
        len({d for d in days if d <= CALIBRATION_END}) - 1 for days in cohort.values()
    )
    holdout = body["diagnostics"]["holdout"]
    assert holdout["actual"] == sum(len({d for d in days if CALIBRATION_END < d <= HOLDOUT_END}) for days in cohort.values())
    assert sum(row["customers"] for row in holdout["by_calibration_purchases"]) == len(cohort)
    assert holdout["predicted"] > 0
    assert client.get("/v1/analytics/clv/model").json()["id"] == body["id"]


def test_member_prediction(client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx, clock: FrozenClock) -> None:
    bought = shop(factory, tenant, clock.now())
    client.post("/v1/analytics/clv/fit", json={"calibration_end": str(HOLDOUT_END), "unit": "week"})
    regular = max(bought, key=lambda m: len(bought[m]))
    found = client.get(f"/v1/members/{regular}/clv", params={"horizon": 26, "discount_rate": "0.002"})
    assert found.status_code == 200, found.text
    body = found.json()
    assert 0 < body["probability_alive"] <= 1 and body["churn_risk"] == round(1 - body["probability_alive"], 6)
    assert body["expected_purchases"] > 0 and float(body["lifetime_value"]) > 0 and body["currency"] == "SAR"
    assert body["purchases"]["repeat"] == len(set(bought[regular])) - 1
    longer = client.get(f"/v1/members/{regular}/clv", params={"horizon": 52}).json()
    assert longer["expected_purchases"] > body["expected_purchases"]
    newcomer = client.post("/v1/members", json={"external_id": "new"}).json()["id"]
    fresh = client.get(f"/v1/members/{newcomer}/clv").json()
    assert (fresh["probability_alive"], fresh["lifetime_value"], fresh["purchases"]) == (None, None, None)
    assert fresh["expected_purchases"] > 0  # a new customer's expectation from the population


def test_fit_refusals(client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx, clock: FrozenClock) -> None:
    problem(client.get("/v1/analytics/clv/model"), 404, "/problems/not-found")
    problem(client.post("/v1/analytics/clv/fit", json={"calibration_end": "2025-11-30"}), 422, "/problems/invalid-input", "calibration_end")
    shop(factory, tenant, clock.now(), customers=20)
    problem(client.post("/v1/analytics/clv/fit", json={"calibration_end": "2025-11-30", "holdout_end": "2025-11-01"}), 422,
            "/problems/invalid-input", "holdout_end")
    problem(client.post("/v1/analytics/clv/fit", json={"calibration_end": "2026-12-31"}), 422, "/problems/invalid-input", "calibration_end")
    assert client.post("/v1/analytics/clv/fit", json={"calibration_end": "2025-11-30", "unit": "month"}).status_code == 422
    member_id = client.post("/v1/members", json={"external_id": "x"}).json()["id"]
    problem(client.get(f"/v1/members/{member_id}/clv"), 404, "/problems/not-found")


def test_another_tenants_model_is_not_seen(client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx, clock: FrozenClock) -> None:
    shop(factory, tenant, clock.now(), customers=20)
    assert client.post("/v1/analytics/clv/fit", json={"calibration_end": str(HOLDOUT_END)}).status_code == 201
    other = make_tenant(factory, clock.now())
    client.headers["Authorization"] = f"Bearer {other.admin_key}"
    problem(client.get("/v1/analytics/clv/model"), 404, "/problems/not-found")


def test_a_segment_on_churn_risk_reads_the_newest_fit(
    client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx, clock: FrozenClock,
) -> None:
    bought = shop(factory, tenant, clock.now())
    client.post("/v1/analytics/clv/fit", json={"calibration_end": str(HOLDOUT_END), "unit": "week"})
    risky = client.post("/v1/segments", json={"key": "slipping", "name_en": "Slipping", "name_ar": "ينزلق",
                                              "conditions": [{"type": "churn_risk", "at_least": 0.5}]}).json()
    chosen = set(client.get(f"/v1/segments/{risky['id']}/members", params={"limit": 1000}).json()["items"])
    for member_id in bought:
        risk = client.get(f"/v1/members/{member_id}/clv").json()["churn_risk"]
        assert (member_id in chosen) == (risk is not None and risk >= 0.5)
    assert chosen  # some of a year's customers have stopped buying
