"""The domain events: facts other domains react to, as frozen dataclasses.

Each carries the tenant, the member it is about and the moment (`now`) it was recorded; a handler
that needs more reads it. A member object and `locked` are passed along where the publisher has
them (the member loaded, their points accounts locked), so handlers need fewer round trips.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Message:
    tenant_id: int
    member_id: int
    now: datetime


@dataclass(frozen=True, slots=True)
class PurchaseRecorded(Message):
    """A member's purchase was recorded and its points (if any) credited; their accounts are locked."""

    event_id: int
    order_id: str
    occurred_at: datetime
    currency: str
    amount: int  # minor units
    points: int  # credited by this purchase (base and rules)
    active: bool  # whether the member could earn
    member: Any = field(default=None, compare=False)  # the Member row, as the publisher loaded it


@dataclass(frozen=True, slots=True)
class PurchaseReturned(Message):
    """Part or all of a member's purchase came back; its points were clawed back."""

    purchase_event_id: int
    return_event_id: int
    order_id: str
    amount: int  # minor units returned by this return
    points: int  # clawed back by this return


@dataclass(frozen=True, slots=True)
class PointsEarned(Message):
    """Points that count towards tiers were credited outside a purchase (a badge, a referral, a plan)."""

    points: int
    member: Any = field(default=None, compare=False)
    locked: bool = False  # the member's points accounts are locked already


@dataclass(frozen=True, slots=True)
class CustomEventRecorded(Message):
    """A custom or built-in trigger event of a member was recorded (enrolment, a survey answered, ...)."""

    event_id: int
    type: str
    points: int  # credited by its rules
    active: bool


@dataclass(frozen=True, slots=True)
class ReferralCompleted(Message):
    """A referral completed: `member_id` is the referee, `referrer_id` who referred them."""

    referral_id: int
    referrer_id: int | None


@dataclass(frozen=True, slots=True)
class TierChanged(Message):
    """A member moved to another tier (None: no tier), by qualifying, a review or by hand."""

    from_tier_id: int | None
    to_tier_id: int | None
    cause: str  # qualified, review, manual, ...


@dataclass(frozen=True, slots=True)
class MemberEnrolled(Message):
    """A member enrolled (through the API or the portal), with the referral code they gave, if any."""

    referral_code: str | None = None
    member: Any = field(default=None, compare=False)
