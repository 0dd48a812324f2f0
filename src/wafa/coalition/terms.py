"""The arithmetic of a partner's terms, pure: the money points issued and redeemed create, commissions,
an exchange of a partner's own points, and the settlement periods in the operator's time zone.

Money is rounded to the nearest minor unit, halves up, once per entry (the entry then balances exactly);
an exchange of own points converts whole coalition points only and keeps the rest for the next one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from fractions import Fraction
from math import floor
from zoneinfo import ZoneInfo

PERIODS = ("monthly", "weekly")
# The longest decimal a rate or price may have: enough for a price of 0.0001 a point in any currency.
MAX_DECIMALS = 8


def _round(value: Fraction) -> int:
    """Nearest integer, halves away from zero (money is never negative here)."""
    return floor(value + Fraction(1, 2))


def minor(points: int, price: str, precision: int) -> int:
    """Money (minor units) for `points` at `price` major units a point."""
    return _round(points * Fraction(price) * 10**precision)


def fee(amount: int, rate: str) -> int:
    """The operator's commission on `amount` at `rate` (a fraction: "0.05")."""
    return _round(amount * Fraction(rate))


@dataclass(frozen=True, slots=True)
class Issued:
    """What points issued at a partner cost it: `gross` owed, of which `commission` is the operator's."""

    gross: int
    commission: int

    @property
    def to_fund(self) -> int:
        return self.gross - self.commission


@dataclass(frozen=True, slots=True)
class Redeemed:
    """What points spent at a partner pay it: `gross` value, less `commission` withheld."""

    gross: int
    commission: int

    @property
    def to_partner(self) -> int:
        return self.gross - self.commission


def issued(points: int, *, price: str, fee_rate: str, precision: int) -> Issued:
    gross = minor(points, price, precision)
    return Issued(gross, min(gross, fee(gross, fee_rate)))


def redeemed(points: int, *, value: str, fee_rate: str, precision: int) -> Redeemed:
    gross = minor(points, value, precision)
    return Redeemed(gross, min(gross, fee(gross, fee_rate)))


def spent(amount: int, *, fee_rate: str) -> Redeemed:
    """Wallet money spent at a partner: the operator pays it the amount, less its commission."""
    return Redeemed(amount, min(amount, fee(amount, fee_rate)))


@dataclass(frozen=True, slots=True)
class Exchange:
    """An exchange of a partner's own points: coalition points credited, own points used, kept for next time."""

    points: int
    used: int
    kept: int


def exchange(own_points: int, *, carried: int, rate: int) -> Exchange:
    """Convert `own_points` plus `carried` (the rest of earlier exchanges) at `rate` own points per coalition
    point: whole coalition points only, the rest kept, nothing lost."""
    total = own_points + carried
    points = total // rate
    return Exchange(points, points * rate, total - points * rate)


def decimal_ok(value: str, *, allow_zero: bool = True) -> bool:
    """Whether `value` is a plain non-negative decimal ("1", "0.25"), without exponent or sign."""
    # [0-9], not \d: a rate is written in ASCII digits (\d would take Arabic-Indic ones and keep them as written).
    if not re.fullmatch(rf"[0-9]{{1,12}}(\.[0-9]{{1,{MAX_DECIMALS}}})?", value):
        return False
    return allow_zero or Fraction(value) > 0


# --- periods ----------------------------------------------------------------------------------

_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")
_WEEK = re.compile(r"([0-9]{4})-W([0-9]{2})")
# Periods a program can have run in; outside them dates overflow (year 0, the week after 9999-W52).
_YEARS = range(1970, 9999)


def period_kind(label: str) -> str:
    """"monthly" for "2026-11", "weekly" for "2026-W47"; ValueError otherwise."""
    match = _MONTH.fullmatch(label) or _WEEK.fullmatch(label)
    if match and int(match[1]) not in _YEARS:
        raise ValueError(f"{label} is not a period between {_YEARS.start} and {_YEARS.stop - 1}")
    if _MONTH.fullmatch(label) and 1 <= int(label[5:7]) <= 12:
        return "monthly"
    match = _WEEK.fullmatch(label)
    if match:
        year, week = int(match[1]), int(match[2])
        try:
            date.fromisocalendar(year, week, 1)
        except ValueError:
            raise ValueError(f"{label} is not a week of {year}") from None
        return "weekly"
    raise ValueError(f"{label!r} is not a period: write 2026-11 for a month or 2026-W47 for an ISO week")


def bounds(label: str, *, timezone: str) -> tuple[datetime, datetime]:
    """The period's [start, end) in UTC: local midnights in the operator's time zone."""
    zone = ZoneInfo(timezone)
    if period_kind(label) == "monthly":
        year, month = int(label[:4]), int(label[5:7])
        start = datetime(year, month, 1, tzinfo=zone)
        end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=zone)
    else:
        first = date.fromisocalendar(int(label[:4]), int(label[6:8]), 1)
        start = datetime(first.year, first.month, first.day, tzinfo=zone)
        after = first + timedelta(days=7)
        end = datetime(after.year, after.month, after.day, tzinfo=zone)
    return start.astimezone(ZoneInfo("UTC")), end.astimezone(ZoneInfo("UTC"))


def label_of(at: datetime, *, kind: str, timezone: str) -> str:
    """The label of the period of `kind` that `at` falls in, in the operator's time zone."""
    local = at.astimezone(ZoneInfo(timezone))
    if kind == "monthly":
        return f"{local.year:04d}-{local.month:02d}"
    year, week, _ = local.isocalendar()
    return f"{year:04d}-W{week:02d}"


def previous(label: str) -> str:
    """The period before `label`, of the same kind."""
    if period_kind(label) == "monthly":
        year, month = int(label[:4]), int(label[5:7])
        return f"{year - (month == 1):04d}-{(month - 2) % 12 + 1:02d}"
    monday = date.fromisocalendar(int(label[:4]), int(label[6:8]), 1) - timedelta(days=7)
    year, week, _ = monday.isocalendar()
    return f"{year:04d}-W{week:02d}"
