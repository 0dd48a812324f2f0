"""Amounts at the edges, beyond test_money.py: exact display strings, metals, every way to be negative or too precise."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wafa.errors import InvalidInput
from wafa.money import precision, to_major, to_minor

CURRENCIES = ["SAR", "JOD", "KWD", "BHD", "JPY", "USD", "AED", "OMR"]


@pytest.mark.parametrize(
    "minor, currency, text",
    [
        (12050, "SAR", "120.50"), (5, "SAR", "0.05"), (0, "SAR", "0.00"),
        (12345, "JOD", "12.345"), (7, "KWD", "0.007"), (0, "BHD", "0.000"), (1000, "BHD", "1.000"),
        (1500, "JPY", "1500"), (0, "JPY", "0"), (12050, "sar", "120.50"),
    ],
)
def test_to_major_writes_exactly_the_currency_s_decimals(minor: int, currency: str, text: str) -> None:
    assert to_major(minor, currency) == text


@pytest.mark.parametrize(
    "amount, currency, minor",
    [
        (Decimal("1.5"), "KWD", 1500), (12, "JOD", 12000), (7, "JPY", 7), ("100.0", "JPY", 100), ("0.000", "JPY", 0),
        ("1.230", "BHD", 1230), ("0.001", "KWD", 1), ("120.50", "sar", 12050),
    ],
)
def test_to_minor_takes_strings_decimals_and_ints(amount, currency: str, minor: int) -> None:  # type: ignore[no-untyped-def]
    assert to_minor(amount, currency) == minor


@pytest.mark.parametrize("code", ["XAU", "XAG", "XPT", "XDR", "XTS", "XXX"])
def test_metals_and_test_codes_are_not_money_in_either_direction(code: str) -> None:
    with pytest.raises(InvalidInput, match="not a spendable currency"):
        to_minor("1", code)
    with pytest.raises(InvalidInput):
        to_major(100, code)


@pytest.mark.parametrize("code", ["QQQ", "SR", "RIYAL", "", "١٢٣"])
def test_unknown_codes_are_refused_naming_the_currency_field(code: str) -> None:
    with pytest.raises(InvalidInput) as failure:
        to_minor("1", code)
    assert failure.value.field == "currency"


@pytest.mark.parametrize("amount", [10.0, 0.0, 120.5, float("nan")])
def test_floats_are_refused_even_when_whole(amount: float) -> None:
    with pytest.raises(InvalidInput, match="not floats"):
        to_minor(amount, "SAR")


@pytest.mark.parametrize("amount", ["-0.01", "-120.50", "-1", Decimal("-0.5"), -5, "-Infinity"])
def test_negative_amounts_are_refused(amount) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput):
        to_minor(amount, "SAR")


@pytest.mark.parametrize("amount, currency", [("0.001", "SAR"), ("1.5", "JPY"), ("0.0001", "KWD"), ("9.9999", "BHD"), ("1.001", "USD")])
def test_too_many_decimals_name_the_currency_and_its_places(amount: str, currency: str) -> None:
    with pytest.raises(InvalidInput) as failure:
        to_minor(amount, currency, field="total")
    assert failure.value.field == "total"
    assert f"{currency} has {precision(currency)} decimal places" in failure.value.detail


@given(
    currency=st.sampled_from(CURRENCIES),
    whole=st.integers(0, 10**9),
    fraction=st.integers(0, 10**4),
    places=st.integers(0, 4),
)
def test_an_amount_is_accepted_exactly_when_it_fits_the_currency(currency: str, whole: int, fraction: int, places: int) -> None:
    digits = precision(currency)
    fraction %= 10**places
    text = f"{whole}.{fraction:0{places}d}" if places else str(whole)
    value = Decimal(text)
    fits = value == value.quantize(Decimal(1).scaleb(-digits))
    if fits:
        assert to_minor(text, currency) == int(value.scaleb(digits))
        assert Decimal(to_major(to_minor(text, currency), currency)) == value
    else:
        with pytest.raises(InvalidInput):
            to_minor(text, currency)


@pytest.mark.parametrize(("amount", "minor"), [("١٢٫٥٠", 1250), ("١٢.٥", 1250), ("۱۲.۵۰", 1250), ("٠", 0), (" 12.50 ", 1250)])
def test_arabic_indic_digits_from_people_and_their_files_read_as_ascii(amount: str, minor: int) -> None:
    # The API's schemas refuse them first (wafa.inputs); a purchase file exported in an Arabic locale has them.
    assert to_minor(amount, "SAR") == minor


@pytest.mark.parametrize("amount", ["1e2", "1E+2", "1_000", "+5", "१२", "１２", "٥²", "\t5", "5\n", "5.", ".5", "1,000", "", True])
def test_every_other_way_of_writing_a_number_is_refused(amount) -> None:  # type: ignore[no-untyped-def]
    # Decimal() takes most of these; an amount is written out in digits, or it is not an amount.
    with pytest.raises(InvalidInput) as failure:
        to_minor(amount, "SAR")
    assert failure.value.field == "amount"
