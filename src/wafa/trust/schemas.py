"""API shapes of a tenant's rate limits, and of the anomaly flags."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from wafa.inputs import Line


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
