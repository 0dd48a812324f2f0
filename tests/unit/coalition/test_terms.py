"""The arithmetic of a partner's terms, without a database: what points issued and redeemed cost and pay
(rounded halves up, once), the operator's commission, exchanges of a partner's own points (whole points,
the rest kept), settlement periods in the operator's time zone (across DST changes and year ends), and
the shares returns and expiries move back (ledger/money.py `share`)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wafa.coalition import terms
from wafa.coalition.terms import Exchange, Issued, Redeemed
from wafa.ledger.money import share

# Decimal strings as the API takes them: up to 12 digits before the point and 8 after.
PRICES = st.decimals(min_value=0, max_value=3, places=8).map(lambda d: f"{d:f}")
FEES = st.decimals(min_value=0, max_value=Decimal("0.99999999"), places=8).map(lambda d: f"{d:f}")
POINTS = st.integers(0, 10**9)
PRECISIONS = st.sampled_from([0, 2, 3])
ZONES = st.sampled_from(["UTC", "Asia/Riyadh", "Asia/Kolkata", "America/New_York", "Europe/London", "Australia/Lord_Howe",
                         "Pacific/Chatham", "America/Santiago", "Asia/Tehran", "Pacific/Kiritimati", "Pacific/Pago_Pago"])
MONTHS = st.builds(lambda y, m: f"{y:04d}-{m:02d}", st.integers(1971, 2099), st.integers(1, 12))
WEEKS = st.dates(date(1971, 1, 4), date(2099, 12, 20)).map(lambda d: "{:04d}-W{:02d}".format(*d.isocalendar()[:2]))
LABELS = st.one_of(MONTHS, WEEKS)
INSTANTS = st.datetimes(datetime(1971, 2, 1), datetime(2099, 11, 30)).map(lambda d: d.replace(tzinfo=UTC))


def half_up(value: Decimal) -> int:
    """An independent rounding: Decimal's ROUND_HALF_UP to a whole number."""
    return int(value.to_integral_value(rounding=ROUND_HALF_UP))


# --- money of points ----------------------------------------------------------------------------


@pytest.mark.parametrize(("points", "price", "precision", "minor"), [
    (200, "0.05", 2, 1000),     # the café: 200 points at 0.05 SAR are 10.00 SAR
    (1, "0.005", 2, 1),         # half a halala rounds up
    (1, "0.0049", 2, 0),        # less than half rounds down
    (3, "0.0005", 3, 2),        # 1.5 fils (JOD) rounds up to 2
    (7, "1.25", 0, 9),          # 8.75 yen rounds to 9
    (0, "9.99", 2, 0),
    (10**9, "0.00000001", 2, 1000),
])
def test_minor_is_money_for_points_rounded_half_up_once(points: int, price: str, precision: int, minor: int) -> None:
    assert terms.minor(points, price, precision) == minor


@pytest.mark.parametrize(("amount", "rate", "fee"), [(1000, "0.1", 100), (5, "0.1", 1), (4, "0.1", 0), (15, "0.1", 2), (0, "0.5", 0),
                                                      (999, "0", 0), (1, "0.99999999", 1)])
def test_fee_rounds_the_commission_half_up(amount: int, rate: str, fee: int) -> None:
    assert terms.fee(amount, rate) == fee


def test_issued_and_redeemed_split_the_gross_between_partner_fund_and_commission() -> None:
    # 200 points issued at 0.05 SAR with a 10% fee: the café owes 10.00, 9.00 to the fund, 1.00 commission.
    issued = terms.issued(200, price="0.05", fee_rate="0.1", precision=2)
    assert (issued, issued.to_fund) == (Issued(1000, 100), 900)
    # 150 points redeemed at 0.05 SAR with a 5% fee: worth 7.50, the commission 0.375 rounds to 0.38.
    redeemed = terms.redeemed(150, value="0.05", fee_rate="0.05", precision=2)
    assert (redeemed, redeemed.to_partner) == (Redeemed(750, 38), 712)
    # Wallet money spent at a partner: the amount itself, less the redeem fee.
    spent = terms.spent(1234, fee_rate="0.05")
    assert (spent, spent.to_partner) == (Redeemed(1234, 62), 1172)


@given(points=POINTS, price=PRICES, fee_rate=FEES, precision=PRECISIONS)
def test_issued_rounds_once_and_its_parts_add_up(points: int, price: str, fee_rate: str, precision: int) -> None:
    issued = terms.issued(points, price=price, fee_rate=fee_rate, precision=precision)
    assert issued.gross == half_up(Decimal(points) * Decimal(price) * 10**precision)
    assert 0 <= issued.commission <= issued.gross
    assert issued.commission == min(issued.gross, half_up(Decimal(issued.gross) * Decimal(fee_rate)))
    assert issued.to_fund + issued.commission == issued.gross and issued.to_fund >= 0


@given(points=POINTS, value=PRICES, fee_rate=FEES, precision=PRECISIONS)
def test_redeemed_never_pays_less_than_nothing_and_its_parts_add_up(points: int, value: str, fee_rate: str, precision: int) -> None:
    worth = terms.redeemed(points, value=value, fee_rate=fee_rate, precision=precision)
    assert worth.gross == half_up(Decimal(points) * Decimal(value) * 10**precision)
    assert 0 <= worth.commission <= worth.gross and worth.to_partner + worth.commission == worth.gross


@given(a=POINTS, b=POINTS, price=PRICES, precision=PRECISIONS)
def test_money_of_points_grows_with_points_and_splitting_loses_at_most_a_unit(a: int, b: int, price: str, precision: int) -> None:
    together = terms.minor(a + b, price, precision)
    apart = terms.minor(a, price, precision) + terms.minor(b, price, precision)
    assert terms.minor(a, price, precision) <= together
    assert abs(together - apart) <= 1


@given(amount=st.integers(0, 10**12), fee_rate=FEES)
def test_spent_pays_the_partner_what_is_left_after_commission(amount: int, fee_rate: str) -> None:
    spent = terms.spent(amount, fee_rate=fee_rate)
    assert spent.gross == amount
    assert 0 <= spent.to_partner <= amount and spent.to_partner + spent.commission == amount


# --- exchanges of a partner's own points ------------------------------------------------------------


@pytest.mark.parametrize(("own", "carried", "rate", "made"), [
    (25, 0, 10, Exchange(2, 20, 5)),     # 25 stars at 10 a point: 2 points, 5 stars kept
    (5, 5, 10, Exchange(1, 10, 0)),      # the kept 5 and 5 more make a point
    (9, 0, 10, Exchange(0, 0, 9)),       # short of a point: nothing converted, nothing lost
    (7, 0, 1, Exchange(7, 7, 0)),
    (10**12, 999_999, 1_000_000, Exchange(1_000_000, 10**12, 999_999)),
])
def test_exchange_converts_whole_points_and_keeps_the_rest(own: int, carried: int, rate: int, made: Exchange) -> None:
    assert terms.exchange(own, carried=carried, rate=rate) == made


@given(own=st.integers(1, 10**12), rate=st.integers(1, 1_000_000), data=st.data())
def test_exchange_never_loses_own_points(own: int, rate: int, data: st.DataObject) -> None:
    carried = data.draw(st.integers(0, rate - 1), label="carried")
    made = terms.exchange(own, carried=carried, rate=rate)
    assert made.used + made.kept == own + carried
    assert made.used == made.points * rate and 0 <= made.kept < rate and made.points >= 0


@given(rate=st.integers(1, 1000), brought=st.lists(st.integers(1, 5000), min_size=1, max_size=30))
def test_a_run_of_exchanges_converts_what_one_exchange_of_the_total_would(rate: int, brought: list[int]) -> None:
    carried, points = 0, 0
    for own in brought:
        made = terms.exchange(own, carried=carried, rate=rate)
        carried, points = made.kept, points + made.points
    assert (points, carried) == divmod(sum(brought), rate)


# --- decimals and period labels ----------------------------------------------------------------------


@pytest.mark.parametrize("value", ["0", "1", "0.25", "000.5", "123456789012.12345678"])
def test_decimal_ok_takes_plain_decimals(value: str) -> None:
    assert terms.decimal_ok(value)


@pytest.mark.parametrize("value", ["-1", "+1", "1e3", "1.", ".5", "0.123456789", "1,5", " 1", "1234567890123", "", "NaN"])
def test_decimal_ok_refuses_signs_exponents_and_too_many_digits(value: str) -> None:
    assert not terms.decimal_ok(value)


@pytest.mark.parametrize("value", ["١", "٠.٠٥", "0.٠٥", "१"])
def test_decimal_ok_takes_ascii_digits_only(value: str) -> None:
    # The rates are echoed to partners and stored in entries' details as written: "plain" means ASCII.
    assert not terms.decimal_ok(value)


def test_decimal_ok_can_refuse_zero() -> None:
    assert not terms.decimal_ok("0.000", allow_zero=False)
    assert terms.decimal_ok("0.001", allow_zero=False)


@pytest.mark.parametrize(("label", "kind"), [("2026-11", "monthly"), ("2026-01", "monthly"), ("2026-W47", "weekly"),
                                            ("2026-W53", "weekly"), ("2020-W53", "weekly"), ("2026-W01", "weekly")])
def test_period_kind_reads_months_and_iso_weeks(label: str, kind: str) -> None:
    assert terms.period_kind(label) == kind


@pytest.mark.parametrize("label", ["2026-13", "2026-00", "2025-W53", "2026-W00", "2026-W54", "26-11", "2026-1", "2026-w47", "2026/11", "2026-11-01",
                                   "0000-01", "1969-12", "9999-12", "9999-W52", "٢٠٢٦-١١", "２０２６-11"])
def test_period_kind_refuses_what_is_not_a_month_or_a_week(label: str) -> None:
    with pytest.raises(ValueError, match=r"is not a (period|week)"):
        terms.period_kind(label)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(("label", "zone", "start", "end"), [
    ("2026-11", "Asia/Riyadh", utc(2026, 10, 31, 21), utc(2026, 11, 30, 21)),
    ("2026-12", "Asia/Riyadh", utc(2026, 11, 30, 21), utc(2026, 12, 31, 21)),        # across the year end
    ("2026-12", "UTC", utc(2026, 12, 1), utc(2027, 1, 1)),
    ("2026-03", "America/New_York", utc(2026, 3, 1, 5), utc(2026, 4, 1, 4)),        # DST starts on 8 March
    ("2026-10", "Europe/London", utc(2026, 9, 30, 23), utc(2026, 11, 1)),            # DST ends on 25 October
    ("2026-W53", "UTC", utc(2026, 12, 28), utc(2027, 1, 4)),                         # ISO week 53 runs into 2027
    ("2020-W01", "UTC", utc(2019, 12, 30), utc(2020, 1, 6)),                         # ISO week 1 starts in 2019
    ("2026-W44", "America/New_York", utc(2026, 10, 26, 4), utc(2026, 11, 2, 5)),   # a week of 7 days and an hour
])
def test_bounds_are_local_midnights_in_the_operators_zone(label: str, zone: str, start: datetime, end: datetime) -> None:
    assert terms.bounds(label, timezone=zone) == (start, end)


@pytest.mark.parametrize(("at", "kind", "zone", "label"), [
    (utc(2026, 11, 30, 21), "monthly", "Asia/Riyadh", "2026-12"),   # already December in Riyadh
    (utc(2026, 11, 30, 21), "monthly", "UTC", "2026-11"),
    (utc(2027, 1, 1, 12), "weekly", "UTC", "2026-W53"),
    (utc(2021, 1, 3, 12), "weekly", "UTC", "2020-W53"),
    (utc(2026, 12, 31, 22), "monthly", "Asia/Riyadh", "2027-01"),
    (utc(2027, 1, 1, 2), "monthly", "America/New_York", "2026-12"),
])
def test_label_of_is_the_period_in_the_operators_zone(at: datetime, kind: str, zone: str, label: str) -> None:
    assert terms.label_of(at, kind=kind, timezone=zone) == label


@pytest.mark.parametrize(("label", "before"), [("2026-03", "2026-02"), ("2026-01", "2025-12"), ("2026-12", "2026-11"),
                                               ("2027-W01", "2026-W53"), ("2026-W01", "2025-W52"), ("2021-W01", "2020-W53"),
                                               ("2026-W10", "2026-W09")])
def test_previous_is_the_period_before_of_the_same_kind(label: str, before: str) -> None:
    assert terms.previous(label) == before


@given(label=LABELS, zone=ZONES)
def test_periods_follow_each_other_without_gap_or_overlap(label: str, zone: str) -> None:
    kind = terms.period_kind(label)
    start, end = terms.bounds(label, timezone=zone)
    assert start < end and start.tzinfo is not None
    assert timedelta(days=6) < end - start < timedelta(days=32)
    assert terms.bounds(terms.previous(label), timezone=zone)[1] == start
    tick = timedelta(microseconds=1)
    assert terms.label_of(start, kind=kind, timezone=zone) == label
    assert terms.label_of(end - tick, kind=kind, timezone=zone) == label
    assert terms.label_of(start - tick, kind=kind, timezone=zone) == terms.previous(label)
    assert terms.period_kind(terms.previous(label)) == kind


@given(at=INSTANTS, zone=ZONES, kind=st.sampled_from(terms.PERIODS))
def test_every_instant_is_in_the_period_its_label_names(at: datetime, zone: str, kind: str) -> None:
    label = terms.label_of(at, kind=kind, timezone=zone)
    assert terms.period_kind(label) == kind
    start, end = terms.bounds(label, timezone=zone)
    assert start <= at < end


# --- shares of money that follow points ---------------------------------------------------------------


@given(amount=st.integers(-(10**15), 10**15), whole=st.integers(1, 10**9), data=st.data())
def test_shares_add_up_to_the_whole_for_any_split(amount: int, whole: int, data: st.DataObject) -> None:
    cuts = sorted(data.draw(st.lists(st.integers(0, whole), max_size=12), label="cuts"))
    points = [0, *cuts, whole]
    parts = [share(amount, before, after, whole) for before, after in pairwise(points)]
    assert sum(parts) == amount
    for (before, after), part in zip(pairwise(points), parts, strict=True):
        exact = Fraction(amount * (after - before), whole)
        assert abs(part - exact) < 1  # never a whole unit off what the points carry
        assert part * amount >= 0  # a share has the sign of the amount (or is zero)


@given(amount=st.integers(-(10**12), 10**12), whole=st.integers(1, 10**6), data=st.data())
def test_shares_of_consecutive_returns_equal_one_share_of_their_total(amount: int, whole: int, data: st.DataObject) -> None:
    a = data.draw(st.integers(0, whole), label="a")
    b = data.draw(st.integers(a, whole), label="b")
    c = data.draw(st.integers(b, whole), label="c")
    assert share(amount, a, b, whole) + share(amount, b, c, whole) == share(amount, a, c, whole)
    assert share(amount, 0, whole, whole) == amount and share(amount, a, a, whole) == 0
