"""API shapes of members."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from wafa.inputs import Day, Flag, Line


class Consent(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: Flag = False
    sms: Flag = False
    push: Flag = False
    whatsapp: Flag = False


class MemberCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    external_id: Line = Field(min_length=1, max_length=128, description="the member's id in the shop's systems")
    name: Line | None = Field(None, max_length=200)
    email: EmailStr | None = None
    phone: Line | None = Field(None, max_length=32, description="international (+966...) or national for the program's region")
    locale: Literal["ar", "en"] = "ar"
    birth_date: Day | None = None
    city: Line | None = Field(None, min_length=1, max_length=100)
    consent: Consent = Consent()
    referral_code: Line | None = Field(
        None, min_length=1, max_length=32, description="the referral code of the member who brought this one (refused ones are recorded)"
    )
    partner: Line | None = Field(
        None, min_length=1, max_length=64,
        description="in a coalition: the key of the partner the member joins through (a partner's API key implies it)",
    )


class MemberUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Line | None = Field(None, max_length=200)
    email: EmailStr | None = None
    phone: Line | None = Field(None, max_length=32)
    locale: Literal["ar", "en"] | None = None
    birth_date: Day | None = None
    city: Line | None = Field(None, min_length=1, max_length=100)
    consent: Consent | None = None


class StatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Line = Field(min_length=1, max_length=500)
    write_off_debt: Flag = Field(False, description="closing only: write off what the member owes (points, wallet money) in the ledger")


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
    erased_at: datetime | None = Field(None, description="when the member's personal data was erased (status is then closed)")
    enrolled_at: datetime
    updated_at: datetime


class MemberPage(BaseModel):
    items: list[MemberRead]
    next_cursor: str | None
