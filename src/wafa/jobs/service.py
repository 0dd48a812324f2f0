"""One pass of due work. Each lot or hold is handled in its own short transaction, so a pass
can run beside live traffic and two passes at once do each thing once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from wafa.db import unit_of_work
from wafa.errors import Conflict
from wafa.ledger import service as ledger


@dataclass
class PassReport:
    released_lots: int = 0
    released_points: int = 0
    expired_lots: int = 0
    expired_points: int = 0
    lapsed_holds: int = 0


def _sweep(
    factory: sessionmaker[Session], what: str, *, now: datetime, tenant_id: int | None, batch: int,
    work: Callable[[Session, int, int], int],
) -> list[int]:
    """Run `work` on every row the ledger says is due, in id order, one transaction per row."""
    results: list[int] = []
    last_id = 0
    while True:
        with factory() as session:
            rows = ledger.due(session, what=what, now=now, after_id=last_id, limit=batch, tenant_id=tenant_id)
        if not rows:
            return results
        last_id = rows[-1][1]
        for row_tenant, row_id in rows:
            try:
                with unit_of_work(factory) as session:
                    results.append(work(session, row_tenant, row_id))
            except (IntegrityError, Conflict):
                # Another pass did it first: its entry's idempotency key or the hold's status says so.
                results.append(0)


def run_due(
    factory: sessionmaker[Session], *, now: datetime, tenant_id: int | None = None, batch: int = 500,
) -> PassReport:
    """Release lots whose window closed, expire lots past expiry, lapse holds past their time."""
    released = _sweep(
        factory, "release", now=now, tenant_id=tenant_id, batch=batch,
        work=lambda s, t, i: ledger.release_lot(s, tenant_id=t, lot_id=i, now=now),
    )
    expired = _sweep(
        factory, "expire", now=now, tenant_id=tenant_id, batch=batch,
        work=lambda s, t, i: ledger.expire_lot(s, tenant_id=t, lot_id=i, now=now),
    )

    def lapse(session: Session, t: int, i: int) -> int:
        ledger.resolve_hold(session, tenant_id=t, hold_id=i, action="lapse", now=now)
        return 1

    lapsed = _sweep(factory, "lapse", now=now, tenant_id=tenant_id, batch=batch, work=lapse)
    # Count only what this pass did: a lot another pass got to first moved nothing here.
    return PassReport(
        released_lots=sum(1 for points in released if points),
        released_points=sum(released),
        expired_lots=sum(1 for points in expired if points),
        expired_points=sum(expired),
        lapsed_holds=sum(lapsed),
    )
