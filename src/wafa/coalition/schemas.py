"""API shapes of the coalition: the operator's settings, partners, stores, exchanges of own points,
settlements and statements, flows between partners."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from wafa.inputs import Count, Id, Line, TypedDigits, decimal_pattern

# ASCII digits only in the API; the console's partner form reads Arabic-Indic ones too (TypedDigits).
Decimal = Annotated[str, Field(min_length=1, max_length=24, pattern=decimal_pattern(12, 8), examples=["0.05"]), TypedDigits]
Fraction = Annotated[str, Field(min_length=1, max_length=12, pattern=r"^0(\.[0-9]{1,8})?$", examples=["0.05"]), TypedDigits]
Currency = Annotated[str, Field(min_length=3, max_length=3, pattern=r"^[A-Za-z]{3}$", examples=["SAR"])]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CoalitionIn(_Strict):
    breakage_policy: Literal["operator", "partners"] = Field(
        "operator", description="who keeps the money paid for points that expire: the operator, or the partners that paid for them",
    )


class CoalitionRead(BaseModel):
    breakage_policy: str
    partners: int
    created_at: datetime
    updated_at: datetime


class PartnerIn(_Strict):
    key: Line = Field(min_length=1, max_length=64, description="lowercase letters, digits, dashes; events name the partner by it")
    name: Line = Field(min_length=1, max_length=200)
    name_ar: Line | None = Field(None, max_length=200)
    currency: Currency = Field(description="the currency the partner settles in")
    period: Literal["monthly", "weekly"] = "monthly"
    earn_rate: Decimal = Field(description="points per one unit of money spent at the partner")
    issue_price: Decimal = Field(description="what the partner pays the operator per point its customers earn")
    redeem_value: Decimal = Field(description="what the operator pays the partner per point spent there")
    issue_fee: Fraction = Field("0", description="the operator's commission on points issued, a fraction of their price")
    redeem_fee: Fraction = Field("0", description="the operator's commission on points redeemed, a fraction of their value")
    own_points_name: Line | None = Field(None, min_length=1, max_length=64, description="a points currency of the partner's own")
    own_points_rate: Count | None = Field(None, ge=1, le=1_000_000, description="the partner's own points per coalition point")


class PartnerUpdate(_Strict):
    name: Line | None = Field(None, min_length=1, max_length=200)
    name_ar: Line | None = Field(None, max_length=200)
    status: Literal["active", "suspended"] | None = None
    currency: Currency | None = None
    period: Literal["monthly", "weekly"] | None = None
    earn_rate: Decimal | None = None
    issue_price: Decimal | None = None
    redeem_value: Decimal | None = None
    issue_fee: Fraction | None = None
    redeem_fee: Fraction | None = None
    own_points_name: Line | None = Field(None, min_length=1, max_length=64)
    own_points_rate: Count | None = Field(None, ge=1, le=1_000_000)


class StoreIn(_Strict):
    code: Line = Field(min_length=1, max_length=64, description="the `store` events name")
    name: Line = Field(min_length=1, max_length=200)
    city: Line | None = Field(None, max_length=100)


class StoreRead(BaseModel):
    code: str
    name: str
    city: str | None


class PartnerRead(BaseModel):
    id: int
    key: str
    name: str
    name_ar: str | None
    status: str
    currency: str
    period: str
    earn_rate: str
    issue_price: str
    redeem_value: str
    issue_fee: str
    redeem_fee: str
    own_points_name: str | None
    own_points_rate: int | None
    stores: list[StoreRead]
    created_at: datetime
    updated_at: datetime


class PartnerPage(BaseModel):
    items: list[PartnerRead]
    next_cursor: str | None


PartnerScope = Literal["members:write", "events:write", "redeem"]


def _every_partner_scope() -> list[PartnerScope]:
    return ["members:write", "events:write", "redeem"]


class PartnerKeyIn(_Strict):
    name: Line = Field(min_length=1, max_length=200)
    scopes: list[PartnerScope] = Field(default_factory=_every_partner_scope, min_length=1, max_length=3)


class ExchangeIn(_Strict):
    member_id: Id
    own_points: Count = Field(ge=1, le=10**12, description="the partner's own points the member brings")


class ExchangeRead(BaseModel):
    entry_id: int | None
    own_points: int
    carried: int = Field(description="own points kept from earlier exchanges, added to these")
    points: int = Field(description="coalition points credited: whole points only")
    kept: int = Field(description="own points kept for the next exchange (never lost)")
    rate: int
    rounding: str = "whole coalition points only; the rest is kept on the member's account of the partner's points"


class SettlementIn(_Strict):
    period: str = Field(pattern=r"^[0-9]{4}-([0-9]{2}|W[0-9]{2})$", description="2026-11 (monthly partners) or 2026-W47 (weekly partners)")


class StatementLine(BaseModel):
    code: str
    label: str
    points: int | None
    amount: str = Field(description="major units, signed as the net: positive means the operator pays the partner")


class StatementRead(BaseModel):
    id: int
    run_id: int
    party: str
    partner_id: int | None
    period: str
    starts_at: datetime
    ends_at: datetime
    currency: str
    points_issued: int
    points_redeemed: int
    lines: list[StatementLine]
    net: str = Field(description="major units: positive, the operator pays the partner; negative, the partner pays the operator")
    closed_at: datetime


class StatementPage(BaseModel):
    items: list[StatementRead]
    next_cursor: str | None


class SettlementRead(BaseModel):
    id: int
    period: str
    starts_at: datetime
    ends_at: datetime
    closed_by: str
    closed_at: datetime
    replayed: bool = Field(False, description="the period was closed before: its statements, unchanged")
    statements: list[StatementRead]


class FlowRead(BaseModel):
    earned_at: str | None = Field(description="the partner key where the points were earned (null: the operator's own points)")
    spent_at: str | None = Field(description="the partner key where they were spent (null: not at a partner)")
    points: int


class FlowsRead(BaseModel):
    since: datetime | None
    until: datetime
    flows: list[FlowRead]
