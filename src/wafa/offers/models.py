"""Next-best-offer models as trained for a tenant: the factors, the items and members they index, the
popular items for cold starts, and the holdout metrics measured when they were trained."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, LargeBinary, String
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
