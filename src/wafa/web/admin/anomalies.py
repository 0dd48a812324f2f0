"""Anomaly flags in the console: the members who may be using the program's rules against it, one kind
at a time (returns far above the program's, several members on one phone or inbox, spends right after
enrolling), each with its evidence and links to the members' profiles, as GET /v1/trust/anomalies gives.

The page shows members' identifiers and contacts: a read of personal data, audited once per page shown
with the members it named (as the members list is)."""

from __future__ import annotations

from typing import get_args

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from wafa.api.deps import Context
from wafa.trust import anomalies
from wafa.trust.schemas import AnomalyKind
from wafa.web.admin.auth import PATH, Admin, current_admin
from wafa.web.pages import render

router = APIRouter(prefix=PATH, include_in_schema=False)

SHOWN = 50  # flags of a kind on the page, the strongest first; the API pages through them all


@router.get("/anomalies")
def anomaly_page(
    request: Request, kind: str = Query("returns", max_length=32), admin: Admin = Depends(current_admin),
) -> Response:
    # An unknown kind (a hand-edited link) shows the first kind, not an error page.
    shown: AnomalyKind = kind if kind in get_args(AnomalyKind) else "returns"  # type: ignore[assignment]
    ctx = Context(request)
    with ctx.transaction() as session:
        found = anomalies.find(session, tenant_id=admin.tenant_id, kind=shown, now=ctx.now(), limit=SHOWN + 1)
        named = sorted({member_id for flag in found[:SHOWN] for member_id in flag.member_ids})
        if named:
            admin.record(session, request, action="anomalies.listed", target="members",
                         details={"page": "anomalies", "kind": shown, "members": named}, now=ctx.now())
    return render(
        request, "admin/anomalies.html", lang=admin.lang, me=admin, section="anomalies", kind=shown, kinds=anomalies.KINDS,
        flags=found[:SHOWN], more=len(found) > SHOWN, thresholds=anomalies.DEFAULTS, shown_limit=SHOWN,
    )
