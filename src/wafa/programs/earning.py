"""Pure arithmetic of the program: points for an amount, and when points become available and expire."""

from __future__ import annotations

from datetime import datetime, timedelta
from fractions import Fraction
from math import ceil, floor
from zoneinfo import ZoneInfo

ROUNDING = ("floor", "half_up", "ceil")
EXPIRY_POLICIES = ("none", "days", "end_of_month", "end_of_year")


def points_for(amount_minor: int, *, precision: int, rate: str, rounding: str = "floor") -> int:
    """Points earned on an amount in minor units at `rate` points per major unit, rounded as asked."""
    exact = Fraction(amount_minor, 10**precision) * Fraction(rate)
    if rounding == "floor":
        return floor(exact)
    if rounding == "ceil":
        return ceil(exact)
    if rounding == "half_up":
        return floor(exact + Fraction(1, 2))
    raise ValueError(f"unknown rounding {rounding}")


def proportional_share(total: int, part: int, whole: int) -> int:
    """The share of `total` that `part` of `whole` accounts for, rounded down (0 <= part <= whole).

    Returns use it cumulatively: what has been clawed back after returns of `part` is
    proportional_share(points, part, amount), so the last return always lands exactly on `points`.
    """
    if whole <= 0:
        return total
    return total * part // whole


def available_at(occurred_at: datetime, *, pending_days: int) -> datetime:
    """When points earned at `occurred_at` stop being pending."""
    return occurred_at + timedelta(days=pending_days)


def expires_at(available: datetime, *, policy: str, periods: int, timezone: str) -> datetime | None:
    """When points that became available at `available` expire under the program's policy.

    - none: never;
    - days: `periods` days after they become available;
    - end_of_month: at the end of the month `periods` months after the month they became available,
      in the program's time zone (0 = the end of that same month);
    - end_of_year: likewise with calendar years.
    """
    if policy == "none":
        return None
    if policy == "days":
        return available + timedelta(days=periods)
    zone = ZoneInfo(timezone)
    local = available.astimezone(zone)
    if policy == "end_of_month":
        month_index = local.year * 12 + (local.month - 1) + periods + 1
        year, month = divmod(month_index, 12)
        boundary = datetime(year, month + 1, 1, tzinfo=zone)
    elif policy == "end_of_year":
        boundary = datetime(local.year + periods + 1, 1, 1, tzinfo=zone)
    else:
        raise ValueError(f"unknown expiry policy {policy}")
    return boundary.astimezone(available.tzinfo)

