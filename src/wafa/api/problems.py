"""One place that turns every failure into an RFC 9457 problem body."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import DataError, IntegrityError, OperationalError, StatementError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from wafa.errors import WafaError

log = logging.getLogger("wafa.api")
PROBLEM = "application/problem+json"


class ProblemField(BaseModel):
    field: str
    reason: str


class Problem(BaseModel):
    """RFC 9457 problem details, with the fields at fault for input errors."""

    model_config = ConfigDict(extra="allow")
    type: str
    title: str
    status: int
    detail: str
    errors: list[ProblemField] | None = None


# Every API route may answer with these; the OpenAPI document says so (as application/problem+json).
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "the body is not JSON"},
    401: {"model": Problem, "description": "no valid API key"},
    403: {"model": Problem, "description": "the API key lacks the scope"},
    404: {"model": Problem, "description": "no such thing for this tenant"},
    409: {"model": Problem, "description": "conflicts with the current state or an earlier request"},
    413: {"model": Problem, "description": "the body is larger than the server takes (WAFA_MAX_BODY_BYTES)"},
    422: {"model": Problem, "description": "invalid input, naming the field"},
    429: {"model": Problem, "description": "this API key reached its rate limit for the route's class; retry after Retry-After seconds",
          "headers": {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}},
                      "RateLimit": {"description": "requests left and seconds until the window has room", "schema": {"type": "string"}},
                      "RateLimit-Policy": {"description": "the limit and its window", "schema": {"type": "string"}}}},
    503: {"model": Problem, "description": "the database is busy or unreachable; retry"},
}


def document(app: FastAPI) -> None:
    """Make the app's OpenAPI document give error bodies as application/problem+json."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                for code, response in operation.get("responses", {}).items():
                    content = response.get("content", {})
                    if code[:1] in "45" and "application/json" in content:
                        response["content"] = {PROBLEM: content["application/json"]}
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def problem_response(status: int, slug: str, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": f"/problems/{slug}", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def _field(loc: tuple[Any, ...], prefix: tuple[Any, ...] = (), body: Any = None) -> str:
    raw = [part for part in loc if part != "body"]
    # Discriminated unions add the tag to the path ("purchase.amount", "gives.coupon.discount"); the
    # client wrote "amount" and "gives.discount". A step that names the `type` of the object it is in,
    # and no key of it, is such a tag.
    kept: list[Any] = []
    node = body
    for part in raw:
        if isinstance(node, dict) and isinstance(part, str) and part not in node and node.get("type") == part:
            continue
        kept.append(part)
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            node = None
    parts = [str(part) for part in kept]
    if parts and parts[0] in ("purchase", "return", "custom"):  # events: a callable discriminator's tag
        parts = parts[1:]
    parts = [str(part) for part in prefix] + parts
    out = ""
    for part in parts:
        out += f"[{part}]" if part.isdigit() else (f".{part}" if out else part)
    return out or "body"


def _loc(err: dict[str, Any]) -> tuple[Any, ...]:
    loc = tuple(err.get("loc", ()))
    if err.get("type") in ("union_tag_invalid", "union_tag_not_found"):
        # A missing or unknown tag is the discriminator's fault ("type"), not the whole body's.
        name = str(err.get("ctx", {}).get("discriminator", "")).strip("'")
        # A callable discriminator (events: purchase, return or custom) reads the "type" field.
        loc += ("type" if name.endswith("()") else name,)
    return loc


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app answers on the request's path."""
    allowed = []
    for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"):
        # A fresh scope per probe, so matching neither sees nor leaves the failed dispatch's state.
        probe = {**request.scope, "method": method, "fastapi": {}}
        if any(route.matches(probe)[0] is Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return allowed


def invalid_input(errors: Sequence[Any], prefix: tuple[Any, ...] = (), body: Any = None) -> dict[str, Any]:
    """The 422 problem body for Pydantic validation errors, naming each field as the client wrote it."""
    listed = [{"field": _field(_loc(err), prefix, body), "reason": err.get("msg", "invalid")} for err in errors]
    detail = "; ".join(f"{e['field']}: {e['reason']}" for e in listed[:5])
    return {"type": "/problems/invalid-input", "title": "Invalid input", "status": 422, "detail": detail, "errors": listed}


_DATA_ERROR = "a value cannot be stored: text with a NUL character, or a number out of range"


def problem_of(exc: Exception) -> dict[str, Any] | None:
    """The problem body the handlers below would answer for an expected error (None: unexpected)."""
    if isinstance(exc, WafaError):
        return exc.problem()
    if isinstance(exc, IntegrityError):
        return {"type": "/problems/conflict", "title": "Conflict", "status": 409,
                "detail": "a concurrent request changed the same data; retry"}
    if isinstance(exc, DataError):
        return {"type": "/problems/invalid-input", "title": "Invalid input", "status": 422, "detail": _DATA_ERROR}
    if isinstance(exc, OperationalError):
        return {"type": "/problems/database-busy", "title": "Service unavailable", "status": 503,
                "detail": "the database is busy or unreachable; retry"}
    return None


def install(app: FastAPI) -> None:
    """Register the handlers on an app."""

    @app.exception_handler(WafaError)
    async def _wafa(_request: Request, exc: WafaError) -> JSONResponse:
        retry = exc.extra.get("retry_after")
        headers = {"Retry-After": str(retry)} if isinstance(retry, int) else None
        return JSONResponse(exc.problem(), status_code=exc.status, media_type=PROBLEM, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        if any(err.get("type") == "json_invalid" for err in exc.errors()):
            # Not JSON at all: no field is at fault (the OpenAPI document promises a 400 here).
            return problem_response(
                400, "malformed-request", "Malformed request", "the request body is not valid JSON",
                errors=[{"field": "body", "reason": "JSON decode error"}],
            )
        body = invalid_input(exc.errors(), body=exc.body)
        return JSONResponse(body, status_code=422, media_type=PROBLEM)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {400: "Malformed request", 404: "Not found", 405: "Method not allowed", 413: "Request body too large"}
        slug = {400: "malformed-request", 404: "not-found", 405: "method-not-allowed", 413: "body-too-large"}.get(exc.status_code, "http-error")
        response = problem_response(exc.status_code, slug, titles.get(exc.status_code, "HTTP error"), str(exc.detail))
        response.headers.update(exc.headers or {})
        if exc.status_code == 405:
            # RFC 9110: a 405 lists every method of the resource; Starlette names only the first route's.
            response.headers["Allow"] = ", ".join(_allowed_methods(request))
        return response

    @app.exception_handler(IntegrityError)
    async def _integrity(_request: Request, exc: IntegrityError) -> JSONResponse:
        # A race lost against a concurrent request that wrote the same unique thing first.
        log.info("integrity conflict: %s", exc.orig)
        return problem_response(409, "conflict", "Conflict", "a concurrent request changed the same data; retry")

    @app.exception_handler(DataError)
    async def _data(_request: Request, exc: DataError) -> JSONResponse:
        # PostgreSQL refuses what no field check caught, e.g. a NUL character in a text; nothing was written.
        log.info("value refused by the database: %s", exc.orig)
        return problem_response(422, "invalid-input", "Invalid input", _DATA_ERROR)

    @app.exception_handler(StatementError)
    async def _statement(_request: Request, exc: StatementError) -> JSONResponse:
        # A value that cannot be bound at all (a date beyond year 9999 once in UTC): the client's, not ours.
        if isinstance(exc.orig, OverflowError):
            return problem_response(422, "invalid-input", "Invalid input", "a date or number is out of range")
        log.exception("unexpected database error", exc_info=exc)
        return problem_response(500, "internal-error", "Internal error", "an unexpected error occurred; it has been logged")

    @app.exception_handler(OperationalError)
    async def _operational(_request: Request, exc: OperationalError) -> JSONResponse:
        log.warning("database unavailable or busy: %s", exc.orig)
        return problem_response(503, "database-busy", "Service unavailable", "the database is busy or unreachable; retry")

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return problem_response(500, "internal-error", "Internal error", "an unexpected error occurred; it has been logged")
