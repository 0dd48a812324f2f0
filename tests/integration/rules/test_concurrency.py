"""Rule budgets and caps under concurrent load, on PostgreSQL, with real threads and connections.

A budget of 10,000 points must never be exceeded whatever the load, and must be spent exactly to
the point when demand exceeds it; a member's daily cap holds against that member's own parallel
purchases; returns racing purchases give budget back without double counting.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import START, factory_for, make_member, make_tenant
from tests.integration.test_concurrency import race
from wafa.clock import FrozenClock
from wafa.db import unit_of_work
from wafa.events import returns
from wafa.events import service as events
from wafa.events.schemas import MemberRef, PurchaseIn, ReturnIn
from wafa.ledger.verify import verify
from wafa.rules import service as rules
from wafa.rules.models import RuleAward, RuleBudget
from wafa.rules.schemas import RuleDefinition

Factory = sessionmaker[Session]
pytestmark = pytest.mark.postgres_only


@pytest.fixture
def pg(pg_url: str) -> Factory:
    return factory_for(pg_url)


def add_rule(factory: Factory, tenant_id: int, now, **definition: Any) -> int:  # type: ignore[no-untyped-def]
    spec = RuleDefinition.model_validate({"name_en": "Budgeted", "name_ar": "بميزانية", "trigger": "purchase", **definition})
    with unit_of_work(factory) as session:
        rule, _ = rules.create(session, tenant_id=tenant_id, definition=spec, status="active", now=now)
    return rule.id


def purchase(factory: Factory, tenant_id: int, member_id: int, order_id: str, amount: str, now) -> Any:  # type: ignore[no-untyped-def]
    event_in = PurchaseIn(type="purchase", member=MemberRef(id=member_id), order_id=order_id, amount=amount, currency="SAR")
    with unit_of_work(factory) as session:
        result, _ = events.record_purchase(session, tenant_id=tenant_id, event_in=event_in, request_hash=order_id, now=now)
    return result


def test_budget_of_ten_thousand_is_never_exceeded(pg: Factory) -> None:
    clock = FrozenClock(START)
    tenant = make_tenant(pg, clock.now())
    rule_id = add_rule(pg, tenant.id, clock.now(), actions=[{"type": "points_per_unit", "points": "1"}], caps={"budget_points": 10_000})
    member_ids = [make_member(pg, tenant.id, clock.now()) for _ in range(12)]
    # 48 purchases of 300 points each want 14,400: more than the budget, from 12 members at once.
    results = race(48, lambda i: purchase(pg, tenant.id, member_ids[i % 12], f"B-{i}", "300.00", clock.now()))
    assert not [r for r in results if isinstance(r, Exception)]
    given = sum(award.points for r in results for award in r.rules)
    assert given == 10_000
    with pg() as session:
        used = session.execute(select(RuleBudget.points_used).where(RuleBudget.rule_id == rule_id)).scalar_one()
        kept = session.execute(select(func.sum(RuleAward.points_kept)).where(RuleAward.rule_id == rule_id)).scalar_one()
        assert used == kept == 10_000
        assert verify(session, tenant_id=tenant.id).ok


def test_returns_racing_purchases_keep_the_budget_exact(pg: Factory) -> None:
    clock = FrozenClock(START)
    tenant = make_tenant(pg, clock.now())
    rule_id = add_rule(pg, tenant.id, clock.now(), actions=[{"type": "fixed_points", "points": 100}], caps={"budget_points": 1_000})
    member_ids = [make_member(pg, tenant.id, clock.now()) for _ in range(10)]
    for i in range(10):
        purchase(pg, tenant.id, member_ids[i], f"first-{i}", "1.00", clock.now())

    def work(i: int) -> Any:
        if i < 10:  # give back the first ten orders
            with unit_of_work(pg) as session:
                return returns.record_return(session, tenant_id=tenant.id, event_in=ReturnIn(type="return", order_id=f"first-{i}"), now=clock.now())
        return purchase(pg, tenant.id, member_ids[i % 10], f"second-{i}", "1.00", clock.now())

    results = race(25, work)
    assert not [r for r in results if isinstance(r, Exception)]
    with pg() as session:
        used = session.execute(select(RuleBudget.points_used).where(RuleBudget.rule_id == rule_id)).scalar_one()
        kept = session.execute(select(func.sum(RuleAward.points_kept)).where(RuleAward.rule_id == rule_id)).scalar_one()
        assert used == kept <= 1_000
        assert verify(session, tenant_id=tenant.id).ok


def test_a_members_daily_cap_holds_against_their_own_parallel_purchases(pg: Factory) -> None:
    clock = FrozenClock(START)
    tenant = make_tenant(pg, clock.now())
    add_rule(pg, tenant.id, clock.now(), actions=[{"type": "fixed_points", "points": 40}], caps={"per_member_day": 100})
    member_id = make_member(pg, tenant.id, clock.now())
    # Half a riyal earns no base points, so nothing but the cap logic orders these purchases.
    results = race(10, lambda i: purchase(pg, tenant.id, member_id, f"C-{i}", "0.50", clock.now()))
    assert not [r for r in results if isinstance(r, Exception)]
    assert sum(award.points for r in results for award in r.rules) == 100


def test_returns_and_purchases_of_one_member_do_not_deadlock(pg: Factory) -> None:
    # A return whose base clawback rounds to nothing still takes the member's locks first, so it
    # cannot meet a purchase of the same member in the opposite order (wallet and budget rows).
    clock = FrozenClock(START)
    tenant = make_tenant(pg, clock.now())
    add_rule(pg, tenant.id, clock.now(), actions=[{"type": "cashback", "percent": "5"}], caps={"budget_money": "100000.00"}, priority=10)
    add_rule(pg, tenant.id, clock.now(), conditions=[{"type": "order_amount", "at_least": "100.00"}],
             actions=[{"type": "fixed_points", "points": 50}], caps={"budget_points": 100_000})
    member_id = make_member(pg, tenant.id, clock.now())
    for i in range(8):
        purchase(pg, tenant.id, member_id, f"big-{i}", "100.00", clock.now())

    for round_ in range(3):
        def work(i: int, round_: int = round_) -> Any:
            if i % 2 == 0:
                with unit_of_work(pg) as session:
                    return returns.record_return(
                        session, tenant_id=tenant.id, now=clock.now(),
                        event_in=ReturnIn(type="return", order_id=f"big-{i // 2}", amount="0.10"),
                    )
            return purchase(pg, tenant.id, member_id, f"more-{round_}-{i}", "100.00", clock.now())

        results = race(16, work)
        assert not [r for r in results if isinstance(r, Exception)], results
    with pg() as session:
        assert verify(session, tenant_id=tenant.id).ok
