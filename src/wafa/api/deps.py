"""Request dependencies: the caller's principal, a unit of work, the clock, idempotent execution."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import Annotated, Any

import orjson
from fastapi import Depends, Path, Request
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from wafa.db import autocommit_session, unit_of_work
from wafa.errors import Forbidden, InvalidInput, Unauthorized, WafaError
from wafa.events import idempotency
from wafa.inputs import DigitsOnly
from wafa.tenants import service as tenants
from wafa.tenants.service import Principal

# Ids are 64-bit: anything larger cannot name a row, and must not reach the database driver.
MAX_ID = 2**63 - 1
# Written with ASCII digits only: lax pydantic would read /members/+12, /members/1_2 and /members/12.0 as member 12.
IdPath = Annotated[int, Path(ge=1, le=MAX_ID), DigitsOnly]

bearer = HTTPBearer(auto_error=False, description="an API key: `Authorization: Bearer wafa_...`")


async def authenticate(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Principal:
    if credentials is None or not credentials.credentials:
        raise Unauthorized("send an API key as `Authorization: Bearer <key>`")
    secret = credentials.credentials
    # The gate (wafa.trust.gate) authenticated the key already, before reading the body.
    checked = request.scope.get("state", {}).get("wafa_principal")
    if checked is not None and checked[0] == secret:
        return checked[1]
    return await principal_of(request.app, secret)


async def principal_of(app: Any, secret: str) -> Principal:
    """The principal of an API key (Unauthorized if none). Async on purpose: a sync dependency costs a
    thread hop per request; the key is nearly always in the process cache, and only a miss goes to the
    database (in a worker thread)."""
    cached = tenants.cached_principal(secret)
    if cached is not None:
        return cached
    factory = app.state.session_factory

    def lookup() -> Principal:
        with factory() as session:
            return tenants.authenticate(session, secret=secret)

    return await run_in_threadpool(lookup)


# The routes a coalition partner's key may call: its tills' and shop's (enrol, purchases and returns,
# redemptions, holds, wallet payments, rewards, exchanges of its own points) and its own statements.
# Every other route refuses it, so a route added later is closed to partners until it is listed here.
PARTNER_ROUTES = frozenset({
    ("POST", "/v1/members"),
    ("GET", "/v1/cards/{token}"),
    ("GET", "/v1/members/{member_id}/balance"),
    ("POST", "/v1/events"),
    ("POST", "/v1/members/{member_id}/redemptions"),
    ("POST", "/v1/members/{member_id}/holds"),
    ("POST", "/v1/holds/{hold_id}/capture"),
    ("POST", "/v1/holds/{hold_id}/void"),
    ("POST", "/v1/members/{member_id}/wallet/debits"),
    ("POST", "/v1/members/{member_id}/reward-redemptions"),
    ("GET", "/v1/partners/{partner_id}"),
    ("GET", "/v1/partners/{partner_id}/statements"),
    ("GET", "/v1/statements/{statement_id}"),
    ("GET", "/v1/statements/{statement_id}.csv"),
    ("GET", "/v1/statements/{statement_id}.pdf"),
    ("POST", "/v1/partners/{partner_id}/exchanges"),
})


def require(scope: str, *, partners_read: bool = False) -> Callable[..., Any]:
    """A dependency that admits keys holding `scope` (or `admin`); a coalition partner's key only on
    PARTNER_ROUTES (and, with `partners_read`, without the scope: the route shows a partner its own part)."""

    async def check(request: Request, principal: Principal = Depends(authenticate)) -> Principal:
        if principal.partner_id is not None:
            route = request.scope.get("route")
            if (request.method, getattr(route, "path", None)) not in PARTNER_ROUTES:
                raise Forbidden("a partner's API key cannot use this route")
            if partners_read:
                return principal
        if not principal.allows(scope):
            raise Forbidden(f"this API key lacks the {scope!r} scope")
        return principal

    check.__name__ = f"require_{scope.replace(':', '_')}"
    return check


class Context:
    """What a route needs: the unit of work factory and the clock."""

    def __init__(self, request: Request) -> None:
        self.factory = request.app.state.session_factory
        self.clock = request.app.state.clock
        self.is_postgres = self.factory.kw["bind"].dialect.name == "postgresql"

    def now(self):
        return self.clock.now()

    def transaction(self):
        return unit_of_work(self.factory)

    def reading(self):
        """A session for one-statement reads: no BEGIN and COMMIT round trips."""
        return autocommit_session(self.factory) if self.is_postgres else unit_of_work(self.factory)


def scoped_key(principal: Principal, key: str) -> str:
    """An Idempotency-Key as kept: a coalition partner's apart from every other partner's and the operator's
    (partners choose their keys independently: one's key never replays, or blocks, another's request)."""
    if principal.partner_id is None:
        return key
    return f"partner:{principal.partner_id}:" + hashlib.sha256(key.encode()).hexdigest()


def fingerprinted(body_in: BaseModel) -> dict[str, Any]:
    """The body a request's fingerprint is taken of: without `partner` when none is named, so requests
    made before coalitions existed keep their fingerprints (and replay)."""
    body = body_in.model_dump(mode="json")
    if body.get("partner", "") is None:
        del body["partner"]
    return body


def encode_cursor(value: int) -> str:
    return base64.urlsafe_b64encode(orjson.dumps({"id": value})).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = orjson.loads(base64.urlsafe_b64decode(padded))["id"]
        # `type(...) is int`: JSON true is a Python int too, and would reach SQL as a boolean.
        if type(value) is not int or not 0 < value <= MAX_ID:
            raise ValueError
        return value
    except Exception:  # noqa: BLE001  any failure to decode means a cursor this API did not issue
        raise InvalidInput("cursor is not one this API returned", field="cursor") from None


def paginate(rows: list[Any], limit: int, read: Callable[[Any], Any]) -> tuple[list[Any], str | None]:
    """One page of items (rows were fetched with limit + 1) and the cursor to the next page, if any."""
    items = [read(row) for row in rows[:limit]]
    return items, (encode_cursor(items[-1].id) if len(rows) > limit else None)


def run_idempotent(
    ctx: Context,
    *,
    principal: Principal,
    key: str | None,
    fingerprint: str,
    status_code: int,
    work: Callable[[Session], BaseModel],
    status_for: Callable[[], int] | None = None,
) -> Response:
    """Run `work` in one transaction; with an Idempotency-Key, store its result and replay it for repeats.

    The result is stored in the same transaction as the work, so it exists exactly when the work
    happened. A repeat that races the first one either waits on the first one's locks or loses on
    the unique key; either way it then finds the stored result.
    """
    if key is not None:
        idempotency.check_key(key)
        key = scoped_key(principal, key)
    try:
        with ctx.transaction() as session:
            result = work(session)
            # The status the work decided on (a natural-key replay answers 200), stored as sent.
            status_code = status_for() if status_for is not None else status_code
            content = result.model_dump_json().encode()
            if key is not None and not idempotency.store(
                session, tenant_id=principal.tenant_id, key=key, request_hash_=fingerprint,
                status_code=status_code, response=orjson.loads(content), now=ctx.now(),
            ):
                raise _Replay
        return Response(content, status_code=status_code, media_type="application/json")
    except (_Replay, WafaError, IntegrityError) as exc:
        if key is None:
            raise
        with ctx.factory() as session:
            stored = idempotency.lookup(session, tenant_id=principal.tenant_id, key=key, request_hash_=fingerprint)
        if stored is None:
            if isinstance(exc, _Replay):
                raise RuntimeError("idempotency record vanished") from exc
            raise
        return JSONResponse(stored.response, status_code=stored.status_code, headers={"Idempotent-Replayed": "true"})


class _Replay(Exception):
    """Internal: another request stored a result for this key first."""


