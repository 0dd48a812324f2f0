"""HTTP: surveys (admin), invitations with a link per member, responses, and NPS."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session

from wafa.api.deps import Context, IdPath, decode_cursor, paginate, require
from wafa.engagement import surveys
from wafa.engagement.models import Survey, SurveyResponse
from wafa.engagement.schemas import (
    AudiencePreview,
    Invitation,
    Invitations,
    InviteIn,
    NpsReport,
    Question,
    ResponseIn,
    ResponsePage,
    ResponseRead,
    SurveyIn,
    SurveyPage,
    SurveyRead,
    SurveyUpdate,
)
from wafa.errors import InvalidInput
from wafa.tenants.service import Principal

router = APIRouter(prefix="/v1", tags=["surveys"])


def _read(session: Session, survey: Survey) -> SurveyRead:
    invited, answered = surveys.counts(session, tenant_id=survey.tenant_id, survey_id=survey.id)
    return SurveyRead(
        id=survey.id, key=survey.key, title={"en": survey.title_en, "ar": survey.title_ar},
        questions=[Question(**q) for q in survey.questions], status=survey.status, closes_at=survey.closes_at,
        invited=invited, responses=answered, created_at=survey.created_at,
    )


@router.post("/surveys", status_code=201, response_model=SurveyRead, summary="Open a survey (admin)")
def create_survey(request: Request, survey_in: SurveyIn, principal: Principal = Depends(require("admin"))) -> SurveyRead:
    """Questions of three types: `nps` (0 to 10), `rating` (1 to 5) and `text`. Answering fires the
    `survey_completed` event (attributes `survey` and `score`), so a rule can reward it."""
    ctx = Context(request)
    with ctx.transaction() as session:
        return _read(session, surveys.create(session, tenant_id=principal.tenant_id, survey_in=survey_in, now=ctx.now()))


@router.get("/surveys", response_model=SurveyPage, summary="The surveys, newest first")
def list_surveys(request: Request, principal: Principal = Depends(require("read"))) -> SurveyPage:
    ctx = Context(request)
    with ctx.transaction() as session:
        return SurveyPage(items=[_read(session, s) for s in surveys.list_(session, tenant_id=principal.tenant_id)])


@router.patch("/surveys/{survey_id}", response_model=SurveyRead, summary="Close or reopen a survey, or move its closing time (admin)")
def update_survey(request: Request, survey_id: IdPath, changes: SurveyUpdate, principal: Principal = Depends(require("admin"))) -> SurveyRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        return _read(session, surveys.update(session, tenant_id=principal.tenant_id, survey_id=survey_id, changes=changes, now=ctx.now()))


@router.post("/surveys/{survey_id}/invitations", response_model=Invitations, summary="Invite members: a link each (admin)")
def invite(request: Request, survey_id: IdPath, invite_in: InviteIn, principal: Principal = Depends(require("admin"))) -> Invitations:
    """By member ids, a tier, or every active member. Sending the links comes with notifications; the
    member portal answers them. A member invited before keeps their link."""
    ctx = Context(request)
    with ctx.transaction() as session:
        added, links = surveys.invite(session, tenant_id=principal.tenant_id, survey_id=survey_id, invite_in=invite_in, now=ctx.now())
        key = surveys.get_or_raise(session, tenant_id=principal.tenant_id, survey_id=survey_id).key
        return Invitations(survey=key, invited=added, items=[Invitation(member_id=m, link=url) for m, url in links])


@router.post(
    "/surveys/{survey_id}/invitations:preview", response_model=AudiencePreview,
    summary="How many members an invitation would reach, without inviting anyone (admin)",
)
def preview_invitation(
    request: Request, survey_id: IdPath, invite_in: InviteIn, principal: Principal = Depends(require("admin")),
) -> AudiencePreview:
    """A tier or segment the program does not have is refused (422), as it is when inviting."""
    ctx = Context(request)
    with ctx.transaction() as session:
        members, before = surveys.preview(session, tenant_id=principal.tenant_id, survey_id=survey_id, invite_in=invite_in)
        return AudiencePreview(members=members, already_invited=before)


def _response_read(survey: Survey, response: SurveyResponse) -> ResponseRead:
    return ResponseRead(
        id=response.id, survey=survey.key, member_id=response.member_id, answers=response.answers, score=response.score,
        answered_at=response.answered_at,
    )


@router.post("/surveys/{survey_id}/responses", status_code=201, response_model=ResponseRead, summary="Record a member's answers")
def respond(request: Request, survey_id: IdPath, response_in: ResponseIn, principal: Principal = Depends(require("members:write"))) -> ResponseRead:
    """By the member's id or their invitation's token; once per member and survey (a second is a 409)."""
    ctx = Context(request)
    with ctx.transaction() as session:
        response = surveys.respond(session, tenant_id=principal.tenant_id, survey_id=survey_id, response_in=response_in, now=ctx.now())
        return _response_read(surveys.get_or_raise(session, tenant_id=principal.tenant_id, survey_id=survey_id), response)


@router.get("/surveys/{survey_id}/responses", response_model=ResponsePage, summary="A survey's answers, newest first, by score")
def list_responses(
    request: Request,
    survey_id: IdPath,
    band: str | None = Query(None, pattern="^(promoters|passives|detractors)$", description="NPS group: 9-10, 7-8 or 0-6"),
    score_from: int | None = Query(None, ge=0, le=10),
    score_to: int | None = Query(None, ge=0, le=10),
    cursor: str | None = Query(None, max_length=200),
    limit: int = Query(50, ge=1, le=200),
    principal: Principal = Depends(require("read")),
) -> ResponsePage:
    """The comments are the answers to the survey's text questions."""
    ctx = Context(request)
    if band and (score_from is not None or score_to is not None):
        raise InvalidInput("give band or a score range, not both", field="band")
    low, high = surveys.BANDS[band] if band else (score_from, score_to)
    with ctx.transaction() as session:
        survey = surveys.get_or_raise(session, tenant_id=principal.tenant_id, survey_id=survey_id)
        rows = surveys.list_responses(session, tenant_id=principal.tenant_id, survey_id=survey_id, low=low, high=high,
                                      before_id=decode_cursor(cursor), limit=limit)
        items, next_cursor = paginate(rows, limit, lambda r: _response_read(survey, r))
        return ResponsePage(items=items, next_cursor=next_cursor)


@router.get("/surveys/{survey_id}/nps", response_model=NpsReport, summary="Promoters, passives, detractors and NPS, overall and by month")
def survey_nps(request: Request, survey_id: IdPath, principal: Principal = Depends(require("read"))) -> NpsReport:
    ctx = Context(request)
    with ctx.transaction() as session:
        return NpsReport(**surveys.nps(session, tenant_id=principal.tenant_id, survey_id=survey_id))
