"""Offers in the console: the program's personal offers (a table with their state and use, activating, pausing,
resuming and ending them, and a form for a new one, as /v1/offers does), then the tenant's latest offer model,
how it did against popularity on the holdout, its most popular items, and training a new one now (as POST
/v1/offers/model:train does)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from wafa.analytics import audiences
from wafa.api.deps import Context
from wafa.errors import InvalidInput, NotFound, WafaError
from wafa.offers import catalog, service
from wafa.offers.models import Offer
from wafa.offers.schemas import OfferIn
from wafa.programs import service as programs
from wafa.rewards import catalog as rewards
from wafa.rewards.models import Reward
from wafa.rules import service as rules
from wafa.web.admin.auth import PATH, Admin, current_admin
from wafa.web.admin.campaigns import external_ids_of
from wafa.web.admin.forms import FormError, Problem, Problems, apply_change, integer, local_datetime, names, optional, text, valid
from wafa.web.messages import N_
from wafa.web.pages import render

router = APIRouter(prefix=PATH, include_in_schema=False)

TOP = 10  # popular items listed
_METRICS = ("precision", "recall", "ndcg")
_BAR_WIDTH = 300  # the chart's widest bar (a score of 1), in SVG units


@dataclass(frozen=True)
class Bar:
    """One metric for the model and for popularity, as numbers and as bar widths."""

    metric: str
    model: float
    baseline: float
    model_width: float
    baseline_width: float


def _bars(metrics: dict[str, Any]) -> list[Bar]:
    """The three holdout metrics, model beside popularity (none: the model was trained without a holdout)."""
    k, model, baseline = metrics.get("k", 5), metrics.get("model"), metrics.get("baseline")
    if not model or not baseline:
        return []
    bars = []
    for name in _METRICS:
        ours, theirs = float(model[f"{name}@{k}"]), float(baseline[f"{name}@{k}"])
        bars.append(Bar(name, ours, theirs, round(max(ours, 0.0) * _BAR_WIDTH, 1), round(max(theirs, 0.0) * _BAR_WIDTH, 1)))
    return bars


def _names(session: Session, *, tenant_id: int, items: list[str], lang: str) -> dict[str, str]:
    """Each item's name to show: a reward's from the catalog, a category's own."""
    ids = [int(key) for kind, _, key in (item.partition(":") for item in items) if kind == "reward" and key.isdigit()]
    rewards = {}
    if ids:
        query = select(Reward).where(Reward.tenant_id == tenant_id, Reward.id.in_(ids))
        rewards = {f"reward:{r.id}": (r.name_ar if lang == "ar" and r.name_ar else r.name_en) for r in session.execute(query).scalars()}
    return {item: rewards.get(item, item.partition(":")[2] or item) for item in items}


@dataclass(frozen=True)
class OfferRow:
    """One offer as the console's table shows it."""

    offer: Offer
    reward_name: str | None
    price: int | None  # a reward offer's price in points: its own, else the reward's
    rule_name: str | None
    used: int


@dataclass(frozen=True)
class Pick:
    """A reward or a rule the new-offer form can name."""

    value: str
    label: str


def _offer_rows(session: Session, *, tenant_id: int, lang: str) -> list[OfferRow]:
    found = catalog.list_(session, tenant_id=tenant_id)
    used = catalog.uses(session, tenant_id=tenant_id, offer_ids=[row.id for row in found])
    by_id = rewards.by_ids(session, tenant_id=tenant_id, reward_ids=[row.reward_id for row in found if row.reward_id])
    rule_names = {rule_id: _rule_name(rules.get_or_raise(session, tenant_id=tenant_id, rule_id=rule_id)[1].definition, lang)
                  for rule_id in {row.rule_id for row in found if row.rule_id is not None}}
    out = []
    for row in found:
        reward = by_id.get(row.reward_id or 0)
        out.append(OfferRow(
            row, (reward.name_ar if lang == "ar" and reward.name_ar else reward.name_en) if reward else None,
            (row.points if row.points is not None else reward.points) if reward else None,
            rule_names.get(row.rule_id or 0), used.get(row.id, 0),
        ))
    return out


def _rule_name(definition: dict[str, Any], lang: str) -> str:
    return str((definition.get("name_ar") if lang == "ar" else None) or definition.get("name_en") or "")


def _picks(session: Session, *, tenant_id: int, lang: str) -> tuple[list[Pick], list[Pick]]:
    """The active rewards and the rules not ended (a rule offer's rule must name the offer in an `offer` condition)."""
    reward_picks = [Pick(r.key, f"{(r.name_ar if lang == 'ar' and r.name_ar else r.name_en)} ({r.key})")
                    for r in rewards.list_(session, tenant_id=tenant_id, statuses=("active",), after_id=None, limit=500)[:500]]
    rule_picks = [Pick(str(rule.id), f"#{rule.id} {_rule_name(version.definition, lang)}")
                  for rule, version in rules.list_(session, tenant_id=tenant_id, limit=500) if rule.status != "ended"]
    return reward_picks, rule_picks


def _page(request: Request, admin: Admin, *, done: str | None = None, problems: Problems | None = None) -> Response:
    ctx = Context(request)
    lang = admin.lang.code
    with ctx.transaction() as session:
        stored = service.current(session, tenant_id=admin.tenant_id)
        popular = stored.recommender.popular[:TOP] if stored else []
        item_names = _names(session, tenant_id=admin.tenant_id, items=[item for item, _ in popular], lang=lang)
        offers = _offer_rows(session, tenant_id=admin.tenant_id, lang=lang)
        reward_picks, rule_picks = _picks(session, tenant_id=admin.tenant_id, lang=lang)
        tiers = audiences.tier_choices(session, tenant_id=admin.tenant_id)
        segments = audiences.segment_choices(session, tenant_id=admin.tenant_id)
        session.expunge_all()
    bars = _bars(stored.metrics) if stored else []
    ndcg = next((bar for bar in bars if bar.metric == "ndcg"), None)
    cutoff = datetime.fromisoformat(stored.metrics["cutoff"]) if bars and stored else None
    return render(
        request, "admin/offers.html", lang=admin.lang, me=admin, section="offers", stored=stored, bars=bars, ndcg=ndcg, cutoff=cutoff,
        popular=[(item, item_names[item], share) for item, share in popular], bar_width=_BAR_WIDTH, outcome=done, problems=problems,
        offers=offers, reward_picks=reward_picks, rule_picks=rule_picks, tier_choices=tiers, segment_choices=segments,
        status=422 if problems else 200,
    )


@router.get("/offers")
def offers_page(request: Request, done: str | None = Query(None, max_length=16), admin: Admin = Depends(current_admin)) -> Response:
    return _page(request, admin, done=done)


@router.post("/offers/train")
async def train(request: Request, admin: Admin = Depends(current_admin)) -> Response:
    """Train the tenant's offer model now, and audit it with its holdout metrics."""

    def work(session: Any, form: Any, ctx: Context) -> str:
        try:
            row = service.train(session, tenant_id=admin.tenant_id, now=ctx.now())
        except InvalidInput:
            raise FormError([N_("Nothing to learn from yet: no purchases with item categories and no rewards given. "
                                "Send purchases with their items' categories, or give rewards, then train again.")]) from None
        admin.record(session, request, action="offers.model_trained", target=f"offer_model:{row.id}", details=row.metrics, now=ctx.now())
        return f"{PATH}/offers?done=trained"

    return await apply_change(request, admin, work, lambda problems: _page(request, admin, problems=problems))


# --- personal offers: the new-offer form and each offer's state -------------------------------------------

# A domain's refusal, by the field it names, beside the form's field of that name.
_FIELDS = {"audience.all": "audience", "audience.segments": "segments", "audience.tiers": "tiers", "audience.external_ids": "external_ids",
           "audience.model": "model_top", "audience.experiment": "experiment", "audience.arms": "arms"}


def offer_of(form: Any, *, timezone: str) -> OfferIn:
    """The new-offer form as the API's OfferIn; FormError beside each field to fix."""
    wrong: dict[str, Problem] = {}
    kind = text(form, "kind")
    data: dict[str, Any] = {"key": text(form, "key"), "name_en": text(form, "name_en"), "name_ar": text(form, "name_ar"), "kind": kind,
                            "category": optional(form, "category"), "store_codes": names(form, "store_codes") or []}
    numbers: dict[str, int | None] = {}
    for name in ("points", "rule_id", "valid_days", "per_member_cap", "model_top"):
        try:
            numbers[name] = integer(form, name)
        except FormError as exc:
            wrong |= exc.fields
    if kind == "reward":
        data["reward_key"] = optional(form, "reward_key")
        data["points"] = numbers.get("points")
        if data["reward_key"] is None:
            wrong["reward_key"] = Problem(N_("Choose a reward."))
    elif kind == "rule":
        data["rule_id"] = numbers.get("rule_id")
        if data["rule_id"] is None and "rule_id" not in wrong:
            wrong["rule_id"] = Problem(N_("Choose a rule."))
    else:
        wrong["kind"] = Problem(N_("Choose one of the options."))
    data["valid_days"] = 7 if numbers.get("valid_days") is None else numbers["valid_days"]
    data["per_member_cap"] = numbers.get("per_member_cap")
    data["audience"] = _audience_of(form, numbers.get("model_top"), wrong)
    for name in ("starts_at", "ends_at"):
        try:
            data[name] = local_datetime(form, name, timezone, end_of_day=name == "ends_at")
        except FormError as exc:
            wrong |= exc.fields
    if data.get("starts_at") and data.get("ends_at") and data["ends_at"] <= data["starts_at"]:
        wrong["ends_at"] = Problem(N_("Choose an end after the start."))
    try:
        offer_in: OfferIn = valid(OfferIn, {k: v for k, v in data.items() if v is not None or k == "audience"})
    except FormError as exc:
        wrong = {**exc.fields, **wrong}
        if not wrong:
            raise
    if wrong:
        raise FormError(fields=wrong)
    return offer_in


def _audience_of(form: Any, top: int | None, wrong: dict[str, Problem]) -> dict[str, Any]:
    who = text(form, "audience")
    audience: dict[str, Any] = {}
    if who == "all":
        audience = {"all": True}
    elif who in ("segments", "tiers"):
        audience = {who: [v for v in form.getlist(who) if isinstance(v, str) and v.strip()]}
        if not audience[who]:
            wrong[who] = Problem(N_("Tick at least one segment.") if who == "segments" else N_("Tick at least one tier."))
    elif who == "external_ids":
        audience = {"external_ids": external_ids_of(str(form.get("external_ids", "") or ""))}
        if not audience["external_ids"]:
            wrong["external_ids"] = Problem(N_("Paste at least one external id."))
    elif who == "model":
        if top is None or not 1 <= top <= 50:
            wrong.setdefault("model_top", Problem(N_("Enter a number from 1 to 50.")))
        audience = {"model": {"top": top or 0}}
    else:
        wrong["audience"] = Problem(N_("Choose who is given it."))
    experiment, arms = optional(form, "experiment"), names(form, "arms")
    if experiment or arms:
        if not experiment:
            wrong["experiment"] = Problem(N_("Name the experiment whose arms are given it."))
        if not arms:
            wrong["arms"] = Problem(N_("Name at least one of the experiment's arms."))
        audience.update({"experiment": experiment or "", "arms": arms or []})
    return audience


@router.post("/offers")
async def create_offer(request: Request, admin: Admin = Depends(current_admin)) -> Response:
    """A new offer, as a draft (given to nobody until it is activated); audited as POST /v1/offers does."""

    def work(session: Any, form: Any, ctx: Context) -> str:
        offer_in = offer_of(form, timezone=programs.get(session, tenant_id=admin.tenant_id).timezone)
        try:
            row = catalog.create(session, tenant_id=admin.tenant_id, offer_in=offer_in, now=ctx.now())
        except WafaError as exc:
            raise _beside(exc) from None
        details = offer_in.model_dump(mode="json")
        if "external_ids" in details["audience"]:
            details["audience"] = {**details["audience"], "external_ids": len(details["audience"]["external_ids"])}
        admin.record(session, request, action="offer.created", target=row.key, details=details, now=ctx.now())
        return f"{PATH}/offers?done=created#offers"

    return await apply_change(request, admin, work, lambda problems: _page(request, admin, problems=problems))


def _beside(exc: WafaError) -> FormError:
    """A domain's refusal beside the form field it is about (its own words, which name what to change)."""
    named = (exc.field or "").split("[", 1)[0]  # "audience.segments[0]": the list's field
    field = _FIELDS.get(named, named)
    if isinstance(exc, NotFound) and field == "":
        field = "experiment"  # the one lookup of the form that names no field of its own
    if field in ("key", "name_en", "name_ar", "reward_key", "points", "rule_id", "category", "store_codes", "audience", "segments", "tiers",
                 "external_ids", "model_top", "experiment", "arms", "valid_days", "per_member_cap", "starts_at", "ends_at"):
        return FormError(fields={field: Problem(exc.detail)})
    return FormError([Problem(exc.detail)])


# What each button does: the offer's next status (None: activate), the audit action and the page's outcome.
_CHANGES = {"activate": (None, "offer.activated", "activated"), "pause": ("paused", "offer.paused", "paused"),
            "resume": ("active", "offer.active", "resumed"), "end": ("ended", "offer.ended", "ended")}
OfferKeyPath = Path(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]*$", description="the offer's key")


def _change(name: str) -> None:
    status, action, outcome = _CHANGES[name]

    async def route(request: Request, offer_key: str = OfferKeyPath, admin: Admin = Depends(current_admin)) -> Response:
        def work(session: Any, form: Any, ctx: Context) -> str:
            try:
                if status is None:
                    _, given = catalog.activate(session, tenant_id=admin.tenant_id, key=offer_key, now=ctx.now())
                    details: dict[str, Any] | None = {"given": given}
                else:
                    catalog.set_status(session, tenant_id=admin.tenant_id, key=offer_key, status=status, now=ctx.now())
                    details = None
            except WafaError as exc:
                raise FormError([Problem(exc.detail)]) from None
            admin.record(session, request, action=action, target=offer_key, details=details, now=ctx.now())
            return f"{PATH}/offers?done={outcome}#offers"

        return await apply_change(request, admin, work, lambda problems: _page(request, admin, problems=problems))

    router.add_api_route(f"/offers/{{offer_key}}/{name}", route, methods=["POST"], name=f"console_{name}_offer")


for _name in _CHANGES:
    _change(_name)
