"""What the API takes: the types every request body is built of (each domain's `schemas.py`), one rule for every
field of its kind, and the reading of digits typed by people."""

from __future__ import annotations

import math
import re
from datetime import date, datetime, time
from typing import Annotated, Any, Final

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field, Strict, ValidationInfo

# The rule. The API is spoken by machines (tills, shops, back offices), so it takes each value in one form only:
# - counts and ids (points, quantities, limits, days, member ids): JSON integers; `true`, `1.0` and `"5"` are
#   refused, never read as 1, 1 and 5. Yes/no fields take JSON `true`/`false` only; the few fractions (shares,
#   weights) finite JSON numbers;
# - decimals (money in major units, rates, multipliers): strings of ASCII digits such as "12.50": no sign unless
#   the field is signed, no exponent, no spaces, no other script's digits ("١٢٫٥٠" is refused);
# - text: no control characters (C0 including NUL, DEL, C1), so what is stored is the same on SQLite and on
#   PostgreSQL (which refuses NUL); free text written on several lines (notes, descriptions, templates,
#   comments) may hold tab, line feed and carriage return;
# - times and dates: ISO 8601 strings, never a number of seconds.
# People are read differently: the console and the member portal (forms typed by hand, often on an Arabic
# keyboard) and imported files read Arabic-Indic and Eastern Arabic-Indic digits as ASCII ones (`latin_digits`);
# a form validates with `TYPED_BY_PEOPLE` as context, which lets the decimal types do the same. The rules are
# patterns and strict types, so the OpenAPI document states them too.

MAX_ID: Final = 2**63 - 1  # ids are 64-bit: a larger one cannot name a row

# --- text -----------------------------------------------------------------------------------------

# Control characters: C0 (U+0000-U+001F, NUL included), DEL (U+007F) and C1 (U+0080-U+009F). A line may
# hold none of them; a text of several lines may hold tab, line feed and carriage return. As patterns,
# pydantic checks them in the API and the OpenAPI document shows them.
LINE_PATTERN: Final = r"^[^\x00-\x1f\x7f-\x9f]*$"
TEXT_PATTERN: Final = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
_LINE_REFUSES = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_TEXT_REFUSES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")

# One line of text: a name, a code, an id, a reason. (A constrained string also refuses lone surrogates,
# which no database stores as UTF-8.)
Line = Annotated[str, Field(pattern=LINE_PATTERN)]
# Free text of several lines: a note, a description, a message template, a survey comment.
Text = Annotated[str, Field(pattern=TEXT_PATTERN)]


def control_character(value: str, *, lines: bool = False) -> str | None:
    """The first control character in `value` as "U+0000" (tab, line feed and carriage return allowed with
    `lines`), or None when there is none."""
    found = (_TEXT_REFUSES if lines else _LINE_REFUSES).search(value)
    return f"U+{ord(found.group()):04X}" if found else None


def _plain_json(value: Any, path: str = "") -> None:
    if isinstance(value, str):
        if found := control_character(value, lines=True):
            raise ValueError(f"text must not hold control characters ({found} in {path or 'a value'})")
    elif isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"numbers must be finite ({path or 'a value'})")
    elif isinstance(value, dict):
        for key, child in value.items():
            if isinstance(key, str) and (found := control_character(key)):
                raise ValueError(f"keys must not hold control characters ({found} in {path + '.' if path else ''}{key!r})")
            _plain_json(child, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            _plain_json(child, f"{path}[{index}]")


def plain_json(value: Any) -> Any:
    """`value` (free-form JSON: custom attributes, a JSON Schema, a provider's settings) if its keys are lines,
    its strings free of control characters but tab, line feed and carriage return, and its numbers finite."""
    _plain_json(value)
    return value


# A free-form JSON object, held to the text rule at every depth.
JsonObject = Annotated[dict[str, Any], AfterValidator(plain_json)]

# --- numbers --------------------------------------------------------------------------------------

# A JSON integer, nothing that converts to one.
Count = Annotated[int, Strict()]
# A row's id in a body (a member, a reward): a JSON integer from 1 to 2**63 - 1.
Id = Annotated[int, Strict(), Field(ge=1, le=MAX_ID)]
# JSON true or false.
Flag = Annotated[bool, Strict()]
# A finite JSON number (an integer or a fraction).
Number = Annotated[float, Strict(), Field(allow_inf_nan=False)]

# Arabic-Indic and Eastern Arabic-Indic (Persian) digits, and the Arabic decimal separator.
_LATIN = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹٫", "01234567890123456789.")

# Validation context of a form typed by a person (the console, the portal): decimals may use Arabic-Indic digits.
TYPED_BY_PEOPLE: Final[dict[str, Any]] = {"typed_by_people": True}


def latin_digits(value: str) -> str:
    """`value` with Arabic-Indic and Eastern Arabic-Indic digits as ASCII ones and the Arabic decimal separator
    (U+066B) as "."; for what people type and files they export, never for the API."""
    return value.translate(_LATIN)


def _as_typed(value: Any, info: ValidationInfo) -> Any:
    if isinstance(value, str) and info.context and info.context.get("typed_by_people"):
        return latin_digits(value.strip())
    return value


# Put after a decimal string's pattern: with TYPED_BY_PEOPLE as context, Arabic-Indic digits are read first.
TypedDigits = BeforeValidator(_as_typed)


def decimal_pattern(whole: int, places: int, *, signed: bool = False) -> str:
    """A decimal string of ASCII digits: up to `whole` digits, then up to `places` after a point."""
    sign = "-?" if signed else ""
    fraction = rf"(\.[0-9]{{1,{places}}})?" if places else ""
    return rf"^{sign}[0-9]{{1,{whole}}}{fraction}$"


# Money in major units of a currency ("120.50"), and the other non-negative decimals kept as strings (multipliers,
# thresholds in a tier metric's unit).
Amount = Annotated[
    str,
    Field(pattern=decimal_pattern(15, 6), description='a decimal string of ASCII digits in major units, e.g. "120.50"', examples=["120.50"]),
    TypedDigits,
]


def _digits_only(value: Any) -> Any:
    # Lax pydantic reads "+12", " 12", "1_2" and "12.0" in a path or a query as 12; an id has one spelling.
    if isinstance(value, str) and not (value.isascii() and value.isdigit() and len(value) <= 19):
        raise ValueError("a whole number written with ASCII digits only")
    return value


# Put after Path()/Query() of an int parameter (a path or query string by nature): ASCII digits only.
DigitsOnly = BeforeValidator(_digits_only)

# --- times --------------------------------------------------------------------------------------------


def _written(value: Any) -> Any:
    # Lax pydantic reads 1700000000 as a moment and 3600 as 01:00; the API takes ISO 8601 only.
    if isinstance(value, bool | int | float):
        raise ValueError("give an ISO 8601 string, not a number")
    return value


# A moment with its UTC offset ("2026-03-01T09:00:00Z").
Moment = Annotated[AwareDatetime, BeforeValidator(_written)]
# A moment, the offset optional (UTC when left out).
Instant = Annotated[datetime, BeforeValidator(_written)]
# A calendar day ("2026-03-01").
Day = Annotated[date, BeforeValidator(_written)]
# A time of day ("21:30").
TimeOfDay = Annotated[time, BeforeValidator(_written)]
