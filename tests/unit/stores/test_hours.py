"""Opening hours and distances without a database: open-now in the store's own time zone (Asia/Riyadh has no
daylight saving time, Europe/Berlin has), several intervals a day, intervals past midnight, the text form."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from wafa.stores import hours

WEEKDAYS = {day: [["08:00", "22:00"]] for day in ("mon", "tue", "wed", "thu", "sun")}
# Friday: a break at noon, and a late opening that runs past midnight into Saturday.
FRIDAY_NIGHTS = {**WEEKDAYS, "fri": [["14:00", "16:00"], ["18:00", "02:00"]], "sat": []}


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(("at", "expected"), [
    (utc(2026, 3, 2, 4, 59), False),  # Monday 07:59 in Riyadh (UTC+3)
    (utc(2026, 3, 2, 5, 0), True),    # 08:00: opening time is open
    (utc(2026, 3, 2, 18, 59), True),  # 21:59
    (utc(2026, 3, 2, 19, 0), False),  # 22:00: closing time is closed
])
def test_a_riyadh_store_is_open_by_its_own_wall_clock(at: datetime, expected: bool) -> None:
    assert hours.is_open(hours.check_hours(WEEKDAYS), "Asia/Riyadh", at) is expected


@pytest.mark.parametrize(("at", "expected"), [
    (utc(2026, 3, 6, 10, 30), False),  # Friday 13:30: before the first interval
    (utc(2026, 3, 6, 11, 30), True),   # Friday 14:30
    (utc(2026, 3, 6, 13, 30), False),  # Friday 16:30: the break
    (utc(2026, 3, 6, 20, 0), True),    # Friday 23:00
    (utc(2026, 3, 6, 22, 30), True),   # Saturday 01:30: Friday's interval past midnight
    (utc(2026, 3, 6, 23, 0), False),   # Saturday 02:00: it closed
    (utc(2026, 3, 7, 20, 0), False),   # Saturday 23:00: Saturday is closed, and Friday's night is over
])
def test_several_intervals_a_day_and_one_past_midnight(at: datetime, expected: bool) -> None:
    assert hours.is_open(hours.check_hours(FRIDAY_NIGHTS), "Asia/Riyadh", at) is expected


def test_a_berlin_store_opens_at_the_same_wall_clock_time_across_the_change_to_summer_time() -> None:
    every_day = hours.check_hours({day: [["08:00", "20:00"]] for day in hours.DAYS})
    # 06:30 UTC is 07:30 on Saturday 28 March (CET, UTC+1) and 08:30 on Sunday 29 March (CEST, UTC+2).
    assert hours.is_open(every_day, "Europe/Berlin", utc(2026, 3, 28, 6, 30)) is False
    assert hours.is_open(every_day, "Europe/Berlin", utc(2026, 3, 29, 6, 30)) is True
    # 18:30 UTC is 19:30 CET (open) and 20:30 CEST (closed).
    assert hours.is_open(every_day, "Europe/Berlin", utc(2026, 3, 28, 18, 30)) is True
    assert hours.is_open(every_day, "Europe/Berlin", utc(2026, 3, 29, 18, 30)) is False


def test_all_day_and_never() -> None:
    always = hours.parse_text("mon-sun 00:00-24:00")
    assert all(hours.is_open(always, "Asia/Riyadh", utc(2026, 3, d, h)) for d in range(1, 8) for h in (0, 11, 23))
    assert not hours.is_open(hours.check_hours({}), "Asia/Riyadh", utc(2026, 3, 2, 12))


def test_the_local_date_is_the_stores_calendar_day() -> None:
    assert hours.local_date("Asia/Riyadh", utc(2026, 3, 1, 20, 59)) == date(2026, 3, 1)  # 23:59 in Riyadh
    assert hours.local_date("Asia/Riyadh", utc(2026, 3, 1, 21, 0)) == date(2026, 3, 2)   # midnight
    assert hours.local_date("America/New_York", utc(2026, 3, 2, 3, 0)) == date(2026, 3, 1)


def test_text_hours_read_ranges_several_intervals_and_closed_days_and_write_back() -> None:
    parsed = hours.parse_text("mon-fri 08:00-22:00; sat 10:00-14:00, 16:00-23:00; sun closed")
    assert parsed["wed"] == [["08:00", "22:00"]] and parsed["sat"] == [["10:00", "14:00"], ["16:00", "23:00"]] and parsed["sun"] == []
    assert hours.to_text(parsed) == "mon-fri 08:00-22:00; sat 10:00-14:00, 16:00-23:00; sun closed"
    assert hours.parse_text(hours.to_text(FRIDAY_NIGHTS)) == hours.check_hours(FRIDAY_NIGHTS)
    # A range may wrap the week's end; a later group overrides an earlier one.
    wrapped = hours.parse_text("fri-mon 09:00-17:00; sun closed")
    assert [day for day in hours.DAYS if wrapped[day]] == ["mon", "fri", "sat"]


@pytest.mark.parametrize("text", ["monday 08:00-22:00", "mon 8-22", "mon 08:00-08:00", "mon 25:00-26:00", "mon", "mon 24:00-02:00"])
def test_text_hours_that_cannot_be_read_are_refused(text: str) -> None:
    with pytest.raises(hours.HoursError):
        hours.parse_text(text)


@pytest.mark.parametrize("name", ["EST", "Mars/Olympus", "", "asia/riyadh"])
def test_only_iana_zones_with_a_region_are_time_zones(name: str) -> None:
    with pytest.raises(hours.HoursError):
        hours.check_timezone(name)
    assert hours.check_timezone("Asia/Riyadh") == "Asia/Riyadh" and hours.check_timezone("UTC") == "UTC"


def test_distances_on_the_earth() -> None:
    # One degree of a great circle on a sphere of the mean radius: 2πR / 360.
    assert hours.distance_m(0, 0, 1, 0) == pytest.approx(111_194.9, abs=0.5)
    assert hours.distance_m(24.7136, 46.6753, 24.7136, 46.6753) == 0
    riyadh_jeddah = hours.distance_m(24.7136, 46.6753, 21.4858, 39.1925)
    assert riyadh_jeddah == pytest.approx(hours.distance_m(21.4858, 39.1925, 24.7136, 46.6753))
    assert 840_000 < riyadh_jeddah < 860_000
    assert hours.distance_m(0, 179.9995, 0, -179.9995) == pytest.approx(111.2, abs=0.5)  # across the antimeridian
