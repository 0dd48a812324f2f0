"""HTTP: program KPIs and cohorts, acquisition spend, program goals; lifetime-value fits and predictions; RFM scores and segments."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from wafa.analytics import abc, custom_segments, goals, kpis, lifetime_value, segments
from wafa.analytics.models import ClvModel, RfmScore
from wafa.analytics.schemas import (
    AbcPolicyIn,
    AbcRead,
    AbcSummary,
    AcquisitionSpendIn,
    AcquisitionSpendRead,
    ClvFitIn,
    ClvModelRead,
    Cohorts,
    GoalIn,
    GoalPage,
    GoalPoint,
    GoalRead,
    GoalUpdate,
    KpiReport,
    MemberClv,
    RfmHistory,
    RfmPage,
    RfmRead,
    RfmSummary,
    SegmentIn,
    SegmentMembersPage,
    SegmentPage,
    SegmentRead,
    SegmentSize,
    SegmentUpdate,
)
from wafa.api.deps import Context, IdPath, decode_cursor, encode_cursor, paginate, require
from wafa.errors import NotFound
from wafa.members import service as members
from wafa.money import to_major
from wafa.programs import service as programs
from wafa.tenants.service import Principal

router = APIRouter(prefix="/v1", tags=["analytics"])


def _read(model: ClvModel) -> ClvModelRead:
    return ClvModelRead(
        id=model.id, calibration_end=model.calibration_end, holdout_end=model.holdout_end, unit=model.unit, bgnbd=model.bgnbd,
        gamma_gamma=model.gamma_gamma, diagnostics=model.diagnostics, fitted_at=model.fitted_at,
    )


@router.post("/analytics/clv/fit", status_code=201, response_model=ClvModelRead, summary="Fit the lifetime-value models (admin)")
def fit(request: Request, fit_in: ClvFitIn, principal: Principal = Depends(require("admin"))) -> ClvModelRead:
    """BG/NBD (repeat purchases) and Gamma-Gamma (spend per purchase) by maximum likelihood on members'
    purchases up to `calibration_end`; with `holdout_end`, the predicted and actual repeat purchases of
    the days after, overall and by number of calibration purchases."""
    ctx = Context(request)
    with ctx.transaction() as session:
        return _read(lifetime_value.fit(
            session, tenant_id=principal.tenant_id, calibration_end=fit_in.calibration_end, unit=fit_in.unit,
            holdout_end=fit_in.holdout_end, now=ctx.now(),
        ))


@router.get("/analytics/clv/model", response_model=ClvModelRead, summary="The newest lifetime-value fit")
def model(request: Request, principal: Principal = Depends(require("read"))) -> ClvModelRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        return _read(lifetime_value.latest_or_raise(session, tenant_id=principal.tenant_id))


@router.get("/members/{member_id}/clv", response_model=MemberClv, summary="A member's predicted lifetime value and churn risk")
def member_clv(
    request: Request, member_id: IdPath, horizon: int = Query(52, ge=1, le=3650, description="in the model's units"),
    discount_rate: Decimal = Query(Decimal(0), ge=0, le=1, description="per unit"),
    principal: Principal = Depends(require("read")),
) -> MemberClv:
    ctx = Context(request)
    with ctx.transaction() as session:
        return MemberClv(**lifetime_value.predict(
            session, tenant_id=principal.tenant_id, member_id=member_id, horizon=horizon, discount_rate=discount_rate, now=ctx.now(),
        ))


def _rfm_read(score: RfmScore, currency: str) -> RfmRead:
    return RfmRead(
        id=score.member_id, recency_days=score.recency_days, frequency=score.frequency, monetary=to_major(score.monetary, currency),
        r=score.r, f=score.f, m=score.m, segment=score.segment, computed_at=score.computed_at,
    )


@router.post("/segments/rfm/recompute", response_model=RfmSummary, summary="Recompute every member's RFM scores now (admin)")
def recompute_rfm(request: Request, principal: Principal = Depends(require("admin"))) -> RfmSummary:
    """The worker recomputes them once a day; this is for now."""
    ctx = Context(request)
    with ctx.transaction() as session:
        segments.recompute(session, tenant_id=principal.tenant_id, now=ctx.now())
        return RfmSummary(**segments.summary(session, tenant_id=principal.tenant_id))


@router.get("/segments/rfm", response_model=RfmSummary, summary="Members per RFM segment and the recency-frequency grid")
def rfm_summary(request: Request, principal: Principal = Depends(require("read"))) -> RfmSummary:
    ctx = Context(request)
    with ctx.transaction() as session:
        return RfmSummary(**segments.summary(session, tenant_id=principal.tenant_id))


@router.get("/segments/rfm/history", response_model=list[RfmHistory], summary="The RFM segments' sizes over time")
def rfm_history(request: Request, limit: int = Query(90, ge=1, le=1000), principal: Principal = Depends(require("read"))) -> list[RfmHistory]:
    """Members per segment at each of the last `limit` computations (the worker's are daily), oldest first."""
    ctx = Context(request)
    with ctx.transaction() as session:
        return [RfmHistory(**row) for row in segments.history(session, tenant_id=principal.tenant_id, limit=limit)]


@router.get("/segments/rfm/{segment}/members", response_model=RfmPage, summary="An RFM segment's members with their scores")
def rfm_members(
    request: Request, segment: str = Path(max_length=32), cursor: str | None = Query(None, max_length=200),
    limit: int = Query(50, ge=1, le=500), principal: Principal = Depends(require("read")),
) -> RfmPage:
    ctx = Context(request)
    with ctx.transaction() as session:
        currency = programs.get(session, tenant_id=principal.tenant_id).base_currency
        rows = segments.members_of(
            session, tenant_id=principal.tenant_id, segment=segment, after_member_id=decode_cursor(cursor), limit=limit + 1
        )
        items, next_cursor = paginate(rows, limit, lambda row: _rfm_read(row, currency))
        return RfmPage(items=items, next_cursor=next_cursor)


@router.get("/members/{member_id}/rfm", response_model=RfmRead, summary="A member's RFM scores and segment")
def member_rfm(request: Request, member_id: IdPath, principal: Principal = Depends(require("read"))) -> RfmRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        members.get_or_raise(session, tenant_id=principal.tenant_id, member_id=member_id)
        found = segments.of_member(session, tenant_id=principal.tenant_id, member_id=member_id)
        if found is None:
            raise NotFound(f"member {member_id} has no RFM score: no kept purchase when they were last computed")
        return _rfm_read(found, programs.get(session, tenant_id=principal.tenant_id).base_currency)


@router.get("/analytics/kpis", response_model=KpiReport, response_model_by_alias=True,
            summary="Program KPIs for a period, and against the period before")
def get_kpis(
    request: Request, from_: date = Query(..., alias="from", description="first local day"),
    to: date = Query(..., description="last local day (inclusive)"),
    compare: Literal["previous", "none"] = Query("previous", description="previous: also the period of as many days before, and the change"),
    principal: Principal = Depends(require("read")),
) -> KpiReport:
    """Definitions in the README's KPI section. Money in major units of the base currency; rates from 0 to 1."""
    ctx = Context(request)
    with ctx.transaction() as session:
        return KpiReport.model_validate(kpis.report(session, tenant_id=principal.tenant_id, first=from_, last=to, compare=compare == "previous"))


@router.get("/analytics/cohorts", response_model=Cohorts, response_model_by_alias=True, summary="Retention by month of enrolment")
def get_cohorts(
    request: Request, from_: date = Query(..., alias="from"), to: date = Query(...), principal: Principal = Depends(require("read")),
) -> Cohorts:
    """For members enrolled in each month of the period: how many bought in that month and each month after."""
    ctx = Context(request)
    with ctx.transaction() as session:
        return Cohorts.model_validate(kpis.cohorts(session, tenant_id=principal.tenant_id, first=from_, last=to))


@router.put("/analytics/acquisition-spend/{month}", response_model=AcquisitionSpendRead, summary="Enter a month's acquisition spend (admin)")
def put_acquisition_spend(
    request: Request, spend_in: AcquisitionSpendIn, month: str = Path(pattern=r"^\d{4}-\d{2}$"), principal: Principal = Depends(require("admin")),
) -> AcquisitionSpendRead:
    """What acquiring members cost in a local month (campaigns, sign-up gifts): the KPIs' acquisition cost per member and CLV:CAC."""
    ctx = Context(request)
    with ctx.transaction() as session:
        found = kpis.set_acquisition_spend(session, tenant_id=principal.tenant_id, month=month, amount=spend_in.amount, now=ctx.now())
        currency = programs.get(session, tenant_id=principal.tenant_id).base_currency
        return AcquisitionSpendRead(month=found.month, amount=to_major(found.amount, currency), currency=currency)


@router.put("/segments/abc/policy", response_model=AbcSummary, summary="Set the A/B/C weights and shares (admin)")
def put_abc_policy(request: Request, policy_in: AbcPolicyIn, principal: Principal = Depends(require("admin"))) -> AbcSummary:
    """Weights of volume, growth, margin, payment speed and tenure (normalised), A's and B's shares of members."""
    ctx = Context(request)
    with ctx.transaction() as session:
        abc.set_policy(session, tenant_id=principal.tenant_id, weights=policy_in.weights, a_share=policy_in.a_share,
                       b_share=policy_in.b_share, months=policy_in.months, now=ctx.now())
        return AbcSummary(**abc.summary(session, tenant_id=principal.tenant_id))


@router.post("/segments/abc/recompute", response_model=AbcSummary, summary="Rank every member A, B or C now (admin)")
def recompute_abc(request: Request, principal: Principal = Depends(require("admin"))) -> AbcSummary:
    """The worker ranks them once a day, with the RFM scores."""
    ctx = Context(request)
    with ctx.transaction() as session:
        abc.recompute(session, tenant_id=principal.tenant_id, now=ctx.now())
        return AbcSummary(**abc.summary(session, tenant_id=principal.tenant_id))


@router.get("/segments/abc", response_model=AbcSummary, summary="Members per A/B/C class, and the policy")
def get_abc(request: Request, principal: Principal = Depends(require("read"))) -> AbcSummary:
    ctx = Context(request)
    with ctx.transaction() as session:
        return AbcSummary(**abc.summary(session, tenant_id=principal.tenant_id))


@router.get("/members/{member_id}/abc", response_model=AbcRead, summary="A member's A/B/C class, score and factor percentiles")
def member_abc(request: Request, member_id: IdPath, principal: Principal = Depends(require("read"))) -> AbcRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        members.get_or_raise(session, tenant_id=principal.tenant_id, member_id=member_id)
        found = abc.of_member(session, tenant_id=principal.tenant_id, member_id=member_id)
        if found is None:
            raise NotFound(f"member {member_id} has no A/B/C class: no purchase when the classes were last computed")
        return AbcRead(member_id=member_id, abc_class=found.abc_class, score=found.score, factors=found.factors,
                       computed_at=found.computed_at)


def _segment_read(session, segment) -> SegmentRead:
    return SegmentRead(
        id=segment.id, key=segment.key, name={"en": segment.name_en, "ar": segment.name_ar},
        conditions=custom_segments.conditions_of(segment),
        members=custom_segments.size(session, tenant_id=segment.tenant_id, segment_id=segment.id),
        computed_at=segment.computed_at, created_at=segment.created_at,
    )


@router.post("/segments", status_code=201, response_model=SegmentRead, summary="Define a custom segment (admin)")
def create_segment(request: Request, segment_in: SegmentIn, principal: Principal = Depends(require("admin"))) -> SegmentRead:
    """Conditions over members: `rfm_segment`, `tier`, `last_purchase` (before, after, within_days), `total_spend`
    (at_least, at_most, base currency), `churn_risk` (at_least, from the newest lifetime-value fit),
    `member_attribute` (locale, city, age_band), combined with `all`, `any` and `not`. Rules' segment
    conditions and rewards' segment lists name it by key."""
    ctx = Context(request)
    with ctx.transaction() as session:
        segment = custom_segments.create(
            session, tenant_id=principal.tenant_id, key=segment_in.key, name_en=segment_in.name_en, name_ar=segment_in.name_ar,
            conditions=segment_in.conditions, now=ctx.now(),
        )
        return _segment_read(session, segment)


@router.get("/segments", response_model=SegmentPage, summary="The custom segments")
def list_segments(request: Request, principal: Principal = Depends(require("read"))) -> SegmentPage:
    ctx = Context(request)
    with ctx.transaction() as session:
        return SegmentPage(items=[_segment_read(session, s) for s in custom_segments.list_(session, tenant_id=principal.tenant_id)])


@router.patch("/segments/{segment_id}", response_model=SegmentRead, summary="Rename a custom segment or change its conditions (admin)")
def update_segment(request: Request, segment_id: IdPath, changes: SegmentUpdate, principal: Principal = Depends(require("admin"))) -> SegmentRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        segment = custom_segments.update(
            session, tenant_id=principal.tenant_id, segment_id=segment_id, name_en=changes.name_en, name_ar=changes.name_ar,
            conditions=changes.conditions, now=ctx.now(),
        )
        return _segment_read(session, segment)


@router.post("/segments/{segment_id}/recompute", response_model=SegmentRead, summary="Recompute a custom segment's members now (admin)")
def recompute_segment(request: Request, segment_id: IdPath, principal: Principal = Depends(require("admin"))) -> SegmentRead:
    """The worker recomputes every segment once a day, after the RFM scores."""
    ctx = Context(request)
    with ctx.transaction() as session:
        segment = custom_segments.get_or_raise(session, tenant_id=principal.tenant_id, segment_id=segment_id)
        custom_segments.recompute(session, segment=segment, now=ctx.now())
        return _segment_read(session, segment)


@router.get("/segments/{segment_id}/members", response_model=SegmentMembersPage, summary="A custom segment's members")
def segment_members(
    request: Request, segment_id: IdPath, cursor: str | None = Query(None, max_length=200), limit: int = Query(100, ge=1, le=1000),
    principal: Principal = Depends(require("read")),
) -> SegmentMembersPage:
    ctx = Context(request)
    with ctx.transaction() as session:
        custom_segments.get_or_raise(session, tenant_id=principal.tenant_id, segment_id=segment_id)
        ids = custom_segments.member_ids(
            session, tenant_id=principal.tenant_id, segment_id=segment_id, after_member_id=decode_cursor(cursor), limit=limit + 1
        )
        page = ids[:limit]
        return SegmentMembersPage(items=page, next_cursor=encode_cursor(page[-1]) if len(ids) > limit else None)


@router.get("/segments/{segment_id}/counts", response_model=list[SegmentSize], summary="A custom segment's size over time")
def segment_counts(request: Request, segment_id: IdPath, principal: Principal = Depends(require("read"))) -> list[SegmentSize]:
    ctx = Context(request)
    with ctx.transaction() as session:
        custom_segments.get_or_raise(session, tenant_id=principal.tenant_id, segment_id=segment_id)
        counts = custom_segments.counts(session, tenant_id=principal.tenant_id, segment_id=segment_id)
        return [SegmentSize(at=c.at, members=c.members) for c in counts]


def _decimal(value) -> str | None:
    return None if value is None else format(value, "f")


def _goal_reads(session, *, principal: Principal, found: list, now) -> list[GoalRead]:
    program = programs.get(session, tenant_id=principal.tenant_id)
    today = now.astimezone(ZoneInfo(program.timezone)).date()
    return [
        GoalRead(
            id=s.goal.id, kpi=s.goal.kpi, unit=s.unit, currency=program.base_currency, target=s.goal.target, starts_on=s.goal.starts_on,
            ends_on=s.goal.ends_on, measured_to=s.measured_to, actual=_decimal(s.actual), baseline=_decimal(s.baseline),
            progress=s.progress, met=s.met, trend=[GoalPoint(on=p.on, value=_decimal(p.value)) for p in s.trend],
            created_at=s.goal.created_at, updated_at=s.goal.updated_at,
        )
        for s in goals.standings(session, tenant_id=principal.tenant_id, goals=found, today=today)
    ]


@router.get("/analytics/goals", response_model=GoalPage, summary="Program goals against their targets")
def list_goals(request: Request, principal: Principal = Depends(require("read"))) -> GoalPage:
    """Each goal with its target, the actual over its days so far, the baseline of as many days before it,
    progress (actual ÷ target) and the trend of the actual."""
    ctx = Context(request)
    with ctx.transaction() as session:
        found = goals.list_(session, tenant_id=principal.tenant_id)
        return GoalPage(items=_goal_reads(session, principal=principal, found=found, now=ctx.now()))


@router.post("/analytics/goals", status_code=201, response_model=GoalRead, summary="Set a target for a KPI over a period (admin)")
def create_goal(request: Request, goal_in: GoalIn, principal: Principal = Depends(require("admin"))) -> GoalRead:
    """One goal per KPI and period; a second for the same is a 409."""
    ctx = Context(request)
    with ctx.transaction() as session:
        goal = goals.create(session, tenant_id=principal.tenant_id, kpi=goal_in.kpi, target=goal_in.target, starts_on=goal_in.starts_on,
                            ends_on=goal_in.ends_on, now=ctx.now())
        return _goal_reads(session, principal=principal, found=[goal], now=ctx.now())[0]


@router.get("/analytics/goals/{goal_id}", response_model=GoalRead, summary="A program goal against its target")
def get_goal(request: Request, goal_id: IdPath, principal: Principal = Depends(require("read"))) -> GoalRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        goal = goals.get_or_raise(session, tenant_id=principal.tenant_id, goal_id=goal_id)
        return _goal_reads(session, principal=principal, found=[goal], now=ctx.now())[0]


@router.patch("/analytics/goals/{goal_id}", response_model=GoalRead, summary="Change a program goal (admin)")
def update_goal(request: Request, goal_id: IdPath, changes: GoalUpdate, principal: Principal = Depends(require("admin"))) -> GoalRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        goal = goals.update(session, tenant_id=principal.tenant_id, goal_id=goal_id, now=ctx.now(), kpi=changes.kpi, target=changes.target,
                            starts_on=changes.starts_on, ends_on=changes.ends_on)
        return _goal_reads(session, principal=principal, found=[goal], now=ctx.now())[0]


@router.delete("/analytics/goals/{goal_id}", status_code=204, summary="Remove a program goal (admin)")
def delete_goal(request: Request, goal_id: IdPath, principal: Principal = Depends(require("admin"))) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        goals.delete(session, tenant_id=principal.tenant_id, goal_id=goal_id)
    return Response(status_code=204)
