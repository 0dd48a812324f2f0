"""API shapes of paid memberships."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from wafa.inputs import Amount, Count, Flag, Line

Key = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]*$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PlanBenefits(_Strict):
    earn_multiplier: Amount = Field("1", description="base points of purchases are multiplied by this (with the tier's)")
    monthly_points: Count = Field(0, ge=0, le=10**9, description="points granted each month the membership is in force")
    flags: list[Annotated[Line, Field(min_length=1, max_length=64)]] = Field(default_factory=list, max_length=50)

    @field_validator("earn_multiplier")
    @classmethod
    def _multiplier(cls, value: str) -> str:
        if not 1 <= Decimal(value) <= 10:
            raise ValueError("earn_multiplier is between 1 and 10")
        return format(Decimal(value).normalize(), "f")


class PlanIn(_Strict):
    key: Key
    name_en: Line = Field(min_length=1, max_length=200)
    name_ar: Line = Field(min_length=1, max_length=200)
    interval: Literal["month", "year"]
    price: Amount
    currency: Line | None = Field(None, min_length=3, max_length=3, description="defaults to the program's base currency")
    trial_days: Count = Field(0, ge=0, le=365)
    grace_days: Count = Field(7, ge=0, le=90, description="an unpaid renewal keeps the membership this long, then it lapses")
    benefits: PlanBenefits = Field(default_factory=PlanBenefits)


class PlanRead(BaseModel):
    id: int
    key: str
    name: dict[str, str]
    interval: str
    price: str
    currency: str
    trial_days: int
    grace_days: int
    benefits: dict[str, Any]
    status: str
    created_at: datetime


class PlanPage(BaseModel):
    items: list[PlanRead]


class SubscribeIn(_Strict):
    plan: Key


class CancelIn(_Strict):
    at_period_end: Flag = Field(True, description="keep the benefits to the end of the paid period (false: end now)")


class ChangePlanIn(_Strict):
    plan: Key = Field(description="the plan to move to (the current plan's key drops a scheduled change)")
    when: Literal["period_end", "now"] = Field(
        "period_end", description="period_end: from the next paid period, charged at the new price; now: its benefits at once, "
        "the paid period unchanged (any price difference is settled by the shop)"
    )


class PaymentIn(_Strict):
    status: Literal["paid", "failed"]
    amount: Amount
    currency: Line = Field(min_length=3, max_length=3)
    provider_ref: Line | None = Field(None, max_length=200, description="the payment provider's id for it (no card data)")


class MembershipRead(BaseModel):
    id: int
    member_id: int
    plan: PlanRead
    status: str = Field(description="incomplete, trialing, active, past_due, cancelled or lapsed")
    period_start: datetime | None
    period_end: datetime | None
    grace_until: datetime | None
    cancel_at_period_end: bool
    next_plan: str | None = Field(description="the plan the next paid period moves to, if a change is scheduled")
    ended_at: datetime | None
    created_at: datetime


class MembershipPage(BaseModel):
    items: list[MembershipRead]


class PlanUpdate(_Strict):
    name_en: Line | None = Field(None, min_length=1, max_length=200)
    name_ar: Line | None = Field(None, min_length=1, max_length=200)
    status: Literal["active", "archived"] | None = Field(None, description="an archived plan takes no new members; its members renew")
    benefits: PlanBenefits | None = None


class LogRead(BaseModel):
    id: int
    type: str
    details: dict[str, Any] | None
    at: datetime


class MembershipHistory(BaseModel):
    membership_id: int
    payments: list[dict[str, Any]] = Field(description="every payment reported, newest first")
    log: list[LogRead] = Field(description="what happened, newest first")


class PaymentRead(BaseModel):
    id: int
    membership: MembershipRead
    status: str
    amount: str
    currency: str
    provider_ref: str | None
    period_start: datetime | None
    period_end: datetime | None
    created_at: datetime
