"""Program settings, tiers (and how members qualify) and paid membership plans in the console."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from zoneinfo import available_timezones

from wafa.api.deps import Context
from wafa.memberships import service as memberships
from wafa.memberships.schemas import PlanIn, PlanUpdate
from wafa.programs import service as programs
from wafa.programs.schemas import ProgramUpdate
from wafa.tiers import service as tiers
from wafa.tiers.schemas import TierIn, TierPolicyIn, TierUpdate
from wafa.web.admin.auth import PATH, Admin, current_admin
from wafa.web.admin.forms import apply_change, checked, integer, names, optional, prune, text, valid
from wafa.web.pages import render

router = APIRouter(prefix=PATH, include_in_schema=False)
TIMEZONES = sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/", "posix/", "right/")))


# --- settings -------------------------------------------------------------------------------------


def _settings_page(request: Request, admin: Admin, problems: list[str] | None = None, done: str | None = None) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        program = programs.get(session, tenant_id=admin.tenant_id, fresh=True)
    return render(request, "admin/settings.html", lang=admin.lang, me=admin, section="settings", p=program, timezones=TIMEZONES,
                  problems=problems, done=done, status=422 if problems else 200)


@router.get("/settings")
def settings(request: Request, done: str | None = None, admin: Admin = Depends(current_admin)) -> Response:
    return _settings_page(request, admin, done=done)


@router.post("/settings")
async def save_settings(request: Request, admin: Admin = Depends(current_admin)) -> Response:
    def work(session: Any, form: Any, ctx: Context) -> str:
        rates = {}
        for line in text(form, "earn_rates").replace(",", "\n").splitlines():
            if "=" in line:
                code, rate = line.split("=", 1)
                rates[code.strip().upper()] = rate.strip()
        changes = valid(ProgramUpdate, prune({
            "points_name": {"en": text(form, "points_name_en"), "ar": text(form, "points_name_ar")},
            "earn_rates": rates or None, "rounding": optional(form, "rounding"), "pending_days": integer(form, "pending_days"),
            "expiry": {"policy": text(form, "expiry_policy") or "none", "periods": integer(form, "expiry_periods") or 0},
            "timezone": optional(form, "timezone"), "default_region": optional(form, "default_region"),
            "block_redemptions_in_debt": checked(form, "block_redemptions_in_debt"), "min_redemption": integer(form, "min_redemption"),
            "redemption_step": integer(form, "redemption_step"), "point_cost": optional(form, "point_cost"),
            "return_restores": optional(form, "return_restores"), "numerals": optional(form, "numerals"),
        }))
        programs.update_settings(session, tenant_id=admin.tenant_id, program_in=changes, now=ctx.now())
        admin.record(session, request, action="program.updated", target="program",
                     details=changes.model_dump(mode="json", exclude_none=True), now=ctx.now())
        return f"{PATH}/settings?done=saved"

    return await apply_change(request, admin, work, lambda problems: _settings_page(request, admin, problems))


# --- tiers ----------------------------------------------------------------------------------------


def _tiers_page(request: Request, admin: Admin, problems: list[str] | None = None, done: str | None = None) -> Response:
    from collections import Counter

    ctx = Context(request)
    with ctx.transaction() as session:
        rows = tiers.tiers_of(session, tenant_id=admin.tenant_id)
        policy = tiers.policy(session, tenant_id=admin.tenant_id)
        counts = Counter(tiers.keys_by_member(session, tenant_id=admin.tenant_id).values())
        currency = programs.get(session, tenant_id=admin.tenant_id).base_currency
        shown = {t.id: Decimal(tiers.format_value(t.threshold, metric=policy.metric, currency=currency)) for t in rows}
    return render(request, "admin/tiers.html", lang=admin.lang, me=admin, section="tiers", rows=rows, policy=policy, counts=counts,
                  thresholds=shown, currency=currency, problems=problems, done=done, status=422 if problems else 200)


@router.get("/tiers")
def tier_list(request: Request, done: str | None = None, admin: Admin = Depends(current_admin)) -> Response:
    return _tiers_page(request, admin, done=done)


def _benefits(form: Any, prefix: str = "") -> dict:
    return prune({"earn_multiplier": optional(form, f"{prefix}earn_multiplier"), "welcome_points": integer(form, f"{prefix}welcome_points"),
                  "flags": names(form, f"{prefix}flags")})


@router.post("/tiers")
async def save_tier(request: Request, admin: Admin = Depends(current_admin)) -> Response:
    def work(session: Any, form: Any, ctx: Context) -> str:
        tier_id = integer(form, "tier_id")
        if tier_id:
            changes = valid(TierUpdate, prune({"name_en": optional(form, "name_en"), "name_ar": optional(form, "name_ar"),
                                                "threshold": optional(form, "threshold"), "benefits": _benefits(form) or None}))
            tier = tiers.update(session, tenant_id=admin.tenant_id, tier_id=tier_id, tier_in=changes, now=ctx.now())
            action, details = "tier.updated", changes.model_dump(mode="json", exclude_none=True)
        else:
            tier_in = valid(TierIn, prune({"key": text(form, "key"), "name_en": text(form, "name_en"), "name_ar": text(form, "name_ar"),
                                            "rank": integer(form, "rank"), "threshold": text(form, "threshold"), "benefits": _benefits(form)}))
            tier = tiers.create(session, tenant_id=admin.tenant_id, tier_in=tier_in, now=ctx.now())
            action, details = "tier.created", tier_in.model_dump(mode="json")
        admin.record(session, request, action=action, target=f"tier:{tier.id}", details=details, now=ctx.now())
        return f"{PATH}/tiers?done=saved"

    return await apply_change(request, admin, work, lambda problems: _tiers_page(request, admin, problems))


@router.post("/tiers/policy")
async def save_tier_policy(request: Request, admin: Admin = Depends(current_admin)) -> Response:
    def work(session: Any, form: Any, ctx: Context) -> str:
        policy_in = valid(TierPolicyIn, prune({
            "metric": optional(form, "metric"), "window": optional(form, "window"), "months": integer(form, "months"),
            "grace_days": integer(form, "grace_days"), "max_drop": integer(form, "max_drop"),
        }))
        tiers.set_policy(session, tenant_id=admin.tenant_id, policy_in=policy_in, now=ctx.now())
        admin.record(session, request, action="tier_policy.updated", target="tier_policy", details=policy_in.model_dump(mode="json"), now=ctx.now())
        return f"{PATH}/tiers?done=policy"

    return await apply_change(request, admin, work, lambda problems: _tiers_page(request, admin, problems))


# --- paid plans -----------------------------------------------------------------------------------


def _plans_page(request: Request, admin: Admin, problems: list[str] | None = None, done: str | None = None) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        rows = memberships.list_plans(session, tenant_id=admin.tenant_id)
        currency = programs.get(session, tenant_id=admin.tenant_id).base_currency
    return render(request, "admin/plans.html", lang=admin.lang, me=admin, section="plans", rows=rows, currency=currency,
                  problems=problems, done=done, status=422 if problems else 200)


@router.get("/plans")
def plan_list(request: Request, done: str | None = None, admin: Admin = Depends(current_admin)) -> Response:
    return _plans_page(request, admin, done=done)


def _plan_benefits(form: Any) -> dict:
    return prune({"earn_multiplier": optional(form, "earn_multiplier"), "monthly_points": integer(form, "monthly_points"),
                  "flags": names(form, "flags")})


@router.post("/plans")
async def save_plan(request: Request, admin: Admin = Depends(current_admin)) -> Response:
    def work(session: Any, form: Any, ctx: Context) -> str:
        plan_id = integer(form, "plan_id")
        if plan_id:
            changes = valid(PlanUpdate, prune({"name_en": optional(form, "name_en"), "name_ar": optional(form, "name_ar"),
                                                "status": optional(form, "status"), "benefits": _plan_benefits(form) or None}))
            plan = memberships.update_plan(session, tenant_id=admin.tenant_id, plan_id=plan_id, plan_in=changes)
            action, details = "plan.updated", changes.model_dump(mode="json", exclude_none=True)
        else:
            plan_in = valid(PlanIn, prune({
                "key": text(form, "key"), "name_en": text(form, "name_en"), "name_ar": text(form, "name_ar"), "interval": text(form, "interval"),
                "price": text(form, "price"), "currency": optional(form, "currency"), "trial_days": integer(form, "trial_days"),
                "grace_days": integer(form, "grace_days"), "benefits": _plan_benefits(form),
            }))
            plan = memberships.create_plan(session, tenant_id=admin.tenant_id, plan_in=plan_in, now=ctx.now())
            action, details = "plan.created", plan_in.model_dump(mode="json")
        admin.record(session, request, action=action, target=f"plan:{plan.id}", details=details, now=ctx.now())
        return f"{PATH}/plans?done=saved"

    return await apply_change(request, admin, work, lambda problems: _plans_page(request, admin, problems))
