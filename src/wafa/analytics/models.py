"""Analytics tables: fitted lifetime-value models, RFM scores."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Date, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from wafa.db import Base, Id, UTCDateTime


class ClvModel(Base):
    """A BG/NBD + Gamma-Gamma fit of a program's purchase history; the newest serves predictions."""

    __tablename__ = "clv_models"
    __table_args__ = (Index("ix_clv_models_tenant", "tenant_id", "id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    calibration_end: Mapped[date] = mapped_column(Date)
    holdout_end: Mapped[date | None] = mapped_column(Date, nullable=True)
    unit: Mapped[str] = mapped_column(String(8))  # day, week
    bgnbd: Mapped[dict] = mapped_column(JSON)  # r, alpha, a, b, log_likelihood
    gamma_gamma: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # p, q, gamma, log_likelihood
    diagnostics: Mapped[dict] = mapped_column(JSON)
    fitted_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RfmScore(Base):
    """A member's recency, frequency and monetary scores and segment, as last computed."""

    __tablename__ = "rfm_scores"
    __table_args__ = (Index("ix_rfm_scores_segment", "tenant_id", "segment", "member_id"),)

    tenant_id: Mapped[int] = mapped_column(Id, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    recency_days: Mapped[int] = mapped_column(Integer)
    frequency: Mapped[int] = mapped_column(Integer)
    monetary: Mapped[int] = mapped_column(BigInteger)  # base currency, minor units, kept after returns
    r: Mapped[int] = mapped_column(Integer)
    f: Mapped[int] = mapped_column(Integer)
    m: Mapped[int] = mapped_column(Integer)
    segment: Mapped[str] = mapped_column(String(24))
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AcquisitionSpend(Base):
    """What the program spent on acquiring members in a month (entered by the team), for CAC."""

    __tablename__ = "acquisition_spend"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # YYYY-MM, local
    amount: Mapped[int] = mapped_column(BigInteger)  # base currency, minor units
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CustomSegment(Base):
    """A segment the team defines with conditions; its members are recomputed daily and on demand."""

    __tablename__ = "custom_segments"
    __table_args__ = (UniqueConstraint("tenant_id", "key", name="uq_custom_segments_key"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    key: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(200))
    name_ar: Mapped[str] = mapped_column(String(200))
    conditions: Mapped[list] = mapped_column(JSON)
    computed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SegmentMember(Base):
    """A member in a custom segment as last computed."""

    __tablename__ = "segment_members"
    __table_args__ = (Index("ix_segment_members_member", "tenant_id", "member_id"),)

    tenant_id: Mapped[int] = mapped_column(Id, primary_key=True)
    segment_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)


class SegmentCount(Base):
    """How many members a segment had at each computation: its size over time."""

    __tablename__ = "segment_counts"
    __table_args__ = (Index("ix_segment_counts_segment", "tenant_id", "segment_id", "at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Id)
    segment_id: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    members: Mapped[int] = mapped_column(Integer)


class AbcPolicy(Base):
    """How the program ranks its business customers A, B and C: the weight of each factor and the shares."""

    __tablename__ = "abc_policies"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    weights: Mapped[dict] = mapped_column(JSON)  # volume, growth, margin, payment_speed, tenure
    a_share: Mapped[float] = mapped_column(Float)
    b_share: Mapped[float] = mapped_column(Float)
    months: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AbcScore(Base):
    """A member's A/B/C class as last computed, with its score and each factor's percentile."""

    __tablename__ = "abc_scores"
    __table_args__ = (Index("ix_abc_scores_class", "tenant_id", "abc_class", "member_id"),)

    tenant_id: Mapped[int] = mapped_column(Id, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    score: Mapped[float] = mapped_column(Float)
    abc_class: Mapped[str] = mapped_column(String(1))
    factors: Mapped[dict] = mapped_column(JSON)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RfmCount(Base):
    """How many members each RFM segment had at each computation: the segments' sizes over time."""

    __tablename__ = "rfm_counts"
    __table_args__ = (Index("ix_rfm_counts_time", "tenant_id", "at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Id)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    segment: Mapped[str] = mapped_column(String(24))
    members: Mapped[int] = mapped_column(Integer)


class AnalyticsRun(Base):
    """When a program's scheduled analytics (RFM, A/B/C, custom segments) last ran; its row is also the lock
    two runs at once take, so each computation happens once and never collides with another."""

    __tablename__ = "analytics_runs"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    job: Mapped[str] = mapped_column(String(16), primary_key=True)
    ran_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ProgramGoal(Base):
    """A target the team sets for one KPI over a period of local days ("members buy 3.3 times this year")."""

    __tablename__ = "program_goals"
    __table_args__ = (UniqueConstraint("tenant_id", "kpi", "starts_on", "ends_on", name="uq_program_goals_kpi_period"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    kpi: Mapped[str] = mapped_column(String(32))
    # A decimal string in the KPI's own unit, as /v1/analytics/kpis gives it: rates 0 to 1, money in major units.
    target: Mapped[str] = mapped_column(String(24))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)  # inclusive
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
