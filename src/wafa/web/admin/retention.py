"""The retention period on the console's program settings page: anonymise members inactive for so many
years, or never. Its own form beside the settings form (owners and admins, as the settings section is),
audited as a change of the program."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from wafa.api.deps import Context
from wafa.programs import service as programs
from wafa.tenants import service as tenants
from wafa.web.admin import program as settings_page
from wafa.web.admin import program_fields as read
from wafa.web.admin.auth import PATH, Admin, current_admin
from wafa.web.admin.forms import Problems, apply_change, text
from wafa.web.pages import render

router = APIRouter(include_in_schema=False)  # included by web/admin/members.py, under its /admin
FIELD = "anonymise_inactive_after_years"


def _page(request: Request, admin: Admin, problems: Problems) -> Response:
    """The settings page again, the retention form saying what to fix."""
    ctx = Context(request)
    with ctx.transaction() as session:
        program = programs.get(session, tenant_id=admin.tenant_id, fresh=True)
        tenant = tenants.get_or_raise(session, tenant_id=admin.tenant_id)
    return render(request, "admin/settings.html", lang=admin.lang, me=admin, section="settings", p=program, tenant=tenant,
                  timezones=settings_page.timezone_choices(admin.lang.code), regions=settings_page.region_choices(admin.lang.code),
                  problems=problems, done=None, status=422)


@router.post("/settings/retention")
async def save_retention(request: Request, admin: Admin = Depends(current_admin)) -> Response:
    """Empty: never. Otherwise a whole number of years, 1 to 100."""

    def work(session: Any, form: Any, ctx: Context) -> str:
        fields = read.Fields()
        years = None  # nothing typed: never
        if text(form, FIELD):
            years = read.count(form, fields, FIELD, least=1, most=programs.MAX_RETENTION_YEARS)
        fields.check()
        before = programs.get(session, tenant_id=admin.tenant_id, fresh=True).anonymise_inactive_after_years
        if years != before:
            programs.set_retention(session, tenant_id=admin.tenant_id, years=years, now=ctx.now())
            admin.record(session, request, action="program.retention_changed", target="program", details={FIELD: years}, now=ctx.now())
        return f"{PATH}/settings?done=saved#retention"

    return await apply_change(request, admin, work, lambda problems: _page(request, admin, problems))
