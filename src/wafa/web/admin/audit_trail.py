"""The audit trail page: every change made in the console and every sign-in, newest first, paged with the
total, sortable, filtered by action, who and dates, and exported as CSV; details read as written (Arabic too)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse

from wafa.api.deps import Context
from wafa.programs import service as programs
from wafa.tenants import audit
from wafa.tenants.models import AuditEntry
from wafa.web.admin import coalition as coalition_pages
from wafa.web.admin import tables
from wafa.web.admin.auth import PATH, Admin, current_admin
from wafa.web.admin.forms import FormError, Problem, Problems, local_datetime
from wafa.web.messages import N_
from wafa.web.pages import render

router = APIRouter(prefix=PATH, include_in_schema=False)

FILTERS = ("action", "who", "from-date", "to-date")
ORDER = {"when": AuditEntry.id, "who": AuditEntry.actor, "action": AuditEntry.action}
# What the common actions say in the page's language (others show their code).
ACTIONS = {
    "admin.signed_in": N_("Signed in"), "admin.sign_in_refused": N_("Sign-in refused"),
    "member.points_adjusted": N_("Points adjusted"), "member.suspended": N_("Member suspended"), "member.reactivated": N_("Member reactivated"),
    "program.updated": N_("Program settings changed"), "rule.created": N_("Rule created"), "rule.revised": N_("Rule changed"),
    "rule.status_changed": N_("Rule status changed"), "reward.created": N_("Reward created"), "reward.updated": N_("Reward changed"),
    "tier.created": N_("Tier created"), "tier.updated": N_("Tier changed"), "plan.created": N_("Paid plan created"),
    "plan.updated": N_("Paid plan changed"), "api_key.created": N_("API key created"), "api_key.revoked": N_("API key revoked"),
    "coupon_campaign.created": N_("Coupon campaign created"), "survey.created": N_("Survey created"), "survey.invited": N_("Survey invitations sent"),
    "segment.created": N_("Segment created"), "purchases.import_started": N_("Purchase import started"),
    "goal.created": N_("Goal set"), "goal.updated": N_("Goal changed"), "goal.deleted": N_("Goal removed"),
    # People (web/admin/people.py, passwords.py, and `wafa admin create-user`).
    "admin_user.created": N_("Console user created"), "admin_user.invited": N_("Person invited"),
    "admin_user.invitation_resent": N_("Invitation sent again"), "admin_user.joined": N_("Invitation accepted"),
    "admin_user.role_changed": N_("Role changed"), "admin_user.deactivated": N_("Person deactivated"),
    "admin_user.reactivated": N_("Person reactivated"), "admin.password_reset_sent": N_("Password reset link sent"),
    "admin.password_reset": N_("Password reset"), "admin.password_changed": N_("Password changed"),
    "admin.support_limit_changed": N_("Support limit changed"),
    "webhook.created": N_("Webhook endpoint added"), "webhook.deleted": N_("Webhook endpoint removed"),
    "webhook.enabled": N_("Webhook endpoint turned on or off"), "webhook.replayed": N_("Webhook message sent again"),
    "webhook.secret_rotated": N_("Webhook secret replaced"), "webhook.tested": N_("Webhook test sent"),
    "messaging.channel_saved": N_("Message channel set up"), "messaging.channel_removed": N_("Message channel removed"),
    "messaging.journey_saved": N_("Journey changed"), "messaging.policy_saved": N_("Message rules changed"),
    "messaging.template_saved": N_("Wording changed"), "messaging.template_reset": N_("Wording reset"),
    "messaging.test_sent": N_("Test message sent"), "campaign.created": N_("Campaign scheduled"), "campaign.cancelled": N_("Campaign cancelled"),
    "member.consent_changed": N_("Consent changed"),
    **coalition_pages.AUDIT_ACTIONS,
}


def _view(request: Request) -> tables.View:
    return tables.view_of(request, sorts=tuple(ORDER), default="when", descending=True, filters=FILTERS)


def _query(session: Any, admin: Admin, view: tables.View) -> tuple[Any, dict[str, datetime | None], Problems | None]:
    """The entries the view's filters ask for, the dates read, and what is wrong with them (if anything)."""
    timezone = programs.get(session, tenant_id=admin.tenant_id).timezone
    dates: dict[str, datetime | None] = {}
    wrong: dict[str, Problem] = {}
    for name in ("from", "to"):
        try:
            dates[name] = local_datetime(view.filters, name, timezone)
        except FormError as exc:
            wrong.update(exc.fields)
            dates[name] = None
    if dates["from"] and dates["to"] and dates["to"] < dates["from"]:
        wrong["to"] = Problem(N_("The end must be on or after the start."))
    query = audit.table_query(
        tenant_id=admin.tenant_id, action=view.filters.get("action") or None, actor=view.filters.get("who") or None, start=dates["from"],
        end=dates["to"] + timedelta(days=1) if dates["to"] else None,
    )
    return query, dates, Problems(fields=wrong, entered=dict(view.filters)) if wrong else None


def details_of(details: dict | None) -> list[tuple[str, str]]:
    """An entry's details as (name, value) pairs of plain text: Arabic stays Arabic, nested values as JSON."""
    out = []
    for key, value in (details or {}).items():
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
        out.append((str(key), text))
    return out


@router.get("/audit")
def trail(request: Request, admin: Admin = Depends(current_admin)) -> Response:
    view = _view(request)
    ctx = Context(request)
    with ctx.transaction() as session:
        query, dates, problems = _query(session, admin, view)
        found = tables.page_of(session, query, view=view, order=ORDER, tiebreak=AuditEntry.id)
        known = audit.actions(session, tenant_id=admin.tenant_id)
    return render(
        request, "admin/audit.html", lang=admin.lang, me=admin, section="audit", found=found, view=view, problems=problems, dates=dates,
        actions=known, action_names=ACTIONS, details_of=details_of,
        export=view.export_link(f"{PATH}/audit.csv") if admin.can("audit") else None,
    )


@router.get("/audit.csv")
def export_trail(request: Request, admin: Admin = Depends(current_admin)) -> StreamingResponse:
    """The entries the page's filters find, in its order, as CSV (streamed); owners and admins only (it
    holds every person's actions and IP addresses)."""
    admin.require("audit")
    view = _view(request)
    ctx = Context(request)

    def rows() -> Iterator[list]:
        with ctx.transaction() as session:
            query, _, _ = _query(session, admin, view)
            for (row,) in tables.stream(session, tables.ordered(query, view=view, order=ORDER, tiebreak=AuditEntry.id)):
                yield [row.id, row.created_at, row.actor, row.action, row.target, json.dumps(row.details or {}, ensure_ascii=False), row.ip]

    return tables.csv_response(rows, header=["id", "at", "who", "action", "target", "details", "ip"], filename="audit-trail.csv")
