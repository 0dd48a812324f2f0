"""Program arithmetic: points for an amount, proportional returns, availability and expiry dates."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wafa.programs.earning import available_at, expires_at, points_for, proportional_share


@pytest.mark.parametrize(
    "minor, digits, rate, rounding, points",
    [
        (12050, 2, "1", "floor", 120), (12050, 2, "1", "half_up", 121), (12001, 2, "1", "ceil", 121),
        (12345, 3, "10", "floor", 123), (500, 2, "0.5", "half_up", 3), (499, 2, "0.5", "half_up", 2),
        (99, 2, "1", "floor", 0), (1000, 0, "3.75", "floor", 3750), (0, 2, "1", "ceil", 0),
    ],
)
def test_points_for(minor: int, digits: int, rate: str, rounding: str, points: int) -> None:
    assert points_for(minor, precision=digits, rate=rate, rounding=rounding) == points


def test_points_for_unknown_rounding() -> None:
    with pytest.raises(ValueError):
        points_for(100, precision=2, rate="1", rounding="bankers")


@given(
    points=st.integers(0, 10**7),
    parts=st.lists(st.integers(1, 10**6), min_size=1, max_size=12),
)
def test_cumulative_shares_of_partial_returns_land_exactly_on_the_total(points: int, parts: list[int]) -> None:
    whole = sum(parts)
    taken, returned, previous = 0, 0, 0
    for part in parts:
        returned += part
        target = proportional_share(points, returned, whole)
        assert target >= previous  # never gives points back
        taken += target - previous
        previous = target
        assert taken <= points
    assert taken == points


def test_available_at_adds_the_window() -> None:
    start = datetime(2026, 3, 1, 12, tzinfo=UTC)
    assert available_at(start, pending_days=14) == start + timedelta(days=14)
    assert available_at(start, pending_days=0) == start


RIYADH = "Asia/Riyadh"


@pytest.mark.parametrize(
    "available, policy, periods, zone, local_expiry",
    [
        # 22:30 UTC on 31 March is already 1 April in Riyadh: end of April, not of March.
        (datetime(2026, 3, 31, 22, 30, tzinfo=UTC), "end_of_month", 0, RIYADH, datetime(2026, 5, 1)),
        (datetime(2026, 3, 10, tzinfo=UTC), "end_of_month", 12, RIYADH, datetime(2027, 4, 1)),
        (datetime(2026, 12, 31, 20, 59, tzinfo=UTC), "end_of_month", 1, RIYADH, datetime(2027, 2, 1)),
        (datetime(2026, 12, 31, 21, 0, tzinfo=UTC), "end_of_year", 0, RIYADH, datetime(2028, 1, 1)),  # 1 Jan 2027 local
        (datetime(2026, 6, 1, tzinfo=UTC), "end_of_year", 1, RIYADH, datetime(2028, 1, 1)),
        (datetime(2026, 2, 10, tzinfo=UTC), "end_of_month", 1, "Europe/London", datetime(2026, 4, 1)),  # BST in force
        (datetime(2026, 10, 15, tzinfo=UTC), "end_of_month", 0, "America/New_York", datetime(2026, 11, 1)),
    ],
)
def test_expires_at_period_ends_in_the_program_zone(available, policy, periods, zone, local_expiry) -> None:  # type: ignore[no-untyped-def]
    result = expires_at(available, policy=policy, periods=periods, timezone=zone)
    assert result == local_expiry.replace(tzinfo=ZoneInfo(zone))
    assert result.utcoffset() == timedelta(0)  # returned in UTC


def test_expires_at_days_and_none() -> None:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    assert expires_at(start, policy="days", periods=365, timezone=RIYADH) == start + timedelta(days=365)
    assert expires_at(start, policy="none", periods=5, timezone=RIYADH) is None
