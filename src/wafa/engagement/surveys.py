"""Surveys: NPS and satisfaction questions in Arabic and English, invitations with a link per member,
one response per member and survey, NPS over time, and a `survey_completed` event rules can reward.

NPS = % promoters (9-10) - % detractors (0-6) among the answers to the survey's first NPS question.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from datetime import datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from wafa.config import get_settings
from wafa.db import in_chunks, insert_or_skip
from wafa.engagement.models import Survey, SurveyInvitation, SurveyResponse
from wafa.engagement.schemas import InviteIn, ResponseIn, SurveyIn, SurveyUpdate
from wafa.errors import Conflict, InvalidInput, NotFound
from wafa.members import service as members
from wafa.outbox import service as outbox
from wafa.programs import service as programs
from wafa.tenants import service as tenants
from wafa.tiers import service as tiers

EVENT_TYPE = "survey_completed"
EVENT_SCHEMA = {
    "type": "object",
    "properties": {"survey": {"type": "string"}, "score": {"type": ["integer", "null"]}},
    "required": ["survey"],
}


def create(session: Session, *, tenant_id: int, survey_in: SurveyIn, now: datetime) -> Survey:
    """Open a survey; the first one declares the `survey_completed` event type rules can use."""
    from wafa.events import types as event_types  # events call engagement after each event

    if session.execute(select(Survey.id).where(Survey.tenant_id == tenant_id, Survey.key == survey_in.key)).first():
        raise Conflict(f"a survey with key {survey_in.key!r} already exists", field="key")
    if survey_in.closes_at is not None and survey_in.closes_at <= now:
        raise InvalidInput("closes_at must be in the future", field="closes_at")
    if event_types.get_by_name(session, tenant_id=tenant_id, name=EVENT_TYPE) is None:
        event_types.create(session, tenant_id=tenant_id, name=EVENT_TYPE, now=now, schema=EVENT_SCHEMA,
                           description="a member answered a survey (attributes: survey key, NPS score)")
    survey = Survey(
        tenant_id=tenant_id, key=survey_in.key, title_en=survey_in.title_en, title_ar=survey_in.title_ar,
        questions=[q.model_dump() for q in survey_in.questions], status="open", closes_at=survey_in.closes_at, created_at=now,
    )
    session.add(survey)
    session.flush()
    return survey


def get_or_raise(session: Session, *, tenant_id: int, survey_id: int) -> Survey:
    found = session.execute(select(Survey).where(Survey.tenant_id == tenant_id, Survey.id == survey_id)).scalar_one_or_none()
    if found is None:
        raise NotFound(f"survey {survey_id} not found")
    return found


def list_(session: Session, *, tenant_id: int) -> list[Survey]:
    """The program's surveys, newest first."""
    return list(session.execute(select(Survey).where(Survey.tenant_id == tenant_id).order_by(Survey.id.desc())).scalars())


def update(session: Session, *, tenant_id: int, survey_id: int, changes: SurveyUpdate, now: datetime) -> Survey:
    """Close or reopen a survey, or move its closing time."""
    survey = get_or_raise(session, tenant_id=tenant_id, survey_id=survey_id)
    values = changes.model_dump(exclude_unset=True)
    if values.get("closes_at") is not None and values["closes_at"] <= now:
        raise InvalidInput("closes_at must be in the future", field="closes_at")
    if "status" in values and values["status"] is None:
        raise InvalidInput("status cannot be empty", field="status")
    for name, value in values.items():
        setattr(survey, name, value)
    session.flush()
    return survey


def counts(session: Session, *, tenant_id: int, survey_id: int) -> tuple[int, int]:
    """(members invited, responses) of a survey."""
    invited = session.execute(
        select(func.count()).where(SurveyInvitation.tenant_id == tenant_id, SurveyInvitation.survey_id == survey_id)
    ).scalar_one()
    answered = session.execute(
        select(func.count()).where(SurveyResponse.tenant_id == tenant_id, SurveyResponse.survey_id == survey_id)
    ).scalar_one()
    return invited, answered


def link(session: Session, *, tenant_id: int, token: str) -> str:
    """The member's link to a survey in the member portal."""
    tenant = tenants.get(session, tenant_id=tenant_id)
    base = get_settings().public_url.rstrip("/")
    return f"{base}/m/{quote(tenant.slug if tenant else str(tenant_id))}/surveys/{quote(token)}"


def invite(session: Session, *, tenant_id: int, survey_id: int, invite_in: InviteIn, now: datetime) -> tuple[int, list[tuple[int, str]]]:
    """Invite members (by id, a tier, or all active ones); return how many are new and each member's link.
    A member invited before keeps their link."""
    survey = get_or_raise(session, tenant_id=tenant_id, survey_id=survey_id)
    if not _is_open(survey, now):
        raise Conflict(f"survey {survey.key!r} is closed")
    found = audience(session, tenant_id=tenant_id, invite_in=invite_in)
    before = counts(session, tenant_id=tenant_id, survey_id=survey.id)[0]
    rows = [{"tenant_id": tenant_id, "survey_id": survey.id, "member_id": m, "token": secrets.token_urlsafe(24), "invited_at": now} for m in found]
    for start in range(0, len(rows), 1000):
        session.execute(insert_or_skip(session, SurveyInvitation, conflict=["tenant_id", "survey_id", "member_id"]), rows[start:start + 1000])
    tokens: dict[int, str] = {}
    for chunk in in_chunks(found):
        tokens.update(session.execute(
            select(SurveyInvitation.member_id, SurveyInvitation.token).where(
                SurveyInvitation.tenant_id == tenant_id, SurveyInvitation.survey_id == survey.id,
                SurveyInvitation.member_id.in_(chunk),
            )
        ).all())
    added = counts(session, tenant_id=tenant_id, survey_id=survey.id)[0] - before
    return added, [(m, link(session, tenant_id=tenant_id, token=tokens[m])) for m in found]


def audience(session: Session, *, tenant_id: int, invite_in: InviteIn) -> list[int]:
    """The active members an invitation names: by id, a tier, a segment or all. A tier or segment the
    program does not have is refused (InvalidInput), never read as everyone."""
    if invite_in.member_ids is not None:
        wanted = sorted(set(invite_in.member_ids))
        found = members.active_ids(session, tenant_id=tenant_id, among=wanted)
        missing = sorted(set(wanted) - set(found))
        if missing:
            raise InvalidInput(f"member {missing[0]} is not an active member of this program", field="member_ids")
        return found
    if invite_in.tier is not None:
        from wafa.analytics import audiences  # analytics reads engagement's answers for NPS

        key = audiences.tier_keys(session, tenant_id=tenant_id, keys=invite_in.tier, field="tier")[0]
        return members.active_ids(session, tenant_id=tenant_id, among=tiers.members_in(session, tenant_id=tenant_id, key=key))
    if invite_in.segment is not None:
        from wafa.analytics import custom_segments

        return members.active_ids(
            session, tenant_id=tenant_id, among=custom_segments.members_of_key(session, tenant_id=tenant_id, key=invite_in.segment)
        )
    if not invite_in.all_members:
        raise InvalidInput("give exactly one of member_ids, tier, segment or all_members", field="all_members")
    return members.active_ids(session, tenant_id=tenant_id)


def preview(session: Session, *, tenant_id: int, survey_id: int, invite_in: InviteIn) -> tuple[int, int]:
    """(members the invitation names, of whom already invited) without inviting anyone."""
    survey = get_or_raise(session, tenant_id=tenant_id, survey_id=survey_id)
    found = audience(session, tenant_id=tenant_id, invite_in=invite_in)
    before = 0
    for chunk in in_chunks(found):
        before += session.execute(
            select(func.count()).where(SurveyInvitation.tenant_id == tenant_id, SurveyInvitation.survey_id == survey.id,
                                       SurveyInvitation.member_id.in_(chunk))
        ).scalar_one()
    return len(found), before


def _is_open(survey: Survey, now: datetime) -> bool:
    return survey.status == "open" and (survey.closes_at is None or now < survey.closes_at)


def _check_answers(survey: Survey, answers: dict[str, int | str]) -> tuple[dict[str, int | str], int | None]:
    """The answers as kept, and the NPS score (the first NPS question's answer)."""
    questions = {q["key"]: q for q in survey.questions}
    for key in answers:
        if key not in questions:
            raise InvalidInput(f"the survey has no question {key!r}", field=f"answers.{key}")
    score = None
    for q in survey.questions:
        key, value = q["key"], answers.get(q["key"])
        field = f"answers.{key}"
        if value is None:
            if q["required"]:
                raise InvalidInput(f"question {key!r} needs an answer", field=field)
            continue
        if q["type"] in ("nps", "rating"):
            low, high = (0, 10) if q["type"] == "nps" else (1, 5)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise InvalidInput(f"question {key!r} takes a whole number from {low} to {high}", field=field)
            if q["type"] == "nps" and score is None:
                score = value
        elif not isinstance(value, str) or len(value) > 2000:
            raise InvalidInput(f"question {key!r} takes text of at most 2000 characters", field=field)
    return dict(answers), score


def respond(session: Session, *, tenant_id: int, survey_id: int, response_in: ResponseIn, now: datetime) -> SurveyResponse:
    """Record a member's answers (once per member and survey) and fire `survey_completed` for rules."""
    from wafa.events import member_events  # events call engagement after each event

    survey = get_or_raise(session, tenant_id=tenant_id, survey_id=survey_id)
    if response_in.token is not None:
        invitation = session.execute(
            select(SurveyInvitation).where(
                SurveyInvitation.tenant_id == tenant_id, SurveyInvitation.survey_id == survey.id,
                SurveyInvitation.token == response_in.token,
            )
        ).scalar_one_or_none()
        if invitation is None:
            raise NotFound("no invitation with this token for this survey", field="token")
        member_id = invitation.member_id
    else:
        member_id = response_in.member_id or 0
    member = members.get_or_raise(session, tenant_id=tenant_id, member_id=member_id)
    if not _is_open(survey, now):
        raise Conflict(f"survey {survey.key!r} is closed")
    answers, score = _check_answers(survey, response_in.answers)
    response = SurveyResponse(tenant_id=tenant_id, survey_id=survey.id, member_id=member.id, answers=answers, score=score, answered_at=now)
    try:
        with session.begin_nested():
            session.add(response)
            session.flush()
    except IntegrityError:
        raise Conflict(f"member {member.id} has already answered survey {survey.key!r}") from None
    member_events.record_trigger(
        session, tenant_id=tenant_id, member=member, type_=EVENT_TYPE, reference=f"survey:{survey.key}",
        attributes={"survey": survey.key, "score": score}, occurred_at=now, now=now,
    )
    outbox.emit(session, tenant_id=tenant_id, type_="survey.answered", member_id=member.id, now=now, payload={
        "survey_id": survey.id, "survey_key": survey.key, "response_id": response.id, "score": score,
    })
    return response


def _nps(promoters: int, passives: int, detractors: int) -> float | None:
    total = promoters + passives + detractors
    return round(100 * (promoters - detractors) / total, 1) if total else None


def nps(session: Session, *, tenant_id: int, survey_id: int) -> dict:
    """Promoters, passives, detractors and NPS, overall and by local month of answer."""
    survey = get_or_raise(session, tenant_id=tenant_id, survey_id=survey_id)
    zone = ZoneInfo(programs.get(session, tenant_id=tenant_id).timezone)
    months: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    rows = session.execute(
        select(SurveyResponse.answered_at, SurveyResponse.score).where(
            SurveyResponse.tenant_id == tenant_id, SurveyResponse.survey_id == survey.id, SurveyResponse.score.is_not(None),
        ).order_by(SurveyResponse.answered_at)
    )
    for at, score in rows:
        assert score is not None  # the query leaves NULL out
        bucket = months[at.astimezone(zone).strftime("%Y-%m")]
        bucket[0 if score >= 9 else 1 if score >= 7 else 2] += 1
    total = [sum(b[i] for b in months.values()) for i in range(3)]
    return {
        "survey": survey.key, "responses": sum(total), "promoters": total[0], "passives": total[1], "detractors": total[2],
        "nps": _nps(*total),
        "by_month": [
            {"period": month, "responses": sum(b), "promoters": b[0], "passives": b[1], "detractors": b[2], "nps": _nps(*b)}
            for month, b in sorted(months.items())
        ],
    }


def nps_between(session: Session, *, tenant_id: int, start: datetime, end: datetime) -> tuple[int, int, int]:
    """(promoters, passives, detractors) among the NPS answers to any survey given in [start, end)."""
    from sqlalchemy import case

    row = session.execute(
        select(
            func.coalesce(func.sum(case((SurveyResponse.score >= 9, 1), else_=0)), 0),
            func.coalesce(func.sum(case(((SurveyResponse.score >= 7) & (SurveyResponse.score <= 8), 1), else_=0)), 0),
            func.coalesce(func.sum(case((SurveyResponse.score <= 6, 1), else_=0)), 0),
        ).where(
            SurveyResponse.tenant_id == tenant_id, SurveyResponse.score.is_not(None), SurveyResponse.answered_at >= start,
            SurveyResponse.answered_at < end,
        )
    ).one()
    return int(row[0]), int(row[1]), int(row[2])


def invitation_by_token(session: Session, *, tenant_id: int, token: str) -> tuple[SurveyInvitation, Survey] | None:
    """The invitation a survey link carries, and its survey (None: no such link in this program)."""
    if not token or len(token) > 64:
        return None
    found = session.execute(
        select(SurveyInvitation, Survey).join(Survey, Survey.id == SurveyInvitation.survey_id)
        .where(SurveyInvitation.tenant_id == tenant_id, SurveyInvitation.token == token, Survey.tenant_id == tenant_id)
    ).first()
    return (found[0], found[1]) if found else None


def answered(session: Session, *, tenant_id: int, survey_id: int, member_id: int) -> bool:
    return session.execute(
        select(SurveyResponse.id).where(
            SurveyResponse.tenant_id == tenant_id, SurveyResponse.survey_id == survey_id, SurveyResponse.member_id == member_id,
        )
    ).first() is not None


def open_for_member(session: Session, *, tenant_id: int, member_id: int, now: datetime) -> list[tuple[Survey, str]]:
    """Open surveys the member was invited to and has not answered, each with the invitation's token."""
    rows = session.execute(
        select(Survey, SurveyInvitation.token).join(SurveyInvitation, SurveyInvitation.survey_id == Survey.id)
        .where(SurveyInvitation.tenant_id == tenant_id, SurveyInvitation.member_id == member_id, Survey.tenant_id == tenant_id)
        .order_by(Survey.id.desc())
    ).all()
    return [
        (survey, token) for survey, token in rows
        if _is_open(survey, now) and not answered(session, tenant_id=tenant_id, survey_id=survey.id, member_id=member_id)
    ]


# --- answers --------------------------------------------------------------------------------------

# NPS's three groups by the 0-10 score.
BANDS = {"promoters": (9, 10), "passives": (7, 8), "detractors": (0, 6)}


def responses_query(*, tenant_id: int, survey_id: int, low: int | None = None, high: int | None = None) -> Select:
    """A survey's answers (id, member, score, answers, when), those with a score in [low, high] when given;
    unordered, for a table to sort and page."""
    query = select(
        SurveyResponse.id, SurveyResponse.member_id, SurveyResponse.score, SurveyResponse.answers, SurveyResponse.answered_at,
    ).where(SurveyResponse.tenant_id == tenant_id, SurveyResponse.survey_id == survey_id)
    if low is not None:
        query = query.where(SurveyResponse.score >= low)
    if high is not None:
        query = query.where(SurveyResponse.score <= high)
    return query


def list_responses(
    session: Session, *, tenant_id: int, survey_id: int, low: int | None, high: int | None, before_id: int | None, limit: int,
) -> list[SurveyResponse]:
    """Answers newest first, before a cursor (limit + 1 rows: one more says there is a next page)."""
    get_or_raise(session, tenant_id=tenant_id, survey_id=survey_id)
    if low is not None and high is not None and low > high:
        raise InvalidInput("score_from must be at most score_to", field="score_from")
    query = select(SurveyResponse).where(SurveyResponse.tenant_id == tenant_id, SurveyResponse.survey_id == survey_id)
    if low is not None:
        query = query.where(SurveyResponse.score >= low)
    if high is not None:
        query = query.where(SurveyResponse.score <= high)
    if before_id is not None:
        query = query.where(SurveyResponse.id < before_id)
    return list(session.execute(query.order_by(SurveyResponse.id.desc()).limit(limit + 1)).scalars())


def comments(survey: Survey, answers: dict) -> list[tuple[dict, str]]:
    """The written answers of a response: (the question, the text) for each text question answered."""
    return [(q, str(answers[q["key"]])) for q in survey.questions if q["type"] == "text" and answers.get(q["key"])]
