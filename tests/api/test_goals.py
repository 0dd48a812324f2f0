"""Program goals over HTTP: a target for a KPI over a period, measured by the same KPI functions as
/v1/analytics/kpis (checked against the hand count of tests/api/test_kpis.py's small history), with the
baseline of the days before, progress and the trend; admin keys change goals, read keys only read them."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.test_kpis import history  # noqa: F401 (the fixture: February's hand-counted purchases)
from tests.conftest import TenantCtx, make_key, problem
from wafa.clock import FrozenClock

FEBRUARY = {"starts_on": "2026-02-01", "ends_on": "2026-02-28"}


def test_create_goal_returns_the_actual_its_progress_baseline_and_trend(client: TestClient, history: tuple[TenantCtx, dict]) -> None:  # noqa: F811
    tenant, _ = history
    client.headers["Authorization"] = f"Bearer {tenant.admin_key}"
    made = client.post("/v1/analytics/goals", json={"kpi": "purchase_frequency", "target": "2", **FEBRUARY})
    assert made.status_code == 201, made.text
    goal = made.json()
    kpis = client.get("/v1/analytics/kpis", params={"from": "2026-02-01", "to": "2026-02-28"}).json()
    # The same figure the KPI report gives: 3 member orders by 2 active members.
    assert kpis["period"]["purchase_frequency"] == 1.5
    assert (goal["kpi"], goal["unit"], goal["target"], goal["actual"], goal["progress"], goal["met"]) == (
        "purchase_frequency", "number", "2", "1.5", 0.75, False)
    # The clock stands on 1 March: February is over, measured to its last day.
    assert goal["measured_to"] == "2026-02-28"
    # 4 to 31 January: 3 member orders by 3 active members.
    assert float(goal["baseline"]) == kpis["previous"]["purchase_frequency"] == 1.0
    # Weekly, each point the goal's figure from 1 February to that day; the last one is the actual.
    assert [p["on"] for p in goal["trend"]] == ["2026-02-07", "2026-02-14", "2026-02-21", "2026-02-28"]
    assert goal["trend"][-1]["value"] == "1.5"
    assert [float(p["value"]) for p in goal["trend"][:2]] == [1.0, 1.0]  # m1's 3 February and m2's 5 February: one each


def test_list_goals_shows_each_against_its_target(client: TestClient, history: tuple[TenantCtx, dict]) -> None:  # noqa: F811
    tenant, _ = history
    client.headers["Authorization"] = f"Bearer {tenant.admin_key}"
    for kpi, target in (("retention_rate", "0.5"), ("aov_members", "120.00"), ("nps", "30")):
        assert client.post("/v1/analytics/goals", json={"kpi": kpi, "target": target, **FEBRUARY}).status_code == 201
    items = {g["kpi"]: g for g in client.get("/v1/analytics/goals").json()["items"]}
    assert set(items) == {"retention_rate", "aov_members", "nps"}
    retention = items["retention_rate"]
    assert (retention["actual"], retention["met"], retention["progress"]) == ("0.666667", True, 1.3333)
    aov = items["aov_members"]
    assert (aov["unit"], aov["currency"], aov["target"], aov["actual"], aov["met"]) == ("money", "SAR", "120", "100.00", False)
    # No answer in February: no NPS, no progress.
    assert (items["nps"]["actual"], items["nps"]["progress"], items["nps"]["met"]) == (None, None, None)


def test_update_goal_changes_target_and_days(client: TestClient, history: tuple[TenantCtx, dict]) -> None:  # noqa: F811
    tenant, _ = history
    client.headers["Authorization"] = f"Bearer {tenant.admin_key}"
    goal = client.post("/v1/analytics/goals", json={"kpi": "purchase_frequency", "target": "2", **FEBRUARY}).json()
    changed = client.patch(f"/v1/analytics/goals/{goal['id']}", json={"target": "1.5", "ends_on": "2026-02-14"})
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["target"], body["ends_on"], body["actual"], body["met"]) == ("1.5", "2026-02-14", "1.0", False)
    assert client.get(f"/v1/analytics/goals/{goal['id']}").json()["target"] == "1.5"


def test_delete_goal_removes_it(client: TestClient, tenant: TenantCtx) -> None:
    goal = client.post("/v1/analytics/goals", json={"kpi": "nps", "target": "40", **FEBRUARY}).json()
    assert client.delete(f"/v1/analytics/goals/{goal['id']}").status_code == 204
    problem(client.get(f"/v1/analytics/goals/{goal['id']}"), 404, "/problems/not-found")
    problem(client.delete(f"/v1/analytics/goals/{goal['id']}"), 404, "/problems/not-found")


def test_a_goal_not_started_has_no_actual_yet(client: TestClient, clock: FrozenClock) -> None:
    goal = client.post("/v1/analytics/goals", json={"kpi": "retention_rate", "target": "0.4", "starts_on": "2026-04-01",
                                                    "ends_on": "2026-12-31"}).json()
    assert (goal["measured_to"], goal["actual"], goal["progress"], goal["trend"]) == (None, None, None, [])


def test_create_goal_refuses_bad_targets_and_days(client: TestClient) -> None:
    problem(client.post("/v1/analytics/goals", json={"kpi": "retention_rate", "target": "45", **FEBRUARY}), 422, "/problems/invalid-input", "target")
    problem(client.post("/v1/analytics/goals", json={"kpi": "nps", "target": "150", **FEBRUARY}), 422, "/problems/invalid-input", "target")
    problem(client.post("/v1/analytics/goals", json={"kpi": "aov_members", "target": "-5", **FEBRUARY}), 422, "/problems/invalid-input", "target")
    problem(client.post("/v1/analytics/goals", json={"kpi": "nps", "target": "10", "starts_on": "2026-03-01", "ends_on": "2026-02-01"}),
            422, "/problems/invalid-input", "ends_on")
    problem(client.post("/v1/analytics/goals", json={"kpi": "nps", "target": "10", "starts_on": "2000-01-01", "ends_on": "2026-02-01"}),
            422, "/problems/invalid-input", "ends_on")
    assert client.post("/v1/analytics/goals", json={"kpi": "revenue", "target": "10", **FEBRUARY}).status_code == 422
    assert client.post("/v1/analytics/goals", json={"kpi": "nps", "target": "ten", **FEBRUARY}).status_code == 422


def test_create_goal_twice_for_the_same_kpi_and_days_conflicts(client: TestClient) -> None:
    assert client.post("/v1/analytics/goals", json={"kpi": "nps", "target": "30", **FEBRUARY}).status_code == 201
    problem(client.post("/v1/analytics/goals", json={"kpi": "nps", "target": "40", **FEBRUARY}), 409, "/problems/conflict")


def test_a_read_key_reads_goals_but_cannot_set_them(client: TestClient, factory, tenant: TenantCtx, clock: FrozenClock) -> None:  # type: ignore[no-untyped-def]
    goal = client.post("/v1/analytics/goals", json={"kpi": "nps", "target": "30", **FEBRUARY}).json()
    client.headers["Authorization"] = f"Bearer {make_key(factory, tenant.id, ['read'], clock.now())}"
    assert [g["id"] for g in client.get("/v1/analytics/goals").json()["items"]] == [goal["id"]]
    assert client.post("/v1/analytics/goals", json={"kpi": "nps", "target": "31", **FEBRUARY}).status_code == 403
    assert client.patch(f"/v1/analytics/goals/{goal['id']}", json={"target": "31"}).status_code == 403
    assert client.delete(f"/v1/analytics/goals/{goal['id']}").status_code == 403


def test_goals_of_another_tenant_are_not_found(client: TestClient, factory, clock: FrozenClock) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import make_tenant

    goal = client.post("/v1/analytics/goals", json={"kpi": "nps", "target": "30", **FEBRUARY}).json()
    other = make_tenant(factory, clock.now())
    client.headers["Authorization"] = f"Bearer {other.admin_key}"
    assert client.get("/v1/analytics/goals").json()["items"] == []
    problem(client.patch(f"/v1/analytics/goals/{goal['id']}", json={"target": "31"}), 404, "/problems/not-found")
