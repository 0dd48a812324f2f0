"""API shapes of referrals."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from wafa.events.schemas import Decimal_


class ReferralPolicyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    referrer_points: int = Field(0, ge=0, le=10**9)
    referee_points: int = Field(0, ge=0, le=10**9)
    referrer_reward: str | None = Field(None, max_length=64, description="a catalog reward's key given to the referrer")
    referee_reward: str | None = Field(None, max_length=64, description="a catalog reward's key given to the new member")
    min_purchase: Decimal_ = Field("0", description="the first purchase of at least this (base currency, kept after returns) completes it")
    max_per_month: int = Field(10, ge=1, le=10_000, description="referrals a member may make per month; more are refused")
    expire_days: int = Field(90, ge=1, le=3650, description="a referral with no qualifying purchase by then expires")


class ReferralPolicyRead(ReferralPolicyIn):
    updated_at: datetime | None


class ReferralRead(BaseModel):
    id: int
    referrer_id: int | None
    referee_id: int
    code: str
    status: str = Field(description="pending, completed, expired or refused")
    reason: str | None = Field(description="why it was refused or expired")
    purchase_event_id: int | None
    created_at: datetime
    completed_at: datetime | None


class MemberReferrals(BaseModel):
    member_id: int
    referral_code: str
    referred_by: ReferralRead | None
    referrals: list[ReferralRead]
