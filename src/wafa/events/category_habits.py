"""When a member buys a category: the UTC days, over a window, on which they bought each category (orders
still holding a line of it after returns), so an offer can say "you buy coffee on most Fridays"."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from wafa.events.models import MemberCategoryDay


def days_by_category(session: Session, *, tenant_id: int, member_id: int, since: date, until: date) -> dict[str, set[date]]:
    """Category → the days in [since, until) the member bought it (one indexed read of their rows)."""
    rows = session.execute(
        select(MemberCategoryDay.category, MemberCategoryDay.day).where(
            MemberCategoryDay.tenant_id == tenant_id, MemberCategoryDay.member_id == member_id,
            MemberCategoryDay.day >= since, MemberCategoryDay.day < until, MemberCategoryDay.orders > 0,
        )
    )
    out: dict[str, set[date]] = {}
    for category, day in rows:
        out.setdefault(category, set()).add(day)
    return out
