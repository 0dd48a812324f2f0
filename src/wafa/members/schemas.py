"""API shapes of members."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field


class Consent(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: bool = False
    sms: bool = False
    push: bool = False
    whatsapp: bool = False


class MemberCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    external_id: str = Field(min_length=1, max_length=128, description="the member's id in the shop's systems")
    name: str | None = Field(None, max_length=200)
    email: EmailStr | None = None
    phone: str | None = Field(None, max_length=32, description="international (+966...) or national for the program's region")
    locale: Literal["ar", "en"] = "ar"
    birth_date: date | None = None
    city: str | None = Field(None, min_length=1, max_length=100)
    consent: Consent = Consent()
    referral_code: str | None = Field(
        None, min_length=1, max_length=32, description="the referral code of the member who brought this one (refused ones are recorded)"
    )
    partner: str | None = Field(
        None, min_length=1, max_length=64,
        description="in a coalition: the key of the partner the member joins through (a partner's API key implies it)",
    )


class MemberUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, max_length=200)
    email: EmailStr | None = None
    phone: str | None = Field(None, max_length=32)
    locale: Literal["ar", "en"] | None = None
    birth_date: date | None = None
    city: str | None = Field(None, min_length=1, max_length=100)
    consent: Consent | None = None


class StatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=500)


class MemberRead(BaseModel):
    id: int
    external_id: str
    name: str | None
    email: str | None
    phone: str | None
    locale: str
    birth_date: date | None
    city: str | None
    consent: Consent
    profile_complete: bool = Field(description="name, e-mail, phone, birth date and city are all given")
    status: Literal["active", "suspended", "closed"]
    status_reason: str | None
    referral_code: str
    card_token: str
    partner_id: int | None = Field(None, description="in a coalition: the partner the member joined through")
    enrolled_at: datetime
    updated_at: datetime


class MemberPage(BaseModel):
    items: list[MemberRead]
    next_cursor: str | None
