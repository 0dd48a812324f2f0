"""Rules as validated data: triggers, conditions, actions, windows, caps (Pydantic discriminated unions).

A rule is stored as the JSON of RuleDefinition; the engine (rules/engine.py) evaluates it as a pure
function. Money amounts are decimal strings in major units of the event's currency.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from wafa.inputs import Count, Flag, Line, Moment, Number, Text, TimeOfDay, TypedDigits, decimal_pattern

# Decimals are strings of ASCII digits (wafa.inputs): a rule is stored as written and read back as such.
Money = Annotated[str, Field(pattern=decimal_pattern(15, 6), description='decimal string in major units, e.g. "100.00"'), TypedDigits]
Ratio = Annotated[str, Field(pattern=decimal_pattern(9, 6), description='a non-negative decimal, e.g. "2" or "0.5"'), TypedDigits]
Names = Annotated[list[Annotated[Line, Field(min_length=1, max_length=64)]], Field(min_length=1, max_length=500)]
BUILT_IN_TRIGGERS = ("purchase", "return", "enrolment", "birthday", "profile_completed")
CUSTOM_TYPE = re.compile(r"^[a-z][a-z0-9_]{1,63}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- conditions -----------------------------------------------------------------------------


class AllOf(_Strict):
    type: Literal["all"]
    conditions: list[Condition] = Field(min_length=1, max_length=50)


class AnyOf(_Strict):
    type: Literal["any"]
    conditions: list[Condition] = Field(min_length=1, max_length=50)


class Not(_Strict):
    type: Literal["not"]
    condition: Condition


class OrderAmount(_Strict):
    """The order's amount is at least and/or at most these bounds."""

    type: Literal["order_amount"]
    at_least: Money | None = None
    at_most: Money | None = None

    @model_validator(mode="after")
    def _a_bound(self) -> OrderAmount:
        if self.at_least is None and self.at_most is None:
            raise ValueError("give at_least, at_most or both")
        return self


class ItemFilter(_Strict):
    """Lines whose SKU, category or brand is listed (a line matches if any given list names it)."""

    skus: Names | None = None
    categories: Names | None = None
    brands: Names | None = None
    include_non_earning: Flag = Field(
        False, description="also count discounted or reward lines, which earn nothing unless a rule says so"
    )

    @model_validator(mode="after")
    def _a_list(self) -> ItemFilter:
        if not (self.skus or self.categories or self.brands):
            raise ValueError("give skus, categories or brands")
        return self


class Items(_Strict):
    """The order holds matching lines: at least `min_quantity` of them and, optionally, `min_amount` worth."""

    type: Literal["items"]
    match: ItemFilter
    min_quantity: Count = Field(1, ge=1, le=1_000_000)
    min_amount: Money | None = None


class Channel(_Strict):
    type: Literal["channel"]
    any_of: Names


class Store(_Strict):
    type: Literal["store"]
    any_of: Names


class NthPurchase(_Strict):
    """This is the member's n-th purchase (n=1: the first)."""

    type: Literal["nth_purchase"]
    n: Count = Field(ge=1, le=100_000)


AGE_BANDS = ("under_18", "18_24", "25_34", "35_44", "45_54", "55_64", "65_plus", "unknown")


class MemberAttribute(_Strict):
    type: Literal["member_attribute"]
    attribute: Literal["locale", "city", "age_band"]
    any_of: Names


class Tier(_Strict):
    type: Literal["tier"]
    any_of: Names


class Segment(_Strict):
    type: Literal["segment"]
    any_of: Names


class Experiment(_Strict):
    """The member is in one of these arms of a running experiment ("holdout" names the members held out)."""

    type: Literal["experiment"]
    experiment: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$", description="the experiment's key")
    arms: Annotated[list[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,15}$")]], Field(min_length=1, max_length=6)]


class Offer(_Strict):
    """The member holds a live personal offer with one of these keys."""

    type: Literal["offer"]
    any_of: Names


# A value compared with a custom event's attribute: JSON's own types, each as itself (true is not 1).
Scalar = Text | Count | Number | Flag


class EventAttribute(_Strict):
    """Compare an attribute of a custom event (dotted path into its attributes)."""

    type: Literal["event_attribute"]
    path: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$", max_length=200)
    op: Literal["eq", "ne", "gt", "gte", "lt", "lte", "in", "contains", "exists"]
    value: Scalar | list[Scalar] | None = None

    @model_validator(mode="after")
    def _value_fits(self) -> EventAttribute:
        if self.op == "in" and not isinstance(self.value, list):
            raise ValueError("op 'in' needs a list value")
        if self.op not in ("in", "exists") and (self.value is None or isinstance(self.value, list)):
            raise ValueError(f"op {self.op!r} needs a single value")
        return self


class Coupon(_Strict):
    """A coupon code was presented (any, or one of these)."""

    type: Literal["coupon"]
    codes: Names | None = None


Condition = Annotated[
    AllOf | AnyOf | Not | OrderAmount | Items | Channel | Store | NthPurchase | MemberAttribute | Tier | Segment
    | EventAttribute | Coupon | Experiment | Offer,
    Field(discriminator="type"),
]
AllOf.model_rebuild()
AnyOf.model_rebuild()
Not.model_rebuild()


# --- actions --------------------------------------------------------------------------------


class PointsPerUnit(_Strict):
    """`points` for every `per` of money spent: on the whole order, or on matching lines only."""

    type: Literal["points_per_unit"]
    points: Ratio
    per: Money = "1"
    match: ItemFilter | None = Field(None, description="count only these lines; omit for the whole order")

    @field_validator("per")
    @classmethod
    def _positive(cls, value: str) -> str:
        if Decimal(value) <= 0:
            raise ValueError("per must be more than zero")
        return value


class FixedPoints(_Strict):
    type: Literal["fixed_points"]
    points: Count = Field(ge=1, le=10**9)


class Multiplier(_Strict):
    """Multiply the program's base earn: factor 2 means double points (the rule adds one more base)."""

    type: Literal["multiplier"]
    factor: Ratio


class PointsPerQuantity(_Strict):
    type: Literal["points_per_quantity"]
    points: Count = Field(ge=1, le=10**6)
    match: ItemFilter | None = None


class Cashback(_Strict):
    """A percentage of the (matching) amount back into the member's wallet, in the order's currency."""

    type: Literal["cashback"]
    percent: Ratio
    match: ItemFilter | None = None

    @field_validator("percent")
    @classmethod
    def _at_most_all(cls, value: str) -> str:
        # More than 100% would pay back more than was spent.
        if Decimal(value) > 100:
            raise ValueError("percent is at most 100")
        return value


class Stamps(_Strict):
    """Stamps on a stamp card: `count` per order, or per matching item with `per_item`."""

    type: Literal["stamps"]
    card: Line = Field(min_length=1, max_length=64)
    count: Count = Field(1, ge=1, le=1000)
    per_item: Flag = False
    match: ItemFilter | None = None


class IssueReward(_Strict):
    type: Literal["issue_reward"]
    reward: Line = Field(min_length=1, max_length=64)


Action = Annotated[
    PointsPerUnit | FixedPoints | Multiplier | PointsPerQuantity | Cashback | Stamps | IssueReward,
    Field(discriminator="type"),
]


# --- when and how much ------------------------------------------------------------------------


class Hours(_Strict):
    """Local time of day, from (inclusive) to (exclusive); `to` before `from` wraps past midnight."""

    start: TimeOfDay = Field(alias="from")
    end: TimeOfDay = Field(alias="to")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Window(_Strict):
    """When a rule applies, in the program's time zone."""

    starts_at: Moment | None = None
    ends_at: Moment | None = None
    days_of_week: list[Annotated[Count, Field(ge=0, le=6)]] | None = Field(None, description="0 = Monday ... 6 = Sunday")
    hours: Hours | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class Caps(_Strict):
    """Limits on the points a rule awards (and on its cashback, for `budget_money`)."""

    per_order: Count | None = Field(None, ge=1)
    per_member_day: Count | None = Field(None, ge=1)
    per_member_week: Count | None = Field(None, ge=1)
    per_member_month: Count | None = Field(None, ge=1)
    per_member_lifetime: Count | None = Field(None, ge=1)
    budget_points: Count | None = Field(None, ge=1, description="the rule's total points, across all members")
    budget_money: Money | None = Field(
        None,
        description="the rule's total cashback, in the program's base currency; "
        "a rule with a money budget gives no cashback on orders in other currencies",
    )


class RuleDefinition(_Strict):
    """What a rule says; stored as JSON, versioned on every change."""

    name_en: Line = Field(min_length=1, max_length=200)
    name_ar: Line = Field(min_length=1, max_length=200)
    trigger: Line = Field(description="purchase, return, enrolment, birthday, profile_completed, or a declared custom event type")
    conditions: list[Condition] = Field(default_factory=list, max_length=50, description="all must hold")
    actions: list[Action] = Field(min_length=1, max_length=20)
    priority: Count = Field(0, ge=-1000, le=1000, description="higher runs first")
    stackable: Flag = True
    window: Window = Window()
    caps: Caps = Caps()
    partner: Line | None = Field(
        None, min_length=1, max_length=64,
        description="in a coalition: a partner's own rule, applied only to events at that partner (by its key), whose points "
        "and cashback the partner pays for",
    )

    @field_validator("trigger")
    @classmethod
    def _trigger(cls, value: str) -> str:
        if value not in BUILT_IN_TRIGGERS and not CUSTOM_TYPE.fullmatch(value):
            raise ValueError("a trigger is a built-in one or a custom event type (lowercase, digits, underscores)")
        return value

    def dump(self) -> dict[str, Any]:
        dumped = self.model_dump(mode="json", by_alias=True, exclude_defaults=False)
        if dumped.get("partner") is None:
            dumped.pop("partner", None)  # rules outside a coalition read as they always have
        return dumped


# --- API shapes ---------------------------------------------------------------------------------


class RuleCreate(RuleDefinition):
    status: Literal["draft", "active"] = "draft"


class RuleStatusChange(_Strict):
    status: Literal["active", "paused", "ended"]


class RuleRead(BaseModel):
    id: int
    version: int
    status: Literal["draft", "active", "paused", "ended"]
    definition: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class RulePage(BaseModel):
    items: list[RuleRead]
    next_cursor: str | None


class StampsRead(BaseModel):
    """What the rules have given a member that is counted rather than posted: stamps and named rewards."""

    member_id: int
    stamps: dict[str, int] = Field(description="stamps per card, net of returns")
    rewards: dict[str, int] = Field(description="named rewards issued by rules, net of returns, per reward")
