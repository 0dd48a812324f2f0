"""The audit trail: every change a person makes in the console, who made it and when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
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
