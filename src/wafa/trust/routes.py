"""HTTP: a tenant's API rate limits (read with any key, changed by an admin key), the anomaly flags (read), the program's
velocity limits and the review queue of actions held past them (decided by an admin key, audited)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request

from wafa.api.deps import Context, IdPath, decode_cursor, encode_cursor, paginate, require
from wafa.errors import InvalidInput
from wafa.inputs import MAX_ID
from wafa.tenants import audit
from wafa.tenants import service as tenants
from wafa.tenants.service import Principal
from wafa.trust import anomalies, reviews, velocity
from wafa.trust.anomalies import DEFAULTS, Thresholds
from wafa.trust.gate import check_limits, default_limits
from wafa.trust.schemas import (
    AnomalyKind,
    AnomalyPage,
    RateLimitsIn,
    RateLimitsRead,
    ReviewDecisionIn,
    ReviewPage,
    ReviewRead,
    ReviewStatus,
    VelocityLimitsIn,
    VelocityLimitsRead,
)

router = APIRouter(prefix="/v1/tenant/rate-limits", tags=["tenant"])


def _read(request: Request, own: dict[str, str]) -> RateLimitsRead:
    defaults = default_limits(request.app.state.settings)
    return RateLimitsRead(limits={**defaults, **own}, own=own, defaults=defaults, shared=request.app.state.throttle.shared)


@router.get("", response_model=RateLimitsRead, summary="The rate limits of this tenant's API keys, by route class")
def get_rate_limits(request: Request, principal: Principal = Depends(require("read"))) -> RateLimitsRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        return _read(request, tenants.rate_limits(session, tenant_id=principal.tenant_id))


@router.put("", response_model=RateLimitsRead, summary="Set the tenant's own rate limits (admin); null restores a default")
def set_rate_limits(request: Request, limits_in: RateLimitsIn, principal: Principal = Depends(require("admin"))) -> RateLimitsRead:
    """Limits count per API key over a sliding window; a request past one gets a 429 with Retry-After."""
    try:
        changed = check_limits({name: text for name, text in limits_in.limits.items() if text is not None})
        check_limits(dict.fromkeys(limits_in.limits, "1/second"))  # unknown classes, even when null
    except ValueError as exc:
        raise InvalidInput(str(exc), field=f"limits.{str(exc).split(':', 1)[0]}") from None
    ctx = Context(request)
    with ctx.transaction() as session:
        own = tenants.rate_limits(session, tenant_id=principal.tenant_id)
        own = {name: text for name, text in {**own, **changed}.items() if limits_in.limits.get(name, "") is not None}
        tenants.set_rate_limits(session, tenant_id=principal.tenant_id, limits=own)
    return _read(request, own)


# Mounted beside `router` in wafa.api.app (a prefix of its own: /v1/trust).
anomalies_router = APIRouter(prefix="/v1/trust", tags=["trust"])


@anomalies_router.get(
    "/anomalies", response_model=AnomalyPage,
    summary="Anomaly flags: members who may be using the program's rules against it, each with its evidence",
)
def list_anomalies(
    request: Request,
    kind: AnomalyKind = Query(description="returns: a returned share far above the program's; shared_contact: several members on one "
                                          "phone or inbox; quick_redemption: a spend within hours of enrolling"),
    limit: int = Query(50, ge=1, le=500),
    cursor: str | None = Query(None, max_length=200, description="next_cursor of the page before"),
    days: int = Query(DEFAULTS.days, ge=1, le=3660,
                      description="returns: purchases of the last `days` days; quick_redemption: members enrolled in them"),
    min_purchases: int = Query(DEFAULTS.min_purchases, ge=1, le=10_000, description="returns: fewer purchases than this never flag"),
    min_members: int = Query(DEFAULTS.min_members, ge=2, le=10_000, description="shared_contact: members on one contact before it flags"),
    hours: int = Query(DEFAULTS.hours, ge=1, le=24 * 365, description="quick_redemption: the hours after enrolment"),
    principal: Principal = Depends(require("read")),
) -> AnomalyPage:
    """Read live from purchases, members and the ledger: a flag is a reason to review, not a verdict.
    A member's returned share flags when it is at least half of what they bought and three times the program's."""
    offset = decode_cursor(cursor) or 0
    thresholds = Thresholds(days=days, min_purchases=min_purchases, min_members=min_members, hours=hours)
    ctx = Context(request)
    with ctx.reading() as session:
        found = anomalies.find(session, tenant_id=principal.tenant_id, kind=kind, now=ctx.now(), limit=limit + 1, offset=offset,
                               thresholds=thresholds)
    return AnomalyPage(items=found[:limit], next_cursor=encode_cursor(offset + limit) if len(found) > limit else None)


# --- velocity limits and the review queue --------------------------------------------------------------------


@anomalies_router.get("/velocity-limits", response_model=VelocityLimitsRead, summary="The program's velocity limits")
def get_velocity_limits(request: Request, principal: Principal = Depends(require("read"))) -> VelocityLimitsRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        return VelocityLimitsRead(limits=velocity.read(session, tenant_id=principal.tenant_id))


@anomalies_router.put("/velocity-limits", response_model=VelocityLimitsRead, summary="Set the program's velocity limits (admin)")
def set_velocity_limits(
    request: Request, limits_in: VelocityLimitsIn, principal: Principal = Depends(require("admin")),
) -> VelocityLimitsRead:
    """The whole set at once. An action past a limit is held for review (GET /v1/trust/reviews) instead of refused:
    a purchase's points are credited held, a redemption or wallet debit waits as its request (202 Accepted)."""
    ctx = Context(request)
    with ctx.transaction() as session:
        before = velocity.read(session, tenant_id=principal.tenant_id)
        limits = velocity.replace_limits(session, tenant_id=principal.tenant_id, limits=limits_in.limits, now=ctx.now())
        audit.record(
            session, tenant_id=principal.tenant_id, user_id=None, actor=f"api-key:{principal.key_id}", action="velocity_limits.updated",
            details={"before": [limit.model_dump() for limit in before], "after": [limit.model_dump() for limit in limits]}, now=ctx.now(),
        )
        return VelocityLimitsRead(limits=limits)


@anomalies_router.get("/reviews", response_model=ReviewPage, summary="Actions held past a velocity limit, newest first")
def list_reviews(
    request: Request,
    status: ReviewStatus | None = Query(None, description="held (waiting), approved, rejected or failed; default all"),
    member_id: int | None = Query(None, ge=1, le=MAX_ID),
    limit: int = Query(50, ge=1, le=200),
    cursor: str | None = Query(None, max_length=200, description="next_cursor of the page before"),
    principal: Principal = Depends(require("read")),
) -> ReviewPage:
    ctx = Context(request)
    with ctx.reading() as session:
        rows = reviews.list_(session, tenant_id=principal.tenant_id, status=status, member_id=member_id, before_id=decode_cursor(cursor),
                             limit=limit + 1)
        items, next_cursor = paginate(rows, limit, reviews.to_read)
    return ReviewPage(items=items, next_cursor=next_cursor)


@anomalies_router.get("/reviews/{review_id}", response_model=ReviewRead, summary="Read a review")
def get_review(request: Request, review_id: IdPath, principal: Principal = Depends(require("read"))) -> ReviewRead:
    ctx = Context(request)
    with ctx.reading() as session:
        return reviews.to_read(reviews.get_or_raise(session, tenant_id=principal.tenant_id, review_id=review_id))


def _decision_route(action: str, summary: str) -> None:
    decide = reviews.approve if action == "approve" else reviews.reject

    @anomalies_router.post(
        f"/reviews/{{review_id}}/{action}", response_model=ReviewRead, summary=summary, name=f"{action}_review",
        responses={409: {"description": "the review is already decided"}},
    )
    def route(request: Request, review_id: IdPath, decision: ReviewDecisionIn, principal: Principal = Depends(require("admin"))) -> ReviewRead:
        ctx = Context(request)
        actor = f"api-key:{principal.key_id}"
        with ctx.transaction() as session:
            review = decide(session, tenant_id=principal.tenant_id, review_id=review_id, actor=actor, note=decision.note, now=ctx.now())
            audit.record(
                session, tenant_id=principal.tenant_id, user_id=None, actor=actor, action=f"review.{review.status}",
                target=f"member:{review.member_id}", details={"review_id": review.id, "action": review.action, "note": decision.note,
                                                             "outcome": review.outcome}, now=ctx.now(),
            )
            return reviews.to_read(review)


_decision_route("approve", "Approve a held action: held points get their pending window, a held request is carried out (admin)")
_decision_route("reject", "Reject a held action: held points are reversed (a held purchase as a whole return), a held request dropped (admin)")
