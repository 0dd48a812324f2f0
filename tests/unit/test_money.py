"""Amounts at the edges: decimal strings in, integers in minor units (ISO 4217) out."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wafa.errors import InvalidInput
from wafa.money import precision, to_major, to_minor


@pytest.mark.parametrize("code, digits", [("SAR", 2), ("sar", 2), ("JOD", 3), ("KWD", 3), ("BHD", 3), ("JPY", 0), ("USD", 2)])
def test_precision_follows_iso_4217(code: str, digits: int) -> None:
    assert precision(code) == digits


@pytest.mark.parametrize("code", ["XYZ", "SA", "SARR", "", "XAU", "XXX"])
def test_precision_refuses_codes_that_are_not_spendable_money(code: str) -> None:
    with pytest.raises(InvalidInput):
        precision(code)


@pytest.mark.parametrize(
    "amount, currency, minor",
    [("120.50", "SAR", 12050), ("120.5", "SAR", 12050), ("0", "SAR", 0), ("12.345", "JOD", 12345), ("7", "KWD", 7000),
     ("1500", "JPY", 1500), (" 3.10 ", "SAR", 310), ("120.500", "SAR", 12050)],
)
def test_to_minor_parses_major_units(amount: str, currency: str, minor: int) -> None:
    assert to_minor(amount, currency) == minor


@pytest.mark.parametrize(
    "amount, currency",
    [("120.505", "SAR"), ("1.0001", "JOD"), ("1.5", "JPY"), ("-1", "SAR"), ("abc", "SAR"), ("NaN", "SAR"), ("Infinity", "SAR"),
     (10.5, "SAR"), ("1" + "0" * 16, "SAR")],
)
def test_to_minor_refuses_bad_amounts(amount, currency: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput) as failure:
        to_minor(amount, currency)
    assert failure.value.field == "amount"


def test_to_minor_zero_can_be_refused() -> None:
    with pytest.raises(InvalidInput):
        to_minor("0.00", "SAR", allow_zero=False)


@given(minor=st.integers(0, 10**14), currency=st.sampled_from(["SAR", "JOD", "JPY", "USD", "KWD"]))
def test_to_major_and_back_is_exact(minor: int, currency: str) -> None:
    text = to_major(minor, currency)
    assert to_minor(text, currency) == minor
    assert Decimal(text).as_tuple().exponent == -precision(currency)
