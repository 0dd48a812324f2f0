"""Pydantic: a member's recommended items, and the offer model they come from."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class OfferModelRead(BaseModel):
    id: int
    trained_at: datetime
    algorithm: str
    parameters: dict[str, Any] = Field(description="the fit's settings, its seed and the factors' shapes")
    metrics: dict[str, Any] = Field(
        description="the holdout's precision, recall and NDCG at 5 of the model and of item popularity; null scores when nothing was held out",
    )


class ModelInfo(BaseModel):
    id: int
    trained_at: datetime
    metrics: dict[str, Any]


class RecommendationRead(BaseModel):
    item: str = Field(description='"reward:<id>" or "category:<name>"')
    kind: Literal["reward", "category"]
    key: str | None = Field(None, description="the reward's key (rewards only)")
    name_en: str | None = Field(None, description="the reward's name in English (rewards only)")
    name_ar: str | None = Field(None, description="the reward's name in Arabic (rewards only)")
    score: float
    source: Literal["model", "popular"] = Field(description="model: from the member's own history; popular: a cold start, "
                                                            "the items popular in the member's RFM segment or overall")
    reason: str = Field(description="one line for the member, in their language (or `lang`)")


class RecommendationPage(BaseModel):
    items: list[RecommendationRead] = Field(description="best first; empty when no model is trained yet")
    model: ModelInfo | None = Field(description="the model that ranked them; null when none is trained yet")
