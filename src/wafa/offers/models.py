"""Next-best-offer models as trained for a tenant (the factors, the items and members they index, the
popular items for cold starts, and the holdout metrics measured when they were trained), and offers made
to chosen members: each member's copy with its own window, and every use of it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from wafa.db import Base, Id, UTCDateTime


class OfferModel(Base):
    """One trained model. Factors are float32 arrays' bytes (numpy `tobytes()`), their shapes in
    `parameters` (`member_factors_shape`, `item_factors_shape`); rows follow `member_ids`, `item_ids`."""

    __tablename__ = "offer_models"
    __table_args__ = (Index("ix_offer_models_latest", "tenant_id", "trained_at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Id)
    trained_at: Mapped[datetime] = mapped_column(UTCDateTime)
    algorithm: Mapped[str] = mapped_column(String(32))  # "als"
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The holdout's report (evaluation.Report.as_dict()); its scores are null when nothing was left to test.
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
    item_ids: Mapped[list[str]] = mapped_column(JSON)
    member_ids: Mapped[list[int]] = mapped_column(JSON)
    member_factors: Mapped[bytes] = mapped_column(LargeBinary)
    item_factors: Mapped[bytes] = mapped_column(LargeBinary)
    # {"all": [[item, share], ...], "segments": {"champions": [[item, share], ...], ...}}
    popular: Mapped[dict[str, Any]] = mapped_column(JSON)


class Offer(Base):
    """Something made available to chosen members: a reward (at its price or a personal one) or a rule
    (whose `offer` condition names this offer's key), each member with their own validity window and,
    optionally, a cap on how often they may use it. A location offer also asks for a check-in, today,
    at one of its stores while the store is open."""

    __tablename__ = "offers"
    __table_args__ = (UniqueConstraint("tenant_id", "key", name="uq_offers_key"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Id)
    key: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(200))
    name_ar: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # "reward" or "rule"
    reward_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    points: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # a reward offer's personal price; None: the reward's
    rule_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    category: Mapped[str | None] = mapped_column(String(64), nullable=True)  # what a rule offer is about, for ranking and reasons
    # {"all": true} | {"segments": [...]} | {"tiers": [...]} | {"external_ids": [...]} | {"model": {"top": n}};
    # optionally with "experiment": key and "arms": [...] (only members assigned those arms)
    audience: Mapped[dict[str, Any]] = mapped_column(JSON)
    valid_days: Mapped[int] = mapped_column(Integer)  # each member's window, from when they are given it
    per_member_cap: Mapped[int | None] = mapped_column(Integer, nullable=True)
    store_codes: Mapped[list[str]] = mapped_column(JSON, default=list)  # a location offer: check in at one of these
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    status: Mapped[str] = mapped_column(String(16))  # draft, active, paused, ended
    granted: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MemberOffer(Base):
    """One member's copy of an offer: when it opened and closes for them, how often they used it, and
    why they were given it (a reason key the member is shown in their language)."""

    __tablename__ = "member_offers"
    __table_args__ = (
        UniqueConstraint("tenant_id", "offer_id", "member_id", name="uq_member_offers"),
        Index("ix_member_offers_member", "tenant_id", "member_id", "valid_until"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Id)
    offer_id: Mapped[int] = mapped_column(BigInteger)
    member_id: Mapped[int] = mapped_column(BigInteger)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    source: Mapped[str] = mapped_column(String(16))  # all, segment, tier, list, model, experiment
    arm: Mapped[str | None] = mapped_column(String(32), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class OfferUse(Base):
    """A use of a member's offer: a reward redeemed through it, or a purchase its rule rewarded; one per
    source, so a replay is counted once."""

    __tablename__ = "offer_uses"
    __table_args__ = (UniqueConstraint("tenant_id", "source_key", name="uq_offer_uses_source"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Id)
    member_offer_id: Mapped[int] = mapped_column(BigInteger)
    member_id: Mapped[int] = mapped_column(BigInteger)
    source_key: Mapped[str] = mapped_column(String(200))
    redemption_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    event_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    used_at: Mapped[datetime] = mapped_column(UTCDateTime)
