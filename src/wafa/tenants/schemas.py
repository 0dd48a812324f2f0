"""API shapes of the tenant (its names) and of API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from wafa.inputs import Line

# A benefit flag as tiers and plans carry it (their `flags`).
BenefitKey = Annotated[Line, Field(min_length=1, max_length=64)]


class BenefitName(BaseModel):
    model_config = ConfigDict(extra="forbid")
    en: Line = Field(min_length=1, max_length=100)
    ar: Line = Field(min_length=1, max_length=100)


class TenantRead(BaseModel):
    id: int
    slug: str
    name: str = Field(description="the name shown in English (and in Arabic when name_ar is empty)")
    name_ar: str | None = Field(description="the name shown in Arabic")
    status: str
    benefit_names: dict[str, BenefitName] = Field(
        description="names of the program's own benefit flags (the `flags` of tiers and plans), by flag"
    )


class TenantUpdate(BaseModel):
    """Fields to change; omitted ones stay as they are."""

    model_config = ConfigDict(extra="forbid")
    name: Line | None = Field(None, min_length=1, max_length=200)
    name_ar: Line | None = Field(None, max_length=200, description="an empty string removes the Arabic name")
    benefit_names: dict[BenefitKey, BenefitName | None] | None = Field(
        None, max_length=200, description="benefit names to add or change, by flag; null removes one"
    )


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Line = Field(min_length=1, max_length=200)
    scopes: list[Line] = Field(min_length=1, max_length=10, description="admin, read, members:write, events:write, redeem")


class ApiKeyRead(BaseModel):
    id: int
    name: str
    prefix: str
    scopes: list[str]
    partner_id: int | None = Field(None, description="a coalition partner's key: the partner it acts for")
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyRead):
    secret: str = Field(description="shown once; Wafa keeps only its hash")
