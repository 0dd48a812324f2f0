"""The rewards catalog in the console: a table of rewards (paged, sorted, filtered, exported), a reward's
form (targeting chosen from what the program has, dates from a calendar) and its redemptions (paged,
exported; gifts moved along, redemptions cancelled), partner codes uploaded."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse

from wafa.analytics import audiences
from wafa.api.deps import Context, IdPath
from wafa.errors import WafaError
from wafa.events import seen
from wafa.memberships import service as memberships
from wafa.money import to_major
from wafa.programs import service as programs
from wafa.rewards import catalog, redemptions, vouchers
from wafa.rewards.models import Reward, RewardRedemption
from wafa.rewards.schemas import RewardIn, RewardUpdate
from wafa.web.admin import program_fields as read
from wafa.web.admin import reward_edits as edits
from wafa.web.admin import tables
from wafa.web.admin.auth import PATH, Admin, current_admin
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
    whole,
)
from wafa.web.messages import N_
from wafa.web.pages import render

router = APIRouter(prefix=PATH, include_in_schema=False)
KINDS = ("coupon", "free_product", "cashback", "gift", "voucher", "privilege")
STATUSES = ("active", "draft", "paused", "archived")
REDEMPTION_STATUSES = ("issued", "used", "cancelled", "expired")
# The domain's own sentences a form may show (its validators'), so the catalog translates them.
SAID = (N_("a fixed discount needs an amount"), N_("a percent discount needs a percent"),
        N_("percent is more than 0 and at most 100"), N_("a free_product discount needs the sku given"))
ABC_NAMES = (N_("A customers"), N_("B customers"), N_("C customers"))


# --- what a targeting may name --------------------------------------------------------------------


@dataclass(frozen=True)
class Targets:
    """What the pickers offer: the program's tiers, segments and paid plans, and the item categories of
    recent purchases."""

    tiers: list[audiences.Choice]
    segments: list[audiences.Choice]
    plans: list[audiences.Choice]
    categories: list[str]


def targets_of(session: Any, *, tenant_id: int) -> Targets:
    return Targets(
        tiers=audiences.tier_choices(session, tenant_id=tenant_id),
        segments=audiences.segment_choices(session, tenant_id=tenant_id),
        plans=[audiences.Choice(p.key, p.name_en, p.name_ar, "plan") for p in memberships.list_plans(session, tenant_id=tenant_id)],
        categories=seen.names(session, tenant_id=tenant_id).categories,
    )


def chosen(form: Any, name: str, offered: list[audiences.Choice], kept: list[str] | None = None) -> list[str]:
    """The keys ticked in a checkbox list, each one the list offered or one `kept` (the form opened with it,
    though the program does not have it); anything else (a typed or forged value) is refused next to the
    list, never dropped."""
    keys = {c.key for c in offered} | set(kept or ())
    picked = names(form, name) or []
    if any(key not in keys for key in picked):
        raise FormError(fields={name: Problem(N_("Choose from the list: this program has no “%(name)s”."),
                                              {"name": next(k for k in picked if k not in keys)})})
    return picked


# --- the rewards table ------------------------------------------------------------------------------


_REWARD_SORTS = ("name", "points", "stock", "status", "created")


def _reward_view(request: Request) -> tables.View:
    return tables.view_of(request, sorts=_REWARD_SORTS, default="created", descending=True, filters=("q", "status", "kind"))


def _reward_order(admin: Admin) -> dict[str, Any]:
    return {"name": Reward.name_ar if admin.lang.code == "ar" else Reward.name_en, "points": Reward.points,
            "stock": Reward.stock_left, "status": Reward.status, "created": Reward.id}


def _reward_query(admin: Admin, view: tables.View) -> Any:
    return catalog.table_query(tenant_id=admin.tenant_id, status=view.filters["status"] if view.filters["status"] in STATUSES else None,
                               kind=view.filters["kind"] if view.filters["kind"] in KINDS else None, search=view.filters["q"] or None)


@router.get("/rewards")
def reward_list(request: Request, admin: Admin = Depends(current_admin)) -> Response:
    ctx = Context(request)
    view = _reward_view(request)
    with ctx.transaction() as session:
        found = tables.page_of(session, _reward_query(admin, view), view=view, order=_reward_order(admin), tiebreak=Reward.id)
        stock = {row[0].id: catalog.stock_of(session, reward=row[0]) for row in found.rows}
        currency = programs.get(session, tenant_id=admin.tenant_id).base_currency
    return render(request, "admin/rewards.html", lang=admin.lang, me=admin, section="rewards", table=found, stock=stock,
                  currency=currency, kinds=KINDS, statuses=STATUSES)


@router.get("/rewards.csv")
def export_rewards(request: Request, admin: Admin = Depends(current_admin)) -> StreamingResponse:
    """Every reward the table's filters keep, in its order."""
    ctx = Context(request)
    view = _reward_view(request)
    query = tables.ordered(_reward_query(admin, view), view=view, order=_reward_order(admin), tiebreak=Reward.id)

    def rows() -> Iterator[list[Any]]:
        with ctx.transaction() as session:
            currency = programs.get(session, tenant_id=admin.tenant_id).base_currency
            for (r,) in tables.stream(session, query):
                yield [r.key, r.kind, r.name_en, r.name_ar, r.points, to_major(r.money, currency) if r.money else "",
                       catalog.stock_of(session, reward=r), r.status, " ".join(r.tiers or []), " ".join(r.segments or []),
                       " ".join(r.plans or []), r.valid_from, r.valid_until, r.created_at]

    return tables.csv_response(rows, filename="rewards.csv", header=[
        "key", "kind", "name_en", "name_ar", "points", "money", "stock", "status", "tiers", "segments", "plans", "valid_from",
        "valid_until", "created_at"])


# --- a reward -------------------------------------------------------------------------------------


_REDEMPTION_SORTS = ("when", "points", "status")


def _redemption_view(request: Request) -> tables.View:
    return tables.view_of(request, sorts=_REDEMPTION_SORTS, default="when", descending=True, filters=("status",), size=25)


_REDEMPTION_ORDER = {"when": RewardRedemption.id, "points": RewardRedemption.points, "status": RewardRedemption.status}


def _reward_page(request: Request, admin: Admin, reward_id: int | None, problems: Problems | None = None, done: str | None = None) -> Response:
    ctx = Context(request)
    view = _redemption_view(request)
    with ctx.transaction() as session:
        program = programs.get(session, tenant_id=admin.tenant_id)
        reward = catalog.get_or_raise(session, tenant_id=admin.tenant_id, reward_id=reward_id) if reward_id else None
        stock = catalog.stock_of(session, reward=reward) if reward is not None else None
        found = None
        if reward is not None:
            status = view.filters["status"] if view.filters["status"] in REDEMPTION_STATUSES else None
            found = tables.page_of(session, redemptions.table_query(tenant_id=admin.tenant_id, reward_id=reward.id, status=status),
                                   view=view, order=_REDEMPTION_ORDER, tiebreak=RewardRedemption.id)
        targets = targets_of(session, tenant_id=admin.tenant_id)
        values = edits.values_of(reward, stock=stock, currency=program.base_currency, timezone=program.timezone, targets=targets)
    return render(request, "admin/reward_edit.html", lang=admin.lang, me=admin, section="rewards", reward=reward, kinds=KINDS,
                  statuses=STATUSES, redemption_statuses=REDEMPTION_STATUSES, currency=program.base_currency, stock=stock,
                  values=values, problems=problems, done=done, redemptions=found, targets=targets, status=422 if problems else 200)


@router.get("/rewards/new")
def new_reward(request: Request, admin: Admin = Depends(current_admin)) -> Response:
    return _reward_page(request, admin, None)


@router.get("/rewards/{reward_id}")
def edit_reward(request: Request, reward_id: IdPath, done: str | None = None, admin: Admin = Depends(current_admin)) -> Response:
    return _reward_page(request, admin, reward_id, done=done)


# The fields of "what it gives" each kind reads; one filled in for another kind is refused, never dropped.
_GIVES_FIELDS = {
    "coupon": {"amount", "percent", "min_order", "max_discount", "categories", "more_categories", "uses", "valid_days"},
    "free_product": {"free_sku", "valid_days"}, "cashback": {"rate"}, "gift": {"gift_sku"}, "voucher": {"partner"},
    "privilege": {"valid_days"},
}
_NOT_THIS_KIND = N_("A reward of this kind does not use this field: empty it, or choose the kind that does.")


def gives_of(form: Any) -> dict:
    kind = text(form, "kind")
    if kind in _GIVES_FIELDS:
        stray = {name: Problem(_NOT_THIS_KIND) for name in set().union(*_GIVES_FIELDS.values()) - _GIVES_FIELDS[kind]
                 if names(form, name)}
        if stray:
            raise FormError(fields=stray)
    discount = prune({
        "type": text(form, "discount_type") or "fixed", "amount": optional(form, "amount"), "percent": optional(form, "percent"),
        "min_order": optional(form, "min_order"), "max_discount": optional(form, "max_discount"),
        "categories": (names(form, "categories") or []) + (names(form, "more_categories") or []) or None,
        "skus": names(form, "skus"),
    })
    if kind == "coupon":
        return prune({"type": kind, "discount": discount, "uses": integer(form, "uses"), "valid_days": integer(form, "valid_days")})
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
    raise FormError(fields={"kind": Problem(N_("Choose one of the options."))})


def _form_field(loc: tuple) -> str | None:
    """The form field a pydantic error's location names."""
    parts = [str(p) for p in loc if isinstance(p, str)]
    if not parts:
        return None
    if parts[0] == "limit":
        return "limit_period" if "period" in parts else "limit_count"
    if parts[0] == "gives":
        last = parts[-1]
        if last == "sku":
            return "gift_sku" if "gift" in parts else "free_sku"
        if last in ("discount", "coupon", "gives", "type"):
            return "discount_type" if "coupon" in parts else "kind"
        return last
    return parts[0]


# Domain refusals, said for a person, by the field they name.
_REFUSALS = {
    "key": N_("A reward with this key exists already."),
    "valid_until": N_("The end must be after the start."),
    "stock": N_("A partner voucher's stock is the codes uploaded to it: leave this empty."),
    "amount": N_("Enter an amount more than zero, with no more decimals than the currency has."),
    "rate": N_("Give a rate, or set the point cost in the program settings."),
    "points": N_("A cashback reward converts at least one point."),
    "money": N_("Enter an amount with no more decimals than the currency has."),
}


def refusal(exc: WafaError, fields: dict[str, str]) -> FormError:
    """A domain refusal as a FormError next to the field it names, in a sentence from the catalog."""
    name = (exc.field or "").split("[", 1)[0]
    name = name.rsplit(".", 1)[-1] if name.startswith("gives.") else name
    sentence = fields.get(name)
    if sentence is None:
        return FormError([N_("This value is not valid.")])
    return FormError(fields={name: Problem(sentence)})


def _targeting(form: Any, targets: Targets, opened: dict[str, Any]) -> dict:
    return {name: chosen(form, name, getattr(targets, name), kept=list(opened.get(name) or [])) for name in edits.TARGETING}


def _dates(form: Any, timezone: str) -> dict[str, datetime | None]:
    problems: dict[str, Problem] = {}
    out: dict[str, datetime | None] = {}
    for name, end in (("valid_from", False), ("valid_until", True)):
        try:
            out[name] = local_datetime(form, name, timezone, end_of_day=end)
        except FormError as exc:
            problems |= exc.fields
    if not problems and out["valid_from"] and out["valid_until"] and out["valid_until"] <= out["valid_from"]:
        problems["valid_until"] = Problem(_REFUSALS["valid_until"])
    if problems:
        raise FormError(fields=problems)
    return out


@router.post("/rewards/save")
async def save_reward(request: Request, admin: Admin = Depends(current_admin)) -> Response:
    form = await request.form()
    reward_id = whole(text(form, "reward_id")) or None

    def work(session: Any, form: Any, ctx: Context) -> str:
        program = programs.get(session, tenant_id=admin.tenant_id)
        targets = targets_of(session, tenant_id=admin.tenant_id)
        reward = catalog.get_or_raise(session, tenant_id=admin.tenant_id, reward_id=reward_id, lock=True) if reward_id else None
        stock = catalog.stock_of(session, reward=reward) if reward is not None else None
        current = edits.values_of(reward, stock=stock, currency=program.base_currency, timezone=program.timezone, targets=targets)
        opened = read.opened_with(form, current) if reward is not None else {}
        problems: dict[str, Problem] = {}
        parts: dict[str, Any] = {}
        for part in (lambda: _targeting(form, targets, opened), lambda: _dates(form, program.timezone)):
            try:
                parts |= part()
            except FormError as exc:
                problems |= exc.fields
        if problems:
            raise FormError(fields=problems)
        limit_count = integer(form, "limit_count")
        data = {
            "name_en": text(form, "name_en"), "name_ar": text(form, "name_ar"), "description_en": optional(form, "description_en"),
            "description_ar": optional(form, "description_ar"), "image_url": optional(form, "image_url"), "points": integer(form, "points"),
            "money": optional(form, "money"), "status": optional(form, "status") or "active", "stock": integer(form, "stock"),
            "limit": {"count": limit_count, "period": text(form, "limit_period") or "lifetime"} if limit_count else None, **parts,
        }
        try:
            if reward is not None:
                asked = edits.changes(form, reward, data, current=current, stock=stock, targets=targets)
                if not asked:
                    return f"{PATH}/rewards/{reward.id}?done=saved"
                changes = valid(RewardUpdate, asked, fields=_form_field)
                reward = catalog.update_(session, tenant_id=admin.tenant_id, reward_id=reward.id, reward_in=changes, program=program,
                                         now=ctx.now())
                action, details = "reward.updated", changes.model_dump(mode="json", exclude_unset=True)
            else:
                data |= {"key": text(form, "key"), "gives": gives_of(form)}
                reward_in = valid(RewardIn, {k: v for k, v in data.items() if v not in (None, "")}, fields=_form_field)
                reward = catalog.create(session, tenant_id=admin.tenant_id, reward_in=reward_in, program=program, now=ctx.now())
                action, details = "reward.created", reward_in.model_dump(mode="json", exclude_none=True)
        except WafaError as exc:
            raise refusal(exc, _REFUSALS) from None
        admin.record(session, request, action=action, target=f"reward:{reward.id}", details=details, now=ctx.now())
        return f"{PATH}/rewards/{reward.id}?done=saved"

    return await apply_change(request, admin, work, lambda problems: _reward_page(request, admin, reward_id, problems))


@router.post("/rewards/{reward_id}/vouchers")
async def upload_vouchers(request: Request, reward_id: IdPath, admin: Admin = Depends(current_admin)) -> Response:
    """A partner's codes, one per line (or a CSV file's first column)."""
    form = await request.form()
    upload = form.get("file")
    raw = text(form, "codes")
    if upload is not None and hasattr(upload, "read"):
        raw += "\n" + (await upload.read()).decode("utf-8-sig", errors="replace")
    found = [line.split(",")[0].strip() for line in raw.splitlines() if line.strip()]

    def work(session: Any, form: Any, ctx: Context) -> str:
        if not found:
            raise FormError(fields={"codes": Problem(N_("Paste the codes, one per line, or choose a file."))})
        reward = catalog.get_or_raise(session, tenant_id=admin.tenant_id, reward_id=reward_id)
        imported, duplicates = vouchers.import_codes(session, reward=reward, codes=found, now=ctx.now())
        redemptions.fill_waiting(session, reward=reward, now=ctx.now())
        admin.record(session, request, action="reward.vouchers_uploaded", target=f"reward:{reward_id}",
                     details={"imported": imported, "duplicates": duplicates}, now=ctx.now())
        return f"{PATH}/rewards/{reward_id}?done=vouchers"

    return await apply_change(request, admin, work, lambda problems: _reward_page(request, admin, reward_id, problems))


# --- redemptions ------------------------------------------------------------------------------------


@router.get("/rewards/{reward_id}/redemptions.csv")
def export_redemptions(request: Request, reward_id: IdPath, admin: Admin = Depends(current_admin)) -> StreamingResponse:
    """Every redemption of a reward the table's filter keeps, in its order."""
    ctx = Context(request)
    view = _redemption_view(request)
    with ctx.transaction() as session:
        catalog.get_or_raise(session, tenant_id=admin.tenant_id, reward_id=reward_id)
    status = view.filters["status"] if view.filters["status"] in REDEMPTION_STATUSES else None
    query = tables.ordered(redemptions.table_query(tenant_id=admin.tenant_id, reward_id=reward_id, status=status), view=view,
                           order=_REDEMPTION_ORDER, tiebreak=RewardRedemption.id)

    def rows() -> Iterator[list[Any]]:
        with ctx.transaction() as session:
            for (x,) in tables.stream(session, query):
                yield [x.id, x.member_id, x.source, x.points, redemptions.money_of(x) or "", x.currency or "", x.status,
                       x.fulfilment or "", x.note or "", x.expires_at, x.created_at]

    return tables.csv_response(rows, filename=f"reward-{reward_id}-redemptions.csv", header=[
        "id", "member_id", "source", "points", "money", "currency", "status", "fulfilment", "note", "expires_at", "created_at"])


@router.post("/redemptions/{redemption_id}/fulfilment")
async def fulfil(request: Request, redemption_id: IdPath, admin: Admin = Depends(current_admin)) -> Response:
    """A gift moves on: shipped, delivered, or cancelled before it ships."""
    form = await request.form()
    reward_id = whole(text(form, "reward_id")) or None

    def work(session: Any, form: Any, ctx: Context) -> str:
        status = text(form, "status")
        found = redemptions.fulfil(session, tenant_id=admin.tenant_id, redemption_id=redemption_id, status=status,
                                   note=optional(form, "note"), now=ctx.now())
        admin.record(session, request, action="redemption.fulfilment", target=f"redemption:{redemption_id}",
                     details={"status": status}, now=ctx.now())
        return f"{PATH}/rewards/{found.reward_id}?done=fulfilment"

    return await apply_change(request, admin, work, lambda problems: _reward_page(request, admin, reward_id, problems))


@router.post("/redemptions/{redemption_id}/cancel")
async def cancel_redemption(request: Request, redemption_id: IdPath, admin: Admin = Depends(current_admin)) -> Response:
    """Undo a redemption not yet used: the member gets the points (and money) back, the code is void."""
    form = await request.form()
    reward_id = whole(text(form, "reward_id")) or None

    def work(session: Any, form: Any, ctx: Context) -> str:
        try:
            found = redemptions.cancel(session, tenant_id=admin.tenant_id, redemption_id=redemption_id, now=ctx.now(),
                                       reason=optional(form, "reason") or "cancelled in the console")
        except WafaError:
            raise FormError([N_("This redemption can no longer be cancelled: it is used, shipped or expired.")]) from None
        admin.record(session, request, action="redemption.cancelled", target=f"redemption:{redemption_id}",
                     details={"reward_id": found.reward_id, "member_id": found.member_id, "points": found.points}, now=ctx.now())
        return f"{PATH}/rewards/{found.reward_id}?done=cancelled"

    return await apply_change(request, admin, work, lambda problems: _reward_page(request, admin, reward_id, problems))
