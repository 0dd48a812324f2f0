"""Engagement tables: referrals and their policy; badges, challenges and streaks, what members hold of
them, and leaderboard nicknames."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from wafa.db import Base, Id, UTCDateTime


class ReferralPolicy(Base):
    """What a completed referral gives, what completes one, and the limits against abuse."""

    __tablename__ = "referral_policies"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean)
    referrer_points: Mapped[int] = mapped_column(BigInteger)
    referee_points: Mapped[int] = mapped_column(BigInteger)
    referrer_reward: Mapped[str | None] = mapped_column(String(64), nullable=True)
    referee_reward: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # The first purchase of at least this much (base currency, minor units, kept after returns) completes it.
    min_purchase: Mapped[int] = mapped_column(BigInteger)
    # Per referrer, per calendar month in the program's time zone.
    max_per_month: Mapped[int] = mapped_column(Integer)
    # A referral with no qualifying purchase after this many days expires.
    expire_days: Mapped[int] = mapped_column(Integer)
    # A completed referral whose qualifying purchase comes back (below min_purchase kept) within this many
    # days of completing is reversed, both bonuses clawed back; 0 never reverses.
    reverse_within_days: Mapped[int] = mapped_column(Integer, default=30, server_default="30")
    # Refuse referred members with neither e-mail nor phone (nothing to tell a new customer by).
    require_contact: Mapped[bool] = mapped_column(Boolean, default=False)
    # The shop's sign-up page with {code} where the code goes; None: the member portal's join page.
    link_template: Mapped[str | None] = mapped_column(String(500), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Referral(Base):
    """One member bringing another: pending, then completed (both rewarded) or expired; or refused, with why."""

    __tablename__ = "referrals"
    __table_args__ = (
        UniqueConstraint("tenant_id", "referee_id", name="uq_referrals_referee"),
        Index("ix_referrals_referrer", "tenant_id", "referrer_id", "created_at"),
        Index("ix_referrals_status", "status", "id"),
        Index("ix_referrals_purchase", "tenant_id", "purchase_event_id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Id)
    referrer_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    referee_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    code: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))  # pending, completed, expired, refused, reversed
    reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    purchase_event_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Badge(Base):
    """A badge a member earns once when a criterion over their history is met, optionally with points or a reward."""

    __tablename__ = "badges"
    __table_args__ = (UniqueConstraint("tenant_id", "key", name="uq_badges_key"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    key: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(200))
    name_ar: Mapped[str] = mapped_column(String(200))
    description_en: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    description_ar: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    image_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    # A goal (see engagement.goals): metric, target in its unit (minor units for money), filters.
    criterion: Mapped[dict] = mapped_column(JSON)
    points: Mapped[int] = mapped_column(BigInteger)
    reward_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[str] = mapped_column(String(16))  # active, archived
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Challenge(Base):
    """A time-boxed goal ("3 purchases in March") with per-member progress and a completion reward."""

    __tablename__ = "challenges"
    __table_args__ = (UniqueConstraint("tenant_id", "key", name="uq_challenges_key"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    key: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(200))
    name_ar: Mapped[str] = mapped_column(String(200))
    description_en: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    description_ar: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    image_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    goal: Mapped[dict] = mapped_column(JSON)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # With opt-in, only what a member does after joining counts.
    opt_in: Mapped[bool] = mapped_column(Boolean)
    points: Mapped[int] = mapped_column(BigInteger)
    reward_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[str] = mapped_column(String(16))  # active, archived
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ChallengeProgress(Base):
    """How far one member has come in one challenge (kept so a leaderboard is one indexed query)."""

    __tablename__ = "challenge_progress"
    __table_args__ = (
        UniqueConstraint("tenant_id", "challenge_id", "member_id", name="uq_challenge_progress_member"),
        Index("ix_challenge_progress_rank", "tenant_id", "challenge_id", "progress"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Id)
    challenge_id: Mapped[int] = mapped_column(BigInteger)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    progress: Mapped[int] = mapped_column(BigInteger)
    joined_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # When the target was first reached (and still holds); None while short of it.
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Streak(Base):
    """Consecutive weeks or months with a qualifying purchase, with rewards at milestones."""

    __tablename__ = "streaks"
    __table_args__ = (UniqueConstraint("tenant_id", "key", name="uq_streaks_key"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    key: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(200))
    name_ar: Mapped[str] = mapped_column(String(200))
    period: Mapped[str] = mapped_column(String(8))  # week (Monday to Sunday), month
    # A purchase of at least this much (base currency, minor units, kept after returns) qualifies.
    min_amount: Mapped[int] = mapped_column(BigInteger)
    # Only purchases from here count: a streak launched today does not pay for last year.
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # [{"length": 4, "points": 100, "reward_key": null}, ...], by length.
    milestones: Mapped[list] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))  # active, archived
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MemberStreak(Base):
    """A member's run in one streak as last computed: current length, its first and last periods, the longest."""

    __tablename__ = "member_streaks"
    __table_args__ = (UniqueConstraint("tenant_id", "streak_id", "member_id", name="uq_member_streaks_member"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Id)
    streak_id: Mapped[int] = mapped_column(BigInteger)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    current: Mapped[int] = mapped_column(Integer)
    run_start: Mapped[date | None] = mapped_column(Date, nullable=True)
    last_period: Mapped[date | None] = mapped_column(Date, nullable=True)
    longest: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # What the runs were computed on (the streak's definition and the currencies' rates): while it
    # matches, a purchase in or after the last period extends the runs without re-reading history.
    basis: Mapped[str | None] = mapped_column(String(64), nullable=True)


class AchievementAward(Base):
    """One badge, challenge completion or streak milestone a member holds, with what it gave.

    A return that makes it no longer true revokes it (points clawed back, an unused reward cancelled);
    it may be earned again later, as a new row. At most one row per achievement is not revoked.
    """

    __tablename__ = "achievement_awards"
    __table_args__ = (
        Index(
            "uq_achievement_awards_held", "tenant_id", "kind", "definition_id", "member_id", "run", "milestone",
            unique=True, sqlite_where=text("revoked_at IS NULL"), postgresql_where=text("revoked_at IS NULL"),
        ),
        Index("ix_achievement_awards_member", "tenant_id", "member_id", "id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Id)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    kind: Mapped[str] = mapped_column(String(16))  # badge, challenge, streak
    definition_id: Mapped[int] = mapped_column(BigInteger)
    # Streaks: the first period of the run (ISO date) and the milestone's length; '' and 0 otherwise.
    run: Mapped[str] = mapped_column(String(10))
    milestone: Mapped[int] = mapped_column(Integer)
    points: Mapped[int] = mapped_column(BigInteger)
    entry_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    lot_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    redemption_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    earned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)


class LeaderboardProfile(Base):
    """A member's choice to appear on challenge leaderboards, and the nickname shown there."""

    __tablename__ = "leaderboard_profiles"
    __table_args__ = (UniqueConstraint("tenant_id", "nickname_key", name="uq_leaderboard_profiles_nickname"),)

    tenant_id: Mapped[int] = mapped_column(Id, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    nickname: Mapped[str] = mapped_column(String(32))
    # The nickname case-folded with spaces squeezed: two members cannot pass for each other (case
    # folding may lengthen a name: ß becomes ss, hence the room).
    nickname_key: Mapped[str] = mapped_column(String(128))
    opt_in: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Survey(Base):
    """An NPS or satisfaction survey: questions in Arabic and English, open for a time."""

    __tablename__ = "surveys"
    __table_args__ = (UniqueConstraint("tenant_id", "key", name="uq_surveys_key"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    key: Mapped[str] = mapped_column(String(64))
    title_en: Mapped[str] = mapped_column(String(200))
    title_ar: Mapped[str] = mapped_column(String(200))
    # [{"key": "nps", "type": "nps" | "rating" | "text", "text_en": ..., "text_ar": ..., "required": bool}]
    questions: Mapped[list] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))  # open, closed
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SurveyInvitation(Base):
    """A member asked to answer a survey, with the unguessable token of their link."""

    __tablename__ = "survey_invitations"
    __table_args__ = (
        UniqueConstraint("tenant_id", "survey_id", "member_id", name="uq_survey_invitations_member"),
        UniqueConstraint("token", name="uq_survey_invitations_token"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Id)
    survey_id: Mapped[int] = mapped_column(BigInteger)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    token: Mapped[str] = mapped_column(String(64))
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SurveyResponse(Base):
    """A member's answers to a survey: once per member and survey."""

    __tablename__ = "survey_responses"
    __table_args__ = (
        UniqueConstraint("tenant_id", "survey_id", "member_id", name="uq_survey_responses_member"),
        Index("ix_survey_responses_time", "tenant_id", "survey_id", "answered_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Id)
    survey_id: Mapped[int] = mapped_column(BigInteger)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    answers: Mapped[dict] = mapped_column(JSON)
    # The first NPS question's 0-10 answer, kept apart so NPS is one aggregate query.
    score: Mapped[int | None] = mapped_column(Integer, nullable=True)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime)
