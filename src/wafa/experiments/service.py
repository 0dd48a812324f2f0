"""Experiments: create, start, end and ship them; a member's arms; shipping a rules experiment makes the
shipped arm's rules apply to everyone (the experiment condition removed, through a new rule version) and
ends the rules no member would match any more."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from wafa.errors import Conflict, InvalidInput, NotFound
from wafa.experiments import assignment, registry
from wafa.experiments.models import Experiment
from wafa.experiments.results import Results, results
from wafa.experiments.schemas import ExperimentCreate
from wafa.rules import service as rules
from wafa.rules.schemas import RuleDefinition

# Re-exported: what other domains read of experiments (registry.py imports no other domain).
arms_of = registry.arms_of
arm_of = registry.arm_of
State = registry.State


def get_by_key(session: Session, *, tenant_id: int, key: str) -> State:
    """An experiment's state (status, arms, shipped arm) by key; NotFound if the program has none."""
    found = registry.get_by_key(session, tenant_id=tenant_id, key=key)
    if found is None:
        raise NotFound(f"no experiment {key!r}")
    return found


class Provisional(Conflict):
    """The experiment's horizon has not come: its results are provisional, so it is not shipped yet."""

    slug = "results-provisional"
    title = "Results are provisional"


def create(session: Session, *, tenant_id: int, experiment_in: ExperimentCreate, now: datetime) -> Experiment:
    """A new experiment, in draft."""
    if session.execute(select(Experiment.id).where(Experiment.tenant_id == tenant_id, Experiment.key == experiment_in.key)).first():
        raise Conflict(f"an experiment {experiment_in.key!r} exists already", field="key")
    row = Experiment(
        tenant_id=tenant_id, key=experiment_in.key, name=experiment_in.name, subject=experiment_in.subject,
        holdout_percent=experiment_in.holdout_percent, arms=[{"key": a.key, "weight": a.weight} for a in experiment_in.arms],
        primary_metric=experiment_in.primary_metric, horizon_days=experiment_in.horizon_days, status="draft",
        created_at=now, updated_at=now,
    )
    session.add(row)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise Conflict(f"an experiment {experiment_in.key!r} exists already", field="key") from None
    return row


def list_(session: Session, *, tenant_id: int, status: str | None = None, limit: int = 200) -> list[Experiment]:
    """The tenant's experiments, newest first."""
    query = select(Experiment).where(Experiment.tenant_id == tenant_id)
    if status is not None:
        query = query.where(Experiment.status == status)
    return list(session.execute(query.order_by(Experiment.id.desc()).limit(limit)).scalars())


def get_by_key_or_raise(session: Session, *, tenant_id: int, key: str, lock: bool = False) -> Experiment:
    """An experiment of the tenant by key, or NotFound."""
    query = select(Experiment).where(Experiment.tenant_id == tenant_id, Experiment.key == key)
    if lock:
        query = query.with_for_update()
    row = session.execute(query).scalar_one_or_none()
    if row is None:
        raise NotFound(f"no experiment {key!r}")
    return row


def start(session: Session, *, tenant_id: int, key: str, now: datetime) -> Experiment:
    """Start a draft experiment: members are in their arms from now until the horizon."""
    row = get_by_key_or_raise(session, tenant_id=tenant_id, key=key, lock=True)
    if row.status != "draft":
        raise Conflict(f"the experiment is {row.status}; only a draft starts", experiment_status=row.status)
    row.status, row.started_at, row.ends_at, row.updated_at = "running", now, now + timedelta(days=row.horizon_days), now
    registry.forget(session, tenant_id=tenant_id)
    session.flush()
    return row


def end(session: Session, *, tenant_id: int, key: str, now: datetime) -> Experiment:
    """Stop a running experiment: nobody is in an arm any more (rules on it stop matching); results stop at now."""
    row = get_by_key_or_raise(session, tenant_id=tenant_id, key=key, lock=True)
    if row.status != "running":
        raise Conflict(f"the experiment is {row.status}; only a running one ends", experiment_status=row.status)
    row.status, row.ended_at, row.updated_at = "ended", now, now
    registry.forget(session, tenant_id=tenant_id)
    session.flush()
    return row


def results_of(session: Session, *, tenant_id: int, key: str, now: datetime) -> Results:
    """The experiment's results so far; Conflict for a draft (nothing measured yet)."""
    row = get_by_key_or_raise(session, tenant_id=tenant_id, key=key)
    found = results(session, experiment=row, now=now)
    if found is None:
        raise Conflict("the experiment has not started: no results yet", experiment_status=row.status)
    return found


def _settled(condition: dict[str, Any], key: str, arm: str) -> bool | dict[str, Any]:
    """A condition with every `experiment` condition on `key` replaced by whether `arm` satisfies it,
    simplified: True or False where that decides it, else the condition that remains."""
    kind = condition["type"]
    if kind == "experiment" and condition["experiment"] == key:
        return arm in condition["arms"]
    if kind in ("all", "any"):
        parts = [_settled(part, key, arm) for part in condition["conditions"]]
        decisive = kind == "any"  # True decides an "any", False an "all"
        if decisive in parts:
            return decisive
        left = [part for part in parts if not isinstance(part, bool)]
        if not left:
            return not decisive
        return {**condition, "conditions": left}
    if kind == "not":
        inner = _settled(condition["condition"], key, arm)
        return (not inner) if isinstance(inner, bool) else {**condition, "condition": inner}
    return condition


def shipped_definition(definition: dict[str, Any], *, key: str, arm: str) -> dict[str, Any] | None:
    """A rule's definition once `arm` of experiment `key` is everyone's: the experiment conditions removed
    where the arm meets them; None when the arm never meets the rule's conditions (the rule should end)."""
    kept = []
    for condition in definition["conditions"]:
        settled = _settled(condition, key, arm)
        if settled is False:
            return None
        if settled is not True:
            kept.append(settled)
    return {**definition, "conditions": kept}


def _mentions(condition: dict[str, Any], key: str) -> bool:
    if condition["type"] == "experiment":
        return bool(condition["experiment"] == key)
    if condition["type"] in ("all", "any"):
        return any(_mentions(part, key) for part in condition["conditions"])
    if condition["type"] == "not":
        return _mentions(condition["condition"], key)
    return False


def ship(session: Session, *, tenant_id: int, key: str, arm: str | None, force: bool, now: datetime) -> tuple[Experiment, dict[str, list[int]]]:
    """Make an arm (the winner by default) everyone's. Before the horizon only with `force`. For a rules
    experiment, every rule on it is revised (the shipped arm's) or ended (the others'); returns the
    experiment and the ids of the rules revised and ended."""
    row = get_by_key_or_raise(session, tenant_id=tenant_id, key=key, lock=True)
    if row.status not in ("running", "ended"):
        raise Conflict(f"the experiment is {row.status}; only a running or ended one ships", experiment_status=row.status)
    assert row.ends_at is not None
    if now < row.ends_at and not force:
        raise Provisional(
            f"the results are provisional until {row.ends_at.isoformat()}: wait for the horizon, or ship with force",
            ends_at=row.ends_at.isoformat(),
        )
    arm_keys = [str(a["key"]) for a in row.arms]
    if arm is None:
        found = results(session, experiment=row, now=now)
        arm = found.winner if found is not None else None
        if arm is None:
            raise Conflict("no arm wins on the primary metric: name the arm to ship", field="arm")
    if arm not in [*arm_keys, assignment.HOLDOUT]:
        raise InvalidInput(f"no arm {arm!r}; one of {', '.join([*arm_keys, assignment.HOLDOUT])}", field="arm")
    changed: dict[str, list[int]] = {"revised": [], "ended": []}
    if row.subject == "rules":
        for rule, version in rules.list_(session, tenant_id=tenant_id, limit=10_000):
            definition = version.definition
            if rule.status == "ended" or not any(_mentions(c, key) for c in definition["conditions"]):
                continue
            after = shipped_definition(definition, key=key, arm=arm)
            if after is None:
                rules.change_status(session, tenant_id=tenant_id, rule_id=rule.id, status="ended", now=now)
                changed["ended"].append(rule.id)
            else:
                rules.revise(session, tenant_id=tenant_id, rule_id=rule.id, definition=RuleDefinition.model_validate(after), now=now)
                changed["revised"].append(rule.id)
    row.status, row.shipped_arm, row.shipped_at, row.updated_at = "shipped", arm, now, now
    row.ended_at = row.ended_at or now
    registry.forget(session, tenant_id=tenant_id)
    session.flush()
    return row, changed
