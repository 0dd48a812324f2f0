"""Page cursors: opaque, URL-safe, and anything a client makes up is InvalidInput, never a 500.

(Round trips of a few ids and the common garbage cases are in test_value_types.py.)
"""

import base64
import re
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wafa.api.deps import MAX_ID, decode_cursor, encode_cursor, paginate
from wafa.errors import InvalidInput


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@given(st.integers(1, MAX_ID))
def test_every_id_round_trips_through_a_url_safe_cursor(value: int) -> None:
    cursor = encode_cursor(value)
    assert re.fullmatch(r"[A-Za-z0-9_-]+", cursor)  # no padding, nothing a query string must escape
    assert decode_cursor(cursor) == value


def test_no_cursor_means_the_first_page() -> None:
    assert decode_cursor(None) is None


@pytest.mark.parametrize(
    "cursor",
    [
        _b64('{"id": true}'),  # JSON true is a Python int; it once reached SQL as a boolean (a 500)
        _b64('{"id": false}'),
        _b64('{"id": 1.0}'),
        _b64('{"id": "1"}'),
        _b64('{"id": null}'),
        _b64('{"id": [1]}'),
        _b64('{"x": 1}'),
        _b64("[1]"),
        _b64("1"),
        _b64("not json"),
        _b64(f'{{"id": {MAX_ID + 1}}}'),
        " " + encode_cursor(5),
        "!!!",
        "é",
    ],
)
def test_made_up_cursors_are_invalid_input_naming_the_field(cursor: str) -> None:
    with pytest.raises(InvalidInput) as failure:
        decode_cursor(cursor)
    assert failure.value.field == "cursor"


@given(st.text(max_size=60))
def test_any_text_is_either_a_valid_id_or_invalid_input(cursor: str) -> None:
    try:
        value = decode_cursor(cursor)
    except InvalidInput:
        return
    assert type(value) is int and 0 < value <= MAX_ID


@dataclass
class _Row:
    id: int


@pytest.mark.parametrize("fetched, limit, ids, next_id", [
    (0, 3, [], None),
    (2, 3, [1, 2], None),
    (3, 3, [1, 2, 3], None),  # exactly a page: no next page
    (4, 3, [1, 2, 3], 3),  # the extra row only says a next page exists; it is not shown
])
def test_paginate_shows_limit_items_and_points_after_the_last(fetched: int, limit: int, ids: list[int], next_id: int | None) -> None:
    items, cursor = paginate([_Row(i) for i in range(1, fetched + 1)], limit, lambda row: row)
    assert [item.id for item in items] == ids
    assert (decode_cursor(cursor) if cursor else None) == next_id
