"""Offline evaluation, no database: a time-based holdout (learn from what members did before a cut-off,
predict what they first did after it) scored by precision, recall and NDCG at k with binary relevance,
for the model and for the popularity baseline."""

from __future__ import annotations

import math
import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from wafa.offers import model
from wafa.offers.interactions import Interaction, InteractionMatrix

K = 5
# The default cut-off leaves the last fifth of the interactions' time span to test on.
TEST_SHARE = 0.2


def precision_at(ranked: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Share of the first k recommendations that are relevant (k in the denominator, however many were given)."""
    return sum(1 for item in ranked[:k] if item in relevant) / k


def recall_at(ranked: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Share of the relevant items found in the first k recommendations."""
    return sum(1 for item in ranked[:k] if item in relevant) / len(relevant)


def ndcg_at(ranked: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Discounted cumulative gain of the first k (a hit at rank i gains 1/log2(i + 1)) over the best possible."""
    dcg = sum(1 / math.log2(rank + 1) for rank, item in enumerate(ranked[:k], start=1) if item in relevant)
    ideal = sum(1 / math.log2(rank + 1) for rank in range(1, min(k, len(relevant)) + 1))
    return dcg / ideal


@dataclass(frozen=True)
class Scores:
    """Metrics at k averaged over the members evaluated."""

    precision: float
    recall: float
    ndcg: float
    members: int


def mean_scores(rankings: Mapping[int, Sequence[str]], relevant: Mapping[int, Collection[str]], k: int = K) -> Scores:
    """Precision, recall and NDCG at k averaged over the members with at least one relevant item (a
    member without a ranking scores zero)."""
    judged = [member for member, items in relevant.items() if items]
    if not judged:
        return Scores(0.0, 0.0, 0.0, 0)
    n = len(judged)
    return Scores(
        precision=sum(precision_at(rankings.get(m, []), relevant[m], k) for m in judged) / n,
        recall=sum(recall_at(rankings.get(m, []), relevant[m], k) for m in judged) / n,
        ndcg=sum(ndcg_at(rankings.get(m, []), relevant[m], k) for m in judged) / n,
        members=n,
    )


def default_cutoff(interactions: Iterable[Interaction]) -> datetime:
    """Midnight (UTC) of the day TEST_SHARE of the interactions' time span before its end."""
    rows = list(interactions)
    if not rows:
        raise ValueError("no interactions")
    start, end = min(row.first for row in rows), max(row.last for row in rows)
    moment = end - (end - start) * TEST_SHARE
    return datetime(moment.year, moment.month, moment.day, tzinfo=UTC)


def first_seen_after(before: Iterable[Interaction], until_end: Iterable[Interaction]) -> dict[int, set[str]]:
    """Each member's items first seen after the cut-off: in `until_end` (read up to the end) but not in
    `before` (read up to the cut-off)."""
    known = {(row.member_id, row.item) for row in before}
    found: dict[int, set[str]] = {}
    for row in until_end:
        if (row.member_id, row.item) not in known:
            found.setdefault(row.member_id, set()).add(row.item)
    return found


@dataclass(frozen=True)
class Report:
    """A holdout's outcome: the model's and the baseline's scores, and what they were computed on."""

    cutoff: datetime
    end: datetime
    k: int
    model: Scores
    baseline: Scores
    members_evaluated: int
    members_cold: int  # evaluated members with no interaction before the cut-off (both get popular items)
    train_members: int
    train_items: int
    training_seconds: float
    parameters: dict[str, float | int]
    seed: int

    def as_dict(self) -> dict[str, object]:
        scores = {
            name: {f"precision@{self.k}": s.precision, f"recall@{self.k}": s.recall, f"ndcg@{self.k}": s.ndcg}
            for name, s in (("model", self.model), ("baseline", self.baseline))
        }
        return {
            "cutoff": self.cutoff.isoformat(), "end": self.end.isoformat(), "k": self.k, **scores,
            "members_evaluated": self.members_evaluated, "members_cold": self.members_cold, "train_members": self.train_members,
            "train_items": self.train_items, "training_seconds": round(self.training_seconds, 3), "parameters": self.parameters,
            "seed": self.seed,
        }


def holdout(train: InteractionMatrix, test: Mapping[int, set[str]], *, cutoff: datetime, end: datetime, parameters: model.Parameters,
            seed: int, segments: Mapping[int, str] | None = None, k: int = K) -> Report:
    """Fit on `train`, then rank for each member with test items, both by the model and by popularity,
    leaving out the items each member already had before the cut-off (the test items are new ones)."""
    started = time.perf_counter()
    fitted = model.fit(train, parameters=parameters, seed=seed, segments=segments)
    seconds = time.perf_counter() - started
    segment_of = segments or {}
    judged = {member: items for member, items in test.items() if items}
    ranked = {
        member: [item for item, _ in fitted.recommend(member, k, exclude_seen=True, segment=segment_of.get(member))]
        for member in judged
    }
    baseline = {
        member: [item for item, _ in model.top_popular(fitted.popular, k, train.seen(member))]
        for member in judged
    }
    return Report(
        cutoff=cutoff, end=end, k=k, model=mean_scores(ranked, judged, k), baseline=mean_scores(baseline, judged, k),
        members_evaluated=len(judged), members_cold=sum(1 for member in judged if not fitted.knows(member)),
        train_members=len(train.member_ids), train_items=len(train.items), training_seconds=seconds,
        parameters=parameters.as_dict(), seed=seed,
    )

