"""Training, evaluating and asking a tenant's next-best-offer model: each trained model is a row of
offer_models, with the holdout metrics measured when it was trained; rankings come from the latest."""

from __future__ import annotations

import gc
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from wafa import cache
from wafa.errors import InvalidInput, NotFound
from wafa.offers import evaluation, interactions, model
from wafa.offers.models import OfferModel
from wafa.rewards import active_names
from wafa.rewards.active_names import ActiveReward

ALGORITHM = "als"
CACHE_NAME = "offer_model"  # the process cache's name for a tenant's latest model (wafa.cache)


@dataclass(frozen=True)
class Offer:
    """An item ("reward:<id>" or "category:<name>") and its score: the model's, or the share of members
    who took it when the member is a cold start ("popular")."""

    item: str
    score: float
    source: str  # "model" or "popular"


@dataclass(frozen=True)
class Current:
    """A tenant's latest model as the process keeps it: what it says about itself, and its factors decoded."""

    id: int
    tenant_id: int
    trained_at: datetime
    algorithm: str
    parameters: dict[str, Any]
    metrics: dict[str, Any]
    recommender: model.Recommender


def _segments(session: Session, *, tenant_id: int) -> dict[int, str]:
    """Each member's RFM segment as last computed (none for members never scored)."""
    from wafa.analytics import rfm, segments

    found: dict[int, str] = {}
    for name in rfm.SEGMENTS:
        after: int | None = None
        while page := segments.members_of(session, tenant_id=tenant_id, segment=name, after_member_id=after, limit=10_000):
            found.update((score.member_id, score.segment) for score in page)
            after = page[-1].member_id
    return found


def evaluate(session: Session, *, tenant_id: int, now: datetime, seed: int = 0, cutoff: datetime | None = None,
             parameters: model.Parameters | None = None) -> evaluation.Report:
    """The holdout report: learn from interactions before `cutoff` (default: the last fifth of their time
    span is left out), test on each member's items first seen from then until `now`."""
    everything = _everything(session, tenant_id=tenant_id, now=now)
    return _holdout(session, tenant_id=tenant_id, everything=everything, now=now, seed=seed, cutoff=cutoff, parameters=parameters,
                    segments=_segments(session, tenant_id=tenant_id))


def _everything(session: Session, *, tenant_id: int, now: datetime) -> list[interactions.Interaction]:
    found = interactions.read(session, tenant_id=tenant_id, until=now)
    if not found:
        raise InvalidInput("no interactions to learn from: no purchases with item categories and no rewards given")
    return found


def _holdout(session: Session, *, tenant_id: int, everything: list[interactions.Interaction], now: datetime, seed: int,
             cutoff: datetime | None, parameters: model.Parameters | None, segments: dict[int, str]) -> evaluation.Report:
    cut = cutoff if cutoff is not None else evaluation.default_cutoff(everything)
    if cut >= now:
        raise InvalidInput("the cut-off must be before now")
    before = interactions.read(session, tenant_id=tenant_id, until=cut)
    if not before:
        raise InvalidInput(f"no interactions before the cut-off {cut.isoformat()}: nothing to learn from")
    return evaluation.holdout(
        interactions.matrix(before), evaluation.first_seen_after(before, everything), cutoff=cut, end=now,
        parameters=parameters or model.Parameters(), seed=seed, segments=segments,
    )


def train(session: Session, *, tenant_id: int, now: datetime, seed: int = 0, parameters: model.Parameters | None = None) -> OfferModel:
    """Fit a model on every interaction up to `now` and store it (flushed) with the holdout's metrics."""
    parameters = parameters or model.Parameters()
    everything = _everything(session, tenant_id=tenant_id, now=now)
    segment_of = _segments(session, tenant_id=tenant_id)
    try:
        metrics = _holdout(session, tenant_id=tenant_id, everything=everything, now=now, seed=seed, cutoff=None, parameters=parameters,
                           segments=segment_of).as_dict()
    except InvalidInput as exc:  # too short a history to hold part of it out: the model is still useful
        metrics = {"model": None, "baseline": None, "members_evaluated": 0, "reason": exc.detail}
    fitted = model.fit(interactions.matrix(everything), parameters=parameters, seed=seed, segments=segment_of)
    row = OfferModel(
        tenant_id=tenant_id, trained_at=now, algorithm=ALGORITHM,
        parameters={**parameters.as_dict(), "seed": seed, "member_factors_shape": list(fitted.member_factors.shape),
                    "item_factors_shape": list(fitted.item_factors.shape)},
        metrics=metrics, item_ids=fitted.items, member_ids=fitted.member_ids,
        member_factors=fitted.member_factors.astype(np.float32).tobytes(), item_factors=fitted.item_factors.astype(np.float32).tobytes(),
        popular={"all": [list(pair) for pair in fitted.popular],
                 "segments": {name: [list(pair) for pair in ranked] for name, ranked in fitted.popular_by_segment.items()}},
    )
    session.add(row)
    session.flush()
    cache.changed(session, tenant_id=tenant_id, name=CACHE_NAME)  # every process answers from this model once it commits
    return row


def latest(session: Session, *, tenant_id: int) -> OfferModel | None:
    """The tenant's most recently trained model, or None."""
    query = select(OfferModel).where(OfferModel.tenant_id == tenant_id).order_by(OfferModel.trained_at.desc(), OfferModel.id.desc()).limit(1)
    return session.execute(query).scalar_one_or_none()


def latest_or_raise(session: Session, *, tenant_id: int) -> OfferModel:
    """The tenant's most recently trained model (NotFound: none trained yet)."""
    found = latest(session, tenant_id=tenant_id)
    if found is None:
        raise NotFound("no offer model trained yet (`wafa offers train`)")
    return found


def recommender(row: OfferModel) -> model.Recommender:
    """The stored model, ready to rank."""
    def factors(data: bytes, shape: list[int]) -> np.ndarray:
        return np.frombuffer(data, dtype=np.float32).reshape(tuple(shape))

    def pairs(ranked: list[list[object]]) -> model.Ranked:
        return [(str(item), float(score)) for item, score in ranked]  # type: ignore[arg-type]

    return model.Recommender(
        member_ids=[int(m) for m in row.member_ids], items=list(row.item_ids),
        member_factors=factors(row.member_factors, row.parameters["member_factors_shape"]),
        item_factors=factors(row.item_factors, row.parameters["item_factors_shape"]),
        popular=pairs(row.popular["all"]), popular_by_segment={name: pairs(r) for name, r in row.popular["segments"].items()},
    )


def current(session: Session, *, tenant_id: int) -> Current | None:
    """The tenant's latest model ready to rank (None: none trained yet), kept in the process until a newer one commits."""
    def load() -> Current | None:
        row = latest(session, tenant_id=tenant_id)
        if row is None:
            return None
        found = Current(id=row.id, tenant_id=row.tenant_id, trained_at=row.trained_at, algorithm=row.algorithm,
                        parameters=row.parameters, metrics=row.metrics, recommender=recommender(row))
        # Everything the process holds by now (the app, its modules and this model) leaves the collector's
        # view: a full collection scanned all of it, ~400,000 objects in 170-280 ms, and stalled a request
        # every few hundred (the ranking's p99 on the bench). Frozen objects are still freed when no longer
        # referenced; the garbage is collected first, once per model, so no unreachable cycle is kept.
        gc.collect()
        gc.freeze()
        return found

    return cache.get(session, tenant_id=tenant_id, name=CACHE_NAME, load=load)


def ranked(session: Session, *, tenant_id: int, member_id: int, k: int = 5, exclude_seen: bool = False,
           now: datetime | None = None) -> list[Offer]:
    """The member's k best items by the latest model, best first (NotFound: no model yet). A member the
    model does not know gets the popular items of their RFM segment, else the popular items overall;
    `exclude_seen` leaves out the items the member had before `now` (default: when the model was trained)."""
    found = current(session, tenant_id=tenant_id)
    if found is None:
        raise NotFound("no offer model trained yet (`wafa offers train`)")
    return rank(session, stored=found, member_id=member_id, k=k, exclude_seen=exclude_seen, now=now)


def rank(session: Session, *, stored: Current, member_id: int, k: int = 5, exclude_seen: bool = False,
         now: datetime | None = None) -> list[Offer]:
    """The member's k best items by `stored`, best first (as `ranked` explains)."""
    from wafa.analytics import segments

    tenant_id = stored.tenant_id
    fitted = stored.recommender
    seen: set[str] = set()
    if exclude_seen:
        had = interactions.read(session, tenant_id=tenant_id, until=now or stored.trained_at, member_id=member_id)
        seen = {interaction.item for interaction in had}
    known = fitted.knows(member_id)
    segment = None
    if not known:
        score = segments.of_member(session, tenant_id=tenant_id, member_id=member_id)
        segment = score.segment if score is not None else None
    return [Offer(item, score, "model" if known else "popular")
            for item, score in fitted.recommend(member_id, k, exclude=seen, segment=segment)]


def top_active(session: Session, *, stored: Current, member_id: int, k: int) -> tuple[list[Offer], dict[str, ActiveReward]]:
    """The member's k best items by `stored` (as `rank` finds them) without the rewards that are no longer
    active, and the active rewards among them by item. Rewards are looked up in ranking order, only as many
    as can still make the cut: a request reads a few rows of four columns, not the whole catalog."""
    ranking = rank(session, stored=stored, member_id=member_id, k=len(stored.recommender.items))
    kept: list[Offer] = []
    rewards: dict[str, ActiveReward] = {}
    start, size = 0, k
    while len(kept) < k and start < len(ranking):
        window = ranking[start:start + size]
        start, size = start + len(window), 2 * size  # many inactive rewards in a row: fewer, larger reads
        ids = [int(offer.item.partition(":")[2]) for offer in window if offer.item.startswith("reward:")]
        active = active_names.among(session, tenant_id=stored.tenant_id, reward_ids=ids)
        for offer in window:
            if len(kept) == k:
                break
            if offer.item.startswith("reward:"):
                reward = active.get(int(offer.item.partition(":")[2]))
                if reward is None:
                    continue
                rewards[offer.item] = reward
            kept.append(offer)
    return kept, rewards


def scores_for(session: Session, *, stored: Current, member_id: int, items: set[str]) -> dict[str, float]:
    """The member's score for each of these items by `stored` (what `rank` would give them, without ranking the
    whole catalog): the model's for a member it learned from, else the item's popularity in their RFM segment
    (or overall). Items the model does not know are left out."""
    from wafa.analytics import segments

    fitted = stored.recommender
    row = fitted.member_index.get(member_id)
    if row is not None:
        columns = [(item, fitted.item_index[item]) for item in sorted(items) if item in fitted.item_index]
        if not columns:
            return {}
        scores = fitted.item_factors[[column for _, column in columns]] @ fitted.member_factors[row]
        return {item: float(score) for (item, _), score in zip(columns, scores, strict=True)}
    score = segments.of_member(session, tenant_id=stored.tenant_id, member_id=member_id)
    popular = fitted.popular_by_segment.get(score.segment if score is not None else "") or fitted.popular
    return {item: share for item, share in popular if item in items}
