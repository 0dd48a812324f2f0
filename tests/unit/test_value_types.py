"""Ledger value types are immutable, cursors round-trip, errors carry their problem body."""

import base64
import dataclasses

import pytest

from wafa.api.deps import decode_cursor, encode_cursor
from wafa.errors import InsufficientPoints, InvalidInput
from wafa.ledger.postings import Leg, Posted
from wafa.ledger.service import Credit, Debit


@pytest.mark.parametrize(
    "value, field",
    [(Leg(1, -5, member_account=True), "amount"), (Posted(1, 5, 10), "balance_after"), (Debit(1, 5, 0), "points")],
)
def test_ledger_values_cannot_be_changed(value, field: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(value, field, 99)


def test_credit_is_frozen() -> None:
    assert Credit.__dataclass_params__.frozen  # type: ignore[attr-defined]


@pytest.mark.parametrize("value", [1, 42, 2**63 - 1])
def test_cursor_round_trip(value: int) -> None:
    assert decode_cursor(encode_cursor(value)) == value


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor", ["", "garbage", _b64('{"id": "x"}'), _b64('{"id": 18446744073709551616}'), _b64('{"id": 0}'), _b64('{"id": -5}')]
)
def test_cursor_garbage_is_invalid_input(cursor: str) -> None:
    with pytest.raises(InvalidInput):
        decode_cursor(cursor)


def test_problem_body_names_the_field() -> None:
    body = InsufficientPoints("500 points requested, 20 available", field="points", available=20).problem()
    assert body == {
        "type": "/problems/insufficient-points", "title": "Insufficient points", "status": 422,
        "detail": "500 points requested, 20 available",
        "errors": [{"field": "points", "reason": "500 points requested, 20 available"}], "available": 20,
    }
