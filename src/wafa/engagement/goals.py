"""Goals of badges and challenges: stored form (targets in minor units), and a member's value of one
over a window, measured from what they kept after returns."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from wafa.engagement.models import Referral
from wafa.engagement.schemas import GoalIn
from wafa.errors import InvalidInput
from wafa.events import category_totals, purchase_history, purchase_totals
from wafa.events.purchase_history import KeptPurchase
from wafa.money import to_major, to_minor
from wafa.programs.service import ProgramConfig
from wafa.tiers import service as tiers

# What each metric reads, so an event only re-measures the goals it can move.
PURCHASE_METRICS = frozenset({"purchases", "spend", "categories"})


def to_stored(session: Session, *, tenant_id: int, goal: GoalIn, base_currency: str, field: str) -> dict[str, Any]:
    """A goal as kept in the database: money in the base currency's minor units, counts as integers."""
    from wafa.events import types as event_types  # events call engagement after each event

    if goal.metric == "tier" and not tiers.exists(session, tenant_id=tenant_id, key=goal.tier or ""):
        raise InvalidInput(f"no tier with key {goal.tier!r}", field=f"{field}.tier")
    if goal.metric == "events" and event_types.get_by_name(session, tenant_id=tenant_id, name=goal.event_type or "") is None:
        # Only declared custom events are always recorded: a typo would make a goal no one can reach.
        raise InvalidInput(
            f"no custom event type {goal.event_type!r}: goals count declared custom events (POST /v1/event-types); "
            "purchases, referrals and tiers have metrics of their own", field=f"{field}.event_type",
        )
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


class History:
    """A member's kept purchases, read at most once for all the goals one event re-measures."""

    def __init__(self, session: Session, *, tenant_id: int, member_id: int) -> None:
        self._session, self._tenant_id, self._member_id = session, tenant_id, member_id
        self._all: list[KeptPurchase] | None = None
        self._windows: dict[tuple[datetime, datetime | None], list[KeptPurchase]] = {}
        self._totals: dict[tuple[datetime | None, datetime | None], list[tuple[str, int, int]]] = {}
        self._categories: dict[tuple[datetime | None, datetime | None], list[tuple[str, str, int, int]]] = {}

    def totals(self, since: datetime | None, until: datetime | None) -> list[tuple[str, int, int]]:
        """(currency, money kept, orders) of the kept purchases in [since, until), by currency."""
        key = (since, until)
        if key not in self._totals:
            if self._all is not None:
                sums: dict[str, list[int]] = {}
                for p in self.purchases(since, until):
                    found = sums.setdefault(p.currency, [0, 0])
                    found[0] += p.amount
                    found[1] += 1
                self._totals[key] = [(currency, money, count) for currency, (money, count) in sums.items()]
            else:
                self._totals[key] = purchase_totals.totals(
                    self._session, tenant_id=self._tenant_id, member_id=self._member_id, since=since, until=until
                )
        return self._totals[key]

    def purchases(self, since: datetime | None, until: datetime | None) -> list[KeptPurchase]:
        """The kept purchases in [since, until)."""
        if self._all is None and since is not None:
            # A window (a challenge's month) reads only its own purchases: a member's whole history can
            # be thousands of orders, each with its lines to decode.
            if (since, until) not in self._windows:
                self._windows[(since, until)] = purchase_history.kept_purchases(
                    self._session, tenant_id=self._tenant_id, member_id=self._member_id, since=since, until=until
                )
            return self._windows[(since, until)]
        if self._all is None:
            self._all = purchase_history.kept_purchases(self._session, tenant_id=self._tenant_id, member_id=self._member_id)
        return [p for p in self._all if (since is None or p.occurred_at >= since) and (until is None or p.occurred_at < until)]

    def amounts(self, since: datetime | None, until: datetime | None = None) -> list[tuple[datetime, str, int]]:
        """(occurred at, currency, money kept) of the kept purchases in [since, until): from what was read
        already, or by a query that leaves the orders' lines alone."""
        if self._all is None:
            return purchase_history.kept_amounts(
                self._session, tenant_id=self._tenant_id, member_id=self._member_id, since=since, until=until
            )
        return [(p.occurred_at, p.currency, p.amount) for p in self.purchases(since, until)]

    def categories(self, since: datetime | None, until: datetime | None) -> list[tuple[str, str, int, int]]:
        """(currency, category, money kept on its lines, orders holding one) of the kept purchases in [since, until)."""
        key = (since, until)
        if key not in self._categories:
            if self._all is not None:
                sums: dict[tuple[str, str], list[int]] = {}
                for p in self.purchases(since, until):
                    for name, (kept, orders) in category_totals.of_kept(p).items():
                        found = sums.setdefault((p.currency, name), [0, 0])
                        found[0] += kept
                        found[1] += orders
                self._categories[key] = [(currency, name, kept, orders) for (currency, name), (kept, orders) in sums.items()]
            else:
                self._categories[key] = category_totals.totals(
                    self._session, tenant_id=self._tenant_id, member_id=self._member_id, since=since, until=until
                )
        return self._categories[key]


def measure(
    session: Session, *, tenant_id: int, member_id: int, goal: dict[str, Any], program: ProgramConfig,
    since: datetime | None = None, until: datetime | None = None, history: History | None = None,
) -> int:
    """The member's value of the goal's metric over [since, until), counting only what was kept after returns."""
    metric = goal["metric"]
    if metric == "tier":
        return int(tiers.reached(session, tenant_id=tenant_id, member_id=member_id, key=goal["tier"]))
    if metric == "events":
        return purchase_history.count_events(
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
    category, min_amount = goal.get("category"), goal.get("min_amount") or 0
    if history is None:
        history = History(session, tenant_id=tenant_id, member_id=member_id)
    if metric in ("purchases", "spend") and category is None and not (metric == "purchases" and min_amount):
        # Totals by currency (in SQL unless the orders were read already): no need for their lines.
        by_currency = history.totals(since, until)
        if metric == "purchases":
            return sum(count for _, _, count in by_currency)
        return _floor(program.in_base(kept, currency) for currency, kept, _ in by_currency)
    if metric == "categories" or not (metric == "purchases" and min_amount):
        # Totals by category, likewise: what each category's lines kept, and the orders holding one.
        by_category = history.categories(since, until)
        if metric == "categories":
            return len({name for _, name, _, orders in by_category if orders > 0})
        if metric == "purchases":
            return sum(orders for _, name, _, orders in by_category if name == category)
        return _floor(program.in_base(kept, currency) for currency, name, kept, _ in by_category if name == category)
    # Orders of at least some amount: each order's kept amount (with its lines if a category counts too).
    if category is None:
        return sum(1 for _, currency, kept in history.amounts(since, until) if program.in_base(kept, currency) >= min_amount)
    return sum(
        1 for purchase in history.purchases(since, until)
        if any(line.get("category") == category for line in purchase.lines) and program.in_base(purchase.amount, purchase.currency) >= min_amount
    )


def _floor(values: Iterable[Decimal]) -> int:
    return int(sum(values, Decimal(0)).to_integral_value(rounding=ROUND_FLOOR))


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
