"""Turning HTML form fields into the domains' input shapes, and their validation errors into sentences
in the page's language, each next to the field it is about, with what was typed kept.

How a console form uses this: the page function takes `problems: Problems | None`; the template shows
`{% include "admin/_notes.html" %}` at the top and, per field, the macros of `admin/_form.html`
(`val(problems, "name", current)` keeps what was typed, `err(problems, "name")` says what is wrong,
`invalid(problems, "name")` marks the input for screen readers); `apply_change` does the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from wafa.api.deps import MAX_ID, Context
from wafa.errors import WafaError
from wafa.inputs import TYPED_BY_PEOPLE, latin_digits
from wafa.web.messages import N_
from wafa.web.pages import check_csrf, redirect

if TYPE_CHECKING:
    from wafa.web.admin.auth import Admin


def text(form: Any, name: str) -> str:
    return str(form.get(name, "") or "").strip()


def optional(form: Any, name: str) -> str | None:
    return text(form, name) or None


def names(form: Any, name: str) -> list[str] | None:
    """A comma-separated list ("a, b, c") as a list, or None when empty. Several fields of the same
    name (a multiple select, checkboxes) are joined."""
    values = form.getlist(name) if hasattr(form, "getlist") else [form.get(name, "")]
    raw = ",".join(str(v or "") for v in values)
    found = [part.strip() for part in raw.replace("،", ",").split(",") if part.strip()]
    return found or None


def integer(form: Any, name: str) -> int | None:
    raw = latin_digits(text(form, name))
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise FormError(fields={name: Problem(N_("Enter a whole number."))}) from None


def whole(raw: str, *, most: int = MAX_ID) -> int | None:
    """`raw` as a whole number from 0 to `most` (Latin or Arabic-Indic digits), or None for anything else.
    Never `raw.isdigit()` then int(): "²" is a digit to isdigit() and a ValueError to int(), and a forged
    id or filter must be a 4xx page, not a 500."""
    digits = latin_digits(raw.strip())
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 19:
        return None
    value = int(digits)
    return value if value <= most else None


def checked(form: Any, name: str) -> bool:
    return text(form, name) in ("on", "true", "1", "yes")


def local_datetime(form: Any, name: str, timezone: str, *, end_of_day: bool = False) -> datetime | None:
    """The moment chosen by a date picker (`name-date`, and `name-time` when the form has one) read in
    the program's time zone, as an aware datetime; None when the date is empty. Without a time the
    day starts at 00:00 (or, with `end_of_day`, ends at the next midnight)."""
    day_raw = latin_digits(text(form, f"{name}-date"))
    time_raw = latin_digits(text(form, f"{name}-time"))
    if not day_raw:
        if time_raw:
            raise FormError(fields={name: Problem(N_("Choose a date for this time."))})
        return None
    try:
        day = date.fromisoformat(day_raw)
        at = time.fromisoformat(time_raw) if time_raw else time(0, 0)
    except ValueError:
        raise FormError(fields={name: Problem(N_("Choose a date from the calendar."))}) from None
    if not 1970 <= day.year <= 2999:
        raise FormError(fields={name: Problem(N_("Choose a date between 1970 and 2999."))})
    moment = datetime.combine(day, at, tzinfo=ZoneInfo(timezone))
    if end_of_day and not time_raw:
        moment = datetime.combine(day, time(0, 0), tzinfo=ZoneInfo(timezone)) + _ONE_DAY
    return moment


_ONE_DAY = timedelta(days=1)


# --- problems --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One thing to fix: a catalog message (translated when the page renders) and its placeholders."""

    message: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message % dict(self.params) if self.params else self.message


@dataclass
class Problems:
    """What stopped a form: problems of the whole form, problems by field name, and what was typed."""

    general: list[Problem] = field(default_factory=list)
    fields: dict[str, Problem] = field(default_factory=dict)
    entered: dict[str, Any] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.general or self.fields)

    def __iter__(self):
        """Every problem, general ones first (for a page that lists them all)."""
        yield from self.general
        yield from self.fields.values()

    def of(self, name: str) -> Problem | None:
        return self.fields.get(name)

    def value(self, name: str, default: Any = "") -> Any:
        """What was typed in `name` (a list for a multiple select or checkboxes), else `default`."""
        return self.entered.get(name, default)


class FormError(Exception):
    """A form that cannot become a valid input; says what to fix, field by field where it can.

    `problems` are messages about the whole form (plain strings are catalog messages too)."""

    def __init__(self, problems: Iterable[str | Problem] = (), *, fields: Mapping[str, Problem | str] | None = None) -> None:
        self.general = [p if isinstance(p, Problem) else Problem(p) for p in problems]
        self.fields = {k: v if isinstance(v, Problem) else Problem(v) for k, v in (fields or {}).items()}
        super().__init__("; ".join([p.message for p in self.general] + [f"{k}: {v.message}" for k, v in self.fields.items()]))

    @property
    def problems(self) -> list[str]:
        """The problems as plain text (English), for logs and tests."""
        return [p.message for p in self.general] + [f"{k}: {v.message}" for k, v in self.fields.items()]


# Pydantic's error types, said for a person. Anything not listed gets the generic sentence.
_MESSAGES = {
    "missing": N_("This field is required."),
    "int_parsing": N_("Enter a whole number."),
    "int_type": N_("Enter a whole number."),
    "int_from_float": N_("Enter a whole number."),
    "bool_type": N_("Choose yes or no."),
    "float_type": N_("Enter a number, such as 12.50."),
    "decimal_parsing": N_("Enter a number, such as 12.50."),
    "decimal_type": N_("Enter a number, such as 12.50."),
    "float_parsing": N_("Enter a number, such as 12.50."),
    "decimal_max_places": N_("Enter at most %(decimal_places)s digits after the decimal point."),
    "greater_than_equal": N_("Enter %(ge)s or more."),
    "greater_than": N_("Enter more than %(gt)s."),
    "less_than_equal": N_("Enter %(le)s or less."),
    "less_than": N_("Enter less than %(lt)s."),
    "string_too_long": N_("Enter at most %(max_length)s characters."),
    "too_long": N_("Choose at most %(max_length)s."),
    "too_short": N_("Choose at least %(min_length)s."),
    "literal_error": N_("Choose one of the options."),
    "enum": N_("Choose one of the options."),
    "datetime_parsing": N_("Choose a date from the calendar."),
    "datetime_from_date_parsing": N_("Choose a date from the calendar."),
    "date_parsing": N_("Choose a date from the calendar."),
    "datetime_type": N_("Choose a date from the calendar."),
    "timezone_aware": N_("Choose a date from the calendar."),
    "bool_parsing": N_("Choose yes or no."),
    "json_invalid": N_("This is not valid JSON."),
    "dict_type": N_("This is not valid JSON."),
    "url_parsing": N_("Enter a web address starting with https://."),
    "value_error": N_("This value is not valid."),
}
_KEY_PATTERN = N_("Use small Latin letters, digits, “-” and “_”, starting with a letter or digit.")


def problem_of(error: Mapping[str, Any]) -> Problem:
    """One pydantic error as a Problem a person can act on."""
    kind = str(error.get("type", ""))
    ctx = {k: v for k, v in (error.get("ctx") or {}).items() if isinstance(v, int | float | str)}
    if kind == "string_too_short":
        return Problem(N_("This field is required.")) if ctx.get("min_length") == 1 else Problem(N_("Enter at least %(min_length)s characters."), ctx)
    if kind == "string_pattern_mismatch":
        return Problem(_KEY_PATTERN if "a-z0-9" in str(ctx.get("pattern", "")) else N_("This value is not in the expected form."))
    if kind == "value_error":
        # A domain validator's own sentence (English): the catalog translates the ones it knows.
        message = str(error.get("msg", "")).removeprefix("Value error, ")
        return Problem(message or _MESSAGES["value_error"])
    message = _MESSAGES.get(kind, N_("This value is not valid."))
    return Problem(message, {k: ctx[k] for k in ctx if f"%({k})s" in message})


def problems_of(exc: ValidationError, fields: Mapping[str, str] | Callable[[tuple], str | None] | None = None) -> FormError:
    """A ValidationError as a FormError: each error placed on the form field its location names.

    `fields` maps a location ("benefits.earn_multiplier") to a form field name, or is a function of the
    location tuple; by default the location's last name is the field's name."""
    placed: dict[str, Problem] = {}
    general: list[Problem] = []
    for error in exc.errors():
        loc = tuple(p for p in error.get("loc", ()) if not str(p).startswith("function-"))
        if callable(fields):
            name = fields(loc)
        elif fields is not None:
            name = fields.get(".".join(str(p) for p in loc))
        else:
            name = next((str(p) for p in reversed(loc) if isinstance(p, str)), None)
        if name:
            placed.setdefault(name, problem_of(error))
        else:
            general.append(problem_of(error))
    return FormError(general, fields=placed)


def prune(value: Any) -> Any:
    """Drop empty fields from nested dicts (an untouched form field means "not set")."""
    if isinstance(value, dict):
        return {k: prune(v) for k, v in value.items() if v not in (None, "", [], {})}
    return value


def valid(model: type[BaseModel], data: dict, fields: Mapping[str, str] | Callable[[tuple], str | None] | None = None) -> Any:
    """`data` as the domain's input shape, or FormError naming what to fix, field by field.

    The shapes are the API's, read as typed by a person (wafa.inputs.TYPED_BY_PEOPLE): a decimal may be written
    with Arabic-Indic digits. Whole numbers come here as ints already (`integer`, `whole`), and text is held to
    the API's rule (no control characters)."""
    try:
        return model.model_validate(data, context=TYPED_BY_PEOPLE)
    except ValidationError as exc:
        raise problems_of(exc, fields) from None


def entered(form: Any) -> dict[str, Any]:
    """What a form sent, to show it again: one value per name, a list where a name came several times."""
    kept: dict[str, Any] = {}
    for name in {k for k in form if k != "csrf"}:
        values = form.getlist(name) if hasattr(form, "getlist") else [form.get(name)]
        values = [v for v in values if isinstance(v, str)]
        kept[name] = values if len(values) > 1 else (values[0] if values else "")
    return kept


def problems_for(exc: FormError | WafaError, form: Any) -> Problems:
    """The Problems a page shows again after `exc`, with what the person typed."""
    if isinstance(exc, FormError):
        return Problems(general=list(exc.general), fields=dict(exc.fields), entered=entered(form))
    field = getattr(exc, "field", None)
    if field:
        return Problems(fields={field: Problem(exc.detail)}, entered=entered(form))
    return Problems(general=[Problem(exc.detail)], entered=entered(form))


READ_ONLY = N_("Your role lets you read the console, not change it.")


async def apply_change(
    request: Request, admin: Admin, work: Callable[[Any, Any, Context], str], page: Callable[[Problems], Response],
) -> Response:
    """Run a form's change in one transaction (`work` audits it and returns where to go next); on bad
    input, or for a read-only role, show the page again with what to fix and what was typed."""
    form = await request.form()
    check_csrf(request, str(form.get("csrf", "")), admin.csrf)

    def run() -> Response:
        ctx = Context(request)
        try:
            if not admin.can_change:
                raise FormError([READ_ONLY])
            with ctx.transaction() as session:
                target = work(session, form, ctx)
            return redirect(target)
        except ValidationError as exc:
            # A shape built from the form outside `valid` (a name typed with a control character): the page says
            # what to fix, beside the field when the form has one of that name, instead of a 500.
            def field_of(loc: tuple) -> str | None:
                return next((str(p) for p in reversed(loc) if isinstance(p, str) and p in form), None)

            return page(problems_for(problems_of(exc, field_of), form))
        except (FormError, WafaError) as exc:
            return page(problems_for(exc, form))

    return await run_in_threadpool(run)
