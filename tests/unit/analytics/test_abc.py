"""A/B/C factor percentiles: ties share one rank, faster is better for payment speed."""

from __future__ import annotations

from wafa.analytics import abc


def test_percentiles_give_ties_one_rank() -> None:
    assert abc.percentiles({1: 10.0, 2: 20.0, 3: 20.0, 4: 30.0}) == {1: 0.0, 2: 1 / 3, 3: 1 / 3, 4: 1.0}
    assert abc.percentiles({1: 5.0, 2: 1.0}, higher_is_better=False) == {1: 0.0, 2: 1.0}
    assert abc.percentiles({7: 3.0}) == {7: 1.0} and abc.percentiles({}) == {}
