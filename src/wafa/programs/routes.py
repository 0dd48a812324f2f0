"""HTTP: read and change the program settings."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from wafa.api.deps import Context, require
from wafa.programs import service
from wafa.programs.schemas import ProgramRead, ProgramUpdate
from wafa.tenants.service import Principal

router = APIRouter(prefix="/v1/program", tags=["program"])


@router.get("", response_model=ProgramRead, summary="The program's settings")
def get_program(request: Request, principal: Principal = Depends(require("read"))) -> ProgramRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        return service.to_read(service.get(session, tenant_id=principal.tenant_id, fresh=True))


@router.patch("", response_model=ProgramRead, summary="Change the program's settings (admin)")
def update_program(request: Request, program_in: ProgramUpdate, principal: Principal = Depends(require("admin"))) -> ProgramRead:
    """Changes apply to events from now on; points already earned keep their dates."""
    ctx = Context(request)
    with ctx.transaction() as session:
        return service.to_read(service.update_settings(session, tenant_id=principal.tenant_id, program_in=program_in, now=ctx.now()))
