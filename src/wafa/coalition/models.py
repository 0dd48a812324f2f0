"""Coalition tables: the operator's settings, partners with their terms and stores, settlement runs and
the statements they close (never changed once closed)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from wafa.db import Base, Id, UTCDateTime


class Coalition(Base):
    """A tenant that runs its program as a coalition: it is the operator, partners join it."""

    __tablename__ = "coalitions"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    # What happens to the money paid for points that expire: "operator" keeps it, "partners" gives it
    # back to the partners that paid for those points, in proportion.
    breakage_policy: Mapped[str] = mapped_column(String(16), default="operator")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Partner(Base):
    """A brand in the coalition, with its terms: rates are decimal strings, money in its currency."""

    __tablename__ = "partners"
    __table_args__ = (UniqueConstraint("tenant_id", "key", name="uq_partners_key"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    name_ar: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # "active" or "suspended" (its keys and users are refused; its history stays).
    status: Mapped[str] = mapped_column(String(16), default="active")
    currency: Mapped[str] = mapped_column(String(3))
    # "monthly" or "weekly" (ISO weeks, Monday first), in the operator's time zone.
    period: Mapped[str] = mapped_column(String(8), default="monthly")
    # Points per one major unit spent at the partner (its currency).
    earn_rate: Mapped[str] = mapped_column(String(24))
    # What the partner pays the operator per point its customers earn (major units).
    issue_price: Mapped[str] = mapped_column(String(24))
    # What the operator pays the partner per point spent there (major units).
    redeem_value: Mapped[str] = mapped_column(String(24))
    # The operator's commission on each side, as a fraction ("0.05"): kept out of the issue price the
    # partner pays, and withheld from the value of points redeemed there.
    issue_fee: Mapped[str] = mapped_column(String(12), default="0")
    redeem_fee: Mapped[str] = mapped_column(String(12), default="0")
    # A points currency of the partner's own, brought in at `own_points_rate` of them per coalition point.
    own_points_name: Mapped[str | None] = mapped_column(String(64), nullable=True)
    own_points_rate: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PartnerStore(Base):
    """A partner's store: the `store` code events name, so the partner is known from it."""

    __tablename__ = "partner_stores"
    __table_args__ = (
        UniqueConstraint("tenant_id", "code", name="uq_partner_stores_code"),
        Index("ix_partner_stores_partner", "tenant_id", "partner_id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(100), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SettlementRun(Base):
    """The closing of one period for every partner settled by it, with the operator's statement."""

    __tablename__ = "settlement_runs"
    __table_args__ = (UniqueConstraint("tenant_id", "period", name="uq_settlement_runs_period"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    # "2026-11" (monthly partners) or "2026-W47" (weekly partners).
    period: Mapped[str] = mapped_column(String(10))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Who closed it: "worker", "cli", or a console user's e-mail, or the API key's name.
    closed_by: Mapped[str] = mapped_column(String(254))
    closed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Statement(Base):
    """One party's statement of a closed period in one currency: lines and the net, positive when the
    operator pays the partner. The operator's own statement (`partner_id` NULL) is the negative of the sum."""

    __tablename__ = "settlement_statements"
    __table_args__ = (
        UniqueConstraint("tenant_id", "run_id", "party", "currency", name="uq_settlement_statements_party"),
        Index("ix_settlement_statements_partner", "tenant_id", "partner_id", "id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    run_id: Mapped[int] = mapped_column(ForeignKey("settlement_runs.id"))
    # "partner:<id>" or "operator": a plain key, so the unique constraint holds without NULLs.
    party: Mapped[str] = mapped_column(String(40))
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"), nullable=True)
    period: Mapped[str] = mapped_column(String(10))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    currency: Mapped[str] = mapped_column(String(3))
    # [{"code": "issued", "points": 1200, "amount": -600}, ...] in minor units, signed as `net`.
    lines: Mapped[list] = mapped_column(JSON)
    points_issued: Mapped[int] = mapped_column(BigInteger, default=0)
    points_redeemed: Mapped[int] = mapped_column(BigInteger, default=0)
    net: Mapped[int] = mapped_column(BigInteger)
    closed_at: Mapped[datetime] = mapped_column(UTCDateTime)
