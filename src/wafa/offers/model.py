"""The next-best-offer model, no database: implicit-feedback matrix factorisation (alternating least
squares, Hu, Koren and Volinsky 2008, as the `implicit` library computes it) over the member×item
interaction counts, and item popularity as the baseline and the cold-start answer."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy.sparse import csr_matrix

from wafa.offers.interactions import InteractionMatrix

# How many popular items a model keeps, overall and per segment, for members it has no factors for.
POPULAR_KEPT = 50

Ranked = list[tuple[str, float]]


@dataclass(frozen=True)
class Parameters:
    """ALS's settings: latent factors, L2 regularisation, sweeps, and the confidence `alpha` gives an
    interaction (confidence = 1 + alpha·log(1 + count))."""

    # Chosen on the planted-preference histories of tests/unit/offers/test_model.py: more factors than a
    # catalog's items can carry, or a weak regularisation, fit the noise and fall below popularity.
    factors: int = 16
    regularization: float = 1.0
    iterations: int = 15
    alpha: float = 10.0

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def confidence(counts: csr_matrix) -> csr_matrix:
    """Counts damped by log(1 + count): the tenth coffee says less than the first (alpha scales it in the fit)."""
    damped = counts.astype(np.float32, copy=True)
    damped.data = np.log1p(damped.data)
    return damped


def popularity(interactions: InteractionMatrix, members: Iterable[int] | None = None) -> Ranked:
    """Items by the share of members (all, or those given) who interacted with them, most popular first
    (ties by item name)."""
    rows = np.arange(len(interactions.member_ids)) if members is None else np.array(
        sorted(interactions.member_index[m] for m in members if m in interactions.member_index), dtype=np.int64,
    )
    if len(rows) == 0:
        return []
    present = interactions.matrix[rows]
    counts = np.asarray((present > 0).sum(axis=0)).ravel()
    order = sorted((index for index in range(len(interactions.items)) if counts[index] > 0),
                   key=lambda index: (-counts[index], interactions.items[index]))
    return [(interactions.items[index], float(counts[index]) / len(rows)) for index in order[:POPULAR_KEPT]]


def top_popular(popular: Ranked, k: int, exclude: Collection[str] = ()) -> Ranked:
    """The k most popular items not excluded."""
    return [(item, score) for item, score in popular if item not in exclude][:k]


@dataclass
class Recommender:
    """A fitted model: each member's and each item's factors (a member's score for an item is their dot
    product), and the popular items overall and per RFM segment for members without factors."""

    member_ids: list[int]
    items: list[str]
    member_factors: np.ndarray
    item_factors: np.ndarray
    popular: Ranked
    popular_by_segment: dict[str, Ranked] = field(default_factory=dict)
    # The training interactions, when the model was fitted in this process (for exclude_seen).
    trained_on: InteractionMatrix | None = None

    def __post_init__(self) -> None:
        self.member_index = {member: index for index, member in enumerate(self.member_ids)}
        self.item_index = {item: index for index, item in enumerate(self.items)}

    def knows(self, member_id: int) -> bool:
        """Whether the member had interactions when the model was fitted."""
        return member_id in self.member_index

    def recommend(self, member_id: int, k: int, *, exclude_seen: bool = False, exclude: Collection[str] = (),
                  segment: str | None = None) -> Ranked:
        """The member's k best items with their scores, best first. Nothing is excluded unless asked:
        `exclude_seen` drops the items the member interacted with in training, `exclude` any others.
        A member the model does not know gets the popular items of their segment (if given and known),
        else the popular items overall."""
        skip = set(exclude)
        if exclude_seen and self.trained_on is not None:
            skip |= self.trained_on.seen(member_id)
        row = self.member_index.get(member_id)
        if row is None:
            return top_popular(self.popular_by_segment.get(segment or "") or self.popular, k, skip)
        scores = self.item_factors @ self.member_factors[row]
        order = np.argsort(-scores, kind="stable")
        return [(self.items[index], float(scores[index])) for index in order if self.items[index] not in skip][:k]


def fit(interactions: InteractionMatrix, *, parameters: Parameters, seed: int, segments: Mapping[int, str] | None = None) -> Recommender:
    """ALS fitted to the interactions, deterministic for a seed (one thread), with the popular items
    overall and for each segment of `segments` (member id → RFM segment)."""
    # Imported first: the limit applies to the BLAS libraries loaded when it is set, implicit's among them.
    # One BLAS thread is what implicit asks for (its own threads do the work), and keeps a fit reproducible.
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, "blas"):
        als = AlternatingLeastSquares(
            factors=parameters.factors, regularization=parameters.regularization, iterations=parameters.iterations,
            alpha=parameters.alpha, random_state=seed, num_threads=1, calculate_training_loss=False,
        )
        als.fit(confidence(interactions.matrix), show_progress=False)
    by_segment: dict[str, list[int]] = {}
    for member, name in (segments or {}).items():
        by_segment.setdefault(name, []).append(member)
    return Recommender(
        member_ids=list(interactions.member_ids), items=list(interactions.items),
        member_factors=np.asarray(als.user_factors, dtype=np.float32), item_factors=np.asarray(als.item_factors, dtype=np.float32),
        popular=popularity(interactions),
        popular_by_segment={name: popularity(interactions, members) for name, members in sorted(by_segment.items())},
        trained_on=interactions,
    )
