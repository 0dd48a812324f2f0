"""The model on generated histories with planted preferences: 300 members in 3 taste groups, each
buying mostly its own 5 of 40 items, everyone also buying from a few popular items. Holding out part of
each member's own-group items, ALS must find them far better than popularity does, the same way for the
same seed; members it never saw get the popular items (of their segment, when it has one)."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import numpy as np
import pytest

from wafa.offers import evaluation, model
from wafa.offers.interactions import Interaction, InteractionMatrix, matrix

WHEN = datetime(2026, 1, 1, tzinfo=UTC)
ITEMS = [f"category:c{n:02d}" for n in range(40)]
POPULAR = ITEMS[35:]  # everyone's noise: 5 items each member buys some of
PARAMETERS = model.Parameters()  # the defaults the service trains with


def planted(seed: int = 7, members: int = 300) -> tuple[list[Interaction], dict[int, set[str]]]:
    """Training interactions and each member's held-out items: three of their group's five items (and two
    popular ones) to learn from, the other two of the group's (and sometimes a third popular one) to find."""
    rng = random.Random(seed)
    train: list[Interaction] = []
    test: dict[int, set[str]] = {}
    for member in range(1, members + 1):
        own = ITEMS[5 * (member % 3): 5 * (member % 3) + 5]
        rng.shuffle(own)
        noise = rng.sample(POPULAR, 3)
        stray = rng.choice(ITEMS[15:35])  # an occasional purchase outside anyone's taste
        for item in [*own[:3], *noise[:2], *([stray] if rng.random() < 0.3 else [])]:
            train.append(Interaction(member, item, rng.randint(1, 4), WHEN, WHEN))
        test[member] = set(own[3:]) | ({noise[2]} if rng.random() < 0.5 else set())
    return train, test


def report(seed: int = 0) -> evaluation.Report:
    train, test = planted()
    return evaluation.holdout(matrix(train), test, cutoff=WHEN, end=WHEN, parameters=PARAMETERS, seed=seed)


def test_als_beats_popularity_by_a_clear_margin_on_planted_preferences() -> None:
    found = report()
    assert found.members_evaluated == 300 and found.members_cold == 0
    assert found.model.precision >= 1.5 * found.baseline.precision and found.model.precision - found.baseline.precision >= 0.1
    assert found.model.ndcg >= 1.5 * found.baseline.ndcg and found.model.ndcg - found.baseline.ndcg >= 0.15
    assert found.model.recall > found.baseline.recall


def test_the_same_seed_gives_the_same_model() -> None:
    train, _ = planted()
    first = model.fit(matrix(train), parameters=PARAMETERS, seed=3)
    again = model.fit(matrix(train), parameters=PARAMETERS, seed=3)
    assert np.array_equal(first.member_factors, again.member_factors) and np.array_equal(first.item_factors, again.item_factors)
    assert report(seed=3).model == report(seed=3).model


def test_recommend_excludes_nothing_unless_asked() -> None:
    train, _ = planted()
    fitted = model.fit(matrix(train), parameters=PARAMETERS, seed=0)
    seen = fitted.trained_on.seen(1) if fitted.trained_on is not None else set()
    everything = [item for item, _ in fitted.recommend(1, 40)]
    assert len(everything) == len(fitted.items) and seen <= set(everything)
    fresh = [item for item, _ in fitted.recommend(1, 10, exclude_seen=True)]
    assert fresh and not seen & set(fresh)
    assert "category:c05" not in [item for item, _ in fitted.recommend(1, 40, exclude={"category:c05"})]
    scores = [score for _, score in fitted.recommend(1, 10)]
    assert scores == sorted(scores, reverse=True)


def test_cold_start_members_get_the_popular_items_of_their_segment_or_overall() -> None:
    train, _ = planted()
    segments = {member: "champions" if member % 3 == 0 else "new" for member in range(1, 301)}
    fitted = model.fit(matrix(train), parameters=PARAMETERS, seed=0, segments=segments)
    assert not fitted.knows(10_000)
    overall = fitted.recommend(10_000, 5)
    assert {item for item, _ in overall} == set(POPULAR)  # each bought by about 2 in 5 members, nothing else near
    assert overall == fitted.popular[:5] and [s for _, s in overall] == sorted((s for _, s in overall), reverse=True)
    # Members 3, 6, 9, ... (the champions here) are the group buying c00 to c04: their segment's popular
    # items are those five, then the popular ones, and none of the other groups' items.
    champions = [item for item, _ in fitted.recommend(10_000, 10, segment="champions")]
    assert set(champions[:5]) == set(ITEMS[:5]) and set(champions[5:]) == set(POPULAR)
    assert fitted.recommend(10_000, 5, segment="lost") == overall  # a segment without members: overall


def test_popularity_is_the_share_of_members_with_the_item() -> None:
    rows = [Interaction(1, "a", 5, WHEN, WHEN), Interaction(2, "a", 1, WHEN, WHEN), Interaction(2, "b", 1, WHEN, WHEN),
            Interaction(3, "c", 9, WHEN, WHEN)]
    built: InteractionMatrix = matrix(rows)
    assert built.matrix.shape == (3, 3) and built.matrix[built.member_index[3], built.item_index["c"]] == 9
    assert model.popularity(built) == [("a", pytest.approx(2 / 3)), ("b", pytest.approx(1 / 3)), ("c", pytest.approx(1 / 3))]
    assert model.popularity(built, [2, 3]) == [("a", 0.5), ("b", 0.5), ("c", 0.5)]
