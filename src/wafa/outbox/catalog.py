"""The catalog of outbox messages: each type's version, what it means, and its payload's JSON Schema.

A payload only gains optional fields within a version; anything else is a new version, announced
here. Every message reaches receivers in the same envelope (`Envelope`): the id, the type and its
version, the tenant's sequence number, the member, the time, and the payload as `data`. Points are
integers; money is in minor units with its currency; times are ISO 8601 in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Payload(BaseModel):
    model_config = ConfigDict(extra="allow")


class PointsEarned(_Payload):
    points: int = Field(gt=0, description="points credited")
    status: Literal["pending", "available"] = Field(description="pending until the return window closes")
    available_at: datetime
    expires_at: datetime | None
    kind: str = Field(description="earn (a purchase or custom event), badge, challenge, streak, tier, referral, ...")
    reason: str
    entry_id: int
    event_id: int | None = Field(None, description="the event that earned them, if any")
    order_id: str | None = None


class PointsAdjusted(_Payload):
    points: int = Field(description="positive: credited by hand; negative: debited by hand")
    reason: str
    entry_id: int
    actor: str | None = None


class PointsRedeemed(_Payload):
    points: int = Field(gt=0)
    reason: str
    entry_id: int
    kind: str


class PointsReversed(_Payload):
    points: int = Field(gt=0, description="taken back (what the member no longer had is owed as debt)")
    reason: str
    entry_id: int
    reverses_entry_id: int | None = Field(None, description="the credit taken back")
    event_id: int | None = Field(None, description="the return (or other event) that took them back")


class PointsReleased(_Payload):
    points: int = Field(gt=0)
    lot_id: int
    event_id: int | None = None


class PointsExpired(_Payload):
    points: int = Field(gt=0)
    lot_id: int
    entry_id: int


class TierMoved(_Payload):
    from_tier: str | None = Field(description="the tier's key, none without one")
    to_tier: str | None
    cause: str = Field(description="qualified, review, manual, plan, ...")
    metric_value: int | None = None


class MemberEnrolled(_Payload):
    external_id: str
    enrolled_at: datetime
    channel: str = Field(description="api, import, portal")


class MemberUpdated(_Payload):
    changed: list[str] = Field(description="what changed: name, email, phone, locale, birth_date, city, consent, status")
    status: str | None = Field(None, description="the new status, when it changed")


class MemberSuspended(_Payload):
    status: Literal["suspended"]
    reason: str | None


class AchievementEarned(_Payload):
    key: str
    name_en: str
    name_ar: str
    points: int
    milestone: int | None = Field(None, description="streaks: the run's length reached")
    award_id: int


class ReferralCompleted(_Payload):
    referrer_id: int | None
    referee_id: int
    referral_id: int


class WebhookTest(_Payload):
    endpoint_id: int
    message: str


@dataclass(frozen=True, slots=True)
class EventType:
    name: str
    version: int
    description: str
    payload: type[BaseModel]
    member: bool = True  # whether messages name a member


TYPES: dict[str, EventType] = {t.name: t for t in (
    EventType(
        "points.earned", 1, "Points were credited to a member: by a purchase or custom event, an achievement, a tier's welcome, a referral.",
        PointsEarned,
    ),
    EventType("points.adjusted", 1, "Points were credited or debited by hand.", PointsAdjusted),
    EventType("points.redeemed", 1, "A member spent points (a reward, a discount at checkout).", PointsRedeemed),
    EventType("points.reversed", 1, "Points credited were taken back: by a return, or by a badge or challenge a return made untrue.", PointsReversed),
    EventType("points.released", 1, "Pending points became available (their return window closed).", PointsReleased),
    EventType("points.expired", 1, "Points expired unspent.", PointsExpired),
    EventType("tier.upgraded", 1, "A member moved to a better tier.", TierMoved),
    EventType("tier.downgraded", 1, "A member dropped to a lower tier (or out of every tier) at a review.", TierMoved),
    EventType("member.enrolled", 1, "A member joined the program.", MemberEnrolled),
    EventType(
        "member.updated", 1, "A member's profile, consent or status changed (the values are read from the API: messages carry no personal data).",
        MemberUpdated,
    ),
    EventType("member.suspended", 1, "A member was suspended: they earn and redeem nothing until reactivated.", MemberSuspended),
    EventType("badge.earned", 1, "A member earned a badge.", AchievementEarned),
    EventType("challenge.completed", 1, "A member completed a challenge.", AchievementEarned),
    EventType("streak.milestone", 1, "A member's streak reached a milestone.", AchievementEarned),
    EventType("referral.completed", 1, "A referral completed: the referee's qualifying purchase was kept.", ReferralCompleted),
    EventType("webhook.test", 1, "Sent by the console's or the API's \"send test event\" to one endpoint only.", WebhookTest, member=False),
)}


def version_of(name: str) -> int:
    return TYPES[name].version


class Member(BaseModel):
    id: int
    external_id: str | None


class Envelope(BaseModel):
    """What a receiver gets: the body of a webhook, the message of a stream."""

    id: str = Field(description="msg_...: the same in every delivery of this message (the webhook-id header)")
    type: str
    version: int
    sequence: int = Field(description="the tenant's message number: grows by one per message, in the order they committed")
    tenant: str = Field(description="the tenant's slug")
    occurred_at: datetime
    member: Member | None
    data: dict[str, Any]


def schema_of(name: str) -> dict[str, Any]:
    """The JSON Schema of a type's envelope, its payload as `data`."""
    found = TYPES[name]
    envelope = Envelope.model_json_schema()
    envelope["title"] = f"{found.name} v{found.version}"
    envelope["description"] = found.description
    envelope["properties"]["type"] = {"const": found.name}
    envelope["properties"]["version"] = {"const": found.version}
    envelope["properties"]["data"] = found.payload.model_json_schema()
    return envelope
