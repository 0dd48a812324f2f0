"""Pydantic: an experiment as created and read, its results per arm, shipping, and a member's arms."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from wafa.inputs import Count, Flag, Line

KEY_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
ARM_PATTERN = r"^[a-z][a-z0-9_]{0,15}$"
SUBJECTS = ("rules", "offers", "campaigns")
METRICS = ("purchases", "revenue", "redemptions", "retention")
STATUSES = ("draft", "running", "ended", "shipped")


class ArmIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: Annotated[str, Field(pattern=ARM_PATTERN, description='"a", "b", ...; "holdout" is reserved')]
    weight: Count = Field(1, ge=1, le=100)


class ExperimentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: Annotated[str, Field(pattern=KEY_PATTERN, description="a slug, unique in the program")]
    name: Annotated[Line, Field(min_length=1, max_length=200)]
    subject: Literal["rules", "offers", "campaigns"]
    holdout_percent: Count = Field(10, ge=0, le=50, description="the share of members held out of every arm, 0-50")
    arms: list[ArmIn] = Field(min_length=1, max_length=5)
    primary_metric: Literal["purchases", "revenue", "redemptions", "retention"]
    horizon_days: Count = Field(ge=1, le=365, description="results are provisional until this many days after the start")

    @field_validator("arms")
    @classmethod
    def _distinct_arms(cls, arms: list[ArmIn]) -> list[ArmIn]:
        keys = [arm.key for arm in arms]
        if len(set(keys)) != len(keys):
            raise ValueError("arm keys must be distinct")
        if "holdout" in keys:
            raise ValueError('"holdout" is not an arm key: it names the members held out')
        return arms


class ArmRead(BaseModel):
    key: str
    weight: int


class ExperimentRead(BaseModel):
    id: int
    key: str
    name: str
    subject: str
    holdout_percent: int
    arms: list[ArmRead]
    primary_metric: str
    horizon_days: int
    status: Literal["draft", "running", "ended", "shipped"]
    started_at: datetime | None
    ends_at: datetime | None
    ended_at: datetime | None
    shipped_arm: str | None
    shipped_at: datetime | None
    created_at: datetime
    updated_at: datetime


class ExperimentPage(BaseModel):
    items: list[ExperimentRead]


class ShipIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    arm: Annotated[str, Field(pattern=ARM_PATTERN)] | None = Field(None, description="the arm to ship; default: the winner")
    force: Flag = Field(False, description="ship before the horizon (recorded as forced in the audit trail)")


class MetricRead(BaseModel):
    name: Literal["purchases", "revenue", "redemptions", "retention"]
    mean: float = Field(description="per member in the arm (revenue in major units of the base currency)")
    holdout_mean: float
    difference: float = Field(description="arm mean minus holdout mean")
    low: float | None = Field(description="the interval's lower end (Bonferroni-corrected over the arms); null: too few members")
    high: float | None
    relative: float | None = Field(description="difference / holdout mean; null when the holdout mean is 0")
    p_value: float | None = Field(description="two-sided Welch p-value, multiplied by the number of arms (capped at 1)")


class ArmResult(BaseModel):
    arm: str
    members: int
    metrics: list[MetricRead]
    primary: MetricRead


class ResultsRead(BaseModel):
    key: str
    status: str
    primary_metric: str
    since: datetime
    until: datetime
    ends_at: datetime
    provisional: bool = Field(description="true before the horizon: the figures will move, do not decide on them")
    horizon_reached: bool
    confidence: float = Field(description="each arm's interval level: 1 - 0.05 / arms")
    holdout_members: int
    arms: list[ArmResult]
    winner: str | None = Field(description="the arm whose primary-metric interval lies wholly above 0 with the largest difference")
    currency: str


class MemberArmsRead(BaseModel):
    member_id: int
    arms: dict[str, str] = Field(description='running experiment key -> the member\'s arm, or "holdout"')
