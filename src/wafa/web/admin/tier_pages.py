"""Tiers in the console: the ladder with each tier's benefits by name, a form to add a tier, each tier's
own editor opened with its current values (a save changes only what was changed), and how members
qualify (the policy, with every tier's new threshold when the metric changes)."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from wafa.api.deps import Context
from wafa.errors import InvalidInput
from wafa.programs import service as programs
from wafa.tenants import service as tenants
from wafa.tenants.schemas import BenefitName, TenantUpdate
from wafa.tiers import service as tiers
from wafa.tiers.models import Tier
from wafa.tiers.schemas import TierIn, TierPolicyIn, TierUpdate
from wafa.web import benefits
from wafa.web.admin import program_fields as read
from wafa.web.admin.auth import PATH, Admin, current_admin
from wafa.web.admin.forms import (
    Problems,
    apply_change,
    integer,
    optional,
    prune,
    text,
    valid,
)
from wafa.web.messages import N_
from wafa.web.pages import render

router = APIRouter(include_in_schema=False)


def _values(tier: Tier, *, metric: str, currency: str) -> dict[str, Any]:
    """What a tier's editor shows, as the form's fields hold it."""
    held = tier.benefits or {}
    return {
        "name_en": tier.name_en, "name_ar": tier.name_ar,
        "threshold": tiers.format_value(tier.threshold, metric=metric, currency=currency),
        "earn_multiplier": str(held.get("earn_multiplier") or "1"), "welcome_points": str(int(held.get("welcome_points") or 0)),
        "flags": [str(f) for f in held.get("flags") or []],
    }


def _new_name(session: Any, admin: Admin, new: read.NewBenefit | None) -> None:
    if new is not None:
        tenants.update(session, tenant_id=admin.tenant_id,
                       tenant_in=TenantUpdate(benefit_names={new.key: BenefitName(en=new.en, ar=new.ar)}))


# --- the ladder, adding a tier, the policy ----------------------------------------------------------


def _tiers_page(request: Request, admin: Admin, problems: Problems | None = None, failed: str = "", done: str | None = None) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        rows = tiers.tiers_of(session, tenant_id=admin.tenant_id)
        policy = tiers.policy(session, tenant_id=admin.tenant_id)
        counts = Counter(tiers.keys_by_member(session, tenant_id=admin.tenant_id).values())
        currency = programs.get(session, tenant_id=admin.tenant_id).base_currency
        own = tenants.benefit_names(session, tenant_id=admin.tenant_id)
    shown = {t.id: Decimal(tiers.format_value(t.threshold, metric=policy.metric, currency=currency)) for t in rows}
    named = {t.id: benefits.labels((t.benefits or {}).get("flags"), admin.lang, own) for t in rows}
    used = [f for t in rows for f in (t.benefits or {}).get("flags") or []]
    return render(request, "admin/tiers.html", lang=admin.lang, me=admin, section="tiers", rows=rows, policy=policy, counts=counts,
                  thresholds=shown, benefit_names=named, listed=benefits.listed, currency=currency, choices=benefits.choices(admin.lang, own, used),
                  problems=problems, add_problems=problems if failed == "add" else None,
                  policy_problems=problems if failed == "policy" else None, done=done, status=422 if problems else 200)


@router.get("/tiers")
def tier_list(request: Request, done: str | None = None, admin: Admin = Depends(current_admin)) -> Response:
    return _tiers_page(request, admin, done=done)


@router.post("/tiers")
async def add_tier(request: Request, admin: Admin = Depends(current_admin)) -> Response:
    def work(session: Any, form: Any, ctx: Context) -> str:
        fields = read.Fields()
        policy = tiers.policy(session, tenant_id=admin.tenant_id)
        currency = programs.get(session, tenant_id=admin.tenant_id).base_currency
        existing = tiers.tiers_of(session, tenant_id=admin.tenant_id)
        key = text(form, "key")
        rank = read.count(form, fields, "rank", most=1000, empty=None)
        if key and any(t.key == key for t in existing):
            fields.add("key", N_("Another tier has this key."))
        if rank is not None and any(t.rank == rank for t in existing):
            fields.add("rank", N_("Another tier has this rank."))
        data: dict[str, Any] = {
            "key": key, "name_en": read.name(form, fields, "name_en"), "name_ar": read.name(form, fields, "name_ar"), "rank": rank,
            "threshold": read.threshold(form, fields, "threshold", metric=policy.metric, currency=currency),
            "benefits": {"earn_multiplier": read.multiplier(form, fields, empty="1"),
                         "welcome_points": read.count(form, fields, "welcome_points")},
        }
        data["benefits"]["flags"], new = read.flags(form, fields)
        fields.check()
        tier_in = valid(TierIn, prune(data), fields=lambda loc: str(loc[-1]) if loc else None)
        try:
            tier = tiers.create(session, tenant_id=admin.tenant_id, tier_in=tier_in, now=ctx.now())
        except InvalidInput as exc:
            raise read.ladder_problem(exc) from None
        _new_name(session, admin, new)
        admin.record(session, request, action="tier.created", target=f"tier:{tier.id}", details=tier_in.model_dump(mode="json"), now=ctx.now())
        return f"{PATH}/tiers?done=saved"

    return await apply_change(request, admin, work, lambda problems: _tiers_page(request, admin, problems, "add"))


@router.post("/tiers/policy")
async def save_tier_policy(request: Request, admin: Admin = Depends(current_admin)) -> Response:
    def work(session: Any, form: Any, ctx: Context) -> str:
        fields = read.Fields()
        current = tiers.policy(session, tenant_id=admin.tenant_id)
        metric = optional(form, "metric") or current.metric
        thresholds = None
        ladder = tiers.tiers_of(session, tenant_id=admin.tenant_id)
        if ladder and metric != current.metric:
            # 1,000 points must not silently become 1,000 SAR: each tier's threshold is asked again in the new unit.
            currency = programs.get(session, tenant_id=admin.tenant_id).base_currency
            thresholds = {t.key: read.threshold(form, fields, f"threshold-{t.key}", metric=metric, currency=currency) for t in ladder}
        for name, least, most in (("months", 1, 60), ("grace_days", 0, 365), ("max_drop", 1, 20)):
            read.count(form, fields, name, least=least, most=most, empty=None)
        fields.check()
        policy_in = valid(TierPolicyIn, prune({
            "metric": metric, "window": optional(form, "window"), "months": integer(form, "months"),
            "grace_days": integer(form, "grace_days"), "max_drop": integer(form, "max_drop"), "thresholds": thresholds,
        }))
        try:
            tiers.set_policy(session, tenant_id=admin.tenant_id, policy_in=policy_in, now=ctx.now())
        except InvalidInput as exc:
            raise read.ladder_problem(exc, f"threshold-{ladder[-1].key}" if ladder else "metric") from None
        admin.record(session, request, action="tier_policy.updated", target="tier_policy", details=policy_in.model_dump(mode="json"), now=ctx.now())
        return f"{PATH}/tiers?done=policy"

    return await apply_change(request, admin, work, lambda problems: _tiers_page(request, admin, problems, "policy"))


# --- one tier's editor ------------------------------------------------------------------------------


def _tier_page(request: Request, admin: Admin, tier_id: int, problems: Problems | None = None) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        tier = tiers.get_or_raise(session, tenant_id=admin.tenant_id, tier_id=tier_id)
        policy = tiers.policy(session, tenant_id=admin.tenant_id)
        currency = programs.get(session, tenant_id=admin.tenant_id).base_currency
        own = tenants.benefit_names(session, tenant_id=admin.tenant_id)
        values = _values(tier, metric=policy.metric, currency=currency)
    return render(request, "admin/tier_edit.html", lang=admin.lang, me=admin, section="tiers", tier=tier, values=values,
                  policy=policy, currency=currency, choices=benefits.choices(admin.lang, own, values["flags"]),
                  problems=problems, status=422 if problems else 200)


@router.get("/tiers/{tier_id:int}")
def tier_editor(request: Request, tier_id: int, admin: Admin = Depends(current_admin)) -> Response:
    return _tier_page(request, admin, tier_id)


@router.post("/tiers/{tier_id:int}")
async def save_tier(request: Request, tier_id: int, admin: Admin = Depends(current_admin)) -> Response:
    def work(session: Any, form: Any, ctx: Context) -> str:
        tier = tiers.get_or_raise(session, tenant_id=admin.tenant_id, tier_id=tier_id)
        metric = tiers.policy(session, tenant_id=admin.tenant_id).metric
        currency = programs.get(session, tenant_id=admin.tenant_id).base_currency
        fields = read.Fields()
        typed: dict[str, Any] = {
            "name_en": read.name(form, fields, "name_en"), "name_ar": read.name(form, fields, "name_ar"),
            "threshold": read.threshold(form, fields, "threshold", metric=metric, currency=currency),
            "earn_multiplier": read.multiplier(form, fields), "welcome_points": read.count(form, fields, "welcome_points"),
        }
        typed["flags"], new = read.flags(form, fields)
        fields.check()
        current = _values(tier, metric=metric, currency=currency)
        before = read.opened_with(form, current)
        changes: dict[str, Any] = {k: typed[k] for k in ("name_en", "name_ar") if typed[k] != before[k]}
        if not read.same_number(typed["threshold"], before["threshold"]):
            changes["threshold"] = typed["threshold"]
        held = {"earn_multiplier": current["earn_multiplier"], "welcome_points": int(current["welcome_points"]), "flags": current["flags"]}
        kept = dict(held)
        if not read.same_number(typed["earn_multiplier"], before["earn_multiplier"]):
            kept["earn_multiplier"] = typed["earn_multiplier"]
        if not read.same_number(typed["welcome_points"], before["welcome_points"]):
            kept["welcome_points"] = typed["welcome_points"]
        kept["flags"] = read.merged_flags(current["flags"], before["flags"], typed["flags"])
        if kept != held:
            changes["benefits"] = kept
        if changes:
            tier_in = valid(TierUpdate, changes, fields=lambda loc: str(loc[-1]) if loc else None)
            try:
                tiers.update(session, tenant_id=admin.tenant_id, tier_id=tier.id, tier_in=tier_in, now=ctx.now())
            except InvalidInput as exc:
                raise read.ladder_problem(exc) from None
            admin.record(session, request, action="tier.updated", target=f"tier:{tier.id}",
                         details={"key": tier.key, **tier_in.model_dump(mode="json", exclude_none=True)}, now=ctx.now())
        _new_name(session, admin, new)
        return f"{PATH}/tiers?done=saved"

    return await apply_change(request, admin, work, lambda problems: _tier_page(request, admin, tier_id, problems))
