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
    partner_id: int | None = Field(None, description="in a coalition: the partner where it happened (GET /v1/partners/{id})")


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
    partner_id: int | None = Field(None, description="in a coalition: the partner where it happened (GET /v1/partners/{id})")


class PointsReversed(_Payload):
    points: int = Field(gt=0, description="taken back (what the member no longer had is owed as debt)")
    reason: str
    entry_id: int
    reverses_entry_id: int | None = Field(None, description="the credit taken back")
    event_id: int | None = Field(None, description="the return (or other event) that took them back")
    partner_id: int | None = Field(None, description="in a coalition: the partner where it happened (GET /v1/partners/{id})")


class PointsReleased(_Payload):
    points: int = Field(gt=0)
    lot_id: int
    event_id: int | None = None


class PointsExpired(_Payload):
    points: int = Field(gt=0)
    lot_id: int
    entry_id: int


class HoldCreated(_Payload):
    hold_id: int
    points: int = Field(gt=0, description="reserved from the member's available points")
    reason: str
    expires_at: datetime = Field(description="when it lapses unless captured or voided")
    entry_id: int


class HoldResolved(_Payload):
    hold_id: int
    points: int = Field(description="what the hold reserved")
    captured: int = Field(description="spent (0 when voided or lapsed)")
    returned: int = Field(description="given back to the member's available points")
    entry_id: int


class RewardRedeemed(_Payload):
    redemption_id: int
    reward_id: int
    reward_key: str
    kind: str = Field(description="coupon, free_product, voucher, cashback, gift, privilege")
    source: str = Field(description="points, or what granted it: achievement, referral, stamp_card, rule, ...")
    points: int
    money: int | None = Field(None, description="cashback: minor units of `currency`")
    currency: str | None = None
    expires_at: datetime | None = None
    fulfilment: str | None = Field(None, description="gifts: requested")


class RewardCancelled(_Payload):
    redemption_id: int
    reward_id: int
    kind: str
    points: int = Field(description="given back")
    reason: str | None = None


class RewardFulfilment(_Payload):
    redemption_id: int
    reward_id: int
    fulfilment: Literal["shipped", "delivered"]
    note: str | None = None


class CouponIssued(_Payload):
    coupon_id: int
    code: str = Field(description="the code the member shows at the till")
    discount: dict[str, Any]
    max_uses: int
    valid_until: datetime | None
    redemption_id: int | None = Field(None, description="the reward redemption that issued it, if any")


class CouponRedeemed(_Payload):
    coupon_id: int
    campaign_id: int | None
    order_id: str | None
    discount: int = Field(description="minor units of `currency`")
    currency: str
    uses: int
    max_uses: int


class MembershipChanged(_Payload):
    membership_id: int
    plan_id: int
    status: str = Field(description="the membership's status after the change")
    event: str = Field(description="what happened, as the membership's history names it (subscribed, renewed, converted, resumed, ...)")
    period_end: datetime | None
    details: dict[str, Any] | None = None


class WalletMoved(_Payload):
    amount: int = Field(gt=0, description="minor units of `currency`")
    currency: str
    status: Literal["pending", "available"] = Field(description="the wallet it went into or out of")
    kind: str = Field(description="cashback, refund (credits); redeem, reverse, ... (debits)")
    reason: str
    entry_id: int
    event_id: int | None = None


class TierMoved(_Payload):
    from_tier: str | None = Field(description="the tier's key, none without one")
    to_tier: str | None
    cause: str = Field(description="qualified, review, manual, plan, returned (a return undid a recent upgrade), ...")
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


class MemberErased(_Payload):
    erased_at: datetime
    via: Literal["api", "console", "retention"] = Field(description="an API request, a person in the console, or the program's retention period")
    former_external_id: str = Field(
        description="the shop's id for the member before erasure (the envelope's external_id is now a placeholder): erase them on your side too",
    )


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


class ReferralRefused(_Payload):
    referral_id: int
    referrer_id: int | None = Field(description="none when the code named no one")
    referee_id: int
    reason: str


class ReferralReversed(_Payload):
    referral_id: int
    referrer_id: int | None
    referee_id: int
    points_taken_back: dict[str, int] = Field(description="points clawed back, by side (referrer, referee)")
    reason: str


class SurveyAnswered(_Payload):
    survey_id: int
    survey_key: str
    response_id: int
    score: int | None = Field(description="the 0-10 answer of an NPS survey, if it has one")


class PointsExpiring(_Payload):
    points: int = Field(gt=0, description="points that expire on that day unless spent")
    expires_at: datetime = Field(description="the first of them expires then")
    expires_on: str = Field(description="the last day they can be used, in the program's time zone (YYYY-MM-DD)")
    days_before: int = Field(description="the reminder's offset (30, 7, 1 by default: the points-expiring journey's settings)")
    days_left: int


class TierDowngradeWarning(_Payload):
    tier: str = Field(description="the tier's key the member would lose")
    review_at: datetime
    review_on: str = Field(description="the review's day in the program's time zone (YYYY-MM-DD)")
    metric: str
    value: int = Field(description="the member's metric measured now")
    threshold: int
    to_keep: int = Field(description="what is missing to keep the tier (minor units when the metric is spend)")


class SegmentChanged(_Payload):
    segment: str = Field(description="the segment's key: an RFM segment (champions...), an A/B/C class (abc_a), a custom segment's key")
    kind: Literal["rfm", "abc", "custom"]
    from_: str | None = Field(None, alias="from", description="segment.entered: the segment of this kind the member was in before (RFM, A/B/C)")
    to: str | None = Field(None, description="segment.left: the segment of this kind the member moved to (RFM, A/B/C)")


class StatementClosed(BaseModel):
    statement_id: int
    party: str = Field(description="partner:<id> or operator")
    partner: str | None = Field(description="the partner's key (null: the operator)")
    currency: str
    net: int = Field(description="minor units: positive, the operator pays the partner; negative, the partner pays the operator")
    points_issued: int
    points_redeemed: int


class SettlementClosed(_Payload):
    run_id: int
    period: str = Field(description="2026-11 (a month) or 2026-W47 (an ISO week)")
    starts_at: datetime
    ends_at: datetime
    statements: list[StatementClosed] = Field(description="they sum to zero in each currency; GET /v1/statements/{id} has the lines")


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
    EventType(
        "points.expiring", 1, "A reminder: a member's points expire on a day soon (announced once per day of expiry and offset).",
        PointsExpiring,
    ),
    EventType("points.expired", 1, "Points expired unspent.", PointsExpired),
    EventType("hold.created", 1, "Points were reserved at a till (two-phase redemption).", HoldCreated),
    EventType("hold.captured", 1, "A hold was captured: all or part of its points spent, the rest given back.", HoldResolved),
    EventType("hold.voided", 1, "A hold was voided: its points given back.", HoldResolved),
    EventType("hold.lapsed", 1, "A hold was neither captured nor voided in time: its points given back.", HoldResolved),
    EventType(
        "reward.redeemed", 1, "A member received a reward: bought with points, or granted by an achievement, referral, card or rule.",
        RewardRedeemed,
    ),
    EventType("reward.cancelled", 1, "A reward not yet used was cancelled: its points (and cashback, stock) given back.", RewardCancelled),
    EventType("reward.fulfilment_changed", 1, "A gift was shipped or delivered.", RewardFulfilment),
    EventType(
        "coupon.issued", 1, "A coupon was issued to a member (bulk campaign codes, which belong to no one, are not announced).", CouponIssued,
    ),
    EventType("coupon.redeemed", 1, "A coupon was used on an order.", CouponRedeemed),
    EventType("membership.subscribed", 1, "A member subscribed to a paid plan (a trial, or waiting for its first payment).", MembershipChanged),
    EventType(
        "membership.renewed", 1, "A paid period began: the first payment, a trial converted, a renewal, or a cancelled one resumed.",
        MembershipChanged,
    ),
    EventType("membership.renewal_due", 1, "A period ended and its renewal payment is due.", MembershipChanged),
    EventType("membership.payment_failed", 1, "The payment provider reported a failed payment.", MembershipChanged),
    EventType("membership.lapsed", 1, "A membership ended unpaid after its grace period.", MembershipChanged),
    EventType("membership.cancelled", 1, "A membership ended on cancellation.", MembershipChanged),
    EventType("wallet.credited", 1, "Money went into a member's wallet: cashback (pending until the return window closes) or a refund.", WalletMoved),
    EventType("wallet.debited", 1, "Money left a member's wallet: paid at a till or in a shop, or cashback a return took back.", WalletMoved),
    EventType("tier.upgraded", 1, "A member moved to a better tier.", TierMoved),
    EventType(
        "tier.downgrade_warning", 1, "A reminder: the member's tier is reviewed soon and, measured now, would not be kept.",
        TierDowngradeWarning,
    ),
    EventType("tier.downgraded", 1, "A member dropped to a lower tier (or out of every tier): at a review, by hand, or by a return.", TierMoved),
    EventType("member.enrolled", 1, "A member joined the program.", MemberEnrolled),
    EventType(
        "member.updated", 1, "A member's profile, consent or status changed (the values are read from the API: messages carry no personal data).",
        MemberUpdated,
    ),
    EventType("member.suspended", 1, "A member was suspended: they earn and redeem nothing until reactivated.", MemberSuspended),
    EventType(
        "member.erased", 1,
        "A member's personal data was erased (at their request, or after the program's retention period): the member is closed, "
        "their points history stays without anything that names them.",
        MemberErased,
    ),
    EventType("badge.earned", 1, "A member earned a badge.", AchievementEarned),
    EventType("challenge.completed", 1, "A member completed a challenge.", AchievementEarned),
    EventType("streak.milestone", 1, "A member's streak reached a milestone.", AchievementEarned),
    EventType("referral.completed", 1, "A referral completed: the referee's qualifying purchase was kept.", ReferralCompleted),
    EventType(
        "referral.refused", 1, "A referral was refused (a code of no one, self-referral, a known contact, over the monthly limit).",
        ReferralRefused,
    ),
    EventType(
        "referral.reversed", 1, "A completed referral was reversed: its qualifying purchase came back within the policy's window, "
        "and both bonuses were clawed back.", ReferralReversed,
    ),
    EventType("survey.answered", 1, "A member answered a survey.", SurveyAnswered),
    EventType("segment.entered", 1, "A recomputation put a member in a segment (RFM, A/B/C class, custom).", SegmentChanged),
    EventType("segment.left", 1, "A recomputation took a member out of a segment.", SegmentChanged),
    EventType(
        "settlement.closed", 1, "A coalition's settlement period was closed: one statement per partner and currency, and the operator's.",
        SettlementClosed, member=False,
    ),
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
