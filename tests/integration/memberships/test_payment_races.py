"""Races on membership payments, on PostgreSQL, with real threads and real connections.

A payment provider retries: the same charge may be reported many times at once, under one
Idempotency-Key or under several keys that name the same provider reference. Whatever the
interleaving it is recorded once, adds one period, and grants the month's plan points once. A
payment racing a cancel ends in a state some order of the two explains.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import START, factory_for, make_member, make_tenant
from tests.integration.test_concurrency import outcomes, race, server  # noqa: F401  (server: a fixture)
from wafa.db import unit_of_work
from wafa.jobs.service import run_due
from wafa.ledger import service as ledger
from wafa.ledger.models import Entry
from wafa.ledger.verify import verify
from wafa.memberships import service as memberships
from wafa.memberships.models import Membership, MembershipLog, MembershipPayment
from wafa.memberships.schemas import PaymentIn, PlanBenefits, PlanIn

Factory = sessionmaker[Session]
pytestmark = pytest.mark.postgres_only

NOW = START  # 2026-03-01 09:00 UTC; the program's time zone is UTC
MONTHLY_POINTS = 100


@pytest.fixture
def pg(pg_url: str) -> Factory:
    return factory_for(pg_url)


def subscribed(factory: Factory) -> tuple[int, int, int]:
    """A tenant selling a 29.00 SAR monthly plan with 100 points a month, and an incomplete
    membership of a new member: (tenant, member, membership)."""
    tenant = make_tenant(factory, NOW)
    member_id = make_member(factory, tenant.id, NOW)
    with unit_of_work(factory) as session:
        memberships.create_plan(session, tenant_id=tenant.id, now=NOW, plan_in=PlanIn(
            key="plus", name_en="Plus", name_ar="بلس", interval="month", price="29.00", grace_days=5,
            benefits=PlanBenefits(monthly_points=MONTHLY_POINTS),
        ))
        membership_id = memberships.subscribe(session, tenant_id=tenant.id, member_id=member_id, plan_key="plus", now=NOW).id
    return tenant.id, member_id, membership_id


def another_member(factory: Factory, tenant_id: int) -> tuple[int, int]:
    member_id = make_member(factory, tenant_id, NOW)
    with unit_of_work(factory) as session:
        return member_id, memberships.subscribe(session, tenant_id=tenant_id, member_id=member_id, plan_key="plus", now=NOW).id


def pay(factory: Factory, tenant_id: int, membership_id: int, key: str, ref: str, now: datetime = NOW) -> tuple[int, bool]:
    """Report a paid 29.00 SAR; (payment id, replayed)."""
    payment_in = PaymentIn(status="paid", amount="29.00", currency="SAR", provider_ref=ref)
    with unit_of_work(factory) as session:
        payment, replayed = memberships.record_payment(
            session, tenant_id=tenant_id, membership_id=membership_id, key=key, payment_in=payment_in, now=now,
        )
        return payment.id, replayed


def cancel(factory: Factory, tenant_id: int, membership_id: int, at_period_end: bool, now: datetime = NOW) -> str:
    with unit_of_work(factory) as session:
        return memberships.cancel(session, tenant_id=tenant_id, membership_id=membership_id, at_period_end=at_period_end, now=now).status


def state(factory: Factory, tenant_id: int, membership_id: int) -> tuple[Membership, list[MembershipPayment], list[str]]:
    """The membership, its payments (oldest first) and its log's types (oldest first)."""
    with factory() as session:
        membership = memberships.get_or_raise(session, tenant_id=tenant_id, membership_id=membership_id)
        payments = session.execute(
            select(MembershipPayment).where(MembershipPayment.tenant_id == tenant_id, MembershipPayment.membership_id == membership_id)
            .order_by(MembershipPayment.id)
        ).scalars().all()
        log = session.execute(
            select(MembershipLog.type).where(MembershipLog.tenant_id == tenant_id, MembershipLog.membership_id == membership_id)
            .order_by(MembershipLog.id)
        ).scalars().all()
    return membership, list(payments), list(log)


def plan_points(factory: Factory, tenant_id: int, membership_id: int) -> list[str]:
    """Idempotency keys of the plan-points entries of a membership."""
    with factory() as session:
        return list(session.execute(
            select(Entry.idempotency_key).where(
                Entry.tenant_id == tenant_id, Entry.idempotency_key.like(f"membership:{membership_id}:points:%")
            ).order_by(Entry.id)
        ).scalars())


def points(factory: Factory, tenant_id: int, member_id: int) -> int:
    with factory() as session:
        balance = ledger.balances(session, tenant_id=tenant_id, member_id=member_id)
    return balance["available"] + balance["pending"]


def assert_ledger_intact(factory: Factory, tenant_id: int) -> None:
    with factory() as session:
        report = verify(session, tenant_id=tenant_id)
    assert report.ok, report.problems


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# --- one charge reported many times at once -----------------------------------------------------------


def test_eight_reports_under_one_key_record_the_payment_once(pg: Factory) -> None:
    tenant_id, member_id, membership_id = subscribed(pg)

    results = race(8, lambda i: pay(pg, tenant_id, membership_id, key="evt-1", ref="pi_1"))

    assert outcomes(results) == {"ok": 8}, results
    assert len({payment_id for payment_id, _ in results}) == 1
    assert sorted(replayed for _, replayed in results) == [False] + [True] * 7
    membership, payments, log = state(pg, tenant_id, membership_id)
    assert len(payments) == 1
    assert (membership.status, membership.period_start, membership.period_end) == ("active", NOW, at("2026-04-01T09:00:00"))
    assert log.count("activated") == 1 and "renewed" not in log
    assert plan_points(pg, tenant_id, membership_id) == [f"membership:{membership_id}:points:2026-03"]
    assert points(pg, tenant_id, member_id) == MONTHLY_POINTS
    assert_ledger_intact(pg, tenant_id)


@pytest.mark.parametrize("phase", ["first", "renewal"])
def test_eight_reports_of_one_charge_under_different_keys_record_it_once(pg: Factory, phase: str) -> None:
    tenant_id, member_id, membership_id = subscribed(pg)
    now = NOW
    if phase == "renewal":
        pay(pg, tenant_id, membership_id, key="evt-first", ref="pi_first")
        now = at("2026-04-01T09:00:00")
        run_due(pg, now=now, tenant_id=tenant_id)
        assert state(pg, tenant_id, membership_id)[0].status == "past_due"

    results = race(8, lambda i: pay(pg, tenant_id, membership_id, key=f"evt-{phase}-{i}", ref=f"pi_{phase}", now=now))

    assert outcomes(results) == {"ok": 8}, results
    assert len({payment_id for payment_id, _ in results}) == 1
    assert sorted(replayed for _, replayed in results) == [False] + [True] * 7
    membership, payments, log = state(pg, tenant_id, membership_id)
    months = ["2026-03"] if phase == "first" else ["2026-03", "2026-04"]
    assert len(payments) == len(months)
    # One period added: a renewal continues from the period that fell due, on the same day of the month.
    end = at("2026-04-01T09:00:00") if phase == "first" else at("2026-05-01T09:00:00")
    assert (membership.status, membership.period_end, membership.due_at) == ("active", end, end)
    assert log.count("activated") == 1 and log.count("renewed") == (phase == "renewal")
    assert plan_points(pg, tenant_id, membership_id) == [f"membership:{membership_id}:points:{m}" for m in months]
    assert points(pg, tenant_id, member_id) == MONTHLY_POINTS * len(months)
    assert_ledger_intact(pg, tenant_id)


def test_eight_posts_under_one_idempotency_key_over_http_pay_once(pg: Factory, server: str) -> None:  # noqa: F811
    tenant_id, member_id, membership_id = subscribed(pg)
    with unit_of_work(pg) as session:
        from wafa.tenants import service as tenants

        secret = tenants.create_key(session, tenant_id=tenant_id, name="shop", scopes=["members:write", "read"], now=NOW).secret
    headers = {"Authorization": f"Bearer {secret}", "Idempotency-Key": "provider-evt-42"}
    body = {"status": "paid", "amount": "29.00", "currency": "SAR", "provider_ref": "pi_42"}

    def post(_: int) -> tuple[int, dict[str, Any]]:
        with httpx.Client(base_url=server, timeout=60) as http:
            response = http.post(f"/v1/memberships/{membership_id}/payments", json=body, headers=headers)
        return response.status_code, response.json()

    results = race(8, post)

    assert not [r for r in results if isinstance(r, Exception)], results
    assert {status for status, _ in results} == {201}, results
    assert all(answer == results[0][1] for _, answer in results)  # the first answer, replayed
    assert results[0][1]["membership"]["status"] == "active"
    _, payments, log = state(pg, tenant_id, membership_id)
    assert [p.id for p in payments] == [results[0][1]["id"]]
    assert log.count("activated") == 1
    assert points(pg, tenant_id, member_id) == MONTHLY_POINTS
    assert_ledger_intact(pg, tenant_id)


# --- a payment racing a cancel --------------------------------------------------------------------------


def test_a_first_payment_racing_a_cancel_now_is_recorded_only_if_it_came_first(pg: Factory) -> None:
    tenant_id, _, _ = subscribed(pg)
    for round_ in range(10):
        member_id, membership_id = another_member(pg, tenant_id)

        def work(i: int, membership_id: int = membership_id, round_: int = round_) -> Any:
            if i == 0:
                return pay(pg, tenant_id, membership_id, key=f"evt-{round_}", ref=f"pi_{round_}")
            return cancel(pg, tenant_id, membership_id, at_period_end=False)

        paid, cancelled = race(2, work)

        assert cancelled == "cancelled", cancelled
        membership, payments, log = state(pg, tenant_id, membership_id)
        assert membership.status == "cancelled" and membership.ended_at == NOW and membership.due_at is None
        if isinstance(paid, Exception):
            # The cancel came first: a cancelled membership takes no payment, and gave nothing.
            assert type(paid).__name__ == "Conflict" and paid.extra["membership_status"] == "cancelled", paid
            assert payments == [] and log == ["subscribed", "cancelled"]
            assert points(pg, tenant_id, member_id) == 0
        else:
            # The payment came first: recorded, then the membership ended.
            assert [p.id for p in payments] == [paid[0]]
            assert log == ["subscribed", "activated", "points_granted", "cancelled"]
            assert points(pg, tenant_id, member_id) == MONTHLY_POINTS
    assert_ledger_intact(pg, tenant_id)


def test_a_renewal_racing_a_cancel_at_period_end_ends_as_the_later_one_says(pg: Factory) -> None:
    tenant_id, _, _ = subscribed(pg)
    for round_ in range(10):
        member_id, membership_id = another_member(pg, tenant_id)
        pay(pg, tenant_id, membership_id, key=f"first-{round_}", ref=f"pi_first_{round_}")
        now = NOW + timedelta(days=20)  # renewing early: the new period follows the paid one

        def work(i: int, membership_id: int = membership_id, round_: int = round_, now: datetime = now) -> Any:
            if i == 0:
                return pay(pg, tenant_id, membership_id, key=f"renew-{round_}", ref=f"pi_renew_{round_}", now=now)
            return cancel(pg, tenant_id, membership_id, at_period_end=True, now=now)

        results = race(2, work)

        assert outcomes(results) == {"ok": 2}, results
        membership, payments, log = state(pg, tenant_id, membership_id)
        assert len(payments) == 2 and membership.status == "active"
        assert membership.period_end == at("2026-05-01T09:00:00")  # one period added, not two
        if log[-1] == "cancel_scheduled":
            # The cancel came last: the member keeps the paid months, then it ends.
            assert log[-2:] == ["renewed", "cancel_scheduled"] and membership.cancel_at_period_end
        else:
            # The payment came last: paying again resumes a membership set to end.
            assert log[-2:] == ["cancel_scheduled", "resumed"] and not membership.cancel_at_period_end
        assert points(pg, tenant_id, member_id) == MONTHLY_POINTS  # March's, once: the renewal was paid in March
    assert_ledger_intact(pg, tenant_id)


# --- a payment beside the worker's monthly grant ---------------------------------------------------------


def test_an_early_renewal_paid_while_the_worker_grants_the_month_is_recorded_and_the_month_paid_once(
    pg: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker grants April's plan points to a membership in force on 1 April while the member
    renews early, which grants April's points too. The worker has written its entry (not yet
    committed) when the payment arrives; the payment must still be recorded, and April paid once."""
    tenant_id, member_id, membership_id = subscribed(pg)
    pay(pg, tenant_id, membership_id, key="first", ref="pi_first", now=at("2026-03-20T09:00:00"))  # to 20 April
    april = at("2026-04-01T09:00:00")
    credit = ledger.credit
    paused, go = threading.Event(), threading.Event()

    def worker_pauses_after_its_grant(session: Session, **kw: Any) -> Any:
        done = credit(session, **kw)
        if threading.current_thread().name == "worker":
            paused.set()
            assert go.wait(timeout=30)
        return done

    monkeypatch.setattr(ledger, "credit", worker_pauses_after_its_grant)
    outcome: dict[str, Any] = {}

    def run(name: str, work: Any) -> None:
        try:
            outcome[name] = work()
        except Exception as exc:  # noqa: BLE001  the outcome under test
            outcome[name] = exc

    worker = threading.Thread(name="worker", target=run, args=("worker", lambda: run_due(pg, now=april, tenant_id=tenant_id)))
    worker.start()
    assert paused.wait(timeout=30), outcome
    payer = threading.Thread(target=run, args=("payment", lambda: pay(pg, tenant_id, membership_id, key="renew", ref="pi_renew", now=april)))
    payer.start()
    try:
        assert wait_for_a_lock_wait(pg), "the payment never waited on the worker"
    finally:
        go.set()
    worker.join(timeout=60)
    payer.join(timeout=60)

    assert not isinstance(outcome["worker"], Exception), outcome
    assert not isinstance(outcome["payment"], Exception), outcome  # a good payment is not refused
    membership, payments, _ = state(pg, tenant_id, membership_id)
    assert len(payments) == 2 and membership.period_end == at("2026-05-20T09:00:00")
    assert plan_points(pg, tenant_id, membership_id) == [
        f"membership:{membership_id}:points:2026-03", f"membership:{membership_id}:points:2026-04",
    ]
    assert points(pg, tenant_id, member_id) == 2 * MONTHLY_POINTS
    assert_ledger_intact(pg, tenant_id)


def wait_for_a_lock_wait(factory: Factory, seconds: float = 10) -> bool:
    """Whether some backend of this test database is waiting on a lock within `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with factory() as session:
            waiting = session.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )).scalar_one()
        if waiting:
            return True
        time.sleep(0.02)
    return False
