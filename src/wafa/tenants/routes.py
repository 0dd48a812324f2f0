"""HTTP: the tenant itself (its names in English and Arabic, the names of its own benefits) and its API
keys (admin)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from wafa.api.deps import Context, IdPath, require
from wafa.tenants import service
from wafa.tenants.models import Tenant
from wafa.tenants.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyRead,
    TenantRead,
    TenantUpdate,
)
from wafa.tenants.service import Principal

router = APIRouter(prefix="/v1/api-keys", tags=["api keys"])
tenant_router = APIRouter(prefix="/v1/tenant", tags=["tenant"])


def _read(tenant: Tenant) -> TenantRead:
    return TenantRead(
        id=tenant.id, slug=tenant.slug, name=tenant.name, name_ar=tenant.name_ar, status=tenant.status,
        benefit_names=tenant.benefit_names or {},
    )


@tenant_router.get("", response_model=TenantRead, summary="The key's tenant: its names and the names of its own benefits")
def get_tenant(request: Request, principal: Principal = Depends(require("read"))) -> TenantRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        return _read(service.get_or_raise(session, tenant_id=principal.tenant_id))


@tenant_router.patch("", response_model=TenantRead, summary="Rename the tenant (English, Arabic) or name its own benefits (admin)")
def update_tenant(request: Request, tenant_in: TenantUpdate, principal: Principal = Depends(require("admin"))) -> TenantRead:
    """Benefit names are merged by flag (null forgets one); tiers and plans keep their `flags` as keys."""
    ctx = Context(request)
    with ctx.transaction() as session:
        return _read(service.update(session, tenant_id=principal.tenant_id, tenant_in=tenant_in))


@router.post("", status_code=201, response_model=ApiKeyCreated, summary="Create an API key (the secret is shown once)")
def create_key(request: Request, key_in: ApiKeyCreate, principal: Principal = Depends(require("admin"))) -> ApiKeyCreated:
    ctx = Context(request)
    now = ctx.now()
    with ctx.transaction() as session:
        key = service.create_key(session, tenant_id=principal.tenant_id, name=key_in.name, scopes=key_in.scopes, now=now)
        return ApiKeyCreated(
            id=key.id, name=key_in.name, prefix=key.prefix, scopes=key.scopes, created_at=now, revoked_at=None, secret=key.secret
        )


@router.get("", response_model=list[ApiKeyRead], summary="List API keys (never their secrets)")
def list_keys(request: Request, principal: Principal = Depends(require("admin"))) -> list[ApiKeyRead]:
    ctx = Context(request)
    with ctx.transaction() as session:
        return [
            ApiKeyRead(id=k.id, name=k.name, prefix=k.prefix, scopes=k.scopes, partner_id=k.partner_id, created_at=k.created_at,
                       revoked_at=k.revoked_at)
            for k in service.list_keys(session, tenant_id=principal.tenant_id)
        ]


@router.delete("/{key_id}", status_code=204, summary="Revoke an API key")
def revoke_key(request: Request, key_id: IdPath, principal: Principal = Depends(require("admin"))) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        service.revoke_key(session, tenant_id=principal.tenant_id, key_id=key_id, now=ctx.now())
    return Response(status_code=204)
