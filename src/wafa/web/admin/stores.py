"""Stores in the console: the list with today's check-ins at each, adding and changing a store (its place,
time zone, opening hours and check-in radius; audited), and a CSV upload (as POST /v1/stores:import)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from wafa.api.deps import Context
from wafa.errors import InvalidInput
from wafa.inputs import latin_digits
from wafa.stores import hours, imports, service
from wafa.stores.models import Store
from wafa.stores.schemas import CODE_PATTERN, StoreCreate, StoreUpdate
from wafa.web.admin.auth import PATH, Admin, current_admin
from wafa.web.admin.forms import READ_ONLY, FormError, Problem, Problems, apply_change, checked, optional, text, valid, whole
from wafa.web.messages import N_
from wafa.web.pages import check_csrf, redirect, render

router = APIRouter(prefix=PATH, include_in_schema=False)

SHOWN = 500
HOURS_HINT = N_("Write the hours like this: mon-fri 08:00-22:00; sat 10:00-14:00, 16:00-23:00; sun closed. 18:00-02:00 runs past midnight.")
# Zones offered as the time zone is typed (any IANA zone with a region is accepted).
ZONES = ("Asia/Riyadh", "Asia/Dubai", "Asia/Qatar", "Asia/Kuwait", "Asia/Bahrain", "Asia/Muscat", "Asia/Amman", "Africa/Cairo",
         "Asia/Beirut", "Asia/Baghdad", "Africa/Casablanca", "Europe/Istanbul", "Europe/London", "Europe/Berlin", "UTC")
StoreCodePath = Path(pattern=CODE_PATTERN)


def _list_page(request: Request, admin: Admin, *, done: str | None = None, problems: Problems | None = None,
               import_errors: list[dict[str, str]] | None = None, status: int = 200) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        found = service.list_(session, tenant_id=admin.tenant_id, limit=SHOWN + 1)
        counts = service.today_counts(session, tenant_id=admin.tenant_id, stores=found[:SHOWN], now=ctx.now())
        rows = [(store, hours.to_text(store.hours), service.is_open(store, ctx.now())) for store in found[:SHOWN]]
    return render(
        request, "admin/stores.html", lang=admin.lang, me=admin, section="stores", rows=rows, counts=counts, more=len(found) > SHOWN,
        outcome=done, problems=problems, import_errors=import_errors, zones=ZONES, hours_hint=HOURS_HINT,
        status=422 if problems or import_errors else status,
    )


def _edit_page(request: Request, admin: Admin, *, code: str, done: str | None = None, problems: Problems | None = None) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        store = service.get_by_code_or_raise(session, tenant_id=admin.tenant_id, code=code)
        counts = service.today_counts(session, tenant_id=admin.tenant_id, stores=[store], now=ctx.now())
        hours_text = hours.to_text(store.hours)
        open_now = service.is_open(store, ctx.now())
    return render(
        request, "admin/stores_edit.html", lang=admin.lang, me=admin, section="stores", store=store, hours_text=hours_text, open_now=open_now,
        today=counts.get(store.id, 0), outcome=done, problems=problems, zones=ZONES, hours_hint=HOURS_HINT, status=422 if problems else 200,
    )


@router.get("/stores")
def stores_page(request: Request, done: str | None = Query(None, max_length=16), admin: Admin = Depends(current_admin)) -> Response:
    return _list_page(request, admin, done=done)


def _number(form: Any, name: str) -> float | None:
    raw = latin_digits(text(form, name)).replace("٫", ".")
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        raise FormError(fields={name: Problem(N_("Enter a number, such as 24.7136."))}) from None


def _fields(form: Any) -> dict[str, Any]:
    """The store's fields as typed (hours read from their one-line form); FormError for what cannot be read."""
    problems: dict[str, Problem] = {}
    data: dict[str, Any] = {"name_en": text(form, "name_en"), "name_ar": optional(form, "name_ar")}
    for name in ("latitude", "longitude"):
        try:
            data[name] = _number(form, name)
        except FormError as exc:
            problems.update(exc.fields)
    zone = text(form, "timezone")
    try:
        data["timezone"] = hours.check_timezone(zone)
    except hours.HoursError:
        problems["timezone"] = Problem(N_("Choose an IANA time zone, such as Asia/Riyadh."))
    try:
        data["hours"] = hours.parse_text(text(form, "hours"))
    except hours.HoursError:
        problems["hours"] = Problem(HOURS_HINT)
    radius = text(form, "radius_m")
    if radius:
        number = whole(radius, most=5000)
        if number is None or number < 10:
            problems["radius_m"] = Problem(N_("Enter a whole number of metres from 10 to 5000."))
        data["radius_m"] = number
    if problems:
        raise FormError(fields=problems)
    return data


@router.post("/stores")
async def add_store(request: Request, admin: Admin = Depends(current_admin)) -> Response:
    def work(session: Any, form: Any, ctx: Context) -> str:
        data = {**_fields(form), "code": text(form, "code")}
        data["radius_m"] = data.get("radius_m") or 150
        store_in: StoreCreate = valid(StoreCreate, data)
        store = service.create(session, tenant_id=admin.tenant_id, store_in=store_in, now=ctx.now())
        admin.record(session, request, action="store.created", target=f"store:{store.code}", details=store_in.model_dump(mode="json"), now=ctx.now())
        return f"{PATH}/stores?done=added"

    return await apply_change(request, admin, work, lambda problems: _list_page(request, admin, problems=problems))


@router.post("/stores/import")
async def import_stores(request: Request, admin: Admin = Depends(current_admin)) -> Response:
    """A CSV file of stores, all or nothing; the bad rows are listed by their line."""
    form = await request.form()
    check_csrf(request, str(form.get("csrf", "")), admin.csrf)
    upload = form.get("file")
    if not admin.can_change:
        return _list_page(request, admin, problems=Problems(general=[Problem(READ_ONLY)]))
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _list_page(request, admin, problems=Problems(fields={"file": Problem(N_("Choose a CSV file."))}))
    raw = await upload.read()

    def run() -> Response:
        try:
            content = raw.decode("utf-8")
        except UnicodeDecodeError:
            return _list_page(request, admin, problems=Problems(fields={"file": Problem(N_("The file is not UTF-8 text: save it as CSV UTF-8."))}))
        ctx = Context(request)
        try:
            with ctx.transaction() as session:
                result = imports.import_csv(session, tenant_id=admin.tenant_id, text=content, now=ctx.now())
                admin.record(session, request, action="stores.imported", details={"created": result.created, "updated": result.updated,
                                                                                 "codes": result.codes[:200], "file": upload.filename}, now=ctx.now())
        except InvalidInput as exc:
            rows = exc.extra.get("errors") or [{"field": exc.field or "file", "reason": exc.detail}]
            return _list_page(request, admin, import_errors=rows)
        return redirect(f"{PATH}/stores?done=imported")

    return await run_in_threadpool(run)


@router.get("/stores/{store_code}")
def store_page(request: Request, store_code: str = StoreCodePath, done: str | None = Query(None, max_length=16),
               admin: Admin = Depends(current_admin)) -> Response:
    return _edit_page(request, admin, code=store_code, done=done)


@router.post("/stores/{store_code}")
async def change_store(request: Request, store_code: str = StoreCodePath, admin: Admin = Depends(current_admin)) -> Response:
    def work(session: Any, form: Any, ctx: Context) -> str:
        before: Store = service.get_by_code_or_raise(session, tenant_id=admin.tenant_id, code=store_code)
        data = {**_fields(form), "active": checked(form, "active")}
        data["radius_m"] = data.get("radius_m") or before.radius_m
        changes: StoreUpdate = valid(StoreUpdate, data)
        store = service.update_(session, tenant_id=admin.tenant_id, code=store_code, store_in=changes, now=ctx.now())
        admin.record(session, request, action="store.updated", target=f"store:{store.code}", details=changes.model_dump(mode="json"), now=ctx.now())
        return f"{PATH}/stores/{store.code}?done=saved"

    return await apply_change(request, admin, work, lambda problems: _edit_page(request, admin, code=store_code, problems=problems))
