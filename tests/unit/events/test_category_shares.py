"""What an order adds to its day's categories (events/category_totals.shares) and what a return takes
away, without a database."""

from __future__ import annotations

from wafa.events.category_totals import change, shares

LINES = [
    {"sku": "latte", "category": "coffee", "quantity": 2, "unit_price": 1200},
    {"sku": "scone", "category": "cake", "quantity": 1, "unit_price": 950},
    {"sku": "bag", "category": None, "quantity": 1, "unit_price": 300},
]


def test_an_order_shares_what_it_paid_by_list_price_between_its_categories() -> None:
    # Paid 30.00 of 36.50 listed: coffee 24.00 of it (rounded down), cake 9.50; the bag has no category.
    assert shares(3000, 0, LINES, None) == {"coffee": (3000 * 2400 // 3650, 1), "cake": (3000 * 950 // 3650, 1)}


def test_a_line_returned_leaves_its_category_and_money_returned_shrinks_the_rest() -> None:
    after = shares(3000, 781, LINES, {"scone": 1})
    assert after == {"coffee": (3000 * 2400 // 3650, 1)}  # still under the 22.19 kept
    assert change(shares(3000, 0, LINES, None), after) == {"cake": (-(3000 * 950 // 3650), -1)}
    # Most of the money back but the latte kept: coffee keeps what is left of it.
    assert change(after, shares(3000, 2800, LINES, {"scone": 1})) == {"coffee": (200 - 3000 * 2400 // 3650, 0)}


def test_what_is_kept_never_exceeds_the_money_kept() -> None:
    # 5.00 of 30.00 kept: each category's share is capped at it.
    assert shares(3000, 2500, LINES, None) == {"coffee": (500, 1), "cake": (500, 1)}


def test_a_wholly_returned_order_or_one_without_lines_adds_nothing_and_a_free_one_counts() -> None:
    assert shares(3000, 3000, LINES, None) == {}
    assert shares(3000, 0, None, None) == {}
    assert shares(0, 0, LINES[:1], None) == {"coffee": (0, 1)}
    assert change({"tea": (5, 1)}, {"tea": (5, 1)}) == {}
