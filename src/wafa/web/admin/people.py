"""People in the console: who has access and with which role, invitations by e-mail (accepted with a
name and a password), role changes, deactivation (which ends the person's sessions), and the support
limit an owner sets. Only owners and admins manage people; only owners touch the owner role. A coalition
partner's people are invited and managed from their partner's page (web/admin/coalition.py, through the
helpers here); this page lists the operator's people and never gives either side the other's role."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from wafa.api.deps import Context, IdPath
from wafa.coalition import service as coalition
from wafa.errors import InvalidInput, WafaError
from wafa.notify.mail import Mail
from wafa.tenants import admin_tokens, admin_users, audit
from wafa.tenants import service as tenants
from wafa.tenants.models import AdminUser
from wafa.tenants.roles import PARTNER, ROLES
from wafa.web import sessions
from wafa.web.admin.auth import PATH, Admin, current_admin
from wafa.web.admin.forms import FormError, Problem, Problems, apply_change, integer, text
from wafa.web.admin.passwords import Token, link, new_password, send_later
from wafa.web.i18n import Lang, translations
from wafa.web.messages import N_
from wafa.web.pages import CSRF_COOKIE, check_csrf, language_of, pre_auth_token, redirect, render

router = APIRouter(prefix=PATH, include_in_schema=False)

ROLE_NAMES = {"owner": N_("Owner"), "admin": N_("Admin"), "marketer": N_("Marketer"), "support": N_("Support"), "viewer": N_("Viewer"),
              PARTNER: N_("Partner")}
# What a refused change says, by the service's reason (the services speak English to logs and the CLI).
_SAID: list[tuple[type[WafaError], str]] = [
    (admin_users.AlreadyUser, N_("This e-mail already belongs to someone in this organisation.")),
    (admin_users.LastOwner, N_("This is the last owner: make someone else an owner first.")),
    (admin_users.OwnersOnly, N_("Only an owner can give or take the owner role, or deactivate an owner.")),
    (admin_users.NotYourself, N_("You cannot deactivate yourself.")),
    (admin_users.WeakPassword, N_("Use at least 10 characters.")),
    (admin_users.PartnerRoleFixed, N_("A partner's person keeps the partner role, and the operator's people never take it.")),
]


def _said(exc: WafaError, *, placed: bool = False) -> FormError:
    """A service's refusal as a problem in the page's language: beside the field it is about when the
    form (`placed`) has that field, else for the whole form."""
    message = next((said for kind, said in _SAID if isinstance(exc, kind)), None)
    if message is None and isinstance(exc, InvalidInput) and exc.field == "email":
        message = N_("Enter an e-mail address, such as name@example.com.")
    problem = Problem(message or exc.detail)
    field = exc.field or ("role" if isinstance(exc, admin_users.OwnersOnly) else None)
    return FormError(fields={field: problem}) if placed and field else FormError([problem])


def _people_page(request: Request, admin: Admin, problems: Problems | None = None, done: str | None = None) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        # A partner's people are managed on their partner's page (the coalition section).
        people = [u for u in admin_users.list_(session, tenant_id=admin.tenant_id) if u.partner_id is None]
        invitations = admin_tokens.pending_invitations(session, tenant_id=admin.tenant_id, now=ctx.now())
        limit = admin_users.support_limit(session, tenant_id=admin.tenant_id)
    order = {role: n for n, role in enumerate(ROLES)}
    people.sort(key=lambda u: ({"active": 0, "invited": 1}.get(u.status, 2), order.get(u.role, 9), (u.name or u.email).lower()))
    return render(
        request, "admin/people.html", lang=admin.lang, me=admin, section="people", people=people, invitations=invitations,
        support_limit=limit, roles=ROLES, problems=problems, done=done, status=422 if problems else 200,
    )


@router.get("/people")
def people_page(request: Request, done: str | None = None, admin: Admin = Depends(current_admin)) -> Response:
    return _people_page(request, admin, done=done if done in ("invited", "saved") else None)


def _invite_mail(
    *, address: str, program: str, slug: str, inviter: str, role: str, token: str, language: str, partner: str | None = None,
) -> Mail:
    _ = translations(language).gettext
    values = {"inviter": inviter, "program": program, "role": _(ROLE_NAMES[role]), "link": link(f"{PATH}/invite/{token}"), "slug": slug,
              "partner": partner or ""}
    if partner is not None:
        body = _(
            "%(inviter)s invited you to the pages of %(partner)s in %(program)s, in the Wafa console: your figures and statements.\n\n"
            "Choose your name and password here (the link works once, within 7 days):\n%(link)s\n\n"
            "Then sign in with the organisation %(slug)s and this e-mail address.\n\n"
            "If you did not expect this invitation, ignore this message."
        ) % values
    else:
        body = _(
            "%(inviter)s invited you to the team that runs %(program)s in the Wafa console, as %(role)s.\n\n"
            "Choose your name and password here (the link works once, within 7 days):\n%(link)s\n\n"
            "Then sign in with the organisation %(slug)s and this e-mail address.\n\n"
            "If you did not expect this invitation, ignore this message."
        ) % values
    return Mail(to=address, subject=_("Join %(program)s in the Wafa console") % {"program": program}, text=body, language=language)


async def change_and_mail(
    request: Request, admin: Admin, work: Callable[[Any, Any, Context, list[Mail]], str], page: Callable[[Problems], Response],
) -> Response:
    """apply_change, sending the invitation `work` may leave in its outbox once committed."""
    outbox: list[Mail] = []
    response = await apply_change(request, admin, lambda session, form, ctx: work(session, form, ctx, outbox), page)
    if outbox and response.status_code == 303:
        send_later(response, request, outbox[0])
    return response


async def _change(request: Request, admin: Admin, work: Any) -> Response:
    return await change_and_mail(request, admin, work, lambda problems: _people_page(request, admin, problems))


def invite_person(
    session: Any, request: Request, admin: Admin, ctx: Context, *, email: str, role: str, language: str, outbox: list[Mail], action: str,
    partner_id: int | None = None, partner_name: str | None = None,
) -> AdminUser:
    """Invite a person (the operator's, or with `partner_id` a partner's), leave the mail in `outbox`, audit it."""
    try:
        admin_users.ready_for_invitation(session, tenant_id=admin.tenant_id, email=email, role=role, partner_id=partner_id, now=ctx.now())
        user, token = admin_tokens.invite(session, tenant_id=admin.tenant_id, email=email, role=role, by_role=admin.role, now=ctx.now())
    except WafaError as exc:
        raise _said(exc, placed=action == "admin_user.invited") from None
    tenant = tenants.get(session, tenant_id=admin.tenant_id)
    if user.partner_id is not None and partner_name is None:
        partner_name = coalition.get_or_raise(session, tenant_id=admin.tenant_id, partner_id=user.partner_id).name
    outbox.append(_invite_mail(address=user.email, program=admin.tenant_name, slug=tenant.slug if tenant else "", inviter=admin.name,
                               role=user.role, token=token, language=language if language in ("ar", "en") else admin.lang.code,
                               partner=partner_name if user.partner_id is not None else None))
    details = {"email": user.email, "role": user.role} | ({"partner_id": user.partner_id} if user.partner_id is not None else {})
    admin.record(session, request, action=action, target=f"admin_user:{user.id}", details=details, now=ctx.now())
    return user


def _invite(
    session: Any, request: Request, admin: Admin, ctx: Context, *, email: str, role: str, language: str, outbox: list[Mail], action: str,
    partner_id: int | None = None,
) -> str:
    invite_person(session, request, admin, ctx, email=email, role=role, language=language, outbox=outbox, action=action, partner_id=partner_id)
    return f"{PATH}/people?done=invited"


@router.post("/people/invite")
async def invite(request: Request, admin: Admin = Depends(current_admin)) -> Response:
    """Invite a person by e-mail with a role; the link they receive lets them choose a name and password."""

    def work(session: Any, form: Any, ctx: Context, outbox: list[Mail]) -> str:
        role = text(form, "role")
        if role not in ROLES:
            raise FormError(fields={"role": Problem(N_("Choose one of the options."))})
        return _invite(session, request, admin, ctx, email=text(form, "email"), role=role, language=text(form, "language"), outbox=outbox,
                       action="admin_user.invited")

    return await _change(request, admin, work)


@router.post("/people/{user_id}/resend")
async def resend(request: Request, user_id: IdPath, admin: Admin = Depends(current_admin)) -> Response:
    """A new invitation link for someone who has not accepted yet (the older link stops working)."""

    def work(session: Any, form: Any, ctx: Context, outbox: list[Mail]) -> str:
        user = admin_users.get_or_raise(session, tenant_id=admin.tenant_id, user_id=user_id)
        return _invite(session, request, admin, ctx, email=user.email, role=user.role, language=text(form, "language"), outbox=outbox,
                       action="admin_user.invitation_resent", partner_id=user.partner_id)

    return await _change(request, admin, work)


@router.post("/people/{user_id}/role")
async def change_role(request: Request, user_id: IdPath, admin: Admin = Depends(current_admin)) -> Response:
    def work(session: Any, form: Any, ctx: Context, outbox: list[Mail]) -> str:
        before = admin_users.get_or_raise(session, tenant_id=admin.tenant_id, user_id=user_id).role
        role = text(form, "role")
        try:
            user = admin_users.change_role(session, tenant_id=admin.tenant_id, user_id=user_id, role=role, by_role=admin.role)
        except WafaError as exc:
            raise _said(exc) from None
        if role != before:
            admin.record(session, request, action="admin_user.role_changed", target=f"admin_user:{user.id}",
                         details={"email": user.email, "from": before, "to": role}, now=ctx.now())
        return f"{PATH}/people?done=saved"

    return await _change(request, admin, work)


@router.post("/people/{user_id}/status")
async def change_status(request: Request, user_id: IdPath, admin: Admin = Depends(current_admin)) -> Response:
    """Deactivate (ending every session of the person, and any pending invitation) or reactivate."""

    def work(session: Any, form: Any, ctx: Context, outbox: list[Mail]) -> str:
        action = text(form, "action")
        try:
            user = admin_users.change_status(session, tenant_id=admin.tenant_id, user_id=user_id, action=action, by_user_id=admin.user_id,
                                             by_role=admin.role)
        except WafaError as exc:
            raise _said(exc) from None
        ended = 0
        if action == "deactivate":
            ended = sessions.end_all(session, kind="admin", tenant_id=admin.tenant_id, subject_id=user.id)
            admin_tokens.retire_all(session, user_id=user.id, now=ctx.now())
        admin.record(session, request, action=f"admin_user.{action}d", target=f"admin_user:{user.id}",
                     details={"email": user.email, "sessions_ended": ended} if ended else {"email": user.email}, now=ctx.now())
        return f"{PATH}/people?done=saved"

    return await _change(request, admin, work)


@router.post("/people/support-limit")
async def support_limit(request: Request, admin: Admin = Depends(current_admin)) -> Response:
    """The most points one adjustment by a support role may move (owners only: see auth._BY_ROUTE)."""

    def work(session: Any, form: Any, ctx: Context, outbox: list[Mail]) -> str:
        points = integer(form, "support_limit")
        if points is None or not 0 <= points <= admin_users.MAX_SUPPORT_LIMIT:
            raise FormError(fields={"support_limit": Problem(N_("Enter a whole number from 0 to %(max)s."), {"max": admin_users.MAX_SUPPORT_LIMIT})})
        before = admin_users.support_limit(session, tenant_id=admin.tenant_id)
        admin_users.set_support_limit(session, tenant_id=admin.tenant_id, points=points, now=ctx.now())
        admin.record(session, request, action="admin.support_limit_changed", details={"from": before, "to": points}, now=ctx.now())
        return f"{PATH}/people?done=saved"

    return await _change(request, admin, work)


# --- accepting an invitation (not signed in) ---------------------------------------------------------


def _accept_page(request: Request, token: str, *, problems: Problems | None = None, status: int = 200) -> Response:
    ctx = Context(request)
    try:
        with ctx.transaction() as session:
            _, user = admin_tokens.find(session, token=token, purpose="invite", now=ctx.now())
            tenant = tenants.get(session, tenant_id=user.tenant_id)
    except admin_tokens.LinkRefused:
        return render(request, "admin/invite_accept.html", lang=Lang(language_of(request)), csrf="", token="", problems=None,
                      status=410, expired=True, invited=None, tenant=None)
    return render(request, "admin/invite_accept.html", lang=Lang(language_of(request)), csrf=pre_auth_token(request), token=token,
                  problems=problems, status=status, expired=False, invited=user, tenant=tenant)


@router.get("/invite/{token}")
def accept_page(request: Request, token: str = Token) -> Response:
    return _accept_page(request, token)


@router.post("/invite/{token}")
async def accept(request: Request, token: str = Token) -> Response:
    """The invited person's name and password: the account becomes active and they sign in with it."""
    form = await request.form()
    check_csrf(request, str(form.get("csrf", "")), request.cookies.get(CSRF_COOKIE))

    def work() -> Response:
        ctx = Context(request)
        try:
            name = text(form, "name")
            if not name:
                raise FormError(fields={"name": Problem(N_("This field is required."))})
            password = new_password(form)
            with ctx.transaction() as session:
                user = admin_tokens.accept(session, token=token, name=name, password=password, now=ctx.now())
                tenant = tenants.get(session, tenant_id=user.tenant_id)
                audit.record(session, tenant_id=user.tenant_id, user_id=user.id, actor=user.email, action="admin_user.joined",
                             target=f"admin_user:{user.id}", details={"role": user.role},
                             ip=request.client.host if request.client else None, now=ctx.now())
        except admin_tokens.LinkRefused:
            return _accept_page(request, token)
        except FormError as exc:
            return _accept_page(request, token, problems=Problems(general=exc.general, fields=exc.fields,
                                                                   entered={"name": text(form, "name")}), status=422)
        return redirect(f"{PATH}/login?" + urlencode({"done": "joined", "tenant": tenant.slug if tenant else "", "email": user.email}))

    return await run_in_threadpool(work)
