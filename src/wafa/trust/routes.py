"""HTTP: a tenant's API rate limits (read with any key, changed by an admin key)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from wafa.api.deps import Context, require
from wafa.errors import InvalidInput
from wafa.tenants import service as tenants
from wafa.tenants.service import Principal
from wafa.trust.gate import check_limits, default_limits
from wafa.trust.schemas import RateLimitsIn, RateLimitsRead

router = APIRouter(prefix="/v1/tenant/rate-limits", tags=["tenant"])


def _read(request: Request, own: dict[str, str]) -> RateLimitsRead:
    defaults = default_limits(request.app.state.settings)
    return RateLimitsRead(limits={**defaults, **own}, own=own, defaults=defaults, shared=request.app.state.throttle.shared)


@router.get("", response_model=RateLimitsRead, summary="The rate limits of this tenant's API keys, by route class")
def get_rate_limits(request: Request, principal: Principal = Depends(require("read"))) -> RateLimitsRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        return _read(request, tenants.rate_limits(session, tenant_id=principal.tenant_id))


@router.put("", response_model=RateLimitsRead, summary="Set the tenant's own rate limits (admin); null restores a default")
def set_rate_limits(request: Request, limits_in: RateLimitsIn, principal: Principal = Depends(require("admin"))) -> RateLimitsRead:
    """Limits count per API key over a sliding window; a request past one gets a 429 with Retry-After."""
    try:
        changed = check_limits({name: text for name, text in limits_in.limits.items() if text is not None})
        check_limits(dict.fromkeys(limits_in.limits, "1/second"))  # unknown classes, even when null
    except ValueError as exc:
        raise InvalidInput(str(exc), field=f"limits.{str(exc).split(':', 1)[0]}") from None
    ctx = Context(request)
    with ctx.transaction() as session:
        own = tenants.rate_limits(session, tenant_id=principal.tenant_id)
        own = {name: text for name, text in {**own, **changed}.items() if limits_in.limits.get(name, "") is not None}
        tenants.set_rate_limits(session, tenant_id=principal.tenant_id, limits=own)
    return _read(request, own)
