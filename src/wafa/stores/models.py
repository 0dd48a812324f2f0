"""Stores' tables: each store's place, time zone and opening hours, and members' check-ins at them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Boolean, Date, Double, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from wafa.db import Base, Id, UTCDateTime


class Store(Base):
    """A store members can check in at. `code` is the store's code on tills' events (`event.store`), which the
    rules' `store` condition matches; `hours` are wall-clock intervals by weekday (stores/hours.py)."""

    __tablename__ = "stores"
    __table_args__ = (
        UniqueConstraint("tenant_id", "code", name="uq_stores_code"),
        Index("ix_stores_place", "tenant_id", "latitude"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Id)
    code: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(200))
    name_ar: Mapped[str | None] = mapped_column(String(200), nullable=True)
    latitude: Mapped[float] = mapped_column(Double)
    longitude: Mapped[float] = mapped_column(Double)
    timezone: Mapped[str] = mapped_column(String(64))
    # {"mon": [["08:00", "22:00"]], ..., "sun": []}: every weekday, its intervals sorted.
    hours: Mapped[dict[str, list[list[str]]]] = mapped_column(JSON)
    radius_m: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StoreCheckIn(Base):
    """A member's check-in at a store: at most one per store and store-local day (the unique key). The member's
    coordinates are not kept, only how far from the store they were; the check-in is also a `check_in` event."""

    __tablename__ = "store_check_ins"
    __table_args__ = (
        UniqueConstraint("tenant_id", "member_id", "store_id", "local_date", name="uq_store_check_ins_day"),
        Index("ix_store_check_ins_store_day", "tenant_id", "store_id", "local_date"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Id)
    member_id: Mapped[int] = mapped_column(BigInteger)
    store_id: Mapped[int] = mapped_column(BigInteger)
    local_date: Mapped[date] = mapped_column(Date)
    checked_in_at: Mapped[datetime] = mapped_column(UTCDateTime)
    distance_m: Mapped[int] = mapped_column(Integer)
    # The `check_in` event it recorded (set in the same transaction, right after the check-in claims its day).
    event_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
