"""Property (hypothesis, both databases): whatever purchases (backdated up to a year, at any hour, with
or without categorised lines), partial and whole returns (of money or of lines), tier welcome points
and days passing, the running totals kept per member and day (and per category) always equal a
recomputation from the ledger and the orders, and any window read from them (whole days from the
totals, part-days from the history) equals the same window summed over the history."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from tests.conftest import START, make_member, make_tenant
from wafa import day_windows
from wafa.db import unit_of_work
from wafa.engagement import goals
from wafa.events import category_totals, purchase_history, purchase_totals
from wafa.events import returns as return_events
from wafa.events import service as events
from wafa.events.models import Event
from wafa.events.schemas import Item, MemberRef, PurchaseIn, ReturnIn, ReturnItem
from wafa.ledger import earned
from wafa.ledger import service as ledger
from wafa.ledger.models import Entry, Posting
from wafa.programs import service as programs
from wafa.rules import service as rules
from wafa.rules.schemas import RuleDefinition
from wafa.tiers import service as tiers
from wafa.tiers.schemas import TierIn

# Lines: (sku, category or none, quantity, unit price in halalas); an order's amount is what was paid.
line_st = st.tuples(st.sampled_from(["a", "b", "c", "d"]), st.sampled_from([None, "coffee", "tea", "cake"]), st.integers(1, 3), st.integers(0, 9_000))
lines_st = st.one_of(st.none(), st.lists(line_st, min_size=1, max_size=4, unique_by=lambda line: line[0]))
buy = st.tuples(
    st.just("buy"), st.integers(-400, 0), st.integers(0, 23 * 60 + 59), st.integers(0, 40_000), st.integers(0, 5).map(lambda n: n == 0),
    lines_st,
)
give_back = st.tuples(st.just("return"), st.integers(0, 30), st.integers(0, 40_000), st.sampled_from([None, "a", "b", "c", "d"]))
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


GOALS = [
    {"metric": metric, "target": 1, "category": category, "min_amount": min_amount}
    for metric in ("purchases", "spend", "categories") for category in (None, "coffee") for min_amount in (None, 5000)
]


def _categories_from_history(session, tenant_id: int, member_id: int, since: datetime, until: datetime | None) -> list:  # type: ignore[no-untyped-def]
    """(currency, category, money kept on its lines, orders holding one), summed over every kept order's lines."""
    sums: dict[tuple[str, str], list[int]] = {}
    for purchase in purchase_history.kept_purchases(session, tenant_id=tenant_id, member_id=member_id, since=since, until=until):
        for category in {line["category"] for line in purchase.lines if line.get("category")}:
            found = sums.setdefault((purchase.currency, category), [0, 0])
            found[0] += purchase.in_category(category)
            found[1] += 1
    return [(currency, category, kept, orders) for (currency, category), (kept, orders) in sorted(sums.items())]


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
                _, days, minutes, cents, nameless, lines = step
                order_id = f"O{len(orders)}"
                at = now + timedelta(days=days) - timedelta(minutes=minutes)
                items = None if lines is None else [
                    Item(sku=sku, category=category, quantity=quantity, unit_price=f"{price / 100:.2f}")  # type: ignore[arg-type]
                    for sku, category, quantity, price in lines
                ]
                events.record_purchase(session, tenant_id=tenant.id, request_hash=order_id, now=now, event_in=PurchaseIn(
                    type="purchase", member=None if nameless else MemberRef(id=member_id), order_id=order_id,
                    amount=f"{cents / 100:.2f}", currency="SAR", occurred_at=max(at, now - timedelta(days=400)), items=items,
                ))
                orders.append(order_id)
            elif step[0] == "return" and orders:
                _, which, cents, sku = step
                order_id = orders[which % len(orders)]
                purchase = events.get_purchase_or_raise(session, tenant_id=tenant.id, order_id=order_id)
                left = purchase.amount - purchase.returned_amount
                bought = sum(line["quantity"] for line in purchase.items or () if line["sku"] == sku)
                if sku is not None and bought > (purchase.returned_items or {}).get(sku, 0) and left > 0:
                    # One of the line's units back: the money follows by list price.
                    return_events.record_return(
                        session, tenant_id=tenant.id, now=max(now, purchase.occurred_at),
                        event_in=ReturnIn(type="return", order_id=order_id, items=[ReturnItem(sku=sku, quantity=1)]),
                    )
                elif left > 0:
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
        assert category_totals.differences(session, tenant_id=tenant.id) == []
        origin = day_windows.midnight((START - timedelta(days=420)).date())
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
            assert category_totals.totals(session, tenant_id=tenant.id, member_id=member_id, since=since, until=until) == (
                _categories_from_history(session, tenant.id, member_id, since, until)
            ), (since, until)
            # Every goal a badge or challenge can set reads the same from the totals as from the orders.
            program = programs.get(session, tenant_id=tenant.id)
            read_all = goals.History(session, tenant_id=tenant.id, member_id=member_id)
            read_all.purchases(None, None)
            for goal in GOALS:
                assert goals.measure(
                    session, tenant_id=tenant.id, member_id=member_id, goal=goal, program=program, since=since, until=until,
                ) == goals.measure(
                    session, tenant_id=tenant.id, member_id=member_id, goal=goal, program=program, since=since, until=until,
                    history=read_all,
                ), (goal, since, until)
