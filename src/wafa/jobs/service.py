"""One pass of due work. Each lot or hold is handled in its own short transaction, so a pass
can run beside live traffic and two passes at once do each thing once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from wafa.db import unit_of_work
from wafa.errors import Conflict
from wafa.ledger import service as ledger
from wafa.ledger.models import Hold, Lot


@dataclass
class PassReport:
    released_lots: int = 0
    released_points: int = 0
    expired_lots: int = 0
    expired_points: int = 0
    lapsed_holds: int = 0


def _due(factory: sessionmaker[Session], query, batch: int) -> list[tuple[int, int]]:  # type: ignore[no-untyped-def]
    with factory() as session:
        return [tuple(row) for row in session.execute(query.limit(batch)).all()]  # type: ignore[misc]


def _each(factory: sessionmaker[Session], items: list[tuple[int, int]], work: Callable[[Session, int, int], int]) -> list[int]:
    results = []
    for tenant_id, item_id in items:
        try:
            with unit_of_work(factory) as session:
                results.append(work(session, tenant_id, item_id))
        except (IntegrityError, Conflict):
            # Another worker did it first: its entry's idempotency key or the hold's status says so.
            results.append(0)
    return results


def run_due(
    factory: sessionmaker[Session], *, now: datetime, tenant_id: int | None = None, batch: int = 500,
    progress: Callable[[str, int], None] | None = None,
) -> PassReport:
    """Release lots whose window closed, expire lots past expiry, lapse holds past their time."""
    report = PassReport()

    def scoped(query, model):  # type: ignore[no-untyped-def]
        return query.where(model.tenant_id == tenant_id) if tenant_id is not None else query

    last_id = 0
    while True:
        due = _due(
            factory,
            scoped(
                select(Lot.tenant_id, Lot.id)
                .where(Lot.released.is_(False), Lot.available_at <= now, Lot.id > last_id)
                .order_by(Lot.id),
                Lot,
            ),
            batch,
        )
        if not due:
            break
        last_id = due[-1][1]
        moved = _each(factory, due, lambda s, t, i: ledger.release_lot(s, tenant_id=t, lot_id=i, now=now))
        # Count only what this pass released: a lot another pass got to first moved nothing here.
        report.released_lots += sum(1 for points in moved if points)
        report.released_points += sum(moved)
        if progress:
            progress("released", report.released_lots)

    last_id = 0
    while True:
        due = _due(
            factory,
            scoped(
                select(Lot.tenant_id, Lot.id)
                .where(Lot.released.is_(True), Lot.remaining > 0, Lot.expires_at <= now, Lot.id > last_id)
                .order_by(Lot.id),
                Lot,
            ),
            batch,
        )
        if not due:
            break
        last_id = due[-1][1]
        expired = _each(factory, due, lambda s, t, i: ledger.expire_lot(s, tenant_id=t, lot_id=i, now=now))
        report.expired_lots += sum(1 for points in expired if points)
        report.expired_points += sum(expired)
        if progress:
            progress("expired", report.expired_lots)

    last_id = 0
    while True:
        due = _due(
            factory,
            scoped(
                select(Hold.tenant_id, Hold.id).where(Hold.status == "open", Hold.expires_at <= now, Hold.id > last_id).order_by(Hold.id),
                Hold,
            ),
            batch,
        )
        if not due:
            break
        last_id = due[-1][1]

        def lapse(session: Session, t: int, i: int) -> int:
            ledger.resolve_hold(session, tenant_id=t, hold_id=i, action="lapse", now=now)
            return 1

        report.lapsed_holds += sum(_each(factory, due, lapse))
    return report
