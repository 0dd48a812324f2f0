"""The audit trail page: every change made in the console, newest first."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from wafa.api.deps import MAX_ID, Context
from wafa.tenants import audit
from wafa.web.admin.auth import PATH, Admin, current_admin
from wafa.web.pages import render

router = APIRouter(prefix=PATH, include_in_schema=False)


@router.get("/audit")
def trail(
    request: Request, before: int | None = Query(None, ge=1, le=MAX_ID), action: str | None = Query(None, max_length=64),
    admin: Admin = Depends(current_admin),
) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        rows = audit.list_(session, tenant_id=admin.tenant_id, before_id=before, limit=51, action=action or None)
    more = rows[50].id if len(rows) > 50 else None
    return render(request, "admin/audit.html", lang=admin.lang, me=admin, section="audit", rows=rows[:50], more=rows[49].id if more else None, action=action or "")
