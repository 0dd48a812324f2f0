"""A return's arithmetic, without a database: how much money and which lines come back, and how many
of the order's base points that takes back, cumulatively, so any sequence of partial returns ends
where one whole return would. `returns.record_return` reads the order, calls `take_back`, and writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from wafa.errors import InvalidInput
from wafa.money import to_major, to_minor
from wafa.programs import earning


@dataclass(frozen=True)
class Order:
    """A purchase as a return reads it: amounts in minor units, its lines, and what came back already."""

    order_id: str
    currency: str
    amount: int
    points: int
    items: list[dict[str, Any]] | None = None
    returned_amount: int = 0
    points_reversed: int = 0
    returned_items: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Returned:
    """One return worked out: this return's money, the order's totals after it, and the points to take back."""

    amount: int
    cumulative_amount: int
    returned_items: dict[str, int]
    target_reversed: int  # the order's base points taken back in all, after this return
    claw: int  # taken back by this return
    whole: bool  # nothing of the order is left


def earning_amount(amount: int, items: list[dict[str, Any]] | None) -> int:
    """The part of an order's amount that earns base points: discounted and reward lines do not."""
    if not items or all(item.get("earns", True) for item in items):
        return amount
    listed = sum(item["quantity"] * item["unit_price"] for item in items)
    earning_listed = sum(item["quantity"] * item["unit_price"] for item in items if item.get("earns", True))
    return earning.proportional_share(amount, earning_listed, listed) if listed else 0


def kept_lines(items: list[dict[str, Any]] | None, returned_items: dict[str, int]) -> list[dict[str, Any]] | None:
    """The order's lines less what came back (None for an order recorded without lines)."""
    if not items:
        return None
    kept = []
    left = dict(returned_items)
    for line in items:
        back = min(left.get(line["sku"], 0), line["quantity"])
        left[line["sku"]] = left.get(line["sku"], 0) - back
        kept.append({**line, "quantity": line["quantity"] - back})
    return kept


def bought(order: Order, sku: str) -> int:
    return sum(line["quantity"] for line in order.items or [] if line["sku"] == sku)


def items_left(order: Order, returned: dict[str, int]) -> bool:
    """Whether some line of the order has not come back yet."""
    return any(returned.get(sku, 0) < bought(order, sku) for sku in {line["sku"] for line in order.items or []})


def take_back(order: Order, *, items: Sequence[tuple[str, int]] | None, amount: str | Decimal | None) -> Returned:
    """Work out a return of `items` ((sku, quantity) pairs) or of `amount` (major units), or of everything
    left when neither is given; raise InvalidInput naming the field for a return the order cannot take."""
    left = order.amount - order.returned_amount
    returned_items = dict(order.returned_items)
    if items:
        returned_items, cumulative = _returned_by_items(order, items, returned_items)
        this_amount = max(0, cumulative - order.returned_amount)
    else:
        this_amount = left
    if amount is not None:
        this_amount = to_minor(amount, order.currency)
        if this_amount > left:
            raise InvalidInput(
                f"return of {to_major(this_amount, order.currency)} {order.currency} exceeds the "
                f"{to_major(left, order.currency)} left on the order",
                field="amount",
            )
    # A free order (or the free lines of one) can still come back item by item: rules may have paid for items.
    anything_left = items_left(order, order.returned_items)
    if amount is not None and this_amount <= 0 and not items:
        raise InvalidInput("a refund amount must be more than zero", field="amount")
    if (left <= 0 or this_amount <= 0) and not anything_left and not items:
        raise InvalidInput(f"order {order.order_id!r} has nothing left to return", field="order_id")
    if not items and amount is None:
        returned_items = {line["sku"]: bought(order, line["sku"]) for line in order.items or []}

    cumulative_amount = order.returned_amount + this_amount
    # Cumulative rounding: after every return, what has been taken back is the proportional share of
    # the earning money that came back, so many small returns never take more (or less) than one big
    # one. Lines that earned nothing (discounted, rewards) take nothing back when they are returned.
    earned_on = earning_amount(order.amount, order.items)
    still_earning = earning_amount(order.amount - cumulative_amount, kept_lines(order.items, returned_items))
    returned_earning = min(earned_on, max(0, earned_on - still_earning))
    target_reversed = max(order.points_reversed, earning.proportional_share(order.points, returned_earning, earned_on))
    if cumulative_amount >= order.amount and not items_left(order, returned_items):
        target_reversed = order.points  # everything is back
    whole = (order.amount > 0 and cumulative_amount >= order.amount) or (bool(order.items) and not items_left(order, returned_items))
    return Returned(
        amount=this_amount, cumulative_amount=cumulative_amount, returned_items=returned_items,
        target_reversed=target_reversed, claw=target_reversed - order.points_reversed, whole=whole,
    )


def _returned_by_items(order: Order, items: Sequence[tuple[str, int]], returned: dict[str, int]) -> tuple[dict[str, int], int]:
    """Apply returned items; return the new per-SKU counts and the cumulative returned amount."""
    if not order.items:
        raise InvalidInput("this order was recorded without items; return an amount instead", field="items")
    returned = dict(returned)
    for index, (sku, quantity) in enumerate(items):
        had = bought(order, sku)
        if had == 0:
            raise InvalidInput(f"order has no item {sku!r}", field=f"items[{index}].sku")
        if returned.get(sku, 0) + quantity > had:
            raise InvalidInput(f"{sku}: {quantity} returned but only {had - returned.get(sku, 0)} left", field=f"items[{index}].quantity")
        returned[sku] = returned.get(sku, 0) + quantity
    # What was paid is shared among lines by list price, so discounts are returned in proportion.
    list_total = sum(line["quantity"] * line["unit_price"] for line in order.items)
    returned_list = 0
    for sku, qty in returned.items():
        remaining = qty
        for line in (line for line in order.items if line["sku"] == sku):
            take = min(remaining, line["quantity"])
            returned_list += take * line["unit_price"]
            remaining -= take
    if list_total == 0:  # free items only: the money comes back when the last item does
        everything = all(returned.get(line["sku"], 0) >= bought(order, line["sku"]) for line in order.items)
        return returned, order.amount if everything else order.returned_amount
    return returned, earning.proportional_share(order.amount, returned_list, list_total)
