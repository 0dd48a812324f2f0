"""Return rates read off the tenant's purchases: the members whose returned share of what they bought
in a window stands far above the program's own share, for the anomaly flags (wafa.trust.anomalies).
One grouped scan of the window's purchases; reads only the events' own table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Float, case, cast, func, literal, select
from sqlalchemy.orm import Session

from wafa.events.figures import _in_base
from wafa.events.models import Event


@dataclass(frozen=True, slots=True)
class MemberReturns:
    """One member's purchases in the window and what came back of them (base currency, minor units)."""

    member_id: int
    purchases: int
    returned_orders: int  # purchases returned wholly or in part
    purchased: float
    returned: float
    program_purchased: float  # every member's purchases in the window
    program_returned: float

    @property
    def rate(self) -> float:
        return self.returned / self.purchased

    @property
    def program_rate(self) -> float:
        return self.program_returned / self.program_purchased


def high_return_rates(
    session: Session, *, tenant_id: int, start: datetime, end: datetime, factors: dict[str, Decimal], base_currency: str,
    min_purchases: int, multiple: float, floor: float, limit: int, offset: int = 0,
) -> list[MemberReturns]:
    """Members with at least `min_purchases` purchases in [start, end) whose returned share of them (by
    amount) is at least `floor` and at least `multiple` times the program's share over the same
    purchases; highest share first (ties by member id), a page of `limit` from `offset`."""
    per = (
        select(
            Event.member_id.label("member_id"),
            func.count().label("purchases"),
            func.sum(case((Event.returned_amount > 0, 1), else_=0)).label("returned_orders"),
            func.sum(_in_base(Event.amount, factors, base_currency)).label("purchased"),
            func.sum(_in_base(Event.returned_amount, factors, base_currency)).label("returned"),
        )
        .where(Event.tenant_id == tenant_id, Event.type == "purchase", Event.member_id.is_not(None), Event.amount > 0,
               Event.occurred_at >= start, Event.occurred_at < end)
        .group_by(Event.member_id)
        .subquery()
    )
    # The program's totals beside each member's, in the same scan (a window over every member's row).
    totals = select(
        per, func.sum(per.c.purchased).over().label("program_purchased"), func.sum(per.c.returned).over().label("program_returned"),
    ).subquery()
    t = totals.c
    share = cast(t.returned, Float) / cast(t.purchased, Float)
    rows = session.execute(
        select(t.member_id, t.purchases, t.returned_orders, t.purchased, t.returned, t.program_purchased, t.program_returned)
        .where(
            t.purchases >= min_purchases, t.purchased > 0, t.returned > 0,
            cast(t.returned, Float) >= literal(floor, Float) * cast(t.purchased, Float),
            # share >= multiple × program's share, multiplied out: no division by a program total of zero.
            cast(t.returned, Float) * cast(t.program_purchased, Float)
            >= literal(multiple, Float) * cast(t.program_returned, Float) * cast(t.purchased, Float),
        )
        .order_by(share.desc(), t.member_id)
        .limit(limit)
        .offset(offset)
    )
    return [
        MemberReturns(int(m), int(n), int(r), float(p), float(ret), float(pp), float(pr))
        for m, n, r, p, ret, pp, pr in rows
    ]
