"""BG/NBD and Gamma-Gamma: the fit reproduces the published estimates for the CDNOW sample (2,357
customers, 39 weeks of calibration), and the per-customer predictions behave as the models say.

The CDNOW sample is Bruce Hardie's public data set, as shipped in the `Lifetimes` package (installed
with the test extras, read as a data file; nothing of that package runs)."""

from __future__ import annotations

import importlib.util
from datetime import date, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wafa.analytics import clv


def cdnow() -> list[tuple[str, date, float]]:
    spec = importlib.util.find_spec("lifetimes")
    assert spec is not None and spec.submodule_search_locations, "the test extras install Lifetimes for its data"
    path = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "CDNOW_sample.txt"
    rows = []
    for line in path.read_text().splitlines():
        _, customer, day, _, value = line.split()  # master id, sample id, day, CDs, dollars
        rows.append((customer, datetime.strptime(day, "%Y%m%d").date(), float(value)))
    return rows


@pytest.fixture(scope="module")
def summaries() -> list[clv.Summary]:
    return clv.summarise(cdnow(), calibration_end=date(1997, 9, 30), unit="week", holdout_end=date(1998, 6, 30))


@pytest.fixture(scope="module")
def bgnbd(summaries: list[clv.Summary]) -> clv.BgNbd:
    return clv.fit_bgnbd(summaries)


def sig(value: float, digits: int = 3) -> str:
    return f"{value:.{digits}g}"


def test_cdnow_summary_has_the_published_shape(summaries: list[clv.Summary]) -> None:
    assert len(summaries) == 2357
    assert sum(1 for s in summaries if s.x > 0) == 946
    first = next(s for s in summaries if s.customer == "0001")
    assert (first.x, round(first.t_x, 2), round(first.T, 2)) == (2, 30.43, 38.86)
    assert first.m_x == pytest.approx((29.73 + 14.96) / 2)  # the repeat purchases only


def test_bgnbd_reproduces_fader_hardie_lee_2005(bgnbd: clv.BgNbd) -> None:
    """Published: r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, LL = -9582.4."""
    assert (sig(bgnbd.r), sig(bgnbd.alpha), sig(bgnbd.a), sig(bgnbd.b)) == ("0.243", "4.41", "0.793", "2.43")
    assert round(bgnbd.log_likelihood, 1) == -9582.4


def test_gamma_gamma_reproduces_fader_hardie_2013(summaries: list[clv.Summary]) -> None:
    """Published: p = 6.25, q = 3.74, gamma = 15.44."""
    fitted = clv.fit_gamma_gamma(summaries)
    assert (sig(fitted.p), sig(fitted.q), sig(fitted.gamma)) == ("6.25", "3.74", "15.4")


def test_conditional_expectation_matches_the_papers_worked_example(bgnbd: clv.BgNbd) -> None:
    """A customer with x = 2, t_x = 30.43, T = 38.86 is expected to make 1.226 purchases in the next 39 weeks."""
    assert round(clv.expected_purchases(bgnbd, 39, 2, 30.43, 38.86), 3) == 1.226


def test_holdout_predictions_track_what_happened(summaries: list[clv.Summary], bgnbd: clv.BgNbd) -> None:
    """2,457 repeat transactions in calibration (as published); the 39-week holdout had 1,882 and the
    model, conditioned on each customer's history, expects 1,653 (the cohort-level curve agrees: 1,667)."""
    assert sum(s.x for s in summaries) == 2457
    conditional = sum(clv.expected_purchases(bgnbd, 39, s.x, s.t_x, s.T) for s in summaries)
    cohort = sum(clv.expected_purchases_new(bgnbd, s.T + 39) - clv.expected_purchases_new(bgnbd, s.T) for s in summaries)
    actual = sum(s.holdout for s in summaries)
    assert actual == 1882
    assert abs(conditional - cohort) / cohort < 0.02
    assert abs(conditional - actual) / actual < 0.15


def test_same_day_purchases_are_one_transaction() -> None:
    rows = [("a", date(2026, 1, 1), 10), ("a", date(2026, 1, 1), 5), ("a", date(2026, 1, 8), 20), ("b", date(2026, 2, 1), 7)]
    found = {s.customer: s for s in clv.summarise(rows, calibration_end=date(2026, 1, 29), unit="week")}
    assert set(found) == {"a"}  # b's first purchase is after calibration
    assert (found["a"].x, found["a"].t_x, found["a"].T, found["a"].m_x) == (1, 1.0, 4.0, 20.0)


@given(x=st.integers(0, 50), gap=st.floats(0, 100), extra=st.floats(0, 100))
def test_probability_alive_is_a_probability_and_falls_with_silence(x: int, gap: float, extra: float) -> None:
    params = clv.BgNbd(0.243, 4.414, 0.793, 2.426, 0.0)
    t_x = gap
    alive = clv.probability_alive(params, x, t_x, t_x + extra)
    assert 0 < alive <= 1
    assert clv.probability_alive(params, x, t_x, t_x + extra + 10) <= alive + 1e-12


@given(x=st.integers(0, 30), t_x=st.floats(0, 50), extra=st.floats(0, 50), t=st.floats(0.1, 100))
def test_expected_purchases_grow_with_the_horizon(x: int, t_x: float, extra: float, t: float) -> None:
    params = clv.BgNbd(0.243, 4.414, 0.793, 2.426, 0.0)
    t_x = t_x if x > 0 else 0.0
    sooner = clv.expected_purchases(params, t, x, t_x, t_x + extra)
    later = clv.expected_purchases(params, t * 2, x, t_x, t_x + extra)
    assert 0 <= sooner <= later + 1e-9


def test_lifetime_value_is_discounted_spend_of_expected_purchases(bgnbd: clv.BgNbd) -> None:
    spend = clv.GammaGamma(6.25, 3.74, 15.44, 0.0)
    undiscounted = clv.lifetime_value(bgnbd, spend, x=2, t_x=30.43, T=38.86, m_x=22.35, horizon=12, period=4.345, discount_rate=0)
    discounted = clv.lifetime_value(bgnbd, spend, x=2, t_x=30.43, T=38.86, m_x=22.35, horizon=12, period=4.345, discount_rate=0.01)
    purchases = clv.expected_purchases(bgnbd, 12 * 4.345, 2, 30.43, 38.86)
    assert undiscounted == pytest.approx(purchases * clv.expected_spend(spend, 2, 22.35))
    assert 0 < discounted < undiscounted
