"""Referral tables: the program's referral policy and each referral with its state."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
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
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Referral(Base):
    """One member bringing another: pending, then completed (both rewarded) or expired; or refused, with why."""

    __tablename__ = "referrals"
    __table_args__ = (
        UniqueConstraint("tenant_id", "referee_id", name="uq_referrals_referee"),
        Index("ix_referrals_referrer", "tenant_id", "referrer_id", "created_at"),
        Index("ix_referrals_status", "status", "id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Id)
    referrer_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    referee_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    code: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))  # pending, completed, expired, refused
    reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    purchase_event_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
