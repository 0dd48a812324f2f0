"""Opening hours and distances, without a database: whether a store is open at a moment in its own time
zone (several intervals a day, intervals past midnight), the hours written as one line of text, and the
great-circle distance between two points.

Hours are kept by weekday as wall-clock intervals: {"mon": [["08:00", "22:00"]], "fri": [["18:00", "02:00"]]}.
An interval whose end is not after its start runs past midnight into the next day ("18:00"–"02:00" is open
on Friday evening and until 02:00 on Saturday); "24:00" ends an interval at midnight. A day not listed,
or listed with no intervals, is closed. Wall-clock times are read in the store's IANA time zone, so a
change to or from daylight saving time moves the moments, not the hours.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, available_timezones

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
EARTH_RADIUS_M = 6_371_008.8  # the mean radius (IUGG)

_CLOCK = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$|^24:00$")
_DAY_RANGE = re.compile(r"^(mon|tue|wed|thu|fri|sat|sun)(?:-(mon|tue|wed|thu|fri|sat|sun))?$")

Hours = dict[str, list[list[str]]]


class HoursError(ValueError):
    """Hours that cannot be read, with the sentence saying why."""


def check_timezone(name: str) -> str:
    """`name` if it is an IANA time zone this system knows (Asia/Riyadh), else HoursError."""
    # Only names with a region ("Asia/Riyadh", and "UTC"): not the legacy abbreviations ("EST") the database also holds.
    if not isinstance(name, str) or name not in _zones() or ("/" not in name and name != "UTC"):
        raise HoursError(f"{name!r} is not an IANA time zone, such as Asia/Riyadh")
    return name


_ZONES: set[str] = set()


def _zones() -> set[str]:
    if not _ZONES:
        _ZONES.update(available_timezones())
    return _ZONES


def _minutes(clock: str) -> int:
    if not isinstance(clock, str) or not _CLOCK.match(clock):
        raise HoursError(f"{clock!r} is not a time of day written HH:MM (00:00 to 24:00)")
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def check_hours(hours: object) -> Hours:
    """The hours in their kept form (every weekday, intervals sorted), or HoursError naming the first problem."""
    if not isinstance(hours, dict):
        raise HoursError("hours are an object of weekdays (mon … sun), each a list of [open, close] times")
    unknown = [day for day in hours if day not in DAYS]
    if unknown:
        raise HoursError(f"{unknown[0]!r} is not a weekday: use mon, tue, wed, thu, fri, sat, sun")
    kept: Hours = {}
    for day in DAYS:
        intervals = hours.get(day) or []
        if not isinstance(intervals, list) or len(intervals) > 6:
            raise HoursError(f"{day}: give a list of at most 6 [open, close] intervals")
        day_hours = []
        for interval in intervals:
            if not isinstance(interval, list | tuple) or len(interval) != 2:
                raise HoursError(f"{day}: each interval is [open, close], such as [\"08:00\", \"22:00\"]")
            start, end = (_minutes(part) for part in interval)
            if start == 24 * 60:
                raise HoursError(f"{day}: an interval cannot open at 24:00")
            if start == end:
                raise HoursError(f"{day}: {interval[0]}–{interval[1]} opens and closes at the same time")
            day_hours.append([interval[0], interval[1]])
        kept[day] = sorted(day_hours, key=lambda pair: _minutes(pair[0]))
    return kept


def _spans(hours: Hours, day: date) -> list[tuple[datetime, datetime]]:
    """The day's intervals as naive wall-clock spans (an interval past midnight ends on the next day)."""
    spans = []
    for start, end in hours.get(DAYS[day.weekday()], []):
        opens = datetime.combine(day, time()) + timedelta(minutes=_minutes(start))
        closes = datetime.combine(day, time()) + timedelta(minutes=_minutes(end))
        if closes <= opens:
            closes += timedelta(days=1)
        spans.append((opens, closes))
    return spans


def is_open(hours: Hours, timezone: str, at: datetime) -> bool:
    """Whether the hours have the store open at `at` (an aware moment), read in the store's time zone.
    Yesterday's intervals count too: one past midnight is still open early this morning."""
    local = at.astimezone(ZoneInfo(timezone)).replace(tzinfo=None)
    today = local.date()
    return any(opens <= local < closes for day in (today - timedelta(days=1), today) for opens, closes in _spans(hours, day))


def local_date(timezone: str, at: datetime) -> date:
    """The store's calendar day at `at`."""
    return at.astimezone(ZoneInfo(timezone)).date()


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The great-circle distance in metres between two points (haversine, on a sphere of the Earth's mean radius)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


# --- hours as one line of text (CSV files, the console's form) ----------------------------------------


def parse_text(text: str) -> Hours:
    """Hours written as one line: day groups separated by ";", each a day or a range of days, then its intervals
    separated by ",", or "closed": `mon-fri 08:00-22:00; sat 10:00-14:00, 16:00-23:00; sun closed`. A day not
    named is closed; a later group overrides an earlier one for the days they share. Empty text: always closed."""
    hours: dict[str, list[list[str]]] = {}
    for group in (part.strip() for part in text.lower().split(";")):
        if not group:
            continue
        head, _, rest = group.partition(" ")
        match = _DAY_RANGE.match(head)
        if match is None:
            raise HoursError(f"{head!r} is not a day or a range of days such as mon-fri")
        first = DAYS.index(match.group(1))
        last = DAYS.index(match.group(2)) if match.group(2) else first
        days = [DAYS[(first + step) % 7] for step in range((last - first) % 7 + 1)]
        rest = rest.strip()
        intervals: list[list[str]] = []
        if rest != "closed":
            if not rest:
                raise HoursError(f"{head}: give its hours, such as 08:00-22:00, or closed")
            for interval in (part.strip() for part in rest.split(",")):
                start, dash, end = interval.replace("–", "-").partition("-")
                if not dash:
                    raise HoursError(f"{head}: {interval!r} is not an interval such as 08:00-22:00")
                intervals.append([start.strip(), end.strip()])
        for day in days:
            hours[day] = [list(pair) for pair in intervals]
    return check_hours(hours)


def to_text(hours: Hours) -> str:
    """The hours as parse_text reads them, consecutive days with the same hours joined (mon-fri)."""
    kept = check_hours(hours)
    groups: list[tuple[int, int, str]] = []
    for index, day in enumerate(DAYS):
        said = ", ".join(f"{start}-{end}" for start, end in kept[day]) or "closed"
        if groups and groups[-1][2] == said and groups[-1][1] == index - 1:
            groups[-1] = (groups[-1][0], index, said)
        else:
            groups.append((index, index, said))
    return "; ".join((DAYS[a] if a == b else f"{DAYS[a]}-{DAYS[b]}") + f" {said}" for a, b, said in groups)
