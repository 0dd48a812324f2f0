"""Webhooks in the console: the endpoints with their health, adding one (its secret shown once), and an
endpoint's page with its recent deliveries and what can be done: send a test message, deliver a message
again, rotate the secret, turn it off or on, remove it (as /v1/webhook-endpoints does)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from wafa.api.deps import Context, IdPath
from wafa.notify import webhooks
from wafa.outbox import catalog
from wafa.web.admin.auth import PATH, Admin, current_admin
from wafa.web.admin.forms import FormError, Problem, Problems, apply_change, names, text
from wafa.web.messages import N_
from wafa.web.pages import render

router = APIRouter(prefix=PATH, include_in_schema=False)

RECENT = 50  # deliveries an endpoint's page lists


def _list_page(request: Request, admin: Admin, *, secret: str | None = None, problems: Problems | None = None,
               done: str | None = None) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        endpoints = webhooks.list_(session, tenant_id=admin.tenant_id)
        health = webhooks.health(session, tenant_id=admin.tenant_id, endpoint_ids=[e.id for e in endpoints], since=ctx.now() - timedelta(hours=24))
    return render(request, "admin/webhooks.html", lang=admin.lang, me=admin, section="webhooks", endpoints=endpoints, health=health,
                  types=list(catalog.TYPES), secret=secret, problems=problems, outcome=done, status=422 if problems else 200)


def _endpoint_page(request: Request, admin: Admin, endpoint_id: int, *, secret: str | None = None, problems: Problems | None = None,
                   done: str | None = None) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        endpoint = webhooks.get_or_raise(session, tenant_id=admin.tenant_id, endpoint_id=endpoint_id)
        health = webhooks.health(session, tenant_id=admin.tenant_id, endpoint_ids=[endpoint_id], since=ctx.now() - timedelta(hours=24))
        recent = webhooks.deliveries(session, tenant_id=admin.tenant_id, endpoint_id=endpoint_id, limit=RECENT)
        session.expunge_all()
    return render(request, "admin/webhook.html", lang=admin.lang, me=admin, section="webhooks", endpoint=endpoint,
                  health=health[endpoint_id], deliveries=recent, secret=secret, problems=problems, outcome=done,
                  status=422 if problems else 200)


@router.get("/webhooks")
def webhooks_page(request: Request, done: str | None = None, admin: Admin = Depends(current_admin)) -> Response:
    return _list_page(request, admin, done="deleted" if done == "deleted" else None)


@router.post("/webhooks")
async def add_endpoint(request: Request, admin: Admin = Depends(current_admin)) -> Response:
    """The secret is shown on this one answer and never again."""
    made: dict[str, Any] = {}

    def work(session: Any, form: Any, ctx: Context) -> str:
        url = text(form, "url")
        if not url:
            raise FormError(fields={"url": Problem(N_("Enter the address Wafa should send messages to."))})
        chosen = names(form, "types")
        if chosen and any(t not in catalog.TYPES for t in chosen):
            raise FormError(fields={"types": Problem(N_("Choose one of the options."))})
        endpoint = webhooks.create(
            session, tenant_id=admin.tenant_id, url=url[:2048], event_types=chosen or None, description=text(form, "description")[:500] or None,
            enabled=True, now=ctx.now(),
        )
        admin.record(session, request, action="webhook.created", target=f"webhook:{endpoint.id}",
                     details={"url": endpoint.url, "event_types": endpoint.event_types}, now=ctx.now())
        made["id"], made["secret"] = endpoint.id, endpoint.secret
        return f"{PATH}/webhooks/{endpoint.id}"

    answer = await apply_change(request, admin, work, lambda problems: _list_page(request, admin, problems=problems))
    return _endpoint_page(request, admin, made["id"], secret=made["secret"], done="created") if "secret" in made else answer


@router.get("/webhooks/{endpoint_id}")
def endpoint_page(request: Request, endpoint_id: IdPath, done: str | None = None, admin: Admin = Depends(current_admin)) -> Response:
    shown = done if done in ("tested", "replayed", "enabled", "disabled") else None
    return _endpoint_page(request, admin, endpoint_id, done=shown)


def _action(request: Request, admin: Admin, endpoint_id: int, work: Any) -> Any:
    return apply_change(request, admin, work, lambda problems: _endpoint_page(request, admin, endpoint_id, problems=problems))


@router.post("/webhooks/{endpoint_id}/test")
async def send_test(request: Request, endpoint_id: IdPath, admin: Admin = Depends(current_admin)) -> Response:
    def work(session: Any, form: Any, ctx: Context) -> str:
        message_id = webhooks.send_test(session, tenant_id=admin.tenant_id, endpoint_id=endpoint_id, now=ctx.now())
        admin.record(session, request, action="webhook.tested", target=f"webhook:{endpoint_id}", details={"message_id": message_id},
                     now=ctx.now())
        return f"{PATH}/webhooks/{endpoint_id}?done=tested"

    return await _action(request, admin, endpoint_id, work)


@router.post("/webhooks/{endpoint_id}/replay")
async def replay(request: Request, endpoint_id: IdPath, admin: Admin = Depends(current_admin)) -> Response:
    def work(session: Any, form: Any, ctx: Context) -> str:
        message_id = text(form, "message_id")[:40]
        if not message_id.startswith("msg_"):
            raise FormError([N_("Choose a delivery to send again.")])
        webhooks.replay(session, tenant_id=admin.tenant_id, endpoint_id=endpoint_id, now=ctx.now(), message_id=message_id)
        admin.record(session, request, action="webhook.replayed", target=f"webhook:{endpoint_id}", details={"message_id": message_id},
                     now=ctx.now())
        return f"{PATH}/webhooks/{endpoint_id}?done=replayed"

    return await _action(request, admin, endpoint_id, work)


@router.post("/webhooks/{endpoint_id}/enabled")
async def set_enabled(request: Request, endpoint_id: IdPath, admin: Admin = Depends(current_admin)) -> Response:
    def work(session: Any, form: Any, ctx: Context) -> str:
        on = text(form, "enabled") == "true"
        webhooks.update_endpoint(session, tenant_id=admin.tenant_id, endpoint_id=endpoint_id, changes={"enabled": on}, now=ctx.now())
        admin.record(session, request, action="webhook.enabled" if on else "webhook.disabled", target=f"webhook:{endpoint_id}", now=ctx.now())
        return f"{PATH}/webhooks/{endpoint_id}?done={'enabled' if on else 'disabled'}"

    return await _action(request, admin, endpoint_id, work)


@router.post("/webhooks/{endpoint_id}/rotate")
async def rotate(request: Request, endpoint_id: IdPath, admin: Admin = Depends(current_admin)) -> Response:
    made: dict[str, str] = {}

    def work(session: Any, form: Any, ctx: Context) -> str:
        endpoint = webhooks.rotate_secret(session, tenant_id=admin.tenant_id, endpoint_id=endpoint_id, now=ctx.now())
        admin.record(session, request, action="webhook.secret_rotated", target=f"webhook:{endpoint_id}", now=ctx.now())
        made["secret"] = endpoint.secret
        return f"{PATH}/webhooks/{endpoint_id}"

    answer = await _action(request, admin, endpoint_id, work)
    return _endpoint_page(request, admin, endpoint_id, secret=made["secret"], done="rotated") if "secret" in made else answer


@router.post("/webhooks/{endpoint_id}/delete")
async def delete(request: Request, endpoint_id: IdPath, admin: Admin = Depends(current_admin)) -> Response:
    def work(session: Any, form: Any, ctx: Context) -> str:
        endpoint = webhooks.get_or_raise(session, tenant_id=admin.tenant_id, endpoint_id=endpoint_id)
        admin.record(session, request, action="webhook.deleted", target=f"webhook:{endpoint_id}", details={"url": endpoint.url}, now=ctx.now())
        webhooks.delete_endpoint(session, tenant_id=admin.tenant_id, endpoint_id=endpoint_id)
        return f"{PATH}/webhooks?done=deleted"

    return await _action(request, admin, endpoint_id, work)
