"""Changing a membership's plan: from the next paid period (charged at the new plan's price and
interval) or now (its benefits at once, the paid period unchanged); naming the current plan drops a
scheduled change."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.api.test_memberships import member, pay, plan, points, subscribe
from tests.conftest import TenantCtx, problem
from wafa.clock import FrozenClock
from wafa.jobs.service import run_due

YEARLY = {"key": "plus-year", "name_en": "Noor Plus yearly", "name_ar": "نور بلس سنوي", "interval": "year", "price": "290.00",
          "benefits": {"earn_multiplier": "3", "monthly_points": 150}}


def change(client: TestClient, membership_id: int, plan_key: str, when: str = "period_end"):  # type: ignore[no-untyped-def]
    return client.post(f"/v1/memberships/{membership_id}/change-plan", json={"plan": plan_key, "when": when})


def buy(client: TestClient, member_id: int, order_id: str) -> int:
    made = client.post("/v1/events", json={"type": "purchase", "member": {"id": member_id}, "order_id": order_id,
                                           "amount": "10.00", "currency": "SAR"})
    assert made.status_code == 201, made.text
    return made.json()["total_points"]


def test_change_plan_at_period_end_charges_the_renewal_at_the_new_price(
    client: TestClient, clock: FrozenClock, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    plan(client)
    plan(client, **YEARLY)
    who = member(client)
    membership = subscribe(client, who)
    assert pay(client, membership["id"], "m1").status_code == 201
    scheduled = change(client, membership["id"], "plus-year")
    assert scheduled.status_code == 200, scheduled.text
    body = scheduled.json()
    assert body["plan"]["key"] == "plus" and body["next_plan"] == "plus-year"
    assert buy(client, who, "A") == 20  # still the monthly plan's ×2
    clock.advance(timedelta(days=31))
    run_due(factory, now=clock.now(), tenant_id=tenant.id)
    problem(pay(client, membership["id"], "m2"), 422, "/problems/invalid-input", "amount")  # 29.00 is the old price
    renewed = pay(client, membership["id"], "y1", amount="290.00")
    assert renewed.status_code == 201, renewed.text
    after = renewed.json()["membership"]
    assert after["plan"]["key"] == "plus-year" and after["next_plan"] is None and after["status"] == "active"
    # A whole year from the renewal, not to the monthly plan's billing day.
    assert after["period_start"] == "2026-04-01T09:00:00Z" and after["period_end"] == "2027-04-01T09:00:00Z"
    assert buy(client, who, "B") == 30
    log = [e["type"] for e in client.get(f"/v1/memberships/{membership['id']}/history").json()["log"]]
    assert "plan_change_scheduled" in log and "plan_changed" in log


def test_change_plan_now_gives_the_new_benefits_and_keeps_the_period(client: TestClient) -> None:
    plan(client)
    plan(client, **YEARLY)
    who = member(client)
    membership = subscribe(client, who)
    paid = pay(client, membership["id"], "m1").json()["membership"]
    changed = change(client, membership["id"], "plus-year", when="now").json()
    assert changed["plan"]["key"] == "plus-year" and changed["next_plan"] is None
    assert (changed["period_start"], changed["period_end"]) == (paid["period_start"], paid["period_end"])
    assert buy(client, who, "A") == 30
    assert points(client, who) == 100 + 30  # this month's plan points were granted once, under the first plan


def test_naming_the_current_plan_drops_a_scheduled_change(client: TestClient) -> None:
    plan(client)
    plan(client, **YEARLY)
    membership = subscribe(client, member(client))
    pay(client, membership["id"], "m1")
    change(client, membership["id"], "plus-year")
    dropped = change(client, membership["id"], "plus").json()
    assert dropped["plan"]["key"] == "plus" and dropped["next_plan"] is None


def test_change_plan_of_an_unpaid_subscription_applies_at_once(client: TestClient) -> None:
    plan(client)
    plan(client, **YEARLY)
    membership = subscribe(client, member(client))
    changed = change(client, membership["id"], "plus-year").json()
    assert changed["plan"]["key"] == "plus-year" and changed["status"] == "incomplete"
    assert pay(client, membership["id"], "y1", amount="290.00").json()["membership"]["status"] == "active"


def test_change_plan_refusals(client: TestClient) -> None:
    plan(client)
    plan(client, **YEARLY)
    membership = subscribe(client, member(client))
    problem(change(client, membership["id"], "gold"), 404, "/problems/not-found", "plan")
    client.patch(f"/v1/membership-plans/{plan(client, key='old', name_en='Old')['id']}", json={"status": "archived"})
    problem(change(client, membership["id"], "old"), 404, "/problems/not-found", "plan")
    client.post(f"/v1/memberships/{membership['id']}/cancel", json={"at_period_end": False})
    problem(change(client, membership["id"], "plus-year"), 409, "/problems/conflict")
    problem(change(client, 999999, "plus-year"), 404, "/problems/not-found")
    assert client.post(f"/v1/memberships/{membership['id']}/change-plan", json={"plan": "plus", "when": "later"}).status_code == 422


def test_change_plan_now_to_another_interval_bills_the_next_period_in_full(
    client: TestClient, clock: FrozenClock, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    plan(client)
    plan(client, **YEARLY)
    membership = subscribe(client, member(client))
    pay(client, membership["id"], "m1")  # 1 March to 1 April
    change(client, membership["id"], "plus-year", when="now")
    clock.advance(timedelta(days=31))
    run_due(factory, now=clock.now(), tenant_id=tenant.id)
    renewed = pay(client, membership["id"], "y1", amount="290.00").json()["membership"]
    assert (renewed["period_start"], renewed["period_end"]) == ("2026-04-01T09:00:00Z", "2027-04-01T09:00:00Z")


def test_one_trial_per_plan_even_after_changing_plan(client: TestClient) -> None:
    plan(client, trial_days=14)
    plan(client, key="basic", name_en="Basic", price="9.00")
    who = member(client)
    first = subscribe(client, who)
    assert first["status"] == "trialing"
    changed = change(client, first["id"], "basic", when="now").json()
    assert changed["plan"]["key"] == "plus" and changed["next_plan"] == "basic"  # a trial is of its own plan
    client.post(f"/v1/memberships/{first['id']}/cancel", json={"at_period_end": False})
    again = subscribe(client, who)
    assert again["status"] == "incomplete"  # plus's trial was taken


def test_a_failed_charge_at_the_scheduled_plans_price_is_recorded(
    client: TestClient, clock: FrozenClock, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    plan(client)
    plan(client, **YEARLY)
    membership = subscribe(client, member(client))
    pay(client, membership["id"], "m1")
    change(client, membership["id"], "plus-year")
    clock.advance(timedelta(days=31))
    run_due(factory, now=clock.now(), tenant_id=tenant.id)
    log = client.get(f"/v1/memberships/{membership['id']}/history").json()["log"]
    due = next(e for e in log if e["type"] == "renewal_due")
    assert (due["details"]["plan"], due["details"]["amount"], due["details"]["currency"]) == ("plus-year", "290.00", "SAR")
    failed = pay(client, membership["id"], "y0", status="failed", amount="290.00")
    assert failed.status_code == 201, failed.text


def test_a_suspended_members_renewal_is_still_recorded(
    client: TestClient, clock: FrozenClock, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    plan(client)
    who = member(client)
    membership = subscribe(client, who)
    pay(client, membership["id"], "m1")
    client.post(f"/v1/members/{who}/suspend", json={"reason": "fraud check"})
    clock.advance(timedelta(days=31))
    run_due(factory, now=clock.now(), tenant_id=tenant.id)
    renewed = pay(client, membership["id"], "m2")
    assert renewed.status_code == 201, renewed.text
    assert renewed.json()["membership"]["status"] == "active"


def test_plan_points_that_reach_a_tier_upgrade_and_earn_its_badge(client: TestClient) -> None:
    client.post("/v1/tiers", json={"key": "gold", "name_en": "Gold", "name_ar": "ذهبي", "rank": 1, "threshold": "100"})
    client.post("/v1/badges", json={"key": "golden", "name_en": "Golden", "name_ar": "ذهبي", "criterion": {"metric": "tier", "tier": "gold"}})
    plan(client)  # 100 points a month
    who = member(client)
    membership = subscribe(client, who)
    pay(client, membership["id"], "m1")
    assert client.get(f"/v1/members/{who}/tier").json()["tier"]["key"] == "gold"
    assert [b["key"] for b in client.get(f"/v1/members/{who}/achievements").json()["badges"]] == ["golden"]
