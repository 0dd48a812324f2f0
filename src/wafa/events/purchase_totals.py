"""A member's purchases over a window, by currency, as they stand after returns: money kept and orders
not wholly returned (tiers by spend or purchases, and goals, count them).

Every purchase and return also adjusts `member_purchase_days`, one row per member, UTC day (of when the
purchase happened) and currency, so a window is its whole days from there plus, exactly, the purchases
of its first and last part-days: one round trip that reads at most a window's days, however long the
member's history. An order counts while some of its money is kept (or it cost nothing).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import delete, func, literal, select, union_all
from sqlalchemy.orm import Session

from wafa.db import add_to_row
from wafa.events.models import Event, MemberPurchaseDay
from wafa.ledger.earned import day_of, midnight

# `add` for a new purchase, as a data-modifying CTE of the one-statement and two-statement purchases
# (events/hotpath.py, events/two_statement_purchase.py): it expects a CTE `ev` with the member_id, and
# %(t)s, %(occurred_day)s (the UTC day of occurred_at), %(currency)s and %(amount)s (minor units).
DAY_CTE = """pd AS (
    INSERT INTO member_purchase_days (tenant_id, member_id, day, currency, kept, orders)
    SELECT %(t)s, ev.member_id, %(occurred_day)s, %(currency)s, %(amount)s, 1 FROM ev
    ON CONFLICT (tenant_id, member_id, day, currency)
    DO UPDATE SET kept = member_purchase_days.kept + EXCLUDED.kept, orders = member_purchase_days.orders + EXCLUDED.orders
)"""


def share(amount: int, returned: int) -> tuple[int, int]:
    """What one order adds to its day: (money kept, 1 if it counts as an order)."""
    kept = amount - returned
    return (kept, 1) if kept > 0 or amount == 0 else (0, 0)


def _adding(session: Session):
    return add_to_row(session, MemberPurchaseDay, key=["tenant_id", "member_id", "day", "currency"], adding=["kept", "orders"])


def add(session: Session, *, tenant_id: int, member_id: int, occurred_at: datetime, currency: str, kept: int, orders: int) -> None:
    """Adjust a member's day by what a purchase or a return changed, in its transaction."""
    if not kept and not orders:
        return
    session.execute(_adding(session).values(
        tenant_id=tenant_id, member_id=member_id, day=day_of(occurred_at), currency=currency, kept=kept, orders=orders
    ))


def add_many(session: Session, *, tenant_id: int, purchases: list[tuple[int, datetime, str, int]]) -> None:
    """Add new purchases, (member, occurred at, currency, amount), to their members' days: an import's batch."""
    by_day: dict[tuple[int, object, str], list[int]] = {}
    for member_id, occurred_at, currency, amount in purchases:
        found = by_day.setdefault((member_id, day_of(occurred_at), currency or ""), [0, 0])
        kept, orders = share(amount, 0)
        found[0] += kept
        found[1] += orders
    if not by_day:
        return
    session.execute(_adding(session), [
        {"tenant_id": tenant_id, "member_id": member, "day": day, "currency": currency, "kept": kept, "orders": orders}
        for (member, day, currency), (kept, orders) in sorted(by_day.items(), key=lambda item: (item[0][0], str(item[0][1]), item[0][2]))
    ])


def _orders_between(tenant_id: int, member_id: int, start: datetime, end: datetime | None):
    kept = Event.amount - Event.returned_amount
    query = select(
        func.coalesce(Event.currency, "").label("currency"), kept.label("kept"), literal(1).label("orders")
    ).where(
        Event.tenant_id == tenant_id, Event.member_id == member_id, Event.type == "purchase", Event.occurred_at >= start,
        (kept > 0) | (Event.amount == 0),
    )
    return query.where(Event.occurred_at < end) if end is not None else query


@dataclass(frozen=True, slots=True)
class Window:
    """[since, until) as the days tables read it: whole UTC days in [first_day, end_day) (either end open
    when None; no days at all when `days` is false), plus the part-days at its edges, read from the
    orders themselves."""

    days: bool
    first_day: date | None
    end_day: date | None
    edges: tuple[tuple[datetime, datetime], ...]


def split(since: datetime | None, until: datetime | None) -> Window:
    """A window's whole days and its part-day edges."""
    first_whole = None
    if since is not None:
        first_whole = day_of(since) if midnight(day_of(since)) == since.astimezone(UTC) else day_of(since) + timedelta(days=1)
    if since is not None and first_whole is not None and until is not None and midnight(first_whole) >= until:
        return Window(False, None, None, ((since, until),))  # within one day
    edges = []
    if since is not None and first_whole is not None and since.astimezone(UTC) < midnight(first_whole):
        edges.append((since, midnight(first_whole)))
    if until is not None and midnight(day_of(until)) < until:
        edges.append((midnight(day_of(until)), until))
    return Window(True, first_whole, day_of(until) if until is not None else None, tuple(edges))


def totals(
    session: Session, *, tenant_id: int, member_id: int, since: datetime | None, until: datetime | None = None
) -> list[tuple[str, int, int]]:
    """(currency, money kept in minor units, orders not wholly returned) of a member's purchases in [since, until)."""
    window = split(since, until)
    parts = []
    if window.days:
        days = select(
            MemberPurchaseDay.currency.label("currency"), MemberPurchaseDay.kept.label("kept"), MemberPurchaseDay.orders.label("orders")
        ).where(MemberPurchaseDay.tenant_id == tenant_id, MemberPurchaseDay.member_id == member_id)
        if window.first_day is not None:
            days = days.where(MemberPurchaseDay.day >= window.first_day)
        if window.end_day is not None:
            days = days.where(MemberPurchaseDay.day < window.end_day)
        parts.append(days)
    parts += [_orders_between(tenant_id, member_id, start, end) for start, end in window.edges]
    every = union_all(*parts).subquery()
    rows = session.execute(
        select(every.c.currency, func.sum(every.c.kept), func.sum(every.c.orders)).group_by(every.c.currency)
    ).all()
    return [(currency or "", int(money), int(count)) for currency, money, count in rows if count or money]


def recomputed(session: Session, *, tenant_id: int | None = None) -> dict[tuple[int, int, object, str], tuple[int, int]]:
    """(money kept, orders) per (tenant, member, UTC day, currency), recomputed from the purchases."""
    query = select(Event.tenant_id, Event.member_id, Event.occurred_at, Event.currency, Event.amount, Event.returned_amount).where(
        Event.type == "purchase", Event.member_id.is_not(None)
    )
    if tenant_id is not None:
        query = query.where(Event.tenant_id == tenant_id)
    out: dict[tuple[int, int, object, str], tuple[int, int]] = {}
    for tenant, member, at, currency, amount, returned in session.execute(query.execution_options(yield_per=10_000)):
        kept, orders = share(int(amount), int(returned))
        key = (tenant, int(member or 0), day_of(at), currency or "")
        before = out.get(key, (0, 0))
        out[key] = (before[0] + kept, before[1] + orders)
    return {key: value for key, value in out.items() if value != (0, 0)}


def kept(session: Session, *, tenant_id: int | None = None) -> dict[tuple[int, int, object, str], tuple[int, int]]:
    """The totals as kept (days at zero left out)."""
    query = select(
        MemberPurchaseDay.tenant_id, MemberPurchaseDay.member_id, MemberPurchaseDay.day, MemberPurchaseDay.currency,
        MemberPurchaseDay.kept, MemberPurchaseDay.orders,
    )
    if tenant_id is not None:
        query = query.where(MemberPurchaseDay.tenant_id == tenant_id)
    return {(t, m, d, c): (int(k), int(o)) for t, m, d, c, k, o in session.execute(query) if (k, o) != (0, 0)}


def differences(session: Session, *, tenant_id: int | None = None) -> list[str]:
    """Where the kept totals differ from a recomputation from the purchases (empty: they agree)."""
    want, have = recomputed(session, tenant_id=tenant_id), kept(session, tenant_id=tenant_id)
    return [
        f"member {member} (tenant {tenant}): purchases on {day} in {currency or '-'} are kept as "
        f"{have.get((tenant, member, day, currency), (0, 0))} (money kept, orders), "
        f"the orders say {want.get((tenant, member, day, currency), (0, 0))}"
        for tenant, member, day, currency in sorted(set(want) | set(have), key=str)
        if want.get((tenant, member, day, currency), (0, 0)) != have.get((tenant, member, day, currency), (0, 0))
    ]


def rebuild(session: Session, *, tenant_id: int) -> int:
    """Recompute a tenant's totals from its purchases; return the days written. Run it while the tenant records nothing."""
    session.execute(delete(MemberPurchaseDay).where(MemberPurchaseDay.tenant_id == tenant_id))
    rows = [
        {"tenant_id": t, "member_id": m, "day": d, "currency": c, "kept": k, "orders": o}
        for (t, m, d, c), (k, o) in recomputed(session, tenant_id=tenant_id).items()
    ]
    if rows:
        session.execute(MemberPurchaseDay.__table__.insert(), rows)
    return len(rows)
