"""The audit trail: every change a person makes in the console, who made it and when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from wafa.tenants.models import AuditEntry


def record(
    session: Session, *, tenant_id: int, user_id: int | None, actor: str, action: str, target: str = "",
    details: dict[str, Any] | None = None, ip: str | None = None, now: datetime,
) -> AuditEntry:
    """Write one entry in the caller's transaction: the change and its record commit together or not at all."""
    entry = AuditEntry(
        tenant_id=tenant_id, admin_user_id=user_id, actor=actor, action=action, target=target[:200], details=details or {},
        ip=ip, created_at=now,
    )
    session.add(entry)
    session.flush()
    return entry


def list_(session: Session, *, tenant_id: int, before_id: int | None = None, limit: int = 50, action: str | None = None) -> list[AuditEntry]:
    """Newest first."""
    query = select(AuditEntry).where(AuditEntry.tenant_id == tenant_id)
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    if action:
        query = query.where(AuditEntry.action == action)
    return list(session.execute(query.order_by(AuditEntry.id.desc()).limit(limit)).scalars())


def table_query(
    *, tenant_id: int, action: str | None = None, actor: str | None = None, start: datetime | None = None, end: datetime | None = None,
) -> Select:
    """Entries of an action, by an actor whose e-mail contains `actor`, made in [start, end): for a table to sort and page."""
    query = select(AuditEntry).where(AuditEntry.tenant_id == tenant_id)
    if action:
        query = query.where(AuditEntry.action == action)
    if actor:
        pattern = "%" + actor.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(func.lower(AuditEntry.actor).like(pattern, escape="\\"))
    if start is not None:
        query = query.where(AuditEntry.created_at >= start)
    if end is not None:
        query = query.where(AuditEntry.created_at < end)
    return query


def actions(session: Session, *, tenant_id: int) -> list[str]:
    """The actions the tenant's trail holds, for a filter to offer."""
    return list(session.execute(
        select(AuditEntry.action).where(AuditEntry.tenant_id == tenant_id).distinct().order_by(AuditEntry.action)
    ).scalars())
