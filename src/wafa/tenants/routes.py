"""HTTP: the tenant's API keys (admin)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from wafa.api.deps import Context, IdPath, require
from wafa.tenants import service
from wafa.tenants.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyRead
from wafa.tenants.service import Principal

router = APIRouter(prefix="/v1/api-keys", tags=["api keys"])


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
            ApiKeyRead(id=k.id, name=k.name, prefix=k.prefix, scopes=k.scopes, created_at=k.created_at, revoked_at=k.revoked_at)
            for k in service.list_keys(session, tenant_id=principal.tenant_id)
        ]


@router.delete("/{key_id}", status_code=204, summary="Revoke an API key")
def revoke_key(request: Request, key_id: IdPath, principal: Principal = Depends(require("admin"))) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        service.revoke_key(session, tenant_id=principal.tenant_id, key_id=key_id, now=ctx.now())
    return Response(status_code=204)
