"""Which arm of an experiment a member is in: a hash of tenant, experiment and member, so the answer is
sticky (the same on every call, every process and every machine) and nothing is stored per member.

The hash gives a bucket in [0, 10000); the first `holdout_percent * 100` buckets are the holdout and the
rest are shared among the arms by weight (each arm a contiguous range, the last taking what rounding leaves).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

BUCKETS = 10_000
HOLDOUT = "holdout"


def bucket(tenant_id: int, key: str, member_id: int) -> int:
    """The member's bucket in [0, 10000) for this experiment."""
    digest = hashlib.sha256(f"wafa-experiment:{tenant_id}:{key}:{member_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def arm_for_bucket(spot: int, *, holdout_percent: int, arms: Sequence[dict[str, Any]]) -> str:
    """The arm (or "holdout") a bucket falls in."""
    held = holdout_percent * 100
    if spot < held:
        return HOLDOUT
    total = sum(int(arm["weight"]) for arm in arms)
    room = BUCKETS - held
    position = spot - held
    edge = 0
    for arm in arms[:-1]:
        edge += room * int(arm["weight"]) // total
        if position < edge:
            return str(arm["key"])
    return str(arms[-1]["key"])


def arm_of(*, tenant_id: int, key: str, member_id: int, holdout_percent: int, arms: Sequence[dict[str, Any]]) -> str:
    """The arm (or "holdout") of a member in an experiment."""
    return arm_for_bucket(bucket(tenant_id, key, member_id), holdout_percent=holdout_percent, arms=arms)
