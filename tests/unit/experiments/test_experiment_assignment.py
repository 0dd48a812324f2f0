"""Assignment to an experiment's arms: a hash of tenant, experiment and member, so the same member is in the
same arm on every call and every machine, and the arms and the holdout get the shares asked for."""

from __future__ import annotations

import hashlib
from collections import Counter

import pytest

from wafa.experiments.assignment import BUCKETS, HOLDOUT, arm_for_bucket, arm_of, bucket

ARMS = [{"key": "a", "weight": 1}, {"key": "b", "weight": 2}]


def test_the_bucket_is_the_documented_hash() -> None:
    # Written out independently: any machine computing the hash this way agrees with Wafa.
    digest = hashlib.sha256(b"wafa-experiment:7:spring-double:1234").digest()
    assert bucket(7, "spring-double", 1234) == int.from_bytes(digest[:8], "big") % 10_000


def test_assignment_is_sticky() -> None:
    first = [arm_of(tenant_id=3, key="x", member_id=m, holdout_percent=10, arms=ARMS) for m in range(1, 5001)]
    assert first == [arm_of(tenant_id=3, key="x", member_id=m, holdout_percent=10, arms=ARMS) for m in range(1, 5001)]
    # Another experiment (or tenant) draws again.
    assert first != [arm_of(tenant_id=3, key="y", member_id=m, holdout_percent=10, arms=ARMS) for m in range(1, 5001)]
    assert first != [arm_of(tenant_id=4, key="x", member_id=m, holdout_percent=10, arms=ARMS) for m in range(1, 5001)]


@pytest.mark.parametrize(
    ("holdout", "arms", "expected"),
    [
        (10, ARMS, {HOLDOUT: 0.10, "a": 0.30, "b": 0.60}),
        (0, [{"key": "a", "weight": 1}], {"a": 1.0}),
        (50, [{"key": "a", "weight": 1}, {"key": "b", "weight": 1}, {"key": "c", "weight": 1}], {HOLDOUT: 0.5, "a": 1 / 6, "b": 1 / 6, "c": 1 / 6}),
        (20, [{"key": "a", "weight": 3}, {"key": "b", "weight": 1}], {HOLDOUT: 0.2, "a": 0.6, "b": 0.2}),
    ],
)
def test_shares_match_over_100k_members(holdout: int, arms: list[dict], expected: dict[str, float]) -> None:  # type: ignore[type-arg]
    n = 100_000
    counts = Counter(arm_of(tenant_id=1, key="shares", member_id=m, holdout_percent=holdout, arms=arms) for m in range(1, n + 1))
    assert set(counts) == set(expected)
    for arm, share in expected.items():
        # Four standard deviations of a binomial share at n = 100,000 is at most 0.0064.
        assert abs(counts[arm] / n - share) < 0.0064, (arm, counts[arm] / n)


def test_buckets_split_in_contiguous_ranges() -> None:
    found = [arm_for_bucket(b, holdout_percent=10, arms=ARMS) for b in range(BUCKETS)]
    assert found[:1000] == [HOLDOUT] * 1000
    assert found[1000:4000] == ["a"] * 3000
    assert found[4000:] == ["b"] * 6000


def test_a_larger_holdout_keeps_the_members_held_out_at_a_smaller_one() -> None:
    held_10 = {m for m in range(1, 20_001) if arm_of(tenant_id=1, key="n", member_id=m, holdout_percent=10, arms=ARMS) == HOLDOUT}
    held_30 = {m for m in range(1, 20_001) if arm_of(tenant_id=1, key="n", member_id=m, holdout_percent=30, arms=ARMS) == HOLDOUT}
    assert held_10 < held_30
