"""How often each member bought each category up to a day: orders that still hold a line of it after
returns, and the first and last UTC day they did (the next-best-offer model learns from these)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from wafa.events.models import MemberCategoryDay

# (member_id, category, orders, first day, last day): plain tuples, a tenant has hundreds of thousands.
CategoryOrders = tuple[int, str, int, date, date]


def by_member_and_category(session: Session, *, tenant_id: int, last_day: date, member_id: int | None = None) -> list[CategoryOrders]:
    """Per member and category, the orders on days up to `last_day` (included) and their first and last
    day; one member's only if `member_id` is given (an indexed read of their rows)."""
    query = (
        select(MemberCategoryDay.member_id, MemberCategoryDay.category, func.sum(MemberCategoryDay.orders),
               func.min(MemberCategoryDay.day), func.max(MemberCategoryDay.day))
        .where(MemberCategoryDay.tenant_id == tenant_id, MemberCategoryDay.day <= last_day, MemberCategoryDay.orders > 0)
        .group_by(MemberCategoryDay.member_id, MemberCategoryDay.category)
    )
    if member_id is not None:
        query = query.where(MemberCategoryDay.member_id == member_id)
    return [(int(member), category, int(orders), first, last) for member, category, orders, first, last in session.execute(query)]
