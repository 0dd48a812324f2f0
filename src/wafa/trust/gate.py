"""The gate every HTTP request passes before the app reads its body: a body larger than its cap gets a
413 (from Content-Length before a byte is read, or as soon as a chunked body passes the cap); an API
request that carries a body but no valid key gets its 401 before the body is read; a valid key's
request is counted against its tenant's rate limit for the route's class and refused with a 429
once the limit is reached. Answers carry RateLimit headers, and HSTS over https."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from functools import lru_cache
from typing import Any

import orjson
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wafa.api.deps import principal_of
from wafa.config import Settings
from wafa.errors import WafaError
from wafa.tenants.service import Principal
from wafa.trust.throttle import Rule, Throttle, Verdict

PROBLEM = "application/problem+json"
# Route classes a tenant's limits name (PUT /v1/tenant/rate-limits); every API request is in one.
CLASSES = ("events", "redemptions", "writes", "reads")
# What spends points or money, or holds them: counted apart from other writes.
_REDEMPTIONS = re.compile(
    r"^/v1/(members/[^/]+/(redemptions|holds|wallet/debits|reward-redemptions)|holds/[^/]+/(capture|void)"
    r"|reward-redemptions/[^/]+/(cancel|use)|coupons/[^/]+:redeem|partners/[^/]+/exchanges)$"
)
_EVENTS = re.compile(r"^/v1/events(:batch)?$")
_WITH_BODY = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Bodies that may be larger than the API's cap: the console's CSV import.
IMPORT_PATHS = frozenset({"/admin/imports"})
HSTS = "max-age=31536000; includeSubDomains"


def route_class(method: str, path: str) -> str:
    """The class of an API request for rate limits: events, redemptions, other writes, reads."""
    if method in ("GET", "HEAD", "OPTIONS"):
        return "reads"
    if _EVENTS.match(path):
        return "events"
    if _REDEMPTIONS.match(path):
        return "redemptions"
    return "writes"


@lru_cache(maxsize=1024)
def rule_of(name: str, text: str) -> Rule:
    """A parsed rule (parsing is kept: the same few texts come with every request)."""
    return Rule.of(name, text)


def default_limits(settings: Settings) -> dict[str, str]:
    """The limits of a tenant that set none of its own, by route class."""
    return {"events": settings.rate_events, "redemptions": settings.rate_redemptions, "writes": settings.rate_writes,
            "reads": settings.rate_reads}


def check_limits(limits: Mapping[str, Any]) -> dict[str, str]:
    """A tenant's own limits, checked (ValueError naming the class at fault); unknown classes refused."""
    out: dict[str, str] = {}
    for name, text in limits.items():
        if name not in CLASSES:
            raise ValueError(f"{name}: not a class of routes (one of {', '.join(CLASSES)})")
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"{name}: write limits as text, like \"600/minute\" or \"100/second;5000/hour\"")
        try:
            items = Rule.of(name, text).items
        except ValueError:
            raise ValueError(f"{name}: {text!r} is not a limit: write \"600/minute\" or \"100/second;5000/hour\"") from None
        if not items or any(item.amount < 1 for item in items):
            raise ValueError(f"{name}: a limit allows at least one request")
        out[name] = ";".join(
            f"{item.amount}/{item.GRANULARITY.name}" if item.multiples == 1 else f"{item.amount}/{item.multiples} {item.GRANULARITY.name}s"
            for item in items
        )
    return out


class Gate:
    """Pure ASGI middleware (see the module's docstring)."""

    def __init__(self, app: ASGIApp, *, settings: Settings, throttle: Throttle) -> None:
        self.app = app
        self.settings = settings
        self.throttle = throttle
        self.defaults = default_limits(settings)
        self.https = settings.public_url.startswith("https://")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        method: str = scope["method"]
        headers = _headers(scope)
        extra: list[tuple[bytes, bytes]] = []
        if self.https or scope.get("scheme") == "https":
            extra.append((b"strict-transport-security", HSTS.encode()))
        cap = self.settings.max_import_bytes if path in IMPORT_PATHS else self.settings.max_body_bytes
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > cap):
            await _problem(send, 413, "body-too-large", "Request body too large", f"the body is larger than {cap} bytes",
                           extra, limit=cap)
            return
        if path.startswith("/v1/"):
            refused = await self._api(scope, method, path, headers, extra)
            if refused is not None:
                await refused(send)
                return
        await self.app(scope, _capped(receive, cap), _with_headers(send, extra))

    async def _api(
        self, scope: Scope, method: str, path: str, headers: dict[bytes, bytes], extra: list[tuple[bytes, bytes]],
    ) -> Callable[[Send], Awaitable[None]] | None:
        """Authenticate and count an API request; the answer that refuses it, or None to go on."""
        secret = _bearer(headers)
        if secret is None:
            if method in _WITH_BODY:
                return _refusal(401, "unauthorized", "Unauthorized", "send an API key as `Authorization: Bearer <key>`", extra)
            return None  # the route answers: a public page, or its own 401
        try:
            principal = await principal_of(scope["app"], secret)
        except WafaError as exc:
            return _refusal(exc.status, exc.slug, exc.title, exc.detail, extra)
        scope.setdefault("state", {})["wafa_principal"] = (secret, principal)
        verdict = await self.count(principal, route_class(method, path))
        extra.extend((name.lower().encode(), value.encode()) for name, value in verdict.headers().items())
        if not verdict.allowed:
            return _refusal(
                429, "rate-limited", "Too many requests",
                f"this API key made {verdict.limit} {verdict.rule} requests in {verdict.window} s; retry in {verdict.reset} s",
                extra, limit=verdict.limit, window=verdict.window, retry_after=verdict.reset,
            )
        return None

    async def count(self, principal: Principal, name: str) -> Verdict:
        """Count one request of class `name` by this key against its tenant's limit for the class."""
        own = principal.rate_limits or {}
        rule = rule_of(name, own.get(name) or self.defaults[name])
        return await self.throttle.hit(rule, "key", str(principal.key_id))


def _headers(scope: Scope) -> dict[bytes, bytes]:
    return {name.lower(): value for name, value in scope.get("headers", ())}


def _bearer(headers: dict[bytes, bytes]) -> str | None:
    value = headers.get(b"authorization", b"").decode("latin-1").strip()
    scheme, _, token = value.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


class BodyTooLarge(HTTPException):
    """A body read past its cap (chunked, or longer than its Content-Length said): the app's problem
    handler answers 413. An HTTPException so that FastAPI's body parsing passes it on unchanged."""

    def __init__(self, cap: int) -> None:
        super().__init__(413, f"the body is larger than {cap} bytes")


def _capped(receive: Receive, cap: int) -> Receive:
    seen = 0

    async def wrapped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > cap:
                raise BodyTooLarge(cap)
        return message

    return wrapped


def _with_headers(send: Send, extra: list[tuple[bytes, bytes]]) -> Send:
    if not extra:
        return send

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", ()), *extra]}
        await send(message)

    return wrapped


def _refusal(status: int, slug: str, title: str, detail: str, extra: list[tuple[bytes, bytes]], **more: Any) -> Callable[[Send], Awaitable[None]]:
    async def answer(send: Send) -> None:
        await _problem(send, status, slug, title, detail, extra, **more)

    return answer


async def _problem(send: Send, status: int, slug: str, title: str, detail: str, extra: list[tuple[bytes, bytes]], **more: Any) -> None:
    body = orjson.dumps({"type": f"/problems/{slug}", "title": title, "status": status, "detail": detail, **more})
    headers = [(b"content-type", PROBLEM.encode()), (b"content-length", str(len(body)).encode()), *extra]
    if status == 413:
        headers.append((b"connection", b"close"))  # the rest of the body is not read
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
