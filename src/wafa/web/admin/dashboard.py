"""The dashboard: KPI cards against the previous period, and charts over the period picked."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from wafa.analytics import kpis, segments
from wafa.analytics.rfm import SEGMENTS
from wafa.api.deps import Context
from wafa.programs import service as programs
from wafa.tiers import service as tiers
from wafa.web.admin.auth import PATH, Admin, current_admin
from wafa.web.pages import render

router = APIRouter(prefix=PATH, include_in_schema=False)

PERIODS = {"7d": 7, "30d": 30, "90d": 90, "365d": 365}
# The cards, in order: (KPI key, how it reads, whether a rise is good news).
CARDS = (
    ("active_members", "number", True), ("members_enrolled", "number", True), ("revenue", "money", True),
    ("participation_rate_revenue", "percent", True), ("retention_rate", "percent", True), ("churn_rate", "percent", False),
    ("purchase_frequency", "decimal", True), ("aov_members", "money", True), ("aov_lift", "percent", True),
    ("historic_clv", "money", True), ("redemption_rate", "percent", True), ("breakage_rate", "percent", False),
    ("outstanding_liability", "money", False), ("nps", "decimal", True),
)


def period_of(period: str, first: date | None, last: date | None, today: date) -> tuple[str, date, date]:
    """The days a picker choice covers (custom dates are clamped to a sane span)."""
    if period == "custom" and first and last and first <= last:
        return "custom", max(first, last - timedelta(days=3660)), last
    days = PERIODS.get(period, 30)
    key = period if period in PERIODS else "30d"
    return key, today - timedelta(days=days - 1), today


def buckets(first: date, last: date) -> list[tuple[date, date]]:
    """Spans for the charts: days up to two weeks, weeks up to fourteen, months beyond."""
    span = (last - first).days + 1
    out = []
    if span <= 98:
        step = 1 if span <= 14 else 7
        day = first
        while day <= last:
            end = min(last, day + timedelta(days=step - 1))
            out.append((day, end))
            day = end + timedelta(days=1)
        return out
    day = first
    while day <= last:
        month_end = (day.replace(day=1) + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        end = min(last, month_end)
        out.append((day, end))
        day = end + timedelta(days=1)
    return out


def build(session, *, tenant_id: int, first: date, last: date, lang) -> dict:  # type: ignore[no-untyped-def]
    """Everything the dashboard shows, read through the analytics, ledger, members and tiers services."""
    program = programs.get(session, tenant_id=tenant_id)
    report = kpis.report(session, tenant_id=tenant_id, first=first, last=last, compare=True)
    spans = buckets(first, last)
    labels = [lang.date(start, "d MMM") if (end - start).days < 27 else lang.date(start, "MMM y") for start, end in spans]
    over_time = kpis.series(session, tenant_id=tenant_id, spans=spans)
    by_tier = Counter(tiers.keys_by_member(session, tenant_id=tenant_id).values())
    tier_rows = tiers.tiers_of(session, tenant_id=tenant_id)
    rfm = segments.summary(session, tenant_id=tenant_id)
    month_start = (last.replace(day=1) - timedelta(days=335)).replace(day=1)
    cohorts = kpis.cohorts(session, tenant_id=tenant_id, first=min(first, month_start), last=last)
    return {
        "report": report,
        "currency": program.base_currency,
        "series": {
            "labels": labels,
            **over_time,
            "tiers": {"labels": [lang.name(t) for t in tier_rows], "values": [by_tier.get(t.key, 0) for t in tier_rows]},
        },
        "rfm": rfm,
        "rfm_names": SEGMENTS,
        "cohorts": cohorts["cohorts"][-12:],
    }


@router.get("")
def dashboard(
    request: Request, period: str = Query("30d", max_length=8), from_: date | None = Query(None, alias="from"),
    to: date | None = Query(None), admin: Admin = Depends(current_admin),
) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        tz = programs.get(session, tenant_id=admin.tenant_id).timezone
        today = ctx.now().astimezone(ZoneInfo(tz)).date()
        key, first, last = period_of(period, from_, to, today)
        data = build(session, tenant_id=admin.tenant_id, first=first, last=last, lang=admin.lang)
    return render(
        request, "admin/dashboard.html", lang=admin.lang, me=admin, section="dashboard", period=key, first=first, last=last,
        periods=list(PERIODS), cards=CARDS, **data,
    )
