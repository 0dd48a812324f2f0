"""Console sign-in (argon2 passwords, lock-out), the signed-in admin of a request, sign-out, the audit
record every change leaves, and the one check of what each role may change (every POST under /admin
passes it, whichever page it belongs to) and of what a coalition partner's person may reach at all (a
whitelist: their partner's pages, their account, their partner's statements)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from wafa.api.deps import Context
from wafa.coalition import dashboard
from wafa.coalition import service as coalition
from wafa.errors import WafaError
from wafa.programs import service as programs
from wafa.tenants import admin_users, audit, roles
from wafa.tenants import service as tenants
from wafa.trust import hashing, signin
from wafa.trust.signin import client_ip
from wafa.web import sessions
from wafa.web.admin.forms import FormError, Problem, whole
from wafa.web.i18n import Lang
from wafa.web.messages import N_
from wafa.web.pages import Redirect, check_csrf, language_of, pre_auth_token, redirect, render, set_cookie

COOKIE = "wafa_admin"
PATH = "/admin"

router = APIRouter(prefix=PATH, include_in_schema=False)


@dataclass(frozen=True, slots=True)
class Admin:
    """The signed-in admin of a request, and the language the console speaks to them."""

    tenant_id: int
    tenant_name: str
    user_id: int
    email: str
    name: str
    role: str
    csrf: str
    lang: Lang
    # What the changes of the requested page need (see change_permission).
    permission: str = "program"
    # For a role held to a limit (support): the most points one adjustment may move.
    adjust_limit: int | None = None
    # A coalition partner's person: their partner (they reach only its pages; see partner_may).
    partner_id: int | None = None
    partner_name: str = ""
    # Whether the program is a coalition (the navigation shows its pages).
    coalition: bool = False

    def can(self, permission: str) -> bool:
        """Whether this admin's role has `permission` (tenants/roles.py); templates hide what it has not."""
        return roles.can(self.role, permission)

    @property
    def can_change(self) -> bool:
        """Whether this admin may make the changes of the page requested."""
        return self.can(self.permission)

    def require(self, permission: str) -> None:
        """Refuse (the 403 page) a read this role may not make: reading pages is every role's, taking
        personal data, live coupon codes or the audit trail out in bulk is not (EXPORTS says who may)."""
        if not self.can(permission):
            raise Refused(EXPORTS.get(permission, REFUSALS["program"]), permission=permission)

    def check_adjustment(self, points: int) -> None:
        """Refuse (as a problem of the form's points field) an adjustment larger, either way, than this
        role may make."""
        if not self.can("adjust.unlimited") and abs(points) > (self.adjust_limit or 0):
            raise FormError(fields={"points": Problem(OVER_LIMIT, {"limit": self.lang.number(self.adjust_limit or 0)})})

    def record(self, session: Any, request: Request, *, action: str, target: str = "", details: dict | None = None, now: Any) -> None:
        """Audit a change, in the same transaction as the change."""
        audit.record(
            session, tenant_id=self.tenant_id, user_id=self.user_id, actor=self.email, action=action, target=target,
            details=details, ip=request.client.host if request.client else None, now=now,
        )


class Refused(WafaError):
    """The admin's role does not have the permission this change needs."""

    status = 403
    slug = "role-refused"
    title = "Forbidden"


OVER_LIMIT = N_("Your role may adjust at most %(limit)s points at a time, either way. Ask an owner or an admin for more.")
# What a refused change says, by the permission it lacked.
REFUSALS = {
    "members": N_("Only owners, admins and support staff can change members."),
    "rules.draft": N_("Only owners, admins and marketers can edit rules."),
    "rules.activate": N_("Only owners and admins can activate, pause or end rules, or change a rule that is not a draft."),
    "marketing": N_("Only owners, admins and marketers can change rewards, coupons, segments and surveys."),
    "imports": N_("Only owners and admins can import purchases."),
    "program": N_("Only owners and admins can change the program."),
    "api_keys": N_("Only owners and admins can manage API keys."),
    "people": N_("Only owners and admins can manage people."),
    "owners": N_("Only owners can do this."),
    "coalition": N_("Only owners and admins can change the coalition."),
}
PARTNER_ONLY = N_("Your account sees your partner's pages only.")
PARTNER_SUSPENDED = N_("Your partner is suspended in this coalition: its pages are closed until the operator reactivates it.")
# What a refused export (or the codes of a campaign) says, by the permission it lacked.
EXPORTS = {
    "members": N_("Only owners, admins and support staff can export members."),
    "marketing": N_("Only owners, admins and marketers can see coupon codes and export survey answers."),
    "audit": N_("Only owners and admins can export the audit trail."),
}
# What a change (any method but GET and HEAD) needs, by the route's path, then by the console section
# (the path's first part). A section not listed needs "program" (owners and admins): a new page is
# closed to the narrower roles until it is listed here.
_BY_ROUTE = {
    f"{PATH}/logout": "read",
    f"{PATH}/rules/simulate": "read",
    f"{PATH}/rules/{{rule_id}}/status": "rules.activate",
    f"{PATH}/people/support-limit": "owners",
}
_BY_SECTION = {
    "account": "read", "members": "members", "redemptions": "members", "rules": "rules.draft", "rewards": "marketing",
    "coupons": "marketing", "segments": "marketing", "surveys": "marketing", "imports": "imports", "settings": "program",
    "tiers": "program", "plans": "program", "goals": "program", "api-keys": "api_keys", "webhooks": "api_keys", "people": "people",
    # Journeys, wordings and campaigns are marketing's work; a channel's settings (provider secrets) stay with api_keys.
    "messages": "marketing", "campaigns": "marketing",
    "coalition": "coalition",
}
# A statement's downloads (web/admin/coalition.py): any for the operator's people, their own for a partner's.
STATEMENT_DOWNLOADS = frozenset({f"{PATH}/statements/{{statement_id}}.csv", f"{PATH}/statements/{{statement_id}}.pdf"})
# What a partner's person may reach besides their partner's pages (under /admin/partner): signing out,
# their own account and password, their partner's statements. Anything else is the 403 page: a console
# page added later stays closed to them until it is listed here.
_PARTNER_ROUTES = frozenset({f"{PATH}/logout", f"{PATH}/account", f"{PATH}/account/password", *STATEMENT_DOWNLOADS})


def partner_may(template: str) -> bool:
    """Whether a partner's person may reach the console route `template` (its path with {parameters})."""
    return template in _PARTNER_ROUTES or template == f"{PATH}/partner" or template.startswith(f"{PATH}/partner/")


def _template(request: Request) -> str:
    """The path of the route this request matched, with its {parameters}."""
    route = request.scope.get("route")
    return str(getattr(route, "path", "") or request.url.path)


def change_permission(request: Request) -> str:
    """The permission a change posted to this request's route needs."""
    template = _template(request)
    if template in _BY_ROUTE:
        return _BY_ROUTE[template]
    if template.endswith("/simulate"):  # a dry run writes nothing
        return "read"
    section = template.removeprefix(PATH).strip("/").split("/", 1)[0]
    return _BY_SECTION.get(section, "program")


def refuse(permission: str) -> Refused:
    return Refused(REFUSALS.get(permission, REFUSALS["program"]), permission=permission)


def _lang(session: Any, request: Request, tenant_id: int) -> Lang:
    program = programs.get(session, tenant_id=tenant_id)
    return Lang(language_of(request), program.numerals, program.timezone)


def current_admin(request: Request) -> Admin:
    """The admin this browser signed in as, or a redirect to the sign-in page."""
    ctx = Context(request)
    with ctx.transaction() as session:
        found = sessions.find(session, token=request.cookies.get(COOKIE), kind="admin", now=ctx.now())
        user = admin_users.get(session, tenant_id=found.tenant_id, user_id=found.subject_id) if found else None
        if found is None or user is None or user.status != "active":
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise Redirect(f"{PATH}/login?next={quote(target, safe='')}")
        tenant = tenants.get(session, tenant_id=found.tenant_id)
        if tenant is None or tenant.status != "active":
            raise Redirect(f"{PATH}/login")
        partner_name = ""
        if user.partner_id is not None or user.role == roles.PARTNER:
            # The one place a partner's person is kept to their partner's part of the console.
            partner_name = _partner_gate(session, request, tenant_id=found.tenant_id, partner_id=user.partner_id)
        permission = change_permission(request)
        # The one place every change of every console page is checked against the role: a page that
        # forgets to check cannot let a narrower role through.
        if request.method not in ("GET", "HEAD") and not roles.can(user.role, permission):
            raise refuse(permission)
        limited = roles.can(user.role, "members") and not roles.can(user.role, "adjust.unlimited")
        return Admin(
            tenant_id=found.tenant_id, tenant_name=tenants.name_in(tenant, language_of(request)) if tenant else "", user_id=user.id, email=user.email,
            name=user.name, role=user.role, csrf=found.csrf_token, lang=_lang(session, request, found.tenant_id),
            permission=permission, adjust_limit=admin_users.support_limit(session, tenant_id=found.tenant_id) if limited else None,
            partner_id=user.partner_id, partner_name=partner_name,
            coalition=coalition.config(session, tenant_id=found.tenant_id) is not None,
        )


def _partner_gate(session: Any, request: Request, *, tenant_id: int, partner_id: int | None) -> str:
    """Refuse a partner's person (the 403 page) any route outside their whitelist, every page while their
    partner is suspended, and another partner's statement; return their partner's name in the page's language."""
    template = _template(request)
    if template in (PATH, f"{PATH}/") and request.method in ("GET", "HEAD"):
        raise Redirect(f"{PATH}/partner")  # the console's start page (the error page links to it) is their partner's
    if not partner_may(template):
        raise Refused(PARTNER_ONLY, permission="partner")
    found = coalition.config(session, tenant_id=tenant_id)
    terms = found.partners.get(partner_id) if found is not None and partner_id is not None else None
    if terms is None or terms.status != "active":
        if template == f"{PATH}/logout":
            return ""
        raise Refused(PARTNER_SUSPENDED, permission="partner")
    if template in STATEMENT_DOWNLOADS:
        statement_id = whole(str(request.path_params.get("statement_id", ""))) or 0
        if dashboard.statement_of(session, tenant_id=tenant_id, partner_id=terms.id, statement_id=statement_id) is None:
            raise Refused(PARTNER_ONLY, permission="partner")  # another party's statement, or none: the same answer
    return terms.name_in(language_of(request))


def changing_admin(request: Request, admin: Admin = Depends(current_admin), csrf: str = Form("")) -> Admin:
    """For form posts that change something: a signed-in admin (not a viewer) and a valid CSRF token."""
    check_csrf(request, csrf, admin.csrf)
    if not admin.can_change:
        raise refuse(admin.permission)
    return admin


def _safe_next(target: str | None) -> str:
    # Only a path inside the console: never an open redirect to another site.
    if target and target.startswith(PATH) and not target.startswith("//") and "\\" not in target:
        return target
    return PATH


@router.get("/login")
def login_page(
    request: Request, next: str | None = None, done: str | None = None, tenant: str = Query("", max_length=64),
    email: str = Query("", max_length=254),
) -> Response:
    """The sign-in form; after a password reset or an accepted invitation it says so, with the
    organisation and e-mail filled in."""
    return render(
        request, "admin/login.html", lang=Lang(language_of(request)), csrf=pre_auth_token(request), next=_safe_next(next),
        error=None, tenant=tenant, email=email, done=done if done in ("reset", "joined") else None,
    )


@router.post("/login")
async def login(
    request: Request, tenant: str = Form(..., max_length=64), email: str = Form(..., max_length=254),
    password: str = Form(..., max_length=1024), csrf: str = Form(""), next: str = Form(PATH),
) -> Response:
    lang = Lang(language_of(request))
    check_csrf(request, csrf, request.cookies.get("wafa_csrf"))
    slug = tenant.strip().lower()
    ip = client_ip(request)

    def page(status: int, error: str, headers: dict[str, str] | None = None) -> Response:
        return render(request, "admin/login.html", lang=lang, status=status, headers=headers, csrf=pre_auth_token(request),
                      next=_safe_next(next), error=error, tenant=tenant, email=email, done=None)

    # Counted before any password is hashed: a flood of guesses costs a lookup in the counts, not 64 MiB each.
    refused = await signin.guard(request).console(ip=ip, organisation=slug)
    if refused is not None:
        return page(429, "too-many", {"Retry-After": str(refused.reset)})
    try:
        async with hashing.SLOTS.admitted():
            user = await run_in_threadpool(_sign_in, request, slug=slug, email=email, password=password, ip=ip)
    except hashing.Busy:
        return page(503, "busy", {"Retry-After": "1"})
    if user is None:
        await signin.guard(request).failed(ip=ip)
        # One answer for a wrong e-mail, a wrong password and a locked account: the page tells nobody
        # which e-mails have accounts.
        return page(401, "refused")
    return await run_in_threadpool(_signed_in, request, user, next)


def _sign_in(request: Request, *, slug: str, email: str, password: str, ip: str) -> Any:
    """The user the credentials name, or None (the failure counted and audited). The password is hashed
    between two short transactions, never inside one: on SQLite a transaction holds the write lock."""
    ctx = Context(request)
    with ctx.transaction() as session:
        found = tenants.get_by_slug(session, slug=slug)
        tenant_id = found.id if found is not None and found.status == "active" else 0
        hashed = admin_users.stored_hash(session, tenant_id=tenant_id, email=email)
    verified = admin_users.verify(hashed, password)
    # A refused sign-in still commits: the failure count (and the lock) must outlive the refusal.
    with ctx.transaction() as session:
        try:
            return admin_users.settle(session, tenant_id=tenant_id, email=email, hashed=hashed, verified=verified, password=password,
                                      now=ctx.now())
        except admin_users.SignInRefused as exc:
            if found is not None:
                audit.record(
                    session, tenant_id=found.id, user_id=None, actor=email.strip().lower()[:254], action="admin.sign_in_refused",
                    details={"reason": exc.slug}, ip=ip, now=ctx.now(),
                )
            return None


def _signed_in(request: Request, user: Any, next: str) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        # A new token at every sign-in: one planted in the browser before cannot be signed in.
        sessions.end(session, token=request.cookies.get(COOKIE))
        token, _ = sessions.start(session, kind="admin", tenant_id=user.tenant_id, subject_id=user.id, now=ctx.now())
        audit.record(
            session, tenant_id=user.tenant_id, user_id=user.id, actor=user.email, action="admin.signed_in",
            ip=client_ip(request), now=ctx.now(),
        )
    target = _safe_next(next)
    if user.partner_id is not None and not partner_may(target.split("?", 1)[0]):
        target = f"{PATH}/partner"  # a partner's person starts on their partner's pages, never on a page refused to them
    response = redirect(target)
    set_cookie(response, request, COOKIE, token, path=PATH)
    return response


@router.post("/logout")
def logout(request: Request, admin: Admin = Depends(current_admin), csrf: str = Form("")) -> Response:
    check_csrf(request, csrf, admin.csrf)
    ctx = Context(request)
    with ctx.transaction() as session:
        sessions.end(session, token=request.cookies.get(COOKIE))
    response = redirect(f"{PATH}/login")
    response.delete_cookie(COOKIE, path=PATH)
    return response
