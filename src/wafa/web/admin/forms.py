"""Turning HTML form fields into the domains' input shapes, and their validation errors into lines a
person can act on."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from wafa.api.deps import Context
from wafa.errors import WafaError
from wafa.web.pages import check_csrf, redirect

if TYPE_CHECKING:
    from wafa.web.admin.auth import Admin


def text(form: Any, name: str) -> str:
    return str(form.get(name, "") or "").strip()


def optional(form: Any, name: str) -> str | None:
    return text(form, name) or None


def names(form: Any, name: str) -> list[str] | None:
    """A comma-separated list ("a, b, c") as a list, or None when empty."""
    found = [part.strip() for part in text(form, name).replace("،", ",").split(",") if part.strip()]
    return found or None


def integer(form: Any, name: str) -> int | None:
    raw = text(form, name)
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise FormError([f"{name}: not a whole number"]) from None


def checked(form: Any, name: str) -> bool:
    return text(form, name) in ("on", "true", "1", "yes")


class FormError(Exception):
    """A form that cannot become a valid input; `problems` says what to fix, field by field."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def problems_of(exc: ValidationError) -> list[str]:
    out = []
    for err in exc.errors()[:10]:
        where = ".".join(str(p) for p in err.get("loc", ()) if not str(p).startswith("function-"))
        out.append(f"{where}: {err.get('msg', 'invalid')}" if where else str(err.get("msg", "invalid")))
    return out


def prune(value: Any) -> Any:
    """Drop empty fields from nested dicts (an untouched form field means "not set")."""
    if isinstance(value, dict):
        return {k: prune(v) for k, v in value.items() if v not in (None, "", [], {})}
    return value


def valid(model: type[BaseModel], data: dict) -> Any:
    """`data` as the domain's input shape, or FormError naming what to fix."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise FormError(problems_of(exc)) from None


async def apply_change(
    request: Request, admin: Admin, work: Callable[[Any, Any, Context], str], page: Callable[[list[str]], Response],
) -> Response:
    """Run a form's change in one transaction (`work` audits it and returns where to go next); on bad
    input, or for a read-only role, show the page again with what to fix."""
    form = await request.form()
    check_csrf(request, str(form.get("csrf", "")), admin.csrf)

    def run() -> Response:
        ctx = Context(request)
        try:
            if not admin.can_change:
                raise FormError(["your role lets you read the console, not change it"])
            with ctx.transaction() as session:
                target = work(session, form, ctx)
            return redirect(target)
        except (FormError, WafaError) as exc:
            return page(exc.problems if isinstance(exc, FormError) else [exc.detail])

    return await run_in_threadpool(run)
