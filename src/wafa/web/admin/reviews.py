"""The review queue in the console: actions held past a velocity limit, each approved or rejected (with a note,
audited), and the program's velocity limits, added and removed (as /v1/trust/reviews and
/v1/trust/velocity-limits do). Deciding and changing limits is the program's people's (owners and admins)."""

from __future__ import annotations

from typing import Any, get_args

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from wafa.api.deps import Context, IdPath
from wafa.programs import service as programs
from wafa.trust import reviews, velocity
from wafa.trust.schemas import ReviewStatus, VelocityAction, VelocityLimit, VelocitySubject, VelocityWindow
from wafa.web.admin.auth import PATH, Admin, current_admin
from wafa.web.admin.forms import FormError, Problem, Problems, apply_change, optional, text, valid, whole
from wafa.web.messages import N_
from wafa.web.pages import render

router = APIRouter(prefix=PATH, include_in_schema=False)

SHOWN = 50
MOST_LIMITS = 32


def _page(request: Request, admin: Admin, *, status: str, done: str | None = None, problems: Problems | None = None) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        found = reviews.list_(session, tenant_id=admin.tenant_id, status=status if status != "all" else None, before_id=None, limit=SHOWN + 1)
        limits = velocity.read(session, tenant_id=admin.tenant_id)
        currency = programs.get(session, tenant_id=admin.tenant_id).base_currency
    return render(
        request, "admin/reviews.html", lang=admin.lang, me=admin, section="reviews", shown=status, statuses=("held", *_DECIDED, "all"),
        reviews=found[:SHOWN], more=len(found) > SHOWN, limits=limits, currency=currency, outcome=done, problems=problems,
        subjects=get_args(VelocitySubject), actions=get_args(VelocityAction), windows=get_args(VelocityWindow),
        status=422 if problems else 200,
    )


_DECIDED = tuple(s for s in get_args(ReviewStatus) if s != "held")


@router.get("/reviews")
def review_page(
    request: Request, status: str = Query("held", max_length=16), done: str | None = Query(None, max_length=16),
    admin: Admin = Depends(current_admin),
) -> Response:
    # An unknown status (a hand-edited link) shows the queue, not an error page.
    shown = status if status in (*get_args(ReviewStatus), "all") else "held"
    return _page(request, admin, status=shown, done=done)


def _decision(name: str) -> None:
    decide = reviews.approve if name == "approve" else reviews.reject

    async def route(request: Request, review_id: IdPath, admin: Admin = Depends(current_admin)) -> Response:
        def work(session: Any, form: Any, ctx: Context) -> str:
            note = optional(form, "note")
            if note is not None and len(note) > 500:
                raise FormError(fields={"note": Problem(N_("Write at most 500 characters."))})
            review = decide(session, tenant_id=admin.tenant_id, review_id=review_id, actor=admin.email, note=note, now=ctx.now())
            admin.record(session, request, action=f"review.{review.status}", target=f"member:{review.member_id}",
                         details={"review_id": review.id, "action": review.action, "note": note, "outcome": review.outcome}, now=ctx.now())
            return f"{PATH}/reviews?done={review.status}"

        return await apply_change(request, admin, work, lambda problems: _page(request, admin, status="held", problems=problems))

    router.add_api_route(f"/reviews/{{review_id}}/{name}", route, methods=["POST"], name=f"console_{name}_review")


_decision("approve")
_decision("reject")


def _limit_of(form: Any) -> VelocityLimit:
    raw = {name: text(form, name) for name in ("subject", "action", "window")}
    amounts = {}
    for name in ("max_value", "max_count"):
        typed = text(form, name)
        if typed:
            number = whole(typed, most=10**12)
            if not number:
                raise FormError(fields={name: Problem(N_("Enter a whole number above zero."))})
            amounts[name] = number
    if not amounts:
        raise FormError(fields={"max_value": Problem(N_("Give a most in value, a most in number of actions, or both."))})
    limit: VelocityLimit = valid(VelocityLimit, {**raw, **amounts})
    return limit


@router.post("/reviews/limits")
async def add_limit(request: Request, admin: Admin = Depends(current_admin)) -> Response:
    def work(session: Any, form: Any, ctx: Context) -> str:
        limit = _limit_of(form)
        before = velocity.read(session, tenant_id=admin.tenant_id)
        if len(before) >= MOST_LIMITS:
            raise FormError([N_("A program has at most 32 velocity limits: remove one first.")])
        after = velocity.replace_limits(session, tenant_id=admin.tenant_id, limits=[*before, limit], now=ctx.now())
        admin.record(session, request, action="velocity_limits.updated", target="program",
                     details={"added": limit.model_dump(), "limits": [item.model_dump() for item in after]}, now=ctx.now())
        return f"{PATH}/reviews?done=limit-added"

    return await apply_change(request, admin, work, lambda problems: _page(request, admin, status="held", problems=problems))


@router.post("/reviews/limits/{index}/remove")
async def remove_limit(request: Request, index: int = Path(ge=0, le=MOST_LIMITS), admin: Admin = Depends(current_admin)) -> Response:
    def work(session: Any, form: Any, ctx: Context) -> str:
        before = velocity.read(session, tenant_id=admin.tenant_id)
        if not 0 <= index < len(before):
            raise FormError([N_("That limit is gone already: the page shows the limits as they are now.")])
        after = velocity.replace_limits(session, tenant_id=admin.tenant_id, limits=before[:index] + before[index + 1:], now=ctx.now())
        admin.record(session, request, action="velocity_limits.updated", target="program",
                     details={"removed": before[index].model_dump(), "limits": [item.model_dump() for item in after]}, now=ctx.now())
        return f"{PATH}/reviews?done=limit-removed"

    return await apply_change(request, admin, work, lambda problems: _page(request, admin, status="held", problems=problems))
