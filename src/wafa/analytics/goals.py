"""Program goals: targets the team sets for chosen KPIs over a period, and how far the program has come.

A goal's actual is its KPI measured by `kpis.compute` over the goal's days so far (its first day up to
today, or to its last day once it is over); its baseline is the same KPI over as many days just before
the goal starts; progress is actual ÷ target; the trend is the actual as it stood at the end of each day,
week or month of the goal so far, so its last point is the actual.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.orm import Session

from wafa.analytics import kpis
from wafa.analytics.models import ProgramGoal
from wafa.errors import Conflict, InvalidInput, NotFound
from wafa.events import figures as event_figures
from wafa.programs import service as programs

# The KPIs a goal can aim at, with how their values read: a rate from 0 to 1, money in the base
# currency's major units, a score from -100 to 100, or a plain number.
KPIS: dict[str, str] = {
    "purchase_frequency": "number",
    "retention_rate": "rate",
    "participation_rate_revenue": "rate",
    "aov_members": "money",
    "nps": "score",
    "clv_to_cac": "number",
}
MAX_TREND_POINTS = 24


@dataclass(frozen=True, slots=True)
class Point:
    on: date  # the last day the value covers
    value: Decimal | None


@dataclass(frozen=True, slots=True)
class Standing:
    """A goal against its target, as of a day."""

    goal: ProgramGoal
    unit: str
    measured_to: date | None  # None: the goal has not started
    actual: Decimal | None
    baseline: Decimal | None
    progress: float | None
    met: bool | None
    trend: list[Point]


# Targets are stored as text of at most 24 characters.
MAX_TARGET = Decimal(10) ** 12


def target_of(kpi: str, raw: str, *, field: str = "target") -> Decimal:
    """A target as a decimal in the KPI's unit, refused (422) when it cannot be one."""
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise InvalidInput("target must be a number", field=field) from None
    if not value.is_finite():
        raise InvalidInput("target must be a number", field=field)
    unit = KPIS[kpi]
    if unit == "rate" and not 0 <= value <= 1:
        raise InvalidInput("a rate's target lies between 0 and 1 (0.45 for 45%)", field=field)
    if unit == "score" and not -100 <= value <= 100:
        raise InvalidInput("an NPS target lies between -100 and 100", field=field)
    if unit in ("number", "money") and value < 0:
        raise InvalidInput("target must not be negative", field=field)
    if abs(value) >= MAX_TARGET or -value.as_tuple().exponent > 6:  # type: ignore[operator]
        raise InvalidInput("target must be below 10^12 with at most 6 decimals", field=field)
    return value


def _check(kpi: str, target: str, starts_on: date, ends_on: date) -> str:
    if kpi not in KPIS:
        raise InvalidInput(f"kpi must be one of {', '.join(KPIS)}", field="kpi")
    if ends_on < starts_on:
        raise InvalidInput("ends_on must not be before starts_on", field="ends_on")
    if (ends_on - starts_on).days >= kpis.MAX_DAYS:
        raise InvalidInput(f"a goal's period is at most {kpis.MAX_DAYS} days", field="ends_on")
    if starts_on.year < 1971 or ends_on.year > 2999:
        raise InvalidInput("a goal's period lies between 1971 and 2999", field="starts_on" if starts_on.year < 1971 else "ends_on")
    return format(target_of(kpi, target).normalize(), "f")


def _taken(session: Session, *, tenant_id: int, kpi: str, starts_on: date, ends_on: date, other_than: int | None = None) -> None:
    found = session.execute(
        select(ProgramGoal.id).where(
            ProgramGoal.tenant_id == tenant_id, ProgramGoal.kpi == kpi, ProgramGoal.starts_on == starts_on, ProgramGoal.ends_on == ends_on,
        )
    ).scalar_one_or_none()
    if found is not None and found != other_than:
        raise Conflict(f"a goal for {kpi} over these days already exists (id {found}): change that one")


def create(session: Session, *, tenant_id: int, kpi: str, target: str, starts_on: date, ends_on: date, now: datetime) -> ProgramGoal:
    """Set a target for a KPI over a period; one goal per KPI and period."""
    stored = _check(kpi, target, starts_on, ends_on)
    _taken(session, tenant_id=tenant_id, kpi=kpi, starts_on=starts_on, ends_on=ends_on)
    goal = ProgramGoal(tenant_id=tenant_id, kpi=kpi, target=stored, starts_on=starts_on, ends_on=ends_on, created_at=now, updated_at=now)
    session.add(goal)
    session.flush()
    return goal


def get_or_raise(session: Session, *, tenant_id: int, goal_id: int) -> ProgramGoal:
    goal = session.execute(
        select(ProgramGoal).where(ProgramGoal.tenant_id == tenant_id, ProgramGoal.id == goal_id)
    ).scalar_one_or_none()
    if goal is None:
        raise NotFound(f"no goal {goal_id}")
    return goal


def update(
    session: Session, *, tenant_id: int, goal_id: int, now: datetime, kpi: str | None = None, target: str | None = None,
    starts_on: date | None = None, ends_on: date | None = None,
) -> ProgramGoal:
    """Change a goal's KPI, target or days (what is not given stays)."""
    goal = get_or_raise(session, tenant_id=tenant_id, goal_id=goal_id)
    kpi, starts_on, ends_on = kpi or goal.kpi, starts_on or goal.starts_on, ends_on or goal.ends_on
    stored = _check(kpi, target if target is not None else goal.target, starts_on, ends_on)
    _taken(session, tenant_id=tenant_id, kpi=kpi, starts_on=starts_on, ends_on=ends_on, other_than=goal.id)
    goal.kpi, goal.target, goal.starts_on, goal.ends_on, goal.updated_at = kpi, stored, starts_on, ends_on, now
    session.flush()
    return goal


def delete(session: Session, *, tenant_id: int, goal_id: int) -> None:
    """Remove a goal."""
    session.delete(get_or_raise(session, tenant_id=tenant_id, goal_id=goal_id))
    session.flush()


def list_(session: Session, *, tenant_id: int) -> list[ProgramGoal]:
    """The program's goals, the latest-ending first."""
    return list(session.execute(
        select(ProgramGoal).where(ProgramGoal.tenant_id == tenant_id).order_by(ProgramGoal.ends_on.desc(), ProgramGoal.id)
    ).scalars())


def checkpoints(first: date, last: date) -> list[date]:
    """The ends of the days, weeks or months from `first` to `last` (at most MAX_TREND_POINTS, `last` always)."""
    span = (last - first).days + 1
    if span <= 14:
        ends = [first + timedelta(days=k) for k in range(span)]
    elif span <= 98:
        ends = [first + timedelta(days=k) for k in range(6, span, 7)]
    else:
        ends, day = [], first
        while day <= last:
            month_end = (day.replace(day=1) + timedelta(days=32)).replace(day=1) - timedelta(days=1)
            ends.append(month_end)
            day = month_end + timedelta(days=1)
    ends = [d for d in ends if d < last] + [last]
    if len(ends) > MAX_TREND_POINTS:
        step = len(ends) / MAX_TREND_POINTS
        ends = [ends[int(k * step)] for k in range(MAX_TREND_POINTS - 1)] + [last]
    return ends


def _value(figures: dict, kpi: str) -> Decimal | None:
    raw = figures.get(kpi)
    return None if raw is None else Decimal(str(raw))


def standings(session: Session, *, tenant_id: int, goals: list[ProgramGoal], today: date) -> list[Standing]:
    """Each goal against its target as of `today` (local day), with its baseline and trend."""
    program = programs.get(session, tenant_id=tenant_id)
    factors = {currency: program.in_base(1, currency) for currency in program.earn_rates}
    # Goals over the same days share their measurements.
    measured: dict[tuple[date, date], dict] = {}

    def figures(first: date, last: date, history: dict | None = None) -> dict:
        if (first, last) not in measured:
            measured[(first, last)] = kpis.compute(session, tenant_id=tenant_id, p=kpis.period(first, last, program.timezone), history=history)
        return measured[(first, last)]

    out = []
    for goal in goals:
        unit, target = KPIS.get(goal.kpi, "number"), Decimal(goal.target)
        if goal.starts_on > today:
            out.append(Standing(goal, unit, None, None, None, None, None, []))
            continue
        last = min(goal.ends_on, today)
        ends = checkpoints(goal.starts_on, last)
        missing = [end for end in ends if (goal.starts_on, end) not in measured]
        if missing:
            # Members' history around enrolment to every checkpoint, in one scan.
            cutoffs = {end: kpis.period(goal.starts_on, end, program.timezone).end for end in missing}
            histories = event_figures.enrolment_figures(
                session, tenant_id=tenant_id, cutoffs=list(cutoffs.values()), factors=factors, base_currency=program.base_currency,
            )
            for end in missing:
                figures(goal.starts_on, end, histories[cutoffs[end]])
        trend = [Point(end, _value(figures(goal.starts_on, end), goal.kpi)) for end in ends]
        actual = trend[-1].value
        try:
            before = kpis.previous(kpis.period(goal.starts_on, last, program.timezone), program.timezone)
            baseline = _value(figures(before.first, before.last), goal.kpi)
        except InvalidInput:  # the days before would start before 1970
            baseline = None
        progress = float(round(actual / target, 4)) if actual is not None and target > 0 else None
        out.append(Standing(goal, unit, last, actual, baseline, progress, None if actual is None else actual >= target, trend))
    return out
