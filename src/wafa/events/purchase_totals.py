"""A member's purchases over a window, by currency, as they stand after returns: money kept and orders
not wholly returned (tiers by spend or purchases, and goals, count them).

Every purchase and return also adjusts `member_purchase_days`, one row per member, UTC day (of when the
purchase happened) and currency, so a window is its whole days from there plus, exactly, the purchases
of its first and last part-days: one round trip that reads at most a window's days, however long the
member's history. An order counts while some of its money is kept (or it cost nothing).
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Select, bindparam, delete, func, literal, select, union_all
from sqlalchemy.orm import Session

from wafa import day_windows
from wafa.day_windows import day_of
from wafa.db import add_to_row
from wafa.events.models import Event, MemberPurchaseDay

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


def _orders_between(tenant_id: Any, member_id: Any, start: Any, end: Any) -> Select:
    kept = Event.amount - Event.returned_amount
    return select(
        func.coalesce(Event.currency, "").label("currency"), kept.label("kept"), literal(1).label("orders")
    ).where(
        Event.tenant_id == tenant_id, Event.member_id == member_id, Event.type == "purchase", Event.occurred_at >= start,
        Event.occurred_at < end, (kept > 0) | (Event.amount == 0),
    )


@functools.cache
def _totals_statement(shape: tuple[bool, bool, bool, int]) -> Select:
    """The one statement of `totals` for windows of a shape, built once (tiers and goals read it on
    every purchase; building it cost more than running it)."""
    days, has_first, has_end, edges = shape
    tenant_id, member_id = (bindparam(name, type_=BigInteger()) for name in ("tenant_id", "member_id"))
    parts: list[Select] = []
    if days:
        whole = select(
            MemberPurchaseDay.currency.label("currency"), MemberPurchaseDay.kept.label("kept"), MemberPurchaseDay.orders.label("orders")
        ).where(MemberPurchaseDay.tenant_id == tenant_id, MemberPurchaseDay.member_id == member_id)
        if has_first:
            whole = whole.where(MemberPurchaseDay.day >= bindparam("first_day"))
        if has_end:
            whole = whole.where(MemberPurchaseDay.day < bindparam("end_day"))
        parts.append(whole)
    parts += [_orders_between(tenant_id, member_id, bindparam(f"edge{n}_start"), bindparam(f"edge{n}_end")) for n in range(edges)]
    every = union_all(*parts).subquery()
    return select(every.c.currency, func.sum(every.c.kept), func.sum(every.c.orders)).group_by(every.c.currency)


def totals(
    session: Session, *, tenant_id: int, member_id: int, since: datetime | None, until: datetime | None = None
) -> list[tuple[str, int, int]]:
    """(currency, money kept in minor units, orders not wholly returned) of a member's purchases in [since, until)."""
    window = day_windows.split(since, until)
    rows = session.execute(_totals_statement(window.shape), {"tenant_id": tenant_id, "member_id": member_id, **window.params()})
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
