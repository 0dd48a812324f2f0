"""HTTP: fitting the lifetime-value models (admin), the newest fit, and a member's prediction."""

from __future__ import annotations

from decimal import Decimal

from fastapi import APIRouter, Depends, Query, Request

from wafa.analytics import lifetime_value
from wafa.analytics.models import ClvModel
from wafa.analytics.schemas import ClvFitIn, ClvModelRead, MemberClv
from wafa.api.deps import Context, IdPath, require
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
    discount_rate: Decimal = Query(Decimal("0"), ge=0, le=1, description="per unit"),
    principal: Principal = Depends(require("read")),
) -> MemberClv:
    ctx = Context(request)
    with ctx.transaction() as session:
        return MemberClv(**lifetime_value.predict(
            session, tenant_id=principal.tenant_id, member_id=member_id, horizon=horizon, discount_rate=discount_rate, now=ctx.now(),
        ))
