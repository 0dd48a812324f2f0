"""HTTP: stores under /v1/stores (changed with an admin key, audited; read with a read key), nearby stores,
a CSV import, and members' check-ins under /v1/members/{member_id}/check-ins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from wafa.api.deps import Context, IdPath, decode_cursor, encode_cursor, fingerprinted, require, run_idempotent
from wafa.errors import InvalidInput
from wafa.events.idempotency import request_hash
from wafa.members import service as members
from wafa.stores import imports, service
from wafa.stores.models import Store
from wafa.stores.schemas import (
    CODE_PATTERN,
    CheckInIn,
    CheckInPage,
    CheckInRead,
    ImportResult,
    NearbyPage,
    NearbyStore,
    StoreCreate,
    StorePage,
    StoreRead,
    StoreUpdate,
)
from wafa.tenants import audit
from wafa.tenants.service import Principal

router = APIRouter(prefix="/v1", tags=["stores"])

CodePath = Annotated[str, Path(pattern=CODE_PATTERN, description="the store's code")]
MOST_CSV_BYTES = 5 * 1024 * 1024


def _actor(principal: Principal) -> str:
    return f"api-key:{principal.key_id}"


def _read(store: Store) -> StoreRead:
    return StoreRead.model_validate(store)


@router.get("/stores", response_model=StorePage, summary="The tenant's stores, in the order they were added")
def list_stores(
    request: Request,
    active: bool | None = Query(None, description="true: only active stores; false: only inactive ones; default both"),
    limit: int = Query(50, ge=1, le=200),
    cursor: str | None = Query(None, max_length=200, description="next_cursor of the page before"),
    principal: Principal = Depends(require("read")),
) -> StorePage:
    ctx = Context(request)
    with ctx.reading() as session:
        rows = service.list_(session, tenant_id=principal.tenant_id, after_id=decode_cursor(cursor), limit=limit + 1, active=active)
        items = [_read(store) for store in rows[:limit]]
    return StorePage(items=items, next_cursor=encode_cursor(items[-1].id) if len(rows) > limit else None)


@router.post("/stores", status_code=201, response_model=StoreRead, summary="Add a store (admin)",
             responses={409: {"description": "a store with this code exists"}})
def create_store(request: Request, store_in: StoreCreate, principal: Principal = Depends(require("admin"))) -> StoreRead:
    """The first store also declares the `check_in` event type, so rules can award check-ins (trigger `check_in`)."""
    ctx = Context(request)
    with ctx.transaction() as session:
        store = service.create(session, tenant_id=principal.tenant_id, store_in=store_in, now=ctx.now())
        audit.record(session, tenant_id=principal.tenant_id, user_id=None, actor=_actor(principal), action="store.created",
                     target=f"store:{store.code}", details=store_in.model_dump(mode="json"), now=ctx.now())
        return _read(store)


@router.get("/stores:nearby", response_model=NearbyPage, summary="Active stores near a point, nearest first, with open-now flags")
def nearby_stores(
    request: Request,
    lat: float = Query(ge=-90, le=90, description="latitude of the point, degrees north"),
    lon: float = Query(ge=-180, le=180, description="longitude of the point, degrees east"),
    within_m: int = Query(service.NEARBY_M, ge=1, le=50_000, description="how far to look, in metres"),
    principal: Principal = Depends(require("read")),
) -> NearbyPage:
    """The point is used for the answer and not kept."""
    ctx = Context(request)
    with ctx.reading() as session:
        found = service.nearby(session, tenant_id=principal.tenant_id, latitude=lat, longitude=lon, at=ctx.now(), within_m=within_m)
        return NearbyPage(items=[NearbyStore(store=_read(n.store), distance_m=n.distance_m, open_now=n.open_now, within_radius=n.within_radius)
                                 for n in found])


@router.post(
    "/stores:import", response_model=ImportResult, summary="Add or change stores from a CSV file (admin)",
    openapi_extra={"requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def import_stores(request: Request, principal: Principal = Depends(require("admin"))) -> ImportResult:
    """Columns `code,name_en,name_ar,latitude,longitude,timezone,radius_m,hours`; a store is matched by its code.
    All or nothing: with one bad row nothing is written and the problem lists every bad row by its line."""
    body = await request.body()
    if len(body) > MOST_CSV_BYTES:
        raise InvalidInput(f"a file holds at most {MOST_CSV_BYTES // (1024 * 1024)} MB", field="file")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("the file is not UTF-8 text", field="file") from None
    ctx = Context(request)

    def work() -> ImportResult:
        with ctx.transaction() as session:
            result = imports.import_csv(session, tenant_id=principal.tenant_id, text=text, now=ctx.now())
            audit.record(session, tenant_id=principal.tenant_id, user_id=None, actor=_actor(principal), action="stores.imported",
                         details={"created": result.created, "updated": result.updated, "codes": result.codes[:200]}, now=ctx.now())
            return result

    return await run_in_threadpool(work)


@router.get("/stores/{code}", response_model=StoreRead, summary="Read a store")
def get_store(request: Request, code: CodePath, principal: Principal = Depends(require("read"))) -> StoreRead:
    ctx = Context(request)
    with ctx.reading() as session:
        return _read(service.get_by_code_or_raise(session, tenant_id=principal.tenant_id, code=code))


@router.patch("/stores/{code}", response_model=StoreRead, summary="Change a store; `active: false` takes it out of check-ins (admin)")
def update_store(request: Request, code: CodePath, store_in: StoreUpdate, principal: Principal = Depends(require("admin"))) -> StoreRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        store = service.update_(session, tenant_id=principal.tenant_id, code=code, store_in=store_in, now=ctx.now())
        audit.record(session, tenant_id=principal.tenant_id, user_id=None, actor=_actor(principal), action="store.updated",
                     target=f"store:{store.code}", details=store_in.model_dump(mode="json", exclude_unset=True), now=ctx.now())
        return _read(store)


@router.post(
    "/members/{member_id}/check-ins", status_code=201, response_model=CheckInRead, summary="Check a member in at a store",
    responses={
        409: {"description": "already checked in at this store on its calendar day (already-checked-in)"},
        422: {"description": "too far from the store (store-too-far, with distance_m), the store is closed (store-closed), or bad input"},
        429: {"description": "past one of the program's velocity limits on check-ins (too-many-check-ins): refused, not held"},
    },
)
def post_check_in(
    request: Request, member_id: IdPath, check_in_in: Annotated[CheckInIn, Body()],
    principal: Principal = Depends(require("events:write")),
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
) -> Response:
    """From where the member is now (used for the distance, not kept): within the store's radius, while it is open,
    once per store and store-local day. Records a `check_in` event (attributes.store) whose rules award what they give."""
    ctx = Context(request)
    fingerprint = request_hash("POST", f"/v1/members/{member_id}/check-ins", fingerprinted(check_in_in))

    def work(session: Session) -> CheckInRead:
        row, _ = service.check_in(
            session, tenant_id=principal.tenant_id, member_id=member_id, store_code=check_in_in.store, latitude=check_in_in.latitude,
            longitude=check_in_in.longitude, now=ctx.now(),
        )
        return CheckInRead(**service.as_dict(row, check_in_in.store))

    return run_idempotent(ctx, principal=principal, key=idempotency_key, fingerprint=fingerprint, status_code=201, work=work)


@router.get("/members/{member_id}/check-ins", response_model=CheckInPage, summary="A member's check-ins, newest first")
def list_check_ins(
    request: Request, member_id: IdPath,
    limit: int = Query(50, ge=1, le=200),
    cursor: str | None = Query(None, max_length=200, description="next_cursor of the page before"),
    principal: Principal = Depends(require("read")),
) -> CheckInPage:
    ctx = Context(request)
    with ctx.reading() as session:
        members.get_or_raise(session, tenant_id=principal.tenant_id, member_id=member_id)
        rows = service.check_ins_of(session, tenant_id=principal.tenant_id, member_id=member_id,
                                    before_id=decode_cursor(cursor), limit=limit + 1)
    items = [CheckInRead(**row) for row in rows[:limit]]
    return CheckInPage(items=items, next_cursor=encode_cursor(items[-1].id) if len(rows) > limit else None)
