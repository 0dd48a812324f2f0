"""Rule tables: rules and their versions (every edit is a new version), budgets, and what each rule awarded."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from wafa.db import Base, Id, UTCDateTime


class Rule(Base):
    __tablename__ = "rules"
    __table_args__ = (Index("ix_rules_tenant_status", "tenant_id", "status"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    status: Mapped[str] = mapped_column(String(16))
    current_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RuleVersion(Base):
    __tablename__ = "rule_versions"
    __table_args__ = (UniqueConstraint("tenant_id", "rule_id", "version", name="uq_rule_versions"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    rule_id: Mapped[int] = mapped_column(ForeignKey("rules.id"))
    version: Mapped[int] = mapped_column(Integer)
    definition: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RuleBudget(Base):
    """What a rule with a total budget has given so far: one row per rule, locked to consume it."""

    __tablename__ = "rule_budgets"
    __table_args__ = (UniqueConstraint("tenant_id", "rule_id", name="uq_rule_budgets_rule"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    rule_id: Mapped[int] = mapped_column(ForeignKey("rules.id"))
    points_used: Mapped[int] = mapped_column(BigInteger, default=0)
    # Cashback given, in minor units of the program's base currency (the budget's currency).
    money_used: Mapped[int] = mapped_column(BigInteger, default=0)


class RuleAward(Base):
    """What one rule version gave for one event, and what of it the member keeps after returns.

    Caps read the kept amounts (a return gives back the cap room it used); returns shrink them.
    """

    __tablename__ = "rule_awards"
    __table_args__ = (
        UniqueConstraint("tenant_id", "event_id", "rule_id", name="uq_rule_awards_event_rule"),
        Index("ix_rule_awards_member_rule", "tenant_id", "member_id", "rule_id", "occurred_at"),
        Index(
            "ix_rule_awards_cashback_due", "cashback_available_at",
            postgresql_where=text("cashback_released = false"), sqlite_where=text("cashback_released = 0"),
        ),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Id)  # no FK: see NO_HOT_ROW_LOCKS in ledger/models.py
    event_id: Mapped[int] = mapped_column(BigInteger)
    member_id: Mapped[int] = mapped_column(BigInteger)
    rule_id: Mapped[int] = mapped_column(BigInteger)
    version: Mapped[int] = mapped_column(Integer)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    points: Mapped[int] = mapped_column(BigInteger, default=0)
    points_kept: Mapped[int] = mapped_column(BigInteger, default=0)
    points_entry_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    points_lot_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    cashback: Mapped[int] = mapped_column(BigInteger, default=0)
    cashback_kept: Mapped[int] = mapped_column(BigInteger, default=0)
    # Cashback waits in the wallet's pending account for the same return window as points.
    cashback_available_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cashback_released: Mapped[bool] = mapped_column(Boolean, default=True)
    stamps: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    stamps_kept: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    rewards: Mapped[list | None] = mapped_column(JSON, nullable=True)
    rewards_kept: Mapped[list | None] = mapped_column(JSON, nullable=True)
    capped_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
