"""API shapes of members' data rights: the export, the erasure, the consent history, the retention period."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from wafa.inputs import Count, Flag
from wafa.programs.service import MAX_RETENTION_YEARS


class MemberExport(BaseModel):
    """Everything the program holds about one member, section by section (each a list of rows as objects)."""

    format: Literal["wafa.member-export"]
    version: int = Field(description="1: rows gain fields within a version; anything else is a new version")
    member_id: int
    exported_at: datetime
    sections: dict[str, list[dict[str, Any]]] = Field(
        description="profile, consent_changes, accounts, entries, postings, lots, holds, events, reward_redemptions, coupons, tier, "
        "memberships, referrals, achievements, survey_answers, messages, ... (one per table that names the member)",
    )


class ErasureIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    forfeit_balance: Flag = Field(
        False, description="forfeit the points and wallet money the member still holds (pending ones included), by ledger entries",
    )
    write_off_debt: Flag = Field(False, description="write off what the member owes after a return (a negative balance), by ledger entries")


class ErasureRead(BaseModel):
    member_id: int
    status: Literal["erased"] = "erased"
    erased_at: datetime
    already_erased: bool = Field(description="true: erased by an earlier request, at erased_at; this one did nothing")
    forfeited_points: int = 0
    written_off_points: int = 0
    forfeited_money: dict[str, int] = Field(default_factory=dict, description="minor units by currency")
    written_off_money: dict[str, int] = Field(default_factory=dict, description="minor units by currency")


class ConsentChangeRead(BaseModel):
    id: int
    channel: Literal["email", "sms", "whatsapp", "push"]
    granted: bool
    source: str = Field(description="where: api, console, portal, import, unsubscribe, in_store, erasure")
    actor: str | None = Field(description="who: an API key, a console user's e-mail, the retention period")
    at: datetime


class ConsentChangePage(BaseModel):
    items: list[ConsentChangeRead]
    next_cursor: str | None


class RetentionRead(BaseModel):
    anonymise_inactive_after_years: int | None = Field(
        description="members with no event, ledger entry or portal sign-in for this many years are anonymised by the worker; null: never",
    )


class RetentionUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    anonymise_inactive_after_years: Count | None = Field(ge=1, le=MAX_RETENTION_YEARS, description="years; null: never")
