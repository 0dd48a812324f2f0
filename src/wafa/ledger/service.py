"""Ledger behaviour beyond accounts, lots and holds: adjustments by hand, balance summaries, history,
due work for the worker, points earned, exports. The functions of accounts.py, lots.py and holds.py are
imported here too, so `wafa.ledger.service` stays the one name other domains call."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, bindparam, select, text
from sqlalchemy.orm import Session

from wafa.db import UTCDateTime
from wafa.errors import InvalidInput
from wafa.ledger import earned
from wafa.ledger.accounts import (  # noqa: F401  called as ledger.<name>
    balances,
    lock_accounts,
    member_accounts,
    open_member_accounts,
    open_member_accounts_many,
    open_program_accounts,
    opened_here,
    program_accounts,
)
from wafa.ledger.holds import get_hold_or_raise, hold, partner_of_hold, resolve_hold  # noqa: F401  called as ledger.<name>
from wafa.ledger.lots import (  # noqa: F401  called as ledger.<name>
    Credit,
    Debit,
    claw_back,
    credit,
    debit,
    expire_due_for_member,
    expire_lot,
    lot_of_event,
    open_lots,
    points_left,
    refund,
    release_lot,
    reschedule_lot,
    restore_lots,
)
from wafa.ledger.models import Entry, Hold, Lot


def adjust(
    session: Session,
    *,
    tenant_id: int,
    member_id: int,
    points: int,
    reason: str,
    idempotency_key: str,
    now: datetime,
    expires_at: datetime | None,
    actor: str | None = None,
) -> int:
    """Credit (points > 0) or debit (points < 0) a member by hand; return the entry id."""
    details = {"actor": actor} if actor else None
    if points > 0:
        return credit(
            session,
            tenant_id=tenant_id,
            member_id=member_id,
            points=points,
            kind="adjust",
            source="adjustments",
            idempotency_key=idempotency_key,
            reason=reason,
            now=now,
            available_at=now,
            expires_at=expires_at,
            details=details,
        ).entry_id
    if points < 0:
        return debit(
            session,
            tenant_id=tenant_id,
            member_id=member_id,
            points=-points,
            kind="adjust",
            destination="adjustments",
            idempotency_key=idempotency_key,
            reason=reason,
            now=now,
            block_in_debt=False,
            details=details,
        ).entry_id
    raise InvalidInput("an adjustment must be non-zero", field="points")


# A balance read is the most frequent read there is: one prepared statement, no expression building.
_SUMMARY = text(
    """
    SELECT
      (SELECT balance FROM accounts WHERE tenant_id = :t AND owner = :owner AND kind = 'available' AND unit = 'PTS'),
      (SELECT balance FROM accounts WHERE tenant_id = :t AND owner = :owner AND kind = 'pending' AND unit = 'PTS'),
      (SELECT balance FROM accounts WHERE tenant_id = :t AND owner = :owner AND kind = 'held' AND unit = 'PTS'),
      e.due, e.d30, e.d60, e.d90
    FROM (
      SELECT coalesce(sum(CASE WHEN expires_at <= :now THEN remaining ELSE 0 END), 0) AS due,
             coalesce(sum(CASE WHEN expires_at > :now AND expires_at <= :d30 THEN remaining ELSE 0 END), 0) AS d30,
             coalesce(sum(CASE WHEN expires_at > :now AND expires_at <= :d60 THEN remaining ELSE 0 END), 0) AS d60,
             coalesce(sum(CASE WHEN expires_at > :now AND expires_at <= :d90 THEN remaining ELSE 0 END), 0) AS d90
      FROM lots
      WHERE tenant_id = :t AND member_id = :member AND released = :yes AND remaining > 0 AND expires_at <= :d90
    ) AS e
    """
).bindparams(
    bindparam("now", type_=UTCDateTime()), bindparam("d30", type_=UTCDateTime()),
    bindparam("d60", type_=UTCDateTime()), bindparam("d90", type_=UTCDateTime()),
)


def summary(session: Session, *, tenant_id: int, member_id: int, now: datetime) -> dict[str, int] | None:
    """A member's balances and the available points expiring within 30, 60 and 90 days (None: no such member).

    Points already past expiry count as gone, as a redemption would find them.
    """
    row = session.execute(
        _SUMMARY,
        {
            "t": tenant_id, "owner": f"member:{member_id}", "member": member_id, "yes": True, "now": now,
            "d30": now + timedelta(days=30), "d60": now + timedelta(days=60), "d90": now + timedelta(days=90),
        },
    ).one()
    if row[0] is None:
        return None
    available, pending, held, due, d30, d60, d90 = (int(v) for v in row)
    # Points past expiry that the worker has not reached yet are already gone for the member.
    return {"available": available - due, "pending": pending, "held": held,
            "expiring_30": d30, "expiring_60": d60, "expiring_90": d90}


def list_entries(session: Session, *, tenant_id: int, member_id: int, before_id: int | None, limit: int) -> list[Entry]:
    """A member's entries, newest first, older than a cursor."""
    query = select(Entry).where(Entry.tenant_id == tenant_id, Entry.member_id == member_id)
    if before_id is not None:
        query = query.where(Entry.id < before_id)
    return list(session.execute(query.order_by(Entry.id.desc()).limit(limit)).scalars())


# What the worker sweeps: each a condition on lots or holds that makes a row due at `now`.
DUE: dict[str, Callable[[datetime], tuple[type[Lot | Hold], list[ColumnElement[bool]]]]] = {
    "release": lambda now: (Lot, [Lot.released == False, Lot.available_at <= now]),  # noqa: E712 (matches the partial index)
    "expire": lambda now: (Lot, [Lot.released == True, Lot.remaining > 0, Lot.expires_at <= now]),  # noqa: E712
    "lapse": lambda now: (Hold, [Hold.status == "open", Hold.expires_at <= now]),
}


def due(session: Session, *, what: str, now: datetime, after_id: int, limit: int, tenant_id: int | None = None) -> list[tuple[int, int]]:
    """(tenant, id) of lots to release or expire, or holds to lapse, at `now`, in id order after a cursor."""
    model, conditions = DUE[what](now)
    if tenant_id is not None:
        conditions = [*conditions, model.tenant_id == tenant_id]
    rows = session.execute(
        select(model.tenant_id, model.id).where(*conditions, model.id > after_id).order_by(model.id).limit(limit)
    ).all()
    return [(row[0], row[1]) for row in rows]


def issued_since(session: Session, *, tenant_id: int, member_id: int, since: datetime, until: datetime | None = None) -> int:
    """Points the program issued to a member in [since, until), net of what returns took back (see ledger/earned.py)."""
    return earned.issued_since(
        session, tenant_id=tenant_id, member_id=member_id, issued_account_id=program_accounts(session, tenant_id=tenant_id)["issued"],
        since=since, until=until,
    )


def has_entry(session: Session, *, tenant_id: int, idempotency_key: str) -> bool:
    """Whether an entry with this idempotency key was posted (a once-only credit checks before posting)."""
    return session.execute(
        select(Entry.id).where(Entry.tenant_id == tenant_id, Entry.idempotency_key == idempotency_key)
    ).first() is not None


def credit_by_key(session: Session, *, tenant_id: int, idempotency_key: str) -> tuple[int, int, int | None] | None:
    """(entry id, points, lot id) of the credit posted under this idempotency key, if it was."""
    row = session.execute(
        select(Entry.id, Entry.points, Lot.id).outerjoin(Lot, (Lot.entry_id == Entry.id) & (Lot.tenant_id == Entry.tenant_id))
        .where(Entry.tenant_id == tenant_id, Entry.idempotency_key == idempotency_key)
    ).first()
    return (row[0], int(row[1] or 0), row[2]) if row is not None else None


def export_rows(session: Session, *, tenant_id: int) -> Iterator[dict]:
    """Every journal entry of the tenant as a flat record, in id order, streamed (details as JSON text)."""
    columns = (Entry.id, Entry.created_at, Entry.kind, Entry.member_id, Entry.points, Entry.reason, Entry.idempotency_key,
               Entry.event_id, Entry.reverses_entry_id, Entry.details)
    query = select(*columns).where(Entry.tenant_id == tenant_id).order_by(Entry.id).execution_options(yield_per=5000)
    for row in session.execute(query):
        record = dict(row._mapping)
        record["details"] = json.dumps(record["details"], ensure_ascii=False) if record["details"] is not None else None
        yield record
