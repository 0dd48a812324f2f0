"""Figures read off the tenant's events for KPIs, charts and exports: a period's purchase figures, spans
over time, revenue around enrolment, cohort months, and every purchase as a flat record. Aggregated in
the database; reads only the events' own tables (and members' enrolment dates)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, literal, select
from sqlalchemy.orm import Session

from wafa.db import bucket_of
from wafa.events.models import Event
from wafa.members.models import Member
from wafa.money import to_major


def export_rows(session: Session, *, tenant_id: int) -> Iterator[dict]:
    """Every purchase of the tenant as a flat record (money in major units), in id order, streamed."""
    columns = (Event.id, Event.order_id, Event.member_id, Event.occurred_at, Event.currency, Event.amount, Event.returned_amount,
               Event.points, Event.points_reversed, Event.channel, Event.store, Event.received_at)
    query = (select(*columns).where(Event.tenant_id == tenant_id, Event.type == "purchase").order_by(Event.id)
             .execution_options(yield_per=5000))
    for row in session.execute(query):
        record = dict(row._mapping)
        currency = record["currency"] or "XXX"
        record["amount"] = to_major(record["amount"], currency)
        record["returned_amount"] = to_major(record["returned_amount"], currency)
        yield record


def purchase_months(session: Session, *, tenant_id: int, start: datetime, end: datetime, timezone: str) -> set[tuple[int, str]]:
    """(member, local month "YYYY-MM") pairs with a kept purchase in [start, end): for cohort retention."""
    kept = Event.amount - Event.returned_amount
    where = (Event.tenant_id == tenant_id, Event.type == "purchase", Event.member_id.is_not(None), Event.occurred_at >= start,
             Event.occurred_at < end, kept > 0)
    if session.get_bind().dialect.name == "postgresql":
        month = func.to_char(func.timezone(timezone, Event.occurred_at), "YYYY-MM")
        return {(int(m), str(mo)) for m, mo in session.execute(select(Event.member_id, month).where(*where).distinct())}
    zone = ZoneInfo(timezone)
    rows = session.execute(select(Event.member_id, Event.occurred_at).where(*where))
    return {(int(m), at.astimezone(zone).strftime("%Y-%m")) for m, at in rows}  # type: ignore[arg-type]  # no NULL members


def _in_base(money: Any, factors: dict[str, Decimal], base_currency: str) -> Any:
    """SQL: money in the base currency's minor units (factors: minor units of base per minor unit of each currency)."""
    others = [(Event.currency == currency, money * literal(float(factor))) for currency, factor in factors.items() if currency != base_currency]
    if not others:
        return case((Event.currency == base_currency, money), else_=0)
    return case((Event.currency == base_currency, money), *others, else_=0)


def period_figures(
    session: Session, *, tenant_id: int, start: datetime, end: datetime, previous_start: datetime, factors: dict[str, Decimal],
    base_currency: str,
) -> dict[str, float]:
    """A period's purchase figures in one scan of it and the period before (`previous_start` to `start`),
    aggregated in the database: members' and non-members' orders and revenue (kept, base currency), active
    and repeat members, the revenue of the top fifth of members, and the previous period's active members
    and how many of them bought again."""
    kept = Event.amount - Event.returned_amount
    value = _in_base(kept, factors, base_currency)
    now_ = Event.occurred_at >= start
    per = (
        select(
            Event.member_id.label("member_id"),
            func.sum(case((now_, 1), else_=0)).label("orders"),
            func.sum(case((now_, value), else_=0)).label("revenue"),
            func.max(case((now_, 0), else_=1)).label("before"),
        )
        .where(Event.tenant_id == tenant_id, Event.type == "purchase", Event.occurred_at >= previous_start, Event.occurred_at < end,
               (kept > 0) | (Event.amount == 0))
        .group_by(Event.member_id)
        .subquery()
    )
    member = per.c.member_id.is_not(None)
    active = member & (per.c.orders > 0)
    ranked = select(
        per.c.member_id, per.c.orders, per.c.revenue, per.c.before,
        func.row_number().over(partition_by=active, order_by=per.c.revenue.desc()).label("rank"),
        func.count().over(partition_by=active).label("ranked"),
    ).subquery()
    r = ranked.c
    r_active = r.member_id.is_not(None) & (r.orders > 0)
    row = session.execute(select(
        func.coalesce(func.sum(case((r_active, 1), else_=0)), 0),
        func.coalesce(func.sum(case((r_active & (r.orders >= 2), 1), else_=0)), 0),
        func.coalesce(func.sum(case((r_active, r.orders), else_=0)), 0),
        func.coalesce(func.sum(case((r_active, r.revenue), else_=0)), 0),
        func.coalesce(func.sum(case((r.member_id.is_(None), r.orders), else_=0)), 0),
        func.coalesce(func.sum(case((r.member_id.is_(None), r.revenue), else_=0)), 0),
        # The top fifth, rounded up: rank <= ceil(n / 5), i.e. 5 * rank <= n + 4.
        func.coalesce(func.sum(case((r_active & (r.rank * 5 <= r.ranked + 4), r.revenue), else_=0)), 0),
        func.coalesce(func.sum(case((r.member_id.is_not(None) & (r.before == 1), 1), else_=0)), 0),
        func.coalesce(func.sum(case((r_active & (r.before == 1), 1), else_=0)), 0),
    )).one()
    names = ("active", "repeaters", "member_orders", "member_revenue", "guest_orders", "guest_revenue", "top_revenue",
             "previously_active", "retained")
    return {name: float(v) for name, v in zip(names, row, strict=True)}


def bucket_figures(
    session: Session, *, tenant_id: int, edges: list[datetime], factors: dict[str, Decimal], base_currency: str,
) -> list[dict[str, float]]:
    """Per span between consecutive `edges`, in one scan: active members, and members' and non-members'
    kept revenue (base currency, minor units). The dashboard's charts over time."""
    kept = Event.amount - Event.returned_amount
    spans = (
        select(
            bucket_of(Event.occurred_at, edges).label("bucket"), Event.member_id.label("member_id"),
            _in_base(kept, factors, base_currency).label("value"),
        )
        .where(Event.tenant_id == tenant_id, Event.type == "purchase", Event.occurred_at >= edges[0], Event.occurred_at < edges[-1],
               (kept > 0) | (Event.amount == 0))
        .subquery()
    )
    out = [{"active": 0.0, "member_revenue": 0.0, "guest_revenue": 0.0} for _ in edges[1:]]
    for bucket, active, member_revenue, guest_revenue in session.execute(
        select(
            spans.c.bucket, func.count(func.distinct(spans.c.member_id)),
            func.coalesce(func.sum(case((spans.c.member_id.is_not(None), spans.c.value), else_=0)), 0),
            func.coalesce(func.sum(case((spans.c.member_id.is_(None), spans.c.value), else_=0)), 0),
        ).where(spans.c.bucket.is_not(None)).group_by(spans.c.bucket)
    ):
        out[int(bucket)] = {"active": float(active), "member_revenue": float(member_revenue), "guest_revenue": float(guest_revenue)}
    return out


def enrolment_figures(
    session: Session, *, tenant_id: int, cutoffs: list[datetime], factors: dict[str, Decimal], base_currency: str,
) -> dict[datetime, dict[str, float]]:
    """Members' purchases up to each cut-off, in one scan: their revenue and how many bought (historic CLV),
    and, among members with orders both before enrolment and after, orders and revenue on each side."""
    kept = Event.amount - Event.returned_amount
    value = _in_base(kept, factors, base_currency)
    before = Event.occurred_at < Member.enrolled_at
    columns = []
    for k, cutoff in enumerate(cutoffs):
        upto = Event.occurred_at < cutoff
        columns += [
            func.sum(case((upto, value), else_=0)).label(f"revenue_{k}"),
            func.sum(case((upto & before, 1), else_=0)).label(f"orders_before_{k}"),
            func.sum(case((upto & before, value), else_=0)).label(f"revenue_before_{k}"),
            func.sum(case((upto & ~before, 1), else_=0)).label(f"orders_after_{k}"),
            func.sum(case((upto & ~before, value), else_=0)).label(f"revenue_after_{k}"),
            func.sum(case((upto, 1), else_=0)).label(f"orders_{k}"),
        ]
    per = (
        select(*columns)
        .join(Member, Member.id == Event.member_id)
        .where(Event.tenant_id == tenant_id, Event.type == "purchase", Event.member_id.is_not(None), Event.occurred_at < max(cutoffs),
               kept > 0)
        .group_by(Event.member_id)
        .subquery()
    )
    outer = []
    for k in range(len(cutoffs)):
        c = per.c
        both = (c[f"orders_before_{k}"] > 0) & (c[f"orders_after_{k}"] > 0)
        outer += [
            func.coalesce(func.sum(c[f"revenue_{k}"]), 0), func.coalesce(func.sum(case((c[f"orders_{k}"] > 0, 1), else_=0)), 0),
            func.coalesce(func.sum(case((both, 1), else_=0)), 0),
            func.coalesce(func.sum(case((both, c[f"orders_before_{k}"]), else_=0)), 0),
            func.coalesce(func.sum(case((both, c[f"revenue_before_{k}"]), else_=0)), 0),
            func.coalesce(func.sum(case((both, c[f"orders_after_{k}"]), else_=0)), 0),
            func.coalesce(func.sum(case((both, c[f"revenue_after_{k}"]), else_=0)), 0),
        ]
    row = session.execute(select(*outer)).one()
    names = ("lifetime_revenue", "buyers", "both", "orders_before", "revenue_before", "orders_after", "revenue_after")
    return {
        cutoff: {name: float(v) for name, v in zip(names, row[k * len(names):(k + 1) * len(names)], strict=True)}
        for k, cutoff in enumerate(cutoffs)
    }


def any_received(session: Session, *, tenant_id: int) -> bool:
    """Whether the program has received any event yet (a till or a shop is connected)."""
    return session.execute(select(Event.id).where(Event.tenant_id == tenant_id).limit(1)).first() is not None
