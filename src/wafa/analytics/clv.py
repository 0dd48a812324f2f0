"""Customer lifetime value, no database: the BG/NBD model of repeat purchases (Fader, Hardie & Lee,
"Counting Your Customers the Easy Way", 2005) and the Gamma-Gamma model of spend per transaction
(Fader & Hardie, 2013), fitted by maximum likelihood; per customer, the probability of being alive,
expected purchases and predicted lifetime value.

Time is in a unit (days or weeks). For each customer, from their transactions (purchases on the same
day are one transaction, as in the literature): `x` repeat transactions in the calibration period,
`t_x` the time of the last one after the first, `T` the time from the first to the end of calibration.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import numpy as np
from scipy import optimize, special

UNITS = {"day": 1, "week": 7}


@dataclass(frozen=True, slots=True)
class Summary:
    """One customer's calibration-period statistics (and, when a holdout is given, what followed)."""

    customer: str
    x: int  # repeat transactions (unique days after the first)
    t_x: float  # time of the last transaction after the first, in units
    T: float  # time from the first transaction to the end of calibration, in units
    m_x: float  # average value of the repeat transactions (0 without any)
    holdout: int = 0  # transactions after calibration, up to the holdout's end


@dataclass(frozen=True, slots=True)
class BgNbd:
    """Fitted BG/NBD parameters: r and alpha (purchase rates), a and b (dropping out)."""

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float


@dataclass(frozen=True, slots=True)
class GammaGamma:
    """Fitted Gamma-Gamma parameters of spend per transaction."""

    p: float
    q: float
    gamma: float
    log_likelihood: float


def summarise(
    transactions: Iterable[tuple[str, date, float]], *, calibration_end: date, unit: str = "week",
    holdout_end: date | None = None,
) -> list[Summary]:
    """Per customer statistics from (customer, day, value) transactions. Same-day transactions are one
    (their values added); customers whose first transaction is after `calibration_end` are left out."""
    days = UNITS[unit]
    by_customer: dict[str, dict[date, float]] = defaultdict(lambda: defaultdict(float))
    for customer, day, value in transactions:
        by_customer[customer][day] += float(value)
    out = []
    for customer, spent in by_customer.items():
        ordered = sorted(spent)
        first = ordered[0]
        if first > calibration_end:
            continue
        calibration = [d for d in ordered if d <= calibration_end]
        repeats = calibration[1:]
        holdout = 0
        if holdout_end is not None:
            holdout = sum(1 for d in ordered if calibration_end < d <= holdout_end)
        out.append(Summary(
            customer=customer, x=len(repeats), t_x=(calibration[-1] - first).days / days,
            T=(calibration_end - first).days / days,
            m_x=sum(spent[d] for d in repeats) / len(repeats) if repeats else 0.0, holdout=holdout,
        ))
    return out


def _grouped(summaries: list[Summary]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (x, t_x, T) with their counts: the likelihood is the same for identical customers."""
    counts: dict[tuple[int, float, float], int] = defaultdict(int)
    for s in summaries:
        counts[(s.x, s.t_x, s.T)] += 1
    keys = list(counts)
    x = np.array([k[0] for k in keys], dtype=float)
    t_x = np.array([k[1] for k in keys], dtype=float)
    T = np.array([k[2] for k in keys], dtype=float)
    n = np.array([counts[k] for k in keys], dtype=float)
    return x, t_x, T, n


def bgnbd_log_likelihood(r: float, alpha: float, a: float, b: float, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Each customer's log-likelihood under BG/NBD, in log space throughout (no overflow for large x)."""
    shared = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    survive = special.betaln(a, b + x) - special.betaln(a, b) - (r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore"):
        # Died after the last transaction: only possible with one (x > 0).
        died = np.where(
            x > 0,
            special.betaln(a + 1, b + np.maximum(x, 1) - 1) - special.betaln(a, b) - (r + x) * np.log(alpha + t_x),
            -np.inf,
        )
    return shared + np.logaddexp(survive, died)


def _fit(negative_ll, start: list[float]) -> np.ndarray:
    """Minimise over the logs of the parameters (all positive), polishing with Nelder-Mead."""
    first = optimize.minimize(negative_ll, np.log(start), method="L-BFGS-B", options={"maxiter": 2000, "gtol": 1e-10})
    second = optimize.minimize(
        negative_ll, first.x, method="Nelder-Mead", options={"maxiter": 20000, "xatol": 1e-10, "fatol": 1e-12}
    )
    best = second if second.fun <= first.fun else first
    if not np.all(np.isfinite(best.x)):
        raise ValueError("the fit did not converge")
    return np.exp(best.x)


def fit_bgnbd(summaries: list[Summary], *, start: tuple[float, float, float, float] = (1.0, 3.0, 1.0, 3.0)) -> BgNbd:
    """Maximum-likelihood BG/NBD parameters for these customers."""
    if not summaries:
        raise ValueError("no customers to fit")
    x, t_x, T, n = _grouped(summaries)
    total = n.sum()

    def negative(log_params: np.ndarray) -> float:
        r, alpha, a, b = np.exp(log_params)
        value = -(n * bgnbd_log_likelihood(r, alpha, a, b, x, t_x, T)).sum() / total
        return float(value) if np.isfinite(value) else 1e300

    r, alpha, a, b = _fit(negative, list(start))
    return BgNbd(float(r), float(alpha), float(a), float(b), float((n * bgnbd_log_likelihood(r, alpha, a, b, x, t_x, T)).sum()))


def probability_alive(params: BgNbd, x: float, t_x: float, T: float) -> float:
    """P(the customer is still active | x, t_x, T); 1 without a repeat transaction (no chance to drop out yet)."""
    if x == 0:
        return 1.0
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    log_ratio = np.log(a) - np.log(b + x - 1) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
    return float(1.0 / (1.0 + np.exp(log_ratio)))


def expected_purchases(params: BgNbd, t: float, x: float, t_x: float, T: float) -> float:
    """Expected transactions in the next `t` units for a customer with (x, t_x, T) (eq. 10)."""
    if t <= 0:
        return 0.0
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    hyper = special.hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t))
    head = (a + b + x - 1) / (a - 1)
    body = 1.0 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyper
    alive_term = 1.0 + (a / (b + x - 1)) * ((alpha + T) / (alpha + t_x)) ** (r + x) if x > 0 else 1.0
    return float(head * body / alive_term)


def expected_purchases_new(params: BgNbd, t: float) -> float:
    """Expected transactions by a new customer in their first `t` units (eq. 9)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    hyper = special.hyp2f1(r, b, a + b - 1, t / (alpha + t))
    return float((a + b - 1) / (a - 1) * (1.0 - (alpha / (alpha + t)) ** r * hyper))


def gamma_gamma_log_likelihood(p: float, q: float, gamma: float, x: np.ndarray, m_x: np.ndarray) -> np.ndarray:
    """Each repeat customer's log-likelihood of their average spend `m_x` over `x` transactions."""
    px = p * x
    return (
        special.gammaln(px + q) - special.gammaln(px) - special.gammaln(q) + q * np.log(gamma)
        + (px - 1) * np.log(m_x) + px * np.log(x) - (px + q) * np.log(gamma + m_x * x)
    )


def fit_gamma_gamma(summaries: list[Summary], *, start: tuple[float, float, float] = (1.0, 1.0, 1.0)) -> GammaGamma:
    """Maximum-likelihood Gamma-Gamma parameters from customers with repeat transactions of positive value."""
    repeat = [s for s in summaries if s.x > 0 and s.m_x > 0]
    if not repeat:
        raise ValueError("no repeat customers with spend to fit")
    x = np.array([s.x for s in repeat], dtype=float)
    m_x = np.array([s.m_x for s in repeat], dtype=float)

    def negative(log_params: np.ndarray) -> float:
        p, q, gamma = np.exp(log_params)
        value = -gamma_gamma_log_likelihood(p, q, gamma, x, m_x).sum() / len(repeat)
        return float(value) if np.isfinite(value) else 1e300

    p, q, gamma = _fit(negative, list(start))
    return GammaGamma(float(p), float(q), float(gamma), float(gamma_gamma_log_likelihood(p, q, gamma, x, m_x).sum()))


def expected_spend(params: GammaGamma, x: float, m_x: float) -> float:
    """Expected value of a customer's future transactions: their average shrunk towards the population's."""
    p, q, gamma = params.p, params.q, params.gamma
    if q <= 1:
        raise ValueError("q must exceed 1 for the expected spend to exist")
    population = p * gamma / (q - 1)
    if x == 0:
        return population
    weight = p * x / (p * x + q - 1)
    return (1 - weight) * population + weight * m_x


def lifetime_value(
    bgnbd: BgNbd, spend: GammaGamma, *, x: float, t_x: float, T: float, m_x: float, horizon: int, period: float,
    discount_rate: float,
) -> float:
    """Discounted value of a customer's next `horizon` periods of `period` units each: per period, the
    expected transactions in it times the expected spend, discounted at `discount_rate` per period."""
    value_each = expected_spend(spend, x, m_x)
    total, before = 0.0, 0.0
    for k in range(1, horizon + 1):
        until = expected_purchases(bgnbd, k * period, x, t_x, T)
        total += (until - before) * value_each / (1 + discount_rate) ** k
        before = until
    return total
