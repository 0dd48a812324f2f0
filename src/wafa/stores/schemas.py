"""API shapes of stores, nearby stores, check-ins and store imports."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from wafa.inputs import Count, Flag, JsonObject, Line, Number
from wafa.stores import hours as store_hours

CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
# An IANA zone's name (letters, digits, "/", "_", "+", "-"); whether the zone exists is checked by its validator.
ZONE_PATTERN = r"^[A-Za-z][A-Za-z0-9/_+-]{0,63}$"
CODE_DESCRIPTION = "the store's code on tills' events (`store`), which the rules' store condition matches: letters, digits, . _ -"
HOURS_EXAMPLE = {"mon": [["08:00", "22:00"]], "fri": [["14:00", "23:59"]], "sat": [["18:00", "02:00"]], "sun": []}
HOURS_DESCRIPTION = (
    "wall-clock intervals by weekday (mon … sun), in the store's time zone; several a day; one whose close is not after its "
    "open runs past midnight (18:00–02:00); a day left out is closed"
)
Latitude = Number
Longitude = Number


def _hours(value: Any) -> Any:
    try:
        return store_hours.check_hours(value)
    except store_hours.HoursError as exc:
        raise ValueError(str(exc)) from None


def _timezone(value: str) -> str:
    try:
        return store_hours.check_timezone(value)
    except store_hours.HoursError as exc:
        raise ValueError(str(exc)) from None


class StoreCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=CODE_PATTERN, description=CODE_DESCRIPTION, examples=["RUH-01"])
    name_en: Line = Field(min_length=1, max_length=200)
    name_ar: Line | None = Field(None, min_length=1, max_length=200)
    latitude: Latitude = Field(ge=-90, le=90, description="degrees north (WGS 84)")
    longitude: Longitude = Field(ge=-180, le=180, description="degrees east (WGS 84)")
    timezone: str = Field(max_length=64, pattern=ZONE_PATTERN, description="an IANA time zone", examples=["Asia/Riyadh"])
    hours: JsonObject = Field(default_factory=dict, description=HOURS_DESCRIPTION, examples=[HOURS_EXAMPLE])
    radius_m: Count = Field(150, ge=10, le=5000, description="how near (metres) a member must be to check in")
    active: Flag = True

    _check_hours = field_validator("hours")(_hours)
    _check_timezone = field_validator("timezone")(_timezone)


class StoreUpdate(BaseModel):
    """The fields to change; the rest stay as they are."""

    model_config = ConfigDict(extra="forbid")

    name_en: Line | None = Field(None, min_length=1, max_length=200)
    name_ar: Line | None = Field(None, min_length=1, max_length=200)
    latitude: Latitude | None = Field(None, ge=-90, le=90)
    longitude: Longitude | None = Field(None, ge=-180, le=180)
    timezone: str | None = Field(None, max_length=64, pattern=ZONE_PATTERN)
    hours: JsonObject | None = Field(None, description=HOURS_DESCRIPTION)
    radius_m: Count | None = Field(None, ge=10, le=5000)
    active: Flag | None = Field(None, description="false: no check-ins, and left out of nearby stores")

    @field_validator("hours")
    @classmethod
    def _check_hours(cls, value: Any) -> Any:
        return None if value is None else _hours(value)

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str | None) -> str | None:
        return None if value is None else _timezone(value)


class StoreRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name_en: str
    name_ar: str | None
    latitude: float
    longitude: float
    timezone: str
    hours: dict[str, list[list[str]]]
    radius_m: int
    active: bool
    created_at: datetime
    updated_at: datetime


class StorePage(BaseModel):
    items: list[StoreRead]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last page")


class NearbyStore(BaseModel):
    store: StoreRead
    distance_m: int = Field(description="from the point asked about, in whole metres")
    open_now: bool = Field(description="open at this moment, by its hours in its time zone")
    within_radius: bool = Field(description="near enough to check in (distance_m ≤ radius_m)")


class NearbyPage(BaseModel):
    items: list[NearbyStore] = Field(description="active stores within the distance asked, nearest first")


class CheckInIn(BaseModel):
    """Where the member is now: used to measure the distance to the store, and not kept."""

    model_config = ConfigDict(extra="forbid")

    store: str = Field(pattern=CODE_PATTERN, description="the store's code")
    latitude: Latitude = Field(ge=-90, le=90)
    longitude: Longitude = Field(ge=-180, le=180)


class CheckInRead(BaseModel):
    id: int
    member_id: int
    store: str = Field(description="the store's code")
    local_date: date = Field(description="the store's calendar day of the check-in (one check-in per store and day)")
    checked_in_at: datetime
    distance_m: int = Field(description="how far from the store the member was, in whole metres")
    event_id: int | None = Field(description="the `check_in` event it recorded (GET /v1/events/{id})")


class CheckInPage(BaseModel):
    items: list[CheckInRead]
    next_cursor: str | None = None


class ImportResult(BaseModel):
    created: int = Field(description="stores added")
    updated: int = Field(description="stores whose code was there already, changed to the file's values")
    codes: list[str] = Field(description="the codes in the file, in its order")
