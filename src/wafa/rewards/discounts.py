"""What a coupon takes off a basket: a pure function of the coupon's discount and the basket, in minor units.

A discount is stored as JSON on the coupon (so a coupon keeps the terms it was issued with when the
reward or campaign changes later) and read back here as a frozen value.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Any


@dataclass(frozen=True, slots=True)
class Discount:
    """A coupon's terms. Amounts are minor units of `currency`."""

    type: str  # "fixed", "percent" or "free_product"
    currency: str
    amount: int = 0
    percent: str = "0"
    min_order: int = 0
    max_discount: int | None = None
    categories: tuple[str, ...] = ()
    skus: tuple[str, ...] = ()
    free_sku: str | None = None
    free_quantity: int = 1

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type, "currency": self.currency, "amount": self.amount, "percent": self.percent,
            "min_order": self.min_order, "max_discount": self.max_discount, "categories": list(self.categories),
            "skus": list(self.skus), "free_sku": self.free_sku, "free_quantity": self.free_quantity,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Discount:
        return cls(
            type=data["type"], currency=data["currency"], amount=data.get("amount", 0), percent=data.get("percent", "0"),
            min_order=data.get("min_order", 0), max_discount=data.get("max_discount"),
            categories=tuple(data.get("categories") or ()), skus=tuple(data.get("skus") or ()),
            free_sku=data.get("free_sku"), free_quantity=data.get("free_quantity", 1),
        )


@dataclass(frozen=True, slots=True)
class Line:
    sku: str
    category: str | None
    quantity: int
    unit_price: int


@dataclass(frozen=True, slots=True)
class Applied:
    """The discount on a basket, or why there is none (`discount` 0 and a `reason`)."""

    discount: int
    eligible: int
    reason: str | None = None


def apply(discount: Discount, *, amount: int, lines: tuple[Line, ...]) -> Applied:
    """The discount a coupon gives on a basket of `amount` (the order total) with these lines.

    The minimum order is read on the whole basket; categories and SKUs limit what the discount applies
    to (a basket sent without lines is then not eligible: the till must say what it holds). The
    discount never exceeds what it applies to, nor the coupon's maximum.
    """
    if amount < discount.min_order:
        return Applied(0, 0, "below the minimum order")
    if discount.type == "free_product":
        matching = [line for line in lines if line.sku == discount.free_sku]
        if not matching:
            return Applied(0, 0, f"the basket holds no {discount.free_sku}")
        # The cheapest matching units go free, as many as the coupon gives.
        left, value = discount.free_quantity, 0
        for line in sorted(matching, key=lambda line: line.unit_price):
            take = min(left, line.quantity)
            value += take * line.unit_price
            left -= take
            if left == 0:
                break
        value = min(value, amount)
        if discount.max_discount is not None:
            value = min(value, discount.max_discount)
        # Nothing off (a free item priced 0, an empty order) still says why, as every other case does.
        return Applied(value, value, None if value else "the free item comes to nothing on this basket")
    if discount.categories or discount.skus:
        eligible = sum(
            line.quantity * line.unit_price
            for line in lines
            if line.sku in discount.skus or (line.category is not None and line.category in discount.categories)
        )
        eligible = min(eligible, amount)
        if eligible == 0:
            return Applied(0, 0, "no item in the basket is eligible")
    else:
        eligible = amount
    if discount.type == "fixed":
        value = min(discount.amount, eligible)
    else:
        value = int((Decimal(eligible) * Decimal(discount.percent) / 100).to_integral_value(rounding=ROUND_FLOOR))
    if discount.max_discount is not None:
        value = min(value, discount.max_discount)
    return Applied(value, eligible, None if value else "the discount comes to nothing on this basket")
