"""API shapes of events: purchases, returns and custom events in, what they did out; event types; batches."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

from wafa.inputs import Amount, Count, Flag, Id, JsonObject, Line, Moment, Text

# Kept for the domains that import it: money in major units as a string of ASCII digits ("120.50").
Decimal_ = Amount


class MemberRef(BaseModel):
    """Who the event is for: the shop's id for the member, or Wafa's id."""

    model_config = ConfigDict(extra="forbid")
    external_id: Line | None = Field(None, min_length=1, max_length=128)
    id: Id | None = None

    @model_validator(mode="after")
    def _one(self) -> MemberRef:
        if (self.external_id is None) == (self.id is None):
            raise ValueError("give exactly one of external_id or id")
        return self


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: Line = Field(min_length=1, max_length=64)
    category: Line | None = Field(None, max_length=64)
    brand: Line | None = Field(None, max_length=64)
    quantity: Count = Field(ge=1, le=1_000_000)
    unit_price: Amount
    earns: Flag = Field(
        True, description="false for a discounted or reward line: it earns nothing unless a rule says so"
    )


class PurchaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["purchase"]
    member: MemberRef | None = Field(None, description="omit for a purchase by someone who is not a member")
    order_id: Line = Field(min_length=1, max_length=128)
    amount: Amount
    currency: Line = Field(min_length=3, max_length=3)
    occurred_at: Moment | None = Field(None, description="defaults to the time Wafa receives it")
    items: list[Item] | None = Field(None, max_length=500)
    channel: Line | None = Field(None, max_length=32)
    store: Line | None = Field(None, max_length=64)
    card: Line | None = Field(
        None, min_length=1, max_length=64,
        description="a token the till or payment provider gives for the payment card (never its number): velocity limits "
        "per card count by it",
    )
    coupons: list[Annotated[Line, Field(min_length=1, max_length=64)]] | None = Field(
        None, max_length=20, description="coupon codes presented at checkout (rules may ask for one)"
    )
    partner: Line | None = Field(
        None, min_length=1, max_length=64,
        description="in a coalition: the key of the partner where the purchase happened (a partner's own API key implies it, "
        "and so does a store of the partner's); its order ids are kept as `<partner>:<order id>`",
    )


class ReturnItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: Line = Field(min_length=1, max_length=64)
    quantity: Count = Field(ge=1, le=1_000_000)


class ReturnIn(BaseModel):
    """A return of part of an order (by items or by amount) or, with neither, of all that is left."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["return"]
    order_id: Line = Field(min_length=1, max_length=128)
    return_id: Line | None = Field(
        None, min_length=1, max_length=128, description="the shop's id for this return: a repeat with the same id replays the first result"
    )
    member: MemberRef | None = None
    items: list[ReturnItem] | None = Field(None, min_length=1, max_length=500)
    amount: Amount | None = Field(None, description="money refunded, in the order's currency")
    occurred_at: Moment | None = None
    channel: Line | None = Field(None, max_length=32)
    store: Line | None = Field(None, max_length=64)
    partner: Line | None = Field(
        None, min_length=1, max_length=64,
        description="in a coalition: the key of the partner the order was bought at, so `order_id` is that partner's own "
        "(a partner's API key implies it)",
    )


class PurchaseCoupon(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: Line = Field(min_length=1, max_length=64)


class CustomEventIn(BaseModel):
    """An event of a type the tenant declared, for a member: its attributes must meet the type's schema."""

    model_config = ConfigDict(extra="forbid")
    type: str = Field(pattern=r"^[a-z][a-z0-9_]{1,63}$", description="a declared event type, e.g. review_written")
    member: MemberRef
    reference: Line | None = Field(
        None, min_length=1, max_length=128,
        description="the sender's id for this event: a repeat with the same reference (same type and member) replays the first result",
    )
    # Free-form, held to the text rule at every depth, and finite: 1e400 parses as infinity, which JSON
    # cannot carry back out (and PostgreSQL refuses to store, as it refuses NUL).
    attributes: JsonObject = Field(default_factory=dict, description="checked against the type's JSON schema")
    occurred_at: Moment | None = None
    channel: Line | None = Field(None, max_length=32)
    store: Line | None = Field(None, max_length=64)


def event_kind(value: Any) -> str | None:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    if kind is None:
        return None  # no type at all: the error names "type"
    return kind if kind in ("purchase", "return") else "custom"


EventIn = Annotated[
    Annotated[PurchaseIn, Tag("purchase")] | Annotated[ReturnIn, Tag("return")] | Annotated[CustomEventIn, Tag("custom")],
    Discriminator(event_kind),
]


class Award(BaseModel):
    """The points an event credited: the base earn and every rule's points, in one entry and one lot."""

    points: int
    status: Literal["pending", "available", "held"] = Field(
        description="held: past a velocity limit, pending until someone approves (review_id) or rejects it"
    )
    available_at: datetime
    expires_at: datetime | None
    entry_id: int


class RuleAwarded(BaseModel):
    """What one rule gave for an event (or, in a reversal, took back)."""

    rule_id: int
    version: int
    name: dict[str, str]
    points: int
    cashback: str = Field(description="money into the wallet, in the event's currency (major units)")
    stamps: dict[str, int]
    rewards: list[str]
    capped_by: str | None = Field(None, description="the cap or budget that cut this award short")
    line: str = Field(description="how the member's history explains it")
    entry_id: int | None = Field(None, description="the ledger entry of the points")


class Reversal(BaseModel):
    points: int = Field(description="base points taken back")
    from_pending: int
    from_available: int
    entry_id: int | None
    rules: list[RuleAwarded] = Field(default_factory=list, description="what each rule's award gave back")
    total_points: int = Field(0, description="base and rule points taken back")
    payments_restored: list[dict[str, Any]] = Field(
        default_factory=list, description="wallet money and coupons given back, per the program's return_restores policy"
    )


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
    rules: list[RuleAwarded] = Field(default_factory=list, description="what each rule gave, in the order applied")
    total_points: int = Field(0, description="base and rule points earned (the award's points)")
    reference: str | None = Field(None, description="custom events: the sender's id for the event")
    attributes: dict[str, Any] | None = Field(None, description="custom events: the attributes as recorded")
    balance: dict[str, int] | None = Field(None, description="the member's balances after the event")
    review_id: int | None = Field(None, description="purchases past a velocity limit: the review that holds their points")


def _simulated_kind(value: Any) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return "purchase" if kind == "purchase" else "custom"


# What POST /v1/events:simulate and `wafa rules simulate` take: a purchase or a custom event.
SimulatedEventIn = Annotated[
    Annotated[PurchaseIn, Tag("purchase")] | Annotated[CustomEventIn, Tag("custom")],
    Discriminator(_simulated_kind),
]


class Simulation(BaseModel):
    """What an event would award now, rule by rule; nothing is written."""

    base_points: int
    awards: list[RuleAwarded]
    total_points: int
    note: str = "simulation only: nothing is written"


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # Each is read as an EventIn (strictly) when it is recorded; a refused one is that item's problem.
    events: list[dict[str, Any]] = Field(
        min_length=1, max_length=1000,
        description="purchases, returns and custom events, as for POST /v1/events; each is checked and recorded on its own",
    )


class BatchItem(BaseModel):
    index: int
    status: int = Field(description="the status POST /v1/events would have answered for this event")
    result: EventResult | None = None
    problem: dict[str, Any] | None = Field(None, description="the problem details, when the event was refused")


class BatchResult(BaseModel):
    recorded: int
    replayed: int
    refused: int
    items: list[BatchItem]


class EventTypeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[a-z][a-z0-9_]{1,63}$", description="lowercase, digits, underscores: review_written")
    description: Text | None = Field(None, max_length=500)
    attributes_schema: JsonObject = Field(
        default_factory=lambda: {"type": "object"}, description="a JSON Schema (draft 2020-12) the attributes must meet"
    )


class EventTypeUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    description: Text | None = Field(None, max_length=500)
    attributes_schema: JsonObject | None = None


class EventTypeRead(BaseModel):
    id: int
    name: str
    description: str | None
    attributes_schema: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class EventTypePage(BaseModel):
    items: list[EventTypeRead]
    next_cursor: str | None
