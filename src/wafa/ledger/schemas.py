"""API shapes of balances, history, redemptions, holds and adjustments."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from wafa.inputs import Amount, Count, Line, Moment


class Expiring(BaseModel):
    days_30: int
    days_60: int
    days_90: int


class BalanceRead(BaseModel):
    member_id: int
    available: int = Field(description="points the member can spend now (negative while a debt is owed)")
    pending: int = Field(description="points waiting for the return window to close")
    held: int = Field(description="points reserved by open holds")
    debt: int = Field(description="points owed after a return took back points already spent")
    wallet_debt: dict[str, int] | None = Field(
        None, description="only while the wallet owes money: what it owes by currency, in minor units, after a return took back "
        "cashback already spent; new cashback repays it first, and the wallet pays for nothing until then",
    )
    expiring: Expiring
    points_name: dict[str, str]


class WalletCurrency(BaseModel):
    currency: str
    available: str = Field(description="money the member can spend, in major units (negative while a debt is owed)")
    pending: str = Field(description="cashback waiting for the return window to close")
    debt: int | None = Field(
        None, description="only while the wallet owes money: what it owes, in minor units, after a return took back cashback "
        "already spent; new cashback repays it first, and the wallet pays for nothing until then",
    )


class WalletRead(BaseModel):
    member_id: int
    currencies: list[WalletCurrency]


class EntryRead(BaseModel):
    id: int
    kind: str
    points: int = Field(description="change to the member's available and pending points (0 for wallet money)")
    reason: str
    event_id: int | None
    details: dict[str, Any] | None
    partner: str | None = Field(None, description="in a coalition: the key of the partner where it was earned or spent")
    created_at: datetime


class EntryPage(BaseModel):
    items: list[EntryRead]
    next_cursor: str | None


class RedemptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    points: Count = Field(ge=1, le=10**12)
    reason: Line = Field(min_length=1, max_length=500)
    partner: Line | None = Field(
        None, min_length=1, max_length=64, description="in a coalition: the key of the partner where the points are spent "
        "(a partner's own API key implies it); the operator pays the partner for them",
    )


class RedemptionRead(BaseModel):
    entry_id: int
    member_id: int
    points: int
    balance: int


class HoldIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    points: Count = Field(ge=1, le=10**12)
    reason: Line = Field(min_length=1, max_length=500)
    partner: Line | None = Field(
        None, min_length=1, max_length=64, description="in a coalition: the key of the partner where the points are spent "
        "(a partner's own API key implies it); the operator pays the partner for them",
    )


class CaptureIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    points: Count | None = Field(None, ge=1, le=10**12, description="capture part of the hold; the rest goes back")


class HoldRead(BaseModel):
    id: int
    member_id: int
    points: int
    captured_points: int
    status: Literal["open", "captured", "voided", "lapsed"]
    reason: str
    created_at: datetime
    expires_at: datetime
    resolved_at: datetime | None


class AdjustmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    points: Count = Field(ge=-(10**12), le=10**12, description="positive credits, negative debits; never zero")
    reason: Line = Field(min_length=3, max_length=500)
    expires_at: Moment | None = Field(None, description="credits only; default: the program's expiry policy")


class AdjustmentRead(BaseModel):
    entry_id: int
    member_id: int
    points: int
    balance: int


class WalletDebitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: Amount = Field(description='money to pay from the wallet, e.g. "12.50"')
    currency: Line = Field(min_length=3, max_length=3)
    reason: Line = Field(min_length=1, max_length=500)
    order_id: Line | None = Field(
        None, min_length=1, max_length=128, description="the order paid: its return gives the money back, per the program's policy"
    )
    partner: Line | None = Field(
        None, min_length=1, max_length=64, description="in a coalition: the key of the partner where the money is spent "
        "(a partner's own API key implies it); the operator pays the partner for them",
    )


class WalletDebitRead(BaseModel):
    entry_id: int
    member_id: int
    amount: str
    currency: str
    available: str = Field(description="what is left in the wallet in this currency")


class WalletEntryRead(BaseModel):
    id: int
    kind: str
    currency: str
    available: str = Field(description="change to the available wallet")
    pending: str = Field(description="change to the pending wallet")
    reason: str
    event_id: int | None
    created_at: datetime


class WalletEntryPage(BaseModel):
    items: list[WalletEntryRead]
    next_cursor: str | None


class PointsValue(BaseModel):
    points: int
    value: str | None = Field(description="points x the program's point cost, in its base currency (null until a cost is set)")


class LiabilityRead(BaseModel):
    """Points outstanding and what they are worth; what moved in the period."""

    as_of: datetime
    period_from: datetime
    period_to: datetime
    currency: str
    point_cost: str
    available: PointsValue
    pending: PointsValue
    held: PointsValue
    outstanding: PointsValue = Field(description="available + pending + held: what members could still spend")
    debt: int = Field(description="points members owe after returns of spent points (not netted above)")
    breakage_rate: str | None = Field(description="expired ÷ (expired + redeemed) over the program's history; null with no history")
    expected_breakage: PointsValue | None = Field(description="outstanding x breakage rate: points expected never to be spent")
    issued: int = Field(description="points credited in the period (purchases, rules, triggers)")
    reversed: int = Field(description="points taken back by returns in the period")
    expired: int
    adjusted: int = Field(description="net manual adjustments in the period")
    redeemed_by_type: dict[str, PointsValue]
