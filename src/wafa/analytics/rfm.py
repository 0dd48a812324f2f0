"""RFM scoring, no database: recency, frequency and monetary scores from 1 to 5 (quintiles, ties share
a score) and the named segment a member's recency and frequency put them in."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence

# Slugs as rules and rewards name them, with their display names.
SEGMENTS = {
    "champions": "Champions", "loyal": "Loyal", "potential_loyalists": "Potential loyalists", "new": "New",
    "at_risk": "At risk", "cant_lose_them": "Can't lose them", "hibernating": "Hibernating", "lost": "Lost",
}


def quintiles(values: Sequence[float], *, higher_is_better: bool = True) -> list[int]:
    """Each value's score from 1 to 5 by the share of values strictly worse than it (equal values score alike)."""
    n = len(values)
    ordered = sorted(values)
    out = []
    for value in values:
        worse = bisect_left(ordered, value) if higher_is_better else n - bisect_right(ordered, value)
        out.append(1 + min(4, (5 * worse) // n))
    return out


def segment(r: int, f: int) -> str:
    """The named segment of a recency score and a frequency score (1 to 5 each)."""
    if r >= 4:
        return "champions" if f >= 4 else "new" if f == 1 else "potential_loyalists"
    if r == 3:
        return "loyal" if f >= 3 else "potential_loyalists"
    if f == 5:
        return "cant_lose_them"
    if f >= 3:
        return "at_risk"
    return "hibernating" if r == 2 else "lost"
