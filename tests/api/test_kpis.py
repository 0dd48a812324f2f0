"""Program KPIs over HTTP, checked against values worked out by hand from a small history: members and
non-members, a partial return, a member's purchase from before they enrolled (imported), a redemption,
acquisition spend and NPS answers; cohort retention by month of enrolment."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import TenantCtx, make_member, make_tenant, problem
from wafa.clock import FrozenClock
from wafa.db import unit_of_work
from wafa.events import imports, returns
from wafa.events import service as events
from wafa.events.schemas import MemberRef, PurchaseIn, ReturnIn
from wafa.ledger import service as ledger


def at(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 12, tzinfo=UTC)


@pytest.fixture
def history(factory: sessionmaker[Session], clock: FrozenClock) -> tuple[TenantCtx, dict[str, int]]:
    tenant = make_tenant(factory, at(1, 1), pending_days=0)
    ids = {"m1": make_member(factory, tenant.id, at(1, 5), external_id="m1"),
           "m2": make_member(factory, tenant.id, at(2, 2), external_id="m2"),
           "m3": make_member(factory, tenant.id, at(1, 6), external_id="m3")}

    def buy(member: str | None, order: str, amount: str, when: datetime) -> None:
        with unit_of_work(factory) as session:
            purchase = PurchaseIn(type="purchase", member=MemberRef(id=ids[member]) if member else None, order_id=order,
                                  amount=amount, currency="SAR", occurred_at=when)
            events.record_purchase(session, tenant_id=tenant.id, event_in=purchase, request_hash=order, now=when)

    buy("m1", "A", "100.00", at(1, 10))
    buy("m3", "B", "30.00", at(1, 20))
    buy("m1", "C", "50.00", at(2, 3))
    buy("m2", "D", "200.00", at(2, 5))
    buy(None, "E", "60.00", at(2, 10))
    buy(None, "F", "40.00", at(2, 11))
    buy("m1", "G", "70.00", at(2, 20))
    with unit_of_work(factory) as session:
        returns.record_return(session, tenant_id=tenant.id, event_in=ReturnIn(type="return", order_id="G", amount="20.00"), now=at(2, 21))
        # m2's purchase of 15 January, before they enrolled, came with an import on 2 February.
        row = imports.Row(line=2, customer_id="m2", occurred_at=at(1, 15), amount=4000, currency="SAR", order_id="OLD", items=None, store=None)
        imports.write(session, tenant_id=tenant.id, rows=[row], ids=["OLD"], now=at(2, 2), report=imports.ImportReport())
        ledger.debit(session, tenant_id=tenant.id, member_id=ids["m1"], points=30, kind="redeem", destination="redeemed",
                     idempotency_key="coffee", reason="coffee", now=at(2, 25))
    return tenant, ids


def test_kpis_of_february_match_the_hand_count(client: TestClient, history: tuple[TenantCtx, dict[str, int]]) -> None:
    tenant, ids = history
    client.headers["Authorization"] = f"Bearer {tenant.admin_key}"
    assert client.put("/v1/analytics/acquisition-spend/2026-02", json={"amount": "500.00"}).status_code == 200
    survey = client.post("/v1/surveys", json={"key": "nps", "title_en": "NPS", "title_ar": "NPS", "questions": [
        {"key": "recommend", "type": "nps", "text_en": "Recommend?", "text_ar": "تنصح؟"}]}).json()
    # Answered "now" (1 March, the test clock): outside February, so February has no NPS.
    client.post(f"/v1/surveys/{survey['id']}/responses", json={"member_id": ids["m1"], "answers": {"recommend": 10}})
    body = client.get("/v1/analytics/kpis", params={"from": "2026-02-01", "to": "2026-02-28"})
    assert body.status_code == 200, body.text
    feb = body.json()["period"]
    assert (feb["members_enrolled"], feb["active_members"], feb["orders"], feb["member_orders"]) == (1, 2, 5, 3)
    assert (feb["participation_rate_orders"], feb["participation_rate_revenue"]) == (0.6, 0.75)
    assert (feb["retention_rate"], feb["churn_rate"]) == (0.666667, 0.333333)  # m1 and m2 of m1, m2, m3
    assert (feb["repeat_purchase_rate"], feb["purchase_frequency"]) == (0.5, 1.5)
    assert (feb["revenue"], feb["member_revenue"], feb["aov_members"], feb["aov_non_members"]) == ("400.00", "300.00", "100.00", "50.00")
    assert (feb["aov_before_enrolment"], feb["aov_after_enrolment"], feb["aov_lift"]) == ("40.00", "200.00", 4.0)
    assert feb["top20_revenue_share"] == 0.666667  # m2's 200 of 300
    assert (feb["historic_clv"], feb["acquisition_spend"], feb["acquisition_cost_per_member"]) == ("156.67", "500.00", "500.00")
    assert feb["clv_to_cac"] == 0.3133
    assert (feb["points_issued"], feb["points_redeemed"], feb["points_expired"]) == (300, 30, 0)
    assert (feb["redemption_rate"], feb["breakage_rate"], feb["outstanding_points"]) == (0.1, 0.0, 400)
    assert (feb["nps"], feb["nps_responses"]) == (None, 0)
    previous = body.json()["previous"]  # 4 to 31 January: 28 days
    assert (previous["from"], previous["to"], previous["active_members"], previous["orders"]) == ("2026-01-04", "2026-01-31", 3, 3)
    assert body.json()["change"]["orders"] == round((5 - 3) / 3, 6)
    march = client.get("/v1/analytics/kpis", params={"from": "2026-03-01", "to": "2026-03-31", "compare": "none"}).json()
    assert march["previous"] is None and (march["period"]["nps"], march["period"]["nps_responses"]) == (100.0, 1)
    assert (march["period"]["active_members"], march["period"]["retention_rate"], march["period"]["aov_members"]) == (0, 0.0, None)


def test_cohort_retention_by_month_of_enrolment(client: TestClient, history: tuple[TenantCtx, dict[str, int]]) -> None:
    tenant, _ = history
    client.headers["Authorization"] = f"Bearer {tenant.admin_key}"
    body = client.get("/v1/analytics/cohorts", params={"from": "2026-01-01", "to": "2026-02-28"}).json()
    assert [(c["month"], c["members"], c["active"], c["retention"]) for c in body["cohorts"]] == [
        ("2026-01", 2, [2, 1], [1.0, 0.5]),  # m1 and m3 bought in January; m1 again in February
        ("2026-02", 1, [1], [1.0]),  # m2's January purchase came before they enrolled
    ]


def test_kpis_of_an_empty_program_and_bad_periods(client: TestClient) -> None:
    body = client.get("/v1/analytics/kpis", params={"from": "2026-02-01", "to": "2026-02-28"}).json()["period"]
    assert (body["active_members"], body["orders"], body["participation_rate_orders"], body["retention_rate"]) == (0, 0, None, None)
    assert (body["aov_members"], body["historic_clv"], body["clv_to_cac"], body["nps"]) == (None, None, None, None)
    problem(client.get("/v1/analytics/kpis", params={"from": "2026-02-28", "to": "2026-02-01"}), 422, "/problems/invalid-input", "to")
    assert client.get("/v1/analytics/kpis", params={"from": "2026-02-30", "to": "2026-03-01"}).status_code == 422
    problem(client.put("/v1/analytics/acquisition-spend/2026-13", json={"amount": "1.00"}), 422, "/problems/invalid-input", "month")


def test_the_dashboards_figures_over_time_match_a_kpi_report_per_span(factory, history) -> None:  # type: ignore[no-untyped-def]
    """kpis.series (a few scans in all) gives each span what a KPI report of that span alone gives, and the
    members and points outstanding at its end."""
    from datetime import date

    from wafa.analytics import kpis
    from wafa.ledger import liability
    from wafa.members import service as members

    tenant, _ = history
    spans = [(date(2026, 1, 1), date(2026, 1, 31)), (date(2026, 2, 1), date(2026, 2, 14)), (date(2026, 2, 15), date(2026, 2, 28))]
    with unit_of_work(factory) as session:
        series = kpis.series(session, tenant_id=tenant.id, spans=spans)
        for k, (first, last) in enumerate(spans):
            p = kpis.period(first, last, "UTC")
            report = kpis.compute(session, tenant_id=tenant.id, p=p)
            assert series["active"][k] == report["active_members"]
            assert series["member_revenue"][k] == float(report["member_revenue"])
            assert round(series["other_revenue"][k], 2) == round(float(report["revenue"]) - float(report["member_revenue"]), 2)
            assert (series["issued"][k], series["redeemed"][k], series["expired"][k]) == (
                report["points_issued"], report["points_redeemed"], report["points_expired"])
            assert series["members"][k] == members.enrolled_between(session, tenant_id=tenant.id, start=at(1, 1), end=p.end)
            assert series["outstanding"][k] == liability.outstanding_at(session, tenant_id=tenant.id, moments=[p.end])[0]
    assert series["active"] == [3, 2, 1] and series["other_revenue"] == [0.0, 100.0, 0.0] and series["redeemed"] == [0, 0, 30]
