"""Next-best offers in the console: the tenant's latest offer model, how it did against popularity on the
holdout, its most popular items, and training a new one now (as POST /v1/offers/model:train does)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from wafa.api.deps import Context
from wafa.errors import InvalidInput
from wafa.offers import service
from wafa.rewards.models import Reward
from wafa.web.admin.auth import PATH, Admin, current_admin
from wafa.web.admin.forms import FormError, Problems, apply_change
from wafa.web.messages import N_
from wafa.web.pages import render

router = APIRouter(prefix=PATH, include_in_schema=False)

TOP = 10  # popular items listed
_METRICS = ("precision", "recall", "ndcg")
_BAR_WIDTH = 300  # the chart's widest bar (a score of 1), in SVG units


@dataclass(frozen=True)
class Bar:
    """One metric for the model and for popularity, as numbers and as bar widths."""

    metric: str
    model: float
    baseline: float
    model_width: float
    baseline_width: float


def _bars(metrics: dict[str, Any]) -> list[Bar]:
    """The three holdout metrics, model beside popularity (none: the model was trained without a holdout)."""
    k, model, baseline = metrics.get("k", 5), metrics.get("model"), metrics.get("baseline")
    if not model or not baseline:
        return []
    bars = []
    for name in _METRICS:
        ours, theirs = float(model[f"{name}@{k}"]), float(baseline[f"{name}@{k}"])
        bars.append(Bar(name, ours, theirs, round(max(ours, 0.0) * _BAR_WIDTH, 1), round(max(theirs, 0.0) * _BAR_WIDTH, 1)))
    return bars


def _names(session: Session, *, tenant_id: int, items: list[str], lang: str) -> dict[str, str]:
    """Each item's name to show: a reward's from the catalog, a category's own."""
    ids = [int(key) for kind, _, key in (item.partition(":") for item in items) if kind == "reward" and key.isdigit()]
    rewards = {}
    if ids:
        query = select(Reward).where(Reward.tenant_id == tenant_id, Reward.id.in_(ids))
        rewards = {f"reward:{r.id}": (r.name_ar if lang == "ar" and r.name_ar else r.name_en) for r in session.execute(query).scalars()}
    return {item: rewards.get(item, item.partition(":")[2] or item) for item in items}


def _page(request: Request, admin: Admin, *, done: str | None = None, problems: Problems | None = None) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        stored = service.current(session, tenant_id=admin.tenant_id)
        popular = stored.recommender.popular[:TOP] if stored else []
        names = _names(session, tenant_id=admin.tenant_id, items=[item for item, _ in popular], lang=admin.lang.code)
    bars = _bars(stored.metrics) if stored else []
    ndcg = next((bar for bar in bars if bar.metric == "ndcg"), None)
    cutoff = datetime.fromisoformat(stored.metrics["cutoff"]) if bars and stored else None
    return render(
        request, "admin/offers.html", lang=admin.lang, me=admin, section="offers", stored=stored, bars=bars, ndcg=ndcg, cutoff=cutoff,
        popular=[(item, names[item], share) for item, share in popular], bar_width=_BAR_WIDTH, outcome=done, problems=problems,
        status=422 if problems else 200,
    )


@router.get("/offers")
def offers_page(request: Request, done: str | None = Query(None, max_length=16), admin: Admin = Depends(current_admin)) -> Response:
    return _page(request, admin, done=done)


@router.post("/offers/train")
async def train(request: Request, admin: Admin = Depends(current_admin)) -> Response:
    """Train the tenant's offer model now, and audit it with its holdout metrics."""

    def work(session: Any, form: Any, ctx: Context) -> str:
        try:
            row = service.train(session, tenant_id=admin.tenant_id, now=ctx.now())
        except InvalidInput:
            raise FormError([N_("Nothing to learn from yet: no purchases with item categories and no rewards given. "
                                "Send purchases with their items' categories, or give rewards, then train again.")]) from None
        admin.record(session, request, action="offers.model_trained", target=f"offer_model:{row.id}", details=row.metrics, now=ctx.now())
        return f"{PATH}/offers?done=trained"

    return await apply_change(request, admin, work, lambda problems: _page(request, admin, problems=problems))
