"""Streak periods without a database: the week (Monday first) or month a moment falls in, locally in
the program's time zone; the period before and after one; runs of consecutive periods; and whether
the latest run is safe, at risk or broken today."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wafa.engagement.periods import (
    Run,
    current,
    next_period,
    period_of,
    previous_period,
    runs,
)

PERIODS = ["week", "month"]
ZONES = ["UTC", "Asia/Riyadh", "Asia/Kolkata", "America/New_York", "Europe/London", "Pacific/Chatham", "Pacific/Kiritimati"]


def month_start(day: date) -> date:
    return day.replace(day=1)


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def starts(period: str) -> st.SearchStrategy[date]:
    """First days of periods: Mondays, or firsts of months, 1990–2100."""
    days = st.dates(date(1990, 1, 1), date(2100, 12, 31))
    return days.map(week_start if period == "week" else month_start)


def later(first: date, n: int, *, period: str) -> date:
    for _ in range(n):
        first = next_period(first, period=period)
    return first


# period_of --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "moment, expected",
    [
        (datetime(2026, 3, 2, 0, 0, tzinfo=UTC), date(2026, 3, 2)),  # Monday midnight opens its own week
        (datetime(2026, 3, 8, 23, 59, 59, tzinfo=UTC), date(2026, 3, 2)),  # Sunday's last second closes it
        (datetime(2026, 3, 9, 0, 0, tzinfo=UTC), date(2026, 3, 9)),
        (datetime(2026, 3, 4, 12, 0, tzinfo=UTC), date(2026, 3, 2)),  # a Wednesday
        (datetime(2026, 1, 1, 8, 0, tzinfo=UTC), date(2025, 12, 29)),  # a week that starts in the old year
        (datetime(2024, 2, 29, 8, 0, tzinfo=UTC), date(2024, 2, 26)),  # leap day
        (datetime(2024, 3, 3, 8, 0, tzinfo=UTC), date(2024, 2, 26)),  # the Sunday after it
    ],
)
def test_period_of_week_is_the_monday_on_or_before_the_day(moment: datetime, expected: date) -> None:
    assert period_of(moment, period="week", timezone="UTC") == expected
    assert expected.weekday() == 0


@pytest.mark.parametrize(
    "moment, expected",
    [
        (datetime(2026, 3, 1, 0, 0, tzinfo=UTC), date(2026, 3, 1)),
        (datetime(2026, 3, 31, 23, 59, 59, tzinfo=UTC), date(2026, 3, 1)),
        (datetime(2024, 2, 29, 12, 0, tzinfo=UTC), date(2024, 2, 1)),
        (datetime(2025, 12, 31, 23, 0, tzinfo=UTC), date(2025, 12, 1)),
    ],
)
def test_period_of_month_is_the_first_of_the_month(moment: datetime, expected: date) -> None:
    assert period_of(moment, period="month", timezone="UTC") == expected


def test_period_of_sunday_2330_utc_is_the_next_monday_in_riyadh() -> None:
    sunday_late = datetime(2026, 3, 8, 23, 30, tzinfo=UTC)  # 02:30 on Monday 9 March in Riyadh (UTC+3)
    assert period_of(sunday_late, period="week", timezone="UTC") == date(2026, 3, 2)
    assert period_of(sunday_late, period="week", timezone="Asia/Riyadh") == date(2026, 3, 9)


def test_period_of_monday_early_utc_is_still_the_last_week_in_new_york() -> None:
    monday_early = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)  # 22:00 on Sunday 8 March in New York (EDT)
    assert period_of(monday_early, period="week", timezone="UTC") == date(2026, 3, 9)
    assert period_of(monday_early, period="week", timezone="America/New_York") == date(2026, 3, 2)


def test_period_of_new_year_eve_in_utc_is_january_in_riyadh() -> None:
    eve = datetime(2025, 12, 31, 22, 0, tzinfo=UTC)  # 01:00 on 1 January 2026 in Riyadh
    assert period_of(eve, period="month", timezone="UTC") == date(2025, 12, 1)
    assert period_of(eve, period="month", timezone="Asia/Riyadh") == date(2026, 1, 1)


def test_period_of_reads_the_instant_not_the_offset_it_was_written_with() -> None:
    same_instant = [
        datetime(2026, 3, 8, 23, 30, tzinfo=UTC),
        datetime(2026, 3, 9, 2, 30, tzinfo=ZoneInfo("Asia/Riyadh")),
        datetime(2026, 3, 8, 19, 30, tzinfo=ZoneInfo("America/New_York")),
    ]
    assert {period_of(m, period="week", timezone="Asia/Riyadh") for m in same_instant} == {date(2026, 3, 9)}
    assert {period_of(m, period="week", timezone="UTC") for m in same_instant} == {date(2026, 3, 2)}


def test_period_of_an_unknown_period_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown period"):
        period_of(datetime(2026, 3, 1, tzinfo=UTC), period="year", timezone="UTC")


@given(
    moment=st.datetimes(datetime(1990, 1, 2), datetime(2100, 12, 30), timezones=st.just(UTC)),
    zone=st.sampled_from(ZONES),
)
def test_period_of_week_is_a_monday_within_the_last_seven_local_days(moment: datetime, zone: str) -> None:
    local = moment.astimezone(ZoneInfo(zone)).date()
    start = period_of(moment, period="week", timezone=zone)
    assert start.weekday() == 0
    assert timedelta(0) <= local - start < timedelta(days=7)


@given(
    moment=st.datetimes(datetime(1990, 1, 2), datetime(2100, 12, 30), timezones=st.just(UTC)),
    zone=st.sampled_from(ZONES),
)
def test_period_of_month_is_the_local_first_of_the_month(moment: datetime, zone: str) -> None:
    local = moment.astimezone(ZoneInfo(zone)).date()
    assert period_of(moment, period="month", timezone=zone) == date(local.year, local.month, 1)


@given(period=st.sampled_from(PERIODS), start=st.data(), zone=st.sampled_from(ZONES))
def test_period_of_a_period_start_at_local_noon_is_that_period(period: str, start: st.DataObject, zone: str) -> None:
    first = start.draw(starts(period))
    noon = datetime(first.year, first.month, first.day, 12, tzinfo=ZoneInfo(zone))
    assert period_of(noon, period=period, timezone=zone) == first


# next_period and previous_period ---------------------------------------------------------------


@pytest.mark.parametrize(
    "start, after",
    [
        (date(2025, 12, 1), date(2026, 1, 1)),  # December to January of the next year
        (date(2026, 1, 1), date(2026, 2, 1)),
        (date(2026, 11, 1), date(2026, 12, 1)),
        (date(2024, 2, 1), date(2024, 3, 1)),  # a leap February
        (date(1999, 12, 1), date(2000, 1, 1)),
    ],
)
def test_next_and_previous_month(start: date, after: date) -> None:
    assert next_period(start, period="month") == after
    assert previous_period(after, period="month") == start


def test_previous_month_of_january_is_december_of_the_year_before() -> None:
    assert previous_period(date(2026, 1, 1), period="month") == date(2025, 12, 1)


@pytest.mark.parametrize(
    "start, after",
    [
        (date(2025, 12, 29), date(2026, 1, 5)),  # across a year end
        (date(2024, 2, 26), date(2024, 3, 4)),  # across a leap day
        (date(2023, 2, 27), date(2023, 3, 6)),  # across 28 February of a common year
        (date(2026, 3, 23), date(2026, 3, 30)),  # across the start of daylight saving elsewhere: dates, not hours
    ],
)
def test_next_and_previous_week(start: date, after: date) -> None:
    assert next_period(start, period="week") == after
    assert previous_period(after, period="week") == start


@given(data=st.data(), period=st.sampled_from(PERIODS))
def test_next_after_previous_and_previous_after_next_are_identity_for_period_starts(data: st.DataObject, period: str) -> None:
    start = data.draw(starts(period))
    assert next_period(previous_period(start, period=period), period=period) == start
    assert previous_period(next_period(start, period=period), period=period) == start


@given(data=st.data(), period=st.sampled_from(PERIODS))
def test_next_period_is_the_period_of_the_day_after_this_one_ends(data: st.DataObject, period: str) -> None:
    start = data.draw(starts(period))
    after = next_period(start, period=period)
    assert start < after
    last_day = after - timedelta(days=1)
    for day in (start, last_day):  # both ends of the period belong to it ...
        assert period_of(datetime(day.year, day.month, day.day, 12, tzinfo=UTC), period=period, timezone="UTC") == start
    assert period_of(datetime(after.year, after.month, after.day, tzinfo=UTC), period=period, timezone="UTC") == after


# runs -------------------------------------------------------------------------------------------


def test_runs_of_nothing_is_empty() -> None:
    assert runs([], period="week") == []


def test_runs_sorts_unordered_weeks_and_ignores_repeats() -> None:
    weeks = [date(2026, 3, 16), date(2026, 3, 2), date(2026, 3, 9), date(2026, 3, 2), date(2026, 3, 16)]
    assert runs(weeks, period="week") == [Run(date(2026, 3, 2), date(2026, 3, 16), 3)]


def test_runs_split_at_a_missing_week() -> None:
    weeks = [date(2026, 3, 30), date(2026, 3, 2), date(2026, 3, 9), date(2026, 3, 23)]  # 16 March missing
    assert runs(weeks, period="week") == [
        Run(date(2026, 3, 2), date(2026, 3, 9), 2),
        Run(date(2026, 3, 23), date(2026, 3, 30), 2),
    ]


def test_runs_of_months_cross_a_year_end() -> None:
    months = [date(2026, 1, 1), date(2025, 11, 1), date(2025, 12, 1), date(2026, 3, 1)]
    assert runs(months, period="month") == [
        Run(date(2025, 11, 1), date(2026, 1, 1), 3),
        Run(date(2026, 3, 1), date(2026, 3, 1), 1),
    ]


def test_runs_accepts_a_generator() -> None:
    found = runs((date(2026, 3, 2) + timedelta(days=7 * n) for n in (2, 0, 1)), period="week")
    assert found == [Run(date(2026, 3, 2), date(2026, 3, 16), 3)]


@given(data=st.data(), period=st.sampled_from(PERIODS))
def test_runs_partition_the_distinct_periods_into_maximal_consecutive_runs(data: st.DataObject, period: str) -> None:
    given_periods = data.draw(st.lists(starts(period), max_size=40))
    found = runs(given_periods, period=period)
    distinct = set(given_periods)

    assert sum(run.length for run in found) == len(distinct)
    covered: list[date] = []
    for run in found:
        members = [later(run.first, n, period=period) for n in range(run.length)]
        assert members[-1] == run.last
        covered += members
    assert sorted(covered) == sorted(distinct)  # each period in exactly one run, nothing invented
    for before, after in pairwise(found):
        assert before.last < after.first  # oldest first
        assert next_period(before.last, period=period) != after.first  # a real gap between runs
        assert next_period(before.last, period=period) not in distinct


@given(data=st.data(), period=st.sampled_from(PERIODS))
def test_runs_do_not_depend_on_order_or_repeats(data: st.DataObject, period: str) -> None:
    given_periods = data.draw(st.lists(starts(period), max_size=30))
    shuffled = data.draw(st.permutations(given_periods + given_periods[: len(given_periods) // 2]))
    assert runs(shuffled, period=period) == runs(given_periods, period=period)


@given(data=st.data(), period=st.sampled_from(PERIODS))
def test_filling_the_one_gap_between_two_runs_merges_them(data: st.DataObject, period: str) -> None:
    first = data.draw(starts(period).filter(lambda d: d < date(2090, 1, 1)))
    a, b = data.draw(st.integers(1, 6)), data.draw(st.integers(1, 6))
    left = [later(first, n, period=period) for n in range(a)]
    gap = later(first, a, period=period)
    right = [later(gap, n + 1, period=period) for n in range(b)]
    assert [r.length for r in runs(left + right, period=period)] == [a, b]
    assert runs(left + right + [gap], period=period) == [Run(first, right[-1], a + b + 1)]


# current ----------------------------------------------------------------------------------------

MONDAY = date(2026, 3, 16)


def test_current_of_no_runs_is_none() -> None:
    assert current([], today=MONDAY, period="week") == (None, False)


def test_current_run_that_reaches_this_period_is_safe() -> None:
    run = Run(date(2026, 3, 2), MONDAY, 3)
    assert current([Run(date(2026, 2, 2), date(2026, 2, 9), 2), run], today=MONDAY, period="week") == (run, False)


def test_current_run_that_ends_last_period_is_at_risk() -> None:
    run = Run(date(2026, 3, 2), date(2026, 3, 9), 2)
    assert current([run], today=MONDAY, period="week") == (run, True)


def test_current_run_that_ends_two_periods_ago_is_broken() -> None:
    run = Run(date(2026, 2, 23), date(2026, 3, 2), 2)
    assert current([run], today=MONDAY, period="week") == (None, False)


def test_current_monthly_run_ending_in_december_is_at_risk_in_january_and_broken_in_february() -> None:
    run = Run(date(2025, 10, 1), date(2025, 12, 1), 3)
    assert current([run], today=date(2026, 1, 1), period="month") == (run, True)
    assert current([run], today=date(2026, 2, 1), period="month") == (None, False)


def test_current_only_looks_at_the_latest_run() -> None:
    old = Run(date(2026, 3, 2), date(2026, 3, 9), 2)  # would be at risk, but a later run exists
    later_run = Run(date(2026, 3, 23), date(2026, 3, 23), 1)
    assert current([old, later_run], today=date(2026, 3, 30), period="week") == (later_run, True)


@given(data=st.data(), period=st.sampled_from(PERIODS), length=st.integers(1, 10), idle=st.integers(0, 5))
def test_current_is_safe_then_at_risk_then_broken_as_periods_pass(data: st.DataObject, period: str, length: int, idle: int) -> None:
    first = data.draw(starts(period).filter(lambda d: d < date(2090, 1, 1)))
    run = Run(first, later(first, length - 1, period=period), length)
    today = later(run.last, idle, period=period)
    expected = {0: (run, False), 1: (run, True)}.get(idle, (None, False))
    assert current(runs([later(first, n, period=period) for n in range(length)], period=period), today=today, period=period) == expected
