"""Pydantic: a member's recommended items and the offer model they come from; offers made to chosen
members, and a member's offers as they see them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from wafa.inputs import Count, Id, JsonObject, Line, Moment
from wafa.stores.schemas import CODE_PATTERN


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


OfferKey = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]*$")]
StoreCode = Annotated[str, Field(min_length=1, max_length=64, pattern=CODE_PATTERN)]


class OfferIn(BaseModel):
    """An offer, created as a draft: nothing is given to anyone until it is activated."""

    model_config = ConfigDict(extra="forbid")

    key: OfferKey = Field(description="the offer's name to rules (the `offer` condition) and to the API, unique in the program")
    name_en: Line = Field(min_length=1, max_length=200)
    name_ar: Line = Field(min_length=1, max_length=200)
    kind: Literal["reward", "rule"] = Field(description="reward: a reward of the catalog, at its price or `points`; "
                                                        "rule: a rule whose `offer` condition names this key")
    reward_key: OfferKey | None = Field(None, description="kind reward: the reward")
    points: Count | None = Field(None, ge=0, le=10**9, description="kind reward: this offer's price in points (default: the reward's)")
    rule_id: Id | None = Field(None, description="kind rule: the rule (its conditions must name this offer)")
    category: Line | None = Field(None, max_length=64, description="what the offer is about (a product category), "
                                                                   "for the ranking and the member's reason")
    audience: JsonObject = Field(description='{"all": true}, {"segments": [...]}, {"tiers": [...]}, {"external_ids": [...]} or '
                                                 '{"model": {"top": n}} (members whose model ranks the offer in their top n); '
                                                 'add "experiment": key and "arms": [...] to give it to those arms only')
    valid_days: Count = Field(7, ge=1, le=366, description="each member's window, from when they are given the offer")
    per_member_cap: Count | None = Field(None, ge=1, le=10_000, description="how often each member may use it (none: no cap)")
    store_codes: list[StoreCode] = Field(default_factory=list, max_length=500,
                                         description="a location offer: usable only by a member checked in today at one of "
                                                     "these stores, while it is open")
    starts_at: Moment | None = None
    ends_at: Moment | None = None

    @model_validator(mode="after")
    def _kind_fits(self) -> OfferIn:
        if self.kind == "reward" and self.reward_key is None:
            raise ValueError("a reward offer names its reward_key")
        if self.kind == "rule" and self.rule_id is None:
            raise ValueError("a rule offer names its rule_id")
        if self.kind == "rule" and (self.reward_key is not None or self.points is not None):
            raise ValueError("a rule offer has no reward_key or points")
        if self.kind == "reward" and self.rule_id is not None:
            raise ValueError("a reward offer has no rule_id")
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValueError("ends_at comes after starts_at")
        return self


class OfferPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name_en: Line | None = Field(None, min_length=1, max_length=200)
    name_ar: Line | None = Field(None, min_length=1, max_length=200)
    points: Count | None = Field(None, ge=0, le=10**9)
    category: Line | None = Field(None, max_length=64)
    audience: JsonObject | None = None
    valid_days: Count | None = Field(None, ge=1, le=366)
    per_member_cap: Count | None = Field(None, ge=1, le=10_000)
    store_codes: list[StoreCode] | None = Field(None, max_length=500)
    ends_at: Moment | None = None


class OfferRead(BaseModel):
    key: str
    name_en: str
    name_ar: str
    kind: str
    reward_key: str | None
    points: int | None
    rule_id: int | None
    category: str | None
    audience: dict[str, Any]
    valid_days: int
    per_member_cap: int | None
    store_codes: list[str]
    starts_at: datetime | None
    ends_at: datetime | None
    status: Literal["draft", "active", "paused", "ended"]
    granted: int = Field(description="members given the offer so far")
    used: int = Field(description="uses so far, all members")
    created_at: datetime
    updated_at: datetime


class OfferList(BaseModel):
    items: list[OfferRead]


class MemberOfferRead(BaseModel):
    key: str
    kind: Literal["reward", "rule"]
    name: str = Field(description="in the member's language (or `lang`)")
    reason: str = Field(description="one line for the member: why this offer is for them")
    reward_key: str | None
    points: int | None = Field(description="a reward offer's price in points for this member")
    rule_id: int | None
    valid_from: datetime
    valid_until: datetime
    uses: int
    uses_left: int | None = Field(description="none: no cap")
    store_codes: list[str] = Field(description="a location offer: where to check in to use it")
    usable_now: bool = Field(description="false for a location offer until the member checks in at one of its stores, while it is open")
    score: float | None = Field(description="the model's score for the offer's item (null: no model, or the item is unknown to it)")


class MemberOfferPage(BaseModel):
    items: list[MemberOfferRead] = Field(description="what the member holds now, best first by the model, then soonest to close")


class OfferRedeemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: Line | None = Field(None, max_length=500)
