"""A/B/C ranking of business customers: a weighted score over purchase volume, growth, profitability (when
margins are given), payment speed (when payment dates are given) and tenure. Each factor is turned into
a percentile among the members who have it (0 to 1, ties share one); a member's score is the weighted
mean of the factors they have; A is the top `a_share` of members by score, B the next `b_share`, C the rest.

- volume: money kept in the last `months` months (base currency);
- growth: that, against the `months` months before (members new in the window count as growing most);
- margin: margins over revenue, over the same window (imported invoices);
- payment speed: the average days from purchase to payment (faster is better);
- tenure: days since the member's first purchase.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from wafa.analytics import segment_changes
from wafa.analytics.models import AbcPolicy, AbcScore
from wafa.db import bulk_insert, insert_unless_exists
from wafa.errors import InvalidInput
from wafa.events import purchase_history
from wafa.programs import service as programs
from wafa.tiers.qualification import add_months

FACTORS = ("volume", "growth", "margin", "payment_speed", "tenure")
DEFAULT_WEIGHTS = {"volume": 0.4, "growth": 0.2, "margin": 0.2, "payment_speed": 0.1, "tenure": 0.1}


def policy(session: Session, *, tenant_id: int) -> AbcPolicy:
    """The program's A/B/C policy (the defaults until one is set)."""
    found = session.get(AbcPolicy, tenant_id)
    if found is not None:
        return found
    return AbcPolicy(tenant_id=tenant_id, weights=dict(DEFAULT_WEIGHTS), a_share=0.2, b_share=0.3, months=12, updated_at=None)


def set_policy(
    session: Session, *, tenant_id: int, weights: dict[str, float], a_share: float, b_share: float, months: int, now: datetime,
) -> AbcPolicy:
    """Set the weights (any non-negative numbers; they are normalised) and the shares of A and B."""
    unknown = set(weights) - set(FACTORS)
    if unknown:
        raise InvalidInput(f"unknown factor {min(unknown)!r}; the factors are {', '.join(FACTORS)}", field="weights")
    if not any(w > 0 for w in weights.values()):
        raise InvalidInput("at least one weight must be above 0", field="weights")
    if a_share + b_share > 1:
        raise InvalidInput("a_share and b_share add up to more than 1", field="b_share")
    values = {"weights": {f: float(weights.get(f, 0)) for f in FACTORS}, "a_share": a_share, "b_share": b_share, "months": months, "updated_at": now}
    insert_unless_exists(session, AbcPolicy, dict(tenant_id=tenant_id, **values), conflict=["tenant_id"])
    found = session.get_one(AbcPolicy, tenant_id)
    for name, value in values.items():
        setattr(found, name, value)
    session.flush()
    return found


def percentiles(values: dict[int, float], *, higher_is_better: bool = True) -> dict[int, float]:
    """Each key's value as the share of the others strictly worse than it, 0 to 1 (ties share one)."""
    n = len(values)
    if n == 0:
        return {}
    if n == 1:
        return dict.fromkeys(values, 1.0)
    ordered = sorted(values.values())
    out = {}
    for key, value in values.items():
        worse = bisect_left(ordered, value) if higher_is_better else n - bisect_right(ordered, value)
        out[key] = worse / (n - 1)
    return out


def recompute(session: Session, *, tenant_id: int, now: datetime) -> int:
    """Score and class every member with a purchase; replace the program's scores; return how many."""
    from wafa.analytics import segments

    segments.lock_run(session, tenant_id=tenant_id)  # one computation of the program's segments at a time
    program = programs.get(session, tenant_id=tenant_id)
    rules = policy(session, tenant_id=tenant_id)
    window_start = add_months(now, -rules.months, program.timezone)
    before_start = add_months(now, -2 * rules.months, program.timezone)
    first: dict[int, datetime] = {}
    volume: dict[int, float] = defaultdict(float)
    earlier: dict[int, float] = defaultdict(float)
    margin: dict[int, float] = defaultdict(float)
    margin_revenue: dict[int, float] = defaultdict(float)
    pay_days: dict[int, list[float]] = defaultdict(list)
    for member_id, at, currency, kept, attributes in purchase_history.business_rows(session, tenant_id=tenant_id, until=now):
        value = float(program.in_base(kept, currency))
        first[member_id] = min(first.get(member_id, at), at)
        if at >= window_start:
            volume[member_id] += value
            if attributes and attributes.get("margin") is not None:
                margin[member_id] += float(program.in_base(int(attributes["margin"]), currency))
                margin_revenue[member_id] += value
            if attributes and attributes.get("paid_at"):
                paid = datetime.fromisoformat(attributes["paid_at"])
                pay_days[member_id].append(max(0.0, (paid - at) / timedelta(days=1)))
        elif at >= before_start:
            earlier[member_id] += value
    members = sorted(first)
    raw: dict[str, dict[int, float]] = {
        "volume": {m: volume.get(m, 0.0) for m in members},
        # Growth as a ratio; a member with nothing before but something now grows "infinitely": rank them top.
        "growth": {m: (volume.get(m, 0.0) / earlier[m] - 1) if earlier.get(m) else (float("inf") if volume.get(m) else 0.0)
                   for m in members},
        "margin": {m: margin[m] / margin_revenue[m] for m in margin_revenue if margin_revenue[m]},
        "payment_speed": {m: sum(days) / len(days) for m, days in pay_days.items() if days},
        "tenure": {m: (now - first[m]) / timedelta(days=1) for m in members},
    }
    ranks = {f: percentiles(values, higher_is_better=f != "payment_speed") for f, values in raw.items()}
    weights = {f: w for f, w in (rules.weights or {}).items() if w > 0 and ranks.get(f)}
    scores: dict[int, float] = {}
    for m in members:
        have = {f: w for f, w in weights.items() if m in ranks[f]}
        total = sum(have.values())
        scores[m] = sum(ranks[f][m] * w for f, w in have.items()) / total if total else 0.0
    ordered = sorted(members, key=lambda m: (-scores[m], m))
    # Half up, and at least one A among any members: "the top 20%" of three customers is one of them.
    a_count = max(1, int(len(ordered) * rules.a_share + 0.5)) if ordered else 0
    b_count = max(0, int(len(ordered) * (rules.a_share + rules.b_share) + 0.5) - a_count)
    before = segment_changes.assignment(session, (AbcScore.member_id, AbcScore.abc_class), AbcScore.tenant_id == tenant_id)
    session.execute(delete(AbcScore).where(AbcScore.tenant_id == tenant_id))
    rows = [
        {"tenant_id": tenant_id, "member_id": m, "score": round(scores[m], 6),
         "abc_class": "A" if k < a_count else "B" if k < a_count + b_count else "C",
         "factors": {f: round(ranks[f][m], 6) for f in FACTORS if m in ranks[f]}, "computed_at": now}
        for k, m in enumerate(ordered)
    ]
    bulk_insert(session, AbcScore, rows)
    segment_changes.announce(session, tenant_id=tenant_id, kind="abc", before={m: f"abc_{c.lower()}" for m, c in before.items()},
                             after={int(str(r["member_id"])): f"abc_{str(r['abc_class']).lower()}" for r in rows}, now=now)
    session.flush()
    return len(rows)


def summary(session: Session, *, tenant_id: int) -> dict:
    counts = dict(session.execute(
        select(AbcScore.abc_class, func.count()).where(AbcScore.tenant_id == tenant_id).group_by(AbcScore.abc_class)
    ).all())
    computed = session.execute(select(func.max(AbcScore.computed_at)).where(AbcScore.tenant_id == tenant_id)).scalar_one()
    rules = policy(session, tenant_id=tenant_id)
    return {
        "computed_at": computed, "A": counts.get("A", 0), "B": counts.get("B", 0), "C": counts.get("C", 0),
        "weights": rules.weights, "a_share": rules.a_share, "b_share": rules.b_share, "months": rules.months,
    }


def of_member(session: Session, *, tenant_id: int, member_id: int) -> AbcScore | None:
    return session.get(AbcScore, (tenant_id, member_id))
