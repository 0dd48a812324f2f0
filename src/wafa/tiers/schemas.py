"""API shapes of tiers: the policy, the tiers, a member's tier and its history."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from wafa.inputs import Amount, Count, Line, Moment

Key = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]*$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TierPolicyIn(_Strict):
    metric: Literal["points_earned", "money_spent", "purchases"] = Field(
        "points_earned", description="points earned (net of returns; spending never demotes), money spent (base currency) or orders"
    )
    window: Literal["rolling", "calendar_year"] = Field("rolling", description="the last `months` months, or the program's local year")
    months: Count = Field(12, ge=1, le=60)
    grace_days: Count = Field(30, ge=0, le=365, description="a member who no longer qualifies at a review keeps the tier this long")
    max_drop: Count = Field(1, ge=1, le=20, description="at most this many tiers down per review")
    thresholds: dict[Key, Amount] | None = Field(
        None, description="with a change of metric, every tier's new threshold in the new unit, by key (tier key -> value)"
    )


class TierPolicyRead(BaseModel):
    metric: Literal["points_earned", "money_spent", "purchases"]
    window: Literal["rolling", "calendar_year"]
    months: int
    grace_days: int
    max_drop: int
    updated_at: datetime | None


class Benefits(_Strict):
    earn_multiplier: Amount = Field("1", description="base points of purchases are multiplied by this (1 to 10)")
    welcome_points: Count = Field(0, ge=0, le=10**9, description="points given once, the first time a member reaches the tier")
    flags: list[Annotated[Line, Field(min_length=1, max_length=64)]] = Field(
        default_factory=list, max_length=50, description="free-form benefits a shop reads (free_delivery, priority_service)"
    )

    @field_validator("earn_multiplier")
    @classmethod
    def _multiplier(cls, value: str) -> str:
        if not 1 <= Decimal(value) <= 10:
            raise ValueError("earn_multiplier is between 1 and 10")
        return str(Decimal(value).normalize())


class TierIn(_Strict):
    key: Key = Field(description="the tier's name to rules (tier conditions) and rewards, unique in the program")
    name_en: Line = Field(min_length=1, max_length=200)
    name_ar: Line = Field(min_length=1, max_length=200)
    rank: Count = Field(ge=0, le=1000, description="higher is better; unique")
    threshold: Amount = Field(description="in the policy's metric: points, money in the base currency, or orders")
    benefits: Benefits = Field(default_factory=Benefits)


class TierUpdate(_Strict):
    name_en: Line | None = Field(None, min_length=1, max_length=200)
    name_ar: Line | None = Field(None, min_length=1, max_length=200)
    threshold: Amount | None = None
    benefits: Benefits | None = None


class TierRead(BaseModel):
    id: int
    key: str
    name: dict[str, str]
    rank: int
    threshold: str
    benefits: dict[str, Any]


class TierPage(BaseModel):
    items: list[TierRead]


class NextTier(BaseModel):
    tier: TierRead
    to_go: str = Field(description="what is still needed, in the policy's metric")
    by: datetime | None = Field(description="the end of the qualification window (calendar year); null for a rolling window")


class Floor(BaseModel):
    tier: TierRead
    until: datetime | None
    reason: str | None


class MemberTierRead(BaseModel):
    member_id: int
    tier: TierRead | None
    since: datetime | None
    secured_until: datetime | None = Field(description="kept at least until then, whatever the metric does")
    grace_until: datetime | None = Field(description="set while a member who no longer qualifies keeps the tier for the grace period")
    floor: Floor | None = Field(description="a tier set by hand, below which reviews do not go until its date")
    metric: str
    value: str = Field(description="the member's metric over the window now")
    next: NextTier | None
    progress: str = Field(description='e.g. "1,240 of 3,000 points, 1,760 to go by 2026-12-31"')
    benefits: dict[str, Any]


class TierSetIn(_Strict):
    tier: Key | None = Field(description="the tier to set (null: lift a floor set before)")
    reason: Line = Field(min_length=1, max_length=500)
    until: Moment | None = Field(None, description="reviews keep the member at least in this tier until then (null: for good)")


class TierChangeRead(BaseModel):
    id: int
    from_tier: str | None
    to_tier: str | None
    cause: str
    value: str | None
    reason: str | None
    at: datetime


class TierHistoryPage(BaseModel):
    items: list[TierChangeRead]
    next_cursor: str | None
