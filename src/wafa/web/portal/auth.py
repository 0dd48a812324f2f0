"""Members sign in with a one-time code sent by e-mail (no password to forget); joining through a
referral link is the same flow with a name. The signed-in member of a request, and sign-out."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from wafa.api.deps import Context
from wafa.bus import dispatch
from wafa.bus.messages import MemberEnrolled
from wafa.coalition import service as coalition
from wafa.engagement import referrals
from wafa.errors import NotFound, PersonInDebt, WafaError
from wafa.members import service as members
from wafa.members.models import Member
from wafa.members.schemas import MemberCreate
from wafa.notify.mail import Mail
from wafa.programs import service as programs
from wafa.tenants import service as tenants
from wafa.trust import signin
from wafa.trust.signin import client_ip
from wafa.web import login_codes, sessions
from wafa.web.i18n import Lang, translations
from wafa.web.pages import CSRF_COOKIE, Redirect, check_csrf, language_of, pre_auth_token, redirect, render, set_cookie

log = logging.getLogger("wafa.portal")
T = TypeVar("T")
COOKIE = "wafa_member"
Slug = Path(pattern=r"^[a-z0-9-]{1,64}$")

router = APIRouter(prefix="/m/{slug}", include_in_schema=False)


@dataclass(frozen=True, slots=True)
class Portal:
    """A tenant's portal as one request sees it (no member yet)."""

    tenant_id: int
    slug: str
    name: str
    lang: Lang
    points_name: dict[str, str]
    currency: str
    # The program is a coalition: the portal shows its partners.
    coalition: bool = False

    @property
    def base(self) -> str:
        return f"/m/{self.slug}"


@dataclass(frozen=True, slots=True)
class Me:
    """The signed-in member of a request."""

    portal: Portal
    member: Member
    csrf: str

    @property
    def tenant_id(self) -> int:
        return self.portal.tenant_id

    @property
    def member_id(self) -> int:
        return self.member.id

    @property
    def lang(self) -> Lang:
        return self.portal.lang


def _portal(session: Any, request: Request, slug: str, preferred: str | None = None) -> Portal:
    tenant = tenants.get_by_slug(session, slug=slug)
    if tenant is None or tenant.status != "active":
        raise NotFound("no loyalty program here")
    program = programs.get(session, tenant_id=tenant.id)
    lang = Lang(language_of(request, preferred), program.numerals, program.timezone)
    return Portal(
        tenant_id=tenant.id, slug=tenant.slug, name=tenants.name_in(tenant, lang.code),
        lang=lang,
        points_name={"en": program.points_name_en, "ar": program.points_name_ar}, currency=program.base_currency,
        coalition=coalition.config(session, tenant_id=tenant.id) is not None,
    )


class TooManyGuesses(WafaError):
    """An address asked for too many programs that do not exist: it learns nothing more for a while."""

    status = 429
    slug = "too-many-requests"
    title = "Too many requests"


async def _known(request: Request, slug: str, work: Callable[[], T]) -> T:
    """Run `work` (which raises NotFound for a program that does not exist) unless this address guessed
    too many program slugs already; a guess that misses is counted. So slugs cannot be enumerated: past
    WAFA_UNKNOWN_PROGRAMS_PER_IP misses, every program answers 429 to that address for a while."""
    ip = client_ip(request)
    guard = signin.guard(request)
    refused = await guard.unknown_programs_exceeded(ip=ip)
    if refused is not None:
        raise TooManyGuesses("too many requests from this connection: try again later", retry_after=refused.reset)
    try:
        return await run_in_threadpool(work)
    except NotFound:
        await guard.unknown_program(ip=ip)
        raise


async def portal_of(request: Request, slug: str = Slug) -> Portal:
    def work() -> Portal:
        ctx = Context(request)
        with ctx.transaction() as session:
            return _portal(session, request, slug)

    return await _known(request, slug, work)


async def current_member(request: Request, slug: str = Slug) -> Me:
    """The member this browser signed in as, in this tenant's portal, or a redirect to sign in."""

    def work() -> Me:
        ctx = Context(request)
        with ctx.transaction() as session:
            portal = _portal(session, request, slug)
            found = sessions.find(session, token=request.cookies.get(COOKIE), kind="member", now=ctx.now(), tenant_id=portal.tenant_id)
            member = members.get(session, tenant_id=portal.tenant_id, member_id=found.subject_id) if found else None
            if found is None or member is None or member.status != "active":
                # A suspended or closed membership ends its sessions, however it was suspended.
                raise Redirect(f"/m/{portal.slug}/login")
            # The member's own language unless they chose another on this device.
            portal = _portal(session, request, slug, preferred=member.locale)
            return Me(portal=portal, member=member, csrf=found.csrf_token)

    return await _known(request, slug, work)


def changing_member(request: Request, me: Me = Depends(current_member), csrf: str = Form("")) -> Me:
    check_csrf(request, csrf, me.csrf)
    return me


def _send_code(request: Request, portal: Portal, email: str, code: str) -> None:
    try:
        _mail_code(request, portal, email, code)
    except Exception:  # the answer is gone already: the log is where a dead SMTP server shows
        log.exception("could not send the sign-in code to %s", email)


def _mail_code(request: Request, portal: Portal, email: str, code: str) -> None:
    _ = translations(portal.lang.code).gettext
    text = _("Your sign-in code for %(program)s is %(code)s. It expires in 10 minutes. If you did not ask for it, ignore this message.") % {
        "program": portal.name, "code": code,
    }
    request.app.state.mailer.send(Mail(to=email, subject=_("Your sign-in code: %(code)s") % {"code": code}, text=text, language=portal.lang.code))


@router.get("/login")
def login_page(request: Request, portal: Portal = Depends(portal_of)) -> Response:
    return render(request, "portal/login.html", lang=portal.lang, portal=portal, csrf=pre_auth_token(request), error=None, email="")


@router.post("/login")
async def ask_code(request: Request, portal: Portal = Depends(portal_of), email: str = Form(..., max_length=254), csrf: str = Form("")) -> Response:
    """Send a code to a member's address. The answer is the same whether or not the address belongs to
    a member, so the form tells nobody who is a member."""
    check_csrf(request, csrf, request.cookies.get(CSRF_COOKIE))
    address = members.normalize_email(email) or ""
    # Per address (login_codes) and per connection: one client asking codes for many addresses is refused too.
    refused = await signin.guard(request).member_code(ip=client_ip(request))
    if refused is not None:
        return render(request, "portal/login.html", lang=portal.lang, portal=portal, csrf=pre_auth_token(request), error="too-many-here",
                      email=address, status=429, headers={"Retry-After": str(refused.reset)})

    def work() -> str | None:
        ctx = Context(request)
        with ctx.transaction() as session:
            found = [m for m in members.search(session, tenant_id=portal.tenant_id, region="SA", email=address, limit=2) if m.status == "active"]
            member_id = found[0].id if len(found) == 1 else None
            # A stranger's ask is counted like a member's (a code nobody receives and nothing accepts), so
            # the rate limit tells nobody who is a member.
            code = login_codes.issue(session, tenant_id=portal.tenant_id, email=address, member_id=member_id, signup=None, now=ctx.now())
            return code if member_id is not None else None

    try:
        code = await run_in_threadpool(work)
    except login_codes.TooManyCodes:
        return render(request, "portal/login.html", lang=portal.lang, portal=portal, csrf=pre_auth_token(request), error="too-many",
                      email=address, status=429)
    response = redirect(f"{portal.base}/verify?email={quote(address)}")
    if code is not None:
        # Sent after the answer: the time to answer does not depend on whether the address is a member's.
        response.background = BackgroundTask(_send_code, request, portal, address, code)
    else:
        log.info("sign-in code asked for %s, which is no member of %s", address, portal.slug)
    return response


@router.get("/verify")
def verify_page(request: Request, email: str = Query("", max_length=254), portal: Portal = Depends(portal_of)) -> Response:
    return render(request, "portal/verify.html", lang=portal.lang, portal=portal, csrf=pre_auth_token(request), email=email, error=None)


@router.post("/verify")
async def verify(
    request: Request, portal: Portal = Depends(portal_of), email: str = Form(..., max_length=254), code: str = Form(..., max_length=32),
    csrf: str = Form(""),
) -> Response:
    check_csrf(request, csrf, request.cookies.get(CSRF_COOKIE))
    # Wrong codes count against the connection too: one client guessing across many addresses is locked out.
    guard = signin.guard(request)
    ip = client_ip(request)
    locked = await guard.locked_out(ip=ip)
    if locked is not None:
        return render(request, "portal/verify.html", lang=portal.lang, portal=portal, csrf=pre_auth_token(request),
                      email=members.normalize_email(email) or "", error="too-many-here", status=429,
                      headers={"Retry-After": str(locked.reset)})
    response = await run_in_threadpool(_verify, request, portal, email, code)
    if response.status_code == 401:
        await guard.failed(ip=ip)
    return response


def _verify(request: Request, portal: Portal, email: str, code: str) -> Response:
    ctx = Context(request)
    address = members.normalize_email(email) or ""
    refused: login_codes.CodeRefused | None = None
    in_debt = False
    # A wrong try must stay counted: the transaction commits even though sign-in fails.
    with ctx.transaction() as session:
        try:
            used = login_codes.redeem(session, tenant_id=portal.tenant_id, email=address, code=code, now=ctx.now())
        except login_codes.CodeRefused as exc:
            refused = exc
    if refused is None:
        try:
            with ctx.transaction() as session:
                if used.member_id is None and not used.signup:
                    raise login_codes.CodeRefused("this code signs nobody in")  # a stranger's ask: nothing was sent
                member_id = used.member_id if used.member_id is not None else _enrol(session, request, portal, address, used.signup, ctx.now())
                member = members.get_or_raise(session, tenant_id=portal.tenant_id, member_id=member_id)
                if member.status != "active":
                    raise login_codes.CodeRefused(f"this membership is {member.status}")
                # Always a new session token: one planted in the browser before never becomes signed in.
                sessions.end(session, token=request.cookies.get(COOKIE))
                token, _ = sessions.start(session, kind="member", tenant_id=portal.tenant_id, subject_id=member_id, now=ctx.now())
        except login_codes.CodeRefused as exc:
            refused = exc
        except PersonInDebt:
            in_debt = True  # the program refuses to enrol this person again while they owe (reenrol_debt)
    if in_debt:
        return render(
            request, "portal/verify.html", lang=portal.lang, portal=portal, csrf=pre_auth_token(request), email=address,
            error="person-in-debt", status=409,
        )
    if refused is not None:
        left = refused.extra.get("attempts_left")
        return render(
            request, "portal/verify.html", lang=portal.lang, portal=portal, csrf=pre_auth_token(request), email=address,
            error="wrong" if left else "expired", status=401,
        )
    # The card page, inside the service worker's scope (/m/<tenant>/), so it works offline at once.
    response = redirect(f"{portal.base}/")
    set_cookie(response, request, COOKIE, token, path=portal.base, max_age=int(sessions.IDLE["member"].total_seconds()))
    return response


def _enrol(session: Any, request: Request, portal: Portal, email: str, signup: str | None, now: Any) -> int:
    """Enrol the person who confirmed their address through the join form (and its referral code)."""
    data = json.loads(signup or "{}")
    existing = members.search(session, tenant_id=portal.tenant_id, region="SA", email=email, limit=1)
    if existing:
        return existing[0].id  # joined meanwhile (or twice): sign in as that member
    region = programs.get(session, tenant_id=portal.tenant_id).default_region
    member_in = MemberCreate(
        external_id=f"web-{uuid.uuid4().hex}", name=data.get("name") or None, email=email, locale=data.get("locale") or portal.lang.code,
        referral_code=data.get("ref") or None,
    )
    member = members.create(session, tenant_id=portal.tenant_id, member_in=member_in, region=region, now=now, channel="portal")
    dispatch.publish(session, MemberEnrolled(portal.tenant_id, member.id, now, member=member))
    # A code from a link the member followed: a wrong one is not theirs to fix, so it is logged, not refused.
    if member_in.referral_code:
        try:
            with session.begin_nested():
                referrals.on_enrolment(session, tenant_id=portal.tenant_id, member=member, code=member_in.referral_code, now=now)
        except WafaError:
            log.info("referral code %r not applied to new member %s", member_in.referral_code, member.id)
    return member.id


@router.get("/join")
def join_page(request: Request, ref: str = Query("", max_length=32), portal: Portal = Depends(portal_of)) -> Response:
    return render(request, "portal/join.html", lang=portal.lang, portal=portal, csrf=pre_auth_token(request), ref=ref, error=None, name="", email="")


@router.post("/join")
async def join(
    request: Request, portal: Portal = Depends(portal_of), name: str = Form(..., min_length=1, max_length=200),
    email: str = Form(..., max_length=254), ref: str = Form("", max_length=32), csrf: str = Form(""),
) -> Response:
    """Send a code to confirm the address; the member is enrolled when the code comes back."""
    check_csrf(request, csrf, request.cookies.get(CSRF_COOKIE))
    address = members.normalize_email(email) or ""
    try:
        MemberCreate(external_id="web", name=name.strip() or None, email=address)
        valid = True
    except ValidationError:
        valid = False
    if not valid:
        return render(request, "portal/join.html", lang=portal.lang, portal=portal, csrf=pre_auth_token(request), ref=ref,
                      error="email", name=name, email=email, status=422)
    signup = json.dumps({"name": name.strip(), "ref": ref.strip().upper(), "locale": portal.lang.code}, ensure_ascii=False)[:500]
    refused = await signin.guard(request).member_code(ip=client_ip(request))
    if refused is not None:
        return render(request, "portal/join.html", lang=portal.lang, portal=portal, csrf=pre_auth_token(request), ref=ref,
                      error="too-many-here", name=name, email=email, status=429, headers={"Retry-After": str(refused.reset)})

    def work() -> str:
        ctx = Context(request)
        with ctx.transaction() as session:
            existing = members.search(session, tenant_id=portal.tenant_id, region="SA", email=address, limit=1)
            member_id = existing[0].id if existing else None
            return login_codes.issue(session, tenant_id=portal.tenant_id, email=address, member_id=member_id,
                                     signup=None if member_id else signup, now=ctx.now())

    try:
        code = await run_in_threadpool(work)
    except login_codes.TooManyCodes:
        return render(request, "portal/join.html", lang=portal.lang, portal=portal, csrf=pre_auth_token(request), ref=ref,
                      error="too-many", name=name, email=email, status=429)
    response = redirect(f"{portal.base}/verify?email={quote(address)}")
    response.background = BackgroundTask(_send_code, request, portal, address, code)
    return response


@router.post("/logout")
def logout(request: Request, me: Me = Depends(current_member), csrf: str = Form("")) -> Response:
    check_csrf(request, csrf, me.csrf)
    ctx = Context(request)
    with ctx.transaction() as session:
        sessions.end(session, token=request.cookies.get(COOKIE))
    response = redirect(f"{me.portal.base}/login")
    response.delete_cookie(COOKIE, path=me.portal.base)
    # The service worker's copy of the card goes too: the next person on this phone sees nothing.
    response.headers["Clear-Site-Data"] = '"cache"'
    return response
