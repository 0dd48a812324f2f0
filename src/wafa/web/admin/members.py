"""Members in the console: the list (search, filters, sorting, pages with the total, CSV), a profile with
balance, lots, the whole history page by page, tier, achievements, referrals, the messages sent and the
consent history (all of it, page by page); adjust points with a reason within a bound, and suspend, each
after a confirmation; reactivate; give or withdraw consent per channel; export everything held about
the member (a zip), and, for owners, erase their personal data after a confirmation.

Reads of personal data are audited, one record per page shown (never one per row): a page of the list
(the ids it showed), a member's profile or consent history, an export of one member or of the list."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from wafa.analytics import segments
from wafa.analytics.rfm import SEGMENTS
from wafa.api.deps import Context, IdPath
from wafa.engagement import leaderboard, member_achievements, referrals
from wafa.errors import Conflict, InsufficientPoints, WafaError
from wafa.ledger import service as ledger
from wafa.ledger import wallet
from wafa.members import directory, privacy
from wafa.members import service as members
from wafa.messages import service as messaging
from wafa.programs import earning
from wafa.programs import service as programs
from wafa.rewards import redemptions
from wafa.tiers import service as tiers
from wafa.tiers.reads import member_tier
from wafa.web import history, sessions
from wafa.web.admin import retention, tables
from wafa.web.admin.auth import PATH, Admin, changing_admin, current_admin, refuse
from wafa.web.admin.forms import FormError, Problem, Problems, checked, integer, local_datetime, problems_for
from wafa.web.admin.messaging import WORDS as MESSAGE_WORDS
from wafa.web.messages import N_
from wafa.web.pages import protect, redirect, render

router = APIRouter(prefix=PATH, include_in_schema=False)

FILTERS = ("q", "status", "tier", "joined-from-date", "joined-to-date")
HISTORY_PAGE = 50
# A hand adjustment larger than this (either way) is a typo, not a gesture of goodwill.
MAX_ADJUSTMENT = 1_000_000
MESSAGES_SHOWN = 20  # the member's latest messages on the profile
CONSENT_SHOWN = 50  # consent changes on the profile, and on each page of the whole history
# Where consent changes came from, beyond the messaging pages' words: an erasure, and the retention period.
SOURCES = {**MESSAGE_WORDS["sources"], "erasure": N_("erasure of personal data")}
WORDS = {**MESSAGE_WORDS, "sources": SOURCES}
# Why an erasure was refused, said for a person (the service's reasons are English sentences for the API).
NOT_ERASED = {
    "forfeit_balance": N_("The member still holds points or money: tick “Forfeit what the member holds” to erase them anyway."),
    "write_off_debt": N_("The member owes points or money after a return: tick “Write off the debt” to erase them anyway."),
    "hold": N_("A hold at a till is open for this member: erase them once it is captured, voided or has lapsed."),
}


# --- the list ------------------------------------------------------------------------------------------


def _view(request: Request) -> tables.View:
    return tables.view_of(request, sorts=tuple(directory.ORDER), default="joined", descending=True, filters=FILTERS)


def _query(session: Any, admin: Admin, view: tables.View) -> tuple[Any, dict[str, datetime | None], Problems | None]:
    """The members the view's filters ask for, the joining dates read, and what is wrong with them (if anything)."""
    f = view.filters
    program = programs.get(session, tenant_id=admin.tenant_id)
    dates: dict[str, datetime | None] = {}
    problems: dict[str, Problem] = {}
    for name in ("joined-from", "joined-to"):
        try:
            dates[name] = local_datetime(f, name, program.timezone)
        except FormError as exc:
            problems.update(exc.fields)
            dates[name] = None
    tier = f.get("tier") or None
    query = directory.table_query(
        tenant_id=admin.tenant_id, region=program.default_region, text=f.get("q"), status=f.get("status") or None,
        joined_from=dates["joined-from"], joined_before=dates["joined-to"] + timedelta(days=1) if dates["joined-to"] else None,
        among=tiers.member_ids_query(tenant_id=admin.tenant_id, key=tier) if tier and tier != "none" else None,
        outside=tiers.member_ids_query(tenant_id=admin.tenant_id, key=None) if tier == "none" else None,
    )
    return query, dates, Problems(fields=problems, entered=dict(f)) if problems else None


@router.get("/members")
def member_list(request: Request, admin: Admin = Depends(current_admin)) -> Response:
    view = _view(request)
    htmx = request.headers.get("hx-request") == "true"
    ctx = Context(request)
    with ctx.transaction() as session:
        query, joined, problems = _query(session, admin, view)
        found = tables.page_of(session, query, view=view, order=directory.ORDER, tiebreak=directory.TIEBREAK)
        tier_rows = tiers.tiers_of(session, tenant_id=admin.tenant_id)
    searched_only = view.filters.get("q", "").strip() and not any(view.filters.get(k) for k in FILTERS[1:])
    # One member found by an exact id, e-mail or phone: straight to the profile.
    if searched_only and found.total == 1 and not htmx:
        return redirect(f"{PATH}/members/{found.rows[0][0].id}")
    if found.rows:
        # The page shows these members' e-mails and phones: one read, naming them (never the words searched for).
        with ctx.transaction() as session:
            admin.record(session, request, action="members.listed", target="members",
                         details={"page": "members", "members": [row[0].id for row in found.rows]}, now=ctx.now())
    template = "admin/members_rows.html" if htmx else "admin/members.html"
    return render(
        request, template, lang=admin.lang, me=admin, section="members", found=found, view=view, problems=problems,
        statuses=directory.STATUSES, tier_rows=tier_rows, joined=joined,
        export=view.export_link(f"{PATH}/members.csv") if admin.can("members") else None,
    )


@router.get("/members.csv")
def export_members(request: Request, admin: Admin = Depends(current_admin)) -> StreamingResponse:
    """Every member the list's filters find, in its order, as CSV (streamed: a million rows stay small).
    Members' personal data in bulk: for the roles that look after members (owners, admins, support)."""
    admin.require("members")
    view = _view(request)
    ctx = Context(request)
    with ctx.transaction() as session:
        admin.record(session, request, action="members.exported", target="members",
                     details={"page": "members.csv", "filters": sorted(k for k, v in view.filters.items() if v)}, now=ctx.now())

    def rows() -> Iterator[list]:
        with ctx.transaction() as session:
            query, _, _ = _query(session, admin, view)
            ordered = tables.ordered(query, view=view, order=directory.ORDER, tiebreak=directory.TIEBREAK)
            for (member,) in tables.stream(session, ordered):
                yield directory.export_row(member)

    return tables.csv_response(rows, header=directory.HEADER, filename="members.csv")


# --- the profile -----------------------------------------------------------------------------------------


def profile_data(session, *, admin: Admin, member_id: int, now, history_page: int = 1) -> dict:
    tenant_id = admin.tenant_id
    member = members.get_or_raise(session, tenant_id=tenant_id, member_id=member_id)
    program = programs.get(session, tenant_id=tenant_id)
    entries, lines_total = history.page(session, tenant_id=tenant_id, member_id=member_id, offset=(history_page - 1) * HISTORY_PAGE,
                                        limit=HISTORY_PAGE)
    referred_by, referred = referrals.of_member(session, tenant_id=tenant_id, member_id=member_id)
    balance = ledger.summary(session, tenant_id=tenant_id, member_id=member_id, now=now)
    money = wallet.balances(session, tenant_id=tenant_id, member_id=member_id)
    return {
        "member": member,
        "program": program,
        "balance": balance,
        "lots": ledger.open_lots(session, tenant_id=tenant_id, member_id=member_id, limit=50),
        "wallet": money,
        # Money the wallet owes by currency (minor units): shown as a debt, not only as a negative balance.
        "wallet_debt": {currency: -m["available"] for currency, m in money.items() if m["available"] < 0},
        "erase_asks": erase_asks(balance or {}, money),
        "history": history.explain(session, tenant_id=tenant_id, entries=entries, lang=admin.lang),
        "history_page": history_page,
        "history_first": (history_page - 1) * HISTORY_PAGE + 1,
        "history_total": lines_total,
        "history_more": history_page * HISTORY_PAGE < lines_total,
        "tier": member_tier(session, tenant_id, member_id, now),
        "achievements": member_achievements.of_member(session, tenant_id=tenant_id, member_id=member_id, now=now),
        "referred_by": referred_by,
        "referred": referred,
        "rfm": segments.of_member(session, tenant_id=tenant_id, member_id=member_id),
        "redemptions": redemptions.list_for_member(session, tenant_id=tenant_id, member_id=member_id, before_id=None, limit=20),
        "messages": messaging.messages_of(session, tenant_id=tenant_id, member_id=member_id, before_id=None, limit=MESSAGES_SHOWN),
        "consent_history": members.consent_history(session, tenant_id=tenant_id, member_id=member_id, limit=CONSENT_SHOWN),
        "consent_shown": CONSENT_SHOWN,
        "consent_more": False,
        "consent": members.consent_of(member),
        "message_words": WORDS,
        "rfm_names": SEGMENTS,
        "request_id": uuid.uuid4().hex,
        "now": now,
        "max_adjustment": MAX_ADJUSTMENT,
    }


def erase_asks(balance: dict, money: dict) -> dict[str, bool]:
    """Which of the erasure's choices the member's balances call for (the form offers only those)."""
    available, pending = balance.get("available", 0), balance.get("pending", 0)
    return {
        "forfeit_balance": available > 0 or pending > 0 or any(m["available"] > 0 or m["pending"] > 0 for m in money.values()),
        "write_off_debt": available + pending < 0 or any(m["available"] + m["pending"] < 0 for m in money.values()),
    }


def _profile(
    request: Request, admin: Admin, member_id: int, *, done: str | None = None, history_page: int = 1, problems: Problems | None = None,
    confirm: dict | None = None, status: int = 200,
) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        data = profile_data(session, admin=admin, member_id=member_id, now=ctx.now(), history_page=history_page)
        admin.record(session, request, action="member.viewed", target=f"member:{member_id}", details={"page": "profile"}, now=ctx.now())
    if confirm and confirm.get("request_id"):
        data["request_id"] = confirm["request_id"]  # the confirmed post is the one the form started
    return render(request, "admin/member.html", lang=admin.lang, me=admin, section="members", done=done, problems=problems,
                  confirm=confirm, status=status, **data)


@router.get("/members/{member_id}")
def profile(
    request: Request, member_id: IdPath, done: str | None = Query(None, max_length=32), page: int = Query(1, ge=1, le=10**6),
    admin: Admin = Depends(current_admin),
) -> Response:
    return _profile(request, admin, member_id, done=done, history_page=page)


# --- changes, each asked about first ---------------------------------------------------------------------


def adjustment_of(points: str, reason: str) -> tuple[int, str]:
    """The points and reason of the adjust form, or FormError saying beside each field what to fix."""
    wrong: dict[str, Problem] = {}
    try:
        amount = integer({"points": points}, "points")
    except FormError as exc:
        wrong.update(exc.fields)
        amount = None
    if amount is None and "points" not in wrong:
        wrong["points"] = Problem(N_("Enter a number of points: negative to take away."))
    elif amount == 0:
        wrong["points"] = Problem(N_("Enter a number of points other than 0."))
    elif amount is not None and abs(amount) > MAX_ADJUSTMENT:
        wrong["points"] = Problem(N_("Enter at most %(max)s points either way."), {"max": f"{MAX_ADJUSTMENT:,}"})
    why = reason.strip()
    if not why:
        wrong["reason"] = Problem(N_("Say why: the member's history and the audit trail show it."))
    elif len(why) > 500:
        wrong["reason"] = Problem(N_("Enter at most %(max_length)s characters."), {"max_length": 500})
    if wrong:
        raise FormError(fields=wrong)
    return int(amount), why  # type: ignore[arg-type]


@router.post("/members/{member_id}/adjust")
def adjust(
    request: Request, member_id: IdPath, points: str = Form("", max_length=40), reason: str = Form("", max_length=2000),
    request_id: str = Form("", max_length=64), confirmed: str = Form("", max_length=8), admin: Admin = Depends(changing_admin),
) -> Response:
    """Credit (positive) or debit (negative) by hand, once confirmed. The form's request id makes a double
    submit post once."""
    typed = {"points": points, "reason": reason}
    try:
        amount, why = adjustment_of(points, reason)
        admin.check_adjustment(amount)  # support staff: at most the limit an owner sets (People page)
    except FormError as exc:
        return _profile(request, admin, member_id, problems=Problems(fields=exc.fields, entered=typed), status=422)
    if confirmed != "yes":
        ask = {"action": "adjust", "points": amount, "reason": why, "request_id": request_id}
        return _profile(request, admin, member_id, confirm=ask, problems=Problems(entered=typed))
    ctx = Context(request)
    now = ctx.now()
    key = f"adjust:web:{request_id or uuid.uuid4().hex}"
    try:
        with ctx.transaction() as session:
            members.get_or_raise(session, tenant_id=admin.tenant_id, member_id=member_id)
            if ledger.has_entry(session, tenant_id=admin.tenant_id, idempotency_key=key):
                return redirect(f"{PATH}/members/{member_id}?done=adjusted")
            program = programs.get(session, tenant_id=admin.tenant_id)
            expires_at = earning.expires_at(now, policy=program.expiry_policy, periods=program.expiry_periods, timezone=program.timezone)
            entry_id = ledger.adjust(
                session, tenant_id=admin.tenant_id, member_id=member_id, points=amount, reason=why,
                idempotency_key=key, now=now, expires_at=expires_at if amount > 0 else None, actor=admin.email,
            )
            admin.record(session, request, action="member.points_adjusted", target=f"member:{member_id}",
                         details={"points": amount, "reason": why, "entry_id": entry_id}, now=now)
    except InsufficientPoints as exc:
        short = Problem(N_("The member has %(available)s points available to take away."), {"available": exc.extra.get("available", 0)})
        return _profile(request, admin, member_id, problems=Problems(fields={"points": short}, entered=typed), status=422)
    except WafaError as exc:
        return _profile(request, admin, member_id, problems=problems_for(exc, typed), status=exc.status)
    return redirect(f"{PATH}/members/{member_id}?done=adjusted")


@router.post("/members/{member_id}/status")
def change_status(
    request: Request, member_id: IdPath, action: str = Form(..., pattern="^(suspend|reactivate)$"),
    reason: str = Form("", max_length=500), confirmed: str = Form("", max_length=8), admin: Admin = Depends(changing_admin),
) -> Response:
    """Suspend (after a confirmation; the member is signed out of the portal) or reactivate."""
    if action == "suspend" and confirmed != "yes":
        return _profile(request, admin, member_id, confirm={"action": "suspend", "reason": reason.strip()})
    ctx = Context(request)
    try:
        with ctx.transaction() as session:
            members.change_status(session, tenant_id=admin.tenant_id, member_id=member_id, action=action, reason=reason.strip() or None,
                                  now=ctx.now())
            if action == "suspend":
                # A suspended member is signed out of the portal everywhere, and off the leaderboards (as the API does).
                sessions.end_all(session, kind="member", tenant_id=admin.tenant_id, subject_id=member_id)
                leaderboard.withdraw(session, tenant_id=admin.tenant_id, member_id=member_id, now=ctx.now())
            admin.record(session, request, action="member.suspended" if action == "suspend" else "member.reactivated",
                         target=f"member:{member_id}", details={"reason": reason.strip()}, now=ctx.now())
    except WafaError as exc:
        return _profile(request, admin, member_id, problems=problems_for(exc, {"reason": reason}), status=exc.status)
    return redirect(f"{PATH}/members/{member_id}?done={action}")


@router.post("/members/{member_id}/consent")
def change_consent(
    request: Request, member_id: IdPath, channel: str = Form(..., pattern="^(email|sms|whatsapp|push)$"),
    granted: str = Form(..., pattern="^(yes|no)$"), admin: Admin = Depends(changing_admin),
) -> Response:
    """Give or withdraw the member's consent on one channel (as the member asked the team), recorded with
    the console as its source and the admin's e-mail, and audited."""
    ctx = Context(request)
    given = granted == "yes"
    try:
        with ctx.transaction() as session:
            if members.set_consent(session, tenant_id=admin.tenant_id, member_id=member_id, channel=channel, granted=given, source="console",
                                   actor=admin.email, now=ctx.now()):
                admin.record(session, request, action="member.consent_changed", target=f"member:{member_id}",
                             details={"channel": channel, "granted": given}, now=ctx.now())
    except WafaError as exc:
        return _profile(request, admin, member_id, problems=problems_for(exc, {"channel": channel}), status=exc.status)
    return redirect(f"{PATH}/members/{member_id}?done=consent#consent")


# --- data rights: export, erasure, the whole consent history ----------------------------------------------


@router.get("/members/{member_id}/consents")
def consent_history(
    request: Request, member_id: IdPath, before: int | None = Query(None, ge=1, le=2**63 - 1), admin: Admin = Depends(current_admin),
) -> Response:
    """Every change of the member's consent, newest first, CONSENT_SHOWN a page."""
    ctx = Context(request)
    with ctx.transaction() as session:
        member = members.get_or_raise(session, tenant_id=admin.tenant_id, member_id=member_id)
        changes = members.consent_history(session, tenant_id=admin.tenant_id, member_id=member_id, before_id=before, limit=CONSENT_SHOWN + 1)
        admin.record(session, request, action="member.viewed", target=f"member:{member_id}", details={"page": "consents"}, now=ctx.now())
    older = changes[CONSENT_SHOWN - 1].id if len(changes) > CONSENT_SHOWN else None
    return render(request, "admin/member_consents.html", lang=admin.lang, me=admin, section="members", member=member,
                  consent_history=changes[:CONSENT_SHOWN], older=older, newest=before is None, message_words=WORDS)


@router.post("/members/{member_id}/export")
def export_member(request: Request, member_id: IdPath, admin: Admin = Depends(changing_admin)) -> Response:
    """Everything held about the member, as the API's zip (one CSV per section and the JSON): a post carrying
    the CSRF token, since it is audited (a link elsewhere cannot export, nor write the audit trail). For the
    roles that look after members, as the members' CSV is."""
    admin.require("members")
    ctx = Context(request)
    with ctx.transaction() as session:
        data = privacy.export(session, tenant_id=admin.tenant_id, member_id=member_id, now=ctx.now())
        admin.record(session, request, action="member.exported", target=f"member:{member_id}", details={"format": "zip"}, now=ctx.now())
    response = Response(privacy.as_zip(data), media_type="application/zip",
                        headers={"Content-Disposition": f'attachment; filename="member-{member_id}.zip"'})
    protect(response)
    return response


@router.post("/members/{member_id}/erase")
async def erase_member(request: Request, member_id: IdPath, admin: Admin = Depends(changing_admin)) -> Response:
    """Erase the member's personal data for good, owners only, once confirmed; what they hold is forfeited
    (and a debt written off) only when ticked. Audited by the erasure itself: who and when, not what."""
    if not admin.can("owners"):
        raise refuse("owners")
    form = await request.form()
    asked = {"forfeit_balance": checked(form, "forfeit_balance"), "write_off_debt": checked(form, "write_off_debt")}
    if str(form.get("confirmed", "")) != "yes":
        return await run_in_threadpool(_profile, request, admin, member_id, confirm={"action": "erase", **asked})

    def work() -> Response:
        ctx = Context(request)
        try:
            with ctx.transaction() as session:
                privacy.erase(session, tenant_id=admin.tenant_id, member_id=member_id, now=ctx.now(), via="console", actor=admin.email,
                              user_id=admin.user_id, ip=request.client.host if request.client else None, **asked)
        except privacy.BalanceOutstanding as exc:
            said = [Problem(NOT_ERASED[need]) for need in exc.extra.get("needs", ())]
            return _profile(request, admin, member_id, problems=Problems(general=said), status=exc.status)
        except Conflict as exc:
            said = [Problem(NOT_ERASED["hold"])] if exc.extra.get("open_holds") else [Problem(exc.detail)]
            return _profile(request, admin, member_id, problems=Problems(general=said), status=exc.status)
        return redirect(f"{PATH}/members/{member_id}?done=erased")

    return await run_in_threadpool(work)


router.include_router(retention.router)
