"""Tier tables: the program's tier policy, its ordered tiers, each member's tier, and the history of changes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from wafa.db import Base, Id, UTCDateTime


class TierPolicy(Base):
    """How members qualify: the metric, over which window, and how reviews demote."""

    __tablename__ = "tier_policies"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    # points_earned (net of returns; spending never counts), money_spent (base currency, minor units,
    # net of returns) or purchases (orders not wholly returned).
    metric: Mapped[str] = mapped_column(String(16))
    # rolling (the last `months` months) or calendar_year (the program's local year).
    window: Mapped[str] = mapped_column(String(16))
    months: Mapped[int] = mapped_column(Integer)
    grace_days: Mapped[int] = mapped_column(Integer)
    # At most this many tiers down per review.
    max_drop: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Tier(Base):
    __tablename__ = "tiers"
    __table_args__ = (
        UniqueConstraint("tenant_id", "key", name="uq_tiers_key"),
        UniqueConstraint("tenant_id", "rank", name="uq_tiers_rank"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    key: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(200))
    name_ar: Mapped[str] = mapped_column(String(200))
    # Higher ranks are better tiers; the threshold is in the policy's metric (points, minor units, orders).
    rank: Mapped[int] = mapped_column(Integer)
    threshold: Mapped[int] = mapped_column(BigInteger)
    # earn_multiplier (decimal string), welcome_points, flags (free-form, e.g. free_delivery).
    benefits: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MemberTier(Base):
    """A member's tier now: since when, secured until when, in grace until when, and a manual floor."""

    __tablename__ = "member_tiers"
    __table_args__ = (
        UniqueConstraint("tenant_id", "member_id", name="uq_member_tiers"),
        Index("ix_member_tiers_review", "review_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Id)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    tier_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    secured_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    grace_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # When the worker next looks at this member (secured_until, or grace_until while in grace).
    review_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    floor_tier_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    floor_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    floor_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TierChange(Base):
    """One change of a member's tier, kept for ever."""

    __tablename__ = "tier_changes"
    __table_args__ = (Index("ix_tier_changes_member", "tenant_id", "member_id", "id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Id)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    from_tier_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    to_tier_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # qualified, grace, review, manual, floor_lifted, returned (a return undid the upgrade: tiers/returns.py)
    cause: Mapped[str] = mapped_column(String(16))
    metric_value: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
