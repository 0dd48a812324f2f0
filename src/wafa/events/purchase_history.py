"""A member's purchases as they stand after returns: the first one kept, what was kept in money and in
lines, counts of their events, and members' kept purchases streamed or totalled for segments and models.
Reads only the events' own tables, so any domain can ask without importing the purchase intake."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from wafa.events import return_arithmetic
from wafa.events.models import Event
from wafa.programs import earning


def first_purchase_kept(
    session: Session, *, tenant_id: int, member_id: int, currency: str, at_least: int, occurred_from: datetime,
    occurred_before: datetime, received_before: datetime | None = None,
) -> Event | None:
    """A member's first purchase in `currency` that happened in [occurred_from, occurred_before), was
    received before `received_before` if given, and of which at least `at_least` (minor units) was kept
    after returns (referrals complete on it)."""
    conditions = [
        Event.tenant_id == tenant_id, Event.member_id == member_id, Event.type == "purchase", Event.currency == currency,
        Event.occurred_at >= occurred_from, Event.occurred_at < occurred_before,
        Event.amount - Event.returned_amount >= at_least, Event.amount > Event.returned_amount,
    ]
    if received_before is not None:
        conditions.append(Event.received_at <= received_before)
    return session.execute(
        select(Event)
        .where(*conditions)
        .order_by(Event.occurred_at, Event.id)
        .limit(1)
    ).scalar_one_or_none()


@dataclass(frozen=True, slots=True)
class KeptPurchase:
    """A member's purchase as it stands after returns: what was kept, in money and in lines."""

    event_id: int
    occurred_at: datetime
    currency: str
    amount: int  # kept, minor units
    paid: int  # the whole order, before returns
    list_total: int  # of all the order's lines at list price (0 without lines)
    lines: tuple[dict, ...]  # kept lines (quantity > 0)

    def in_category(self, category: str) -> int:
        """The money kept on lines of `category`: the order's paid amount shared by list price."""
        if not self.list_total or not self.amount:
            return 0
        listed = sum(line["quantity"] * line["unit_price"] for line in self.lines if line.get("category") == category)
        return min(self.amount, earning.proportional_share(self.paid, listed, self.list_total))


def kept_purchases(
    session: Session, *, tenant_id: int, member_id: int, since: datetime | None = None, until: datetime | None = None
) -> list[KeptPurchase]:
    """A member's purchases in [since, until) not wholly returned, oldest first, with their kept lines."""
    conditions = [
        Event.tenant_id == tenant_id, Event.member_id == member_id, Event.type == "purchase",
        (Event.amount > Event.returned_amount) | (Event.amount == 0),
    ]
    if since is not None:
        conditions.append(Event.occurred_at >= since)
    if until is not None:
        conditions.append(Event.occurred_at < until)
    columns = (Event.id, Event.occurred_at, Event.currency, Event.amount, Event.returned_amount, Event.items, Event.returned_items)
    # Columns, not ORM objects: members with long histories are read on every purchase some goals see.
    found = (kept_purchase(*row) for row in session.execute(select(*columns).where(*conditions).order_by(Event.occurred_at, Event.id)))
    return [purchase for purchase in found if purchase is not None]


def kept_purchase(
    event_id: int, occurred_at: datetime, currency: str | None, amount: int, returned: int, items: list[dict] | None,
    returned_items: dict[str, int] | None,
) -> KeptPurchase | None:
    """A purchase as it stands after its returns; None if it was wholly returned (an order that cost
    nothing is kept)."""
    if not (amount > returned or amount == 0):
        return None
    # Every line back but not all the money refunded still counts, as the totals by currency do.
    lines = items or []
    if returned_items:
        lines = [line for line in return_arithmetic.kept_lines(items, returned_items) or () if line["quantity"] > 0]
    return KeptPurchase(
        event_id, occurred_at, currency or "", amount - returned, amount,
        sum(line["quantity"] * line["unit_price"] for line in items or ()), tuple(lines),
    )


def kept_of(session: Session, *, tenant_id: int, event_id: int, currency: str) -> int | None:
    """Money a purchase keeps after its returns (minor units), if it is in `currency`; None otherwise."""
    row = session.execute(
        select(Event.amount, Event.returned_amount, Event.currency).where(Event.tenant_id == tenant_id, Event.id == event_id)
    ).first()
    if row is None or (row.currency or "") != currency:
        return None
    return int(row.amount or 0) - int(row.returned_amount or 0)


def count_events(
    session: Session, *, tenant_id: int, member_id: int, type_: str, since: datetime | None = None, until: datetime | None = None
) -> int:
    """How many events of a type a member has (custom events, or built-in ones by name)."""
    query = select(func.count()).where(Event.tenant_id == tenant_id, Event.member_id == member_id, Event.type == type_)
    if since is not None:
        query = query.where(Event.occurred_at >= since)
    if until is not None:
        query = query.where(Event.occurred_at < until)
    return session.execute(query).scalar_one()


def kept_amounts(
    session: Session, *, tenant_id: int, member_id: int, since: datetime | None = None, until: datetime | None = None
) -> list[tuple[datetime, str, int]]:
    """(occurred at, currency, money kept after returns) of a member's purchases not wholly returned in [since, until)."""
    kept = Event.amount - Event.returned_amount
    query = select(Event.occurred_at, Event.currency, kept).where(
        Event.tenant_id == tenant_id, Event.member_id == member_id, Event.type == "purchase", (kept > 0) | (Event.amount == 0),
    )
    if since is not None:
        query = query.where(Event.occurred_at >= since)
    if until is not None:
        query = query.where(Event.occurred_at < until)
    return [(at, currency or "", int(money)) for at, currency, money in session.execute(query.order_by(Event.occurred_at))]


def member_purchases(
    session: Session, *, tenant_id: int, until: datetime | None = None, member_id: int | None = None
) -> Iterator[tuple[int, datetime, str, int]]:
    """(member, occurred at, currency, money kept) of members' purchases not wholly returned, oldest first,
    streamed: the whole history of a program, for lifetime-value models."""
    kept = Event.amount - Event.returned_amount
    query = select(Event.member_id, Event.occurred_at, Event.currency, kept).where(
        Event.tenant_id == tenant_id, Event.type == "purchase", Event.member_id.is_not(None), kept > 0,
    )
    if until is not None:
        query = query.where(Event.occurred_at < until)
    if member_id is not None:
        query = query.where(Event.member_id == member_id)
    for row in session.execute(query.order_by(Event.occurred_at, Event.id).execution_options(yield_per=5000)):
        yield int(row[0]), row[1], row[2] or "", int(row[3])  # type: ignore[arg-type]  # the query leaves NULL members out


def member_totals(session: Session, *, tenant_id: int, until: datetime | None = None) -> list[tuple[int, str, datetime, int, int]]:
    """(member, currency, last purchase, purchases, money kept) per member and currency, over members'
    purchases not wholly returned: one aggregate query (RFM scores read it)."""
    kept = Event.amount - Event.returned_amount
    query = (
        select(Event.member_id, Event.currency, func.max(Event.occurred_at), func.count(), func.coalesce(func.sum(kept), 0))
        .where(Event.tenant_id == tenant_id, Event.type == "purchase", Event.member_id.is_not(None), (kept > 0) | (Event.amount == 0))
        .group_by(Event.member_id, Event.currency)
    )
    if until is not None:
        query = query.where(Event.occurred_at < until)
    return [(int(m), c or "", at, int(n), int(money)) for m, c, at, n, money in session.execute(query)]  # type: ignore[arg-type]  # no NULL members


def business_rows(session: Session, *, tenant_id: int, until: datetime) -> Iterator[tuple[int, datetime, str, int, dict | None]]:
    """(member, occurred at, currency, money kept, attributes) of members' kept purchases before `until`,
    streamed: what the A/B/C ranking reads (imports keep margins and payment dates in the attributes)."""
    kept = Event.amount - Event.returned_amount
    query = (
        select(Event.member_id, Event.occurred_at, Event.currency, kept, Event.attributes)
        .where(Event.tenant_id == tenant_id, Event.type == "purchase", Event.member_id.is_not(None), Event.occurred_at < until, kept > 0)
        .execution_options(yield_per=5000)
    )
    for member_id, at, currency, money, attributes in session.execute(query):
        yield int(member_id), at, currency or "", int(money), attributes


def window_totals(
    session: Session, *, tenant_id: int, since: datetime, until: datetime,
) -> list[tuple[int, str, int, int]]:
    """(member, currency, purchases, money kept) per member and currency over purchases in [since, until)
    not wholly returned: a campaign's lift reads it for its audience and holdout."""
    kept = Event.amount - Event.returned_amount
    query = (
        select(Event.member_id, Event.currency, func.count(), func.coalesce(func.sum(kept), 0))
        .where(Event.tenant_id == tenant_id, Event.type == "purchase", Event.member_id.is_not(None), (kept > 0) | (Event.amount == 0),
               Event.occurred_at >= since, Event.occurred_at < until)
        .group_by(Event.member_id, Event.currency)
    )
    return [(int(m), c or "", int(n), int(money)) for m, c, n, money in session.execute(query)]  # type: ignore[arg-type]  # no NULL members
