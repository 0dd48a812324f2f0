"""Program arithmetic as properties, beyond the examples in test_earning.py: rounding modes,
returns split any way, and period-end expiry in zones with and without daylight saving."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wafa.programs.earning import expires_at, points_for, proportional_share

RATES = ["1", "10", "0.5", "3.75", "0.01", "2.5", "0"]
ZONES = ["Asia/Riyadh", "Europe/London", "America/New_York"]


@pytest.mark.parametrize(
    "minor, digits, rate, floor_, half_up, ceil_",
    [
        (100, 2, "0.5", 0, 1, 1),  # 1.00 SAR at half a point: exactly one half
        (3, 0, "0.5", 1, 2, 2),  # 3 JPY
        (1234, 3, "10", 12, 12, 13),  # 1.234 KWD at 10 a dinar
        (1250, 3, "10", 12, 13, 13),  # 1.250 JOD: an exact half rounds up, not to even
        (250, 2, "1", 2, 3, 3),  # 2.50 SAR: not banker's rounding either
        (350, 2, "1", 3, 4, 4),
        (12000, 2, "10", 1200, 1200, 1200),
    ],
)
def test_each_rounding_mode(minor: int, digits: int, rate: str, floor_: int, half_up: int, ceil_: int) -> None:
    got = [points_for(minor, precision=digits, rate=rate, rounding=mode) for mode in ("floor", "half_up", "ceil")]
    assert got == [floor_, half_up, ceil_]


@given(minor=st.integers(0, 10**12), digits=st.sampled_from([0, 2, 3]), rate=st.sampled_from(RATES))
def test_rounding_modes_differ_by_at_most_one_point_and_agree_on_whole_results(minor: int, digits: int, rate: str) -> None:
    low, mid, high = (points_for(minor, precision=digits, rate=rate, rounding=m) for m in ("floor", "half_up", "ceil"))
    assert 0 <= low <= mid <= high <= low + 1
    if low == high:
        assert low == mid


@given(a=st.integers(0, 10**9), b=st.integers(0, 10**9), rate=st.sampled_from(RATES), mode=st.sampled_from(["floor", "half_up", "ceil"]))
def test_spending_more_never_earns_fewer_points(a: int, b: int, rate: str, mode: str) -> None:
    small, large = sorted((a, b))
    assert points_for(small, precision=2, rate=rate, rounding=mode) <= points_for(large, precision=2, rate=rate, rounding=mode)


def test_proportional_share_edges() -> None:
    assert proportional_share(120, 0, 500) == 0
    assert proportional_share(120, 500, 500) == 120
    assert proportional_share(120, 250, 500) == 60
    assert proportional_share(1, 499, 500) == 0  # rounded down until the last return
    assert proportional_share(120, 0, 0) == 120  # a free order: its return takes all its points


@given(
    points=st.integers(0, 10**9),
    whole=st.integers(1, 10**9),
    cuts=st.lists(st.floats(0, 1), max_size=15),
)
def test_returns_split_any_way_claw_back_exactly_the_points_in_the_end(points: int, whole: int, cuts: list[float]) -> None:
    # Partial returns (some of nothing at all) that together return the whole order.
    marks = [*sorted(int(whole * cut) for cut in cuts), whole]
    clawed, previous = 0, 0
    for returned in marks:
        target = proportional_share(points, returned, whole)
        assert target >= previous
        clawed += target - previous
        previous = target
        assert clawed <= points
    assert clawed == points


@pytest.mark.parametrize(
    "available, policy, periods, zone, local_expiry",
    [
        # 03:30 UTC on 1 January is still New Year's Eve in New York: the year that ends is the old one.
        (datetime(2027, 1, 1, 3, 30, tzinfo=UTC), "end_of_year", 0, "America/New_York", datetime(2027, 1, 1)),
        (datetime(2027, 1, 1, 3, 30, tzinfo=UTC), "end_of_month", 0, "America/New_York", datetime(2027, 1, 1)),
        (datetime(2027, 1, 1, 5, 0, tzinfo=UTC), "end_of_year", 0, "America/New_York", datetime(2028, 1, 1)),
        (datetime(2026, 12, 31, 23, 59, tzinfo=UTC), "end_of_month", 0, "Europe/London", datetime(2027, 1, 1)),
        (datetime(2026, 12, 31, 23, 59, tzinfo=UTC), "end_of_year", 1, "Europe/London", datetime(2028, 1, 1)),
        # 23:30 UTC on 30 June is 00:30 on 1 July in London (BST): July's end, which is in summer time.
        (datetime(2026, 6, 30, 23, 30, tzinfo=UTC), "end_of_month", 0, "Europe/London", datetime(2026, 8, 1)),
        # Available in winter time, expiring in summer time (and the other way round).
        (datetime(2026, 3, 5, tzinfo=UTC), "end_of_month", 0, "America/New_York", datetime(2026, 4, 1)),
        (datetime(2026, 9, 15, tzinfo=UTC), "end_of_month", 1, "America/New_York", datetime(2026, 11, 1)),
        (datetime(2026, 9, 15, tzinfo=UTC), "end_of_month", 2, "Europe/London", datetime(2026, 12, 1)),
        (datetime(2026, 11, 30, 21, 0, tzinfo=UTC), "end_of_month", 1, "Asia/Riyadh", datetime(2027, 2, 1)),  # 1 Dec local
        (datetime(2026, 1, 31, tzinfo=UTC), "end_of_month", 1, "Asia/Riyadh", datetime(2026, 3, 1)),  # through February
        (datetime(2026, 6, 1, tzinfo=UTC), "end_of_year", 2, "America/New_York", datetime(2029, 1, 1)),
    ],
)
def test_period_ends_across_year_boundaries_and_clock_changes(available, policy, periods, zone, local_expiry) -> None:  # type: ignore[no-untyped-def]
    result = expires_at(available, policy=policy, periods=periods, timezone=zone)
    assert result == local_expiry.replace(tzinfo=ZoneInfo(zone))
    assert result.tzinfo is UTC


def test_the_result_keeps_the_time_zone_it_was_given() -> None:
    riyadh = ZoneInfo("Asia/Riyadh")
    available = datetime(2026, 3, 10, 12, tzinfo=riyadh)
    result = expires_at(available, policy="end_of_month", periods=0, timezone="America/New_York")
    assert result.tzinfo is riyadh
    assert result == datetime(2026, 4, 1, tzinfo=ZoneInfo("America/New_York"))


def test_days_are_elapsed_days_even_across_a_clock_change() -> None:
    before_dst = datetime(2026, 3, 28, 12, tzinfo=UTC)  # London moves to BST on 29 March 2026
    result = expires_at(before_dst, policy="days", periods=2, timezone="Europe/London")
    assert result == before_dst + timedelta(hours=48)


def test_unknown_policy_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        expires_at(datetime(2026, 1, 1, tzinfo=UTC), policy="end_of_week", periods=0, timezone="Asia/Riyadh")


@given(
    available=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 12, 31), timezones=st.just(UTC)),
    policy=st.sampled_from(["end_of_month", "end_of_year"]),
    periods=st.integers(0, 120),
    zone=st.sampled_from(ZONES),
)
def test_a_period_end_is_local_midnight_on_the_first_after_the_period(available: datetime, policy: str, periods: int, zone: str) -> None:
    result = expires_at(available, policy=policy, periods=periods, timezone=zone)
    assert result is not None and result > available
    local, start = result.astimezone(ZoneInfo(zone)), available.astimezone(ZoneInfo(zone))
    assert (local.day, local.hour, local.minute, local.second) == (1, 0, 0, 0)
    if policy == "end_of_month":
        assert (local.year * 12 + local.month) - (start.year * 12 + start.month) == periods + 1
    else:
        assert local.month == 1 and local.year - start.year == periods + 1


@given(
    a=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)),
    b=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)),
    policy=st.sampled_from(["days", "end_of_month", "end_of_year"]),
    periods=st.integers(0, 36),
    zone=st.sampled_from(ZONES),
)
def test_points_that_become_available_later_never_expire_sooner(a: datetime, b: datetime, policy: str, periods: int, zone: str) -> None:
    early, late = sorted((a, b))
    assert expires_at(early, policy=policy, periods=periods, timezone=zone) <= expires_at(late, policy=policy, periods=periods, timezone=zone)  # type: ignore[operator]
