"""The dashboard: KPI cards against the previous period (rates move in points, counts and amounts in
per cent, the liability against what members held when the period began), charts over the period
picked, the program's goals against their targets, and the first-day checklist of a new program."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from wafa.analytics import goals, kpis, segments
from wafa.analytics.rfm import SEGMENTS
from wafa.api.deps import Context
from wafa.events import figures as event_figures
from wafa.ledger import liability
from wafa.members import service as members
from wafa.money import precision
from wafa.programs import service as programs
from wafa.rewards import catalog
from wafa.rules import service as rules
from wafa.tenants import admin_users, audit
from wafa.tenants import service as tenants
from wafa.tiers import service as tiers
from wafa.web.admin.auth import PATH, Admin, current_admin
from wafa.web.admin.forms import Problem, Problems
from wafa.web.i18n import Lang
from wafa.web.messages import N_
from wafa.web.pages import render

router = APIRouter(prefix=PATH, include_in_schema=False)

PERIODS = {"7d": 7, "30d": 30, "90d": 90, "365d": 365}
MAX_YEARS = 10
# The cards, in order: (KPI key, how it reads, whether a rise is good news). A rate's change is the
# difference in percentage points, the NPS's in points; a count's or an amount's is relative.
CARDS = (
    ("active_members", "number", True), ("members_enrolled", "number", True), ("revenue", "money", True),
    ("participation_rate_revenue", "percent", True), ("retention_rate", "percent", True), ("churn_rate", "percent", False),
    ("repeat_purchase_rate", "percent", True), ("purchase_frequency", "decimal", True), ("aov_members", "money", True),
    ("aov_lift", "percent", True), ("historic_clv", "money", True), ("redemption_rate", "percent", True),
    ("breakage_rate", "percent", False), ("outstanding_liability", "money", False), ("nps", "score", True),
)
# Fewer NPS answers than this and the score is a guess: the card says so and greys out.
SMALL_SAMPLE = 30


@dataclass(frozen=True)
class Chosen:
    """The days the dashboard shows, and why a custom choice was refused (None: it was not)."""

    key: str
    first: date
    last: date
    problems: Problems | None = None


def _day(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw.strip().translate(str.maketrans("٠١٢٣٤٥٦٧٨٩", "0123456789")))
    except ValueError:
        return None


def chosen_period(query: Any, today: date) -> Chosen:
    """The picker's choice: a preset, or custom dates (at most ten years, the end not before the start);
    a refused custom choice keeps what was typed and says why beside the field, and the last 30 days show."""
    key = query.get("period", "30d")
    if key != "custom":
        key = key if key in PERIODS else "30d"
        return Chosen(key, today - timedelta(days=PERIODS[key] - 1), today)
    raw_from, raw_to = query.get("from-date", query.get("from", "")), query.get("to-date", query.get("to", ""))
    first, last = _day(raw_from), _day(raw_to)
    wrong: dict[str, Problem] = {}
    if first is None:
        wrong["from"] = Problem(N_("Choose a date from the calendar."))
    if last is None:
        wrong["to"] = Problem(N_("Choose a date from the calendar."))
    if first and last:
        if last < first:
            wrong["to"] = Problem(N_("The end must be on or after the start."))
        elif last.year > 2999 or last >= _years_after(first, MAX_YEARS):
            wrong["to"] = Problem(N_("Choose at most 10 years."))
        elif (first - date(1970, 1, 1)).days < (last - first).days + 1:
            # The period before it, to compare with, must start in 1970 or later.
            wrong["from"] = Problem(N_("Choose a later start: the figures begin in 1970."))
    if wrong:
        problems = Problems(fields=wrong, entered={"period": "custom", "from-date": raw_from, "to-date": raw_to})
        return Chosen("custom", today - timedelta(days=29), today, problems)
    return Chosen("custom", first, last)  # type: ignore[arg-type]


def _years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


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


def changes(report: dict) -> dict[str, tuple[float, str] | None]:
    """Each card's change against the earlier figure: (points, "pts") for rates and the NPS, (per cent, "%") otherwise."""
    out: dict[str, tuple[float, str] | None] = {}
    for key, kind, _good in CARDS:
        now, before = report["period"].get(key), report["previous"].get(key)
        if now is None or before is None:
            out[key] = None
        elif kind in ("percent", "score"):
            scale = 100 if kind == "percent" else 1
            out[key] = (round((float(now) - float(before)) * scale, 1), "pts")
        else:
            out[key] = (round((float(now) - float(before)) / abs(float(before)) * 100, 1), "%") if float(before) else None
    return out


def _liability(session: Any, *, tenant_id: int, p: kpis.Period, now: datetime, point_cost: str, currency: str) -> tuple[str, str]:
    """What members held at the period's start and at its end (or now), at the program's cost per point."""
    start, end = liability.outstanding_at(session, tenant_id=tenant_id, moments=[p.start, min(p.end, now)])
    digits = precision(currency)
    value = lambda held: format(round(Decimal(held) * Decimal(point_cost or "0"), digits), "f")  # noqa: E731
    return value(start), value(end)


def build(session: Any, *, tenant_id: int, first: date, last: date, lang: Lang, now: datetime) -> dict:
    """Everything the dashboard shows, read through the analytics, ledger, members and tiers services."""
    program = programs.get(session, tenant_id=tenant_id)
    report = kpis.report(session, tenant_id=tenant_id, first=first, last=last, compare=True)
    p = kpis.period(first, last, program.timezone)
    before, today_held = _liability(session, tenant_id=tenant_id, p=p, now=now, point_cost=program.point_cost, currency=program.base_currency)
    report["period"]["outstanding_liability"], report["previous"]["outstanding_liability"] = today_held, before
    spans = buckets(first, last)
    labels = [lang.date(start, "d MMM") if (end - start).days < 27 else lang.date(start, "MMM y") for start, end in spans]
    over_time = kpis.series(session, tenant_id=tenant_id, spans=spans)
    by_tier = Counter(tiers.keys_by_member(session, tenant_id=tenant_id).values())
    tier_rows = tiers.tiers_of(session, tenant_id=tenant_id)
    everyone = members.enrolled_between(session, tenant_id=tenant_id, start=datetime(1970, 1, 1, tzinfo=UTC), end=now + timedelta(days=1))
    tier_labels = [lang.name(t) for t in tier_rows] + [lang.gettext("No tier")]
    tier_values = [by_tier.get(t.key, 0) for t in tier_rows] + [max(0, everyone - sum(by_tier.values()))]
    month_start = (last.replace(day=1) - timedelta(days=335)).replace(day=1)
    cohorts = kpis.cohorts(session, tenant_id=tenant_id, first=min(first, month_start), last=last)["cohorts"][-12:]
    today = now.astimezone(ZoneInfo(program.timezone)).date()
    return {
        "report": report,
        "changes": changes(report),
        "currency": program.base_currency,
        "series": {"labels": labels, **over_time, "tiers": {"labels": tier_labels, "values": tier_values}},
        "has_tiers": bool(tier_rows),
        "rfm": segments.summary(session, tenant_id=tenant_id),
        "rfm_names": SEGMENTS,
        "cohorts": [{**c, "label": lang.date(date.fromisoformat(c["month"] + "-01"), "MMM y")} for c in cohorts],
        "goals": [(s, sparkline(s, rtl=lang.rtl))
                  for s in goals.standings(session, tenant_id=tenant_id, goals=goals.list_(session, tenant_id=tenant_id)[:8], today=today)],
        "small_sample": SMALL_SAMPLE,
        "steps": first_steps(session, tenant_id=tenant_id),
    }


SPARK = (160, 44, 5)  # width, height, padding of a goal's trend line


def sparkline(standing: goals.Standing, *, rtl: bool) -> dict | None:
    """A goal's trend as the points of a small line (time runs right to left in Arabic) and its target's height."""
    values = [(i, float(point.value)) for i, point in enumerate(standing.trend) if point.value is not None]
    if not values:
        return None
    width, height, pad = SPARK
    target = float(standing.goal.target)
    low, high = min([v for _, v in values] + [target]), max([v for _, v in values] + [target])
    spread, steps = (high - low) or 1.0, max(1, len(standing.trend) - 1)

    def x(i: int) -> float:
        at = pad + (width - 2 * pad) * (i / steps if len(standing.trend) > 1 else 0.5)
        return round(width - at if rtl else at, 1)

    def y(v: float) -> float:
        return round(height - pad - (height - 2 * pad) * (v - low) / spread, 1)

    return {"points": [(x(i), y(v)) for i, v in values], "target_y": y(target), "width": width, "height": height, "pad": pad}


# --- the first-day checklist -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    key: str
    label: str  # a catalog message
    href: str
    done: bool
    pending_days: int | None = None  # the return window's step: the days a purchase's points stay pending


def first_steps(session: Any, *, tenant_id: int) -> list[Step]:
    """What a new program sets up on its first day, each with the page that does it and whether it is done."""
    program = programs.get(session, tenant_id=tenant_id)
    named = (program.points_name_en, program.points_name_ar) != ("points", "نقاط")
    saved = session.execute(audit.table_query(tenant_id=tenant_id, action="program.updated").limit(1)).first() is not None
    # The earn rate a new program starts with (1 point per unit of its currency) counts once someone saved the settings.
    rates_set = program.earn_rates != {program.base_currency: "1"} or saved
    # So does the return window: a window other than a new program's was chosen (by the CLI or the API).
    window_checked = program.pending_days != programs.NEW_PROGRAM_PENDING_DAYS or saved
    till_key = any(k.revoked_at is None and "events:write" in (k.scopes or []) for k in tenants.list_keys(session, tenant_id=tenant_id))
    return [
        Step("points", N_("Name your points"), f"{PATH}/settings", named),
        Step("earn", N_("Set how many points a purchase earns"), f"{PATH}/settings", rates_set),
        Step("window", N_("Check the return window"), f"{PATH}/settings", window_checked, pending_days=program.pending_days),
        Step("reward", N_("Add a first reward"), f"{PATH}/rewards/new",
             bool(catalog.list_(session, tenant_id=tenant_id, statuses=None, after_id=None, limit=1))),
        Step("rule", N_("Write a first earning rule"), f"{PATH}/rules/new", bool(rules.list_(session, tenant_id=tenant_id, limit=1))),
        Step("colleague", N_("Invite a colleague"), f"{PATH}/people", len(admin_users.list_(session, tenant_id=tenant_id)) > 1),
        Step("till", N_("Connect the till with an API key"), f"{PATH}/api-keys",
             till_key or event_figures.any_received(session, tenant_id=tenant_id)),
    ]


@router.get("")
def dashboard(request: Request, admin: Admin = Depends(current_admin)) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        tz = programs.get(session, tenant_id=admin.tenant_id).timezone
        today = ctx.now().astimezone(ZoneInfo(tz)).date()
        chosen = chosen_period(request.query_params, today)
        data = build(session, tenant_id=admin.tenant_id, first=chosen.first, last=chosen.last, lang=admin.lang, now=ctx.now())
        empty = not event_figures.any_received(session, tenant_id=admin.tenant_id)
    at = lambda day: datetime.combine(day, time(12), tzinfo=ZoneInfo(tz))  # noqa: E731 (the pickers take a moment)
    return render(
        request, "admin/dashboard.html", lang=admin.lang, me=admin, section="dashboard", period=chosen.key, first=chosen.first,
        last=chosen.last, first_at=at(chosen.first), last_at=at(chosen.last), problems=chosen.problems, periods=list(PERIODS), cards=CARDS,
        empty=empty, **data,
    )
