"""Differential property (hypothesis, both databases): a member's streak runs extended purchase by
purchase from the stored row (the fast way) end exactly where recomputing them from the whole history
on every purchase ends: the same runs, longest run, milestones paid and revoked, and points."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from tests.conftest import START, make_member, make_tenant
from wafa.db import unit_of_work
from wafa.engagement import achievements
from wafa.engagement.models import AchievementAward, MemberStreak
from wafa.engagement.schemas import StreakIn
from wafa.events import returns as return_events
from wafa.events import service as events
from wafa.events.schemas import MemberRef, PurchaseIn, ReturnIn
from wafa.ledger import service as ledger

# Days forward from the last purchase (mostly small: runs grow), or back (a backdated purchase).
step_st = st.one_of(
    st.tuples(st.just("buy"), st.integers(0, 20), st.integers(0, 9_000)),
    st.tuples(st.just("buy"), st.integers(0, 20), st.integers(0, 9_000)),
    st.tuples(st.just("backdated"), st.integers(1, 60), st.integers(0, 9_000)),
    st.tuples(st.just("return"), st.integers(0, 40), st.integers(0, 1)),
)


def _program(factory, period: str):  # type: ignore[no-untyped-def]
    tenant = make_tenant(factory, START)
    with unit_of_work(factory) as session:
        achievements.create_streak(session, tenant_id=tenant.id, now=START, streak_in=StreakIn.model_validate({
            "key": "s", "name_en": "S", "name_ar": "س", "period": period, "min_amount": "20.00", "starts_at": START.isoformat(),
            "milestones": [{"length": 2, "points": 20}, {"length": 3, "points": 30}, {"length": 5, "points": 50}],
        }))
    return tenant, make_member(factory, tenant.id, START)


def _outcome(session, tenant_id: int, member_id: int) -> tuple:  # type: ignore[no-untyped-def]
    row = session.execute(select(MemberStreak).where(MemberStreak.tenant_id == tenant_id, MemberStreak.member_id == member_id)).scalar_one_or_none()
    awards = session.execute(
        select(AchievementAward.run, AchievementAward.milestone, AchievementAward.points, AchievementAward.revoked_at.is_(None))
        .where(AchievementAward.tenant_id == tenant_id, AchievementAward.member_id == member_id).order_by(AchievementAward.id)
    ).all()
    balances = ledger.balances(session, tenant_id=tenant_id, member_id=member_id)
    runs = None if row is None else (row.current, row.run_start, row.last_period, row.longest)
    return runs, [tuple(a) for a in awards], balances


@settings(deadline=None, suppress_health_check=list(HealthCheck), max_examples=10)
@given(steps=st.lists(step_st, min_size=1, max_size=12), period=st.sampled_from(["week", "month"]))
def test_extending_runs_equals_recomputing_them(factory, steps, period) -> None:  # type: ignore[no-untyped-def]
    fast, slow = _program(factory, period), _program(factory, period)
    now, orders = START, []
    for kind, days, value in steps:
        if kind == "buy":
            now += timedelta(days=days, hours=1)
            at = now
        elif kind == "backdated":
            at = max(START, now - timedelta(days=days))
        for (tenant, member_id), recompute in ((fast, False), (slow, True)):
            with unit_of_work(factory) as session:
                if recompute:  # forget what the runs were computed on: every purchase re-reads the history
                    session.execute(update(MemberStreak).where(MemberStreak.tenant_id == tenant.id).values(basis=None))
                if kind in ("buy", "backdated"):
                    events.record_purchase(session, tenant_id=tenant.id, request_hash="h", now=now, event_in=PurchaseIn(
                        type="purchase", member=MemberRef(id=member_id), order_id=f"O{len(orders)}", amount=f"{value / 100:.2f}",
                        currency="SAR", occurred_at=at,
                    ))
                elif orders:
                    order_id = orders[days % len(orders)]
                    purchase = events.get_purchase_or_raise(session, tenant_id=tenant.id, order_id=order_id)
                    left = purchase.amount - purchase.returned_amount
                    if left > 0:  # all that is left, or half of it
                        amount = None if value else f"{max(1, left // 2) / 100:.2f}"
                        return_events.record_return(session, tenant_id=tenant.id, now=now, event_in=ReturnIn(
                            type="return", order_id=order_id, amount=amount,
                        ))
        if kind in ("buy", "backdated"):
            orders.append(f"O{len(orders)}")
        with factory() as session:
            assert _outcome(session, fast[0].id, fast[1]) == _outcome(session, slow[0].id, slow[1]), (kind, days, value)
