"""Segments (RFM, A/B/C and the program's own), surveys with their NPS, and API keys in the console."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import TypeAdapter, ValidationError

from wafa.analytics import abc, custom_segments, segments
from wafa.analytics.rfm import SEGMENTS
from wafa.analytics.segment_rules import SegmentCondition
from wafa.api.deps import Context, IdPath
from wafa.engagement import surveys
from wafa.engagement.schemas import InviteIn, SurveyIn
from wafa.tenants import service as tenants
from wafa.web.admin.auth import PATH, Admin, current_admin
from wafa.web.admin.forms import FormError, apply_change, integer, names, optional, problems_of, prune, text, valid
from wafa.web.pages import check_csrf, render

router = APIRouter(prefix=PATH, include_in_schema=False)
_CONDITIONS = TypeAdapter(list[SegmentCondition])
SEGMENT_CONDITIONS = ("rfm_segment", "tier", "last_purchase", "total_spend", "churn_risk", "member_attribute")


# --- segments -------------------------------------------------------------------------------------


def _segments_page(request: Request, admin: Admin, problems: list[str] | None = None, done: str | None = None) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        rfm = segments.summary(session, tenant_id=admin.tenant_id)
        ranking = abc.summary(session, tenant_id=admin.tenant_id)
        own = [(s, custom_segments.size(session, tenant_id=admin.tenant_id, segment_id=s.id))
               for s in custom_segments.list_(session, tenant_id=admin.tenant_id)]
    return render(request, "admin/segments.html", lang=admin.lang, me=admin, section="segments", rfm=rfm, rfm_names=SEGMENTS,
                  abc=ranking, own=own, kinds=SEGMENT_CONDITIONS, problems=problems, done=done, status=422 if problems else 200)


@router.get("/segments")
def segment_page(request: Request, done: str | None = None, admin: Admin = Depends(current_admin)) -> Response:
    return _segments_page(request, admin, done=done)


def segment_condition(form: Any, i: int) -> dict | None:
    p = f"s{i}"
    kind = text(form, f"{p}-type")
    if not kind:
        return None
    if kind in ("rfm_segment", "tier"):
        return prune({"type": kind, "any_of": names(form, f"{p}-any_of")})
    if kind == "member_attribute":
        return prune({"type": kind, "attribute": optional(form, f"{p}-attribute"), "any_of": names(form, f"{p}-any_of")})
    if kind == "last_purchase":
        return prune({"type": kind, "within_days": integer(form, f"{p}-days"), "before": optional(form, f"{p}-before"),
                      "after": optional(form, f"{p}-after")})
    if kind == "total_spend":
        return prune({"type": kind, "at_least": optional(form, f"{p}-at_least"), "at_most": optional(form, f"{p}-at_most")})
    if kind == "churn_risk":
        return {"type": kind, "at_least": optional(form, f"{p}-at_least")}
    raise FormError([f"condition {i + 1}: unknown type {kind!r}"])


@router.post("/segments")
async def save_segment(request: Request, admin: Admin = Depends(current_admin)) -> Response:
    def work(session: Any, form: Any, ctx: Context) -> str:
        if text(form, "conditions_json"):
            try:
                raw = json.loads(text(form, "conditions_json"))
            except ValueError as exc:
                raise FormError([f"JSON: {exc}"]) from None
        else:
            raw = [c for c in (segment_condition(form, i) for i in range(4)) if c]
        try:
            conditions = _CONDITIONS.validate_python(raw)
        except ValidationError as exc:
            raise problems_of(exc) from None
        if not conditions:
            raise FormError(["conditions: give at least one"])
        segment = custom_segments.create(session, tenant_id=admin.tenant_id, key=text(form, "key"), name_en=text(form, "name_en"),
                                         name_ar=text(form, "name_ar"), conditions=conditions, now=ctx.now())
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


# --- surveys --------------------------------------------------------------------------------------


def _surveys_page(request: Request, admin: Admin, problems: list[str] | None = None, done: str | None = None) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        rows = []
        for survey in surveys.list_(session, tenant_id=admin.tenant_id):
            invited, answered = surveys.counts(session, tenant_id=admin.tenant_id, survey_id=survey.id)
            rows.append((survey, invited, answered, surveys.nps(session, tenant_id=admin.tenant_id, survey_id=survey.id)))
    return render(request, "admin/surveys.html", lang=admin.lang, me=admin, section="surveys", rows=rows, problems=problems, done=done,
                  status=422 if problems else 200)


@router.get("/surveys")
def survey_page(request: Request, done: str | None = None, admin: Admin = Depends(current_admin)) -> Response:
    return _surveys_page(request, admin, done=done)


@router.post("/surveys")
async def create_survey(request: Request, admin: Admin = Depends(current_admin)) -> Response:
    """A survey whose first question is the NPS one ("how likely are you to recommend us"), and a comment."""
    def work(session: Any, form: Any, ctx: Context) -> str:
        questions = [{"key": "nps", "type": "nps", "text_en": text(form, "nps_en"), "text_ar": text(form, "nps_ar"), "required": True}]
        if text(form, "comment_en") or text(form, "comment_ar"):
            questions.append({"key": "comment", "type": "text", "text_en": text(form, "comment_en"), "text_ar": text(form, "comment_ar"),
                              "required": False})
        survey_in = valid(SurveyIn, prune({"key": text(form, "key"), "title_en": text(form, "title_en"), "title_ar": text(form, "title_ar"),
                                            "questions": questions, "closes_at": optional(form, "closes_at")}))
        survey = surveys.create(session, tenant_id=admin.tenant_id, survey_in=survey_in, now=ctx.now())
        admin.record(session, request, action="survey.created", target=f"survey:{survey.id}", details=survey_in.model_dump(mode="json"),
                     now=ctx.now())
        return f"{PATH}/surveys?done=saved"

    return await apply_change(request, admin, work, lambda problems: _surveys_page(request, admin, problems))


@router.post("/surveys/{survey_id}/invite")
async def invite(request: Request, survey_id: IdPath, admin: Admin = Depends(current_admin)) -> Response:
    def work(session: Any, form: Any, ctx: Context) -> str:
        target = text(form, "who")
        if target.startswith("tier:"):
            invite_in = valid(InviteIn, {"tier": target[5:]})
        elif target.startswith("segment:"):
            invite_in = valid(InviteIn, {"segment": target[8:]})
        else:
            invite_in = valid(InviteIn, {"all_members": True})
        added, _ = surveys.invite(session, tenant_id=admin.tenant_id, survey_id=survey_id, invite_in=invite_in, now=ctx.now())
        admin.record(session, request, action="survey.invited", target=f"survey:{survey_id}",
                     details={"who": target or "all", "new_invitations": added}, now=ctx.now())
        return f"{PATH}/surveys?done=invited"

    return await apply_change(request, admin, work, lambda problems: _surveys_page(request, admin, problems))


# --- API keys -------------------------------------------------------------------------------------


def _keys_page(request: Request, admin: Admin, *, secret: str | None = None, problems: list[str] | None = None) -> Response:
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
    from starlette.concurrency import run_in_threadpool

    form = await request.form()
    check_csrf(request, str(form.get("csrf", "")), admin.csrf)
    chosen = [s for s in form.getlist("scopes") if s in tenants.SCOPES]

    def work() -> Response:
        ctx = Context(request)
        if not admin.can_change:
            return _keys_page(request, admin, problems=["your role lets you read the console, not change it"])
        if not chosen or not text(form, "name"):
            return _keys_page(request, admin, problems=["give the key a name and at least one scope"])
        with ctx.transaction() as session:
            key = tenants.create_key(session, tenant_id=admin.tenant_id, name=text(form, "name")[:200], scopes=chosen, now=ctx.now())
            admin.record(session, request, action="api_key.created", target=f"api_key:{key.id}",
                         details={"name": text(form, "name"), "scopes": chosen, "prefix": key.prefix}, now=ctx.now())
        return _keys_page(request, admin, secret=key.secret)

    return await run_in_threadpool(work)


@router.post("/api-keys/{key_id}/revoke")
async def revoke_key(request: Request, key_id: IdPath, admin: Admin = Depends(current_admin)) -> Response:
    def work(session: Any, form: Any, ctx: Context) -> str:
        tenants.revoke_key(session, tenant_id=admin.tenant_id, key_id=key_id, now=ctx.now())
        admin.record(session, request, action="api_key.revoked", target=f"api_key:{key_id}", now=ctx.now())
        return f"{PATH}/api-keys"

    return await apply_change(request, admin, work, lambda problems: _keys_page(request, admin, problems=problems))
