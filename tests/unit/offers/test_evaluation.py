"""The holdout's metrics: precision, recall and NDCG at k (binary relevance) on a hand-computed example,
against a brute-force reference (the ideal DCG as the best of every ordering), and averaged only over
members with something to find; the test items are those first seen after the cut-off."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from itertools import permutations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wafa.offers import evaluation
from wafa.offers.interactions import Interaction

ITEMS = ["a", "b", "c", "d", "e", "f", "g"]


def test_a_hand_computed_ranking() -> None:
    ranked, relevant = ["a", "b", "c", "d", "e"], {"b", "e", "z"}
    # Hits at ranks 2 and 5; the ideal puts the three relevant items at ranks 1 to 3.
    assert evaluation.precision_at(ranked, relevant, 5) == pytest.approx(2 / 5)
    assert evaluation.recall_at(ranked, relevant, 5) == pytest.approx(2 / 3)
    dcg = 1 / math.log2(3) + 1 / math.log2(6)
    ideal = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert evaluation.ndcg_at(ranked, relevant, 5) == pytest.approx(dcg / ideal)
    assert evaluation.ndcg_at(ranked, relevant, 5) == pytest.approx(0.477624, abs=1e-6)


def test_a_perfect_ranking_scores_one_and_a_ranking_with_no_hit_zero() -> None:
    assert evaluation.ndcg_at(["x", "y", "a"], {"x", "y"}, 5) == pytest.approx(1.0)
    assert evaluation.recall_at(["x", "y", "a"], {"x", "y"}, 5) == 1.0
    assert evaluation.precision_at(["x", "y", "a"], {"x", "y"}, 5) == pytest.approx(2 / 5)  # k, not the list's length
    assert evaluation.ndcg_at(["a", "b"], {"x"}, 5) == evaluation.precision_at(["a", "b"], {"x"}, 5) == 0.0


def test_the_mean_skips_members_with_nothing_to_find_and_counts_a_missing_ranking_as_zero() -> None:
    scores = evaluation.mean_scores({1: ["a", "b"], 2: ["c"], 3: ["a"]}, {1: {"a"}, 2: set(), 4: {"a"}}, k=2)
    assert scores.members == 2
    assert scores.precision == pytest.approx((1 / 2 + 0) / 2)
    assert scores.recall == pytest.approx((1 + 0) / 2)
    assert scores.ndcg == pytest.approx((1 + 0) / 2)
    assert evaluation.mean_scores({1: ["a"]}, {1: set()}) == evaluation.Scores(0.0, 0.0, 0.0, 0)


def _dcg(ranked: list[str], relevant: set[str], k: int) -> float:
    gains = [1.0 if item in relevant else 0.0 for item in ranked[:k]]
    return sum(gain / math.log2(position + 2) for position, gain in enumerate(gains))


def _reference(ranked: list[str], relevant: set[str], k: int) -> tuple[float, float, float]:
    hits = len(set(ranked[:k]) & relevant)
    universe = sorted(set(ranked) | relevant)
    ideal = max(_dcg(list(order), relevant, k) for order in permutations(universe, min(k, len(universe))))
    return hits / k, hits / len(relevant), _dcg(ranked, relevant, k) / ideal


@given(
    st.lists(st.sampled_from(ITEMS), max_size=6, unique=True),
    st.sets(st.sampled_from(ITEMS), min_size=1, max_size=5),
    st.integers(1, 5),
)
def test_metrics_match_a_brute_force_reference(ranked: list[str], relevant: set[str], k: int) -> None:
    precision, recall, ndcg = _reference(ranked, relevant, k)
    assert evaluation.precision_at(ranked, relevant, k) == pytest.approx(precision)
    assert evaluation.recall_at(ranked, relevant, k) == pytest.approx(recall)
    assert evaluation.ndcg_at(ranked, relevant, k) == pytest.approx(ndcg)
    assert 0.0 <= evaluation.ndcg_at(ranked, relevant, k) <= 1.0 + 1e-12


def _at(day: int) -> datetime:
    return datetime(2026, 1, day, tzinfo=UTC)


def test_test_items_are_the_ones_first_seen_after_the_cut_off_and_the_cut_off_leaves_the_last_fifth() -> None:
    before = [Interaction(1, "category:tea", 2, _at(1), _at(5)), Interaction(2, "reward:7", 1, _at(3), _at(3))]
    later = [*before, Interaction(1, "category:cake", 1, _at(20), _at(20)), Interaction(3, "category:tea", 1, _at(21), _at(21)),
             Interaction(2, "reward:7", 2, _at(3), _at(22))]  # had before: not a test item however often again
    assert evaluation.first_seen_after(before, later) == {1: {"category:cake"}, 3: {"category:tea"}}
    # The span runs from 1 to 22 January (21 days); a fifth of it before the end is 17 January, 19:12.
    assert evaluation.default_cutoff(later) == datetime(2026, 1, 17, tzinfo=UTC)
