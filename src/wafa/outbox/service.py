"""Writing to the outbox, and numbering what committed.

`emit` queues a message on the session; the transaction's commit writes every queued message in one
multi-row INSERT just before it commits (a rolled-back transaction writes none), so a purchase that
emits three facts pays one round trip for them. The purchase statements of PostgreSQL write their
message inside their own statement instead (`EARNED_CTE`), keeping the one-statement purchase one.

`sequence` runs in the worker: it numbers a tenant's messages that are visible (committed) and not
numbered yet, in id order, under the lock of the tenant's `outbox_sequences` row, so numbers only grow
and a reader resuming after number N never misses a message that committed late.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, event, insert, select, update
from sqlalchemy.orm import Session

from wafa.db import insert_or_skip
from wafa.outbox import catalog
from wafa.outbox.models import OutboxMessage, OutboxSequence

_QUEUE = "outbox"
_TABLE = OutboxMessage.__table__

# points.earned of a purchase, as a data-modifying CTE of the one-statement and two-statement purchases:
# it expects CTEs `ev` (the event: id, member_id, points) and `en` (the earn entry: id), and
# %(t)s, %(now)s, %(outbox_id)s and %(outbox_payload)s (`earned_payload(...)` without the ids SQL adds).
EARNED_CTE = """ob AS (
    INSERT INTO outbox_messages (tenant_id, message_id, type, version, member_id, occurred_at, created_at, payload)
    SELECT %(t)s, %(outbox_id)s, 'points.earned', {version}, ev.member_id, %(now)s, %(now)s,
           (%(outbox_payload)s::jsonb || jsonb_build_object('points', ev.points, 'entry_id', en.id, 'event_id', ev.id))::json
    FROM ev JOIN en ON true
)""".format(version=catalog.version_of("points.earned"))  # noqa: S608  only the catalog's version number is formatted in


# wallet.credited of a purchase's cashback, likewise: it expects `ev` and `cb` (the cashback entry), and
# %(wallet_outbox_id)s and %(wallet_outbox_payload)s (`wallet_payload(...)`).
WALLET_CTE = """wo AS (
    INSERT INTO outbox_messages (tenant_id, message_id, type, version, member_id, occurred_at, created_at, payload)
    SELECT %(t)s, %(wallet_outbox_id)s, 'wallet.credited', {version}, ev.member_id, %(now)s, %(now)s,
           (%(wallet_outbox_payload)s::jsonb || jsonb_build_object('entry_id', cb.id, 'event_id', ev.id))::json
    FROM ev JOIN cb ON true
)""".format(version=catalog.version_of("wallet.credited"))  # noqa: S608  only the catalog's version number is formatted in


def new_id() -> str:
    """A message id: the `webhook-id` receivers deduplicate by, unique across tenants."""
    return "msg_" + uuid.uuid4().hex


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def emit(
    session: Session, *, tenant_id: int, type_: str, member_id: int | None, now: datetime, payload: Mapping[str, Any],
    occurred_at: datetime | None = None,
) -> str:
    """Queue a message for this transaction's commit; return its id."""
    message_id = new_id()
    session.info.setdefault(_QUEUE, []).append({
        "tenant_id": tenant_id, "message_id": message_id, "type": type_, "version": catalog.version_of(type_),
        "member_id": member_id, "occurred_at": occurred_at or now, "created_at": now, "payload": _jsonable(payload),
    })
    return message_id


def earned_payload(
    *, status: str, available_at: datetime, expires_at: datetime | None, kind: str, reason: str, order_id: str | None,
) -> dict[str, Any]:
    """points.earned's payload apart from the points and the entry and event ids."""
    return _jsonable({
        "status": status, "available_at": available_at, "expires_at": expires_at, "kind": kind, "reason": reason,
        "order_id": order_id,
    })


def wallet_payload(*, amount: int, currency: str, status: str, kind: str, reason: str) -> dict[str, Any]:
    """wallet.credited's or wallet.debited's payload apart from the entry and event ids."""
    return {"amount": amount, "currency": currency, "status": status, "kind": kind, "reason": reason}


def pending(session: Session) -> list[dict[str, Any]]:
    """What this transaction has queued so far (tests and the purchase's own statement look)."""
    return list(session.info.get(_QUEUE, ()))


@event.listens_for(Session, "before_commit")
def _write_queued(session: Session) -> None:
    queued = session.info.pop(_QUEUE, None)
    if queued:
        session.execute(insert(_TABLE), queued)


@event.listens_for(Session, "after_rollback")
def _drop_queued(session: Session) -> None:
    session.info.pop(_QUEUE, None)


@dataclass(frozen=True, slots=True)
class Numbered:
    tenant_id: int
    first: int  # the first sequence number given (0: none)
    last: int


def last_seq(session: Session, *, tenant_id: int) -> int:
    """The last sequence number a tenant's messages were given (0: none yet)."""
    return int(session.execute(select(OutboxSequence.last_seq).where(OutboxSequence.tenant_id == tenant_id)).scalar() or 0)


def unsequenced_tenants(session: Session, *, limit: int = 1000) -> list[int]:
    """Tenants with committed messages not numbered yet."""
    return [int(t) for (t,) in session.execute(
        select(OutboxMessage.tenant_id).where(OutboxMessage.seq.is_(None)).group_by(OutboxMessage.tenant_id).limit(limit)
    )]


def sequence(session: Session, *, tenant_id: int, limit: int = 5000) -> Numbered:
    """Number up to `limit` of a tenant's visible, unnumbered messages, oldest id first. The caller
    commits; two sequencers of one tenant take turns on its `outbox_sequences` row."""
    session.execute(insert_or_skip(session, OutboxSequence, conflict=["tenant_id"]).values(tenant_id=tenant_id, last_seq=0))
    last = session.execute(
        select(OutboxSequence.last_seq).where(OutboxSequence.tenant_id == tenant_id).with_for_update()
    ).scalar_one()
    ids = list(session.execute(
        select(OutboxMessage.id).where(OutboxMessage.tenant_id == tenant_id, OutboxMessage.seq.is_(None))
        .order_by(OutboxMessage.id).limit(limit)
    ).scalars())
    if not ids:
        return Numbered(tenant_id, 0, last)
    session.execute(
        # On the table: an executemany UPDATE through the ORM entity would be a bulk update by primary key.
        update(_TABLE).where(_TABLE.c.id == bindparam("row_id")).values(seq=bindparam("new_seq")),
        [{"row_id": row_id, "new_seq": last + n} for n, row_id in enumerate(ids, start=1)],
    )
    session.execute(
        update(OutboxSequence).where(OutboxSequence.tenant_id == tenant_id).values(last_seq=last + len(ids))
    )
    return Numbered(tenant_id, last + 1, last + len(ids))
