"""What a coupon takes off a basket (`wafa.rewards.discounts.apply`), without a database.

Amounts are minor units (SAR halalas). A till relies on: a fixed amount never exceeding what it
applies to, percentages rounded down, the coupon's maximum holding whatever the basket, the
minimum order read on the whole basket, categories and SKUs narrowing what is discounted, a free
product being the cheapest matching units, and never more off than the basket costs.
"""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wafa.rewards.discounts import Applied, Discount, Line, apply


def fixed(amount: int, **terms: object) -> Discount:
    return Discount(type="fixed", currency="SAR", amount=amount, **terms)  # type: ignore[arg-type]


def percent(value: str, **terms: object) -> Discount:
    return Discount(type="percent", currency="SAR", percent=value, **terms)  # type: ignore[arg-type]


def free(sku: str, quantity: int = 1, **terms: object) -> Discount:
    return Discount(type="free_product", currency="SAR", free_sku=sku, free_quantity=quantity, **terms)  # type: ignore[arg-type]


LATTE = Line("LATTE", "coffee", 2, 1_500)
BEANS = Line("BEANS", "coffee", 1, 4_000)
MUG = Line("MUG", "kitchen", 1, 3_500)
BASKET = (LATTE, BEANS, MUG)  # 3,000 + 4,000 + 3,500 = 10,500


# --- fixed --------------------------------------------------------------------------------------


def test_fixed_takes_its_amount_off() -> None:
    assert apply(fixed(1_000), amount=10_500, lines=BASKET) == Applied(1_000, 10_500)


def test_fixed_never_takes_more_than_the_basket() -> None:
    got = apply(fixed(5_000), amount=3_200, lines=())
    assert (got.discount, got.eligible) == (3_200, 3_200)


def test_fixed_on_categories_never_takes_more_than_the_eligible_items() -> None:
    # 50 off coffee, but the coffee in the basket only comes to 70.00 - 20.00 off the mug does not count.
    got = apply(fixed(9_000, categories=("coffee",)), amount=10_500, lines=BASKET)
    assert (got.discount, got.eligible) == (7_000, 7_000)


# --- percent ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "share, amount, expected",
    [
        ("10", 10_000, 1_000),
        ("15", 999, 149),  # 149.85 rounds down
        ("12.5", 1_001, 125),  # 125.125 rounds down
        ("33.33", 100, 33),
        ("0.5", 199, 0),  # 0.995 of a halala is nothing
        ("99.99", 1, 0),
        ("100", 4_321, 4_321),
    ],
)
def test_percent_rounds_down_to_the_halala(share: str, amount: int, expected: int) -> None:
    assert apply(percent(share), amount=amount, lines=()).discount == expected


def test_percent_that_comes_to_nothing_says_why() -> None:
    got = apply(percent("0.5"), amount=199, lines=())
    assert got.discount == 0
    assert got.reason == "the discount comes to nothing on this basket"


def test_max_discount_caps_a_percent() -> None:
    assert apply(percent("50", max_discount=2_000), amount=10_000, lines=()).discount == 2_000
    # Below the cap the percentage stands.
    assert apply(percent("50", max_discount=2_000), amount=3_000, lines=()).discount == 1_500


def test_max_discount_caps_a_fixed_amount() -> None:
    assert apply(fixed(5_000, max_discount=1_200), amount=10_000, lines=()).discount == 1_200


# --- minimum order ------------------------------------------------------------------------------


def test_below_the_minimum_order_gives_nothing_and_says_why() -> None:
    got = apply(fixed(1_000, min_order=10_000), amount=9_999, lines=())
    assert got == Applied(0, 0, "below the minimum order")


def test_exactly_the_minimum_order_qualifies() -> None:
    assert apply(fixed(1_000, min_order=10_000), amount=10_000, lines=()).discount == 1_000


def test_the_minimum_order_is_read_on_the_whole_basket_not_the_eligible_part() -> None:
    # 20% off coffee for baskets of 100.00: the basket is 105.00, its coffee 70.00.
    got = apply(percent("20", categories=("coffee",), min_order=10_000), amount=10_500, lines=BASKET)
    assert (got.discount, got.eligible) == (1_400, 7_000)


def test_minimum_order_applies_to_free_products_too() -> None:
    got = apply(free("LATTE", min_order=20_000), amount=10_500, lines=BASKET)
    assert got == Applied(0, 0, "below the minimum order")


# --- categories and SKUs ------------------------------------------------------------------------


def test_categories_limit_the_amount_a_percent_applies_to() -> None:
    got = apply(percent("10", categories=("kitchen",)), amount=10_500, lines=BASKET)
    assert (got.discount, got.eligible) == (350, 3_500)


def test_skus_limit_the_amount_a_percent_applies_to() -> None:
    got = apply(percent("10", skus=("LATTE",)), amount=10_500, lines=BASKET)
    assert (got.discount, got.eligible) == (300, 3_000)


def test_a_line_counts_once_when_it_matches_by_sku_and_by_category() -> None:
    got = apply(percent("10", skus=("LATTE",), categories=("coffee", "kitchen")), amount=10_500, lines=BASKET)
    assert got.eligible == 10_500


def test_categories_and_skus_together_take_either() -> None:
    got = apply(percent("10", skus=("MUG",), categories=("food",)), amount=10_500, lines=(*BASKET, Line("DATES", "food", 3, 500)))
    assert got.eligible == 3_500 + 1_500


def test_eligible_items_never_count_for_more_than_the_basket() -> None:
    # The order total after other discounts is below what the listed lines add up to.
    got = apply(percent("50", categories=("coffee",)), amount=5_000, lines=BASKET)
    assert (got.discount, got.eligible) == (2_500, 5_000)


def test_no_eligible_item_gives_nothing_and_says_why() -> None:
    got = apply(percent("10", categories=("food",)), amount=10_500, lines=BASKET)
    assert got == Applied(0, 0, "no item in the basket is eligible")


def test_a_basket_sent_without_lines_is_not_eligible_for_a_narrowed_coupon() -> None:
    got = apply(fixed(500, skus=("LATTE",)), amount=10_500, lines=())
    assert got.discount == 0 and got.reason == "no item in the basket is eligible"


def test_a_line_without_category_never_matches_a_category() -> None:
    got = apply(percent("10", categories=("coffee",)), amount=2_000, lines=(Line("GIFT-CARD", None, 1, 2_000),))
    assert got.discount == 0


# --- free product -------------------------------------------------------------------------------


def test_free_product_gives_one_unit() -> None:
    got = apply(free("LATTE"), amount=10_500, lines=BASKET)
    assert got.discount == 1_500 and got.reason is None


def test_free_product_picks_the_cheapest_matching_units_first() -> None:
    # The same SKU at two prices (a promotion line and a full-price line): the cheaper go free.
    lines = (Line("LATTE", "coffee", 2, 1_800), Line("LATTE", "coffee", 3, 1_200), MUG)
    assert apply(free("LATTE", quantity=1), amount=12_500, lines=lines).discount == 1_200
    assert apply(free("LATTE", quantity=3), amount=12_500, lines=lines).discount == 3 * 1_200
    assert apply(free("LATTE", quantity=4), amount=12_500, lines=lines).discount == 3 * 1_200 + 1_800


def test_free_product_gives_no_more_units_than_the_basket_holds() -> None:
    assert apply(free("LATTE", quantity=5), amount=10_500, lines=BASKET).discount == 2 * 1_500


def test_free_product_never_takes_more_than_the_basket() -> None:
    # Lines at list price, the order total after another discount.
    got = apply(free("BEANS"), amount=2_500, lines=BASKET)
    assert got.discount == 2_500


def test_free_product_missing_from_the_basket_gives_nothing_and_says_which() -> None:
    got = apply(free("DATES"), amount=10_500, lines=BASKET)
    assert got == Applied(0, 0, "the basket holds no DATES")


def test_free_product_respects_the_coupons_maximum() -> None:
    # A campaign may set max_discount on any type (DiscountIn allows it); "never more than the maximum".
    got = apply(free("BEANS", max_discount=1_000), amount=10_500, lines=BASKET)
    assert got.discount == 1_000


# --- the stored form ----------------------------------------------------------------------------


def test_a_discount_round_trips_through_json() -> None:
    terms = percent("12.5", min_order=5_000, max_discount=800, categories=("coffee",), skus=("MUG",))
    assert Discount.from_json(terms.to_json()) == terms
    gift = free("LATTE", quantity=2)
    assert Discount.from_json(gift.to_json()) == gift


def test_a_discount_cannot_be_changed_once_made() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        fixed(100).amount = 200  # type: ignore[misc]


# --- properties ---------------------------------------------------------------------------------

SKUS = {"LATTE": "coffee", "BEANS": "coffee", "MUG": "kitchen", "DATES": "food", "CARD": None}

lines_st = st.lists(
    st.builds(
        lambda sku, quantity, price: Line(sku, SKUS[sku], quantity, price),
        st.sampled_from(sorted(SKUS)), st.integers(1, 5), st.integers(0, 50_000),
    ),
    max_size=6,
)
percent_st = st.decimals(min_value="0.01", max_value="100", places=2).map(str)  # as stored: "12.50"
common = {
    "min_order": st.integers(0, 60_000),
    "max_discount": st.none() | st.integers(0, 20_000),
}
narrowing = {
    "categories": st.lists(st.sampled_from(["coffee", "kitchen", "food", "toys"]), max_size=2, unique=True).map(tuple),
    "skus": st.lists(st.sampled_from(sorted(SKUS)), max_size=2, unique=True).map(tuple),
}
discounts_st = st.one_of(
    st.builds(fixed, st.integers(1, 80_000), **common, **narrowing),
    st.builds(percent, percent_st, **common, **narrowing),
    st.builds(free, st.sampled_from(sorted(SKUS)), st.integers(1, 4), **common),
)


@st.composite
def baskets(draw: st.DrawFn) -> tuple[int, tuple[Line, ...]]:
    """Lines and an order total: usually what the lines add up to, sometimes less (other discounts)
    or more (items the till did not list)."""
    lines = tuple(draw(lines_st))
    listed = sum(line.quantity * line.unit_price for line in lines)
    amount = draw(st.one_of(st.just(listed), st.integers(0, max(listed, 1) * 2)))
    return amount, lines


@given(discount=discounts_st, basket=baskets())
def test_a_discount_is_never_negative_nor_more_than_the_basket(discount: Discount, basket: tuple[int, tuple[Line, ...]]) -> None:
    amount, lines = basket
    got = apply(discount, amount=amount, lines=lines)
    assert 0 <= got.discount <= amount
    if discount.type != "free_product":
        assert got.discount <= got.eligible <= amount


@given(discount=discounts_st, basket=baskets())
def test_a_discount_never_exceeds_the_coupons_maximum(discount: Discount, basket: tuple[int, tuple[Line, ...]]) -> None:
    amount, lines = basket
    got = apply(discount, amount=amount, lines=lines)
    if discount.max_discount is not None:
        assert got.discount <= discount.max_discount


@given(discount=discounts_st, basket=baskets())
def test_below_the_minimum_order_always_gives_zero_with_a_reason(discount: Discount, basket: tuple[int, tuple[Line, ...]]) -> None:
    amount, lines = basket
    got = apply(discount, amount=amount, lines=lines)
    if amount < discount.min_order:
        assert got == Applied(0, 0, "below the minimum order")
    # Whatever the cause, nothing off always comes with a reason the till can show.
    if got.discount == 0:
        assert got.reason


@given(discount=discounts_st, basket=baskets())
def test_a_percent_is_the_floor_of_its_share_of_the_eligible_amount(discount: Discount, basket: tuple[int, tuple[Line, ...]]) -> None:
    amount, lines = basket
    got = apply(discount, amount=amount, lines=lines)
    if discount.type == "percent" and got.eligible:
        # Exact integer arithmetic: percent has at most two decimals.
        hundredths = round(float(discount.percent) * 100)
        exact = got.eligible * hundredths // 10_000
        cap = discount.max_discount if discount.max_discount is not None else exact
        assert got.discount == min(exact, cap)


@given(discount=discounts_st, basket=baskets())
def test_a_free_product_is_its_cheapest_matching_units(discount: Discount, basket: tuple[int, tuple[Line, ...]]) -> None:
    amount, lines = basket
    got = apply(discount, amount=amount, lines=lines)
    if discount.type == "free_product":
        matching = [line for line in lines if line.sku == discount.free_sku]
        units = sorted(price for line in matching for price in [line.unit_price] * line.quantity)
        cheapest = sum(units[: discount.free_quantity])
        if amount >= discount.min_order and discount.max_discount is None:
            assert got.discount == min(cheapest, amount)
