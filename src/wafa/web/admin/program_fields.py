"""Reading the fields of the program editors (settings, tiers, plans): numbers typed with Latin or
Arabic-Indic digits, multipliers, thresholds in the tier metric's unit, benefit flags chosen with
checkboxes or named anew; every problem is collected field by field so a form says all that is wrong
at once, in words the catalog translates (never a validator's own text)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from wafa.errors import InvalidInput
from wafa.money import precision
from wafa.web.admin.forms import FormError, Problem, text
from wafa.web.benefits import key_for
from wafa.web.messages import N_

# Arabic-Indic and Persian digits, the Arabic decimal and thousands separators, as typed on an Arabic keyboard.
_LATIN = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹٫٬", "01234567890123456789.,")
MAX_FLAGS = 50

REQUIRED = N_("This field is required.")
WHOLE = N_("Enter a whole number.")
AT_LEAST = N_("Enter %(ge)s or more.")
AT_MOST = N_("Enter %(le)s or less.")
TOO_LONG = N_("Enter at most %(max_length)s characters.")
MULTIPLIER = N_("Enter a multiplier between 1 and 10, such as 1.25.")
AMOUNT = N_("Enter an amount such as %(example)s.")
LADDER = N_("Each tier must need more than the tier below it and less than the tier above it.")


class Fields:
    """The problems of one form, by field; `check` raises them all together."""

    def __init__(self) -> None:
        self.found: dict[str, Problem] = {}

    def add(self, name: str, message: str, **params: Any) -> None:
        self.found.setdefault(name, Problem(message, params))

    def check(self) -> None:
        if self.found:
            raise FormError(fields=self.found)


def number(raw: object) -> Decimal | None:
    """A typed number ("1.25", "١٫٢٥", "1,500"), or None when it is not one."""
    typed = str(raw or "").strip().translate(_LATIN).replace(",", "")
    try:
        value = Decimal(typed)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def name(form: Any, fields: Fields, field: str, *, most: int = 200, required: bool = True) -> str:
    value = text(form, field)
    if required and not value:
        fields.add(field, REQUIRED)
    elif len(value) > most:
        fields.add(field, TOO_LONG, max_length=most)
    return value


def count(form: Any, fields: Fields, field: str, *, least: int = 0, most: int = 10**9, empty: int | None = 0) -> int | None:
    """A whole number in [least, most]; `empty` when nothing was typed (None: required)."""
    raw = text(form, field)
    if not raw:
        if empty is None:
            fields.add(field, REQUIRED)
        return empty
    value = number(raw)
    if value is None or value != value.to_integral_value():
        fields.add(field, WHOLE)
        return None
    if value < least:
        fields.add(field, AT_LEAST, ge=least)
    elif value > most:
        fields.add(field, AT_MOST, le=most)
    return int(value)


def multiplier(form: Any, fields: Fields, field: str = "earn_multiplier", *, empty: str | None = None) -> str | None:
    """A points multiplier between 1 and 10 as the domains store it ("1.25")."""
    raw = text(form, field)
    if not raw:
        if empty is None:
            fields.add(field, REQUIRED)
        return empty
    value = number(raw)
    if value is None or not 1 <= value <= 10:
        fields.add(field, MULTIPLIER)
        return None
    return format(value.normalize(), "f")


def amount(form: Any, fields: Fields, field: str, currency: str, *, required: bool = True) -> str | None:
    """Money in major units of `currency` ("29.00"), at most its number of decimals."""
    raw = text(form, field)
    if not raw:
        if required:
            fields.add(field, REQUIRED)
        return None
    digits = precision(currency)
    value = number(raw)
    if value is None or value < 0 or -value.as_tuple().exponent > digits:  # type: ignore[operator]
        fields.add(field, AMOUNT, example=format(Decimal(1500).quantize(Decimal(1).scaleb(-digits)), "f"))
        return None
    return format(value, "f")


def threshold(form: Any, fields: Fields, field: str, *, metric: str, currency: str, required: bool = True) -> str | None:
    """A tier threshold in the metric's unit: money in the base currency, or a whole number of points or orders."""
    if metric == "money_spent":
        return amount(form, fields, field, currency, required=required)
    found = count(form, fields, field, empty=None if required else -1)
    return None if found is None or found < 0 else str(found)


def ladder_problem(exc: InvalidInput, field: str = "threshold") -> FormError | InvalidInput:
    """The tiers domain's refusal of a threshold (the only one the form leaves it: a ladder that does not
    rise with the rank) said for a person; any other refusal as it is."""
    if exc.field == "threshold" or str(exc.field or "").startswith("thresholds"):
        return FormError(fields={field: Problem(LADDER)})
    return exc


@dataclass(frozen=True, slots=True)
class NewBenefit:
    """A benefit the program names itself, typed in a form: its flag and its names."""

    key: str
    en: str
    ar: str


def flags(form: Any, fields: Fields) -> tuple[list[str], NewBenefit | None]:
    """The benefit flags ticked, plus the one named in "benefit_en"/"benefit_ar" if any."""
    values = form.getlist("flags") if hasattr(form, "getlist") else [form.get("flags", "")]
    chosen: list[str] = []
    for value in values:
        key = str(value or "").strip()
        if key and key not in chosen and len(key) <= 64:
            chosen.append(key)
    en, ar = text(form, "benefit_en"), text(form, "benefit_ar")
    new = None
    if en or ar:
        if not en:
            fields.add("benefit_en", N_("Name the benefit in English too."))
        elif not key_for(en):
            fields.add("benefit_en", N_("Use at least one Latin letter or digit in the English name."))
        elif len(en) > 100:
            fields.add("benefit_en", TOO_LONG, max_length=100)
        if not ar:
            fields.add("benefit_ar", N_("Name the benefit in Arabic too."))
        elif len(ar) > 100:
            fields.add("benefit_ar", TOO_LONG, max_length=100)
        if en and ar and key_for(en) and len(en) <= 100 and len(ar) <= 100:
            new = NewBenefit(key_for(en), en, ar)
            if new.key not in chosen:
                chosen.append(new.key)
    if len(chosen) > MAX_FLAGS:
        fields.add("flags", N_("Choose at most %(max_length)s."), max_length=MAX_FLAGS)
    return chosen, new


def opened_with(form: Any, current: Mapping[str, Any]) -> dict[str, Any]:
    """The values an edit form was opened with (its hidden `was-` fields), so a save changes only what the
    person changed, even if someone else saved other fields meanwhile; the current values for a post
    without them."""
    if not text(form, "was"):
        return dict(current)
    opened: dict[str, Any] = {}
    for key, value in current.items():
        if isinstance(value, list):
            opened[key] = [str(v) for v in form.getlist(f"was-{key}")] if hasattr(form, "getlist") else list(value)
        else:
            opened[key] = text(form, f"was-{key}")
    return opened


def same_number(a: object, b: object) -> bool:
    first, second = number(a), number(b)
    return first is not None and first == second


def merged_flags(current: list[str], before: list[str], after: list[str]) -> list[str]:
    """`current` with what the person ticked added and what they unticked removed (against `before`)."""
    removed = [f for f in before if f not in after]
    added = [f for f in after if f not in before]
    return [f for f in current if f not in removed] + [f for f in added if f not in current]
