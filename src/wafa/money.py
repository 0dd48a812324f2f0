"""Amounts at the edges: decimal strings in major units <-> integers in minor units (ISO 4217)."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

import iso4217

from wafa.errors import InvalidInput
from wafa.inputs import latin_digits


def precision(currency: str, *, field: str = "currency") -> int:
    """Return the ISO 4217 number of decimals of a currency code, or raise InvalidInput."""
    code = currency.upper() if isinstance(currency, str) else ""
    if len(code) != 3:
        raise InvalidInput(f"{currency!r} is not an ISO 4217 currency code", field=field)
    try:
        exponent = iso4217.Currency(code).exponent
    except ValueError:
        raise InvalidInput(f"unknown currency {currency!r}", field=field) from None
    if exponent is None:  # gold, SDRs, test codes: not money a till takes
        raise InvalidInput(f"{code} is not a spendable currency", field=field)
    return exponent


# A decimal written out: digits, then a point and digits. Not an exponent, a sign, "_" or any other script's digits,
# all of which Decimal() would take.
_WRITTEN = re.compile(r"[0-9]+(\.[0-9]+)?")


def to_minor(amount: str | int | Decimal, currency: str, *, field: str = "amount", allow_zero: bool = True) -> int:
    """Parse a non-negative amount in major units ("120.50") into minor units (12050).

    A string is ASCII digits with an optional decimal point, spaces around it ignored. Arabic-Indic and Eastern
    Arabic-Indic digits and the Arabic decimal separator are read as ASCII ones: the API's schemas refuse them
    before this (wafa.inputs), so they come only from what people type and the files they export (purchase
    imports, often from spreadsheets in an Arabic locale)."""
    digits = precision(currency)
    if isinstance(amount, float):
        raise InvalidInput("amounts are decimal strings, not floats", field=field)
    if isinstance(amount, bool):
        raise InvalidInput("amounts are decimal strings, not true or false", field=field)
    if isinstance(amount, str):
        written = latin_digits(amount.strip(" "))
        if written.startswith("-") and _WRITTEN.fullmatch(written[1:]):
            raise InvalidInput("amount must not be negative", field=field)
        if not _WRITTEN.fullmatch(written):
            raise InvalidInput(f"{amount!r} is not a decimal amount", field=field)
        amount = written
    try:
        value = Decimal(amount)
    except InvalidOperation:
        raise InvalidInput(f"{amount!r} is not a decimal amount", field=field) from None
    if not value.is_finite():
        raise InvalidInput(f"{amount!r} is not a finite amount", field=field)
    if value < 0:
        raise InvalidInput("amount must not be negative", field=field)
    if value == 0 and not allow_zero:
        raise InvalidInput("amount must be greater than zero", field=field)
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > digits:
        raise InvalidInput(f"{currency.upper()} has {digits} decimal places; got {amount}", field=field)
    minor = value.scaleb(digits)
    if minor > 10**15:
        raise InvalidInput("amount is too large", field=field)
    return int(minor)


def to_major(minor: int, currency: str) -> str:
    """Format minor units as a decimal string in major units (12050 SAR -> "120.50")."""
    digits = precision(currency)
    return str(Decimal(minor).scaleb(-digits).quantize(Decimal(1).scaleb(-digits)))
