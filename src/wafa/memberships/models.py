"""Membership tables: plans, members' memberships, the payments the shop reports, and what happened when."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from wafa.db import Base, Id, UTCDateTime


class Plan(Base):
    __tablename__ = "membership_plans"
    __table_args__ = (UniqueConstraint("tenant_id", "key", name="uq_membership_plans_key"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    key: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(200))
    name_ar: Mapped[str] = mapped_column(String(200))
    interval: Mapped[str] = mapped_column(String(8))  # month or year
    price: Mapped[int] = mapped_column(BigInteger)  # minor units of `currency`
    currency: Mapped[str] = mapped_column(String(3))
    trial_days: Mapped[int] = mapped_column(Integer)
    # After a renewal falls due unpaid, the membership stays usable this long, then lapses.
    grace_days: Mapped[int] = mapped_column(Integer)
    # earn_multiplier, monthly_points, flags
    benefits: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16))  # active (on sale) or archived
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Membership(Base):
    """A member's subscription to a plan: incomplete (waiting for the first payment, for 7 days), trialing,
    active, past_due (renewal unpaid, in grace), then cancelled or lapsed for good."""

    __tablename__ = "memberships"
    __table_args__ = (
        Index("ix_memberships_member", "tenant_id", "member_id"),
        Index("ix_memberships_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Id)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    plan_id: Mapped[int] = mapped_column(ForeignKey("membership_plans.id"))
    # A change of plan scheduled for the next paid period (the renewal is charged at its price).
    next_plan_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # The plan whose free trial this membership began with: one trial per member and plan, whatever
    # plan the membership moves to later.
    trial_plan_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    period_start: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    period_end: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    grace_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cancel_at_period_end: Mapped[bool] = mapped_column(Boolean, default=False)
    # The first paid period's start: later periods end on the same day of the month (31 March, 30 April, 31 May).
    billing_anchor: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # When the worker next has something to do with it (the period's end, or the grace's).
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MembershipPayment(Base):
    """A payment (or a failed attempt) the shop's payment provider reported; `key` makes a retry the same payment."""

    __tablename__ = "membership_payments"
    __table_args__ = (UniqueConstraint("tenant_id", "membership_id", "key", name="uq_membership_payments_key"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Id)
    membership_id: Mapped[int] = mapped_column(ForeignKey("memberships.id"))
    key: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(8))  # paid or failed
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    provider_ref: Mapped[str | None] = mapped_column(String(200), nullable=True)
    period_start: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    period_end: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MembershipLog(Base):
    """What happened to a membership (subscribed, renewed, renewal_due, past_due, lapsed, cancelled,
    points_granted): the events notifications will send from."""

    __tablename__ = "membership_log"
    __table_args__ = (Index("ix_membership_log_membership", "tenant_id", "membership_id", "id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Id)
    membership_id: Mapped[int] = mapped_column(BigInteger)
    member_id: Mapped[int] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(24))
    details: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
