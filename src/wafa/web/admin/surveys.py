"""Surveys in the console: NPS surveys with their score, creating one, inviting an audience chosen from
what the program has (all members, a tier, a segment) after seeing how many it reaches, and reading the
answers (filtered by score, paged, exported)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse

from wafa.analytics import audiences
from wafa.api.deps import Context, IdPath
from wafa.engagement import surveys
from wafa.engagement.models import SurveyResponse
from wafa.engagement.schemas import InviteIn, SurveyIn
from wafa.errors import WafaError
from wafa.members import service as members
from wafa.programs import service as programs
from wafa.web.admin import tables
from wafa.web.admin.auth import PATH, Admin, current_admin
from wafa.web.admin.catalog import refusal
from wafa.web.admin.forms import (
    FormError,
    Problem,
    Problems,
    apply_change,
    local_datetime,
    prune,
    text,
    valid,
    whole,
)
from wafa.web.messages import N_
from wafa.web.pages import render

router = APIRouter(prefix=PATH, include_in_schema=False)
ALL = "all"
_REFUSALS = {"key": N_("A survey with this key exists already."), "closes_at": N_("Choose a moment in the future.")}
_UNKNOWN_AUDIENCE = N_("Choose who to invite from the list: this program has no “%(name)s”.")


# --- who to invite ----------------------------------------------------------------------------------


def audience_choices(session: Any, *, tenant_id: int) -> list[tuple[str, str, audiences.Choice | None]]:
    """What an invitation may name: (value, group, choice): every active member, a tier, a segment."""
    out: list[tuple[str, str, audiences.Choice | None]] = [(ALL, "all", None)]
    out += [(f"tier:{c.key}", "tier", c) for c in audiences.tier_choices(session, tenant_id=tenant_id)]
    out += [(f"segment:{c.key}", c.kind, c) for c in audiences.segment_choices(session, tenant_id=tenant_id)]
    return out


def invite_of(session: Any, *, tenant_id: int, who: str) -> InviteIn:
    """The invitation a chosen audience stands for; anything the list did not offer is refused next to the
    field, never read as everyone."""
    if who not in {value for value, _, _ in audience_choices(session, tenant_id=tenant_id)}:
        raise FormError(fields={"who": Problem(_UNKNOWN_AUDIENCE, {"name": who[:64]})})
    if who == ALL:
        return InviteIn(all_members=True)
    kind, key = who.split(":", 1)
    return InviteIn(tier=key) if kind == "tier" else InviteIn(segment=key)


def _count(session: Any, *, tenant_id: int, survey_id: int, who: str) -> tuple[int, int]:
    return surveys.preview(session, tenant_id=tenant_id, survey_id=survey_id, invite_in=invite_of(session, tenant_id=tenant_id, who=who))


# --- the surveys ------------------------------------------------------------------------------------


def _surveys_page(request: Request, admin: Admin, problems: Problems | None = None, done: str | None = None,
                  invited: int | None = None, inviting: int | None = None) -> Response:
    """The surveys; `inviting` is the survey whose invitation came back with a problem (shown in its card)."""
    ctx = Context(request)
    with ctx.transaction() as session:
        rows = []
        for survey in surveys.list_(session, tenant_id=admin.tenant_id):
            count, answered = surveys.counts(session, tenant_id=admin.tenant_id, survey_id=survey.id)
            rows.append((survey, count, answered, surveys.nps(session, tenant_id=admin.tenant_id, survey_id=survey.id)))
        choices = audience_choices(session, tenant_id=admin.tenant_id)
        active = members.active_count(session, tenant_id=admin.tenant_id)
    return render(request, "admin/surveys.html", lang=admin.lang, me=admin, section="surveys", rows=rows, problems=problems, done=done,
                  invited=invited, choices=choices, active=active, now=ctx.now(), inviting=inviting, status=422 if problems else 200)


@router.get("/surveys")
def survey_page(request: Request, done: str | None = None, invited: int | None = Query(None, ge=0, le=10**9),
                admin: Admin = Depends(current_admin)) -> Response:
    return _surveys_page(request, admin, done=done, invited=invited)


def _survey_field(loc: tuple) -> str | None:
    parts = [p for p in loc if not str(p).startswith("function-")]
    if parts[:1] == ["questions"] and len(parts) >= 3:
        return ("nps_" if parts[1] == 0 else "comment_") + ("ar" if parts[2] == "text_ar" else "en")
    return str(parts[0]) if parts else None


@router.post("/surveys")
async def create_survey(request: Request, admin: Admin = Depends(current_admin)) -> Response:
    """A survey whose first question is the NPS one ("how likely are you to recommend us"), and a comment."""
    def work(session: Any, form: Any, ctx: Context) -> str:
        program = programs.get(session, tenant_id=admin.tenant_id)
        closes_at = local_datetime(form, "closes_at", program.timezone, end_of_day=True)
        questions = [{"key": "nps", "type": "nps", "text_en": text(form, "nps_en"), "text_ar": text(form, "nps_ar"), "required": True}]
        if text(form, "comment_en") or text(form, "comment_ar"):
            questions.append({"key": "comment", "type": "text", "text_en": text(form, "comment_en"), "text_ar": text(form, "comment_ar"),
                              "required": False})
        survey_in = valid(SurveyIn, prune({"key": text(form, "key"), "title_en": text(form, "title_en"), "title_ar": text(form, "title_ar"),
                                            "questions": questions, "closes_at": closes_at}), fields=_survey_field)
        try:
            survey = surveys.create(session, tenant_id=admin.tenant_id, survey_in=survey_in, now=ctx.now())
        except WafaError as exc:
            raise refusal(exc, _REFUSALS) from None
        admin.record(session, request, action="survey.created", target=f"survey:{survey.id}", details=survey_in.model_dump(mode="json"),
                     now=ctx.now())
        return f"{PATH}/surveys?done=saved"

    return await apply_change(request, admin, work, lambda problems: _surveys_page(request, admin, problems))


@router.get("/surveys/{survey_id}/audience")
def audience_count(request: Request, survey_id: IdPath, who: str = Query(ALL, max_length=200), admin: Admin = Depends(current_admin)) -> Response:
    """How many members the audience chosen would reach (the live count beside the list)."""
    ctx = Context(request)
    with ctx.transaction() as session:
        surveys.get_or_raise(session, tenant_id=admin.tenant_id, survey_id=survey_id)
        try:
            count, before = _count(session, tenant_id=admin.tenant_id, survey_id=survey_id, who=who)
        except (FormError, WafaError):
            count, before = None, None
    return render(request, "admin/survey_audience.html", lang=admin.lang, me=admin, survey_id=survey_id, count=count, before=before)


def _confirm_page(request: Request, admin: Admin, survey_id: int, who: str, problems: Problems | None = None) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        survey = surveys.get_or_raise(session, tenant_id=admin.tenant_id, survey_id=survey_id)
        choice = next(c for value, _, c in audience_choices(session, tenant_id=admin.tenant_id) if value == who)
        count, before = _count(session, tenant_id=admin.tenant_id, survey_id=survey_id, who=who)
    return render(request, "admin/survey_invite.html", lang=admin.lang, me=admin, section="surveys", survey=survey, who=who,
                  choice=choice, count=count, before=before, problems=problems)


@router.post("/surveys/{survey_id}/invite")
async def invite(request: Request, survey_id: IdPath, admin: Admin = Depends(current_admin)) -> Response:
    """First how many members the audience reaches (nothing sent yet), then, once confirmed, the invitations."""
    form = await request.form()
    who = text(form, "who")
    confirmed = text(form, "confirmed") == "yes"

    def work(session: Any, form: Any, ctx: Context) -> str:
        invite_in = invite_of(session, tenant_id=admin.tenant_id, who=who)
        if not confirmed:
            raise _Confirm()
        try:
            added, _ = surveys.invite(session, tenant_id=admin.tenant_id, survey_id=survey_id, invite_in=invite_in, now=ctx.now())
        except WafaError:
            raise FormError([N_("This survey is closed: reopen it to invite members.")]) from None
        admin.record(session, request, action="survey.invited", target=f"survey:{survey_id}",
                     details={"who": who, "new_invitations": added}, now=ctx.now())
        return f"{PATH}/surveys?done=invited&invited={added}"

    def page(problems: Problems) -> Response:
        if problems.general == [_CONFIRM]:
            return _confirm_page(request, admin, survey_id, who)
        return _surveys_page(request, admin, problems, inviting=survey_id)

    return await apply_change(request, admin, work, page)


_CONFIRM = Problem(N_("Confirm the invitation."))


class _Confirm(FormError):
    """Not an error: the audience is valid and the count is to be shown before anything is sent."""

    def __init__(self) -> None:
        super().__init__([_CONFIRM])


# --- answers ----------------------------------------------------------------------------------------


def _answers_view(request: Request) -> tables.View:
    return tables.view_of(request, sorts=("when", "score"), default="when", descending=True, filters=("band", "low", "high"))


def _bounds(view: tables.View) -> tuple[int | None, int | None]:
    """The score range the filters ask for: an NPS group, or from-to (a number outside 0-10 is ignored)."""
    if view.filters["band"] in surveys.BANDS:
        return surveys.BANDS[view.filters["band"]]
    low, high = whole(view.filters["low"], most=10), whole(view.filters["high"], most=10)
    return (high, low) if low is not None and high is not None and low > high else (low, high)


_ANSWER_ORDER = {"when": SurveyResponse.answered_at, "score": SurveyResponse.score}


@router.get("/surveys/{survey_id}/answers")
def answers_page(request: Request, survey_id: IdPath, admin: Admin = Depends(current_admin)) -> Response:
    ctx = Context(request)
    view = _answers_view(request)
    low, high = _bounds(view)
    with ctx.transaction() as session:
        survey = surveys.get_or_raise(session, tenant_id=admin.tenant_id, survey_id=survey_id)
        query = surveys.responses_query(tenant_id=admin.tenant_id, survey_id=survey_id, low=low, high=high)
        found = tables.page_of(session, query, view=view, order=_ANSWER_ORDER, tiebreak=SurveyResponse.id)
        nps = surveys.nps(session, tenant_id=admin.tenant_id, survey_id=survey_id)
    rows = [(row, surveys.comments(survey, row.answers or {})) for row in found.rows]
    return render(request, "admin/survey_answers.html", lang=admin.lang, me=admin, section="surveys", survey=survey, table=found,
                  rows=rows, nps=nps, low=low, high=high, bands=surveys.BANDS)


@router.get("/surveys/{survey_id}/answers.csv")
def export_answers(request: Request, survey_id: IdPath, admin: Admin = Depends(current_admin)) -> StreamingResponse:
    """Every answer the filters keep, one column per question; for the roles that run surveys (answers and
    comments by member in bulk)."""
    admin.require("marketing")
    ctx = Context(request)
    view = _answers_view(request)
    low, high = _bounds(view)
    with ctx.transaction() as session:
        questions = [q["key"] for q in surveys.get_or_raise(session, tenant_id=admin.tenant_id, survey_id=survey_id).questions]
    query = tables.ordered(surveys.responses_query(tenant_id=admin.tenant_id, survey_id=survey_id, low=low, high=high), view=view,
                           order=_ANSWER_ORDER, tiebreak=SurveyResponse.id)

    def rows() -> Iterator[list[Any]]:
        with ctx.transaction() as session:
            for row in tables.stream(session, query):
                band = next((name for name, (lo, hi) in surveys.BANDS.items() if row.score is not None and lo <= row.score <= hi), "")
                yield [row.id, row.member_id, row.score, band, row.answered_at] + [(row.answers or {}).get(q, "") for q in questions]

    return tables.csv_response(rows, filename=f"survey-{survey_id}-answers.csv",
                               header=["id", "member_id", "score", "group", "answered_at", *questions])
