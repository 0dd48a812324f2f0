"""Segments (RFM, A/B/C and the program's own, whose conditions are chosen from what the program has) and
API keys in the console."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import TypeAdapter, ValidationError

from wafa.analytics import abc, audiences, custom_segments, segments
from wafa.analytics.rfm import SEGMENTS
from wafa.analytics.schemas import SegmentIn
from wafa.analytics.segment_rules import SegmentCondition
from wafa.api.deps import Context, IdPath
from wafa.errors import WafaError
from wafa.inputs import TYPED_BY_PEOPLE
from wafa.members import service as members
from wafa.programs import service as programs
from wafa.tenants import service as tenants
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
    problems_of,
    prune,
    text,
    valid,
)
from wafa.web.admin.program_fields import number as read_number
from wafa.web.messages import N_
from wafa.web.pages import render

router = APIRouter(prefix=PATH, include_in_schema=False)
_CONDITIONS = TypeAdapter(list[SegmentCondition])
# The form's condition types: the member attributes are offered one by one, each with its own picker.
SEGMENT_CONDITIONS = ("rfm_segment", "tier", "last_purchase", "total_spend", "churn_risk", "locale", "city", "age_band")
ROWS = 4
LOCALES = ("ar", "en")
AGE_BANDS = ("under_18", "18_24", "25_34", "35_44", "45_54", "55_64", "65_plus", "unknown")
_TICK = N_("Tick at least one.")
_NOT_OFFERED = N_("Choose from the list: this program has no “%(name)s”.")
_UNKNOWN_IN_JSON = N_("The conditions name something this program does not have (at %(field)s): choose tiers and segments from the lists.")


# --- segments -------------------------------------------------------------------------------------


def _segments_page(request: Request, admin: Admin, problems: Problems | None = None, done: str | None = None) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        rfm = segments.summary(session, tenant_id=admin.tenant_id)
        ranking = abc.summary(session, tenant_id=admin.tenant_id)
        own = [(s, custom_segments.size(session, tenant_id=admin.tenant_id, segment_id=s.id),
                json.dumps(s.conditions, ensure_ascii=False, indent=1))
               for s in custom_segments.list_(session, tenant_id=admin.tenant_id)]
        tiers = audiences.tier_choices(session, tenant_id=admin.tenant_id)
        cities = members.cities(session, tenant_id=admin.tenant_id)
        timezone = programs.get(session, tenant_id=admin.tenant_id).timezone
    return render(request, "admin/segments.html", lang=admin.lang, me=admin, section="segments", rfm=rfm, rfm_names=SEGMENTS,
                  abc=ranking, own=own, kinds=SEGMENT_CONDITIONS, rows=ROWS, tiers=tiers, tier_names={t.key: t for t in tiers},
                  cities=cities, locales=LOCALES, age_bands=AGE_BANDS, timezone=timezone, problems=problems, done=done,
                  status=422 if problems else 200)


@router.get("/segments")
def segment_page(request: Request, done: str | None = None, admin: Admin = Depends(current_admin)) -> Response:
    return _segments_page(request, admin, done=done)


def _picked(form: Any, name: str, offered: list[str] | tuple[str, ...]) -> list[str]:
    """The values ticked in a checkbox list, each one it offered."""
    found = names(form, name) or []
    stray = next((v for v in found if v not in offered), None)
    if stray is not None:
        raise FormError(fields={name: Problem(_NOT_OFFERED, {"name": stray[:64]})})
    if not found:
        raise FormError(fields={name: Problem(_TICK)})
    return found


def segment_condition(form: Any, i: int, *, tiers: list[str], cities: list[str], timezone: str) -> dict | None:
    """Row `i` of the form as a condition (None when its type is not chosen)."""
    p = f"s{i}"
    kind = text(form, f"{p}-type")
    if not kind:
        return None
    if kind == "rfm_segment":
        return {"type": kind, "any_of": _picked(form, f"{p}-rfm", list(SEGMENTS))}
    if kind == "tier":
        return {"type": kind, "any_of": _picked(form, f"{p}-tiers", tiers)}
    if kind == "locale":
        return {"type": "member_attribute", "attribute": "locale", "any_of": _picked(form, f"{p}-locales", LOCALES)}
    if kind == "city":
        return {"type": "member_attribute", "attribute": "city", "any_of": _picked(form, f"{p}-cities", cities)}
    if kind == "age_band":
        return {"type": "member_attribute", "attribute": "age_band", "any_of": _picked(form, f"{p}-ages", AGE_BANDS)}
    if kind == "last_purchase":
        before = local_datetime(form, f"{p}-before", timezone)
        after = local_datetime(form, f"{p}-after", timezone)
        found = prune({"type": kind, "within_days": integer(form, f"{p}-days"), "before": before.date().isoformat() if before else None,
                       "after": after.date().isoformat() if after else None})
        if len(found) == 1:
            raise FormError(fields={f"{p}-days": Problem(N_("Give a number of days, or a day before or after."))})
        return found
    if kind == "total_spend":
        found = prune({"type": kind, "at_least": optional(form, f"{p}-at_least"), "at_most": optional(form, f"{p}-at_most")})
        if len(found) == 1:
            raise FormError(fields={f"{p}-at_least": Problem(N_("Give at least or at most."))})
        return found
    if kind == "churn_risk":
        # A JSON number to the schema (wafa.inputs.Number): read as typed, Arabic-Indic digits included.
        typed = optional(form, f"{p}-at_least")
        risk = read_number(typed) if typed else None
        return {"type": kind, "at_least": float(risk) if risk is not None else typed}
    raise FormError(fields={f"{p}-type": Problem(N_("Choose one of the options."))})


def _row_field(loc: tuple) -> str | None:
    """The form field of a pydantic error in the conditions built from the rows."""
    if not loc or not isinstance(loc[0], int):
        return None
    names_ = [str(x) for x in loc[1:] if isinstance(x, str)]
    last = names_[-1] if names_ else ""
    return f"s{loc[0]}-" + {"within_days": "days", "before": "before", "after": "after", "at_most": "at_most"}.get(last, "at_least")


def _conditions(session: Any, form: Any, admin: Admin) -> list:
    if text(form, "conditions_json"):
        try:
            raw = json.loads(text(form, "conditions_json"))
        except ValueError:
            raise FormError(fields={"conditions_json": Problem(N_("This is not valid JSON."))}) from None
        try:
            return _CONDITIONS.validate_python(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(x) for x in first.get("loc", ()))
            raise FormError(fields={"conditions_json": Problem(N_("The conditions are not in the expected form (at %(field)s)."),
                                                             {"field": where or "—"})}) from None
    tiers = [t.key for t in audiences.tier_choices(session, tenant_id=admin.tenant_id)]
    cities = members.cities(session, tenant_id=admin.tenant_id)
    timezone = programs.get(session, tenant_id=admin.tenant_id).timezone
    rows: list[dict] = []
    problems: dict[str, Problem] = {}
    for i in range(ROWS):
        try:
            found = segment_condition(form, i, tiers=tiers, cities=cities, timezone=timezone)
        except FormError as exc:
            problems |= exc.fields
            continue
        if found:
            rows.append(found)
    if problems:
        raise FormError(fields=problems)
    if not rows:
        raise FormError(fields={"s0-type": Problem(N_("Choose at least one condition."))})
    try:
        return _CONDITIONS.validate_python(rows, context=TYPED_BY_PEOPLE)  # typed by a person: Arabic-Indic digits read
    except ValidationError as exc:
        raise problems_of(exc, _row_field) from None


@router.post("/segments")
async def save_segment(request: Request, admin: Admin = Depends(current_admin)) -> Response:
    def work(session: Any, form: Any, ctx: Context) -> str:
        problems: dict[str, Problem] = {}
        try:
            valid(SegmentIn, {"key": text(form, "key"), "name_en": text(form, "name_en"), "name_ar": text(form, "name_ar"),
                              "conditions": [{"type": "churn_risk", "at_least": 0}]})
        except FormError as exc:
            problems |= exc.fields
        try:
            conditions = _conditions(session, form, admin)
        except FormError as exc:
            problems |= exc.fields
        if problems:
            raise FormError(fields=problems)
        try:
            segment = custom_segments.create(session, tenant_id=admin.tenant_id, key=text(form, "key"), name_en=text(form, "name_en"),
                                             name_ar=text(form, "name_ar"), conditions=conditions, now=ctx.now())
        except WafaError as exc:
            if exc.field == "key":
                raise FormError(fields={"key": Problem(N_("A segment with this key exists already, or it is an RFM segment's key."))}) from None
            raise FormError(fields={"conditions_json": Problem(_UNKNOWN_IN_JSON, {"field": exc.field or "—"})}) from None
        admin.record(session, request, action="segment.created", target=f"segment:{segment.id}",
                     details={"key": segment.key, "conditions": segment.conditions}, now=ctx.now())
        return f"{PATH}/segments?done=saved"

    return await apply_change(request, admin, work, lambda problems: _segments_page(request, admin, problems))


@router.post("/segments/recompute")
async def recompute_segments(request: Request, admin: Admin = Depends(current_admin)) -> Response:
    def work(session: Any, form: Any, ctx: Context) -> str:
        # The worker's daily lock: a recompute from here and the worker's take turns.
        segments.lock_run(session, tenant_id=admin.tenant_id, job="daily")
        counts = custom_segments.recompute_everything(session, tenant_id=admin.tenant_id, now=ctx.now())
        admin.record(session, request, action="segments.recomputed", target="segments", details=counts, now=ctx.now())
        return f"{PATH}/segments?done=recomputed"

    return await apply_change(request, admin, work, lambda problems: _segments_page(request, admin, problems))


# --- API keys -------------------------------------------------------------------------------------


def _keys_page(request: Request, admin: Admin, *, secret: str | None = None, problems: Problems | None = None) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        keys = tenants.list_keys(session, tenant_id=admin.tenant_id)
    return render(request, "admin/api_keys.html", lang=admin.lang, me=admin, section="api-keys", keys=keys, scopes=tenants.SCOPES,
                  secret=secret, problems=problems, status=422 if problems else 200)


@router.get("/api-keys")
def keys_page(request: Request, admin: Admin = Depends(current_admin)) -> Response:
    return _keys_page(request, admin)


@router.post("/api-keys")
async def create_key(request: Request, admin: Admin = Depends(current_admin)) -> Response:
    """The secret is shown on this one response and never again (only its hash is kept)."""
    made: dict[str, str] = {}

    def work(session: Any, form: Any, ctx: Context) -> str:
        problems = {}
        if not text(form, "name"):
            problems["name"] = Problem(N_("Say what the key is for."))
        chosen = names(form, "scopes") or []
        if not chosen:
            problems["scopes"] = Problem(N_("Tick at least one."))
        elif any(s not in tenants.SCOPES for s in chosen):
            problems["scopes"] = Problem(N_("Choose one of the options."))
        if problems:
            raise FormError(fields=problems)
        key = tenants.create_key(session, tenant_id=admin.tenant_id, name=text(form, "name")[:200], scopes=chosen, now=ctx.now())
        admin.record(session, request, action="api_key.created", target=f"api_key:{key.id}",
                     details={"name": text(form, "name"), "scopes": chosen, "prefix": key.prefix}, now=ctx.now())
        made["secret"] = key.secret
        return f"{PATH}/api-keys"

    answer = await apply_change(request, admin, work, lambda problems: _keys_page(request, admin, problems=problems))
    # The secret is shown on the answer itself (a redirect would need it kept somewhere).
    return _keys_page(request, admin, secret=made["secret"]) if "secret" in made else answer


@router.post("/api-keys/{key_id}/revoke")
async def revoke_key(request: Request, key_id: IdPath, admin: Admin = Depends(current_admin)) -> Response:
    def work(session: Any, form: Any, ctx: Context) -> str:
        tenants.revoke_key(session, tenant_id=admin.tenant_id, key_id=key_id, now=ctx.now())
        admin.record(session, request, action="api_key.revoked", target=f"api_key:{key_id}", now=ctx.now())
        return f"{PATH}/api-keys"

    return await apply_change(request, admin, work, lambda problems: _keys_page(request, admin, problems=problems))
