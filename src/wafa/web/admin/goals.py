"""Program goals in the console: the targets the team sets for chosen KPIs over a period, how far each
has come, and the form that sets, changes and removes them (as /v1/analytics/goals does)."""

from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from wafa.analytics import goals
from wafa.api.deps import MAX_ID, Context, IdPath
from wafa.errors import Conflict
from wafa.programs import service as programs
from wafa.web.admin.auth import PATH, Admin, current_admin
from wafa.web.admin.forms import FormError, Problem, Problems, apply_change, local_datetime, text, whole
from wafa.web.messages import N_
from wafa.web.pages import render

router = APIRouter(prefix=PATH, include_in_schema=False)

_LATIN = str.maketrans("٠١٢٣٤٥٦٧٨٩٫", "0123456789.")


def _page(request: Request, admin: Admin, *, edit: int | None = None, done: str | None = None, problems: Problems | None = None) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        program = programs.get(session, tenant_id=admin.tenant_id)
        today = ctx.now().astimezone(ZoneInfo(program.timezone)).date()
        found = goals.list_(session, tenant_id=admin.tenant_id)
        standings = goals.standings(session, tenant_id=admin.tenant_id, goals=found, today=today)
        editing = next((g for g in found if g.id == edit), None)
    return render(
        request, "admin/goals.html", lang=admin.lang, me=admin, section="dashboard", standings=standings, editing=editing,
        kpis=list(goals.KPIS), units=goals.KPIS, currency=program.base_currency, outcome=done, problems=problems,
        # A new goal is offered this calendar year; a goal edited shows its own days.
        editing_at=[datetime.combine(d, time(12), tzinfo=ZoneInfo(program.timezone))
                    for d in ((editing.starts_on, editing.ends_on) if editing else (today.replace(month=1, day=1), today.replace(month=12, day=31)))],
        status=422 if problems else 200,
    )


@router.get("/goals")
def goal_page(
    request: Request, edit: int | None = Query(None, ge=1, le=MAX_ID), done: str | None = Query(None, max_length=16),
    admin: Admin = Depends(current_admin),
) -> Response:
    return _page(request, admin, edit=edit, done=done)


def target_of(kpi: str, raw: str) -> str:
    """The target typed, in the KPI's own unit (a rate typed in per cent), or FormError beside the field."""
    try:
        value = Decimal(raw.translate(_LATIN).replace(",", "").replace("%", "").strip())
    except InvalidOperation:
        raise FormError(fields={"target": Problem(N_("Enter a number, such as 12.50."))}) from None
    unit = goals.KPIS[kpi]
    if not value.is_finite():
        raise FormError(fields={"target": Problem(N_("Enter a number, such as 12.50."))})
    if unit == "rate" and not 0 <= value <= 100:
        raise FormError(fields={"target": Problem(N_("Enter a share from 0 to 100 (per cent)."))})
    if unit == "score" and not -100 <= value <= 100:
        raise FormError(fields={"target": Problem(N_("Enter a score from −100 to 100."))})
    if unit in ("number", "money") and value < 0:
        raise FormError(fields={"target": Problem(N_("Enter a number of 0 or more."))})
    if abs(value) >= goals.MAX_TARGET or -value.as_tuple().exponent > 4:  # type: ignore[operator]
        raise FormError(fields={"target": Problem(N_("Enter a number below a trillion, with at most 4 decimals."))})
    return format(value / 100 if unit == "rate" else value, "f")


def _goal_of(form: Any, timezone: str) -> dict[str, Any]:
    kpi = text(form, "kpi")
    wrong: dict[str, Problem] = {}
    if kpi not in goals.KPIS:
        wrong["kpi"] = Problem(N_("Choose one of the options."))
    days = {}
    for name in ("starts", "ends"):
        try:
            moment = local_datetime(form, name, timezone)
        except FormError as exc:
            wrong.update(exc.fields)
            continue
        if moment is None:
            wrong[name] = Problem(N_("Choose a date from the calendar."))
        elif not 1971 <= moment.year <= 2999:
            wrong[name] = Problem(N_("Choose a date between 1971 and 2999."))
        else:
            days[name] = moment.date()
    target = None
    if kpi in goals.KPIS:
        try:
            target = target_of(kpi, text(form, "target"))
        except FormError as exc:
            wrong.update(exc.fields)
    if not wrong and days["ends"] < days["starts"]:
        wrong["ends"] = Problem(N_("The end must be on or after the start."))
    elif not wrong and (days["ends"] - days["starts"]).days >= 3660:
        wrong["ends"] = Problem(N_("Choose at most 10 years."))
    if wrong:
        raise FormError(fields=wrong)
    return {"kpi": kpi, "target": target, "starts_on": days["starts"], "ends_on": days["ends"]}


def _goal_id(form: Any) -> int | None:
    return whole(text(form, "goal_id")) or None


@router.post("/goals/save")
async def save_goal(request: Request, admin: Admin = Depends(current_admin)) -> Response:
    """Set a new goal, or change the one the form edits."""

    def work(session: Any, form: Any, ctx: Context) -> str:
        chosen = _goal_of(form, programs.get(session, tenant_id=admin.tenant_id).timezone)
        goal_id = _goal_id(form)
        try:
            if goal_id:
                goal = goals.update(session, tenant_id=admin.tenant_id, goal_id=goal_id, now=ctx.now(), **chosen)
            else:
                goal = goals.create(session, tenant_id=admin.tenant_id, now=ctx.now(), **chosen)
        except Conflict:
            raise FormError([N_("There is already a goal for this figure over these days: change that one.")]) from None
        admin.record(session, request, action="goal.updated" if goal_id else "goal.created", target=f"goal:{goal.id}",
                     details={**chosen, "starts_on": chosen["starts_on"].isoformat(), "ends_on": chosen["ends_on"].isoformat()}, now=ctx.now())
        return f"{PATH}/goals?done=saved"

    form = await request.form()
    edit = _goal_id(form)
    return await apply_change(request, admin, work, lambda problems: _page(request, admin, edit=edit, problems=problems))


@router.post("/goals/{goal_id}/delete")
async def delete_goal(request: Request, goal_id: IdPath, admin: Admin = Depends(current_admin)) -> Response:
    def work(session: Any, form: Any, ctx: Context) -> str:
        goal = goals.get_or_raise(session, tenant_id=admin.tenant_id, goal_id=goal_id)
        admin.record(session, request, action="goal.deleted", target=f"goal:{goal_id}", details={"kpi": goal.kpi, "target": goal.target},
                     now=ctx.now())
        goals.delete(session, tenant_id=admin.tenant_id, goal_id=goal_id)
        return f"{PATH}/goals?done=deleted"

    return await apply_change(request, admin, work, lambda problems: _page(request, admin, problems=problems))
