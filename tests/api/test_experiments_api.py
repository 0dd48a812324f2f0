"""Experiments over HTTP, on both databases: create, start, a member's arms, results that are provisional
before the horizon and recover a planted effect after it (naming the winner), shipping (refused before the
horizon unless forced; a rules experiment's winning rule then applies to everyone, the losing rule ends),
rule conditions naming unknown experiments or arms refused, and a campaign audience restricted to an arm."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import TenantCtx, make_tenant, problem
from wafa.clock import FrozenClock
from wafa.messages import campaigns
from wafa.messages.models import CampaignMember
from wafa.tenants import audit

INVALID = "/problems/invalid-input"
CONFLICT = "/problems/conflict"
PROVISIONAL = "/problems/results-provisional"
NOT_FOUND = "/problems/not-found"


def experiment(client: TestClient, key: str = "double", **change: Any) -> dict[str, Any]:
    body = {"key": key, "name": "Double points", "subject": "rules", "holdout_percent": 20,
            "arms": [{"key": "a", "weight": 1}, {"key": "b", "weight": 1}], "primary_metric": "purchases", "horizon_days": 14, **change}
    made = client.post("/v1/experiments", json=body)
    assert made.status_code == 201, made.text
    return made.json()


def member(client: TestClient) -> int:
    made = client.post("/v1/members", json={"external_id": f"m-{id(client)}-{member.count}"})  # type: ignore[attr-defined]
    member.count += 1  # type: ignore[attr-defined]
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


member.count = 0  # type: ignore[attr-defined]


def buy(client: TestClient, member_id: int, n: int = 1, amount: str = "10.00") -> list[dict[str, Any]]:
    out = []
    for _ in range(n):
        order = f"o-{member.count}-{member_id}-{len(out)}"
        body = {"type": "purchase", "member": {"id": member_id}, "order_id": order, "amount": amount, "currency": "SAR"}
        made = client.post("/v1/events", json=body)
        member.count += 1  # type: ignore[attr-defined]
        assert made.status_code in (200, 201), made.text
        out.append(made.json())
    return out


def arm(client: TestClient, member_id: int, key: str) -> str | None:
    found = client.get(f"/v1/members/{member_id}/experiments")
    assert found.status_code == 200, found.text
    return found.json()["arms"].get(key)


def test_create_then_read_and_list(client: TestClient) -> None:
    made = experiment(client)
    assert made["status"] == "draft" and made["started_at"] is None and made["arms"] == [{"key": "a", "weight": 1}, {"key": "b", "weight": 1}]
    assert client.get("/v1/experiments/double").json() == made
    assert [e["key"] for e in client.get("/v1/experiments").json()["items"]] == ["double"]


@pytest.mark.parametrize(("change", "field"), [
    ({"holdout_percent": 60}, "holdout_percent"), ({"arms": []}, "arms"), ({"arms": [{"key": "a"}] * 2}, "arms"),
    ({"arms": [{"key": "holdout"}]}, "arms"), ({"primary_metric": "clicks"}, "primary_metric"), ({"subject": "tiers"}, "subject"),
    ({"key": "Not a slug"}, "key"), ({"horizon_days": 0}, "horizon_days"),
    ({"arms": [{"key": k} for k in "abcdef"]}, "arms"),
])
def test_create_refused(client: TestClient, change: dict[str, Any], field: str) -> None:
    body = {"key": "x", "name": "X", "subject": "rules", "arms": [{"key": "a"}], "primary_metric": "revenue", "horizon_days": 7, **change}
    found = client.post("/v1/experiments", json=body)
    assert found.status_code == 422, found.text
    assert any(field in str(e.get("field", "")) for e in found.json().get("errors", [])), found.json()


def test_create_a_duplicate_key_conflicts(client: TestClient) -> None:
    experiment(client)
    problem(client.post("/v1/experiments", json={"key": "double", "name": "Again", "subject": "offers", "arms": [{"key": "a"}],
                                                 "primary_metric": "revenue", "horizon_days": 7}), 409, CONFLICT, "key")


def test_unknown_experiment_not_found(client: TestClient) -> None:
    problem(client.get("/v1/experiments/nope"), 404, NOT_FOUND)
    problem(client.post("/v1/experiments/nope:start"), 404, NOT_FOUND)
    problem(client.get("/v1/members/999999999/experiments"), 404, NOT_FOUND)


def test_changes_need_the_admin_scope(client: TestClient, factory: sessionmaker[Session], clock: FrozenClock, tenant: TenantCtx) -> None:
    from tests.conftest import make_key

    reader = make_key(factory, tenant.id, ["read"], clock.now())
    found = client.post("/v1/experiments", json={}, headers={"Authorization": f"Bearer {reader}"})
    assert found.status_code == 403


def test_start_twice_and_results_of_a_draft_conflict(client: TestClient) -> None:
    experiment(client)
    problem(client.get("/v1/experiments/double/results"), 409, CONFLICT)
    assert client.post("/v1/experiments/double:start").status_code == 200
    problem(client.post("/v1/experiments/double:start"), 409, CONFLICT)


def test_members_arms_follow_the_running_experiments(client: TestClient, clock: FrozenClock, tenant: TenantCtx) -> None:
    from wafa.experiments.assignment import arm_of

    experiment(client)
    members = [member(client) for _ in range(30)]
    assert all(client.get(f"/v1/members/{m}/experiments").json()["arms"] == {} for m in members[:3])  # a draft assigns nobody
    started = client.post("/v1/experiments/double:start").json()
    assert started["status"] == "running" and started["ends_at"] == (clock.now() + timedelta(days=14)).isoformat().replace("+00:00", "Z")
    arms = {m: arm(client, m, "double") for m in members}
    spec = [{"key": "a", "weight": 1}, {"key": "b", "weight": 1}]
    assert arms == {m: arm_of(tenant_id=tenant.id, key="double", member_id=m, holdout_percent=20, arms=spec) for m in members}
    assert client.post("/v1/experiments/double:end").json()["status"] == "ended"
    assert arm(client, members[0], "double") is None  # ended: nobody is in an arm any more


def planted(client: TestClient, clock: FrozenClock, key: str) -> dict[str, list[int]]:
    """120 members; over the first days each buys 1, 2 or 3 times (the same mix in every group, by their place
    in it), and the members of arm "b" buy once more: a planted effect of exactly +1 purchase per member."""
    members = [member(client) for _ in range(120)]
    assert client.post(f"/v1/experiments/{key}:start").status_code == 200
    groups: dict[str, list[int]] = {}
    for m in members:
        groups.setdefault(arm(client, m, key) or "", []).append(m)
    assert set(groups) == {"a", "b", "holdout"}
    clock.advance(timedelta(days=1))
    for name, group in groups.items():
        for place, m in enumerate(group):
            buy(client, m, 1 + place % 3 + (1 if name == "b" else 0))
    return groups


def test_results_are_provisional_before_the_horizon_then_recover_the_planted_effect(
    client: TestClient, clock: FrozenClock, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    experiment(client)
    groups = planted(client, clock, "double")
    early = client.get("/v1/experiments/double/results").json()
    assert early["provisional"] is True and early["horizon_reached"] is False
    assert early["holdout_members"] == len(groups["holdout"]) and early["confidence"] == pytest.approx(0.975)

    clock.advance(timedelta(days=14))
    found = client.get("/v1/experiments/double/results").json()
    assert found["provisional"] is False and found["horizon_reached"] is True
    by_arm = {a["arm"]: a for a in found["arms"]}
    assert {k: v["members"] for k, v in by_arm.items()} == {"a": len(groups["a"]), "b": len(groups["b"])}
    b = by_arm["b"]["primary"]
    assert b["name"] == "purchases" and b["low"] <= 1.0 <= b["high"] and b["low"] > 0
    assert b["difference"] == pytest.approx(1.0, abs=0.1)
    a = by_arm["a"]["primary"]
    assert a["low"] <= 0 <= a["high"]
    assert found["winner"] == "b"
    metrics = {m["name"]: m for m in by_arm["b"]["metrics"]}
    assert metrics["revenue"]["difference"] == pytest.approx(10 * b["difference"])  # 10.00 SAR a purchase, in major units
    assert metrics["retention"]["mean"] == 1.0 and metrics["redemptions"]["difference"] == 0.0


def rule(client: TestClient, arms: list[str], points: int, key: str = "double") -> dict[str, Any]:
    made = client.post("/v1/rules", json={
        "name_en": f"Arm {arms} bonus", "name_ar": "مكافأة", "trigger": "purchase", "status": "active",
        "conditions": [{"type": "experiment", "experiment": key, "arms": arms}], "actions": [{"type": "fixed_points", "points": points}],
    })
    assert made.status_code == 201, made.text
    return made.json()


def test_ship_a_rules_experiment_makes_the_winning_rule_everyones(
    client: TestClient, clock: FrozenClock, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    experiment(client)
    loser, winner = rule(client, ["a"], 7), rule(client, ["b"], 50)
    groups = planted(client, clock, "double")
    held = groups["holdout"][0]
    base = buy(client, held)[0]["total_points"]
    assert base == buy(client, groups["a"][0])[0]["total_points"] - 7 == buy(client, groups["b"][0])[0]["total_points"] - 50

    body = problem(client.post("/v1/experiments/double:ship", json={"arm": "b"}), 409, PROVISIONAL)
    assert "provisional" in body["detail"]
    clock.advance(timedelta(days=14))
    shipped = client.post("/v1/experiments/double:ship", json={})  # the winner by default
    assert shipped.status_code == 200, shipped.text
    assert shipped.json()["status"] == "shipped" and shipped.json()["shipped_arm"] == "b"

    after = client.get(f"/v1/rules/{winner['id']}").json()
    assert after["version"] == 2 and after["status"] == "active" and after["definition"]["conditions"] == []
    assert client.get(f"/v1/rules/{loser['id']}").json()["status"] == "ended"
    assert buy(client, held)[0]["total_points"] == base + 50  # the holdout member now earns the winning rule
    assert buy(client, groups["a"][0])[0]["total_points"] == base + 50
    with factory() as session:
        [entry] = audit.list_(session, tenant_id=tenant.id, action="experiment.shipped")
        assert entry.details["arm"] == "b" and entry.details["forced"] is False
        assert entry.details["rules"] == {"revised": [winner["id"]], "ended": [loser["id"]]}
    problem(client.post("/v1/experiments/double:ship", json={"arm": "b"}), 409, CONFLICT)


def test_ship_before_the_horizon_with_force_is_audited_as_forced(client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx) -> None:
    experiment(client, subject="offers")
    client.post("/v1/experiments/double:start")
    problem(client.post("/v1/experiments/double:ship", json={"arm": "zz"}), 409, PROVISIONAL)
    problem(client.post("/v1/experiments/double:ship", json={"arm": "zz", "force": True}), 422, INVALID, "arm")
    shipped = client.post("/v1/experiments/double:ship", json={"arm": "a", "force": True})
    assert shipped.status_code == 200, shipped.text
    assert shipped.json()["shipped_arm"] == "a"
    with factory() as session:
        [entry] = audit.list_(session, tenant_id=tenant.id, action="experiment.shipped")
        assert entry.details["forced"] is True
        assert {e.action for e in audit.list_(session, tenant_id=tenant.id)} >= {"experiment.created", "experiment.started", "experiment.shipped"}


def test_ship_with_no_winner_asks_for_an_arm(client: TestClient, clock: FrozenClock) -> None:
    experiment(client)
    client.post("/v1/experiments/double:start")
    clock.advance(timedelta(days=15))
    problem(client.post("/v1/experiments/double:ship", json={}), 409, CONFLICT, "arm")


@pytest.mark.parametrize(("condition", "field"), [
    ({"type": "experiment", "experiment": "nope", "arms": ["a"]}, "conditions[0].experiment"),
    ({"type": "experiment", "experiment": "double", "arms": ["c"]}, "conditions[0].arms"),
    ({"type": "not", "condition": {"type": "experiment", "experiment": "double", "arms": ["a", "zz"]}}, "conditions[0].condition.arms"),
])
def test_rule_conditions_on_unknown_experiments_or_arms_refused(client: TestClient, condition: dict[str, Any], field: str) -> None:
    experiment(client)
    body = {"name_en": "x", "name_ar": "س", "trigger": "purchase", "conditions": [condition], "actions": [{"type": "fixed_points", "points": 1}]}
    problem(client.post("/v1/rules", json=body), 422, INVALID, field)
    assert client.get("/v1/rules").json()["items"] == []


def test_a_rule_may_name_the_holdout(client: TestClient) -> None:
    experiment(client)
    rule(client, ["holdout", "a"], 5)


def test_a_campaign_audience_restricted_to_an_arm(client: TestClient, clock: FrozenClock, factory: sessionmaker[Session], tenant: TenantCtx) -> None:
    experiment(client, subject="campaigns")
    members = [member(client) for _ in range(40)]
    client.post("/v1/experiments/double:start")
    in_b = {m for m in members if arm(client, m, "double") == "b"}
    body = {"name": "Arm b news", "audience": {"experiment": "double", "arms": ["b"]}, "channel": "email", "subject": {"en": "News"},
            "body": {"en": "Hello {{ name }}"}, "send_at": (clock.now() + timedelta(hours=1)).isoformat(), "holdout_percent": 0}
    made = client.post("/v1/campaigns", json=body)
    assert made.status_code == 201, made.text
    assert made.json()["audience"] == {"all": True, "experiment": "double", "arms": ["b"]}
    wrong_arm = {"all": True, "experiment": "double", "arms": ["x"]}
    problem(client.post("/v1/campaigns", json={**body, "audience": wrong_arm}), 422, INVALID, "audience.arms")
    problem(client.post("/v1/campaigns", json={**body, "audience": {"experiment": "nope", "arms": ["a"]}}), 422, INVALID, "audience.experiment")
    clock.advance(timedelta(hours=2))
    campaigns.start_due(factory, now=clock.now())
    with factory() as session:
        chosen = set(session.execute(select(CampaignMember.member_id).where(CampaignMember.campaign_id == made.json()["id"])).scalars())
    assert chosen == in_b and chosen


def test_experiments_are_kept_per_tenant(client: TestClient, factory: sessionmaker[Session], clock: FrozenClock) -> None:
    experiment(client)
    other = make_tenant(factory, clock.now())
    found = client.get("/v1/experiments/double", headers={"Authorization": f"Bearer {other.admin_key}"})
    assert found.status_code == 404
    assert client.get("/v1/experiments", headers={"Authorization": f"Bearer {other.admin_key}"}).json()["items"] == []


def test_a_rule_on_a_personal_offer_applies_to_the_members_holding_it(client: TestClient) -> None:
    made = client.post("/v1/rules", json={
        "name_en": "Coffee bonus", "name_ar": "مكافأة القهوة", "trigger": "purchase", "status": "active",
        "conditions": [{"type": "offer", "any_of": ["coffee-bonus"]}], "actions": [{"type": "fixed_points", "points": 30}],
    })
    assert made.status_code == 201, made.text
    holder, other = member(client), member(client)
    holder_ref = client.get(f"/v1/members/{holder}").json()["external_id"]
    offer = client.post("/v1/offers", json={"key": "coffee-bonus", "name_en": "Coffee bonus", "name_ar": "مكافأة القهوة", "kind": "rule",
                                            "rule_id": made.json()["id"], "audience": {"external_ids": [holder_ref]}})
    assert offer.status_code == 201, offer.text
    assert client.post("/v1/offers/coffee-bonus:activate").status_code == 200
    base = buy(client, other)[0]["total_points"]
    assert buy(client, holder)[0]["total_points"] == base + 30


def test_a_partial_return_rereads_the_rule_with_the_arm_the_purchase_had(client: TestClient) -> None:
    experiment(client)
    rule(client, ["b"], 50)
    client.post("/v1/experiments/double:start")
    in_b = next(m for m in (member(client) for _ in range(60)) if arm(client, m, "double") == "b")
    bought = client.post("/v1/events", json={"type": "purchase", "member": {"id": in_b}, "order_id": "R-1", "amount": "100.00", "currency": "SAR"})
    assert bought.status_code in (200, 201) and [r["points"] for r in bought.json()["rules"]] == [50]
    client.post("/v1/experiments/double:end")  # the member is in no arm any more; the purchase remembers theirs
    back = client.post("/v1/events", json={"type": "return", "order_id": "R-1", "amount": "40.00"})
    assert back.status_code in (200, 201), back.text
    assert all(line["rule_id"] != bought.json()["rules"][0]["rule_id"] for line in back.json()["rules"])  # the rule's 50 stay
