"""The rewards catalog in the console (create, edit, stock, partner codes) and coupon campaigns
(generate, export as CSV)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from wafa.api.deps import Context, IdPath
from wafa.errors import WafaError
from wafa.programs import service as programs
from wafa.rewards import catalog, coupons, redemptions, vouchers
from wafa.rewards.discounts import Discount
from wafa.rewards.schemas import CampaignIn, DiscountIn, RewardIn, RewardUpdate
from wafa.web.admin.auth import PATH, Admin, current_admin
from wafa.web.admin.forms import FormError, integer, names, optional, problems_of, prune, text
from wafa.web.pages import check_csrf, redirect, render

router = APIRouter(prefix=PATH, include_in_schema=False)
KINDS = ("coupon", "free_product", "cashback", "gift", "voucher", "privilege")


async def _posted(request: Request, admin: Admin) -> Any:
    form = await request.form()
    check_csrf(request, str(form.get("csrf", "")), admin.csrf)
    return form


def _discount(form: Any, prefix: str = "") -> dict:
    return prune({
        "type": text(form, f"{prefix}discount_type") or "fixed", "amount": optional(form, f"{prefix}amount"),
        "percent": optional(form, f"{prefix}percent"), "min_order": optional(form, f"{prefix}min_order"),
        "max_discount": optional(form, f"{prefix}max_discount"), "categories": names(form, f"{prefix}categories"),
        "skus": names(form, f"{prefix}skus"), "sku": optional(form, f"{prefix}free_sku"),
    })


def gives_of(form: Any) -> dict:
    kind = text(form, "kind")
    if kind == "coupon":
        return prune({"type": kind, "discount": _discount(form), "uses": integer(form, "uses"), "valid_days": integer(form, "valid_days")})
    if kind == "free_product":
        return prune({"type": kind, "sku": optional(form, "free_sku"), "valid_days": integer(form, "valid_days")})
    if kind == "cashback":
        return prune({"type": kind, "rate": optional(form, "rate")})
    if kind == "gift":
        return prune({"type": kind, "sku": optional(form, "gift_sku")})
    if kind == "voucher":
        return {"type": kind, "partner": text(form, "partner")}
    if kind == "privilege":
        return prune({"type": kind, "valid_days": integer(form, "valid_days")})
    raise FormError([f"kind: choose one of {', '.join(KINDS)}"])


def _common(form: Any) -> dict:
    limit = prune({"count": integer(form, "limit_count"), "period": optional(form, "limit_period")}) if integer(form, "limit_count") else None
    return prune({
        "name_en": text(form, "name_en"), "name_ar": text(form, "name_ar"), "description_en": optional(form, "description_en"),
        "description_ar": optional(form, "description_ar"), "image_url": optional(form, "image_url"), "points": integer(form, "points"),
        "money": optional(form, "money"), "limit": limit, "valid_from": optional(form, "valid_from"), "valid_until": optional(form, "valid_until"),
        "tiers": names(form, "tiers"), "segments": names(form, "segments"), "plans": names(form, "plans"), "status": optional(form, "status"),
    })


@router.get("/rewards")
def reward_list(request: Request, admin: Admin = Depends(current_admin)) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        rows = catalog.list_(session, tenant_id=admin.tenant_id, statuses=None, after_id=None, limit=500)
        stock = {r.id: catalog.stock_of(session, reward=r) for r in rows}
        currency = programs.get(session, tenant_id=admin.tenant_id).base_currency
    return render(request, "admin/rewards.html", lang=admin.lang, me=admin, section="rewards", rows=rows, stock=stock, currency=currency)


def _reward_page(request: Request, admin: Admin, reward: Any, problems: list[str] | None = None, status: int = 200, done: str | None = None) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        currency = programs.get(session, tenant_id=admin.tenant_id).base_currency
        stock = catalog.stock_of(session, reward=reward) if reward is not None else None
        recent = redemptions.list_by_reward(session, tenant_id=admin.tenant_id, reward_id=reward.id, limit=20) if reward is not None else []
    return render(request, "admin/reward_edit.html", lang=admin.lang, me=admin, section="rewards", reward=reward, kinds=KINDS,
                  currency=currency, stock=stock, problems=problems, status=status, done=done, recent=recent)


@router.get("/rewards/new")
def new_reward(request: Request, admin: Admin = Depends(current_admin)) -> Response:
    return _reward_page(request, admin, None)


@router.get("/rewards/{reward_id}")
def edit_reward(request: Request, reward_id: IdPath, done: str | None = None, admin: Admin = Depends(current_admin)) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        reward = catalog.get_or_raise(session, tenant_id=admin.tenant_id, reward_id=reward_id)
    return _reward_page(request, admin, reward, done=done)


@router.post("/rewards/save")
async def save_reward(request: Request, admin: Admin = Depends(current_admin)) -> Response:
    form = await _posted(request, admin)
    reward_id = integer(form, "reward_id")

    def work() -> Response:
        ctx = Context(request)
        reward = None
        try:
            if not admin.can_change:
                raise FormError(["your role lets you read the console, not change it"])
            with ctx.transaction() as session:
                program = programs.get(session, tenant_id=admin.tenant_id)
                if reward_id:
                    data = _common(form)
                    stock = text(form, "stock")
                    data.update({"stock": int(stock)} if stock.isdigit() else {"unlimited_stock": True} if text(form, "unlimited") else {})
                    try:
                        changes = RewardUpdate.model_validate(data)
                    except ValidationError as exc:
                        raise problems_of(exc) from None
                    reward = catalog.update_(session, tenant_id=admin.tenant_id, reward_id=reward_id, reward_in=changes, program=program, now=ctx.now())
                    action, details = "reward.updated", changes.model_dump(mode="json", exclude_unset=True)
                else:
                    data = {**_common(form), "key": text(form, "key"), "gives": gives_of(form)}
                    if text(form, "stock").isdigit():
                        data["stock"] = int(text(form, "stock"))
                    try:
                        reward_in = RewardIn.model_validate(data)
                    except ValidationError as exc:
                        raise problems_of(exc) from None
                    reward = catalog.create(session, tenant_id=admin.tenant_id, reward_in=reward_in, program=program, now=ctx.now())
                    action, details = "reward.created", reward_in.model_dump(mode="json", exclude_none=True)
                admin.record(session, request, action=action, target=f"reward:{reward.id}", details=details, now=ctx.now())
                return redirect(f"{PATH}/rewards/{reward.id}?done=saved")
        except (FormError, WafaError) as exc:
            problems = exc.problems if isinstance(exc, FormError) else [exc.detail]
            if reward_id:
                with ctx.transaction() as session:
                    reward = catalog.get_or_raise(session, tenant_id=admin.tenant_id, reward_id=reward_id)
            return _reward_page(request, admin, reward, problems=problems, status=422)

    return await run_in_threadpool(work)


@router.post("/rewards/{reward_id}/vouchers")
async def upload_vouchers(request: Request, reward_id: IdPath, admin: Admin = Depends(current_admin)) -> Response:
    """A partner's codes, one per line (or a CSV file's first column)."""
    form = await _posted(request, admin)
    upload = form.get("file")
    raw = text(form, "codes")
    if upload is not None and hasattr(upload, "read"):
        raw += "\n" + (await upload.read()).decode("utf-8-sig", errors="replace")
    found = [line.split(",")[0].strip() for line in raw.splitlines() if line.strip()]

    def work() -> Response:
        ctx = Context(request)
        try:
            if not admin.can_change:
                raise FormError(["your role lets you read the console, not change it"])
            with ctx.transaction() as session:
                reward = catalog.get_or_raise(session, tenant_id=admin.tenant_id, reward_id=reward_id)
                imported, duplicates = vouchers.import_codes(session, reward=reward, codes=found, now=ctx.now())
                redemptions.fill_waiting(session, reward=reward, now=ctx.now())
                admin.record(session, request, action="reward.vouchers_uploaded", target=f"reward:{reward_id}",
                             details={"imported": imported, "duplicates": duplicates}, now=ctx.now())
        except (FormError, WafaError) as exc:
            with ctx.transaction() as session:
                reward = catalog.get_or_raise(session, tenant_id=admin.tenant_id, reward_id=reward_id)
            return _reward_page(request, admin, reward, problems=exc.problems if isinstance(exc, FormError) else [exc.detail], status=422)
        return redirect(f"{PATH}/rewards/{reward_id}?done=vouchers")

    return await run_in_threadpool(work)


# --- coupon campaigns -----------------------------------------------------------------------------


@router.get("/coupons")
def campaign_list(request: Request, done: int | None = None, admin: Admin = Depends(current_admin)) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        rows = coupons.list_campaigns(session, tenant_id=admin.tenant_id)
        used = {c.id: coupons.campaign_uses(session, tenant_id=admin.tenant_id, campaign_id=c.id) for c in rows}
        currency = programs.get(session, tenant_id=admin.tenant_id).base_currency
    return render(request, "admin/coupons.html", lang=admin.lang, me=admin, section="coupons", rows=rows, used=used, currency=currency,
                  problems=None, done=done, discounts={c.id: catalog.discount_to_api(Discount.from_json(c.discount)) for c in rows})


@router.post("/coupons")
async def create_campaign(request: Request, admin: Admin = Depends(current_admin)) -> Response:
    form = await _posted(request, admin)

    def work() -> Response:
        ctx = Context(request)
        try:
            if not admin.can_change:
                raise FormError(["your role lets you read the console, not change it"])
            try:
                campaign_in = CampaignIn.model_validate(prune({
                    "name": text(form, "name"), "discount": DiscountIn.model_validate(_discount(form)).model_dump(exclude_none=True),
                    "count": integer(form, "count"), "max_uses": integer(form, "max_uses"), "prefix": text(form, "prefix").upper(),
                    "valid_from": optional(form, "valid_from"), "valid_until": optional(form, "valid_until"),
                }))
            except ValidationError as exc:
                raise problems_of(exc) from None
            with ctx.transaction() as session:
                program = programs.get(session, tenant_id=admin.tenant_id)
                campaign = coupons.create_campaign(
                    session, tenant_id=admin.tenant_id, name=campaign_in.name,
                    discount=catalog.discount_of(campaign_in.discount, base_currency=program.base_currency), count=campaign_in.count,
                    max_uses=campaign_in.max_uses, prefix=campaign_in.prefix, length=campaign_in.length, valid_from=campaign_in.valid_from,
                    valid_until=campaign_in.valid_until, now=ctx.now(),
                )
                admin.record(session, request, action="coupon_campaign.created", target=f"coupon_campaign:{campaign.id}",
                             details=json.loads(campaign_in.model_dump_json(exclude_none=True)), now=ctx.now())
            return redirect(f"{PATH}/coupons?done={campaign.id}")
        except (FormError, WafaError) as exc:
            problems = exc.problems if isinstance(exc, FormError) else [exc.detail]
            with ctx.transaction() as session:
                rows = coupons.list_campaigns(session, tenant_id=admin.tenant_id)
                used = {c.id: coupons.campaign_uses(session, tenant_id=admin.tenant_id, campaign_id=c.id) for c in rows}
                currency = programs.get(session, tenant_id=admin.tenant_id).base_currency
            return render(request, "admin/coupons.html", lang=admin.lang, me=admin, section="coupons", rows=rows, used=used, currency=currency,
                          problems=problems, done=None, status=422,
                          discounts={c.id: catalog.discount_to_api(Discount.from_json(c.discount)) for c in rows})

    return await run_in_threadpool(work)


@router.get("/coupons/{campaign_id}/codes.csv")
def export_codes(request: Request, campaign_id: IdPath, admin: Admin = Depends(current_admin)) -> StreamingResponse:
    ctx = Context(request)
    with ctx.transaction() as session:
        coupons.get_campaign_or_raise(session, tenant_id=admin.tenant_id, campaign_id=campaign_id)
        admin.record(session, request, action="coupon_campaign.exported", target=f"coupon_campaign:{campaign_id}", now=ctx.now())
    now = ctx.now()

    def rows() -> Iterator[str]:
        with ctx.transaction() as session:
            yield from coupons.csv_lines(coupons.campaign_codes(session, tenant_id=admin.tenant_id, campaign_id=campaign_id), now)

    return StreamingResponse(rows(), media_type="text/csv",
                             headers={"Content-Disposition": f'attachment; filename="campaign-{campaign_id}-codes.csv"'})


@router.post("/redemptions/{redemption_id}/fulfilment")
async def fulfil(request: Request, redemption_id: IdPath, admin: Admin = Depends(current_admin)) -> Response:
    """A gift moves on: shipped, delivered, or cancelled before it ships."""
    form = await _posted(request, admin)
    status = text(form, "status")

    def work() -> Response:
        ctx = Context(request)
        if not admin.can_change:
            raise FormError(["your role lets you read the console, not change it"])
        with ctx.transaction() as session:
            found = redemptions.fulfil(session, tenant_id=admin.tenant_id, redemption_id=redemption_id, status=status,
                                       note=optional(form, "note"), now=ctx.now())
            admin.record(session, request, action="redemption.fulfilment", target=f"redemption:{redemption_id}",
                         details={"status": status}, now=ctx.now())
        return redirect(f"{PATH}/rewards/{found.reward_id}?done=fulfilment")

    return await run_in_threadpool(work)
