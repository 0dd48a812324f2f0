"""API shapes of events: purchases and returns in, what they did out."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

Decimal_ = Annotated[
    str,
    Field(pattern=r"^\s*\d{1,15}(\.\d{1,6})?\s*$", description='a decimal string in major units, e.g. "120.50"', examples=["120.50"]),
]


class MemberRef(BaseModel):
    """Who the event is for: the shop's id for the member, or Wafa's id."""

    model_config = ConfigDict(extra="forbid")
    external_id: str | None = Field(None, min_length=1, max_length=128)
    id: int | None = Field(None, ge=1, le=2**63 - 1)

    @model_validator(mode="after")
    def _one(self) -> MemberRef:
        if (self.external_id is None) == (self.id is None):
            raise ValueError("give exactly one of external_id or id")
        return self


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: str = Field(min_length=1, max_length=64)
    category: str | None = Field(None, max_length=64)
    brand: str | None = Field(None, max_length=64)
    quantity: int = Field(ge=1, le=1_000_000)
    unit_price: Decimal_


class PurchaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["purchase"]
    member: MemberRef | None = Field(None, description="omit for a purchase by someone who is not a member")
    order_id: str = Field(min_length=1, max_length=128)
    amount: Decimal_
    currency: str = Field(min_length=3, max_length=3)
    occurred_at: AwareDatetime | None = Field(None, description="defaults to the time Wafa receives it")
    items: list[Item] | None = Field(None, max_length=500)
    channel: str | None = Field(None, max_length=32)
    store: str | None = Field(None, max_length=64)


class ReturnItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: str = Field(min_length=1, max_length=64)
    quantity: int = Field(ge=1, le=1_000_000)


class ReturnIn(BaseModel):
    """A return of part of an order (by items or by amount) or, with neither, of all that is left."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["return"]
    order_id: str = Field(min_length=1, max_length=128)
    return_id: str | None = Field(
        None, min_length=1, max_length=128, description="the shop's id for this return: a repeat with the same id replays the first result"
    )
    member: MemberRef | None = None
    items: list[ReturnItem] | None = Field(None, min_length=1, max_length=500)
    amount: Decimal_ | None = Field(None, description="money refunded, in the order's currency")
    occurred_at: AwareDatetime | None = None
    channel: str | None = Field(None, max_length=32)
    store: str | None = Field(None, max_length=64)


EventIn = Annotated[PurchaseIn | ReturnIn, Field(discriminator="type")]


class Award(BaseModel):
    points: int
    status: Literal["pending", "available"]
    available_at: datetime
    expires_at: datetime | None
    entry_id: int


class Reversal(BaseModel):
    points: int
    from_pending: int
    from_available: int
    entry_id: int | None


class EventResult(BaseModel):
    event_id: int
    type: str
    order_id: str | None
    member_id: int | None
    amount: str
    currency: str
    occurred_at: datetime
    award: Award | None = Field(None, description="purchases: the points earned")
    not_awarded_reason: str | None = None
    reversal: Reversal | None = Field(None, description="returns: the points taken back")
    returned_amount: str | None = Field(None, description="returns: money returned by this event")
    balance: dict[str, int] | None = Field(None, description="the member's balances after the event")


class RuleAward(BaseModel):
    rule_id: int
    version: int
    name: dict[str, str]
    points: int
    cashback: str = Field(description="money into the wallet, in the event's currency")
    stamps: dict[str, int]
    rewards: list[str]
    capped_by: str | None
    line: str = Field(description="how the member's history would explain it")


class Simulation(BaseModel):
    """What a purchase would award now, rule by rule; nothing is written."""

    base_points: int
    awards: list[RuleAward]
    total_points: int
    note: str = "simulation only: per-member caps and budgets are read as unused"
