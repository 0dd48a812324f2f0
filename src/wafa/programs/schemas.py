"""API shapes of the program settings."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from pydantic import BaseModel, ConfigDict, Field, field_validator

from wafa.errors import InvalidInput
from wafa.inputs import Count, Flag, Line, TypedDigits, decimal_pattern
from wafa.money import precision

# Points per one major unit of a currency, as a string of ASCII digits ("1", "3.75").
_RATE = re.compile(decimal_pattern(7, 8))
# What one point costs the program, in the base currency ("0.05").
PointCost = Annotated[str, Field(pattern=decimal_pattern(9, 8), examples=["0.05"]), TypedDigits]


def _currency_code(code: str) -> str:
    try:
        precision(code)
    except InvalidInput as exc:
        raise ValueError(exc.detail) from None
    return code.upper()


class PointsName(BaseModel):
    model_config = ConfigDict(extra="forbid")
    en: Line = Field(min_length=1, max_length=64)
    ar: Line = Field(min_length=1, max_length=64)


class ExpiryPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    policy: Literal["none", "days", "end_of_month", "end_of_year"] = "none"
    periods: Count = Field(0, ge=0, le=3650, description="days for `days`; months or years later for end_of_*")


def _check_rate(value: str) -> str:
    # A string of ASCII digits (wafa.inputs), checked here so that the problem names `earn_rates`.
    if not _RATE.fullmatch(value):
        raise ValueError(f"{value!r} is not a decimal rate of ASCII digits, such as \"1\" or \"3.75\"")
    try:
        rate = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a decimal rate") from None
    if not rate.is_finite() or rate < 0 or rate > 1_000_000:
        raise ValueError("a rate is a decimal between 0 and 1,000,000 points per unit")
    return str(rate)


class ProgramUpdate(BaseModel):
    """Fields to change; omitted ones stay as they are."""

    model_config = ConfigDict(extra="forbid")
    points_name: PointsName | None = None
    base_currency: Line | None = Field(None, min_length=3, max_length=3)
    earn_rates: dict[Line, str] | None = Field(
        None, description='points per one major unit of each accepted currency, e.g. {"SAR": "1", "JOD": "10"}'
    )
    rounding: Literal["floor", "half_up", "ceil"] | None = None
    pending_days: Count | None = Field(None, ge=0, le=365)
    expiry: ExpiryPolicy | None = None
    timezone: Line | None = Field(None, max_length=64)
    default_region: Line | None = Field(None, min_length=2, max_length=2)
    block_redemptions_in_debt: Flag | None = None
    min_redemption: Count | None = Field(None, ge=1, le=10**9)
    hold_ttl_seconds: Count | None = Field(None, ge=30, le=86400)
    redemption_step: Count | None = Field(None, ge=1, le=10**6, description="redemptions spend whole multiples of this")
    point_cost: PointCost | None = Field(None, description='what one point costs the program in the base currency, e.g. "0.05"')

    return_restores: Literal["proportional", "none"] | None = Field(
        None, description="what a return gives back of the wallet money and coupons that paid the order"
    )
    numerals: Literal["latn", "arab"] | None = Field(
        None, description="digits the member portal and console show: latn (0-9) or arab (Arabic-Indic)"
    )
    reenrol_debt: Literal["carry", "refuse", "ignore"] | None = Field(
        None, description="a member enrolling with the e-mail or phone of a closed member who left a debt: "
        "carry the debt over, refuse the enrolment, or ignore it",
    )
    tier_return_policy: Literal["keep", "demote"] | None = Field(
        None, description="a return that takes a member below a tier won within tier_return_days: keep the tier, "
        "or demote at once and claw back the tier's welcome points",
    )
    tier_return_days: Count | None = Field(None, ge=1, le=365)

    @field_validator("earn_rates")
    @classmethod
    def _rates(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("at least one currency must be accepted")
        out = {}
        for code, rate in value.items():
            out[_currency_code(code)] = _check_rate(rate)
        return out

    @field_validator("base_currency")
    @classmethod
    def _currency(cls, value: str | None) -> str | None:
        return _currency_code(value) if value is not None else None

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("default_region")
    @classmethod
    def _region(cls, value: str | None) -> str | None:
        # National phone numbers are read in this region: one phonenumbers does not know reads none.
        if value is not None and value.upper() not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"unknown region {value!r}")
        return value


class ProgramRead(BaseModel):
    points_name: PointsName
    base_currency: str
    earn_rates: dict[str, str]
    rounding: str
    pending_days: int
    expiry: ExpiryPolicy
    timezone: str
    default_region: str
    block_redemptions_in_debt: bool
    min_redemption: int
    hold_ttl_seconds: int
    redemption_step: int
    point_cost: str
    return_restores: str
    numerals: str = "latn"
    anonymise_inactive_after_years: int | None = Field(None, description="set with PUT /v1/program/retention")
    reenrol_debt: str = "carry"
    tier_return_policy: str = "keep"
    tier_return_days: int = 30
