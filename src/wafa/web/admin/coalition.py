"""The coalition in the console, for the operator: its settings, partners with their terms, stores, API
keys and people, closing settlement periods and their statements (with CSV and PDF downloads, which a
partner's person may take of their own partner's statements), the open period so far, and the flows
of points between partners. Owners and admins change it (auth._BY_SECTION); every role reads it."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from wafa.api.deps import Context, IdPath
from wafa.coalition import dashboard, exports, settlement
from wafa.coalition import service as coalition
from wafa.coalition.models import Statement
from wafa.coalition.schemas import CoalitionIn, PartnerIn, PartnerUpdate, StoreIn
from wafa.errors import Conflict, InvalidInput, WafaError
from wafa.ledger.money import BREAKAGE_POLICIES
from wafa.notify.mail import Mail
from wafa.programs import service as programs
from wafa.tenants import admin_users
from wafa.tenants import service as tenants
from wafa.tenants.roles import PARTNER
from wafa.web import sessions
from wafa.web.admin.auth import PARTNER_ONLY, PATH, Admin, Refused, current_admin
from wafa.web.admin.dashboard import chosen_period
from wafa.web.admin.forms import FormError, Problem, Problems, apply_change, integer, names, text, valid
from wafa.web.admin.people import change_and_mail, invite_person
from wafa.web.messages import N_
from wafa.web.pages import render

router = APIRouter(prefix=PATH, include_in_schema=False)
HOME = f"{PATH}/coalition"

# A statement's lines in the page's language (the same words as settlement.LABELS, which files use).
LINE_LABELS = {
    "issued": N_("Points issued to the partner's customers"),
    "exchanged": N_("Coalition points bought with the partner's own points"),
    "redeemed": N_("Points and wallet money spent at the partner (value)"),
    "redeem_commission": N_("Operator's commission on what was spent"),
    "reversed": N_("Returns and cancellations"),
    "breakage": N_("Value of expired points given back"),
    "cashback": N_("Cashback the partner funded"),
    "adjustments": N_("Adjustments"),
    "earlier": N_("Dated before this period and not settled before"),
    "fund": N_("Points fund (money held for points outstanding)"),
    "commission": N_("Commission earned"),
    "kept_breakage": N_("Breakage kept"),
    "wallets": N_("Wallet money owed to members"),
    "cashback_account": N_("Cashback paid"),
    "wallet_spent": N_("Wallet money spent"),
}
OPERATOR = N_("Operator")
# The audit trail's words for this page's actions (web/admin/audit_trail.ACTIONS shows them once listed there).
AUDIT_ACTIONS = {
    "coalition.configured": N_("Coalition settings changed"), "partner.created": N_("Partner added"),
    "partner.updated": N_("Partner's terms changed"), "partner.suspended": N_("Partner suspended"),
    "partner.reactivated": N_("Partner reactivated"), "partner.store_added": N_("Store given to a partner"),
    "partner.store_removed": N_("Store taken from a partner"), "settlement.closed": N_("Settlement period closed"),
}
KEY_PATTERN = N_("Use small Latin letters, digits, “-” and “_”, starting with a letter or digit.")
_TERMS = ("name", "name_ar", "currency", "period", "earn_rate", "issue_price", "redeem_value", "issue_fee", "redeem_fee", "own_points_name")
# What a refused change says, by the field and kind of the service's refusal (the services speak English).
_SAID: dict[tuple[str, type[WafaError]], str] = {
    ("key", Conflict): N_("Another partner has this key."),
    ("store_code", Conflict): N_("This store belongs to a partner already."),
    ("currency", InvalidInput): N_("Enter a currency code, such as SAR."),
    ("issue_fee", InvalidInput): N_("Enter a fraction below 1: 0.05 is five per cent."),
    ("redeem_fee", InvalidInput): N_("Enter a fraction below 1: 0.05 is five per cent."),
    ("own_points_rate", InvalidInput): N_("Own points need both a name and a rate (whole points per coalition point)."),
    ("period", InvalidInput): N_("Write a month as 2026-11 or an ISO week as 2026-W47."),
    ("period", Conflict): N_("This period cannot be closed: it has not ended yet, or a partner is settled past it."),
}


def _said(exc: WafaError, *, fields: dict[str, str] | None = None) -> FormError:
    """A service's refusal beside the form field it is about, in the page's language where the page knows it."""
    field = (fields or {}).get(exc.field or "", exc.field)
    message = next((said for (name, kind), said in _SAID.items() if name == field and isinstance(exc, kind)), exc.detail)
    return FormError(fields={field: Problem(message)}) if field else FormError([Problem(message)])


def chosen_days(request: Request, timezone: str, now: datetime) -> tuple[Any, datetime, datetime]:
    """The period picker's choice (web/admin/dashboard.py) and its [start, end) in UTC."""
    zone = ZoneInfo(timezone)
    chosen = chosen_period(request.query_params, now.astimezone(zone).date())
    start = datetime.combine(chosen.first, time(0), tzinfo=zone)
    end = datetime.combine(chosen.last + timedelta(days=1), time(0), tzinfo=zone)
    return chosen, start, end


def picker(chosen: Any, timezone: str) -> dict[str, Any]:
    """What the period picker (the dashboard's) needs in a template."""
    at = lambda day: datetime.combine(day, time(12), tzinfo=ZoneInfo(timezone))  # noqa: E731 (the pickers take a moment)
    return {"period": chosen.key, "first": chosen.first, "last": chosen.last, "first_at": at(chosen.first), "last_at": at(chosen.last),
            "problems": chosen.problems, "periods": ["7d", "30d", "90d", "365d"]}


# --- the coalition's settings and its partners ----------------------------------------------------


def _home(request: Request, admin: Admin, problems: Problems | None = None, done: str | None = None) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        settings = coalition.get_settings(session, tenant_id=admin.tenant_id)
        partners = coalition.list_(session, tenant_id=admin.tenant_id, limit=10_000)[:10_000] if settings else []
        stores = coalition.stores_of(session, tenant_id=admin.tenant_id) if settings else []
        totals = settlement.open_totals(session, tenant_id=admin.tenant_id, now=ctx.now()) if settings else {}
    counted = {p.id: sum(1 for s in stores if s.partner_id == p.id) for p in partners}
    return render(request, "admin/coalition.html", lang=admin.lang, me=admin, section="coalition", settings=settings, partners=partners,
                  stores=counted, totals=totals, policies=BREAKAGE_POLICIES, problems=problems, done=done,
                  status=422 if problems else 200)


@router.get("/coalition")
def coalition_page(request: Request, done: str | None = None, admin: Admin = Depends(current_admin)) -> Response:
    return _home(request, admin, done="saved" if done == "saved" else None)


@router.post("/coalition")
async def configure(request: Request, admin: Admin = Depends(current_admin)) -> Response:
    """Make the program a coalition, or change its breakage policy."""

    def work(session: Any, form: Any, ctx: Context) -> str:
        before = coalition.get_settings(session, tenant_id=admin.tenant_id)
        was = before.breakage_policy if before is not None else None
        coalition_in = valid(CoalitionIn, {"breakage_policy": text(form, "breakage_policy")})
        coalition.configure(session, tenant_id=admin.tenant_id, coalition_in=coalition_in, now=ctx.now())
        admin.record(session, request, action="coalition.configured", target="coalition",
                     details={"breakage_policy": {"from": was, "to": coalition_in.breakage_policy}}, now=ctx.now())
        return f"{HOME}?done=saved"

    return await apply_change(request, admin, work, lambda problems: _home(request, admin, problems))


_REQUIRED = ("name", "currency", "period", "earn_rate", "issue_price", "redeem_value")


def _terms(form: Any) -> dict[str, Any]:
    """A partner form's terms (empty optional fields are None, empty fees none), or FormError naming
    the required ones left empty."""
    values: dict[str, Any] = {name: text(form, name) or None for name in _TERMS}
    missing = {name: Problem(N_("This field is required.")) for name in _REQUIRED if values[name] is None}
    if missing:
        raise FormError(fields=missing)
    values["issue_fee"], values["redeem_fee"] = values["issue_fee"] or "0", values["redeem_fee"] or "0"
    values["own_points_rate"] = integer(form, "own_points_rate")
    return values


def _new_page(request: Request, admin: Admin, problems: Problems | None = None) -> Response:
    with Context(request).transaction() as session:
        base = programs.get(session, tenant_id=admin.tenant_id).base_currency
    return render(request, "admin/coalition_partner_new.html", lang=admin.lang, me=admin, section="coalition", currency=base,
                  problems=problems, status=422 if problems else 200)


@router.get("/coalition/partners/new")
def new_partner_page(request: Request, admin: Admin = Depends(current_admin)) -> Response:
    return _new_page(request, admin)


@router.post("/coalition/partners")
async def create_partner(request: Request, admin: Admin = Depends(current_admin)) -> Response:
    def work(session: Any, form: Any, ctx: Context) -> str:
        key = text(form, "key")
        if not key:
            raise FormError(fields={"key": Problem(N_("This field is required."))})
        if not coalition.KEY.fullmatch(key):
            raise FormError(fields={"key": Problem(KEY_PATTERN)})
        values = {name: value for name, value in _terms(form).items() if value is not None}
        partner_in = valid(PartnerIn, {"key": key, **values})
        try:
            partner = coalition.create(session, tenant_id=admin.tenant_id, partner_in=partner_in, now=ctx.now())
        except WafaError as exc:
            raise _said(exc) from None
        admin.record(session, request, action="partner.created", target=f"partner:{partner.id}",
                     details=partner_in.model_dump(exclude_none=True), now=ctx.now())
        return f"{HOME}/partners/{partner.id}?done=created"

    return await apply_change(request, admin, work, lambda problems: _new_page(request, admin, problems))


def _partner_page(request: Request, admin: Admin, partner_id: int, *, problems: Problems | None = None, done: str | None = None,
                  secret: str | None = None) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        partner = coalition.get_or_raise(session, tenant_id=admin.tenant_id, partner_id=partner_id)
        stores = coalition.stores_of(session, tenant_id=admin.tenant_id, partner_id=partner_id)
        keys = [k for k in tenants.list_keys(session, tenant_id=admin.tenant_id) if k.partner_id == partner_id]
        people = admin_users.list_(session, tenant_id=admin.tenant_id, partner_id=partner_id)
        statements = settlement.list_statements(session, tenant_id=admin.tenant_id, partner_id=partner_id, before_id=None, limit=24)[:24]
        open_period = dashboard.open_period(session, tenant_id=admin.tenant_id, partner_id=partner_id, now=ctx.now())
    return render(request, "admin/coalition_partner.html", lang=admin.lang, me=admin, section="coalition", partner=partner, stores=stores,
                  keys=keys, people=people, statements=statements, open_period=open_period, scopes=tenants.PARTNER_SCOPES,
                  problems=problems, done=done, secret=secret, status=422 if problems else 200)


@router.get("/coalition/partners/{partner_id}")
def partner_page(request: Request, partner_id: IdPath, done: str | None = None, admin: Admin = Depends(current_admin)) -> Response:
    shown = done if done in ("created", "saved", "suspended", "reactivated", "invited") else None
    return _partner_page(request, admin, partner_id, done=shown)


def _partner_change(request: Request, admin: Admin, partner_id: int, work: Any) -> Any:
    return apply_change(request, admin, work, lambda problems: _partner_page(request, admin, partner_id, problems=problems))


@router.post("/coalition/partners/{partner_id}")
async def update_partner(request: Request, partner_id: IdPath, admin: Admin = Depends(current_admin)) -> Response:
    """New terms apply to what happens from now on."""

    def work(session: Any, form: Any, ctx: Context) -> str:
        partner_in = valid(PartnerUpdate, _terms(form))
        before = coalition.get_or_raise(session, tenant_id=admin.tenant_id, partner_id=partner_id)
        was = {name: getattr(before, name) for name in (*_TERMS, "own_points_rate")}
        try:
            partner = coalition.update(session, tenant_id=admin.tenant_id, partner_id=partner_id, partner_in=partner_in, now=ctx.now())
        except WafaError as exc:
            raise _said(exc) from None
        changed = {name: {"from": value, "to": getattr(partner, name)} for name, value in was.items() if getattr(partner, name) != value}
        if changed:
            admin.record(session, request, action="partner.updated", target=f"partner:{partner_id}", details=changed, now=ctx.now())
        return f"{HOME}/partners/{partner_id}?done=saved"

    return await _partner_change(request, admin, partner_id, work)


@router.post("/coalition/partners/{partner_id}/status")
async def partner_status(request: Request, partner_id: IdPath, admin: Admin = Depends(current_admin)) -> Response:
    """Suspend (its keys and people are refused, nothing is recorded at it) or reactivate a partner."""

    def work(session: Any, form: Any, ctx: Context) -> str:
        status = {"suspend": "suspended", "reactivate": "active"}.get(text(form, "action"))
        if status is None:
            raise FormError([N_("Choose one of the options.")])
        coalition.update(session, tenant_id=admin.tenant_id, partner_id=partner_id, partner_in=PartnerUpdate(status=status), now=ctx.now())
        if status == "suspended":
            for person in admin_users.list_(session, tenant_id=admin.tenant_id, partner_id=partner_id):
                sessions.end_all(session, kind="admin", tenant_id=admin.tenant_id, subject_id=person.id)
        done = "suspended" if status == "suspended" else "reactivated"
        admin.record(session, request, action=f"partner.{done}", target=f"partner:{partner_id}", now=ctx.now())
        return f"{HOME}/partners/{partner_id}?done={done}"

    return await _partner_change(request, admin, partner_id, work)


# --- a partner's stores, keys and people -------------------------------------------------------


@router.post("/coalition/partners/{partner_id}/stores")
async def add_store(request: Request, partner_id: IdPath, admin: Admin = Depends(current_admin)) -> Response:
    """Events naming the store's code are the partner's."""
    fields = {"code": "store_code", "name": "store_name", "city": "store_city"}

    def work(session: Any, form: Any, ctx: Context) -> str:
        store_in = valid(StoreIn, {name: text(form, field) or None for name, field in fields.items()}, fields=fields)
        try:
            coalition.add_store(session, tenant_id=admin.tenant_id, partner_id=partner_id, store_in=store_in, now=ctx.now())
        except WafaError as exc:
            raise _said(exc, fields=fields) from None
        admin.record(session, request, action="partner.store_added", target=f"partner:{partner_id}",
                     details=store_in.model_dump(exclude_none=True), now=ctx.now())
        return f"{HOME}/partners/{partner_id}?done=saved#stores"

    return await _partner_change(request, admin, partner_id, work)


@router.post("/coalition/partners/{partner_id}/stores/remove")
async def remove_store(request: Request, partner_id: IdPath, admin: Admin = Depends(current_admin)) -> Response:
    """Its past events stay the partner's."""

    def work(session: Any, form: Any, ctx: Context) -> str:
        code = text(form, "code")[:64]
        coalition.remove_store(session, tenant_id=admin.tenant_id, partner_id=partner_id, code=code)
        admin.record(session, request, action="partner.store_removed", target=f"partner:{partner_id}", details={"code": code}, now=ctx.now())
        return f"{HOME}/partners/{partner_id}?done=saved#stores"

    return await _partner_change(request, admin, partner_id, work)


@router.post("/coalition/partners/{partner_id}/keys")
async def create_partner_key(request: Request, partner_id: IdPath, admin: Admin = Depends(current_admin)) -> Response:
    """A key for the partner's tills: it records and redeems as the partner. The secret is shown on this answer only."""
    made: dict[str, str] = {}

    def work(session: Any, form: Any, ctx: Context) -> str:
        problems = {}
        name = text(form, "key_name")[:200]
        if not name:
            problems["key_name"] = Problem(N_("Say what the key is for."))
        chosen = names(form, "scopes") or []
        if not chosen:
            problems["scopes"] = Problem(N_("Tick at least one."))
        elif any(s not in tenants.PARTNER_SCOPES for s in chosen):
            problems["scopes"] = Problem(N_("Choose one of the options."))
        if problems:
            raise FormError(fields=problems)
        coalition.get_or_raise(session, tenant_id=admin.tenant_id, partner_id=partner_id)
        key = tenants.create_key(session, tenant_id=admin.tenant_id, name=name, scopes=chosen, now=ctx.now(), partner_id=partner_id)
        admin.record(session, request, action="api_key.created", target=f"api_key:{key.id}",
                     details={"name": name, "scopes": key.scopes, "prefix": key.prefix, "partner_id": partner_id}, now=ctx.now())
        made["secret"] = key.secret
        return f"{HOME}/partners/{partner_id}"

    answer = await _partner_change(request, admin, partner_id, work)
    return _partner_page(request, admin, partner_id, secret=made["secret"]) if "secret" in made else answer


@router.post("/coalition/partners/{partner_id}/keys/{key_id}/revoke")
async def revoke_partner_key(request: Request, partner_id: IdPath, key_id: IdPath, admin: Admin = Depends(current_admin)) -> Response:
    def work(session: Any, form: Any, ctx: Context) -> str:
        if not any(k.id == key_id and k.partner_id == partner_id for k in tenants.list_keys(session, tenant_id=admin.tenant_id)):
            raise FormError([N_("This key is not one of this partner's.")])
        tenants.revoke_key(session, tenant_id=admin.tenant_id, key_id=key_id, now=ctx.now())
        admin.record(session, request, action="api_key.revoked", target=f"api_key:{key_id}", details={"partner_id": partner_id}, now=ctx.now())
        return f"{HOME}/partners/{partner_id}#keys"

    return await _partner_change(request, admin, partner_id, work)


@router.post("/coalition/partners/{partner_id}/people")
async def invite_partner_person(request: Request, partner_id: IdPath, admin: Admin = Depends(current_admin)) -> Response:
    """Invite a partner's person: they sign in to the same console and see their partner's pages only."""

    def work(session: Any, form: Any, ctx: Context, outbox: list[Mail]) -> str:
        partner = coalition.get_or_raise(session, tenant_id=admin.tenant_id, partner_id=partner_id)
        invite_person(session, request, admin, ctx, email=text(form, "email"), role=PARTNER, language=text(form, "language"), outbox=outbox,
                      action="admin_user.invited", partner_id=partner.id, partner_name=partner.name)
        return f"{HOME}/partners/{partner_id}?done=invited#people"

    return await change_and_mail(request, admin, work, lambda problems: _partner_page(request, admin, partner_id, problems=problems))


def _their_person(session: Any, admin: Admin, partner_id: int, user_id: int) -> Any:
    user = admin_users.get(session, tenant_id=admin.tenant_id, user_id=user_id)
    if user is None or user.partner_id != partner_id:
        raise FormError([N_("This person is not one of this partner's.")])
    return user


@router.post("/coalition/partners/{partner_id}/people/{user_id}/resend")
async def resend_partner_invitation(request: Request, partner_id: IdPath, user_id: IdPath, admin: Admin = Depends(current_admin)) -> Response:
    def work(session: Any, form: Any, ctx: Context, outbox: list[Mail]) -> str:
        user = _their_person(session, admin, partner_id, user_id)
        invite_person(session, request, admin, ctx, email=user.email, role=PARTNER, language=text(form, "language"), outbox=outbox,
                      action="admin_user.invitation_resent", partner_id=partner_id)
        return f"{HOME}/partners/{partner_id}?done=invited#people"

    return await change_and_mail(request, admin, work, lambda problems: _partner_page(request, admin, partner_id, problems=problems))


@router.post("/coalition/partners/{partner_id}/people/{user_id}/status")
async def partner_person_status(request: Request, partner_id: IdPath, user_id: IdPath, admin: Admin = Depends(current_admin)) -> Response:
    """Deactivate (ending their sessions) or reactivate a partner's person."""

    def work(session: Any, form: Any, ctx: Context) -> str:
        _their_person(session, admin, partner_id, user_id)
        action = text(form, "action")
        user = admin_users.change_status(session, tenant_id=admin.tenant_id, user_id=user_id, action=action, by_user_id=admin.user_id,
                                         by_role=admin.role)
        if action == "deactivate":
            sessions.end_all(session, kind="admin", tenant_id=admin.tenant_id, subject_id=user.id)
        admin.record(session, request, action=f"admin_user.{action}d", target=f"admin_user:{user.id}",
                     details={"email": user.email, "partner_id": partner_id}, now=ctx.now())
        return f"{HOME}/partners/{partner_id}?done=saved#people"

    return await _partner_change(request, admin, partner_id, work)


# --- settlements and statements ----------------------------------------------------------------


def _settlements_page(request: Request, admin: Admin, problems: Problems | None = None) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        settings = coalition.get_settings(session, tenant_id=admin.tenant_id)
        runs = dashboard.runs(session, tenant_id=admin.tenant_id) if settings else []
        due = settlement.due_periods(session, tenant_id=admin.tenant_id, now=ctx.now())
    return render(request, "admin/coalition_settlements.html", lang=admin.lang, me=admin, section="settlements", settings=settings,
                  runs=runs, due=due, problems=problems, status=422 if problems else 200)


@router.get("/coalition/settlements")
def settlements_page(request: Request, admin: Admin = Depends(current_admin)) -> Response:
    return _settlements_page(request, admin)


@router.post("/coalition/settlements")
async def close_period(request: Request, admin: Admin = Depends(current_admin)) -> Response:
    """One statement per partner settled by the period and currency, and the operator's; closing a closed
    period changes nothing and shows its statements."""

    def work(session: Any, form: Any, ctx: Context) -> str:
        period = text(form, "period")[:10]
        if not period:
            raise FormError(fields={"period": Problem(N_("This field is required."))})
        try:
            run, before = settlement.close(session, tenant_id=admin.tenant_id, period=period, now=ctx.now(), by=admin.email)
        except WafaError as exc:
            raise _said(exc) from None
        if before:
            return f"{HOME}/settlements/{run.id}?done=before"
        admin.record(session, request, action="settlement.closed", target=f"settlement:{run.id}", details={"period": run.period}, now=ctx.now())
        return f"{HOME}/settlements/{run.id}?done=closed"

    return await apply_change(request, admin, work, lambda problems: _settlements_page(request, admin, problems))


def party_names(session: Any, *, tenant_id: int, statements: list[Statement], language: str) -> dict[int, str]:
    """Each statement's party as the page names it: the partner's name, or the operator (a catalog word)."""
    partners = coalition.config_or_raise(session, tenant_id=tenant_id).partners
    return {
        s.id: partners[s.partner_id].name_in(language) if s.partner_id in partners else OPERATOR if s.partner_id is None else str(s.partner_id)
        for s in statements
    }


@router.get("/coalition/settlements/{run_id}")
def run_page(request: Request, run_id: IdPath, done: str | None = None, admin: Admin = Depends(current_admin)) -> Response:
    with Context(request).transaction() as session:
        run = dashboard.run_or_raise(session, tenant_id=admin.tenant_id, run_id=run_id)
        statements = settlement.statements_of_run(session, tenant_id=admin.tenant_id, run_id=run_id)
        parties = party_names(session, tenant_id=admin.tenant_id, statements=statements, language=admin.lang.code)
    return render(request, "admin/coalition_run.html", lang=admin.lang, me=admin, section="settlements", run=run, statements=statements,
                  parties=parties, outcome=done if done in ("closed", "before") else None)


@router.get("/coalition/statements/{statement_id}")
def statement_page(request: Request, statement_id: IdPath, admin: Admin = Depends(current_admin)) -> Response:
    with Context(request).transaction() as session:
        statement = settlement.get_statement_or_raise(session, tenant_id=admin.tenant_id, statement_id=statement_id)
        party = party_names(session, tenant_id=admin.tenant_id, statements=[statement], language=admin.lang.code)[statement.id]
    return render(request, "admin/coalition_statement.html", lang=admin.lang, me=admin, section="settlements", statement=statement,
                  party=party, labels=LINE_LABELS, back=f"{HOME}/settlements/{statement.run_id}")


def _download(request: Request, admin: Admin, statement_id: int) -> tuple[Statement, str, str]:
    """A statement to download, its party's and the operator's names; a partner's person gets their own only
    (the central check refuses them the others first: this says it again where the file is made)."""
    with Context(request).transaction() as session:
        found = settlement.get_statement_or_raise(session, tenant_id=admin.tenant_id, statement_id=statement_id)
        if admin.partner_id is not None and found.partner_id != admin.partner_id:
            raise Refused(PARTNER_ONLY, permission="partner")
        party = coalition.get_or_raise(session, tenant_id=admin.tenant_id, partner_id=found.partner_id).name if found.partner_id else "Operator"
        operator = admin.tenant_name
        session.expunge(found)
    return found, party, operator


@router.get("/statements/{statement_id}.csv")
def statement_csv(request: Request, statement_id: IdPath, admin: Admin = Depends(current_admin)) -> Response:
    found, party, _ = _download(request, admin, statement_id)
    # A byte-order mark first, as the console's other CSV files: spreadsheets then read Arabic names right.
    return Response("\ufeff" + exports.csv_of(found, party_name=party), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="statement-{found.id}-{found.period}.csv"', "Cache-Control": "no-store",
    })


@router.get("/statements/{statement_id}.pdf")
def statement_pdf(request: Request, statement_id: IdPath, admin: Admin = Depends(current_admin)) -> Response:
    found, party, operator = _download(request, admin, statement_id)
    return Response(exports.pdf_of(found, party_name=party, operator_name=operator), media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="statement-{found.id}-{found.period}.pdf"', "Cache-Control": "no-store",
    })


# --- flows between partners ---------------------------------------------------------------------


@router.get("/coalition/flows")
def flows_page(request: Request, admin: Admin = Depends(current_admin)) -> Response:
    """Points spent in the period by where they were earned and where spent: a table and a chart."""
    ctx = Context(request)
    with ctx.transaction() as session:
        timezone = programs.get(session, tenant_id=admin.tenant_id).timezone
        chosen, start, end = chosen_days(request, timezone, ctx.now())
        settings = coalition.get_settings(session, tenant_id=admin.tenant_id)
        found = dashboard.flows(session, tenant_id=admin.tenant_id, start=start, end=end) if settings else []
    return render(request, "admin/coalition_flows.html", lang=admin.lang, me=admin, section="flows", settings=settings, flows=found,
                  chart=flow_chart(found, admin), **picker(chosen, timezone))


def flow_chart(flows: list[dashboard.Flow], admin: Admin) -> dict[str, Any]:
    """The flows as a stacked bar chart: one bar per partner where points were spent, one colour per partner where earned."""
    name = lambda terms, none: terms.name_in(admin.lang.code) if terms is not None else admin.lang.gettext(none)  # noqa: E731
    spent = list(dict.fromkeys(name(f.spent_at, N_("Not at a partner")) for f in flows))
    earned = list(dict.fromkeys(name(f.earned_at, N_("The operator's own points")) for f in flows))
    values = {(name(f.earned_at, N_("The operator's own points")), name(f.spent_at, N_("Not at a partner"))): f.points for f in flows}
    return {"labels": spent, "datasets": [[e, [values.get((e, s), 0) for s in spent]] for e in earned]}
