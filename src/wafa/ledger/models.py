"""Ledger tables. Entries and postings are append-only; lots and holds carry the state the ledger needs."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Boolean, Date, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from wafa.db import Base, Id, UTCDateTime

# NO_HOT_ROW_LOCKS: the busy tables (entries, postings, lots, lot movements, holds, events,
# idempotency records) carry no foreign key to `tenants`, and postings none to `accounts`. A foreign
# key check takes a share lock on the parent row, and every purchase of a tenant would lock the same
# tenant row and the same program account row: a hot shared row in disguise. Only the ledger and
# event services write these tables, and `wafa ledger verify` checks that every posting's account
# exists and belongs to the posting's tenant.

# Account kinds. A member has three points accounts: what they can spend, what waits for the
# return window, and what a till holds. The program's accounts are the other side of each entry.
MEMBER_KINDS = ("available", "pending", "held")
PROGRAM_KINDS = ("issued", "redeemed", "expired", "adjustments")


class Account(Base):
    __tablename__ = "accounts"
    __table_args__ = (
        UniqueConstraint("tenant_id", "owner", "kind", "unit", name="uq_accounts_owner_kind_unit"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    # "member:<id>" or "program": a plain key so the unique constraint holds without NULLs.
    owner: Mapped[str] = mapped_column(String(40))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), nullable=True)
    kind: Mapped[str] = mapped_column(String(16))
    unit: Mapped[str] = mapped_column(String(8), default="PTS")
    # Cached sum of postings: kept for member accounts only, in the same transaction as the
    # postings. Program accounts are touched by every entry, so theirs is derived, never cached.
    balance: Mapped[int] = mapped_column(BigInteger, default=0)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    last_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)


class Entry(Base):
    __tablename__ = "entries"
    __table_args__ = (
        UniqueConstraint("tenant_id", "idempotency_key", name="uq_entries_idempotency_key"),
        Index("ix_entries_member", "tenant_id", "member_id", "id"),
        # A member's points earned in a window reads whole days from `member_points_earned` and only
        # the window's first and last part-days from here: the credits of a part-day by time...
        Index("ix_entries_member_created", "tenant_id", "member_id", "created_at"),
        # ...and what reversed them since (a claw-back counts on the day of the credit it takes back).
        Index(
            "ix_entries_reverses", "tenant_id", "reverses_entry_id",
            postgresql_where=text("reverses_entry_id IS NOT NULL"), sqlite_where=text("reverses_entry_id IS NOT NULL"),
        ),
        # A partner's entries of a settlement period (only coalition entries are in it).
        Index(
            "ix_entries_partner", "tenant_id", "partner_id", "created_at",
            postgresql_where=text("partner_id IS NOT NULL"), sqlite_where=text("partner_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Id)  # no FK: see NO_HOT_ROW_LOCKS
    kind: Mapped[str] = mapped_column(String(16))
    idempotency_key: Mapped[str] = mapped_column(String(200))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), nullable=True)
    event_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    reverses_entry_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # The coalition partner where the entry happened (earned, spent, returned, expired): history lines
    # name it, and statements and flows read a partner's entries by it.
    partner_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # The member's net change to available and pending points, for history lines.
    points: Mapped[int] = mapped_column(BigInteger, default=0)
    reason: Mapped[str] = mapped_column(String(500))
    details: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Posting(Base):
    __tablename__ = "postings"
    __table_args__ = (
        # By entry, then account: "what did these entries post to the issued account" (a member's points
        # earned, which tiers qualify on) reads only its own postings, never the program account's.
        Index("ix_postings_entry_account", "entry_id", "account_id"),
        Index("ix_postings_account_seq", "account_id", "seq"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Id)  # no FK: see NO_HOT_ROW_LOCKS
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id"))
    account_id: Mapped[int] = mapped_column(Id)  # no FK: see NO_HOT_ROW_LOCKS
    unit: Mapped[str] = mapped_column(String(8))
    amount: Mapped[int] = mapped_column(BigInteger)
    # Member accounts only: position in the account's chain and the chain head after this posting.
    seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    hash: Mapped[str | None] = mapped_column(String(64), nullable=True)


class Lot(Base):
    """Points credited by one entry, tracked until spent, clawed back or expired."""

    __tablename__ = "lots"
    __table_args__ = (
        Index("ix_lots_member_open", "tenant_id", "member_id", "released", "remaining"),
        # The worker's two sweeps look only at lots still in play, so their indexes hold only those:
        # years of spent and expired lots never slow a pass down.
        Index(
            "ix_lots_release_due", "available_at",
            postgresql_where=text("released = false"), sqlite_where=text("released = 0"),
        ),
        Index(
            "ix_lots_expiry_due", "expires_at",
            postgresql_where=text("released = true AND remaining > 0"), sqlite_where=text("released = 1 AND remaining > 0"),
        ),
        Index("ix_lots_event", "tenant_id", "event_id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Id)  # no FK: see NO_HOT_ROW_LOCKS
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id"))
    event_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    remaining: Mapped[int] = mapped_column(BigInteger)
    released: Mapped[bool] = mapped_column(Boolean, default=False)
    available_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class LotMovement(Base):
    """How much of a lot an entry took (positive) or gave back (negative, a void)."""

    __tablename__ = "lot_movements"
    __table_args__ = (Index("ix_lot_movements_lot", "lot_id"), Index("ix_lot_movements_entry", "entry_id"))

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Id)  # no FK: see NO_HOT_ROW_LOCKS
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id"))
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"))
    amount: Mapped[int] = mapped_column(BigInteger)


class Hold(Base):
    """Points reserved at a till: captured or voided exactly once, or lapsing by itself."""

    __tablename__ = "holds"
    __table_args__ = (
        Index("ix_holds_member", "tenant_id", "member_id"),
        Index("ix_holds_open_due", "status", "expires_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Id)  # no FK: see NO_HOT_ROW_LOCKS
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    points: Mapped[int] = mapped_column(BigInteger)
    captured_points: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(16), default="open")
    reason: Mapped[str] = mapped_column(String(500))
    hold_entry_id: Mapped[int] = mapped_column(BigInteger)
    resolution_entry_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class MemberPointsEarned(Base):
    """Points the program issued to a member per UTC day, net of what returns took back (on the day of
    the credit taken back), tier welcome points left out: kept with every such entry, so tier
    qualification sums at most a window's days instead of re-reading the member's entries."""

    __tablename__ = "member_points_earned"

    tenant_id: Mapped[int] = mapped_column(Id, primary_key=True)
    member_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    points: Mapped[int] = mapped_column(BigInteger)


class MoneyPeriod(Base):
    """How far a party's money is settled: postings to a partner's money accounts are never dated before
    `closed_through` (an entry posted as its period closes is dated into the next one)."""

    __tablename__ = "money_periods"

    tenant_id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=False)
    partner_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    closed_through: Mapped[datetime] = mapped_column(UTCDateTime)
