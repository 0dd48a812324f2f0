"""Quiet hours: when the quiet period a moment falls in ends, in the program's time zone, for windows
that span midnight and windows that do not, at their edges, and across daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from wafa.messages.policy import DEFAULT, Policy, quiet_until

NEW_YORK = "America/New_York"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def window(start: str, end: str) -> Policy:
    return Policy(start, end, 0, 0)


@pytest.mark.parametrize(("now", "until"), [
    ("2026-03-01T22:00", "2026-03-02T09:00"),  # the evening: until tomorrow morning
    ("2026-03-01T03:00", "2026-03-01T09:00"),  # after midnight: until this morning
    ("2026-03-01T21:00", "2026-03-02T09:00"),  # exactly at the start: quiet
    ("2026-03-01T08:59:59", "2026-03-01T09:00"),
    ("2026-03-01T23:59:59", "2026-03-02T09:00"),
    ("2026-03-01T00:00", "2026-03-01T09:00"),
    ("2026-03-01T09:00", None),  # exactly at the end: sending is allowed
    ("2026-03-01T12:00", None),
    ("2026-03-01T20:59:59", None),
])
def test_a_window_spanning_midnight(now: str, until: str | None) -> None:
    assert quiet_until(DEFAULT, at(now), "UTC") == (at(until) if until else None)


@pytest.mark.parametrize(("now", "until"), [
    ("2026-03-01T13:00", "2026-03-01T15:30"), ("2026-03-01T15:29:59", "2026-03-01T15:30"), ("2026-03-01T14:00", "2026-03-01T15:30"),
    ("2026-03-01T15:30", None), ("2026-03-01T12:59:59", None), ("2026-03-01T23:00", None), ("2026-03-01T02:00", None),
])
def test_a_window_within_one_day(now: str, until: str | None) -> None:
    assert quiet_until(window("13:00", "15:30"), at(now), "UTC") == (at(until) if until else None)


@pytest.mark.parametrize("now", ["2026-03-01T00:00", "2026-03-01T08:00", "2026-03-01T08:00:30", "2026-03-01T23:59"])
def test_start_equal_to_end_means_no_quiet_hours(now: str) -> None:
    assert quiet_until(window("08:00", "08:00"), at(now), "Asia/Riyadh") is None


def test_the_window_is_the_programs_local_time() -> None:
    # 22:30 in Riyadh (UTC+3) is 19:30 UTC: quiet until 09:00 Riyadh, 06:00 UTC.
    assert quiet_until(DEFAULT, at("2026-03-01T19:30"), "Asia/Riyadh") == at("2026-03-02T06:00")
    assert quiet_until(DEFAULT, at("2026-03-01T17:59"), "Asia/Riyadh") is None


def test_the_answer_keeps_the_callers_time_zone() -> None:
    now = datetime(2026, 3, 1, 22, 0, tzinfo=ZoneInfo("Asia/Riyadh"))
    until = quiet_until(DEFAULT, now, "Asia/Riyadh")
    assert until == datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Riyadh")) and until.tzinfo == now.tzinfo


@pytest.mark.parametrize(("now", "until"), [
    # Clocks go forward at 02:00 on 2026-03-08: the evening before is EST (UTC-5), the morning after EDT (UTC-4).
    ("2026-03-08T03:00", "2026-03-08T13:00"),  # 22:00 EST -> 09:00 EDT
    ("2026-03-08T06:30", "2026-03-08T13:00"),  # 01:30 EST, before the change -> 09:00 EDT
    ("2026-03-08T07:30", "2026-03-08T13:00"),  # 03:30 EDT, after it
    # Clocks go back at 02:00 on 2026-11-01: EDT (UTC-4) before, EST (UTC-5) after.
    ("2026-11-01T03:00", "2026-11-01T14:00"),  # 23:00 EDT -> 09:00 EST
    ("2026-11-01T05:30", "2026-11-01T14:00"),  # 01:30 EDT, the first one
    ("2026-11-01T06:30", "2026-11-01T14:00"),  # 01:30 EST, the second one
])
def test_daylight_saving_changes_move_the_utc_instant_not_the_hour(now: str, until: str) -> None:
    assert quiet_until(DEFAULT, at(now), NEW_YORK) == at(until)


def test_a_quiet_end_in_the_repeated_hour_is_after_now() -> None:
    # 01:10 EST on 2026-11-01 (06:10 UTC), the second time the clocks show 01:10; quiet from 00:30 to 01:30.
    # The end is 01:30 EST (06:30 UTC). Read as the first 01:30 (EDT, 05:30 UTC) it lies in the past: the
    # sender defers the message to a moment already gone, leases it again at once, and loops.
    now = at("2026-11-01T06:10")
    assert quiet_until(window("00:30", "01:30"), now, NEW_YORK) == at("2026-11-01T06:30")


# Properties ---------------------------------------------------------------------------------------

ZONES = ["UTC", "Asia/Riyadh", NEW_YORK, "Europe/London", "Australia/Lord_Howe", "Asia/Kathmandu", "America/Santiago"]
# Daylight-saving changes of the zones above, where the rare cases live; and any instant of two years.
CHANGES = [at(t) for t in ("2026-03-08T07:00", "2026-11-01T06:00", "2026-03-29T01:00", "2026-10-25T01:00", "2026-04-04T15:00",
                           "2026-10-03T16:00", "2026-04-05T03:00", "2026-09-06T04:00")]
NEAR_A_CHANGE = st.builds(lambda base, minutes, seconds: base + timedelta(minutes=minutes, seconds=seconds),
                          st.sampled_from(CHANGES), st.integers(-36 * 60, 36 * 60), st.integers(0, 59))
ANY_TIME = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC))
CLOCK = st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.sampled_from([0, 1, 15, 29, 30, 31, 45, 59]))


@settings(max_examples=200)
@given(start=CLOCK, end=CLOCK, now=st.one_of(ANY_TIME, NEAR_A_CHANGE), zone=st.sampled_from(ZONES))
@example(start="00:30", end="01:30", now=at("2026-11-01T06:10"), zone=NEW_YORK)
def test_quiet_until_is_later_within_a_day_and_not_quiet(start: str, end: str, now: datetime, zone: str) -> None:
    rules = window(start, end)
    until = quiet_until(rules, now, zone)
    if until is None:
        return
    assert until > now
    # At most a day of the program's clocks: 24 hours, plus the hour (or half hour) clocks went back on the way.
    went_back = max(timedelta(0), now.astimezone(ZoneInfo(zone)).utcoffset() - until.astimezone(ZoneInfo(zone)).utcoffset())  # type: ignore[operator]
    assert until - now <= timedelta(hours=24) + went_back
    if until.astimezone(ZoneInfo(zone)).strftime("%H:%M") == end:  # an end the clocks skipped that day is its own case
        assert quiet_until(rules, until, zone) is None
