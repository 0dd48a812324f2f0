"""RFM scores and segments: quintiles that give equal values equal scores, and a segment map that
covers every recency-frequency pair."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from wafa.analytics import rfm


def test_quintiles_split_ten_values_two_by_two() -> None:
    assert rfm.quintiles(list(range(10))) == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert rfm.quintiles(list(range(10)), higher_is_better=False) == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]


def test_equal_values_share_a_score() -> None:
    assert rfm.quintiles([1, 1, 1, 1, 9]) == [1, 1, 1, 1, 5]
    assert rfm.quintiles([3, 3, 3]) == [1, 1, 1]
    assert rfm.quintiles([]) == []


@given(st.lists(st.integers(0, 1000), min_size=1, max_size=200))
def test_scores_are_monotone_in_the_value(values: list[int]) -> None:
    scores = rfm.quintiles(values)
    assert all(1 <= s <= 5 for s in scores)
    for a, sa in zip(values, scores, strict=True):
        for b, sb in zip(values, scores, strict=True):
            if a < b:
                assert sa <= sb
            if a == b:
                assert sa == sb
    recency = rfm.quintiles(values, higher_is_better=False)
    for a, sa in zip(values, recency, strict=True):
        for b, sb in zip(values, recency, strict=True):
            if a < b:
                assert sa >= sb


def test_every_recency_frequency_pair_has_one_of_the_eight_segments() -> None:
    grid = {(r, f): rfm.segment(r, f) for r in range(1, 6) for f in range(1, 6)}
    assert set(grid.values()) == set(rfm.SEGMENTS)
    assert grid[5, 5] == "champions" and grid[5, 1] == "new" and grid[1, 1] == "lost" and grid[1, 5] == "cant_lose_them"
    assert grid[2, 3] == "at_risk" and grid[2, 1] == "hibernating" and grid[3, 4] == "loyal" and grid[4, 2] == "potential_loyalists"
