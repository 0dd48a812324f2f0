"""Coupon codes: long enough to be unguessable, drawn only from characters nobody misreads, never
repeating, and found again however a person types them back."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wafa.rewards import codes

AMBIGUOUS = set("0O1IL") | {"U"}


def test_the_alphabet_has_no_characters_people_confuse() -> None:
    assert not AMBIGUOUS & set(codes.ALPHABET)
    assert len(set(codes.ALPHABET)) == len(codes.ALPHABET) == 30
    assert codes.ALPHABET.upper() == codes.ALPHABET


def test_a_default_code_is_at_least_ten_characters() -> None:
    code = codes.generate()
    assert len(code) == codes.DEFAULT_LENGTH >= codes.MIN_LENGTH >= 10


@pytest.mark.parametrize("length", [10, 12, 16, 32])
def test_a_code_has_the_length_asked_for(length: int) -> None:
    assert len(codes.generate(length)) == length


@pytest.mark.parametrize("length", [0, 1, 9])
def test_a_code_shorter_than_ten_is_refused(length: int) -> None:
    with pytest.raises(ValueError):
        codes.generate(length)


def test_a_prefix_comes_before_the_random_characters() -> None:
    code = codes.generate(10, prefix="RAMADAN")
    assert code.startswith("RAMADAN") and len(code) == 17
    assert set(code[7:]) <= set(codes.ALPHABET)


def test_codes_use_only_the_unambiguous_alphabet() -> None:
    drawn = "".join(codes.generate() for _ in range(2_000))
    assert set(drawn) <= set(codes.ALPHABET)
    # 24,000 draws from 30 characters: every character turns up (a biased generator would not).
    assert set(drawn) == set(codes.ALPHABET)


def test_no_two_codes_are_equal_in_a_hundred_thousand_draws() -> None:
    drawn = [codes.generate() for _ in range(100_000)]
    assert len(set(drawn)) == len(drawn)


def test_normalise_undoes_grouping() -> None:
    assert codes.grouped("ABCDEFGHJK23") == "ABCD-EFGH-JK23"
    assert codes.normalise("ABCD-EFGH-JK23") == "ABCDEFGHJK23"


def test_normalise_undoes_lower_case_and_spaces() -> None:
    assert codes.normalise("abcd-efgh-jk23") == "ABCDEFGHJK23"
    assert codes.normalise(" abcd efgh\tjk23 ") == "ABCDEFGHJK23"
    assert codes.normalise("abcd_efgh_jk23") == "ABCDEFGHJK23"


@given(length=st.integers(10, 32), size=st.integers(1, 8), prefix=st.text(alphabet="ABCXYZ0123", max_size=8))
def test_normalise_undoes_grouped_and_lower_case_for_any_code(length: int, size: int, prefix: str) -> None:
    code = codes.generate(length, prefix)
    assert codes.normalise(codes.grouped(code, size)) == code
    assert codes.normalise(codes.grouped(code, size).lower()) == code
    assert codes.normalise(code) == code
