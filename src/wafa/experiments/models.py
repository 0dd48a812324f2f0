"""A/B/n experiments: their arms and weights, holdout share, primary metric, horizon and lifecycle."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from wafa.db import Base, Id, UTCDateTime


class Experiment(Base):
    """One experiment. Members are assigned by a hash of tenant, key and member (assignment.py): nothing is
    stored per member, so assignment is the same on every machine and costs no write."""

    __tablename__ = "experiments"
    __table_args__ = (UniqueConstraint("tenant_id", "key", name="uq_experiments_key"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Id)
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(16))  # rules | offers | campaigns
    holdout_percent: Mapped[int] = mapped_column(Integer)
    arms: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # [{"key": "a", "weight": 1}, ...]
    primary_metric: Mapped[str] = mapped_column(String(16))  # purchases | revenue | redemptions | retention
    horizon_days: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # draft | running | ended | shipped
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    shipped_arm: Mapped[str | None] = mapped_column(String(16), nullable=True)
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
