"""Velocity limits' tables: what each limited action counted (marks), and the events held for review."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from wafa.db import Base, Id, UTCDateTime


class VelocityMark(Base):
    """One limited action (an earn, a redemption, an adjustment, a wallet debit) and who it counts for.

    Written only for programs with velocity limits on that action; a limit sums the marks of one subject
    (a member, a payment card, a store, an API key) over its window, held actions included."""

    __tablename__ = "velocity_marks"
    __table_args__ = (
        Index("ix_velocity_marks_member", "tenant_id", "action", "member_id", "at"),
        Index("ix_velocity_marks_card", "tenant_id", "action", "card", "at"),
        Index("ix_velocity_marks_store", "tenant_id", "action", "store", "at"),
        Index("ix_velocity_marks_key", "tenant_id", "action", "key_id", "at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Id)  # no FK: see NO_HOT_ROW_LOCKS
    action: Mapped[str] = mapped_column(String(16))
    member_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    card: Mapped[str | None] = mapped_column(String(64), nullable=True)
    store: Mapped[str | None] = mapped_column(String(64), nullable=True)
    key_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # Points (earn, redeem, adjust) or minor units of money (wallet debits).
    value: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class Review(Base):
    """An action held because it went past a velocity limit, until someone approves or rejects it.

    Earnings and adjustments are credited at once as held points (pending until the decision); a held
    redemption or wallet debit is kept as its request and carried out on approval."""

    __tablename__ = "reviews"
    __table_args__ = (
        Index("ix_reviews_queue", "tenant_id", "status", "id"),
        Index("ix_reviews_member", "tenant_id", "member_id"),
        Index("ix_reviews_event", "tenant_id", "event_id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Id)
    action: Mapped[str] = mapped_column(String(16))
    member_id: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))  # held, approved, rejected, failed
    # The limit that was passed, and what the subject had done in its window before this action.
    breached: Mapped[dict[str, Any]] = mapped_column(JSON)
    observed: Mapped[dict[str, Any]] = mapped_column(JSON)
    value: Mapped[int] = mapped_column(BigInteger)
    subjects: Mapped[dict[str, Any]] = mapped_column(JSON)
    event_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    order_id: Mapped[str | None] = mapped_column(String(160), nullable=True)
    entry_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    lot_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # When held points would have been available without the hold (the pending window's end).
    available_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # A held redemption or wallet debit: the request, carried out on approval; and what it gave.
    request: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    outcome: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(254), nullable=True)
    note: Mapped[str | None] = mapped_column(String(500), nullable=True)
