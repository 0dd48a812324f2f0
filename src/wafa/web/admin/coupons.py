"""Coupon campaigns in the console: a table of campaigns, generating one (dates from a calendar, categories
chosen from those purchases name), and each campaign after it is out: its usage (codes used and left,
uses over time), pause and resume, a new end of validity, its codes paged and exported again."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response, StreamingResponse

from wafa.api.deps import Context, IdPath
from wafa.errors import WafaError
from wafa.money import to_major
from wafa.programs import service as programs
from wafa.rewards import campaigns, catalog, coupons
from wafa.rewards.discounts import Discount
from wafa.rewards.models import Coupon, CouponCampaign
from wafa.rewards.schemas import CampaignIn
from wafa.web.admin import tables
from wafa.web.admin.auth import PATH, Admin, current_admin
from wafa.web.admin.catalog import refusal, targets_of
from wafa.web.admin.forms import (
    FormError,
    Problem,
    Problems,
    apply_change,
    integer,
    local_datetime,
    names,
    optional,
    prune,
    text,
    valid,
)
from wafa.web.messages import N_
from wafa.web.pages import check_csrf, render

router = APIRouter(prefix=PATH, include_in_schema=False)

_CAMPAIGN_SORTS = ("created", "name", "codes", "uses", "until")
# Issue order by default: it reads a campaign of a million codes through its index, without sorting them.
_CODE_SORTS = ("issued", "code", "uses")
_REFUSALS = {
    "valid_until": N_("The end must be after the start and in the future."),
    "amount": N_("Enter an amount more than zero, with no more decimals than the currency has."),
    "min_order": N_("Enter an amount with no more decimals than the currency has."),
}


# --- the campaigns ----------------------------------------------------------------------------------


def _campaign_view(request: Request) -> tables.View:
    return tables.view_of(request, sorts=_CAMPAIGN_SORTS, default="created", descending=True, filters=("q", "status"))


def _campaign_query(admin: Admin, view: tables.View) -> tuple[Any, dict[str, Any]]:
    query = campaigns.table_query(tenant_id=admin.tenant_id, status=view.filters["status"] or None, search=view.filters["q"] or None)
    uses = query.selected_columns.uses
    return query, {"created": CouponCampaign.id, "name": CouponCampaign.name, "codes": CouponCampaign.codes, "uses": uses,
                   "until": CouponCampaign.valid_until}


def _list_page(request: Request, admin: Admin, problems: Problems | None = None) -> Response:
    ctx = Context(request)
    view = _campaign_view(request)
    query, order = _campaign_query(admin, view)
    with ctx.transaction() as session:
        found = tables.page_of(session, query, view=view, order=order, tiebreak=CouponCampaign.id)
        currency = programs.get(session, tenant_id=admin.tenant_id).base_currency
        categories = targets_of(session, tenant_id=admin.tenant_id).categories
    discounts = {row[0].id: catalog.discount_to_api(Discount.from_json(row[0].discount)) for row in found.rows}
    return render(request, "admin/coupons.html", lang=admin.lang, me=admin, section="coupons", table=found, discounts=discounts,
                  currency=currency, categories=categories, problems=problems, statuses=campaigns.STATUSES,
                  status=422 if problems else 200)


@router.get("/coupons")
def campaign_list(request: Request, admin: Admin = Depends(current_admin)) -> Response:
    return _list_page(request, admin)


@router.get("/coupons.csv")
def export_campaigns(request: Request, admin: Admin = Depends(current_admin)) -> StreamingResponse:
    ctx = Context(request)
    view = _campaign_view(request)
    query, order = _campaign_query(admin, view)
    query = tables.ordered(query, view=view, order=order, tiebreak=CouponCampaign.id)

    def rows() -> Iterator[list[Any]]:
        with ctx.transaction() as session:
            for c, uses in tables.stream(session, query):
                d = catalog.discount_to_api(Discount.from_json(c.discount))
                yield [c.id, c.name, d["type"], d.get("amount") or d.get("percent") or d.get("sku", ""), d["currency"], c.codes,
                       c.max_uses, uses, c.status, c.valid_from, c.valid_until, c.created_at]

    return tables.csv_response(rows, filename="coupon-campaigns.csv", header=[
        "id", "name", "discount_type", "discount", "currency", "codes", "uses_per_code", "uses", "status", "valid_from", "valid_until",
        "created_at"])


def _field(loc: tuple) -> str | None:
    parts = [str(p) for p in loc if isinstance(p, str)]
    if not parts:
        return None
    if parts[0] == "discount":
        return parts[-1] if len(parts) > 1 and parts[-1] != "discount" else "discount_type"
    return parts[0]


def _dates(form: Any, timezone: str, *names_: str) -> dict[str, datetime | None]:
    out: dict[str, datetime | None] = {}
    problems: dict[str, Problem] = {}
    for name in names_:
        try:
            out[name] = local_datetime(form, name, timezone, end_of_day=name == "valid_until")
        except FormError as exc:
            problems |= exc.fields
    if problems:
        raise FormError(fields=problems)
    return out


@router.post("/coupons")
async def create_campaign(request: Request, admin: Admin = Depends(current_admin)) -> Response:
    def work(session: Any, form: Any, ctx: Context) -> str:
        program = programs.get(session, tenant_id=admin.tenant_id)
        dates = _dates(form, program.timezone, "valid_from", "valid_until")
        discount = prune({
            "type": text(form, "discount_type") or "fixed", "amount": optional(form, "amount"), "percent": optional(form, "percent"),
            "min_order": optional(form, "min_order"), "max_discount": optional(form, "max_discount"),
            "categories": (names(form, "categories") or []) + (names(form, "more_categories") or []) or None,
        })
        campaign_in = valid(CampaignIn, {k: v for k, v in {
            "name": text(form, "name"), "discount": discount, "count": integer(form, "count"), "max_uses": integer(form, "max_uses"),
            "prefix": text(form, "prefix").upper(), **dates,
        }.items() if v not in (None, "")}, fields=_field)
        try:
            campaign = coupons.create_campaign(
                session, tenant_id=admin.tenant_id, name=campaign_in.name,
                discount=catalog.discount_of(campaign_in.discount, base_currency=program.base_currency), count=campaign_in.count,
                max_uses=campaign_in.max_uses, prefix=campaign_in.prefix, length=campaign_in.length, valid_from=campaign_in.valid_from,
                valid_until=campaign_in.valid_until, now=ctx.now(),
            )
        except WafaError as exc:
            raise refusal(exc, _REFUSALS) from None
        admin.record(session, request, action="coupon_campaign.created", target=f"coupon_campaign:{campaign.id}",
                     details=json.loads(campaign_in.model_dump_json(exclude_none=True)), now=ctx.now())
        return f"{PATH}/coupons/{campaign.id}?done=generated"

    return await apply_change(request, admin, work, lambda problems: _list_page(request, admin, problems))


# --- one campaign ---------------------------------------------------------------------------------


def _code_view(request: Request) -> tables.View:
    return tables.view_of(request, sorts=_CODE_SORTS, default="issued", filters=("state", "q"), size=50)


_CODE_ORDER = {"issued": Coupon.id, "code": Coupon.code, "uses": Coupon.uses}


def _code_query(admin: Admin, campaign_id: int, view: tables.View) -> Any:
    state = view.filters["state"] if view.filters["state"] in campaigns.CODE_STATES else None
    return campaigns.codes_query(tenant_id=admin.tenant_id, campaign_id=campaign_id, state=state, search=view.filters["q"] or None)


def _campaign_page(request: Request, admin: Admin, campaign_id: int, problems: Problems | None = None, done: str | None = None) -> Response:
    ctx = Context(request)
    view = _code_view(request)
    now = ctx.now()
    with ctx.transaction() as session:
        program = programs.get(session, tenant_id=admin.tenant_id)
        campaign = coupons.get_campaign_or_raise(session, tenant_id=admin.tenant_id, campaign_id=campaign_id)
        usage = campaigns.usage(session, campaign=campaign, now=now, timezone=program.timezone)
        # Live codes are for the roles that run campaigns; the others see how the campaign is used.
        codes = (tables.page_of(session, _code_query(admin, campaign_id, view), view=view, order=_CODE_ORDER, tiebreak=Coupon.id)
                 if admin.can("marketing") else None)
    return render(request, "admin/coupon_campaign.html", lang=admin.lang, me=admin, section="coupons", campaign=campaign, usage=usage,
                  codes=codes, discount=catalog.discount_to_api(Discount.from_json(campaign.discount)), now=now,
                  spent={cur: to_major(amount, cur) for cur, amount in usage.discount.items()}, problems=problems, done=done,
                  states=campaigns.CODE_STATES, coupon_status=coupons.status_of, status=422 if problems else 200)


@router.get("/coupons/{campaign_id}")
def campaign_page(request: Request, campaign_id: IdPath, done: str | None = None, admin: Admin = Depends(current_admin)) -> Response:
    return _campaign_page(request, admin, campaign_id, done=done)


@router.post("/coupons/{campaign_id}/status")
async def set_status(request: Request, campaign_id: IdPath, admin: Admin = Depends(current_admin)) -> Response:
    """Pause (the till refuses the codes) or resume a campaign."""
    def work(session: Any, form: Any, ctx: Context) -> str:
        status = text(form, "status")
        if status not in campaigns.STATUSES:
            raise FormError([N_("Choose one of the options.")])
        campaigns.set_status(session, tenant_id=admin.tenant_id, campaign_id=campaign_id, status=status)
        admin.record(session, request, action="coupon_campaign.paused" if status == "paused" else "coupon_campaign.resumed",
                     target=f"coupon_campaign:{campaign_id}", now=ctx.now())
        return f"{PATH}/coupons/{campaign_id}?done={status}"

    return await apply_change(request, admin, work, lambda problems: _campaign_page(request, admin, campaign_id, problems))


@router.post("/coupons/{campaign_id}/validity")
async def set_validity(request: Request, campaign_id: IdPath, admin: Admin = Depends(current_admin)) -> Response:
    """A new end for every code of the campaign (empty: no end)."""
    def work(session: Any, form: Any, ctx: Context) -> str:
        program = programs.get(session, tenant_id=admin.tenant_id)
        until = _dates(form, program.timezone, "valid_until")["valid_until"]
        before = coupons.get_campaign_or_raise(session, tenant_id=admin.tenant_id, campaign_id=campaign_id).valid_until
        try:
            campaigns.set_valid_until(session, tenant_id=admin.tenant_id, campaign_id=campaign_id, valid_until=until, now=ctx.now())
        except WafaError as exc:
            raise refusal(exc, _REFUSALS) from None
        admin.record(session, request, action="coupon_campaign.validity_changed", target=f"coupon_campaign:{campaign_id}",
                     details={"from": before.isoformat() if before else None, "to": until.isoformat() if until else None}, now=ctx.now())
        return f"{PATH}/coupons/{campaign_id}?done=validity"

    return await apply_change(request, admin, work, lambda problems: _campaign_page(request, admin, campaign_id, problems))


@router.post("/coupons/{campaign_id}/codes.csv")
def export_codes(request: Request, campaign_id: IdPath, admin: Admin = Depends(current_admin), csrf: str = Form("")) -> StreamingResponse:
    """The campaign's codes again (those the table's filters keep, in its order), streamed. Live codes are
    as good as money: the roles that run campaigns only, by a form post carrying the CSRF token (never a
    link another site could open), and every export is in the audit trail."""
    check_csrf(request, csrf, admin.csrf)
    admin.require("marketing")
    ctx = Context(request)
    view = _code_view(request)
    with ctx.transaction() as session:
        campaign = coupons.get_campaign_or_raise(session, tenant_id=admin.tenant_id, campaign_id=campaign_id)
        admin.record(session, request, action="coupon_campaign.exported", target=f"coupon_campaign:{campaign_id}",
                     details={k: v for k, v in view.filters.items() if v}, now=ctx.now())
    now = ctx.now()
    query = tables.ordered(_code_query(admin, campaign_id, view), view=view, order=_CODE_ORDER, tiebreak=Coupon.id)

    def rows() -> Iterator[list[Any]]:
        with ctx.transaction() as session:
            for c in tables.stream(session, query, batch=10_000):
                yield [c.code, coupons.status_of(c, now, campaign), c.uses, c.max_uses, c.valid_from, coupons.valid_until_of(c, campaign)]

    return tables.csv_response(rows, filename=f"campaign-{campaign_id}-codes.csv",
                               header=["code", "status", "uses", "max_uses", "valid_from", "valid_until"])
