"""One place that turns every failure into an RFC 9457 problem body."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

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
    422: {"model": Problem, "description": "invalid input, naming the field"},
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


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(part) for part in loc if part not in ("body",)]
    # Discriminated unions add the tag to the path ("purchase.amount"); the client wrote "amount".
    if parts and parts[0] in ("purchase", "return"):
        parts = parts[1:]
    out = ""
    for part in parts:
        out += f"[{part}]" if part.isdigit() else (f".{part}" if out else part)
    return out or "body"


def install(app: FastAPI) -> None:
    """Register the handlers on an app."""

    @app.exception_handler(WafaError)
    async def _wafa(_request: Request, exc: WafaError) -> JSONResponse:
        return JSONResponse(exc.problem(), status_code=exc.status, media_type=PROBLEM)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": _field(tuple(err.get("loc", ()))), "reason": err.get("msg", "invalid")} for err in exc.errors()]
        detail = "; ".join(f"{e['field']}: {e['reason']}" for e in errors[:5])
        return problem_response(422, "invalid-input", "Invalid input", detail, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {400: "Malformed request", 404: "Not found", 405: "Method not allowed"}
        slug = {400: "malformed-request", 404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
        return problem_response(exc.status_code, slug, titles.get(exc.status_code, "HTTP error"), str(exc.detail))

    @app.exception_handler(IntegrityError)
    async def _integrity(_request: Request, exc: IntegrityError) -> JSONResponse:
        # A race lost against a concurrent request that wrote the same unique thing first.
        log.info("integrity conflict: %s", exc.orig)
        return problem_response(409, "conflict", "Conflict", "a concurrent request changed the same data; retry")

    @app.exception_handler(OperationalError)
    async def _operational(_request: Request, exc: OperationalError) -> JSONResponse:
        log.warning("database unavailable or busy: %s", exc.orig)
        return problem_response(503, "database-busy", "Service unavailable", "the database is busy or unreachable; retry")

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return problem_response(500, "internal-error", "Internal error", "an unexpected error occurred; it has been logged")
