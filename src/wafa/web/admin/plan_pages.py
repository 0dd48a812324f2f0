"""Paid membership plans in the console: the list with each plan's benefits by name, a form to add a
plan, each plan's own editor opened with its current values (a save changes only what was changed),
archiving (asked first) and putting an archived plan back on sale. Price, interval, trial and grace stay
as created: members agreed to them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from wafa.api.deps import Context
from wafa.errors import InvalidInput, NotFound
from wafa.memberships import service as memberships
from wafa.memberships.models import Plan
from wafa.memberships.schemas import PlanIn, PlanUpdate
from wafa.money import precision
from wafa.programs import service as programs
from wafa.tenants import service as tenants
from wafa.tenants.schemas import BenefitName, TenantUpdate
from wafa.web import benefits
from wafa.web.admin import program_fields as read
from wafa.web.admin.auth import PATH, Admin, current_admin
from wafa.web.admin.forms import Problems, apply_change, optional, prune, text, valid
from wafa.web.messages import N_
from wafa.web.pages import render

router = APIRouter(include_in_schema=False)


def _plan(session: Any, admin: Admin, plan_id: int) -> Plan:
    found = next((p for p in memberships.list_plans(session, tenant_id=admin.tenant_id) if p.id == plan_id), None)
    if found is None:
        raise NotFound(f"plan {plan_id} not found", field="plan_id")
    return found


def _values(plan: Plan) -> dict[str, Any]:
    """What a plan's editor shows, as the form's fields hold it."""
    held = plan.benefits or {}
    return {
        "name_en": plan.name_en, "name_ar": plan.name_ar, "earn_multiplier": str(held.get("earn_multiplier") or "1"),
        "monthly_points": str(int(held.get("monthly_points") or 0)), "flags": [str(f) for f in held.get("flags") or []],
    }


def _new_name(session: Any, admin: Admin, new: read.NewBenefit | None) -> None:
    if new is not None:
        tenants.update(session, tenant_id=admin.tenant_id,
                       tenant_in=TenantUpdate(benefit_names={new.key: BenefitName(en=new.en, ar=new.ar)}))


# --- the list and adding a plan ----------------------------------------------------------------------


def _plans_page(request: Request, admin: Admin, problems: Problems | None = None, done: str | None = None) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        rows = memberships.list_plans(session, tenant_id=admin.tenant_id)
        currency = programs.get(session, tenant_id=admin.tenant_id).base_currency
        own = tenants.benefit_names(session, tenant_id=admin.tenant_id)
    named = {p.id: benefits.labels((p.benefits or {}).get("flags"), admin.lang, own) for p in rows}
    used = [f for p in rows for f in (p.benefits or {}).get("flags") or []]
    return render(request, "admin/plans.html", lang=admin.lang, me=admin, section="plans", rows=rows, currency=currency,
                  benefit_names=named, listed=benefits.listed, choices=benefits.choices(admin.lang, own, used), problems=problems, done=done,
                  status=422 if problems else 200)


@router.get("/plans")
def plan_list(request: Request, done: str | None = None, admin: Admin = Depends(current_admin)) -> Response:
    return _plans_page(request, admin, done=done)


@router.post("/plans")
async def add_plan(request: Request, admin: Admin = Depends(current_admin)) -> Response:
    def work(session: Any, form: Any, ctx: Context) -> str:
        fields = read.Fields()
        currency = (optional(form, "currency") or programs.get(session, tenant_id=admin.tenant_id).base_currency).upper()
        try:
            precision(currency)
        except InvalidInput:
            fields.add("currency", N_("Enter a currency code such as SAR."))
            currency = ""
        key = text(form, "key")
        if key and any(p.key == key for p in memberships.list_plans(session, tenant_id=admin.tenant_id)):
            fields.add("key", N_("Another plan has this key."))
        price = read.amount(form, fields, "price", currency) if currency else None
        if price is not None and read.number(price) == 0:
            fields.add("price", N_("Enter a price above zero."))
        data: dict[str, Any] = {
            "key": key, "name_en": read.name(form, fields, "name_en"), "name_ar": read.name(form, fields, "name_ar"),
            "interval": text(form, "interval"), "price": price, "currency": currency or None,
            "trial_days": read.count(form, fields, "trial_days", most=365),
            "grace_days": read.count(form, fields, "grace_days", most=90, empty=7),
            "benefits": {"earn_multiplier": read.multiplier(form, fields, empty="1"),
                         "monthly_points": read.count(form, fields, "monthly_points")},
        }
        data["benefits"]["flags"], new = read.flags(form, fields)
        fields.check()
        plan_in = valid(PlanIn, prune(data), fields=lambda loc: str(loc[-1]) if loc else None)
        plan = memberships.create_plan(session, tenant_id=admin.tenant_id, plan_in=plan_in, now=ctx.now())
        _new_name(session, admin, new)
        admin.record(session, request, action="plan.created", target=f"plan:{plan.id}", details=plan_in.model_dump(mode="json"), now=ctx.now())
        return f"{PATH}/plans?done=saved"

    return await apply_change(request, admin, work, lambda problems: _plans_page(request, admin, problems))


# --- one plan's editor --------------------------------------------------------------------------------


def _plan_page(request: Request, admin: Admin, plan_id: int, problems: Problems | None = None) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        plan = _plan(session, admin, plan_id)
        own = tenants.benefit_names(session, tenant_id=admin.tenant_id)
        values = _values(plan)
    return render(request, "admin/plan_edit.html", lang=admin.lang, me=admin, section="plans", plan=plan, values=values,
                  choices=benefits.choices(admin.lang, own, values["flags"]), problems=problems, status=422 if problems else 200)


@router.get("/plans/{plan_id:int}")
def plan_editor(request: Request, plan_id: int, admin: Admin = Depends(current_admin)) -> Response:
    return _plan_page(request, admin, plan_id)


@router.post("/plans/{plan_id:int}")
async def save_plan(request: Request, plan_id: int, admin: Admin = Depends(current_admin)) -> Response:
    def work(session: Any, form: Any, ctx: Context) -> str:
        plan = _plan(session, admin, plan_id)
        fields = read.Fields()
        typed: dict[str, Any] = {
            "name_en": read.name(form, fields, "name_en"), "name_ar": read.name(form, fields, "name_ar"),
            "earn_multiplier": read.multiplier(form, fields), "monthly_points": read.count(form, fields, "monthly_points"),
        }
        typed["flags"], new = read.flags(form, fields)
        fields.check()
        current = _values(plan)
        before = read.opened_with(form, current)
        changes: dict[str, Any] = {k: typed[k] for k in ("name_en", "name_ar") if typed[k] != before[k]}
        held = {"earn_multiplier": current["earn_multiplier"], "monthly_points": int(current["monthly_points"]), "flags": current["flags"]}
        kept = dict(held)
        for name in ("earn_multiplier", "monthly_points"):
            if not read.same_number(typed[name], before[name]):
                kept[name] = typed[name]
        kept["flags"] = read.merged_flags(current["flags"], before["flags"], typed["flags"])
        if kept != held:
            changes["benefits"] = kept
        if changes:
            plan_in = valid(PlanUpdate, changes, fields=lambda loc: str(loc[-1]) if loc else None)
            memberships.update_plan(session, tenant_id=admin.tenant_id, plan_id=plan.id, plan_in=plan_in)
            admin.record(session, request, action="plan.updated", target=f"plan:{plan.id}",
                         details={"key": plan.key, **plan_in.model_dump(mode="json", exclude_none=True)}, now=ctx.now())
        _new_name(session, admin, new)
        return f"{PATH}/plans?done=saved"

    return await apply_change(request, admin, work, lambda problems: _plan_page(request, admin, plan_id, problems))


async def _set_status(request: Request, admin: Admin, plan_id: int, status: str) -> Response:
    def work(session: Any, form: Any, ctx: Context) -> str:
        plan = _plan(session, admin, plan_id)
        if plan.status != status:
            memberships.update_plan(session, tenant_id=admin.tenant_id, plan_id=plan.id, plan_in=PlanUpdate(status=status))
            admin.record(session, request, action="plan.archived" if status == "archived" else "plan.restored",
                         target=f"plan:{plan.id}", details={"key": plan.key}, now=ctx.now())
        return f"{PATH}/plans?done=saved"

    return await apply_change(request, admin, work, lambda problems: _plan_page(request, admin, plan_id, problems))


@router.post("/plans/{plan_id:int}/archive")
async def archive_plan(request: Request, plan_id: int, admin: Admin = Depends(current_admin)) -> Response:
    """No new members; those who have the plan keep it and renew."""
    return await _set_status(request, admin, plan_id, "archived")


@router.post("/plans/{plan_id:int}/restore")
async def restore_plan(request: Request, plan_id: int, admin: Admin = Depends(current_admin)) -> Response:
    return await _set_status(request, admin, plan_id, "active")
