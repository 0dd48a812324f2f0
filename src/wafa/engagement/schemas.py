"""API shapes of engagement: referrals, badges, challenges, streaks, achievements and leaderboards."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from wafa.inputs import Amount, Count, Flag, Id, Line, Moment, Text


class ReferralPolicyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: Flag = True
    referrer_points: Count = Field(0, ge=0, le=10**9)
    referee_points: Count = Field(0, ge=0, le=10**9)
    referrer_reward: Line | None = Field(None, max_length=64, description="a catalog reward's key given to the referrer")
    referee_reward: Line | None = Field(None, max_length=64, description="a catalog reward's key given to the new member")
    min_purchase: Amount = Field("0", description="the first purchase of at least this (base currency, kept after returns) completes it")
    max_per_month: Count = Field(10, ge=1, le=10_000, description="referrals a member may make per month; more are refused")
    expire_days: Count = Field(90, ge=1, le=3650, description="a referral with no qualifying purchase by then expires")
    reverse_within_days: Count = Field(
        30, ge=0, le=3650, description="a completed referral whose qualifying purchase is returned (below min_purchase kept) within "
        "this many days of completing is reversed: both bonuses are clawed back; 0 never reverses",
    )
    require_contact: Flag = Field(
        False, description="refuse a referred member with neither e-mail nor phone: nothing tells whether they are new"
    )
    link_template: str | None = Field(
        None, max_length=500, pattern=r"^https?://[^\s\x00-\x1f\x7f-\x9f]*\{code\}[^\s\x00-\x1f\x7f-\x9f]*$",
        description="the shop's sign-up page, with {code} where the referral code goes "
        "(e.g. https://shop.example/join?ref={code}); without it, the member portal's join page",
    )


class ReferralPolicyRead(ReferralPolicyIn):
    updated_at: datetime | None


class ReferralRead(BaseModel):
    id: int
    referrer_id: int | None
    referee_id: int
    code: str
    status: str = Field(description="pending, completed, expired, refused or reversed")
    reason: str | None = Field(description="why it was refused, expired or reversed")
    purchase_event_id: int | None
    created_at: datetime
    completed_at: datetime | None


class MemberReferrals(BaseModel):
    member_id: int
    referral_code: str
    referral_link: str = Field(description="the code in a link to share")
    referred_by: ReferralRead | None
    referrals: list[ReferralRead]


# Badges, challenges and streaks ------------------------------------------------------------------

Key = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]*$")]
Name = Annotated[Line, Field(min_length=1, max_length=200)]
Long = Annotated[Text, Field(min_length=1, max_length=1000)]
# An image's address: http(s), then no control characters.
ImageUrl = Annotated[str, Field(max_length=500, pattern=r"^https?://[^\x00-\x1f\x7f-\x9f]*$")]

METRICS = ("purchases", "spend", "categories", "events", "referrals", "tier")


class GoalIn(BaseModel):
    """What a member must do: a metric over their history (a badge) or over a challenge's window."""

    model_config = ConfigDict(extra="forbid")
    metric: Literal["purchases", "spend", "categories", "events", "referrals", "tier"] = Field(
        description="purchases (orders kept after returns), spend (money kept, base currency), categories "
        "(different categories bought), events (custom events of `event_type`), referrals (completed), "
        "tier (reached `tier` or above; badges only)"
    )
    at_least: Amount | None = Field(
        None, description="the target: a count, or for spend an amount in the base currency; not for tier"
    )
    category: Line | None = Field(None, min_length=1, max_length=64, description="purchases and spend: only lines of this category")
    min_amount: Amount | None = Field(None, description="purchases: only orders of at least this (base currency)")
    event_type: Line | None = Field(None, min_length=1, max_length=64, description="events: the custom event's type")
    tier: Key | None = Field(None, description="tier: the tier's key")

    @model_validator(mode="after")
    def _fits_metric(self) -> GoalIn:
        if self.metric == "tier":
            if self.tier is None:
                raise ValueError("a tier goal names the tier")
            if self.at_least is not None:
                raise ValueError("a tier goal has no at_least")
        else:
            if self.at_least is None:
                raise ValueError("at_least is required")
            at_least = Decimal(self.at_least)
            if at_least <= 0:
                raise ValueError("at_least must be greater than zero")
            if self.metric != "spend" and (at_least != at_least.to_integral_value() or at_least > 1_000_000):
                raise ValueError(f"a {self.metric} goal counts: at_least is a whole number up to 1000000")
        if self.metric == "events" and self.event_type is None:
            raise ValueError("an events goal names event_type")
        if self.category is not None and self.metric not in ("purchases", "spend"):
            raise ValueError("category applies to purchases and spend goals")
        if self.min_amount is not None and self.metric != "purchases":
            raise ValueError("min_amount applies to purchases goals")
        if self.event_type is not None and self.metric != "events":
            raise ValueError("event_type applies to events goals")
        if self.tier is not None and self.metric != "tier":
            raise ValueError("tier applies to tier goals")
        return self


class _Definition(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: Key
    name_en: Name
    name_ar: Name
    description_en: Long | None = None
    description_ar: Long | None = None
    image_url: ImageUrl | None = None
    points: Count = Field(0, ge=0, le=10**9, description="points given when earned")
    reward_key: Key | None = Field(None, description="a catalog reward granted when earned")


class _DefinitionUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name_en: Name | None = None
    name_ar: Name | None = None
    description_en: Long | None = None
    description_ar: Long | None = None
    image_url: ImageUrl | None = None
    status: Literal["active", "archived"] | None = Field(None, description="an archived one is no longer earned; what was earned stays")


class BadgeIn(_Definition):
    criterion: GoalIn


class BadgeUpdate(_DefinitionUpdate):
    pass


class BadgeRead(BaseModel):
    id: int
    key: str
    name: dict[str, str]
    description: dict[str, str | None]
    image_url: str | None
    criterion: GoalIn
    points: int
    reward_key: str | None
    status: str
    holders: int = Field(description="members who hold it now")
    created_at: datetime


class ChallengeIn(_Definition):
    goal: GoalIn
    starts_at: Moment
    ends_at: Moment
    opt_in: Flag = Field(False, description="members join first; only what they do after joining counts")

    @model_validator(mode="after")
    def _window(self) -> ChallengeIn:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        if self.goal.metric == "tier":
            raise ValueError("a challenge cannot have a tier goal: tiers are reached, not done within a window")
        return self


class ChallengeUpdate(_DefinitionUpdate):
    ends_at: Moment | None = Field(None, description="extend or shorten; not before it starts")


class ChallengeRead(BaseModel):
    id: int
    key: str
    name: dict[str, str]
    description: dict[str, str | None]
    image_url: str | None
    goal: GoalIn
    starts_at: datetime
    ends_at: datetime
    opt_in: bool
    points: int
    reward_key: str | None
    status: str
    state: str = Field(description="upcoming, open or closed, by the clock")
    completed: int = Field(description="members who have completed it")
    created_at: datetime


class Milestone(BaseModel):
    model_config = ConfigDict(extra="forbid")
    length: Count = Field(ge=1, le=1000, description="periods in a row")
    points: Count = Field(0, ge=0, le=10**9)
    reward_key: Key | None = None


class StreakIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: Key
    name_en: Name
    name_ar: Name
    period: Literal["week", "month"] = Field(description="week: Monday to Sunday; both in the program's time zone")
    min_amount: Amount = Field("0", description="a purchase of at least this (base currency, kept after returns) qualifies")
    starts_at: Moment | None = Field(None, description="purchases from here count (default: now)")
    milestones: list[Milestone] = Field(min_length=1, max_length=20)

    @field_validator("milestones")
    @classmethod
    def _distinct(cls, value: list[Milestone]) -> list[Milestone]:
        lengths = [m.length for m in value]
        if len(set(lengths)) != len(lengths):
            raise ValueError("milestone lengths must differ")
        return sorted(value, key=lambda m: m.length)


class StreakUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name_en: Name | None = None
    name_ar: Name | None = None
    status: Literal["active", "archived"] | None = None


class StreakRead(BaseModel):
    id: int
    key: str
    name: dict[str, str]
    period: str
    min_amount: str
    starts_at: datetime
    milestones: list[Milestone]
    status: str
    created_at: datetime


class BadgePage(BaseModel):
    items: list[BadgeRead]


class ChallengePage(BaseModel):
    items: list[ChallengeRead]


class StreakPage(BaseModel):
    items: list[StreakRead]


class EarnedBadge(BaseModel):
    key: str
    name: dict[str, str]
    description: dict[str, str | None]
    image_url: str | None
    earned_at: datetime
    points: int


class BadgeProgress(BaseModel):
    key: str
    name: dict[str, str]
    image_url: str | None
    progress: str = Field(description="in the criterion's unit (money as a decimal string)")
    target: str


class MemberChallenge(BaseModel):
    key: str
    name: dict[str, str]
    state: str = Field(description="upcoming, open or closed")
    starts_at: datetime
    ends_at: datetime
    opt_in: bool
    joined: bool
    progress: str
    target: str
    completed_at: datetime | None
    points: int
    reward_key: str | None


class MemberStreakRead(BaseModel):
    key: str
    name: dict[str, str]
    period: str
    current: int = Field(description="periods in a row up to this one or the last; 0 once a period is missed")
    at_risk: bool = Field(description="the run counts the last period but not yet this one: buy before it ends")
    longest: int
    run_start: date | None
    last_period: date | None
    next_milestone: int | None


class Achievements(BaseModel):
    member_id: int
    badges: list[EarnedBadge]
    badges_in_progress: list[BadgeProgress]
    challenges: list[MemberChallenge]
    streaks: list[MemberStreakRead]


class LeaderboardProfileIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    nickname: Line = Field(min_length=2, max_length=32, description="shown instead of the member's name")
    opt_in: Flag = True

    @field_validator("nickname")
    @classmethod
    def _printable(cls, value: str) -> str:
        value = " ".join(value.split())
        if len(value) < 2 or not all(ch.isprintable() for ch in value):
            raise ValueError("a nickname is at least 2 printable characters")
        return value


class LeaderboardProfileRead(BaseModel):
    member_id: int
    nickname: str
    opt_in: bool


class LeaderboardRow(BaseModel):
    rank: int
    nickname: str
    progress: str
    completed_at: datetime | None
    you: bool = False


class Leaderboard(BaseModel):
    challenge: str
    target: str
    rows: list[LeaderboardRow]
    you: LeaderboardRow | None = Field(None, description="the member asked about (member_id=), ranked, even if not opted in")


# Surveys -------------------------------------------------------------------------------------------

class Question(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: Key
    type: Literal["nps", "rating", "text"] = Field(description="nps: 0 to 10; rating: 1 to 5; text: a comment")
    text_en: Long
    text_ar: Long
    required: Flag = True


class SurveyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: Key
    title_en: Name
    title_ar: Name
    questions: list[Question] = Field(min_length=1, max_length=30)
    closes_at: Moment | None = None

    @field_validator("questions")
    @classmethod
    def _distinct(cls, value: list[Question]) -> list[Question]:
        keys = [q.key for q in value]
        if len(set(keys)) != len(keys):
            raise ValueError("question keys must differ")
        return value


class SurveyUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["open", "closed"] | None = None
    closes_at: Moment | None = None


class SurveyRead(BaseModel):
    id: int
    key: str
    title: dict[str, str]
    questions: list[Question]
    status: str
    closes_at: datetime | None
    invited: int
    responses: int
    created_at: datetime


class SurveyPage(BaseModel):
    items: list[SurveyRead]


class InviteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    member_ids: list[Id] | None = Field(None, max_length=10_000)
    tier: Line | None = Field(None, min_length=1, max_length=64, description="every active member of this tier (its key, in any case)")
    segment: Line | None = Field(
        None, min_length=1, max_length=64,
        description="every active member of this segment (an RFM segment, an A/B/C class or a custom one; its key, in any case)",
    )
    all_members: Flag = Field(False, description="every active member")

    @model_validator(mode="after")
    def _one(self) -> InviteIn:
        if sum((self.member_ids is not None, self.tier is not None, self.segment is not None, self.all_members)) != 1:
            raise ValueError("give exactly one of member_ids, tier, segment or all_members")
        return self


class Invitation(BaseModel):
    member_id: int
    link: str


class Invitations(BaseModel):
    survey: str
    invited: int = Field(description="members invited by this call (those invited before keep their link)")
    items: list[Invitation]


class ResponseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    member_id: Id | None = None
    token: Line | None = Field(None, min_length=10, max_length=64, description="the invitation link's token, instead of member_id")
    answers: dict[Line, Count | Text] = Field(
        description="question key -> answer: a score as a JSON integer, a comment as text (several lines allowed)"
    )

    @model_validator(mode="after")
    def _who(self) -> ResponseIn:
        if (self.member_id is None) == (self.token is None):
            raise ValueError("give member_id or token")
        return self


class ResponseRead(BaseModel):
    id: int
    survey: str
    member_id: int
    answers: dict[str, int | str]
    score: int | None
    answered_at: datetime


class ResponsePage(BaseModel):
    items: list[ResponseRead]
    next_cursor: str | None


class AudiencePreview(BaseModel):
    members: int = Field(description="active members the invitation names")
    already_invited: int = Field(description="of them, invited before (they keep their link)")


class NpsPeriod(BaseModel):
    period: str
    responses: int
    promoters: int
    passives: int
    detractors: int
    nps: float | None


class NpsReport(BaseModel):
    survey: str
    responses: int
    promoters: int
    passives: int
    detractors: int
    nps: float | None = Field(description="% promoters (9-10) - % detractors (0-6), -100 to 100; null without answers")
    by_month: list[NpsPeriod]
