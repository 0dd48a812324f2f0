"""HTTP: experiments (admin for changes) — create, list, read, start, end, ship, results; a member's arms."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from sqlalchemy.orm import Session

from wafa.api.deps import Context, IdPath, require
from wafa.experiments import service
from wafa.experiments.models import Experiment
from wafa.experiments.results import Comparison, Results
from wafa.experiments.schemas import (
    KEY_PATTERN,
    ArmRead,
    ArmResult,
    ExperimentCreate,
    ExperimentPage,
    ExperimentRead,
    MemberArmsRead,
    MetricRead,
    ResultsRead,
    ShipIn,
)
from wafa.members import service as members
from wafa.tenants import audit
from wafa.tenants.service import Principal

router = APIRouter(prefix="/v1", tags=["experiments"])
KeyPath = Annotated[str, Path(pattern=KEY_PATTERN, max_length=64)]


def to_read(row: Experiment) -> ExperimentRead:
    return ExperimentRead(
        id=row.id, key=row.key, name=row.name, subject=row.subject, holdout_percent=row.holdout_percent,
        arms=[ArmRead(key=a["key"], weight=a["weight"]) for a in row.arms], primary_metric=row.primary_metric,
        horizon_days=row.horizon_days, status=row.status,
        started_at=row.started_at, ends_at=row.ends_at, ended_at=row.ended_at, shipped_arm=row.shipped_arm, shipped_at=row.shipped_at,
        created_at=row.created_at, updated_at=row.updated_at,
    )


def _metric(c: Comparison) -> MetricRead:
    return MetricRead(name=c.name, mean=c.mean, holdout_mean=c.holdout_mean, difference=c.difference, low=c.low, high=c.high,
                      relative=c.relative, p_value=c.p_value)


def results_read(found: Results) -> ResultsRead:
    return ResultsRead(
        key=found.key, status=found.status, primary_metric=found.primary_metric, since=found.since, until=found.until,
        ends_at=found.ends_at, provisional=found.provisional, horizon_reached=not found.provisional, confidence=found.confidence,
        holdout_members=found.holdout_members, winner=found.winner, currency=found.currency,
        arms=[ArmResult(arm=a.arm, members=a.members, metrics=[_metric(m) for m in a.metrics], primary=_metric(a.metric(found.primary_metric)))
              for a in found.arms],
    )


def _audit(session: Session, principal: Principal, *, action: str, key: str, now: datetime, details: dict[str, Any] | None = None) -> None:
    audit.record(session, tenant_id=principal.tenant_id, user_id=None, actor=f"api-key:{principal.key_id}", action=action,
                 target=f"experiment:{key}", details=details, now=now)


@router.post("/experiments", status_code=201, response_model=ExperimentRead, summary="Create an experiment (draft; admin)")
def create_experiment(request: Request, experiment_in: ExperimentCreate, principal: Principal = Depends(require("admin"))) -> ExperimentRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        row = service.create(session, tenant_id=principal.tenant_id, experiment_in=experiment_in, now=ctx.now())
        _audit(session, principal, action="experiment.created", key=row.key, now=ctx.now(), details=experiment_in.model_dump())
        return to_read(row)


@router.get("/experiments", response_model=ExperimentPage, summary="The program's experiments, newest first")
def list_experiments(request: Request, principal: Principal = Depends(require("read"))) -> ExperimentPage:
    ctx = Context(request)
    with ctx.transaction() as session:
        return ExperimentPage(items=[to_read(row) for row in service.list_(session, tenant_id=principal.tenant_id)])


@router.get("/experiments/{key}", response_model=ExperimentRead, summary="Read an experiment")
def get_experiment(request: Request, key: KeyPath, principal: Principal = Depends(require("read"))) -> ExperimentRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        return to_read(service.get_by_key_or_raise(session, tenant_id=principal.tenant_id, key=key))


@router.post("/experiments/{key}:start", response_model=ExperimentRead, summary="Start a draft experiment (admin)")
def start_experiment(request: Request, key: KeyPath, principal: Principal = Depends(require("admin"))) -> ExperimentRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        row = service.start(session, tenant_id=principal.tenant_id, key=key, now=ctx.now())
        ends = row.ends_at.isoformat() if row.ends_at else None
        _audit(session, principal, action="experiment.started", key=key, now=ctx.now(), details={"ends_at": ends})
        return to_read(row)


@router.post("/experiments/{key}:end", response_model=ExperimentRead, summary="End a running experiment (admin)")
def end_experiment(request: Request, key: KeyPath, principal: Principal = Depends(require("admin"))) -> ExperimentRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        row = service.end(session, tenant_id=principal.tenant_id, key=key, now=ctx.now())
        _audit(session, principal, action="experiment.ended", key=key, now=ctx.now())
        return to_read(row)


@router.post("/experiments/{key}:ship", response_model=ExperimentRead, summary="Ship an arm to everyone (admin)")
def ship_experiment(
    request: Request, key: KeyPath, ship_in: ShipIn | None = None, principal: Principal = Depends(require("admin")),
) -> ExperimentRead:
    """After the horizon only (409 `results-provisional` before it) unless `force`, which the audit trail records.
    A rules experiment's rules are revised (the shipped arm's: the experiment condition removed) or ended."""
    ctx = Context(request)
    ship_in = ship_in or ShipIn()
    with ctx.transaction() as session:
        row, changed = service.ship(session, tenant_id=principal.tenant_id, key=key, arm=ship_in.arm, force=ship_in.force, now=ctx.now())
        forced = row.ends_at is not None and ctx.now() < row.ends_at
        _audit(session, principal, action="experiment.shipped", key=key, now=ctx.now(),
               details={"arm": row.shipped_arm, "forced": forced, "rules": changed})
        return to_read(row)


@router.get("/experiments/{key}/results", response_model=ResultsRead, summary="Lift per arm against the holdout")
def experiment_results(request: Request, key: KeyPath, principal: Principal = Depends(require("read"))) -> ResultsRead:
    """Per member, intention to treat; each arm's interval at 1 - 0.05/arms. Before the horizon `provisional` is true."""
    ctx = Context(request)
    with ctx.transaction() as session:
        return results_read(service.results_of(session, tenant_id=principal.tenant_id, key=key, now=ctx.now()))


@router.get("/members/{member_id}/experiments", response_model=MemberArmsRead, summary="A member's arms in the running experiments")
def member_experiments(request: Request, member_id: IdPath, principal: Principal = Depends(require("read"))) -> MemberArmsRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        members.get_or_raise(session, tenant_id=principal.tenant_id, member_id=member_id)
        return MemberArmsRead(member_id=member_id, arms=service.arms_of(session, tenant_id=principal.tenant_id, member_id=member_id))
