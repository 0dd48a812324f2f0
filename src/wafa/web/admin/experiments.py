"""Experiments in the console, as /v1/experiments offers them: the list and the form for a new one, and each
experiment's page: its arms, lift per arm against the holdout with the interval (a chart and a table),
"provisional until" before the horizon and "horizon reached" after, and start, end and ship (owners and admins)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError

from wafa.api.deps import Context
from wafa.errors import Conflict
from wafa.experiments import service
from wafa.experiments.models import Experiment
from wafa.experiments.results import Results
from wafa.experiments.schemas import KEY_PATTERN, ExperimentCreate
from wafa.web.admin.auth import PATH, Admin, current_admin
from wafa.web.admin.forms import FormError, Problem, Problems, apply_change, integer, text
from wafa.web.messages import N_
from wafa.web.pages import render

router = APIRouter(prefix=PATH, include_in_schema=False)

WORDS = {
    "subjects": {"rules": N_("Rules"), "offers": N_("Offers"), "campaigns": N_("Campaigns")},
    "metrics": {"purchases": N_("Purchases"), "revenue": N_("Revenue"), "redemptions": N_("Rewards redeemed"), "retention": N_("Retention")},
    "statuses": {"draft": N_("Draft"), "running": N_("Running"), "ended": N_("Ended"), "shipped": N_("Shipped")},
}
_ARM = re.compile(r"^([a-z][a-z0-9_]{0,15})(?::(\d{1,3}))?$")
_CHART_WIDTH = 360  # the chart's drawing width, in SVG units
_LABELS = 40  # the room on the start side for the arms' names


def arms_of(raw: str) -> list[dict[str, int | str]]:
    """ "a, b:2" as arms with weights (1 unless given); FormError beside the field otherwise."""
    arms: list[dict[str, int | str]] = []
    for part in (p.strip() for p in raw.replace("،", ",").split(",")):
        found = _ARM.match(part) if part else None
        if found is None:
            raise FormError(fields={"arms": Problem(N_('Write the arms as keys separated by commas, e.g. "a, b" or "a:1, b:2".'))})
        arms.append({"key": found.group(1), "weight": int(found.group(2) or 1)})
    return arms


def _experiments_page(request: Request, admin: Admin, *, problems: Problems | None = None) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        rows = service.list_(session, tenant_id=admin.tenant_id)
        session.expunge_all()
    return render(request, "admin/experiments.html", lang=admin.lang, me=admin, section="experiments", rows=rows, words=WORDS,
                  problems=problems, status=422 if problems else 200)


@router.get("/experiments")
def experiments_page(request: Request, admin: Admin = Depends(current_admin)) -> Response:
    return _experiments_page(request, admin)


@router.post("/experiments")
async def create_experiment(request: Request, admin: Admin = Depends(current_admin)) -> Response:
    def work(session: Any, form: Any, ctx: Context) -> str:
        body = {
            "key": text(form, "key"), "name": text(form, "name"), "subject": text(form, "subject"),
            "holdout_percent": integer(form, "holdout_percent"), "arms": arms_of(text(form, "arms")),
            "primary_metric": text(form, "primary_metric"), "horizon_days": integer(form, "horizon_days"),
        }
        try:
            made = service.create(session, tenant_id=admin.tenant_id, experiment_in=ExperimentCreate.model_validate(body), now=ctx.now())
        except ValidationError as exc:
            fields = {str(e["loc"][0]): Problem(N_("Check this value.")) for e in exc.errors() if e["loc"]}
            raise FormError(fields=fields) from None
        except Conflict:
            raise FormError(fields={"key": Problem(N_("Another experiment has this key."))}) from None
        admin.record(session, request, action="experiment.created", target=f"experiment:{made.key}", details=body, now=ctx.now())
        return f"{PATH}/experiments/{made.key}?done=created"

    return await apply_change(request, admin, work, lambda problems: _experiments_page(request, admin, problems=problems))


@dataclass(frozen=True, slots=True)
class Bar:
    """One arm's primary-metric difference and interval, as numbers and as x positions in the chart."""

    arm: str
    difference: float
    low: float | None
    high: float | None
    x: float
    x_low: float
    x_high: float


def chart(found: Results) -> tuple[list[Bar], float]:
    """Each arm's difference and interval placed on one scale with 0 in the middle (so above and below
    the holdout read the same way for every experiment); and where 0 falls."""
    rows = [(a.arm, a.metric(found.primary_metric)) for a in found.arms]
    reach = max([abs(v) for _, m in rows for v in (m.difference, m.low, m.high) if v is not None] + [0.0]) or 1.0
    left, right = _LABELS + 10, _CHART_WIDTH - 10

    def at(value: float) -> float:
        return round(left + (value + reach) / (2 * reach) * (right - left), 1)

    bars = [Bar(arm, m.difference, m.low, m.high, at(m.difference), at(m.low if m.low is not None else m.difference),
                at(m.high if m.high is not None else m.difference)) for arm, m in rows]
    return bars, at(0.0)


def _experiment_page(request: Request, admin: Admin, key: str, *, problems: Problems | None = None, done: str | None = None) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        row: Experiment = service.get_by_key_or_raise(session, tenant_id=admin.tenant_id, key=key)
        found = service.results(session, experiment=row, now=ctx.now())
        session.expunge_all()
    bars, zero = chart(found) if found is not None and found.arms else ([], 0.0)
    return render(request, "admin/experiment.html", lang=admin.lang, me=admin, section="experiments", x=row, found=found, bars=bars,
                  zero=zero, chart_width=_CHART_WIDTH, labels=_LABELS, words=WORDS, outcome=done, problems=problems, status=422 if problems else 200)


KeyPath = Path(pattern=KEY_PATTERN, max_length=64)


@router.get("/experiments/{key}")
def experiment_page(request: Request, key: str = KeyPath, done: str | None = Query(None, max_length=16),
                    admin: Admin = Depends(current_admin)) -> Response:
    return _experiment_page(request, admin, key, done=done if done in ("created", "started", "ended", "shipped") else None)


def _change(request: Request, admin: Admin, key: str, action: str) -> Any:
    def work(session: Any, form: Any, ctx: Context) -> str:
        details: dict[str, Any] = {}
        try:
            if action == "start":
                service.start(session, tenant_id=admin.tenant_id, key=key, now=ctx.now())
            elif action == "end":
                service.end(session, tenant_id=admin.tenant_id, key=key, now=ctx.now())
            else:
                force = text(form, "force") == "yes"
                row, changed = service.ship(session, tenant_id=admin.tenant_id, key=key, arm=text(form, "arm") or None, force=force,
                                            now=ctx.now())
                details = {"arm": row.shipped_arm, "forced": force and row.ends_at is not None and ctx.now() < row.ends_at, "rules": changed}
        except service.Provisional:
            raise FormError([N_("The results are provisional until the horizon. Tick “ship before the horizon” to ship now anyway.")]) from None
        except Conflict as exc:
            if exc.field == "arm":
                raise FormError(fields={"arm": Problem(N_("No arm wins on the primary metric: choose the arm to ship."))}) from None
            raise FormError([N_("This experiment cannot do that in its present state.")]) from None
        admin.record(session, request, action=f"experiment.{'shipped' if action == 'ship' else action + 'ed'}",
                     target=f"experiment:{key}", details=details, now=ctx.now())
        return f"{PATH}/experiments/{key}?done={'shipped' if action == 'ship' else action + 'ed'}"

    return work


@router.post("/experiments/{key}/start")
async def start_experiment(request: Request, key: str = KeyPath, admin: Admin = Depends(current_admin)) -> Response:
    return await apply_change(request, admin, _change(request, admin, key, "start"), lambda p: _experiment_page(request, admin, key, problems=p))


@router.post("/experiments/{key}/end")
async def end_experiment(request: Request, key: str = KeyPath, admin: Admin = Depends(current_admin)) -> Response:
    return await apply_change(request, admin, _change(request, admin, key, "end"), lambda p: _experiment_page(request, admin, key, problems=p))


@router.post("/experiments/{key}/ship")
async def ship_experiment(request: Request, key: str = KeyPath, admin: Admin = Depends(current_admin)) -> Response:
    return await apply_change(request, admin, _change(request, admin, key, "ship"), lambda p: _experiment_page(request, admin, key, problems=p))
