"""Partner vouchers: codes uploaded in bulk from a partner's file, handed out one per redemption.

Handing out takes the oldest available code with `FOR UPDATE SKIP LOCKED`: concurrent redemptions
each get a different code without waiting on one another, and no code goes to two members.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from wafa.db import insert_or_skip
from wafa.errors import InvalidInput, OutOfStock
from wafa.rewards.models import Reward, Voucher

_BATCH = 2_000


def import_codes(
    session: Session, *, reward: Reward, codes: Iterable[str], now: datetime, progress: Callable[[int], None] | None = None
) -> tuple[int, int]:
    """Add a partner's codes to a voucher reward; return (imported, duplicates skipped)."""
    if reward.kind != "voucher":
        raise InvalidInput(f"reward {reward.key!r} gives a {reward.kind}, not partner vouchers", field="reward_id")
    imported = duplicates = 0
    batch: list[str] = []

    statement = insert_or_skip(session, Voucher, conflict=["tenant_id", "reward_id", "code"]).returning(Voucher.__table__.c.id)

    def flush() -> None:
        nonlocal imported, duplicates
        if batch:
            # RETURNING counts the rows this import inserted, whatever another import does meanwhile.
            added = len(session.execute(statement, [
                {"tenant_id": reward.tenant_id, "reward_id": reward.id, "code": code, "status": "available", "imported_at": now}
                for code in dict.fromkeys(batch)
            ]).all())
            imported += added
            duplicates += len(batch) - added
        if progress is not None:
            progress(len(batch))
        batch.clear()

    for raw in codes:
        code = raw.strip()
        if not code:
            continue
        if len(code) > 128:
            raise InvalidInput(f"voucher code {code[:20]!r}... is longer than 128 characters", field="codes")
        batch.append(code)
        if len(batch) >= _BATCH:
            flush()
    flush()
    return imported, duplicates


def hand_out(session: Session, *, reward: Reward, redemption_id: int) -> str:
    """Give the oldest available code of a voucher reward to a redemption; OutOfStock if none is left."""
    voucher_id = session.execute(
        select(Voucher.id)
        .where(Voucher.tenant_id == reward.tenant_id, Voucher.reward_id == reward.id, Voucher.status == "available")
        .order_by(Voucher.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).scalar_one_or_none()
    if voucher_id is None:
        raise OutOfStock(f"{reward.name_en}: no partner codes left", field="reward_id")
    return session.execute(
        update(Voucher)
        .where(Voucher.tenant_id == reward.tenant_id, Voucher.id == voucher_id)
        .values(status="issued", redemption_id=redemption_id)
        .returning(Voucher.code)
    ).scalar_one()


def revoke(session: Session, *, tenant_id: int, redemption_id: int) -> None:
    """Mark a cancelled redemption's code revoked: the member has seen it, so it never goes to another."""
    session.execute(
        update(Voucher).where(Voucher.tenant_id == tenant_id, Voucher.redemption_id == redemption_id).values(status="revoked")
    )


def counts(session: Session, *, tenant_id: int, reward_id: int) -> dict[str, int]:
    """A voucher reward's codes by status."""
    rows = session.execute(
        select(Voucher.status, func.count()).where(Voucher.tenant_id == tenant_id, Voucher.reward_id == reward_id)
        .group_by(Voucher.status)
    ).all()
    return dict(rows)
