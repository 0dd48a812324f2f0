"""API shapes of analytics: lifetime-value fits and predictions."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from wafa.analytics.segment_rules import SegmentCondition
from wafa.inputs import Amount, Count, Day, Line, Number, TypedDigits, decimal_pattern


class ClvFitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    calibration_end: Day = Field(description="the last local day of the purchases the models learn from")
    unit: Literal["day", "week"] = "week"
    holdout_end: Day | None = Field(None, description="with it, predicted and actual repeat purchases after calibration_end are compared")


class ClvModelRead(BaseModel):
    id: int
    calibration_end: date
    holdout_end: date | None
    unit: str
    bgnbd: dict[str, float] = Field(description="r, alpha (purchase rates), a, b (dropping out), log_likelihood")
    gamma_gamma: dict[str, float] | None = Field(description="p, q, gamma (spend per purchase), log_likelihood")
    diagnostics: dict[str, Any]
    fitted_at: datetime


class MemberClv(BaseModel):
    member_id: int
    model_id: int
    unit: str
    horizon: int
    discount_rate: str
    purchases: dict[str, float] | None = Field(description="repeat purchases, recency and age in units (null: none yet)")
    probability_alive: float | None
    churn_risk: float | None = Field(description="1 - probability_alive")
    expected_purchases: float = Field(description="in the next `horizon` units")
    lifetime_value: str | None = Field(description="discounted spend over the horizon, base currency (null without a spend model)")
    currency: str


class RfmRead(BaseModel):
    id: int = Field(description="the member's id")
    recency_days: int
    frequency: int
    monetary: str = Field(description="money kept, base currency")
    r: int
    f: int
    m: int
    segment: str
    computed_at: datetime


class SegmentCount(BaseModel):
    key: str
    name: str
    members: int


class RfmSummary(BaseModel):
    computed_at: datetime | None
    members: int
    segments: list[SegmentCount]
    grid: list[list[int]] = Field(description="members by recency score (rows, 1 to 5) and frequency score (columns, 1 to 5)")


class RfmPage(BaseModel):
    items: list[RfmRead]
    next_cursor: str | None


class AcquisitionSpendIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: Amount = Field(description="base currency, major units")


class AcquisitionSpendRead(BaseModel):
    month: str
    amount: str
    currency: str


class SegmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]*$", description="how rules and rewards name it")
    name_en: Line = Field(min_length=1, max_length=200)
    name_ar: Line = Field(min_length=1, max_length=200)
    conditions: list[SegmentCondition] = Field(min_length=1, max_length=50, description="all must hold")


class SegmentUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name_en: Line | None = Field(None, min_length=1, max_length=200)
    name_ar: Line | None = Field(None, min_length=1, max_length=200)
    conditions: list[SegmentCondition] | None = Field(None, min_length=1, max_length=50)


class SegmentRead(BaseModel):
    id: int
    key: str
    name: dict[str, str]
    conditions: list[SegmentCondition]
    members: int
    computed_at: datetime | None
    created_at: datetime


class SegmentPage(BaseModel):
    items: list[SegmentRead]


class SegmentMembersPage(BaseModel):
    items: list[int] = Field(description="member ids")
    next_cursor: str | None


class SegmentSize(BaseModel):
    at: datetime
    members: int


class AbcPolicyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    weights: dict[Line, Number] = Field(description="volume, growth, margin, payment_speed, tenure: non-negative, normalised")
    a_share: Number = Field(0.2, gt=0, lt=1, description="share of members ranked A")
    b_share: Number = Field(0.3, ge=0, lt=1, description="share ranked B after them")
    months: Count = Field(12, ge=1, le=60, description="the window of volume, margin and payment speed; growth compares it with the one before")


class AbcSummary(BaseModel):
    computed_at: datetime | None
    A: int
    B: int
    C: int
    weights: dict[str, float]
    a_share: float
    b_share: float
    months: int


class AbcRead(BaseModel):
    member_id: int
    abc_class: str
    score: float = Field(description="weighted mean of the factor percentiles, 0 to 1")
    factors: dict[str, float] = Field(description="each factor's percentile among members who have it")
    computed_at: datetime


class RfmHistory(BaseModel):
    at: datetime
    segments: dict[str, int]


class KpiSet(BaseModel):
    """One period's KPIs (definitions in the README). Money in major units of the base currency; rates 0 to 1."""

    from_: date = Field(alias="from")
    to: date
    currency: str
    members_enrolled: int
    active_members: int
    participation_rate_orders: float | None
    participation_rate_revenue: float | None
    retention_rate: float | None
    churn_rate: float | None
    repeat_purchase_rate: float | None
    purchase_frequency: float | None
    orders: int
    member_orders: int
    revenue: str
    member_revenue: str
    aov_members: str | None
    aov_non_members: str | None
    aov_before_enrolment: str | None
    aov_after_enrolment: str | None
    aov_lift: float | None
    members_with_orders_before_and_after_enrolment: int
    top20_revenue_share: float | None
    historic_clv: str | None
    acquisition_spend: str | None
    acquisition_cost_per_member: str | None
    clv_to_cac: float | None
    points_issued: int
    points_redeemed: int
    points_expired: int
    redemption_rate: float | None
    breakage_rate: float | None
    outstanding_points: int
    outstanding_liability: str | None
    nps: float | None
    nps_responses: int

    model_config = ConfigDict(populate_by_name=True)


class KpiReport(BaseModel):
    period: KpiSet
    previous: KpiSet | None = None
    change: dict[str, float | None] | None = Field(None, description="relative change of each number against the previous period")


class Cohort(BaseModel):
    month: str
    members: int
    active: list[int] = Field(description="members of the cohort with a purchase in its month and each month after")
    retention: list[float]


class Cohorts(BaseModel):
    from_: date = Field(alias="from")
    to: date
    cohorts: list[Cohort]

    model_config = ConfigDict(populate_by_name=True)


GoalKpi = Literal["purchase_frequency", "retention_rate", "participation_rate_revenue", "aov_members", "nps", "clv_to_cac"]
# A KPI's target: a signed decimal string of ASCII digits ("0.25", "-10", "150.00").
Target = Annotated[str, Field(pattern=decimal_pattern(12, 6, signed=True)), TypedDigits]


class GoalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kpi: GoalKpi = Field(description="the KPI aimed at, as /v1/analytics/kpis names it")
    target: Target = Field(description="in the KPI's unit: rates 0 to 1, NPS -100 to 100, money in major units of the base currency")
    starts_on: Day = Field(description="first local day of the goal")
    ends_on: Day = Field(description="last local day of the goal (inclusive)")


class GoalUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kpi: GoalKpi | None = None
    target: Target | None = None
    starts_on: Day | None = None
    ends_on: Day | None = None


class GoalPoint(BaseModel):
    on: date = Field(description="the last day this value covers: the goal's KPI from its first day to this one")
    value: str | None


class GoalRead(BaseModel):
    id: int
    kpi: GoalKpi
    unit: Literal["rate", "money", "score", "number"]
    currency: str
    target: str
    starts_on: date
    ends_on: date
    measured_to: date | None = Field(description="the last day the actual covers (today, or ends_on once over); null before the goal starts")
    actual: str | None = Field(description="the KPI over the goal's days so far")
    baseline: str | None = Field(description="the KPI over as many days just before the goal starts")
    progress: float | None = Field(description="actual ÷ target (1 or more: reached)")
    met: bool | None
    trend: list[GoalPoint] = Field(description="the actual as it stood at the end of each day, week or month of the goal so far")
    created_at: datetime
    updated_at: datetime


class GoalPage(BaseModel):
    items: list[GoalRead]
