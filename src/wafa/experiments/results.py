"""An experiment's results: each arm against the holdout on every metric, with Welch intervals corrected
for the number of arms (Bonferroni), and the winner on the primary metric.

Intention to treat: the population is every member active and enrolled before the window closes, each in
the arm the hash gives (assignment.py), whether or not the arm's treatment reached them. The window is
[started_at, min(now, ends_at)); before ends_at the results are provisional.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from wafa.analytics.stats import welch
from wafa.events import purchase_history
from wafa.experiments import assignment
from wafa.experiments.models import Experiment
from wafa.members.models import Member
from wafa.money import precision
from wafa.programs import service as programs
from wafa.rewards import redemptions

ALPHA = 0.05
METRICS = ("purchases", "revenue", "redemptions", "retention")


@dataclass(frozen=True, slots=True)
class Comparison:
    """One metric of one arm against the holdout."""

    name: str
    mean: float
    holdout_mean: float
    difference: float
    low: float | None
    high: float | None
    relative: float | None
    p_value: float | None  # Bonferroni-adjusted: min(1, p * arms)


@dataclass(frozen=True, slots=True)
class ArmResult:
    arm: str
    members: int
    metrics: tuple[Comparison, ...]

    def metric(self, name: str) -> Comparison:
        return next(m for m in self.metrics if m.name == name)


@dataclass(frozen=True, slots=True)
class Results:
    key: str
    status: str
    primary_metric: str
    since: datetime
    until: datetime
    ends_at: datetime
    provisional: bool
    confidence: float
    holdout_members: int
    arms: tuple[ArmResult, ...]
    winner: str | None
    currency: str


def confidence_for(arms: int, alpha: float = ALPHA) -> float:
    """Each arm's interval level so that the whole experiment errs at most `alpha` (Bonferroni)."""
    return 1 - alpha / max(1, arms)


def compare(name: str, arm: Sequence[float], holdout: Sequence[float], *, arms: int, alpha: float = ALPHA) -> Comparison:
    """One metric of one arm against the holdout at the corrected level."""
    diff, low, high, p = welch(arm, holdout, confidence=confidence_for(arms, alpha))
    mean = sum(arm) / len(arm) if arm else 0.0
    held = sum(holdout) / len(holdout) if holdout else 0.0
    return Comparison(name, mean, held, diff, low, high, diff / held if held else None, None if p is None else min(1.0, p * max(1, arms)))


def winner_of(comparisons: Mapping[str, Comparison]) -> str | None:
    """The arm whose interval lies wholly above 0 with the largest difference (None: no such arm)."""
    above = [(c.difference, arm) for arm, c in comparisons.items() if c.low is not None and c.low > 0]
    return max(above)[1] if above else None


def analyse(
    values: Mapping[str, Mapping[str, Sequence[float]]], holdout: Mapping[str, Sequence[float]], *, primary: str, alpha: float = ALPHA,
) -> tuple[tuple[ArmResult, ...], str | None]:
    """Per arm (values[arm][metric] lists one value per member) every metric against the holdout's, and the
    winner on the primary metric. Pure: the simulations in the tests call it as results() does."""
    k = len(values)
    results = []
    for arm, metrics in values.items():
        size = len(next(iter(metrics.values()), ()))
        results.append(ArmResult(arm, size, tuple(compare(name, metrics[name], holdout[name], arms=k, alpha=alpha) for name in metrics)))
    return tuple(results), winner_of({r.arm: r.metric(primary) for r in results})


def results(session: Session, *, experiment: Experiment, now: datetime) -> Results | None:
    """The experiment's results so far (None before it started)."""
    if experiment.started_at is None or experiment.ends_at is None:
        return None
    tenant_id = experiment.tenant_id
    since = experiment.started_at
    until = min(now, experiment.ends_at, experiment.ended_at or experiment.ends_at)
    until = max(until, since)
    population = [int(m) for m in session.execute(
        select(Member.id).where(Member.tenant_id == tenant_id, Member.status == "active", Member.enrolled_at < until).order_by(Member.id)
    ).scalars()]
    program = programs.get(session, tenant_id=tenant_id)
    scale = 10 ** precision(program.base_currency)
    purchases: dict[int, int] = {}
    revenue: dict[int, float] = {}
    for member_id, currency, n, kept in purchase_history.window_totals(session, tenant_id=tenant_id, since=since, until=until):
        purchases[member_id] = purchases.get(member_id, 0) + n
        revenue[member_id] = revenue.get(member_id, 0.0) + float(program.in_base(kept, currency)) / scale
    rewards = redemptions.counts_by_member(session, tenant_id=tenant_id, since=since, until=until)
    arm_keys = [str(a["key"]) for a in experiment.arms]
    groups: dict[str, list[int]] = {key: [] for key in [*arm_keys, assignment.HOLDOUT]}
    for member_id in population:
        groups[assignment.arm_of(tenant_id=tenant_id, key=experiment.key, member_id=member_id,
                                 holdout_percent=experiment.holdout_percent, arms=experiment.arms)].append(member_id)

    def columns(members: list[int]) -> dict[str, list[float]]:
        return {
            "purchases": [float(purchases.get(m, 0)) for m in members],
            "revenue": [revenue.get(m, 0.0) for m in members],
            "redemptions": [float(rewards.get(m, 0)) for m in members],
            "retention": [1.0 if purchases.get(m, 0) else 0.0 for m in members],
        }

    arms, winner = analyse({key: columns(groups[key]) for key in arm_keys}, columns(groups[assignment.HOLDOUT]),
                           primary=experiment.primary_metric)
    return Results(
        experiment.key, experiment.status, experiment.primary_metric, since, until, experiment.ends_at, now < experiment.ends_at,
        confidence_for(len(arm_keys)), len(groups[assignment.HOLDOUT]), arms, winner, program.base_currency,
    )
