"""Lifetime value of a program's members: fit BG/NBD and Gamma-Gamma to the purchase history (days in
the program's time zone, money in the base currency, kept after returns), keep the fit with its
diagnostics, and predict per member: probability of being alive, churn risk, expected purchases and
discounted lifetime value."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from wafa.analytics import clv
from wafa.analytics.models import ClvModel
from wafa.errors import InvalidInput, NotFound
from wafa.events import purchase_history
from wafa.members import service as members
from wafa.money import precision
from wafa.programs import service as programs

# Customers by number of repeat transactions in calibration, for the holdout table (the last bin is "7+").
FREQUENCY_BINS = 8


def history_rows(
    session: Session, *, tenant_id: int, until: datetime | None, member_id: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> Iterator[tuple[str, date, float]]:
    """(member, local day, value in base-currency major units) of every kept purchase before `until`."""
    program = programs.get(session, tenant_id=tenant_id)
    zone = ZoneInfo(program.timezone)
    digits = precision(program.base_currency)
    purchases = purchase_history.member_purchases(session, tenant_id=tenant_id, until=until, member_id=member_id)
    for seen, (member, at, currency, kept) in enumerate(purchases, start=1):
        if progress is not None and seen % 10_000 == 0:
            progress(seen)
        yield str(member), at.astimezone(zone).date(), float(program.in_base(kept, currency).scaleb(-digits))


def _local_midnight_after(day: date, timezone: str) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def fit(
    session: Session, *, tenant_id: int, calibration_end: date, unit: str, holdout_end: date | None, now: datetime,
    progress: Callable[[int], None] | None = None,
) -> ClvModel:
    """Fit both models to purchases up to the end of `calibration_end` (local); with `holdout_end`, compare
    the predicted and actual repeat purchases of the days after it. Keep and return the fit."""
    if unit not in clv.UNITS:
        raise InvalidInput(f"unit is one of {', '.join(clv.UNITS)}", field="unit")
    for name, day in (("calibration_end", calibration_end), ("holdout_end", holdout_end)):
        if day is not None and not 1970 <= day.year <= 9000:
            raise InvalidInput(f"{name} lies between 1970 and 9000", field=name)
    program = programs.get(session, tenant_id=tenant_id)
    if holdout_end is not None and holdout_end <= calibration_end:
        raise InvalidInput("holdout_end must be after calibration_end", field="holdout_end")
    last_day = holdout_end or calibration_end
    if _local_midnight_after(last_day, program.timezone) > now + timedelta(days=1):
        raise InvalidInput("the periods must have ended", field="holdout_end" if holdout_end else "calibration_end")
    until = _local_midnight_after(last_day, program.timezone)
    summaries = clv.summarise(
        history_rows(session, tenant_id=tenant_id, until=until, progress=progress), calibration_end=calibration_end, unit=unit,
        holdout_end=holdout_end,
    )
    repeat = [s for s in summaries if s.x > 0]
    if len(summaries) < 10 or len(repeat) < 3:
        raise InvalidInput(
            f"{len(summaries)} customers, {len(repeat)} with repeat purchases, before {calibration_end}: too few to fit",
            field="calibration_end",
        )
    bgnbd = clv.fit_bgnbd(summaries)
    spend = None
    if sum(1 for s in repeat if s.m_x > 0) >= 3:
        try:
            spend = clv.fit_gamma_gamma(summaries)
        except ValueError:
            spend = None
    diagnostics: dict = {
        "customers": len(summaries), "repeat_customers": len(repeat),
        "calibration_repeat_purchases": sum(s.x for s in summaries),
    }
    if holdout_end is not None:
        length = (holdout_end - calibration_end).days / clv.UNITS[unit]
        bins: dict[int, list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
        for s in summaries:
            found = bins[min(s.x, FREQUENCY_BINS - 1)]
            found[0] += 1
            found[1] += s.holdout
            found[2] += clv.expected_purchases(bgnbd, length, s.x, s.t_x, s.T)
        actual = sum(s.holdout for s in summaries)
        predicted = sum(b[2] for b in bins.values())
        diagnostics["holdout"] = {
            "length": round(length, 4), "actual": actual, "predicted": round(predicted, 2),
            "error": round((predicted - actual) / actual, 4) if actual else None,
            "by_calibration_purchases": [
                {"repeat_purchases": f"{k}+" if k == FREQUENCY_BINS - 1 else str(k), "customers": int(b[0]),
                 "actual_mean": round(b[1] / b[0], 4), "predicted_mean": round(b[2] / b[0], 4)}
                for k, b in sorted(bins.items())
            ],
        }
    model = ClvModel(
        tenant_id=tenant_id, calibration_end=calibration_end, holdout_end=holdout_end, unit=unit,
        bgnbd={"r": bgnbd.r, "alpha": bgnbd.alpha, "a": bgnbd.a, "b": bgnbd.b, "log_likelihood": bgnbd.log_likelihood},
        gamma_gamma={"p": spend.p, "q": spend.q, "gamma": spend.gamma, "log_likelihood": spend.log_likelihood} if spend else None,
        diagnostics=diagnostics, fitted_at=now,
    )
    session.add(model)
    session.flush()
    return model


def latest(session: Session, *, tenant_id: int) -> ClvModel | None:
    """The newest fit of the program, or None."""
    return session.execute(
        select(ClvModel).where(ClvModel.tenant_id == tenant_id).order_by(ClvModel.id.desc()).limit(1)
    ).scalar_one_or_none()


def latest_or_raise(session: Session, *, tenant_id: int) -> ClvModel:
    found = latest(session, tenant_id=tenant_id)
    if found is None:
        raise NotFound("no lifetime-value model yet: fit one (POST /v1/analytics/clv/fit or `wafa clv fit`)")
    return found


def predict(
    session: Session, *, tenant_id: int, member_id: int, horizon: int, discount_rate: Decimal, now: datetime,
) -> dict:
    """A member's prediction from the newest fit and their purchases up to now: P(alive), churn risk,
    expected purchases over `horizon` units and lifetime value over them (base currency)."""
    members.get_or_raise(session, tenant_id=tenant_id, member_id=member_id)
    model = latest_or_raise(session, tenant_id=tenant_id)
    program = programs.get(session, tenant_id=tenant_id)
    today = now.astimezone(ZoneInfo(program.timezone)).date()
    found = clv.summarise(
        history_rows(session, tenant_id=tenant_id, until=now, member_id=member_id), calibration_end=today, unit=model.unit
    )
    bgnbd = clv.BgNbd(**model.bgnbd)
    summary = found[0] if found else None
    if summary is None:
        alive, expected, value = None, clv.expected_purchases_new(bgnbd, horizon), None
    else:
        alive = clv.probability_alive(bgnbd, summary.x, summary.t_x, summary.T)
        expected = clv.expected_purchases(bgnbd, horizon, summary.x, summary.t_x, summary.T)
        value = None
        if model.gamma_gamma is not None and model.gamma_gamma["q"] > 1:
            value = clv.lifetime_value(
                bgnbd, clv.GammaGamma(**model.gamma_gamma), x=summary.x, t_x=summary.t_x, T=summary.T, m_x=summary.m_x,
                horizon=horizon, period=1.0, discount_rate=float(discount_rate),
            )
    digits = precision(program.base_currency)
    return {
        "member_id": member_id, "model_id": model.id, "unit": model.unit, "horizon": horizon, "discount_rate": str(discount_rate),
        "purchases": None if summary is None else {"repeat": summary.x, "recency": round(summary.t_x, 4), "age": round(summary.T, 4)},
        "probability_alive": None if alive is None else round(alive, 6),
        "churn_risk": None if alive is None else round(1 - alive, 6),
        "expected_purchases": round(expected, 6),
        "lifetime_value": None if value is None else format(round(Decimal(value), digits), "f"),
        "currency": program.base_currency,
    }
