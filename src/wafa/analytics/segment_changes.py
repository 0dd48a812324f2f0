"""segment.entered and segment.left: a recomputation compares who was in each segment before with who is
now, and puts one message per member and change in the outbox, in the recomputation's transaction."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from wafa.outbox import service as outbox


def announce(
    session: Session, *, tenant_id: int, kind: str, before: Mapping[int, str], after: Mapping[int, str], now: datetime,
) -> int:
    """Announce the moves between two assignments member -> segment key (RFM segments, A/B/C classes);
    a member missing on one side is outside every segment of that kind. Returns messages emitted."""
    emitted = 0
    for member_id in sorted(set(before) | set(after)):
        old, new = before.get(member_id), after.get(member_id)
        if old == new:
            continue
        if old is not None:
            outbox.emit(session, tenant_id=tenant_id, type_="segment.left", member_id=member_id, now=now,
                        payload={"segment": old, "kind": kind, "to": new})
            emitted += 1
        if new is not None:
            outbox.emit(session, tenant_id=tenant_id, type_="segment.entered", member_id=member_id, now=now,
                        payload={"segment": new, "kind": kind, "from": old})
            emitted += 1
    return emitted


def announce_membership(
    session: Session, *, tenant_id: int, segment: str, before: set[int], after: set[int], now: datetime,
) -> int:
    """Announce who entered and who left one custom segment (a member may be in several at once)."""
    for member_id in sorted(after - before):
        outbox.emit(session, tenant_id=tenant_id, type_="segment.entered", member_id=member_id, now=now,
                    payload={"segment": segment, "kind": "custom", "from": None})
    for member_id in sorted(before - after):
        outbox.emit(session, tenant_id=tenant_id, type_="segment.left", member_id=member_id, now=now,
                    payload={"segment": segment, "kind": "custom", "to": None})
    return len(after ^ before)


def assignment(session: Session, columns: tuple[Any, Any], where: Any) -> dict[int, str]:
    """member -> key, read before a recomputation replaces the rows."""
    member, key = columns
    return {int(m): str(k) for m, k in session.execute(select(member, key).where(where))}
