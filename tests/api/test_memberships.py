"""Paid memberships over HTTP: plans, subscribing (with or without a trial), payments reported by the
shop's provider (idempotent), renewals falling due, grace and lapse, cancelling, and the benefits."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import TenantCtx, problem
from wafa.clock import FrozenClock
from wafa.jobs.service import run_due

PLUS = {"key": "plus", "name_en": "Noor Plus", "name_ar": "نور بلس", "interval": "month", "price": "29.00", "grace_days": 5,
        "benefits": {"earn_multiplier": "2", "monthly_points": 100, "flags": ["free_delivery"]}}


def plan(client: TestClient, **changes: object) -> dict:  # type: ignore[type-arg]
    made = client.post("/v1/membership-plans", json={**PLUS, **changes})
    assert made.status_code == 201, made.text
    return made.json()


def member(client: TestClient) -> int:
    return client.post("/v1/members", json={"external_id": "m-1"}).json()["id"]


def subscribe(client: TestClient, member_id: int, plan_key: str = "plus") -> dict:  # type: ignore[type-arg]
    made = client.post(f"/v1/members/{member_id}/memberships", json={"plan": plan_key})
    assert made.status_code == 201, made.text
    return made.json()


def pay(client: TestClient, membership_id: int, key: str, status: str = "paid", amount: str = "29.00"):  # type: ignore[no-untyped-def]
    return client.post(f"/v1/memberships/{membership_id}/payments", headers={"Idempotency-Key": key},
                       json={"status": status, "amount": amount, "currency": "SAR", "provider_ref": f"pi_{key}"})


def points(client: TestClient, member_id: int) -> int:
    balance = client.get(f"/v1/members/{member_id}/balance").json()
    return balance["available"] + balance["pending"]


def test_membership_is_incomplete_until_paid_then_active_for_a_month(client: TestClient, clock: FrozenClock) -> None:
    plan(client)
    member_id = member(client)
    membership = subscribe(client, member_id)
    assert membership["status"] == "incomplete" and membership["period_end"] is None
    paid = pay(client, membership["id"], "evt-1")
    assert paid.status_code == 201
    body = paid.json()["membership"]
    assert body["status"] == "active" and body["period_start"] == "2026-03-01T09:00:00Z" and body["period_end"] == "2026-04-01T09:00:00Z"
    assert points(client, member_id) == 100  # this month's plan points
    again = pay(client, membership["id"], "evt-1")
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert points(client, member_id) == 100


def test_plan_doubles_base_points_while_in_force(client: TestClient) -> None:
    plan(client, benefits={"earn_multiplier": "2"})
    member_id = member(client)
    pay(client, subscribe(client, member_id)["id"], "evt-1")
    bought = client.post("/v1/events", json={"type": "purchase", "member": {"id": member_id}, "order_id": "A", "amount": "50.00",
                                             "currency": "SAR"}).json()
    assert bought["award"]["points"] == 100


def test_unpaid_renewal_falls_due_then_lapses_after_grace(
    client: TestClient, clock: FrozenClock, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    plan(client)
    member_id = member(client)
    membership_id = subscribe(client, member_id)["id"]
    pay(client, membership_id, "evt-1")
    clock.advance(timedelta(days=31, hours=1))
    assert run_due(factory, now=clock.now(), tenant_id=tenant.id).memberships_due == 1
    due = client.get(f"/v1/memberships/{membership_id}").json()
    assert due["status"] == "past_due" and due["grace_until"] == "2026-04-06T09:00:00Z"
    assert pay(client, membership_id, "evt-2", status="failed").json()["membership"]["status"] == "past_due"
    clock.advance(timedelta(days=5))
    run_due(factory, now=clock.now(), tenant_id=tenant.id)
    lapsed = client.get(f"/v1/memberships/{membership_id}").json()
    assert lapsed["status"] == "lapsed"
    problem(pay(client, membership_id, "evt-3"), 409, "/problems/conflict")


def test_renewal_paid_in_grace_continues_the_period(
    client: TestClient, clock: FrozenClock, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    plan(client)
    member_id = member(client)
    membership_id = subscribe(client, member_id)["id"]
    pay(client, membership_id, "evt-1")
    clock.advance(timedelta(days=32))
    run_due(factory, now=clock.now(), tenant_id=tenant.id)
    renewed = pay(client, membership_id, "evt-2").json()["membership"]
    assert renewed["status"] == "active" and renewed["period_start"] == "2026-04-01T09:00:00Z"
    assert renewed["period_end"] == "2026-05-01T09:00:00Z" and renewed["grace_until"] is None
    assert points(client, member_id) == 200  # March's and April's plan points


def test_trial_then_cancel_at_period_end(
    client: TestClient, clock: FrozenClock, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    plan(client, trial_days=14)
    member_id = member(client)
    membership = subscribe(client, member_id)
    assert membership["status"] == "trialing" and membership["period_end"] == "2026-03-15T09:00:00Z"
    cancelled = client.post(f"/v1/memberships/{membership['id']}/cancel", json={"at_period_end": True}).json()
    assert cancelled["status"] == "trialing" and cancelled["cancel_at_period_end"] is True
    clock.advance(timedelta(days=15))
    run_due(factory, now=clock.now(), tenant_id=tenant.id)
    ended = client.get(f"/v1/memberships/{membership['id']}").json()
    assert ended["status"] == "cancelled" and ended["ended_at"] == "2026-03-15T09:00:00Z"
    assert subscribe(client, member_id)["status"] == "incomplete"  # a new membership may start, without a second trial


def test_paying_during_a_trial_starts_the_paid_period_when_the_trial_ends(client: TestClient) -> None:
    plan(client, trial_days=14)
    member_id = member(client)
    membership_id = subscribe(client, member_id)["id"]
    body = pay(client, membership_id, "evt-1").json()
    assert body["period_start"] == "2026-03-15T09:00:00Z" and body["period_end"] == "2026-04-15T09:00:00Z"


def test_cancel_now_ends_the_benefits_at_once(client: TestClient) -> None:
    plan(client)
    member_id = member(client)
    membership_id = subscribe(client, member_id)["id"]
    pay(client, membership_id, "evt-1")
    ended = client.post(f"/v1/memberships/{membership_id}/cancel", json={"at_period_end": False}).json()
    assert ended["status"] == "cancelled"
    bought = client.post("/v1/events", json={"type": "purchase", "member": {"id": member_id}, "order_id": "A", "amount": "50.00",
                                             "currency": "SAR"}).json()
    assert bought["award"]["points"] == 50
    problem(client.post(f"/v1/memberships/{membership_id}/cancel", json={}), 409, "/problems/conflict")


def test_memberships_bad_input(client: TestClient) -> None:
    plan(client)
    member_id = member(client)
    problem(client.post("/v1/membership-plans", json=PLUS), 409, "/problems/conflict", "key")
    problem(client.post(f"/v1/members/{member_id}/memberships", json={"plan": "gold"}), 404, "/problems/not-found", "plan")
    membership_id = subscribe(client, member_id)["id"]
    problem(client.post(f"/v1/members/{member_id}/memberships", json={"plan": "plus"}), 409, "/problems/conflict", "plan")
    problem(pay(client, membership_id, "evt-1", amount="19.00"), 422, "/problems/invalid-input", "amount")
    pay(client, membership_id, "evt-2")
    problem(pay(client, membership_id, "evt-2", status="failed"), 409, "/problems/idempotency-key-reused")
    assert client.get(f"/v1/members/{member_id}/memberships").json()["items"][0]["status"] == "active"


def test_trials_give_no_plan_points_and_only_one_trial_per_plan(client: TestClient) -> None:
    plan(client, trial_days=14)
    member_id = member(client)
    for _ in range(3):
        membership = subscribe(client, member_id)
        client.post(f"/v1/memberships/{membership['id']}/cancel", json={"at_period_end": False})
    assert points(client, member_id) == 0


def test_the_same_charge_reported_under_two_keys_renews_once(client: TestClient) -> None:
    plan(client)
    member_id = member(client)
    membership_id = subscribe(client, member_id)["id"]
    first = pay(client, membership_id, "evt-1").json()
    again = client.post(f"/v1/memberships/{membership_id}/payments",
                        json={"status": "paid", "amount": "29.00", "currency": "SAR", "provider_ref": "pi_evt-1"})
    assert again.status_code == 200 and again.json()["id"] == first["id"]
    assert client.get(f"/v1/memberships/{membership_id}").json()["period_end"] == "2026-04-01T09:00:00Z"
    problem(client.post(f"/v1/memberships/{membership_id}/payments", json={"status": "paid", "amount": "29.00", "currency": "SAR"}),
            422, "/problems/invalid-input", "provider_ref")


def test_a_paid_retry_after_a_failed_attempt_with_the_same_reference_counts(client: TestClient) -> None:
    plan(client)
    member_id = member(client)
    membership_id = subscribe(client, member_id)["id"]
    body = {"amount": "29.00", "currency": "SAR", "provider_ref": "pi_9"}
    assert client.post(f"/v1/memberships/{membership_id}/payments", json={"status": "failed", **body}).status_code == 201
    paid = client.post(f"/v1/memberships/{membership_id}/payments", json={"status": "paid", **body})
    assert paid.status_code == 201 and paid.json()["membership"]["status"] == "active"


def test_billing_day_never_drifts_after_a_short_month(
    client: TestClient, clock: FrozenClock, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    plan(client)
    member_id = member(client)
    clock.advance(timedelta(days=30))  # 31 March
    membership_id = subscribe(client, member_id)["id"]
    assert pay(client, membership_id, "evt-1").json()["period_end"] == "2026-04-30T09:00:00Z"
    assert pay(client, membership_id, "evt-2").json()["period_end"] == "2026-05-31T09:00:00Z"


def test_paying_resumes_a_membership_set_to_end(client: TestClient) -> None:
    plan(client)
    member_id = member(client)
    membership_id = subscribe(client, member_id)["id"]
    pay(client, membership_id, "evt-1")
    client.post(f"/v1/memberships/{membership_id}/cancel", json={"at_period_end": True})
    resumed = pay(client, membership_id, "evt-2").json()["membership"]
    assert resumed["cancel_at_period_end"] is False and resumed["period_end"] == "2026-05-01T09:00:00Z"


def test_closing_a_member_ends_their_membership(client: TestClient) -> None:
    plan(client)
    member_id = member(client)
    membership_id = subscribe(client, member_id)["id"]
    pay(client, membership_id, "evt-1")
    client.post(f"/v1/members/{member_id}/close", json={"reason": "asked to leave"})
    assert client.get(f"/v1/memberships/{membership_id}").json()["status"] == "cancelled"
    problem(pay(client, membership_id, "evt-2"), 409, "/problems/conflict")


def test_unpaid_subscription_ends_after_a_week_and_frees_the_member(
    client: TestClient, clock: FrozenClock, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    plan(client)
    member_id = member(client)
    membership_id = subscribe(client, member_id)["id"]
    clock.advance(timedelta(days=8))
    run_due(factory, now=clock.now(), tenant_id=tenant.id)
    assert client.get(f"/v1/memberships/{membership_id}").json()["status"] == "cancelled"
    assert subscribe(client, member_id)["status"] == "incomplete"


def test_no_plan_points_for_a_month_left_unpaid(
    client: TestClient, clock: FrozenClock, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    plan(client)
    member_id = member(client)
    membership_id = subscribe(client, member_id)["id"]
    pay(client, membership_id, "evt-1")
    clock.advance(timedelta(days=31, hours=1))
    run_due(factory, now=clock.now(), tenant_id=tenant.id)  # past due: April is not paid
    clock.advance(timedelta(days=6))
    run_due(factory, now=clock.now(), tenant_id=tenant.id)
    assert client.get(f"/v1/memberships/{membership_id}").json()["status"] == "lapsed"
    assert points(client, member_id) == 100


def test_plan_multiplier_ten_reads_as_ten(client: TestClient) -> None:
    assert plan(client, benefits={"earn_multiplier": "10"})["benefits"]["earn_multiplier"] == "10"


def test_archived_plan_takes_no_new_members_but_its_members_renew(client: TestClient) -> None:
    made = plan(client)
    member_id = member(client)
    membership_id = subscribe(client, member_id)["id"]
    archived = client.patch(f"/v1/membership-plans/{made['id']}", json={"status": "archived", "name_en": "Noor Plus (old)"})
    assert archived.status_code == 200 and archived.json()["status"] == "archived"
    other = client.post("/v1/members", json={"external_id": "m-2"}).json()["id"]
    problem(client.post(f"/v1/members/{other}/memberships", json={"plan": "plus"}), 404, "/problems/not-found", "plan")
    assert pay(client, membership_id, "evt-1").json()["membership"]["status"] == "active"
    problem(client.patch("/v1/membership-plans/999999", json={"status": "archived"}), 404, "/problems/not-found")


def test_membership_history_lists_payments_and_what_happened(client: TestClient) -> None:
    plan(client)
    member_id = member(client)
    membership_id = subscribe(client, member_id)["id"]
    pay(client, membership_id, "evt-1", status="failed")
    pay(client, membership_id, "evt-2")
    history = client.get(f"/v1/memberships/{membership_id}/history").json()
    assert [(p["status"], p["amount"], p["provider_ref"]) for p in history["payments"]] == [
        ("paid", "29.00", "pi_evt-2"), ("failed", "29.00", "pi_evt-1"),
    ]
    assert [entry["type"] for entry in history["log"]] == ["points_granted", "activated", "payment_failed", "subscribed"]
    problem(client.get("/v1/memberships/999999/history"), 404, "/problems/not-found")
