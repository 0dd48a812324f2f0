"""Property (hypothesis, both databases): whatever purchases (backdated up to a year, at any hour),
partial and whole returns, tier welcome points and days passing, the running totals kept per member and
day always equal a recomputation from the ledger and the orders, and any window read from them (whole
days from the totals, part-days from the history) equals the same window summed over the history."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from tests.conftest import START, make_member, make_tenant
from wafa.db import unit_of_work
from wafa.events import purchase_totals
from wafa.events import returns as return_events
from wafa.events import service as events
from wafa.events.models import Event
from wafa.events.schemas import MemberRef, PurchaseIn, ReturnIn
from wafa.ledger import earned
from wafa.ledger import service as ledger
from wafa.ledger.models import Entry, Posting
from wafa.rules import service as rules
from wafa.rules.schemas import RuleDefinition
from wafa.tiers import service as tiers
from wafa.tiers.schemas import TierIn

buy = st.tuples(st.just("buy"), st.integers(-400, 0), st.integers(0, 23 * 60 + 59), st.integers(0, 40_000), st.integers(0, 5).map(lambda n: n == 0))
give_back = st.tuples(st.just("return"), st.integers(0, 30), st.integers(0, 40_000))
wait = st.tuples(st.just("wait"), st.integers(0, 3), st.integers(0, 23 * 60))
steps_st = st.lists(st.one_of(buy, buy, give_back, wait), min_size=1, max_size=14)
# A window: whole days or not, open-ended or not (minutes from a year before the start).
minutes_st = st.one_of(st.integers(0, 500 * 24 * 60), st.integers(0, 500).map(lambda days: days * 24 * 60))
window_st = st.tuples(minutes_st, st.one_of(st.none(), minutes_st))


def _issued_from_history(session, tenant_id: int, member_id: int, since: datetime, until: datetime | None) -> int:  # type: ignore[no-untyped-def]
    """Points earned in [since, until) summed over every entry (the query the totals replaced)."""
    issued = ledger.program_accounts(session, tenant_id=tenant_id)["issued"]
    credited = aliased(Entry)
    when = func.coalesce(credited.created_at, Entry.created_at)
    query = (
        select(func.coalesce(func.sum(Posting.amount), 0)).select_from(Entry).join(Posting, Posting.entry_id == Entry.id)
        .outerjoin(credited, credited.id == Entry.reverses_entry_id)
        .where(Entry.tenant_id == tenant_id, Entry.member_id == member_id, when >= since, Posting.account_id == issued,
               ~Entry.idempotency_key.startswith("tier-welcome:"))
    )
    if until is not None:
        query = query.where(when < until)
    return -int(session.execute(query).scalar_one())


def _purchases_from_history(session, tenant_id: int, member_id: int, since: datetime, until: datetime | None) -> list:  # type: ignore[no-untyped-def]
    kept = Event.amount - Event.returned_amount
    query = select(Event.currency, func.sum(kept), func.count()).where(
        Event.tenant_id == tenant_id, Event.member_id == member_id, Event.type == "purchase", (kept > 0) | (Event.amount == 0),
        Event.occurred_at >= since,
    ).group_by(Event.currency)
    if until is not None:
        query = query.where(Event.occurred_at < until)
    return sorted((c or "", int(m), int(n)) for c, m, n in session.execute(query))


@settings(deadline=None, suppress_health_check=list(HealthCheck), max_examples=25)
@given(steps=steps_st, windows=st.lists(window_st, min_size=1, max_size=4), with_rules=st.booleans())
def test_running_totals_equal_a_recomputation_from_history(factory, steps, windows, with_rules) -> None:  # type: ignore[no-untyped-def]
    now = START
    # With a rule and tiers, purchases take the slow path (and tiers give welcome points, which do not
    # count); without, PostgreSQL records them in one statement.
    tenant = make_tenant(factory, now, pending_days=7)
    if with_rules:
        with unit_of_work(factory) as session:
            spec = RuleDefinition.model_validate(
                {"name_en": "Double", "name_ar": "ق", "trigger": "purchase", "actions": [{"type": "multiplier", "factor": "2"}]}
            )
            rules.create(session, tenant_id=tenant.id, definition=spec, status="active", now=now)
            for rank, threshold in ((1, "50"), (2, "400")):
                tiers.create(session, tenant_id=tenant.id, now=now, tier_in=TierIn(
                    key=f"t{rank}", name_en=f"T{rank}", name_ar="ف", rank=rank, threshold=threshold,
                    benefits={"welcome_points": 25 * rank},  # type: ignore[arg-type]
                ))
    member_id = make_member(factory, tenant.id, now - timedelta(days=500))
    orders: list[str] = []
    for step in steps:
        with unit_of_work(factory) as session:
            if step[0] == "buy":
                _, days, minutes, cents, nameless = step
                order_id = f"O{len(orders)}"
                at = now + timedelta(days=days) - timedelta(minutes=minutes)
                events.record_purchase(session, tenant_id=tenant.id, request_hash=order_id, now=now, event_in=PurchaseIn(
                    type="purchase", member=None if nameless else MemberRef(id=member_id), order_id=order_id,
                    amount=f"{cents / 100:.2f}", currency="SAR", occurred_at=max(at, now - timedelta(days=400)),
                ))
                orders.append(order_id)
            elif step[0] == "return" and orders:
                _, which, cents = step
                order_id = orders[which % len(orders)]
                purchase = events.get_purchase_or_raise(session, tenant_id=tenant.id, order_id=order_id)
                left = purchase.amount - purchase.returned_amount
                if left > 0:
                    amount = None if cents % 3 == 0 else f"{min(left, max(1, cents % left or 1)) / 100:.2f}"
                    return_events.record_return(
                        session, tenant_id=tenant.id, now=max(now, purchase.occurred_at),
                        event_in=ReturnIn(type="return", order_id=order_id, amount=amount),
                    )
            elif step[0] == "wait":
                now += timedelta(days=step[1], minutes=step[2])

    with factory() as session:
        assert earned.differences(session, tenant_id=tenant.id) == []
        assert purchase_totals.differences(session, tenant_id=tenant.id) == []
        origin = earned.midnight((START - timedelta(days=420)).date())
        for start, end in windows:
            since = origin + timedelta(minutes=start)
            until = None if end is None else since + timedelta(minutes=end)
            assert earned.issued_since(
                session, tenant_id=tenant.id, member_id=member_id, since=since, until=until,
                issued_account_id=ledger.program_accounts(session, tenant_id=tenant.id)["issued"],
            ) == _issued_from_history(session, tenant.id, member_id, since, until), (since, until)
            assert sorted(purchase_totals.totals(session, tenant_id=tenant.id, member_id=member_id, since=since, until=until)) == (
                _purchases_from_history(session, tenant.id, member_id, since, until)
            ), (since, until)
