"""HTTP: rules (admin) — create, list, read, revise (a new version), activate, pause, end."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request

from wafa.api.deps import Context, IdPath, decode_cursor, paginate, require
from wafa.members import service as members
from wafa.rules import service
from wafa.rules.models import Rule, RuleVersion
from wafa.rules.schemas import RuleCreate, RuleDefinition, RulePage, RuleRead, RuleStatusChange, StampsRead
from wafa.tenants.service import Principal

router = APIRouter(prefix="/v1/rules", tags=["rules"])
member_router = APIRouter(prefix="/v1/members", tags=["rules"])


def _read(pair: tuple[Rule, RuleVersion]) -> RuleRead:
    rule, version = pair
    return RuleRead(
        id=rule.id, version=version.version, status=rule.status,
        definition=version.definition, created_at=rule.created_at, updated_at=rule.updated_at,
    )


@router.post("", status_code=201, response_model=RuleRead, summary="Create a rule (draft or active)")
def create_rule(request: Request, rule_in: RuleCreate, principal: Principal = Depends(require("admin"))) -> RuleRead:
    ctx = Context(request)
    definition = RuleDefinition.model_validate(rule_in.model_dump(by_alias=True, exclude={"status"}))
    with ctx.transaction() as session:
        return _read(service.create(session, tenant_id=principal.tenant_id, definition=definition, status=rule_in.status, now=ctx.now()))


@router.get("", response_model=RulePage, summary="List rules with their current versions")
def list_rules(
    request: Request,
    status: str | None = Query(None, pattern="^(draft|active|paused|ended)$"),
    cursor: str | None = Query(None, max_length=200),
    limit: int = Query(50, ge=1, le=200),
    principal: Principal = Depends(require("read")),
) -> RulePage:
    ctx = Context(request)
    with ctx.transaction() as session:
        rows = service.list_(session, tenant_id=principal.tenant_id, status=status, after_id=decode_cursor(cursor), limit=limit + 1)
        items, next_cursor = paginate(rows, limit, _read)
        return RulePage(items=items, next_cursor=next_cursor)


@router.get("/{rule_id}", response_model=RuleRead, summary="Read a rule")
def get_rule(request: Request, rule_id: IdPath, principal: Principal = Depends(require("read"))) -> RuleRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        return _read(service.get_or_raise(session, tenant_id=principal.tenant_id, rule_id=rule_id))


@router.put("/{rule_id}", response_model=RuleRead, summary="Change a rule: its definition becomes a new version")
def revise_rule(request: Request, rule_id: IdPath, rule_in: RuleDefinition, principal: Principal = Depends(require("admin"))) -> RuleRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        return _read(service.revise(session, tenant_id=principal.tenant_id, rule_id=rule_id, definition=rule_in, now=ctx.now()))


@router.post("/{rule_id}/status", response_model=RuleRead, summary="Activate, pause or end a rule")
def change_rule_status(
    request: Request, rule_id: IdPath, change: RuleStatusChange, principal: Principal = Depends(require("admin"))
) -> RuleRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        return _read(service.change_status(session, tenant_id=principal.tenant_id, rule_id=rule_id, status=change.status, now=ctx.now()))


@member_router.get("/{member_id}/stamps", response_model=StampsRead, summary="A member's stamps and rule-issued rewards")
def get_stamps(request: Request, member_id: IdPath, principal: Principal = Depends(require("read"))) -> StampsRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        members.get_or_raise(session, tenant_id=principal.tenant_id, member_id=member_id)
        stamps, rewards = service.stamps_and_rewards(session, tenant_id=principal.tenant_id, member_id=member_id)
    return StampsRead(member_id=member_id, stamps=stamps, rewards=rewards)
