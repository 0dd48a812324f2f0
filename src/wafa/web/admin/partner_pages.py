"""A coalition partner's own pages in the console, for its people (admin users with a partner): their
dashboard (points issued and redeemed at their stores, members who joined through them, their customers'
visits to the other partners as counts only), their statements with the files, and their offers and
rewards. The central check (auth.partner_may) keeps a partner's person to these pages; the operator's
people have the coalition section instead."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from wafa.api.deps import Context, IdPath
from wafa.coalition import dashboard, settlement
from wafa.programs import service as programs
from wafa.web.admin.auth import PARTNER_ONLY, PATH, Admin, Refused, current_admin
from wafa.web.admin.coalition import LINE_LABELS, chosen_days, picker
from wafa.web.messages import N_
from wafa.web.pages import render

router = APIRouter(prefix=PATH, include_in_schema=False)
HOME = f"{PATH}/partner"
STATEMENTS = 50  # statements a page lists
PARTNERS_ONLY = N_("These pages are for a partner's people; the coalition's own pages are under Coalition.")


def partner_of(admin: Admin) -> int:
    """The signed-in person's partner, or the 403 page for the operator's people."""
    if admin.partner_id is None:
        raise Refused(PARTNERS_ONLY, permission="partner")
    return admin.partner_id


@router.get("/partner")
def partner_dashboard(request: Request, admin: Admin = Depends(current_admin)) -> Response:
    partner_id = partner_of(admin)
    ctx = Context(request)
    with ctx.transaction() as session:
        timezone = programs.get(session, tenant_id=admin.tenant_id).timezone
        chosen, start, end = chosen_days(request, timezone, ctx.now())
        figures = dashboard.partner_figures(session, tenant_id=admin.tenant_id, partner_id=partner_id, start=start, end=end,
                                            now=ctx.now())
    visits = figures.visits_elsewhere
    chart: dict[str, Any] = {
        "labels": [v.partner.name_in(admin.lang.code) for v in visits],
        "datasets": [[admin.lang.gettext(N_("Visits")), [v.visits for v in visits]],
                     [admin.lang.gettext(N_("Members")), [v.members for v in visits]]],
    }
    return render(request, "admin/partner_dashboard.html", lang=admin.lang, me=admin, section="partner", figures=figures, chart=chart,
                  **picker(chosen, timezone))


@router.get("/partner/statements")
def partner_statements(
    request: Request, before: int | None = Query(None, ge=1, le=2**63 - 1), admin: Admin = Depends(current_admin),
) -> Response:
    partner_id = partner_of(admin)
    with Context(request).transaction() as session:
        rows = settlement.list_statements(session, tenant_id=admin.tenant_id, partner_id=partner_id, before_id=before, limit=STATEMENTS)
    older = rows[STATEMENTS - 1].id if len(rows) > STATEMENTS else None
    return render(request, "admin/partner_statements.html", lang=admin.lang, me=admin, section="partner-statements",
                  statements=rows[:STATEMENTS], older=older)


@router.get("/partner/statements/{statement_id}")
def partner_statement(request: Request, statement_id: IdPath, admin: Admin = Depends(current_admin)) -> Response:
    partner_id = partner_of(admin)
    with Context(request).transaction() as session:
        statement = dashboard.statement_of(session, tenant_id=admin.tenant_id, partner_id=partner_id, statement_id=statement_id)
    if statement is None:  # another party's, or none: the same answer
        raise Refused(PARTNER_ONLY, permission="partner")
    return render(request, "admin/coalition_statement.html", lang=admin.lang, me=admin, section="partner-statements", statement=statement,
                  party=admin.partner_name, labels=LINE_LABELS, back=f"{HOME}/statements")


@router.get("/partner/offers")
def partner_offers(request: Request, admin: Admin = Depends(current_admin)) -> Response:
    partner_id = partner_of(admin)
    with Context(request).transaction() as session:
        offers = dashboard.offers(session, tenant_id=admin.tenant_id, partner_id=partner_id)
        rewards = dashboard.rewards(session, tenant_id=admin.tenant_id, partner_id=partner_id)
    return render(request, "admin/partner_offers.html", lang=admin.lang, me=admin, section="partner-offers", offers=offers, rewards=rewards)
