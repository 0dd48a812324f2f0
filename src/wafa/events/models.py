"""Event, event type and idempotency tables."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from wafa.db import Base, Id, UTCDateTime


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        # One purchase per order id per tenant; returns and custom events may repeat an order id.
        Index(
            "uq_events_purchase_order",
            "tenant_id",
            "order_id",
            unique=True,
            sqlite_where=text("type = 'purchase'"),
            postgresql_where=text("type = 'purchase'"),
        ),
        # A return may carry the shop's own id for it; a repeat of that id is the same return.
        Index(
            "uq_events_return_id",
            "tenant_id",
            "order_id",
            "return_id",
            unique=True,
            sqlite_where=text("type = 'return' AND return_id IS NOT NULL"),
            postgresql_where=text("type = 'return' AND return_id IS NOT NULL"),
        ),
        # Custom and built-in trigger events may carry the sender's id for them: a repeat replays.
        Index(
            "uq_events_reference",
            "tenant_id",
            "type",
            "member_id",
            "reference",
            unique=True,
            sqlite_where=text("reference IS NOT NULL"),
            postgresql_where=text("reference IS NOT NULL"),
        ),
        Index("ix_events_member", "tenant_id", "member_id", "occurred_at"),
        Index("ix_events_occurred", "tenant_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Id)  # no FK: see NO_HOT_ROW_LOCKS
    type: Mapped[str] = mapped_column(String(64))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), nullable=True)
    order_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    return_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    reference: Mapped[str | None] = mapped_column(String(128), nullable=True)
    # For a return: the purchase it returns part of.
    purchase_event_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    amount: Mapped[int] = mapped_column(BigInteger, default=0)
    # Purchases only, updated by returns under a row lock: how much of the order came back.
    returned_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    points: Mapped[int] = mapped_column(BigInteger, default=0)
    points_reversed: Mapped[int] = mapped_column(BigInteger, default=0)
    items: Mapped[list | None] = mapped_column(JSON, nullable=True)
    returned_items: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    attributes: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    channel: Mapped[str | None] = mapped_column(String(32), nullable=True)
    store: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # In a coalition: the partner the event happened at (a return is the purchase's partner's).
    partner_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # sha256 of the request that created a purchase, so a repeated order id replays or conflicts.
    request_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class EventType(Base):
    """A custom event type a tenant declares, with the JSON schema its attributes must meet."""

    __tablename__ = "event_types"
    __table_args__ = (UniqueConstraint("tenant_id", "name", name="uq_event_types_name"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    name: Mapped[str] = mapped_column(String(64))
    description: Mapped[str | None] = mapped_column(String(500), nullable=True)
    attributes_schema: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class EventOutcome(Base):
    """What an event's first answer said that later changes would alter: the member's balance just after
    it, and why nothing was awarded. Replays and GET /v1/events/{id} answer with these, not with today's."""

    __tablename__ = "event_outcomes"

    event_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    tenant_id: Mapped[int] = mapped_column(Id)
    balance: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    not_awarded_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)


class IdempotencyRecord(Base):
    """The first response to a request with an Idempotency-Key, replayed for repeats."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("tenant_id", "key", name="uq_idempotency_key"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Id)  # no FK: see NO_HOT_ROW_LOCKS
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ImportJob(Base):
    """A purchase file imported from the console: where it stands, for the progress bar, and its report."""

    __tablename__ = "import_jobs"
    __table_args__ = (Index("ix_import_jobs_tenant", "tenant_id", "id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    file_name: Mapped[str] = mapped_column(String(255))
    award: Mapped[bool] = mapped_column(default=False)
    # queued, running, done or failed.
    status: Mapped[str] = mapped_column(String(16))
    # How far through the file, in thousandths (bytes of a CSV, rows of a Parquet file).
    permille: Mapped[int] = mapped_column(Integer, default=0)
    rows: Mapped[int] = mapped_column(Integer, default=0)
    imported: Mapped[int] = mapped_column(Integer, default=0)
    already: Mapped[int] = mapped_column(Integer, default=0)
    bad_rows: Mapped[int] = mapped_column(Integer, default=0)
    members_enrolled: Mapped[int] = mapped_column(Integer, default=0)
    awarded_points: Mapped[int] = mapped_column(BigInteger, default=0)
    bad: Mapped[list] = mapped_column(JSON, default=list)  # the first 100 (line, reason)
    error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class MemberPurchaseDay(Base):
    """A member's purchases per UTC day (of when they happened) and currency, as they stand after
    returns: money kept and orders not wholly returned. Kept with every purchase and return, so tiers
    and goals sum at most a window's days instead of re-reading the member's orders."""

    __tablename__ = "member_purchase_days"

    tenant_id: Mapped[int] = mapped_column(Id, primary_key=True)
    member_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    kept: Mapped[int] = mapped_column(BigInteger)
    orders: Mapped[int] = mapped_column(Integer)


class MemberCategoryDay(Base):
    """A member's purchases per UTC day, currency and category of their lines, as they stand after
    returns: money kept on the category's lines (the order's paid amount shared by list price) and
    orders that still hold a line of it. Badges and challenges that count a category's spend, its
    orders, or how many categories a member bought from sum these instead of decoding every order."""

    __tablename__ = "member_category_days"

    tenant_id: Mapped[int] = mapped_column(Id, primary_key=True)
    member_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    category: Mapped[str] = mapped_column(String(64), primary_key=True)
    kept: Mapped[int] = mapped_column(BigInteger)
    orders: Mapped[int] = mapped_column(Integer)
