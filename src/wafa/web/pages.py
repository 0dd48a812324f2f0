"""Rendering pages: the Jinja2 environment, the language of a request, security headers, CSRF checks,
cookies, and HTML error pages for the console and the portal."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import jinja2
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from wafa.config import get_settings
from wafa.errors import WafaError
from wafa.money import to_major
from wafa.web import i18n
from wafa.web.i18n import Lang

TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("wafa.web", "templates"),
    autoescape=jinja2.select_autoescape(["html", "xml", "js", "webmanifest"], default=True),
    extensions=["jinja2.ext.i18n"],
    trim_blocks=True,
    lstrip_blocks=True,
    # Forms read optional fields of optional parts (c.match.skus): a missing one is empty, not an error.
    undefined=jinja2.ChainableUndefined,
)
TEMPLATES.install_gettext_callables(i18n.gettext_, i18n.ngettext_, newstyle=True)  # type: ignore[attr-defined]

CSRF_COOKIE = "wafa_csrf"
LANG_COOKIE = "wafa_lang"
# No inline scripts: chart data travels in <script type="application/json"> blocks read by our own files.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; manifest-src 'self'; worker-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def _json_script(value: Any) -> Markup:
    """JSON safe inside a <script type="application/json"> element."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))  # noqa: S704  <, > and & escaped


def kept(problems: Any, name: str, default: Any = "") -> Any:
    """A form field's value: what was typed when the form comes back with problems, else `default`."""
    if problems and hasattr(problems, "entered"):
        return problems.entered.get(name, default)
    return default


def kept_checked(problems: Any, name: str, default: bool = False) -> bool:
    """Whether a checkbox is ticked: as sent when the form comes back with problems, else `default`."""
    if problems and hasattr(problems, "entered"):
        return name in problems.entered
    return default


def kept_choice(problems: Any, name: str, value: Any, current: Any) -> bool:
    """Whether `value` is chosen in a select or checkbox group: as sent after problems, else among `current`."""
    chosen = problems.entered.get(name, []) if problems and hasattr(problems, "entered") else current
    if chosen is None:
        return False
    if isinstance(chosen, str | int):
        chosen = [chosen]
    return str(value) in {str(c) for c in chosen}


def invalid(problems: Any, name: str) -> Markup:
    """The attributes that mark an input whose value was refused, pointing at the sentence saying why."""
    if problems and hasattr(problems, "of") and problems.of(name):
        return Markup(' aria-invalid="true" aria-describedby="err-%s"') % name
    return Markup("")


def said(problem: Any) -> str:
    """A form problem as a sentence in the page's language: plain text, escaped by the template (a
    domain's detail may quote what someone typed)."""
    message = getattr(problem, "message", None)
    if message is None:
        return i18n.gettext_(str(problem))
    params = dict(getattr(problem, "params", {}) or {})
    translated = i18n.gettext_(message)
    try:
        return translated % params if params else translated
    except (KeyError, ValueError, TypeError):
        return message


# Fields whose date without a time means "to the end of that day" (forms.local_datetime(end_of_day=True)).
END_FIELDS = frozenset({"ends_at", "valid_until", "closes_at"})


def local_parts(value: datetime | date | str | None, timezone: str, *, end: bool = False) -> tuple[str, str]:
    """An aware moment as the (date, time) a date picker shows in the program's time zone. For an end
    (`end`), local midnight shows as the day before with no time: that is how it was chosen, and saving
    the form unchanged gives the same moment back. Seconds show only when the moment has some."""
    if value is None or value == "":
        return "", ""
    if isinstance(value, str):
        return value, ""
    if not isinstance(value, datetime):
        return value.isoformat(), ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    local = value.astimezone(ZoneInfo(timezone))
    if end and (local.hour, local.minute, local.second, local.microsecond) == (0, 0, 0, 0):
        return (local.date() - timedelta(days=1)).isoformat(), ""
    return local.date().isoformat(), local.strftime("%H:%M:%S" if local.second else "%H:%M")


TEMPLATES.globals.update(
    END_FIELDS=END_FIELDS, said=said, invalid=invalid, kept=kept, kept_checked=kept_checked, kept_choice=kept_choice, local_parts=local_parts,
)
TEMPLATES.filters["json_script"] = _json_script
TEMPLATES.filters["major"] = lambda minor, currency: to_major(int(minor), currency)


class Redirect(Exception):
    """Raised by a page's dependency to send the browser elsewhere (to sign in)."""

    def __init__(self, url: str) -> None:
        self.url = url


class CsrfRefused(WafaError):
    status = 403
    slug = "csrf-refused"
    title = "Request refused"


def secure_cookies(request: Request) -> bool:
    setting = get_settings().cookie_secure.lower()
    if setting in ("1", "true", "yes"):
        return True
    if setting in ("0", "false", "no"):
        return False
    return get_settings().public_url.startswith("https://") or request.url.scheme == "https"


def set_cookie(response: Response, request: Request, name: str, value: str, *, path: str, max_age: int | None = None) -> None:
    response.set_cookie(
        name, value, path=path, max_age=max_age, httponly=True, samesite="lax", secure=secure_cookies(request),
    )


def language_of(request: Request, preferred: str | None = None) -> str:
    return i18n.pick_language(request.query_params.get("lang"), request.cookies.get(LANG_COOKIE), preferred)


def pre_auth_token(request: Request) -> str:
    """The CSRF token of a form shown before sign-in (double-submit: the same value in a cookie)."""
    return request.cookies.get(CSRF_COOKIE) or request.state.__dict__.setdefault("new_csrf", secrets.token_urlsafe(32))


def check_origin(request: Request) -> None:
    """Refuse a form posted from another site (the browser names the page's origin)."""
    origin = request.headers.get("origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.headers.get("host", request.url.netloc):
        raise CsrfRefused("this form was sent from another site")


def check_csrf(request: Request, sent: str | None, expected: str | None) -> None:
    from wafa.web.sessions import same

    check_origin(request)
    header = request.headers.get("x-csrf-token")
    if not (same(sent, expected) or same(header, expected)):
        raise CsrfRefused("the form has expired or did not come from this site: reload the page and try again")


def render(
    request: Request, template: str, *, lang: Lang, status: int = 200, headers: dict[str, str] | None = None, **context: Any,
) -> HTMLResponse:
    """A page in the request's language."""
    i18n.use(lang)
    for name in ("flash", "me", "tab", "section"):
        context.setdefault(name, None)
    body = TEMPLATES.get_template(template).render(request=request, L=lang, **context)
    response = HTMLResponse(body, status_code=status, headers=headers)
    protect(response)
    new_csrf = request.state.__dict__.get("new_csrf")
    if new_csrf:
        set_cookie(response, request, CSRF_COOKIE, new_csrf, path="/")
    if request.query_params.get("lang") in i18n.LANGUAGES:
        set_cookie(response, request, LANG_COOKIE, request.query_params["lang"], path="/", max_age=365 * 86400)
    return response


def protect(response: Response) -> None:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers.setdefault("Cache-Control", "no-store")


def redirect(url: str, *, htmx: bool = False) -> Response:
    """See Other after a form post; htmx requests get HX-Redirect so the whole page moves."""
    if htmx:
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def is_web(request: Request) -> bool:
    path = request.url.path
    return path == "/admin" or path.startswith(("/admin/", "/m/"))


def install_error_pages(app: FastAPI) -> None:
    """Console and portal paths answer errors with a page in the visitor's language; the API keeps its
    problem bodies."""
    # Every failure the API answers with a problem (the database's too, and the unexpected: status 500).
    originals: dict[type, Callable[..., Any]] = {kind: handler for kind, handler in app.exception_handlers.items() if isinstance(kind, type)}

    def wrap(kind: type) -> Callable[..., Any]:
        original = originals[kind]

        async def handler(request: Request, exc: Exception) -> Response:
            # The API's handler decides the status (and logs what it logs), for pages too.
            answer = await original(request, exc)
            if not is_web(request):
                return answer
            status = answer.status_code
            lang = Lang(language_of(request))
            # Plain text, escaped by the template (a detail may quote what someone typed). A detail the catalog
            # does not have (English naming an id) is left out of other languages' pages: the title says enough.
            detail = None
            if isinstance(exc, WafaError):
                said = lang.gettext(exc.detail)
                detail = said if said != exc.detail or lang.code == "en" else None
            kept = {name: value for name, value in answer.headers.items() if name.lower() in ("retry-after", "allow")}
            return render(request, "error.html", lang=lang, status=status, status_code=status, detail=detail, headers=kept)

        return handler

    for kind in originals:
        app.add_exception_handler(kind, wrap(kind))

    @app.exception_handler(Redirect)
    async def _redirect(request: Request, exc: Redirect) -> Response:
        return redirect(exc.url, htmx=request.headers.get("hx-request") == "true")
