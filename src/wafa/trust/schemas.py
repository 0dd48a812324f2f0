"""API shapes of a tenant's rate limits, and of the anomaly flags."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from wafa.inputs import Count, Line


class RateLimitsIn(BaseModel):
    """The tenant's own limits by route class; a class set to null goes back to the server's default."""

    model_config = ConfigDict(extra="forbid")

    limits: dict[Line, Line | None] = Field(
        max_length=8,
        description='by class (events, redemptions, writes, reads): "N/second|minute|hour|day", several joined by ";"',
        examples=[{"events": "100/second;20000/hour", "reads": None}],
    )


class RateLimitsRead(BaseModel):
    """The limits each of the tenant's API keys works under, by route class."""

    limits: dict[str, str] = Field(description="what applies: the tenant's own, else the server's default")
    own: dict[str, str] = Field(description="the tenant's own limits")
    defaults: dict[str, str] = Field(description="the server's defaults (WAFA_RATE_*)")
    shared: bool = Field(description="counted in Redis, across every server process (else per process)")


# --- anomaly flags (wafa.trust.anomalies) -------------------------------------------------------------------

AnomalyKind = Literal["returns", "shared_contact", "quick_redemption"]


class ReturnsEvidence(BaseModel):
    """A member's purchases in the window against the program's: money in the base currency, major units."""

    days: int = Field(description="the window: purchases made in these last days")
    purchases: int = Field(description="the member's purchases in the window")
    returned_orders: int = Field(description="of those, the purchases returned wholly or in part")
    purchased: str = Field(description="what the member bought in the window", examples=["1250.00"])
    returned: str = Field(description="what came back of it", examples=["980.00"])
    currency: str = Field(description="the program's base currency")
    rate: float = Field(description="the member's returned share: returned ÷ purchased")
    program_rate: float = Field(description="the program's returned share over every member's purchases in the window")
    multiple: float | None = Field(description="rate ÷ program_rate (null when the program's rate is 0)")


class ContactMember(BaseModel):
    member_id: int
    external_id: str
    enrolled_at: datetime
    status: str


class SharedContactEvidence(BaseModel):
    """One phone number or inbox held by several members. Wafa stores no device id, so devices are not compared."""

    channel: Literal["phone", "email"] = Field(description="phone: the same number; email: the same inbox (aliases included)")
    contact: str = Field(description="the number, or the inbox's normalised key (dots and +tags dropped where the mail provider ignores them)")
    members: list[ContactMember] = Field(description="the members sharing it, in enrolment order")


class SpendRead(BaseModel):
    entry_id: int = Field(description="the ledger entry (GET /v1/members/{member_id}/entries)")
    kind: Literal["redeem", "capture"] = Field(description="redeem: a redemption or a wallet payment; capture: a till's hold captured")
    at: datetime
    hours_after_enrolment: float
    points: int | None = Field(description="points spent (null for wallet money)")
    amount: str | None = Field(description="wallet money spent, major units (null for points)")
    currency: str | None = Field(description="the wallet money's currency (null for points)")


class QuickRedemptionEvidence(BaseModel):
    """What a member spent within the hours after enrolling."""

    hours: int = Field(description="the window after enrolment")
    enrolled_at: datetime
    points: int = Field(description="points spent in that window")
    spends: list[SpendRead] = Field(description="each spend in that window, oldest first")


class AnomalyRead(BaseModel):
    """One flag: a suspicion for a person to review, with the evidence for it; not a verdict."""

    kind: AnomalyKind
    member_ids: list[int] = Field(description="the members it is about")
    score: float = Field(
        description="what the flag ranks by: returns: the member's returned share (0–1, highest first); shared_contact: how many "
                    "members share it (most first); quick_redemption: hours from enrolment to the first spend (quickest first)",
    )
    evidence: ReturnsEvidence | SharedContactEvidence | QuickRedemptionEvidence
    detected_at: datetime = Field(description="when this answer was computed: flags are read live, not stored")


class AnomalyPage(BaseModel):
    items: list[AnomalyRead]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last page")


# --- velocity limits and the review queue (wafa.trust.velocity, wafa.trust.reviews) ----------------------------

VelocityAction = Literal["earn", "redeem", "adjust", "wallet_debit", "check_in"]
VelocitySubject = Literal["member", "card", "store", "key"]
VelocityWindow = Literal["hour", "day", "week"]


class VelocityLimit(BaseModel):
    """How much one subject may do of one action over a sliding window; past it, the action is held for review."""

    model_config = ConfigDict(extra="forbid")

    subject: VelocitySubject = Field(
        description="member; card (a purchase's payment-card token); store (a purchase's store); key (the API key that sent it)"
    )
    action: VelocityAction = Field(
        description="earn (points from purchases); redeem (points spent on rewards); adjust (points credited by hand); "
                    "wallet_debit (wallet money spent); check_in (store check-ins, each worth 1: refused past the limit, not held)"
    )
    window: VelocityWindow
    max_value: Count | None = Field(
        None, ge=1, le=10**12, description="most points (wallet_debit: minor units of money) in the window"
    )
    max_count: Count | None = Field(None, ge=1, le=10**6, description="most actions in the window")

    @model_validator(mode="after")
    def _bounded(self) -> VelocityLimit:
        if self.max_value is None and self.max_count is None:
            raise ValueError("a limit needs max_value, max_count or both")
        return self


class VelocityLimitsIn(BaseModel):
    """The program's whole set of velocity limits (it replaces the set before; [] removes them all)."""

    model_config = ConfigDict(extra="forbid")

    limits: list[VelocityLimit] = Field(max_length=32)


class VelocityLimitsRead(BaseModel):
    limits: list[VelocityLimit]


ReviewStatus = Literal["held", "approved", "rejected", "failed"]


class ReviewRead(BaseModel):
    """An action held for review because it went past a velocity limit."""

    id: int
    action: VelocityAction
    member_id: int
    status: ReviewStatus
    limit: VelocityLimit = Field(description="the limit the action went past")
    observed: dict[str, int] = Field(description="what the subject had done in the window before: count and value")
    value: int = Field(description="the held action's points (wallet_debit: minor units of money)")
    subjects: dict[str, str | int | None]
    event_id: int | None = None
    order_id: str | None = None
    entry_id: int | None = Field(None, description="earn and adjust: the entry that credited the held points")
    request: dict | None = Field(None, description="redeem and wallet_debit: the request, carried out on approval")
    outcome: dict | None = Field(None, description="what the decision did (the redemption, the debit, the reversal)")
    created_at: datetime
    decided_at: datetime | None = None
    decided_by: str | None = None
    note: str | None = None


class ReviewPage(BaseModel):
    items: list[ReviewRead]
    next_cursor: str | None = None


class ReviewDecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: Line | None = Field(None, max_length=500, description="why, for the audit trail")
