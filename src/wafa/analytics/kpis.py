"""Program KPIs for a period of local days, each beside its value for the period just before: computed
by aggregate queries in the database (one scan of the period's and the previous period's purchases
grouped by member, one of members' history around enrolment, a few small ones). Definitions are in the README;
in short:

- revenue and orders are purchases not wholly returned, money kept after returns, in the base currency;
- active members bought in the period; retention is the share of the previous period's active members
  active again in this one (churn is its complement);
- the lift of members' average order value compares their orders after enrolment with their orders
  before it (imported history), over all time up to the period's end.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from wafa.analytics.models import AcquisitionSpend
from wafa.errors import InvalidInput
from wafa.events import figures as event_figures
from wafa.ledger import liability
from wafa.members import service as members
from wafa.money import precision, to_minor
from wafa.programs import service as programs
from wafa.programs.service import ProgramConfig

MAX_DAYS = 3660


@dataclass(frozen=True, slots=True)
class Period:
    first: date
    last: date  # inclusive
    start: datetime  # UTC bounds of the local days
    end: datetime

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def period(first: date, last: date, timezone: str) -> Period:
    """The local days first..last as UTC bounds."""
    if last < first:
        raise InvalidInput("to must not be before from", field="to")
    if (last - first).days >= MAX_DAYS:
        raise InvalidInput(f"a period is at most {MAX_DAYS} days", field="to")
    zone = ZoneInfo(timezone)
    if first.year < 1970 or last.year > 9000:
        raise InvalidInput("a period lies between 1970 and 9000", field="from" if first.year < 1970 else "to")
    start = datetime.combine(first, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    return Period(first, last, start, end)


def previous(p: Period, timezone: str) -> Period:
    """The period of as many days just before."""
    if (p.first - date(1970, 1, 1)).days < p.days:
        raise InvalidInput("the period before this one would start before 1970; compare=none", field="from")
    return period(p.first - timedelta(days=p.days), p.first - timedelta(days=1), timezone)


def _ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 6) if whole else None


def _money(value: Decimal, program: ProgramConfig) -> str:
    digits = precision(program.base_currency)
    return format(round(value.scaleb(-digits), digits), "f")


def compute(session: Session, *, tenant_id: int, p: Period, history: dict[str, float] | None = None) -> dict:
    """Every KPI of one period, money in major units of the base currency."""
    from wafa.engagement import surveys  # engagement reads analytics for segments

    program = programs.get(session, tenant_id=tenant_id)
    base_currency = program.base_currency
    factors = {currency: program.in_base(1, currency) for currency in program.earn_rates}
    try:
        previous_start = previous(p, program.timezone).start
    except InvalidInput:
        previous_start = p.start  # nothing before 1970: no retention to measure
    figures = event_figures.period_figures(
        session, tenant_id=tenant_id, start=p.start, end=p.end, previous_start=previous_start, factors=factors, base_currency=base_currency,
    )
    active, member_orders = int(figures["active"]), int(figures["member_orders"])
    guest_orders = int(figures["guest_orders"])
    member_revenue, guest_revenue = Decimal(figures["member_revenue"]), Decimal(figures["guest_revenue"])
    all_orders, all_revenue = member_orders + guest_orders, member_revenue + guest_revenue
    previously_active, retained = int(figures["previously_active"]), int(figures["retained"])
    enrolled = members.enrolled_between(session, tenant_id=tenant_id, start=p.start, end=p.end)
    if history is None:
        history = event_figures.enrolment_figures(
            session, tenant_id=tenant_id, cutoffs=[p.end], factors=factors, base_currency=base_currency,
        )[p.end]
    aov_before = _ratio(history["revenue_before"], history["orders_before"])
    aov_after = _ratio(history["revenue_after"], history["orders_after"])
    historic_clv = Decimal(history["lifetime_revenue"]) / Decimal(history["buyers"]) if history["buyers"] else None
    spend = _acquisition_spend(session, tenant_id=tenant_id, p=p, timezone=program.timezone)
    cac = Decimal(spend) / enrolled if spend is not None and enrolled else None
    flows = liability.report(session, tenant_id=tenant_id, start=p.start, end=p.end)
    redeemed = sum(flows.redeemed_by_type.values())
    issued = flows.issued - flows.reversed
    promoters, passives, detractors = surveys.nps_between(session, tenant_id=tenant_id, start=p.start, end=p.end)
    answers = promoters + passives + detractors
    money = lambda value: None if value is None else _money(Decimal(value), program)  # noqa: E731
    return {
        "from": p.first.isoformat(), "to": p.last.isoformat(), "currency": program.base_currency,
        "members_enrolled": enrolled,
        "active_members": active,
        "participation_rate_orders": _ratio(member_orders, all_orders),
        "participation_rate_revenue": _ratio(float(member_revenue), float(all_revenue)),
        "retention_rate": _ratio(retained, previously_active),
        "churn_rate": None if not previously_active else round(1 - retained / previously_active, 6),
        "repeat_purchase_rate": _ratio(figures["repeaters"], active),
        "purchase_frequency": _ratio(member_orders, active),
        "orders": all_orders, "member_orders": member_orders,
        "revenue": money(all_revenue), "member_revenue": money(member_revenue),
        "aov_members": money(member_revenue / member_orders) if member_orders else None,
        "aov_non_members": money(guest_revenue / guest_orders) if guest_orders else None,
        "aov_before_enrolment": money(Decimal(str(aov_before))) if aov_before is not None else None,
        "aov_after_enrolment": money(Decimal(str(aov_after))) if aov_after is not None else None,
        "aov_lift": round(aov_after / aov_before - 1, 6) if aov_before and aov_after is not None else None,
        "members_with_orders_before_and_after_enrolment": int(history["both"]),
        "top20_revenue_share": _ratio(figures["top_revenue"], float(member_revenue)),
        "historic_clv": money(historic_clv),
        "acquisition_spend": money(spend),
        "acquisition_cost_per_member": money(cac),
        "clv_to_cac": round(float(historic_clv / cac), 4) if historic_clv is not None and cac else None,
        "points_issued": issued, "points_redeemed": redeemed, "points_expired": flows.expired,
        "redemption_rate": _ratio(redeemed, issued), "breakage_rate": _ratio(flows.expired, issued),
        "outstanding_points": flows.outstanding,
        "outstanding_liability": money(Decimal(flows.outstanding) * Decimal(program.point_cost) * Decimal(10) ** precision(program.base_currency)),
        "nps": round(100 * (promoters - detractors) / answers, 1) if answers else None,
        "nps_responses": answers,
    }


def _acquisition_spend(session: Session, *, tenant_id: int, p: Period, timezone: str) -> int | None:
    """The spend entered for the months whose first day falls in the period (None: none entered)."""
    months = set()
    day = p.first.replace(day=1)
    while day <= p.last:
        if day >= p.first:
            months.add(day.strftime("%Y-%m"))
        day = (day + timedelta(days=32)).replace(day=1)
    if not months:
        return None
    amounts = list(session.execute(
        select(AcquisitionSpend.amount).where(AcquisitionSpend.tenant_id == tenant_id, AcquisitionSpend.month.in_(sorted(months)))
    ).scalars())
    return sum(amounts) if amounts else None


def report(session: Session, *, tenant_id: int, first: date, last: date, compare: bool) -> dict:
    """The KPIs of the period and, with `compare`, of the period before and the change."""
    timezone = programs.get(session, tenant_id=tenant_id).timezone
    p = period(first, last, timezone)
    before = previous(p, timezone)
    program = programs.get(session, tenant_id=tenant_id)
    # Members' history around enrolment, to both periods' ends, in one scan.
    histories = event_figures.enrolment_figures(
        session, tenant_id=tenant_id, cutoffs=[p.end, before.end] if compare else [p.end],
        factors={c: program.in_base(1, c) for c in program.earn_rates}, base_currency=program.base_currency,
    )
    current = compute(session, tenant_id=tenant_id, p=p, history=histories[p.end])
    out: dict = {"period": current}
    if compare:
        prior = compute(session, tenant_id=tenant_id, p=before, history=histories[before.end])
        out["previous"] = prior
        out["change"] = {key: _change(current[key], prior[key]) for key in current if key not in ("from", "to", "currency")}
    return out


def _change(now: object, before: object) -> float | None:
    """Relative change of a number (None when either side is missing or the earlier one is 0)."""
    try:
        a, b = float(now), float(before)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return round((a - b) / abs(b), 6) if b else None


def series(session: Session, *, tenant_id: int, spans: list[tuple[date, date]]) -> dict[str, list]:
    """The dashboard's figures over time, for consecutive local-day spans (a handful of scans in all,
    not a KPI report per span): members and active members, members' and non-members' revenue (major
    units of the base currency), points issued, redeemed and expired, and points outstanding at each end."""
    program = programs.get(session, tenant_id=tenant_id)
    periods = [period(first, last, program.timezone) for first, last in spans]
    edges = [periods[0].start] + [p.end for p in periods]
    factors = {currency: program.in_base(1, currency) for currency in program.earn_rates}
    sales = event_figures.bucket_figures(session, tenant_id=tenant_id, edges=edges, factors=factors, base_currency=program.base_currency)
    flows = liability.flows_by_bucket(session, tenant_id=tenant_id, edges=edges)
    major = lambda minor: float(Decimal(str(minor)).scaleb(-precision(program.base_currency)))  # noqa: E731
    return {
        "members": members.enrolled_by_bucket(session, tenant_id=tenant_id, edges=edges),
        "active": [int(row["active"]) for row in sales],
        "member_revenue": [major(row["member_revenue"]) for row in sales],
        "other_revenue": [major(row["guest_revenue"]) for row in sales],
        "issued": [row["issued"] for row in flows],
        "redeemed": [row["redeemed"] for row in flows],
        "expired": [row["expired"] for row in flows],
        "outstanding": [row["outstanding"] for row in flows],
    }


def cohorts(session: Session, *, tenant_id: int, first: date, last: date) -> dict:
    """Retention by month of enrolment: for members enrolled in each local month of the period, the share
    with a purchase in that month and each month after, up to the period's end."""
    timezone = programs.get(session, tenant_id=tenant_id).timezone
    p = period(first, last, timezone)
    enrolled = members.enrolment_months(session, tenant_id=tenant_id, start=p.start, end=p.end, timezone=timezone)
    bought = event_figures.purchase_months(session, tenant_id=tenant_id, start=p.start, end=p.end, timezone=timezone)
    months = _months(p.first, p.last)
    index = {month: k for k, month in enumerate(months)}
    size: dict[str, int] = defaultdict(int)
    for month in enrolled.values():
        size[month] += 1
    active: dict[str, list[int]] = {month: [0] * (len(months) - index[month]) for month in size}
    for member_id, month in bought:
        cohort = enrolled.get(member_id)
        if cohort is None or month < cohort:
            continue
        active[cohort][index[month] - index[cohort]] += 1
    return {
        "from": p.first.isoformat(), "to": p.last.isoformat(),
        "cohorts": [
            {"month": month, "members": size[month], "active": active[month],
             "retention": [round(n / size[month], 4) for n in active[month]]}
            for month in months if month in size
        ],
    }


def _months(first: date, last: date) -> list[str]:
    out, day = [], first.replace(day=1)
    while day <= last:
        out.append(day.strftime("%Y-%m"))
        day = (day + timedelta(days=32)).replace(day=1)
    return out


def set_acquisition_spend(session: Session, *, tenant_id: int, month: str, amount: str, now: datetime) -> AcquisitionSpend:
    """Enter (or correct) what acquiring members cost in a local month."""
    try:
        datetime.strptime(month, "%Y-%m")
    except ValueError:
        raise InvalidInput("month is YYYY-MM", field="month") from None
    program = programs.get(session, tenant_id=tenant_id)
    minor = to_minor(amount, program.base_currency, field="amount")
    found = session.get(AcquisitionSpend, (tenant_id, month))
    if found is None:
        found = AcquisitionSpend(tenant_id=tenant_id, month=month, amount=minor, updated_at=now)
        session.add(found)
    else:
        found.amount, found.updated_at = minor, now
    session.flush()
    return found
