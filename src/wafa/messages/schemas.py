"""Messaging as the API takes and shows it."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from wafa.inputs import Count, Flag, Id, JsonObject, Line, Moment, Text

Channel = Literal["email", "sms", "whatsapp"]
Language = Literal["ar", "en"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChannelIn(_Strict):
    config: JsonObject = Field(description="the provider and its settings: provider smtp (e-mail), generic_http, twilio, unifonic")
    enabled: Flag = True


class ChannelRead(BaseModel):
    channel: str
    enabled: bool
    config: dict[str, Any] = Field(description="secrets masked (send them back masked to keep them)")
    valid: bool = Field(True, description="false: saved under rules since made stricter (a private address); the channel sends nothing until fixed")
    updated_at: datetime


class ChannelPage(BaseModel):
    items: list[ChannelRead]


class PolicyIO(_Strict):
    quiet_start: Line = Field("21:00", max_length=5, description="HH:MM in the program's time zone: messages wait until quiet_end")
    quiet_end: Line = Field("09:00", max_length=5, description="equal to quiet_start: no quiet hours")
    daily_cap: Count = Field(2, description="messages per member per local day (0: no cap)")
    weekly_cap: Count = Field(6, description="messages per member per seven days (0: no cap)")


class TemplateIn(_Strict):
    subject: Line | None = Field(None, max_length=300, description="e-mail only")
    body: Text = Field(min_length=1, max_length=5000, description="Jinja2 (sandboxed); variables: see GET /v1/messaging/templates")


class TemplateRead(BaseModel):
    kind: str
    channel: str
    language: str
    subject: str | None
    body: str
    custom: bool = Field(description="false: the built-in wording")
    variables: list[str] = Field(description="what the template may use")


class TemplatePage(BaseModel):
    items: list[TemplateRead]


class PreviewIn(_Strict):
    kind: Line = Field(min_length=1, max_length=40)
    channel: Channel
    language: Language
    subject: Line | None = Field(None, max_length=300, description="leave out (with body) to preview the saved wording")
    body: Text | None = Field(None, max_length=5000)
    member_id: Id | None = Field(None, description="render with this member's values; leave out for the examples")


class PreviewRead(BaseModel):
    subject: str | None
    body: str


class TestSendIn(_Strict):
    kind: Line = Field(min_length=1, max_length=40)
    channel: Channel
    language: Language
    to: Line = Field(min_length=3, max_length=254, description="an e-mail address, or a phone number in international form")


class TestSendRead(BaseModel):
    status: str
    detail: str
    provider_id: str | None


class JourneyIn(_Strict):
    enabled: Flag
    channels: list[Channel] = Field(["email", "sms"], min_length=1, max_length=3, description="in order of preference")
    settings: JsonObject = Field(default_factory=dict)


class JourneyRead(BaseModel):
    kind: str
    trigger: str
    enabled: bool
    channels: list[str]
    settings: dict[str, Any]
    updated_at: datetime | None


class JourneyPage(BaseModel):
    items: list[JourneyRead]


class MemberMessageRead(BaseModel):
    id: int
    message_id: str
    kind: str
    campaign_id: int | None
    channel: str | None
    status: Literal["queued", "sent", "skipped", "failed", "cancelled"]
    reason: str | None = Field(description="why it was skipped, failed or is waiting (quiet_hours, retrying)")
    detail: str | None
    address: str | None
    language: str | None
    subject: str | None
    body: str | None
    attempts: int
    due_at: datetime
    created_at: datetime
    sent_at: datetime | None


class MemberMessagePage(BaseModel):
    items: list[MemberMessageRead]
    next_cursor: str | None


class ConsentIn(_Strict):
    channel: Literal["email", "sms", "whatsapp", "push"]
    granted: Flag
    source: Literal["api", "console", "portal", "import", "in_store"] = "api"


class ConsentChangeRead(BaseModel):
    channel: str
    granted: bool
    source: str
    actor: str | None
    at: datetime


class ConsentHistory(BaseModel):
    items: list[ConsentChangeRead]


class SuppressionIn(_Strict):
    channel: Channel
    address: Line = Field(min_length=3, max_length=254)
    reason: Literal["manual", "complaint", "hard_bounce", "unsubscribe"] = "manual"
    detail: Line | None = Field(None, max_length=500)


class SuppressionRead(BaseModel):
    id: int
    channel: str
    address: str
    reason: str
    detail: str | None
    created_at: datetime


class SuppressionPage(BaseModel):
    items: list[SuppressionRead]
    next_cursor: str | None



class CampaignIn(_Strict):
    name: Line = Field(min_length=1, max_length=200)
    audience: JsonObject = Field(description='{"all": true}, {"tiers": [...]}, {"segments": [...]} or {"external_ids": [...]} (up to 100,000)')
    channel: Channel
    subject: dict[Language, Line] = Field(default_factory=dict, description="e-mail: the subject per language")
    body: dict[Language, Text] = Field(description="the wording per language (Jinja2, the common variables); members read their own")
    send_at: Moment = Field(description="when to send, with its UTC offset")
    holdout_percent: Count = Field(10, ge=0, le=50, description="members sent nothing, to measure the lift against")
    lift_days: Count = Field(30, ge=1, le=365, description="the horizon of the lift")


class LiftMetric(BaseModel):
    name: Literal["purchases", "revenue", "redemptions"] = Field(description="per member; revenue in minor units of the base currency")
    audience_mean: float
    holdout_mean: float
    difference: float
    low: float | None = Field(description="the 95% interval of the difference (Welch); null with fewer than two members a group")
    high: float | None
    relative: float | None
    p_value: float | None


class LiftRead(BaseModel):
    since: datetime
    until: datetime
    provisional: bool = Field(description="the horizon is not reached yet: do not decide on these figures")
    audience: int
    holdout: int
    metrics: list[LiftMetric]


class CampaignRead(BaseModel):
    id: int
    name: str
    audience: dict[str, Any]
    channel: str
    subject: dict[str, str]
    body: dict[str, str]
    send_at: datetime
    holdout_percent: int
    lift_days: int
    status: Literal["scheduled", "sending", "sent", "cancelled"]
    audience_count: int
    holdout_count: int
    progress: dict[str, int] = Field(description="messages by status")
    not_sent: dict[str, int] = Field(description="skipped or failed messages by reason")
    lift: LiftRead | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class CampaignPage(BaseModel):
    items: list[CampaignRead]
    next_cursor: str | None
