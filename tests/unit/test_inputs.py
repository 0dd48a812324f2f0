"""The API's input types (wafa.inputs): text without control characters, counts that are JSON integers,
decimals of ASCII digits, times as ISO 8601; and every request body of the app built from them."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime
from typing import Annotated, Any

import pytest
from fastapi.routing import APIRoute
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.orm import sessionmaker

from wafa import inputs
from wafa.api.app import create_app
from wafa.clock import FrozenClock
from wafa.inputs import TYPED_BY_PEOPLE, Amount, Count, Day, Flag, Id, JsonObject, Line, Moment, Number, Text, latin_digits

LINE, TEXT, COUNT, AMOUNT = TypeAdapter(Line), TypeAdapter(Text), TypeAdapter(Count), TypeAdapter(Amount)
CONTROLS = [chr(c) for c in [*range(0x20), 0x7F, *range(0x80, 0xA0)]]
LINE_BREAKS = ["\t", "\n", "\r"]
# Unicode text without surrogates (no UTF-8 database stores a lone one; a constrained string refuses them).
ANY_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
CLEAN_TEXT = st.text(st.characters(exclude_categories=["Cs", "Cc"]), max_size=40)


def refused(adapter: TypeAdapter[Any], value: Any, **kwargs: Any) -> bool:
    try:
        adapter.validate_python(value, **kwargs)
    except ValidationError:
        return True
    return False


# --- text ---------------------------------------------------------------------------------------------


@given(before=ANY_TEXT, control=st.sampled_from(CONTROLS), after=ANY_TEXT)
def test_a_line_with_any_control_character_is_refused(before: str, control: str, after: str) -> None:
    assert refused(LINE, before + control + after)


@given(value=CLEAN_TEXT)
def test_a_line_without_control_characters_is_accepted_unchanged(value: str) -> None:
    assert LINE.validate_python(value) == value


@given(before=ANY_TEXT, control=st.sampled_from([c for c in CONTROLS if c not in LINE_BREAKS]), after=ANY_TEXT)
def test_a_text_with_a_control_character_other_than_a_line_break_is_refused(before: str, control: str, after: str) -> None:
    assert refused(TEXT, before + control + after)


@given(value=st.text(st.characters(exclude_categories=["Cs", "Cc"], include_characters="\t\n\r"), max_size=60))
def test_a_text_of_several_lines_is_accepted_unchanged(value: str) -> None:
    assert TEXT.validate_python(value) == value


@given(value=ANY_TEXT)
def test_the_types_agree_with_the_control_character_finder(value: str) -> None:
    """The patterns pydantic checks, the JSON walker's finder and Unicode's own category Cc say the same."""
    has_control = any(unicodedata.category(ch) == "Cc" for ch in value)
    assert refused(LINE, value) == has_control == (inputs.control_character(value) is not None)
    has_other = any(unicodedata.category(ch) == "Cc" and ch not in LINE_BREAKS for ch in value)
    assert refused(TEXT, value) == has_other == (inputs.control_character(value, lines=True) is not None)


@pytest.mark.parametrize("value", ["a\ud800", "\udfff", "ok\udc80ok"])
def test_a_lone_surrogate_is_refused_as_text(value: str) -> None:
    # JSON can spell one ("\ud800"); PostgreSQL cannot store it as UTF-8.
    assert refused(LINE, value) and refused(TEXT, value)
    with pytest.raises(ValueError, match="control characters"):
        inputs.plain_json({"t": value})


@given(value=st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | CLEAN_TEXT,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(CLEAN_TEXT, children, max_size=3),
    max_leaves=10,
))
def test_plain_json_without_control_characters_is_accepted_unchanged(value: Any) -> None:
    assert TypeAdapter(JsonObject).validate_python({"v": value}) == {"v": value}


@pytest.mark.parametrize(("value", "found"), [
    ({"note": "a\x00b"}, "U+0000 in note"), ({"a": [{"b": "\x1b[31m"}]}, "U+001B in a[0].b"), ({"k\n": 1}, "U+000A"),
    ({"a": float("inf")}, "finite"), ({"a": [1, float("nan")]}, "finite"),
])
def test_plain_json_names_what_it_refuses(value: dict[str, Any], found: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(found)):
        TypeAdapter(JsonObject).validate_python(value)


def test_plain_json_keeps_line_breaks_in_values() -> None:
    assert inputs.plain_json({"review": "good\r\nvery\tgood"}) == {"review": "good\r\nvery\tgood"}


# --- numbers ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [True, False, 1.0, 2.5, "5", "٥", None, [1]])
def test_a_count_is_a_json_integer_only(value: Any) -> None:
    assert refused(COUNT, value) and refused(TypeAdapter(Id), value)


@given(value=st.integers(-(10**15), 10**15))
def test_a_count_takes_every_integer(value: int) -> None:
    assert COUNT.validate_python(value) == value


@pytest.mark.parametrize(("adapter", "value"), [(TypeAdapter(Flag), 1), (TypeAdapter(Flag), "true"), (TypeAdapter(Flag), "yes"),
                                                (TypeAdapter(Number), True), (TypeAdapter(Number), "0.5"),
                                                (TypeAdapter(Number), float("inf")), (TypeAdapter(Number), float("nan"))])
def test_flags_and_numbers_are_json_s_own(adapter: TypeAdapter[Any], value: Any) -> None:
    assert refused(adapter, value)


@pytest.mark.parametrize("value", ["12.50", "0", "120", "0.5", "999999999999999.999999"])
def test_an_amount_takes_ascii_decimals(value: str) -> None:
    assert AMOUNT.validate_python(value) == value


@pytest.mark.parametrize("value", [
    "١٢٫٥٠", "١٢.٥٠", "۱۲.۵۰", "१२.५०", "１２.５０", "12.٥٠", "²", "1e2", "1E2", "+12", "-12", "1_000", " 12.50", "12.50 ", "12.50\n",
    "12,50", ".5", "5.", "NaN", "Infinity", "", "1" * 16, "1.1234567",
])
def test_an_amount_refuses_every_other_way_of_writing_a_number(value: str) -> None:
    assert refused(AMOUNT, value)


@given(whole=st.integers(0, 10**12), cents=st.integers(0, 99))
def test_people_s_arabic_indic_digits_read_as_the_same_amount(whole: int, cents: int) -> None:
    written = f"{whole}.{cents:02d}"
    arabic = written.translate(str.maketrans("0123456789.", "٠١٢٣٤٥٦٧٨٩٫"))
    persian = written.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    assert refused(AMOUNT, arabic) and refused(AMOUNT, persian)
    assert AMOUNT.validate_python(arabic, context=TYPED_BY_PEOPLE) == written
    assert AMOUNT.validate_python(f" {persian} ", context=TYPED_BY_PEOPLE) == written
    assert latin_digits(arabic) == written


@pytest.mark.parametrize("value", ["१२", "１２", "1e2", "١,٥٠٠"])
def test_people_s_other_scripts_and_separators_are_still_refused(value: str) -> None:
    assert refused(AMOUNT, value, context=TYPED_BY_PEOPLE)


@pytest.mark.parametrize("value", ["+12", " 12", "12 ", "1_2", "12.0", "١٢", "１２", "1" * 20, ""])
def test_a_path_or_query_integer_has_one_spelling(value: str) -> None:
    assert refused(TypeAdapter(Annotated[int, inputs.DigitsOnly]), value)


def test_a_path_or_query_integer_of_ascii_digits_is_read() -> None:
    assert TypeAdapter(Annotated[int, inputs.DigitsOnly]).validate_python("12") == 12


# --- times ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [1700000000, 1.7e9, True, 0])
def test_a_moment_or_a_day_is_never_a_number(value: Any) -> None:
    assert refused(TypeAdapter(Moment), value) and refused(TypeAdapter(Day), value)


def test_a_moment_and_a_day_read_iso_8601() -> None:
    assert TypeAdapter(Moment).validate_python("2026-03-01T09:00:00Z") == datetime(2026, 3, 1, 9, tzinfo=UTC)
    assert TypeAdapter(Day).validate_python("2026-03-01") == date(2026, 3, 1)
    assert refused(TypeAdapter(Moment), "٢٠٢٦-٠٣-٠١T09:00:00Z")


# --- every request body of the app ------------------------------------------------------------------------


def _routes(routes: list[Any]) -> list[APIRoute]:
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):  # a router included in the app
            found.extend(_routes(route.original_router.routes))
    return found


# Request bodies whose free-form parts are read again, strictly, where they are used.
READ_LATER = {"wafa.events.schemas.BatchIn.events": "each event is read as an EventIn (these types) when it is recorded"}
# Validators that hold a plain string to the text rule themselves.
TEXT_GUARDS = {
    "plain_json": "free-form JSON: keys are lines, strings texts (wafa.inputs)",
    "EmailStr._validate": "email-validator refuses every control character",
    "ProgramUpdate._rates": "each earn rate is a decimal of ASCII digits (_check_rate), so that the problem names earn_rates",
}
# Request bodies this change does not own (wafa.inputs is there for them): the erasure's flags and the retention
# period. Each must still be found, so that the entry goes once it is fixed.
KNOWN_GAPS: set[str] = set()


def _walk(schema: dict[str, Any], where: str, found: list[str], definitions: dict[str, Any], seen: set[str],
          guarded_by: tuple[str, ...] = ()) -> None:
    kind = schema["type"]
    if kind == "definitions":
        definitions.update({d["ref"]: d for d in schema["definitions"]})
        _walk(schema["schema"], where, found, definitions, seen, guarded_by)
    elif kind == "definition-ref":
        ref = schema["schema_ref"]
        if ref not in seen:
            seen.add(ref)
            _walk(definitions[ref], where, found, definitions, seen, guarded_by)
    elif kind == "model":
        cls = schema["cls"]
        _walk(schema["schema"], f"{cls.__module__}.{cls.__qualname__}", found, definitions, seen, guarded_by)
    elif kind == "model-fields":
        for name, field in schema["fields"].items():
            if f"{where}.{name}" not in READ_LATER:
                _walk(field["schema"], f"{where}.{name}", found, definitions, seen, guarded_by)
    elif kind in ("function-before", "function-after", "function-wrap"):
        function = schema["function"]["function"]
        name = getattr(function, "__qualname__", getattr(function, "__name__", ""))
        _walk(schema["schema"], where, found, definitions, seen, (*guarded_by, name))
    elif kind in ("nullable", "default"):
        _walk(schema["schema"], where, found, definitions, seen, guarded_by)
    elif kind == "list":
        _walk(schema["items_schema"], f"{where}[]", found, definitions, seen, guarded_by)
    elif kind == "dict":
        _walk(schema["keys_schema"], f"{where}{{key}}", found, definitions, seen, guarded_by)
        _walk(schema["values_schema"], f"{where}{{}}", found, definitions, seen, guarded_by)
    elif kind == "union":
        for choice in schema["choices"]:
            _walk(choice[0] if isinstance(choice, tuple) else choice, where, found, definitions, seen, guarded_by)
    elif kind == "tagged-union":
        for choice in schema["choices"].values():
            _walk(choice, where, found, definitions, seen, guarded_by)
    elif kind == "str":
        pattern = schema.get("pattern")
        if set(guarded_by) & set(TEXT_GUARDS):
            return
        if not pattern or re.fullmatch(pattern, "a\x00b") or re.fullmatch(pattern, "a\x1fb"):
            found.append(f"{where}: text that may hold control characters")
        elif "\\d" in pattern or "\\w" in pattern:  # any script's digits to pydantic's regex engine
            found.append(f"{where}: a pattern that takes any script's digits")
    elif kind in ("int", "bool", "float"):
        if not schema.get("strict"):
            found.append(f"{where}: a lax {kind} (another JSON type would be converted to it)")
        if kind == "float" and schema.get("allow_inf_nan", True):
            found.append(f"{where}: a float that may be infinite")
    elif kind in ("datetime", "date", "time"):
        if "_written" not in guarded_by:
            found.append(f"{where}: a {kind} that may be given as a number")
    elif kind == "any":
        if "plain_json" not in guarded_by:
            found.append(f"{where}: free-form JSON not held to the text rule")
    elif kind not in ("literal", "enum"):
        found.append(f"{where}: an unexpected {kind} schema")


def test_every_request_body_takes_input_strictly() -> None:
    """The same rule on every field of every body the API takes: strict counts, flags and numbers, text with a
    pattern that refuses control characters (the decimals' patterns refuse everything but ASCII digits), times
    as ISO 8601 strings, free-form JSON held to the text rule."""
    app = create_app(factory=sessionmaker(), clock=FrozenClock(datetime(2026, 3, 1, tzinfo=UTC)))
    # The API's routes are the documented ones (the console's and the portal's are not).
    bodies = {route.body_field.field_info.annotation for route in _routes(app.routes) if route.body_field is not None and route.include_in_schema}
    documented = sum("requestBody" in operation for operations in app.openapi()["paths"].values() for operation in operations.values())
    assert len(bodies) > 60 and documented >= len(bodies)
    found: list[str] = []
    for body in bodies:
        _walk(TypeAdapter(body).core_schema, getattr(body, "__name__", "body"), found, {}, set())
    assert sorted(set(found) - KNOWN_GAPS) == [], "\n".join(sorted(set(found) - KNOWN_GAPS))
    assert set(found) >= KNOWN_GAPS, f"fixed since: take them out of KNOWN_GAPS: {sorted(KNOWN_GAPS - set(found))}"
