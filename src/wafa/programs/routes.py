"""HTTP: read and change the program settings, and the retention period of members' personal data."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from wafa.api.deps import Context, require
from wafa.members.privacy_schemas import RetentionRead, RetentionUpdate
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


@router.get("/retention", response_model=RetentionRead, summary="How long members' personal data is kept without activity")
def get_retention(request: Request, principal: Principal = Depends(require("read"))) -> RetentionRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        program = service.get(session, tenant_id=principal.tenant_id, fresh=True)
        return RetentionRead(anonymise_inactive_after_years=program.anonymise_inactive_after_years)


@router.put("/retention", response_model=RetentionRead, summary="Anonymise members inactive for some years, or never (admin)")
def set_retention(request: Request, retention_in: RetentionUpdate, principal: Principal = Depends(require("admin"))) -> RetentionRead:
    """The worker anonymises members with no event, no ledger entry of theirs and no portal sign-in for this
    many years, as an erasure would (what they hold is forfeited, a debt written off); null stops it."""
    ctx = Context(request)
    with ctx.transaction() as session:
        program = service.set_retention(session, tenant_id=principal.tenant_id, years=retention_in.anonymise_inactive_after_years, now=ctx.now())
        return RetentionRead(anonymise_inactive_after_years=program.anonymise_inactive_after_years)
