"""Streak arithmetic, no database: the week (Monday first) or month a moment falls in, in the program's
time zone, and the runs of consecutive periods in a set of them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class Run:
    """Consecutive periods, each with a qualifying purchase: the first, the last, and how many."""

    first: date
    last: date
    length: int


def period_of(moment: datetime, *, period: str, timezone: str) -> date:
    """The first day of the week (a Monday) or month that `moment` falls in, locally."""
    local = moment.astimezone(ZoneInfo(timezone)).date()
    if period == "week":
        return local - timedelta(days=local.weekday())
    if period == "month":
        return local.replace(day=1)
    raise ValueError(f"unknown period {period}")


def next_period(start: date, *, period: str) -> date:
    """The period after the one starting on `start`."""
    if period == "week":
        return start + timedelta(days=7)
    return date(start.year + start.month // 12, start.month % 12 + 1, 1)


def previous_period(start: date, *, period: str) -> date:
    """The period before the one starting on `start`."""
    if period == "week":
        return start - timedelta(days=7)
    return date(start.year - (start.month == 1), (start.month - 2) % 12 + 1, 1)


def runs(periods: Iterable[date], *, period: str) -> list[Run]:
    """Maximal runs of consecutive periods (given by their first days, in any order, repeats allowed), oldest first."""
    out: list[Run] = []
    for start in sorted(set(periods)):
        if out and next_period(out[-1].last, period=period) == start:
            out[-1] = Run(out[-1].first, start, out[-1].length + 1)
        else:
            out.append(Run(start, start, 1))
    return out


def current(found: list[Run], *, today: date, period: str) -> tuple[Run | None, bool]:
    """The run still alive today and whether it is at risk: a run that reaches this period is safe; one
    that ends with the last period is alive but needs a purchase before this one ends; any older run is
    broken (None)."""
    if not found:
        return None, False
    last = found[-1]
    if last.last >= today:
        return last, False
    if last.last == previous_period(today, period=period):
        return last, True
    return None, False
