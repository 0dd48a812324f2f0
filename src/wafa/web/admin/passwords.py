"""Passwords of console users: a reset by a link e-mailed from the sign-in page (one answer whether or
not the address has an account), and a signed-in user's change of their own password. Either ends the
user's other sessions."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import Response
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from wafa.api.deps import Context
from wafa.config import get_settings
from wafa.notify.mail import Mail
from wafa.tenants import admin_tokens, admin_users, audit
from wafa.tenants import service as tenants
from wafa.web import sessions
from wafa.web.admin.auth import COOKIE, PATH, Admin, current_admin
from wafa.web.admin.forms import FormError, Problem, Problems, apply_change
from wafa.web.i18n import Lang, translations
from wafa.web.messages import N_
from wafa.web.pages import CSRF_COOKIE, check_csrf, language_of, pre_auth_token, redirect, render

log = logging.getLogger("wafa.console")
router = APIRouter(prefix=PATH, include_in_schema=False)
Token = Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")

TOO_SHORT = N_("Use at least %(n)s characters.")
NOT_SAME = N_("The two passwords are not the same.")


def link(path: str) -> str:
    """An absolute link for an e-mail, on the configured public address (never the request's Host
    header, which a stranger could set to send a victim's reset link to their own site)."""
    return get_settings().public_url.rstrip("/") + path


def send_later(response: Response, request: Request, mail: Mail) -> Response:
    """Send `mail` after the answer has gone: the answer's time says nothing about the address."""

    def send() -> None:
        try:
            request.app.state.mailer.send(mail)
        except Exception:  # the answer is gone already: the log is where a dead SMTP server shows
            log.exception("could not send %r to %s", mail.subject, mail.to)

    response.background = BackgroundTask(send)
    return response


def new_password(form: Any, name: str = "password") -> str:
    """The new password a form carries, typed twice alike and long enough, or FormError."""
    password, again = str(form.get(name, "") or ""), str(form.get(f"{name}_again", "") or "")
    if len(password) < admin_users.MIN_PASSWORD or len(password) > admin_users.MAX_PASSWORD:
        raise FormError(fields={name: Problem(TOO_SHORT, {"n": admin_users.MIN_PASSWORD})})
    if password != again:
        raise FormError(fields={f"{name}_again": Problem(NOT_SAME)})
    return password


def _reset_mail(address: str, program: str, token: str, language: str) -> Mail:
    _ = translations(language).gettext
    body = _(
        "Someone, probably you, asked to reset the password of %(email)s in the Wafa console of %(program)s.\n\n"
        "Choose a new password here (the link works once, within one hour):\n%(link)s\n\n"
        "If you did not ask for this, ignore this message: your password stays as it is."
    ) % {"email": address, "program": program, "link": link(f"{PATH}/password/reset/{token}")}
    return Mail(to=address, subject=_("Reset your Wafa console password"), text=body, language=language)


@router.get("/password/forgot")
def forgot_page(request: Request) -> Response:
    return render(request, "admin/password_forgot.html", lang=Lang(language_of(request)), csrf=pre_auth_token(request),
                  sent=None, tenant=request.query_params.get("tenant", "")[:64], email="")


@router.post("/password/forgot")
def ask_reset(request: Request, tenant: str = Form(..., max_length=64), email: str = Form(..., max_length=254), csrf: str = Form("")) -> Response:
    """E-mail a reset link to the address if it is an active console user's; the answer is the same
    either way (and past three links an hour nothing more is sent)."""
    lang = Lang(language_of(request))
    check_csrf(request, csrf, request.cookies.get(CSRF_COOKIE))
    ctx = Context(request)
    mail = None
    with ctx.transaction() as session:
        found = tenants.get_by_slug(session, slug=tenant.strip().lower())
        issued = admin_tokens.request_reset(session, tenant_id=found.id, email=email, now=ctx.now()) if found and found.status == "active" else None
        if found is not None and issued is not None:
            user, token = issued
            mail = _reset_mail(user.email, found.name, token, lang.code)
            audit.record(session, tenant_id=found.id, user_id=user.id, actor=user.email, action="admin.password_reset_sent",
                         target=f"admin_user:{user.id}", ip=request.client.host if request.client else None, now=ctx.now())
    response = render(request, "admin/password_forgot.html", lang=lang, csrf=pre_auth_token(request), sent=email.strip(),
                      tenant=tenant, email="")
    return send_later(response, request, mail) if mail else response


def _reset_form(request: Request, token: str, problems: Problems | None = None, status: int = 200) -> Response:
    return render(request, "admin/password_reset.html", lang=Lang(language_of(request)), csrf=pre_auth_token(request),
                  token=token, problems=problems, status=status, expired=False)


def _expired(request: Request, template: str) -> Response:
    return render(request, template, lang=Lang(language_of(request)), csrf="", token="", problems=None, status=410, expired=True,
                  invited=None, tenant=None)


@router.get("/password/reset/{token}")
def reset_page(request: Request, token: str = Token) -> Response:
    ctx = Context(request)
    try:
        with ctx.transaction() as session:
            admin_tokens.find(session, token=token, purpose="reset", now=ctx.now())
    except admin_tokens.LinkRefused:
        return _expired(request, "admin/password_reset.html")
    return _reset_form(request, token)


@router.post("/password/reset/{token}")
async def reset(request: Request, token: str = Token) -> Response:
    """Set the new password, end every session of the user, and send them to sign in with it."""
    form = await request.form()
    check_csrf(request, str(form.get("csrf", "")), request.cookies.get(CSRF_COOKIE))

    def work() -> Response:
        ctx = Context(request)
        try:
            password = new_password(form)
            with ctx.transaction() as session:
                user = admin_tokens.reset(session, token=token, password=password, now=ctx.now())
                ended = sessions.end_all(session, kind="admin", tenant_id=user.tenant_id, subject_id=user.id)
                tenant = tenants.get(session, tenant_id=user.tenant_id)
                audit.record(session, tenant_id=user.tenant_id, user_id=user.id, actor=user.email, action="admin.password_reset",
                             target=f"admin_user:{user.id}", details={"sessions_ended": ended},
                             ip=request.client.host if request.client else None, now=ctx.now())
        except admin_tokens.LinkRefused:
            return _expired(request, "admin/password_reset.html")
        except FormError as exc:
            return _reset_form(request, token, Problems(general=exc.general, fields=exc.fields), status=422)
        query = urlencode({"done": "reset", "tenant": tenant.slug if tenant else "", "email": user.email})
        response = redirect(f"{PATH}/login?{query}")
        response.delete_cookie(COOKIE, path=PATH)
        return response

    return await run_in_threadpool(work)


# --- one's own account ----------------------------------------------------------------------------


def _account_page(request: Request, admin: Admin, problems: Problems | None = None, changed: bool = False) -> Response:
    return render(request, "admin/account.html", lang=admin.lang, me=admin, section="people", problems=problems, changed=changed,
                  status=422 if problems else 200)


@router.get("/account")
def account(request: Request, done: str | None = None, admin: Admin = Depends(current_admin)) -> Response:
    return _account_page(request, admin, changed=done == "password")


@router.post("/account/password")
async def change_password(request: Request, admin: Admin = Depends(current_admin)) -> Response:
    """A signed-in user's new password; their sessions elsewhere end, this one goes on."""

    def work(session: Any, form: Any, ctx: Context) -> str:
        password = new_password(form)
        try:
            admin_users.change_password(session, tenant_id=admin.tenant_id, user_id=admin.user_id, current=str(form.get("current", "")),
                                        password=password)
        except admin_users.WrongPassword:
            raise FormError(fields={"current": Problem(N_("This is not your current password."))}) from None
        ended = sessions.end_all(session, kind="admin", tenant_id=admin.tenant_id, subject_id=admin.user_id, keep=request.cookies.get(COOKIE))
        admin_tokens.retire_resets(session, user_id=admin.user_id, now=ctx.now())
        admin.record(session, request, action="admin.password_changed", target=f"admin_user:{admin.user_id}",
                     details={"sessions_ended": ended}, now=ctx.now())
        return f"{PATH}/account?done=password"

    return await apply_change(request, admin, work, lambda problems: _account_page(request, admin, problems))

