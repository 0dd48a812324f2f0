"""Goals of badges and challenges: stored form (targets in minor units), and a member's value of one
over a window, measured from what they kept after returns."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from wafa.engagement.models import Referral
from wafa.engagement.schemas import GoalIn
from wafa.errors import InvalidInput
from wafa.money import to_major, to_minor
from wafa.programs.service import ProgramConfig
from wafa.tiers import service as tiers

# What each metric reads, so an event only re-measures the goals it can move.
PURCHASE_METRICS = frozenset({"purchases", "spend", "categories"})


def to_stored(session: Session, *, tenant_id: int, goal: GoalIn, base_currency: str, field: str) -> dict[str, Any]:
    """A goal as kept in the database: money in the base currency's minor units, counts as integers."""
    if goal.metric == "tier" and not tiers.exists(session, tenant_id=tenant_id, key=goal.tier or ""):
        raise InvalidInput(f"no tier with key {goal.tier!r}", field=f"{field}.tier")
    if goal.metric == "spend":
        target = to_minor(goal.at_least or "0", base_currency, field=f"{field}.at_least", allow_zero=False)
    elif goal.metric == "tier":
        target = 1
    else:
        target = int(Decimal(goal.at_least or "0"))
    min_amount = None
    if goal.min_amount is not None:
        min_amount = to_minor(goal.min_amount, base_currency, field=f"{field}.min_amount")
    return {
        "metric": goal.metric, "target": target, "category": goal.category, "min_amount": min_amount,
        "event_type": goal.event_type, "tier": goal.tier,
    }


def to_read(stored: dict[str, Any], *, base_currency: str) -> GoalIn:
    """A stored goal as the API shows it."""
    return GoalIn(
        metric=stored["metric"], at_least=None if stored["metric"] == "tier" else show(stored, stored["target"], base_currency=base_currency),
        category=stored.get("category"), event_type=stored.get("event_type"), tier=stored.get("tier"),
        min_amount=to_major(stored["min_amount"], base_currency) if stored.get("min_amount") is not None else None,
    )


def show(stored: dict[str, Any], value: int, *, base_currency: str) -> str:
    """A value of the goal's metric as the API shows it (money in major units)."""
    return to_major(value, base_currency) if stored["metric"] == "spend" else str(value)


def measure(
    session: Session, *, tenant_id: int, member_id: int, goal: dict[str, Any], program: ProgramConfig,
    since: datetime | None = None, until: datetime | None = None,
) -> int:
    """The member's value of the goal's metric over [since, until), counting only what was kept after returns."""
    from wafa.events import service as events  # events call engagement after each event

    metric = goal["metric"]
    if metric == "tier":
        return int(tiers.reached(session, tenant_id=tenant_id, member_id=member_id, key=goal["tier"]))
    if metric == "events":
        return events.count_events(
            session, tenant_id=tenant_id, member_id=member_id, type_=goal["event_type"], since=since, until=until
        )
    if metric == "referrals":
        query = select(func.count()).where(
            Referral.tenant_id == tenant_id, Referral.referrer_id == member_id, Referral.status == "completed"
        )
        if since is not None:
            query = query.where(Referral.completed_at >= since)
        if until is not None:
            query = query.where(Referral.completed_at < until)
        return session.execute(query).scalar_one()
    category = goal.get("category")
    if metric in ("purchases", "spend") and category is None and not goal.get("min_amount"):
        # Totals by currency in SQL: no need to read the orders' lines.
        by_currency = events.purchases_since(session, tenant_id=tenant_id, member_id=member_id, since=since, until=until)
        if metric == "purchases":
            return sum(count for _, _, count in by_currency)
        money = sum((program.in_base(kept, currency) for currency, kept, _ in by_currency), Decimal(0))
        return int(money.to_integral_value(rounding=ROUND_FLOOR))
    bought = events.kept_purchases(session, tenant_id=tenant_id, member_id=member_id, since=since, until=until)
    if metric == "categories":
        return len({line.get("category") for purchase in bought for line in purchase.lines if line.get("category")})
    if metric == "purchases":
        min_amount = goal.get("min_amount") or 0
        return sum(
            1 for purchase in bought
            if (category is None or any(line.get("category") == category for line in purchase.lines))
            and (not min_amount or program.in_base(purchase.amount, purchase.currency) >= min_amount)
        )
    total = sum(
        (program.in_base(purchase.in_category(category) if category else purchase.amount, purchase.currency) for purchase in bought),
        Decimal(0),
    )
    return int(total.to_integral_value(rounding=ROUND_FLOOR))


def moved_by(goal: dict[str, Any], cause: str) -> bool:
    """Whether something of this kind (purchase, return, event:<type>, referral, tier) can move the goal."""
    metric = goal["metric"]
    if metric in PURCHASE_METRICS:
        return cause in ("purchase", "return")
    if metric == "events":
        return cause == f"event:{goal['event_type']}"
    if metric == "referrals":
        return cause == "referral"
    return True  # a tier can be reached after any event


def revocable(goal: dict[str, Any]) -> bool:
    """Whether a return can undo the goal: only what purchases count; events, referrals and tiers reached stay."""
    return goal["metric"] in PURCHASE_METRICS
