"""A return's arithmetic without a database: exact, cumulative, and refusing what the order cannot take."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wafa.errors import InvalidInput
from wafa.events.return_arithmetic import Order, Returned, earning_amount, kept_lines, take_back


def after(order: Order, returned: Returned) -> Order:
    """The order as the next return reads it (what `record_return` writes back)."""
    return replace(order, returned_amount=returned.cumulative_amount, points_reversed=returned.target_reversed,
                   returned_items=returned.returned_items)


def major(minor: int) -> Decimal:
    return Decimal(minor) / 100


ORDER = Order(order_id="O-1", currency="SAR", amount=10_000, points=100)
LINES = [
    {"sku": "A", "category": "coffee", "brand": None, "quantity": 2, "unit_price": 3_000, "earns": True},
    {"sku": "B", "category": "cups", "brand": None, "quantity": 1, "unit_price": 4_000, "earns": False},
]


def test_a_whole_return_takes_back_every_point() -> None:
    returned = take_back(ORDER, items=None, amount=None)
    assert (returned.amount, returned.claw, returned.target_reversed, returned.whole) == (10_000, 100, 100, True)


def test_a_third_then_the_rest_takes_33_then_67() -> None:
    first = take_back(ORDER, items=None, amount=Decimal("33.33"))
    second = take_back(after(ORDER, first), items=None, amount=None)
    assert (first.claw, first.whole, second.claw, second.whole) == (33, False, 67, True)


def test_lines_that_did_not_earn_take_nothing_back() -> None:
    order = replace(ORDER, items=LINES)
    assert earning_amount(order.amount, LINES) == 6_000
    cups = take_back(order, items=[("B", 1)], amount=None)
    assert (cups.amount, cups.claw, cups.returned_items) == (4_000, 0, {"B": 1})
    coffee = take_back(after(order, cups), items=[("A", 2)], amount=None)
    assert (coffee.claw, coffee.whole) == (100, True)
    assert kept_lines(LINES, coffee.returned_items) == [{**LINES[0], "quantity": 0}, {**LINES[1], "quantity": 0}]


@pytest.mark.parametrize(("order", "items", "amount", "field"), [
    (ORDER, None, Decimal("100.01"), "amount"),
    (ORDER, None, Decimal(0), "amount"),
    (replace(ORDER, returned_amount=10_000, points_reversed=100), None, None, "order_id"),
    (ORDER, [("A", 1)], None, "items"),
    (replace(ORDER, items=LINES), [("Z", 1)], None, "items[0].sku"),
    (replace(ORDER, items=LINES), [("A", 1), ("A", 2)], None, "items[1].quantity"),
])
def test_a_return_the_order_cannot_take_names_the_field(order: Order, items: list | None, amount: Decimal | None, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        take_back(order, items=items, amount=amount)
    assert refused.value.field == field


@given(
    amount=st.integers(1, 10**9), points=st.integers(0, 10**6),
    cuts=st.lists(st.integers(1, 10**9), min_size=0, max_size=8),
)
def test_any_sequence_of_partial_returns_ends_where_one_whole_return_would(amount: int, points: int, cuts: list[int]) -> None:
    order = Order(order_id="O", currency="SAR", amount=amount, points=points)
    taken, current = 0, order
    for cut in cuts:
        left = current.amount - current.returned_amount
        if left <= 0:
            break
        part = min(cut, left)
        returned = take_back(current, items=None, amount=major(part))
        # Never more than the order's points, never backwards, and exactly the share of what came back so far.
        assert returned.claw >= 0 and returned.target_reversed <= points
        assert returned.target_reversed == (points if returned.cumulative_amount == amount else points * returned.cumulative_amount // amount)
        taken += returned.claw
        current = after(current, returned)
    if current.returned_amount < amount:
        last = take_back(current, items=None, amount=None)
        taken += last.claw
        assert last.whole
    assert taken == points


@given(quantities=st.lists(st.integers(1, 5), min_size=1, max_size=4), prices=st.lists(st.integers(0, 50_000), min_size=4, max_size=4),
       earns=st.lists(st.booleans(), min_size=4, max_size=4), discount=st.integers(0, 100), points=st.integers(0, 10_000),
       order_of_returns=st.randoms(use_true_random=False))
def test_returning_every_item_in_any_order_and_grouping_takes_back_exactly_the_points(
    quantities: list[int], prices: list[int], earns: list[bool], discount: int, points: int, order_of_returns,  # type: ignore[no-untyped-def]
) -> None:
    lines = [{"sku": f"S{n}", "category": None, "brand": None, "quantity": q, "unit_price": prices[n], "earns": earns[n]}
             for n, q in enumerate(quantities)]
    listed = sum(line["quantity"] * line["unit_price"] for line in lines)
    order = Order(order_id="O", currency="SAR", amount=listed * (100 - discount) // 100, points=points, items=lines)
    units = [line["sku"] for line in lines for _ in range(line["quantity"])]
    order_of_returns.shuffle(units)
    current, taken, reversed_before = order, 0, 0
    while units:
        size = order_of_returns.randint(1, len(units))
        batch, units = units[:size], units[size:]
        returned = take_back(current, items=[(sku, batch.count(sku)) for sku in dict.fromkeys(batch)], amount=None)
        assert returned.target_reversed >= reversed_before and returned.cumulative_amount <= order.amount
        reversed_before = returned.target_reversed
        taken += returned.claw
        current = after(current, returned)
    assert taken == points and current.returned_amount == order.amount
