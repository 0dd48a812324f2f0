"""A member's purchases by the category of their lines, over a window, as they stand after returns:
money kept on each category's lines and orders that still hold one (badges and challenges of a
category's spend or orders, or of how many categories a member bought from, count them).

Every purchase and return also adjusts `member_category_days`, one row per member, UTC day (of when
the purchase happened), currency and category, the same way `member_purchase_days` is kept
(events/purchase_totals.py): a window is its whole days from there plus, exactly, the orders of its
part-days, so a goal reads at most a window's days however many orders the member has.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Select, bindparam, delete, func, select
from sqlalchemy.orm import Session

from wafa import day_windows
from wafa.day_windows import day_of
from wafa.db import add_to_row
from wafa.events.models import Event, MemberCategoryDay
from wafa.events.purchase_history import KeptPurchase, kept_purchase

# Shares of a new purchase, as a data-modifying CTE of the one-statement and two-statement purchases:
# it expects a CTE `ev` with the member_id, and %(t)s, %(occurred_day)s, %(currency)s and
# %(categories)s (`as_json(shares(...))`: '[]' for an order without categorised lines).
CATEGORY_CTE = """cd AS (
    INSERT INTO member_category_days (tenant_id, member_id, day, currency, category, kept, orders)
    SELECT %(t)s, ev.member_id, %(occurred_day)s, %(currency)s, c.category, c.kept, c.orders
    FROM ev CROSS JOIN json_to_recordset(%(categories)s::json) AS c(category text, kept bigint, orders int)
    ORDER BY c.category
    ON CONFLICT (tenant_id, member_id, day, currency, category)
    DO UPDATE SET kept = member_category_days.kept + EXCLUDED.kept, orders = member_category_days.orders + EXCLUDED.orders
)"""

Shares = dict[str, tuple[int, int]]


def of_kept(purchase: KeptPurchase | None) -> Shares:
    """(money kept on the category's lines, 1) per category of what an order keeps."""
    if purchase is None:
        return {}
    categories = dict.fromkeys(line["category"] for line in purchase.lines if line.get("category"))
    return {category: (purchase.in_category(category), 1) for category in categories}


def shares(amount: int, returned: int, items: list[dict] | None, returned_items: dict[str, int] | None) -> Shares:
    """What an order adds to its day's categories, as it stands after `returned` (minor units) and
    `returned_items` (sku: quantity) came back."""
    if not items:
        return {}
    return of_kept(kept_purchase(0, datetime.min, "", amount, returned, items, returned_items))


def change(before: Shares, after: Shares) -> Shares:
    """What an order's days gain (negative: lose) when its shares go from `before` to `after`."""
    out = {}
    for category in sorted(set(before) | set(after)):
        was, now = before.get(category, (0, 0)), after.get(category, (0, 0))
        if was != now:
            out[category] = (now[0] - was[0], now[1] - was[1])
    return out


def as_json(found: Shares) -> str:
    """Shares as the statements' %(categories)s parameter."""
    return orjson.dumps([{"category": c, "kept": k, "orders": o} for c, (k, o) in sorted(found.items())]).decode()


def _adding(session: Session):
    return add_to_row(
        session, MemberCategoryDay, key=["tenant_id", "member_id", "day", "currency", "category"], adding=["kept", "orders"]
    )


def add(session: Session, *, tenant_id: int, member_id: int, occurred_at: datetime, currency: str, found: Shares) -> None:
    """Adjust a member's day by what a purchase or a return changed, in its transaction."""
    if not found:
        return
    day = day_of(occurred_at)
    session.execute(_adding(session), [
        {"tenant_id": tenant_id, "member_id": member_id, "day": day, "currency": currency, "category": category,
         "kept": kept, "orders": orders}
        for category, (kept, orders) in sorted(found.items())
    ])


def add_many(session: Session, *, tenant_id: int, purchases: Iterable[tuple[int, datetime, str, int, list[dict] | None]]) -> None:
    """Add new purchases, (member, occurred at, currency, amount, lines), to their members' days: an import's batch."""
    by_day: dict[tuple[int, Any, str, str], list[int]] = {}
    for member_id, occurred_at, currency, amount, items in purchases:
        for category, (kept, orders) in shares(amount, 0, items, None).items():
            found = by_day.setdefault((member_id, day_of(occurred_at), currency or "", category), [0, 0])
            found[0] += kept
            found[1] += orders
    if not by_day:
        return
    # Sorted by member and day, so two imports adding to the same days lock them in the same order.
    session.execute(_adding(session), [
        {"tenant_id": tenant_id, "member_id": member, "day": day, "currency": currency, "category": category, "kept": kept, "orders": orders}
        for (member, day, currency, category), (kept, orders) in sorted(by_day.items(), key=lambda item: str(item[0]))
    ])


@functools.cache
def _days_statement(has_first: bool, has_end: bool) -> Select:
    """The whole days' part of `totals`, built once per shape (goals read it on every purchase)."""
    query = select(
        MemberCategoryDay.currency, MemberCategoryDay.category, func.sum(MemberCategoryDay.kept), func.sum(MemberCategoryDay.orders)
    ).where(MemberCategoryDay.tenant_id == bindparam("tenant_id"), MemberCategoryDay.member_id == bindparam("member_id"))
    if has_first:
        query = query.where(MemberCategoryDay.day >= bindparam("first_day"))
    if has_end:
        query = query.where(MemberCategoryDay.day < bindparam("end_day"))
    return query.group_by(MemberCategoryDay.currency, MemberCategoryDay.category)


_EDGE = select(Event.id, Event.occurred_at, Event.currency, Event.amount, Event.returned_amount, Event.items, Event.returned_items).where(
    Event.tenant_id == bindparam("tenant_id"), Event.member_id == bindparam("member_id"), Event.type == "purchase",
    Event.occurred_at >= bindparam("start"), Event.occurred_at < bindparam("end"), Event.items.is_not(None),
)


def totals(
    session: Session, *, tenant_id: int, member_id: int, since: datetime | None, until: datetime | None = None
) -> list[tuple[str, str, int, int]]:
    """(currency, category, money kept on its lines, orders holding one) of a member's purchases in [since, until).
    The part-days' orders are decoded here (their lines' shares are Python's arithmetic): one more
    round trip for a window with edges."""
    window = day_windows.split(since, until)
    member = {"tenant_id": tenant_id, "member_id": member_id}
    found: list[tuple[str, str, int, int]] = []
    if window.days:
        _, has_first, has_end, _ = window.shape
        found += [(c, g, int(k), int(o)) for c, g, k, o in session.execute(_days_statement(has_first, has_end), {**member, **window.params()})]
    for start, end in window.edges:
        for row in session.execute(_EDGE, {**member, "start": start, "end": end}):
            found += [(row.currency or "", category, kept, orders) for category, (kept, orders) in of_kept(kept_purchase(*row)).items()]
    sums: dict[tuple[str, str], list[int]] = {}
    for currency, category, kept, orders in found:
        total = sums.setdefault((currency, category), [0, 0])
        total[0] += kept
        total[1] += orders
    return [(currency, category, kept, orders) for (currency, category), (kept, orders) in sorted(sums.items()) if kept or orders]


def recomputed(session: Session, *, tenant_id: int | None = None) -> dict[tuple[int, int, object, str, str], tuple[int, int]]:
    """(money kept, orders) per (tenant, member, UTC day, currency, category), recomputed from the purchases."""
    query = select(
        Event.tenant_id, Event.member_id, Event.occurred_at, Event.currency, Event.amount, Event.returned_amount, Event.items,
        Event.returned_items,
    ).where(Event.type == "purchase", Event.member_id.is_not(None), Event.items.is_not(None))
    if tenant_id is not None:
        query = query.where(Event.tenant_id == tenant_id)
    out: dict[tuple[int, int, object, str, str], tuple[int, int]] = {}
    for tenant, member, at, currency, amount, returned, items, returned_items in session.execute(query.execution_options(yield_per=10_000)):
        for category, (kept, orders) in shares(int(amount), int(returned), items, returned_items).items():
            key = (tenant, int(member or 0), day_of(at), currency or "", category)
            before = out.get(key, (0, 0))
            out[key] = (before[0] + kept, before[1] + orders)
    return {key: value for key, value in out.items() if value != (0, 0)}


def kept(session: Session, *, tenant_id: int | None = None) -> dict[tuple[int, int, object, str, str], tuple[int, int]]:
    """The totals as kept (days at zero left out)."""
    query = select(
        MemberCategoryDay.tenant_id, MemberCategoryDay.member_id, MemberCategoryDay.day, MemberCategoryDay.currency,
        MemberCategoryDay.category, MemberCategoryDay.kept, MemberCategoryDay.orders,
    )
    if tenant_id is not None:
        query = query.where(MemberCategoryDay.tenant_id == tenant_id)
    return {(t, m, d, c, g): (int(k), int(o)) for t, m, d, c, g, k, o in session.execute(query) if (k, o) != (0, 0)}


def differences(session: Session, *, tenant_id: int | None = None) -> list[str]:
    """Where the kept totals differ from a recomputation from the purchases (empty: they agree)."""
    want, have = recomputed(session, tenant_id=tenant_id), kept(session, tenant_id=tenant_id)
    return [
        f"member {key[1]} (tenant {key[0]}): purchases on {key[2]} in {key[3] or '-'} of category {key[4]!r} are kept as "
        f"{have.get(key, (0, 0))} (money kept, orders), the orders say {want.get(key, (0, 0))}"
        for key in sorted(set(want) | set(have), key=str)
        if want.get(key, (0, 0)) != have.get(key, (0, 0))
    ]


def rebuild(session: Session, *, tenant_id: int) -> int:
    """Recompute a tenant's totals from its purchases; return the rows written. Run it while the tenant records nothing."""
    session.execute(delete(MemberCategoryDay).where(MemberCategoryDay.tenant_id == tenant_id))
    rows = [
        {"tenant_id": t, "member_id": m, "day": d, "currency": c, "category": g, "kept": k, "orders": o}
        for (t, m, d, c, g), (k, o) in recomputed(session, tenant_id=tenant_id).items()
    ]
    if rows:
        session.execute(MemberCategoryDay.__table__.insert(), rows)
    return len(rows)
