"""The console's lift chart: every arm on one scale with 0 in the middle, the interval's ends and the
difference in order on it, and the widest end at the chart's edge."""

from __future__ import annotations

from datetime import UTC, datetime

from wafa.experiments.results import ArmResult, Comparison, Results
from wafa.web.admin.experiments import _CHART_WIDTH, _LABELS, chart

AT = datetime(2026, 3, 1, tzinfo=UTC)


def results(*arms: tuple[str, float, float | None, float | None]) -> Results:
    return Results("x", "running", "purchases", AT, AT, AT, True, 0.975, 10, tuple(
        ArmResult(arm, 10, (Comparison("purchases", 1.0, 1.0, diff, low, high, None, None),)) for arm, diff, low, high in arms
    ), None, "SAR")


def test_zero_is_in_the_middle_and_the_widest_end_at_the_edge() -> None:
    bars, zero = chart(results(("a", 0.5, -0.2, 1.2), ("b", -0.1, -0.6, 0.4)))
    assert zero == (_LABELS + 10 + _CHART_WIDTH - 10) / 2
    a, b = bars
    assert a.x_low < zero < a.x < a.x_high == _CHART_WIDTH - 10
    assert b.x_low < b.x < zero < b.x_high < a.x


def test_nothing_measured_yet_draws_every_arm_at_zero() -> None:
    bars, zero = chart(results(("a", 0.0, None, None), ("b", 0.0, 0.0, 0.0)))
    assert all(bar.x == bar.x_low == bar.x_high == zero for bar in bars)
