"""Statistics several features share: Welch's comparison of two groups' means (a campaign's lift, an
experiment's arms against its holdout)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from scipy import stats


def welch(a: Sequence[float], b: Sequence[float], *, confidence: float = 0.95) -> tuple[float, float | None, float | None, float | None]:
    """Difference of means of a and b with Welch's interval and two-sided p-value."""
    n1, n2 = len(a), len(b)
    m1 = sum(a) / n1 if n1 else 0.0
    m2 = sum(b) / n2 if n2 else 0.0
    if n1 < 2 or n2 < 2:
        return m1 - m2, None, None, None
    v1 = sum((x - m1) ** 2 for x in a) / (n1 - 1)
    v2 = sum((x - m2) ** 2 for x in b) / (n2 - 1)
    se2 = v1 / n1 + v2 / n2
    diff = m1 - m2
    if se2 == 0:
        return diff, diff, diff, (1.0 if diff == 0 else 0.0)
    se = math.sqrt(se2)
    dof = se2 ** 2 / ((v1 / n1) ** 2 / (n1 - 1) + (v2 / n2) ** 2 / (n2 - 1))
    q = float(stats.t.ppf(0.5 + confidence / 2, dof))
    p = float(2 * stats.t.sf(abs(diff) / se, dof))
    return diff, diff - q * se, diff + q * se, p
