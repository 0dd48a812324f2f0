"""Custom segment definitions, no database: typed conditions over what is known of a member (RFM segment,
tier, last purchase, total spend, churn risk, the rules' member attributes), combined with all/any/not,
and their evaluation against one member's facts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from wafa.inputs import Count, Day, Line, Number, TypedDigits, decimal_pattern
from wafa.rules.engine import age_band

Names = Annotated[list[Annotated[Line, Field(min_length=1, max_length=64)]], Field(min_length=1, max_length=100)]
Money = Annotated[str, Field(pattern=decimal_pattern(15, 6)), TypedDigits]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RfmSegment(_Strict):
    type: Literal["rfm_segment"]
    any_of: Names


class TierIs(_Strict):
    type: Literal["tier"]
    any_of: Names


class LastPurchase(_Strict):
    """The member's last kept purchase: before and/or after a day, or within the last N days (none: never bought)."""

    type: Literal["last_purchase"]
    before: Day | None = None
    after: Day | None = None
    within_days: Count | None = Field(None, ge=1, le=3650)

    @model_validator(mode="after")
    def _some(self) -> LastPurchase:
        if self.before is None and self.after is None and self.within_days is None:
            raise ValueError("give before, after or within_days")
        return self


class TotalSpend(_Strict):
    """Money kept over all time, in the base currency."""

    type: Literal["total_spend"]
    at_least: Money | None = None
    at_most: Money | None = None

    @model_validator(mode="after")
    def _some(self) -> TotalSpend:
        if self.at_least is None and self.at_most is None:
            raise ValueError("give at_least or at_most")
        return self


class ChurnRisk(_Strict):
    """1 - P(alive) from the newest lifetime-value fit (members without one never match)."""

    type: Literal["churn_risk"]
    at_least: Number = Field(ge=0, le=1)


class Attribute(_Strict):
    type: Literal["member_attribute"]
    attribute: Literal["locale", "city", "age_band"]
    any_of: Names


class All(_Strict):
    type: Literal["all"]
    conditions: list[SegmentCondition] = Field(min_length=1, max_length=50)


class Any_(_Strict):
    type: Literal["any"]
    conditions: list[SegmentCondition] = Field(min_length=1, max_length=50)


class Not(_Strict):
    type: Literal["not"]
    condition: SegmentCondition


SegmentCondition = Annotated[
    RfmSegment | TierIs | LastPurchase | TotalSpend | ChurnRisk | Attribute | All | Any_ | Not, Field(discriminator="type")
]
All.model_rebuild()
Any_.model_rebuild()
Not.model_rebuild()


@dataclass(frozen=True, slots=True)
class Facts:
    """What a segment may ask of a member."""

    rfm_segment: str | None
    tier: str | None
    last_purchase: date | None  # the local day of the member's last kept purchase
    total_spend: int  # base currency, minor units
    churn_risk: float | None
    locale: str | None
    city: str | None
    birth_date: date | None


def needs_churn(conditions: list[SegmentCondition]) -> bool:
    """Whether a definition asks for churn risk (a per-member prediction: costly)."""
    def walk(c: SegmentCondition) -> bool:
        match c:
            case ChurnRisk():
                return True
            case All(conditions=parts) | Any_(conditions=parts):
                return any(walk(p) for p in parts)
            case Not(condition=part):
                return walk(part)
        return False

    return any(walk(c) for c in conditions)


def matches(conditions: list[SegmentCondition], facts: Facts, *, today: date, to_minor: dict[str, int]) -> bool:
    """Whether the member's facts meet every condition. `to_minor` holds each money bound in minor units."""
    return all(_one(c, facts, today, to_minor) for c in conditions)


def _one(c: SegmentCondition, f: Facts, today: date, to_minor: dict[str, int]) -> bool:
    match c:
        case RfmSegment(any_of=names):
            return f.rfm_segment in names
        case TierIs(any_of=names):
            return f.tier is not None and f.tier.lower() in {n.lower() for n in names}
        case LastPurchase(before=before, after=after, within_days=days):
            if f.last_purchase is None:
                return False
            day = f.last_purchase
            return (before is None or day < before) and (after is None or day > after) and (
                days is None or day >= today - timedelta(days=days)
            )
        case TotalSpend(at_least=low, at_most=high):
            return (low is None or f.total_spend >= to_minor[low]) and (high is None or f.total_spend <= to_minor[high])
        case ChurnRisk(at_least=threshold):
            return f.churn_risk is not None and f.churn_risk >= threshold
        case Attribute(attribute=attribute, any_of=names):
            if attribute == "age_band":
                return age_band(f.birth_date, today) in names
            return getattr(f, attribute) in names
        case All(conditions=parts):
            return all(_one(p, f, today, to_minor) for p in parts)
        case Any_(conditions=parts):
            return any(_one(p, f, today, to_minor) for p in parts)
        case Not(condition=part):
            return not _one(part, f, today, to_minor)
    raise ValueError(f"unknown condition {c!r}")


def money_bounds(conditions: list[SegmentCondition]) -> set[str]:
    """Every money bound written in the definition (to parse once into minor units)."""
    out: set[str] = set()

    def walk(c: SegmentCondition) -> None:
        match c:
            case TotalSpend(at_least=low, at_most=high):
                out.update(v for v in (low, high) if v is not None)
            case All(conditions=parts) | Any_(conditions=parts):
                for p in parts:
                    walk(p)
            case Not(condition=part):
                walk(part)

    for c in conditions:
        walk(c)
    return out

