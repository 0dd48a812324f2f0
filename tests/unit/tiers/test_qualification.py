"""Tier arithmetic without a database (wafa.tiers.qualification): month arithmetic in the program's
zone, qualification windows (rolling and the local calendar year), the tier a value reaches at every
boundary, and what a review decides: keep, grace once, then drop at most `max_drop` tiers and never
below a manual floor or the tier the member still qualifies for."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wafa.tiers.qualification import Level, Review, add_months, qualified, rank_of, review, secured_until, window_end, window_start

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

# A four-step ladder with gaps in the ranks (reviews count steps on the ladder, not rank numbers).
BRONZE, SILVER, GOLD, PLATINUM = Level(11, 0, 0), Level(12, 5, 1000), Level(13, 10, 3000), Level(14, 20, 10000)
LADDER = [BRONZE, SILVER, GOLD, PLATINUM]
# The same ladder without a zero-threshold base tier: a member may be in no tier at all.
NO_BASE = [SILVER, GOLD, PLATINUM]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(zone: str, *args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(zone), fold=fold)


# --- add_months ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "start, months, expected",
    [
        (utc(2024, 1, 31, 10), 1, utc(2024, 2, 29, 10)),  # leap year: the 29th
        (utc(2023, 1, 31, 10), 1, utc(2023, 2, 28, 10)),  # common year: the 28th
        (utc(2024, 1, 29, 10), 1, utc(2024, 2, 29, 10)),
        (utc(2023, 1, 29, 10), 1, utc(2023, 2, 28, 10)),
        (utc(2024, 3, 31, 10), -1, utc(2024, 2, 29, 10)),
        (utc(2024, 8, 31, 10), 1, utc(2024, 9, 30, 10)),
        (utc(2024, 5, 31, 10), -1, utc(2024, 4, 30, 10)),
        (utc(2024, 2, 29, 10), 12, utc(2025, 2, 28, 10)),
        (utc(2024, 2, 29, 10), 48, utc(2028, 2, 29, 10)),
        (utc(2024, 2, 29, 10), -12, utc(2023, 2, 28, 10)),
        (utc(2025, 12, 15, 10), 1, utc(2026, 1, 15, 10)),  # across the year end
        (utc(2026, 1, 15, 10), -1, utc(2025, 12, 15, 10)),
        (utc(2026, 1, 15, 10), -13, utc(2024, 12, 15, 10)),
        (utc(2026, 1, 15, 10), 25, utc(2028, 2, 15, 10)),
        (utc(2026, 1, 15, 10), 0, utc(2026, 1, 15, 10)),
        (utc(2026, 1, 31, 23, 59, 59), 60, utc(2031, 1, 31, 23, 59, 59)),
    ],
)
def test_add_months_keeps_the_day_or_takes_the_last_day_of_a_shorter_month(start: datetime, months: int, expected: datetime) -> None:
    got = add_months(start, months, "UTC")
    assert got == expected
    assert got.utcoffset() == timedelta(0)


def test_add_months_counts_in_the_programs_zone_not_in_utc() -> None:
    # 22:00 UTC on 30 January is 01:00 on 31 January in Riyadh (UTC+3, no daylight saving): a month
    # later is the last day of February there, 01:00 local.
    assert add_months(utc(2024, 1, 30, 22), 1, "Asia/Riyadh") == local("Asia/Riyadh", 2024, 2, 29, 1)
    assert add_months(utc(2024, 1, 30, 22), 1, "Asia/Riyadh") == utc(2024, 2, 28, 22)
    assert add_months(utc(2024, 1, 30, 22), 1, "UTC") == utc(2024, 2, 29, 22)
    assert add_months(utc(2023, 1, 30, 22), 1, "Asia/Riyadh") == utc(2023, 2, 27, 22)
    # Riyadh has one offset all year: six months later is the same UTC hour.
    assert add_months(utc(2026, 1, 15, 6), 6, "Asia/Riyadh") == utc(2026, 7, 15, 6)


def test_add_months_keeps_the_local_hour_across_daylight_saving() -> None:
    zone = "America/New_York"
    # Noon in winter (EST, UTC-5) is noon in summer (EDT, UTC-4): an hour earlier in UTC, and back.
    winter = local(zone, 2024, 1, 15, 12)
    assert winter == utc(2024, 1, 15, 17)
    assert add_months(winter, 6, zone) == local(zone, 2024, 7, 15, 12) == utc(2024, 7, 15, 16)
    assert add_months(local(zone, 2024, 7, 15, 12), 6, zone) == utc(2025, 1, 15, 17)
    assert add_months(winter, -6, zone) == utc(2023, 7, 15, 16)
    # Local midnight stays local midnight across the change.
    assert add_months(local(zone, 2024, 3, 1), 1, zone) == local(zone, 2024, 4, 1) == utc(2024, 4, 1, 4)


def test_add_months_onto_a_skipped_or_repeated_local_hour() -> None:
    zone = "America/New_York"
    # 02:30 on 10 March 2024 does not exist in New York (clocks jump 02:00 -> 03:00): the result is
    # that day, just after the jump, still a month (by the wall clock) after the start.
    got = add_months(local(zone, 2024, 2, 10, 2, 30), 1, zone)
    assert got.astimezone(ZoneInfo(zone)).date().isoformat() == "2024-03-10"
    assert got == utc(2024, 3, 10, 7, 30)  # 03:30 EDT
    # 01:30 on 3 November 2024 happens twice: a month after 01:30 EDT on 3 October is the first one.
    assert add_months(local(zone, 2024, 10, 3, 1, 30), 1, zone) == utc(2024, 11, 3, 5, 30)
    # ...and a month after the second 01:30 (EST) is 01:30 EST on 3 December.
    second = local(zone, 2024, 11, 3, 1, 30, fold=1)
    assert second.astimezone(UTC) == utc(2024, 11, 3, 6, 30)
    assert add_months(second, 1, zone) == utc(2024, 12, 3, 6, 30)


@given(
    moment=st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)),
    months=st.integers(min_value=-60, max_value=60),
    zone=st.sampled_from(["UTC", "Asia/Riyadh", "Asia/Dubai", "Africa/Cairo", "America/New_York", "Europe/London"]),
)
def test_add_months_lands_on_the_same_local_day_or_the_months_last(moment: datetime, months: int, zone: str) -> None:
    start = moment.astimezone(ZoneInfo(zone))
    got = add_months(moment, months, zone)
    assert got.utcoffset() == timedelta(0)
    landed = got.astimezone(ZoneInfo(zone))
    index = start.year * 12 + start.month - 1 + months
    assert (landed.year, landed.month) == (index // 12, index % 12 + 1)
    assert landed.day == min(start.day, calendar.monthrange(landed.year, landed.month)[1])
    if months > 0:
        assert got > moment
    elif months < 0:
        assert got < moment


# --- windows ------------------------------------------------------------------------------------


def test_rolling_window_is_the_last_months_and_never_closes() -> None:
    now = utc(2026, 3, 31, 21, 30)  # 00:30 on 1 April in Riyadh
    assert window_start(now, window="rolling", months=12, timezone="UTC") == utc(2025, 3, 31, 21, 30)
    assert window_start(now, window="rolling", months=1, timezone="UTC") == utc(2026, 2, 28, 21, 30)
    assert window_start(now, window="rolling", months=1, timezone="Asia/Riyadh") == utc(2026, 2, 28, 21, 30)  # 1 March local
    assert window_start(now, window="rolling", months=13, timezone="Asia/Riyadh") == utc(2025, 2, 28, 21, 30)
    assert window_end(now, window="rolling", months=12, timezone="Asia/Riyadh") is None
    assert secured_until(now, window="rolling", months=12, timezone="UTC") == utc(2027, 3, 31, 21, 30)
    assert secured_until(now, window="rolling", months=6, timezone="UTC") == utc(2026, 9, 30, 21, 30)
    assert secured_until(now, window="rolling", months=6, timezone="America/New_York") == utc(2026, 9, 30, 21, 30)


@pytest.mark.parametrize("months", [1, 12, 60])  # a calendar-year window ignores `months`
def test_calendar_year_window_runs_from_local_midnight_of_1_january(months: int) -> None:
    zone = "Asia/Riyadh"
    # 23:59 on 31 December 2025 in Riyadh is still 2025 there.
    late = utc(2025, 12, 31, 20, 59)
    assert window_start(late, window="calendar_year", months=months, timezone=zone) == utc(2024, 12, 31, 21)
    assert window_end(late, window="calendar_year", months=months, timezone=zone) == utc(2025, 12, 31, 21)
    # 21:00 UTC that evening is local midnight: the 2026 window starts there, though it is 2025 in UTC.
    for now in (utc(2025, 12, 31, 21), utc(2025, 12, 31, 22), utc(2026, 6, 30, 12), utc(2026, 12, 31, 20, 59, 59)):
        assert window_start(now, window="calendar_year", months=months, timezone=zone) == local(zone, 2026, 1, 1) == utc(2025, 12, 31, 21)
        assert window_end(now, window="calendar_year", months=months, timezone=zone) == utc(2026, 12, 31, 21)
    # Reached (or kept) in 2026: secured to the end of 2027, local time.
    assert secured_until(utc(2025, 12, 31, 21), window="calendar_year", months=months, timezone=zone) == utc(2027, 12, 31, 21)
    assert secured_until(utc(2025, 12, 31, 20, 59), window="calendar_year", months=months, timezone=zone) == utc(2026, 12, 31, 21)


def test_calendar_year_window_west_of_utc_and_in_utc() -> None:
    zone = "America/New_York"
    # 03:00 UTC on 1 January 2026 is 22:00 on 31 December 2025 in New York (EST).
    now = utc(2026, 1, 1, 3)
    assert window_start(now, window="calendar_year", months=12, timezone=zone) == utc(2025, 1, 1, 5)
    assert window_end(now, window="calendar_year", months=12, timezone=zone) == utc(2026, 1, 1, 5)
    assert secured_until(now, window="calendar_year", months=12, timezone=zone) == utc(2027, 1, 1, 5)
    assert window_start(now, window="calendar_year", months=12, timezone="UTC") == utc(2026, 1, 1)
    assert window_end(now, window="calendar_year", months=12, timezone="UTC") == utc(2027, 1, 1)
    assert secured_until(now, window="calendar_year", months=12, timezone="UTC") == utc(2028, 1, 1)


# --- qualified ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        (0, None), (999, None), (1000, SILVER), (1001, SILVER),
        (2999, SILVER), (3000, GOLD), (3001, GOLD),
        (9999, GOLD), (10000, PLATINUM), (10001, PLATINUM), (10**15, PLATINUM),
        (-5, None),  # returns may leave a net negative
    ],
)
def test_qualified_at_every_threshold(value: int, expected: Level | None) -> None:
    assert qualified(NO_BASE, value) == expected


def test_a_zero_threshold_base_tier_takes_everyone_not_in_debt() -> None:
    assert qualified(LADDER, 0) == BRONZE
    assert qualified(LADDER, 999) == BRONZE
    assert qualified(LADDER, 1000) == SILVER
    assert qualified(LADDER, -1) is None


def test_qualified_does_not_depend_on_the_order_tiers_are_given_in() -> None:
    for shuffled in ([PLATINUM, BRONZE, GOLD, SILVER], [GOLD, PLATINUM, SILVER, BRONZE], list(reversed(LADDER))):
        assert qualified(shuffled, 3000) == GOLD
        assert qualified(shuffled, 2999) == SILVER
        assert qualified(shuffled, 10000) == PLATINUM
        assert qualified(shuffled, 0) == BRONZE


def test_no_tiers_qualifies_no_one() -> None:
    assert qualified([], 10**9) is None


def test_rank_of() -> None:
    assert rank_of(LADDER, GOLD.id) == 10
    assert rank_of(LADDER, None) == -1
    assert rank_of(LADDER, 999) == -1  # a tier that no longer exists


# --- review -------------------------------------------------------------------------------------


def decide(current: Level | None, value: int, *, ladder: list[Level] = LADDER, in_grace: bool = False, grace_days: int = 0,
           max_drop: int = 1, floor: Level | None = None) -> Review:
    return review(
        ladder, current=current.id if current else None, value=value, now=NOW, in_grace=in_grace, grace_days=grace_days,
        max_drop=max_drop, floor=floor.id if floor else None,
    )


def test_a_member_exactly_at_the_threshold_keeps_the_tier() -> None:
    assert decide(GOLD, 3000, grace_days=30) == Review("keep", GOLD.id)
    assert decide(GOLD, 3001, grace_days=30) == Review("keep", GOLD.id)
    # Above the tier: a review keeps (upgrades happen at events, not reviews).
    assert decide(GOLD, 50_000) == Review("keep", GOLD.id)


def test_one_below_the_threshold_gets_the_grace_period_once_then_drops() -> None:
    first = decide(GOLD, 2999, grace_days=30)
    assert first == Review("grace", GOLD.id, NOW + timedelta(days=30))
    assert decide(GOLD, 2999, grace_days=30, in_grace=True) == Review("drop", SILVER.id)
    # Qualifying again by the end of the grace period keeps the tier.
    assert decide(GOLD, 3000, grace_days=30, in_grace=True) == Review("keep", GOLD.id)


def test_without_a_grace_period_a_review_drops_at_once() -> None:
    assert decide(GOLD, 2999, grace_days=0) == Review("drop", SILVER.id)
    assert decide(GOLD, 2999, grace_days=0, in_grace=True) == Review("drop", SILVER.id)


@pytest.mark.parametrize(
    "max_drop, value, expected",
    [
        (1, 0, GOLD), (2, 0, SILVER), (3, 0, BRONZE), (4, 0, BRONZE), (20, 0, BRONZE),
        # The tier still earned is the lowest a review goes, whatever max_drop allows.
        (3, 1500, SILVER), (3, 3000, GOLD), (1, 1500, GOLD),
    ],
)
def test_max_drop_from_the_top_tier(max_drop: int, value: int, expected: Level) -> None:
    assert decide(PLATINUM, value, max_drop=max_drop) == Review("drop", expected.id)


@pytest.mark.parametrize("max_drop, expected", [(1, GOLD), (2, SILVER), (3, None), (20, None)])
def test_max_drop_without_a_base_tier_may_leave_no_tier(max_drop: int, expected: Level | None) -> None:
    assert decide(PLATINUM, 0, ladder=NO_BASE, max_drop=max_drop) == Review("drop", expected.id if expected else None)


def test_the_lowest_tier_drops_to_no_tier() -> None:
    assert decide(SILVER, 999, ladder=NO_BASE, max_drop=1) == Review("drop", None)
    assert decide(SILVER, 999, ladder=NO_BASE, grace_days=10) == Review("grace", SILVER.id, NOW + timedelta(days=10))
    # A zero-threshold base tier is kept by anyone not in debt.
    assert decide(BRONZE, 0) == Review("keep", BRONZE.id)


def test_a_member_in_no_tier_is_kept_in_no_tier() -> None:
    assert decide(None, 0, ladder=NO_BASE) == Review("keep", None)


def test_the_floor_is_respected_while_in_force() -> None:
    # Floor silver: a platinum member with nothing earned, max_drop 3, stops at silver.
    assert decide(PLATINUM, 0, max_drop=3, floor=SILVER) == Review("drop", SILVER.id)
    assert decide(PLATINUM, 0, ladder=NO_BASE, max_drop=3, floor=SILVER) == Review("drop", SILVER.id)
    # A floor below what max_drop allows changes nothing.
    assert decide(PLATINUM, 0, max_drop=1, floor=SILVER) == Review("drop", GOLD.id)
    # A floor at the member's own tier: the review keeps them there (after the grace period, if any).
    assert decide(GOLD, 0, max_drop=3, floor=GOLD) in (Review("keep", GOLD.id), Review("drop", GOLD.id))
    assert decide(GOLD, 0, max_drop=3, floor=GOLD, grace_days=30, in_grace=True) in (Review("keep", GOLD.id), Review("drop", GOLD.id))


@pytest.mark.parametrize("value", [0, 999, 1000, 2999])
def test_a_floor_above_the_current_tier_puts_the_member_in_the_floor_tier(value: int) -> None:
    # A manual floor says "never below gold until then" (set_by_hand moves the member there at once).
    # A review of a member found below their floor leaves them in the floor tier whatever their
    # metric: a higher value must not end up lower than a smaller one.
    outcome = decide(SILVER, value, ladder=NO_BASE, max_drop=1, floor=GOLD)
    assert outcome.tier_id == GOLD.id, outcome


# --- properties ---------------------------------------------------------------------------------


@st.composite
def ladders(draw: st.DrawFn) -> list[Level]:
    """1..6 tiers, distinct ranks, thresholds rising with rank (the lowest possibly 0), shuffled."""
    count = draw(st.integers(min_value=1, max_value=6))
    ranks = sorted(draw(st.lists(st.integers(min_value=0, max_value=1000), min_size=count, max_size=count, unique=True)))
    steps = draw(st.lists(st.integers(min_value=1, max_value=5000), min_size=count, max_size=count))
    first = draw(st.integers(min_value=0, max_value=5000))
    thresholds = [first + sum(steps[1 : i + 1]) for i in range(count)]
    levels = [Level(100 + i, rank, threshold) for i, (rank, threshold) in enumerate(zip(ranks, thresholds, strict=True))]
    return draw(st.permutations(levels))


values = st.integers(min_value=-1000, max_value=40_000)


@given(levels=ladders(), a=values, b=values)
def test_qualified_is_monotone_in_the_value(levels: list[Level], a: int, b: int) -> None:
    low, high = min(a, b), max(a, b)
    assert rank_of(levels, _id(qualified(levels, low))) <= rank_of(levels, _id(qualified(levels, high)))


@given(levels=ladders(), value=values)
def test_qualified_is_the_best_tier_reached(levels: list[Level], value: int) -> None:
    got = qualified(levels, value)
    reached = [level for level in levels if level.threshold <= value]
    assert got == (max(reached, key=lambda level: level.rank) if reached else None)


def _id(level: Level | None) -> int | None:
    return level.id if level else None


@st.composite
def review_cases(draw: st.DrawFn) -> dict:
    """A ladder, a member in some tier (or none), and a floor at or below it (as set_by_hand leaves it)."""
    levels = draw(ladders())
    ordered = sorted(levels, key=lambda level: level.rank)
    current = draw(st.none() | st.sampled_from(ordered))
    below = [level for level in ordered if current is not None and level.rank <= current.rank]
    floor = draw(st.none() | st.sampled_from(below)) if below else None
    return {
        "levels": levels, "ordered": ordered, "current": current, "floor": floor, "value": draw(values), "in_grace": draw(st.booleans()),
        "grace_days": draw(st.integers(min_value=0, max_value=365)), "max_drop": draw(st.integers(min_value=1, max_value=20)),
    }


def _position(ordered: list[Level], tier_id: int | None) -> int:
    """Steps up the ladder: -1 for no tier, 0 for the lowest tier."""
    return next((i for i, level in enumerate(ordered) if level.id == tier_id), -1)


@given(case=review_cases())
def test_review_never_drops_more_than_max_drop_nor_below_the_floor_or_the_tier_earned(case: dict) -> None:
    ordered, current, floor = case["ordered"], case["current"], case["floor"]
    outcome = review(
        case["levels"], current=_id(current), value=case["value"], now=NOW, in_grace=case["in_grace"],
        grace_days=case["grace_days"], max_drop=case["max_drop"], floor=_id(floor),
    )
    have = _position(ordered, _id(current))
    after = _position(ordered, outcome.tier_id)
    earned = _position(ordered, _id(qualified(ordered, case["value"])))
    assert outcome.action in ("keep", "grace", "drop")
    assert after <= have  # a review never promotes
    assert have - after <= case["max_drop"]
    assert after >= min(have, _position(ordered, _id(floor)))
    assert after >= min(have, earned)
    if earned >= have:
        assert outcome == Review("keep", _id(current))
    if outcome.action == "grace":
        assert not case["in_grace"] and case["grace_days"] > 0 and earned < have
        assert outcome.tier_id == _id(current) and outcome.grace_until == NOW + timedelta(days=case["grace_days"])
    if _id(floor) is not None and _id(floor) == _id(current):
        assert outcome == Review("keep", _id(current))  # a floor in force holds the member: no grace, no drop
    elif earned < have and (case["in_grace"] or case["grace_days"] == 0):
        assert outcome.action == "drop"  # the grace period is given once


@given(case=review_cases(), other=values)
def test_review_outcome_is_monotone_in_the_value(case: dict, other: int) -> None:
    ordered = case["ordered"]

    def landed(value: int) -> int:
        outcome = review(
            case["levels"], current=_id(case["current"]), value=value, now=NOW, in_grace=True, grace_days=case["grace_days"],
            max_drop=case["max_drop"], floor=_id(case["floor"]),
        )
        return _position(ordered, outcome.tier_id)

    low, high = sorted((case["value"], other))
    assert landed(low) <= landed(high)
