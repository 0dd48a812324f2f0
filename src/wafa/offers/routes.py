"""HTTP: a member's next-best offers from the tenant's latest model; training a model now (admin) and reading its metrics."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from wafa.api.deps import Context, IdPath, require
from wafa.errors import NotFound
from wafa.members import service as members
from wafa.offers import service
from wafa.offers.schemas import ModelInfo, OfferModelRead, RecommendationPage, RecommendationRead
from wafa.rewards.models import Reward
from wafa.tenants.service import Principal

router = APIRouter(prefix="/v1", tags=["offers"])

REASONS = {
    ("model", "en"): "Members with tastes like yours often choose {name}",
    ("model", "ar"): "الأعضاء الذين يشاركونك ذوقك يختارون غالبًا {name}",
    ("popular", "en"): "Popular with members like you",
    ("popular", "ar"): "رائج بين الأعضاء المشابهين لك",
}


def _active_rewards(session: Session, *, tenant_id: int, offers: list[service.Offer]) -> dict[str, Reward]:
    """The active rewards among the offers, by item ("reward:<id>")."""
    ids = [int(offer.item.partition(":")[2]) for offer in offers if offer.item.startswith("reward:")]
    if not ids:
        return {}
    query = select(Reward).where(Reward.tenant_id == tenant_id, Reward.id.in_(ids), Reward.status == "active")
    return {f"reward:{reward.id}": reward for reward in session.execute(query).scalars()}


def _read(offer: service.Offer, reward: Reward | None, lang: str) -> RecommendationRead:
    kind, _, name = offer.item.partition(":")
    if reward is not None:
        name = reward.name_ar if lang == "ar" else reward.name_en
    return RecommendationRead(
        item=offer.item, kind="reward" if kind == "reward" else "category", key=reward.key if reward else None,
        name_en=reward.name_en if reward else None, name_ar=reward.name_ar if reward else None, score=offer.score,
        source="model" if offer.source == "model" else "popular", reason=REASONS[(offer.source, lang)].format(name=name),
    )


@router.get(
    "/members/{member_id}/recommendations", response_model=RecommendationPage,
    summary="A member's next-best offers: the rewards and categories they are likely to want next, best first",
)
def recommendations(
    request: Request, member_id: IdPath,
    k: int = Query(5, ge=1, le=50, description="how many items"),
    lang: Literal["en", "ar"] | None = Query(None, description="the reasons' language (default: the member's)"),
    principal: Principal = Depends(require("read")),
) -> RecommendationPage:
    """From the latest model (`POST /v1/offers/model:train`, or nightly by the worker): a member it learned
    from gets their own ranking; a new member the items popular in their RFM segment, else overall.
    Rewards no longer active are left out. Before any model is trained: no items and `model: null`."""
    ctx = Context(request)
    with ctx.transaction() as session:
        member = members.get_or_raise(session, tenant_id=principal.tenant_id, member_id=member_id)
        stored = service.current(session, tenant_id=principal.tenant_id)
        if stored is None:
            return RecommendationPage(items=[], model=None)
        # Every item ranked, then cut: inactive rewards must not leave the member with fewer than k.
        offers = service.rank(session, stored=stored, member_id=member.id, k=len(stored.recommender.items))
        rewards = _active_rewards(session, tenant_id=principal.tenant_id, offers=offers)
        kept = [offer for offer in offers if not offer.item.startswith("reward:") or offer.item in rewards][:k]
        language = lang or ("ar" if member.locale == "ar" else "en")
        return RecommendationPage(
            items=[_read(offer, rewards.get(offer.item), language) for offer in kept],
            model=ModelInfo(id=stored.id, trained_at=stored.trained_at, metrics=stored.metrics),
        )


@router.post("/offers/model:train", status_code=201, response_model=OfferModelRead, summary="Train the next-best-offer model now (admin)")
def train(request: Request, principal: Principal = Depends(require("admin"))) -> OfferModelRead:
    """Implicit ALS on every interaction so far (orders per item category, rewards given), stored with the
    metrics of a time-based holdout against item popularity. 422 when there is nothing to learn from."""
    ctx = Context(request)
    with ctx.transaction() as session:
        row = service.train(session, tenant_id=principal.tenant_id, now=ctx.now())
        return OfferModelRead(id=row.id, trained_at=row.trained_at, algorithm=row.algorithm, parameters=row.parameters, metrics=row.metrics)


@router.get("/offers/model", response_model=OfferModelRead, summary="The latest next-best-offer model and its holdout metrics")
def latest_model(request: Request, principal: Principal = Depends(require("read"))) -> OfferModelRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        stored = service.current(session, tenant_id=principal.tenant_id)
        if stored is None:
            raise NotFound("no offer model trained yet: train one (POST /v1/offers/model:train) or wait for the nightly run")
        return OfferModelRead(id=stored.id, trained_at=stored.trained_at, algorithm=stored.algorithm, parameters=stored.parameters,
                              metrics=stored.metrics)
