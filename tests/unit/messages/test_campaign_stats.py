"""A campaign's lift: Welch's interval and p-value for the difference of two groups' means (checked
against scipy and by hand, and on simulated campaigns with a planted effect and with none), and the
holdout: the same answer every time, and the share asked for."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from wafa.messages.campaigns import in_holdout, welch


def groups(seed: int, n1: int, n2: int) -> tuple[list[float], list[float]]:
    rng = np.random.default_rng(seed)
    return rng.normal(3.0, 2.0, n1).tolist(), rng.exponential(2.5, n2).tolist()


@pytest.mark.parametrize(("seed", "n1", "n2"), [(1, 50, 50), (2, 900, 100), (3, 12, 400), (4, 2, 2), (5, 3, 7)])
def test_welch_matches_scipy(seed: int, n1: int, n2: int) -> None:
    a, b = groups(seed, n1, n2)
    diff, low, high, p = welch(a, b)
    found = stats.ttest_ind(a, b, equal_var=False)
    interval = found.confidence_interval(0.95)
    assert diff == pytest.approx(np.mean(a) - np.mean(b), rel=1e-12, abs=1e-12)
    assert p == pytest.approx(found.pvalue, rel=1e-9, abs=1e-15)
    assert (low, high) == (pytest.approx(interval.low, rel=1e-9), pytest.approx(interval.high, rel=1e-9))


def test_welch_interval_by_hand() -> None:
    a, b = [1.0, 2.0, 3.0, 4.0], [2.0, 4.0, 6.0]
    # Means 2.5 and 4; variances 5/3 and 4; standard error of the difference sqrt(5/12 + 4/3) = sqrt(7/4).
    se2 = 5 / 12 + 4 / 3
    dof = se2**2 / ((5 / 12) ** 2 / 3 + (4 / 3) ** 2 / 2)
    assert dof == pytest.approx(3.2347, abs=1e-4)
    q = stats.t.ppf(0.975, dof)
    diff, low, high, p = welch(a, b)
    assert diff == -1.5
    assert low == pytest.approx(-1.5 - q * math.sqrt(se2)) and high == pytest.approx(-1.5 + q * math.sqrt(se2))
    assert p == pytest.approx(2 * stats.t.sf(1.5 / math.sqrt(se2), dof))
    assert 0.3 < p < 0.4
    narrower = welch(a, b, confidence=0.5)
    assert low < narrower[1] < narrower[2] < high


@pytest.mark.parametrize(("a", "b"), [([], []), ([1.0], [1.0, 2.0]), ([1.0, 2.0, 3.0], [5.0]), ([], [1.0, 2.0])])
def test_welch_says_nothing_with_fewer_than_two_a_group(a: list[float], b: list[float]) -> None:
    diff, low, high, p = welch(a, b)
    assert (low, high, p) == (None, None, None)
    assert diff == pytest.approx((sum(a) / len(a) if a else 0.0) - (sum(b) / len(b) if b else 0.0))


def test_welch_with_no_variance() -> None:
    assert welch([0.0] * 5, [0.0] * 8) == (0.0, 0.0, 0.0, 1.0)
    assert welch([2.0] * 5, [1.0] * 8) == (1.0, 1.0, 1.0, 0.0)
    # One group constant: the other's variance alone makes the interval (variance 2/3 over 4 members, 3 degrees of freedom).
    diff, low, high, p = welch([1.0] * 10, [0.0, 1.0, 2.0, 1.0])
    half = stats.t.ppf(0.975, 3) * math.sqrt(2 / 3 / 4)
    assert (diff, p) == (0.0, 1.0) and (low, high) == (pytest.approx(-half), pytest.approx(half))


def test_the_holdout_is_the_same_every_time() -> None:
    first = [in_holdout(7, m, 10) for m in range(1, 2001)]
    assert first == [in_holdout(7, m, 10) for m in range(1, 2001)]
    assert first != [in_holdout(8, m, 10) for m in range(1, 2001)]  # another campaign, another draw
    # A member held out at 10% is held out at 50% too: the groups nest.
    assert all(in_holdout(7, m, 50) for m, held in enumerate(first, start=1) if held)


@pytest.mark.parametrize("percent", [0, 10, 50])
def test_the_holdout_share_is_the_percent(percent: int) -> None:
    share = sum(in_holdout(42, m, percent) for m in range(1, 100_001)) / 100_000
    assert abs(share * 100 - percent) <= 1
    if percent == 0:
        assert share == 0


def test_two_campaigns_hold_out_independently() -> None:
    both = sum(in_holdout(1, m, 50) and in_holdout(2, m, 50) for m in range(1, 20_001)) / 20_000
    assert 0.23 < both < 0.27


# Simulated campaigns ------------------------------------------------------------------------------

SEEDS = range(400)


def campaign(seed: int, lift: float) -> tuple[list[float], list[float]]:
    """Purchases per member over the horizon: 900 members sent the message, 100 held out."""
    rng = np.random.default_rng(seed)
    return rng.poisson(1.0 + lift, 900).astype(float).tolist(), rng.poisson(1.0, 100).astype(float).tolist()


def test_the_interval_covers_a_planted_effect_about_95_times_in_100() -> None:
    covered = 0
    for seed in SEEDS:
        _, low, high, _ = welch(*campaign(seed, 0.3))
        assert low is not None and high is not None
        covered += low <= 0.3 <= high
    assert 0.92 <= covered / len(SEEDS) <= 0.98


def test_with_no_effect_p_below_5_percent_about_5_times_in_100() -> None:
    false_alarms = sum((welch(*campaign(seed, 0.0))[3] or 1.0) < 0.05 for seed in SEEDS)
    assert 0.02 <= false_alarms / len(SEEDS) <= 0.08


def test_a_planted_effect_is_usually_found() -> None:
    found = sum((welch(*campaign(seed, 0.5))[3] or 1.0) < 0.05 for seed in SEEDS)
    assert found / len(SEEDS) > 0.8
