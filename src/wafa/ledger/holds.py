"""Holds at a till: points reserved by one entry, then captured or voided exactly once (or lapsing)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from wafa.errors import Conflict, InvalidInput, NotFound
from wafa.ledger.accounts import member_accounts, program_accounts
from wafa.ledger.lots import debit, restore_lots
from wafa.ledger.models import Entry, Hold
from wafa.ledger.money import Money, with_money
from wafa.ledger.postings import Leg, post_entry
from wafa.outbox import service as outbox


def hold(
    session: Session, *, tenant_id: int, member_id: int, points: int, reason: str, now: datetime, ttl_seconds: int,
    block_in_debt: bool = True, partner_id: int | None = None,
) -> Hold:
    """Reserve available points for a till (of a coalition partner: `partner_id`); the hold must be
    captured or voided, or it lapses."""
    result = debit(
        session,
        tenant_id=tenant_id,
        member_id=member_id,
        points=points,
        kind="hold",
        destination="held",
        idempotency_key=f"hold:{uuid.uuid4().hex}",
        reason=reason,
        now=now,
        block_in_debt=block_in_debt,
        money=Money(partner_id) if partner_id is not None else None,
    )
    hold_id = session.execute(
        insert(Hold)
        .values(
            tenant_id=tenant_id,
            member_id=member_id,
            points=points,
            captured_points=0,
            status="open",
            reason=reason,
            hold_entry_id=result.entry_id,
            created_at=now,
            expires_at=now + timedelta(seconds=ttl_seconds),
        )
        .returning(Hold.id)
    ).scalar_one()
    outbox.emit(session, tenant_id=tenant_id, type_="hold.created", member_id=member_id, now=now, payload={
        "hold_id": hold_id, "points": points, "reason": reason, "expires_at": now + timedelta(seconds=ttl_seconds), "entry_id": result.entry_id,
    })
    return get_hold_or_raise(session, tenant_id=tenant_id, hold_id=hold_id)


def get_hold_or_raise(session: Session, *, tenant_id: int, hold_id: int) -> Hold:
    """Return a hold of this tenant or raise NotFound."""
    found = session.execute(
        select(Hold).where(Hold.tenant_id == tenant_id, Hold.id == hold_id).execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if found is None:
        raise NotFound(f"hold {hold_id} not found")
    return found


def resolve_hold(
    session: Session, *, tenant_id: int, hold_id: int, action: str, now: datetime, points: int | None = None,
    money: Money | None = None,
) -> Hold:
    """Capture (all or part), void or lapse an open hold, exactly once; a capture at a coalition partner
    pays it `money` in the same entry."""
    current = get_hold_or_raise(session, tenant_id=tenant_id, hold_id=hold_id)
    capture = 0
    if action == "capture":
        capture = current.points if points is None else points
        if capture <= 0 or capture > current.points:
            raise InvalidInput(f"capture between 1 and {current.points} points", field="points")
    if action == "capture" and current.status == "open" and current.expires_at <= now:
        raise Conflict(f"hold {hold_id} has lapsed", hold_status="lapsed")
    status = {"capture": "captured", "void": "voided", "lapse": "lapsed"}[action]
    # The guarded update is the exactly-once gate: only one resolver sees status 'open'.
    won = session.execute(
        update(Hold)
        .where(Hold.tenant_id == tenant_id, Hold.id == hold_id, Hold.status == "open")
        .values(status=status, captured_points=capture, resolved_at=now)
        .returning(Hold.member_id)
    ).one_or_none()
    if won is None:
        fresh = get_hold_or_raise(session, tenant_id=tenant_id, hold_id=hold_id)
        raise Conflict(f"hold {hold_id} is already {fresh.status}", hold_status=fresh.status)
    member_id = won[0]
    accounts = member_accounts(session, tenant_id=tenant_id, member_id=member_id)
    give_back = current.points - capture
    legs = [Leg(accounts["held"], -current.points, member_account=True)]
    if capture:
        legs.append(Leg(program_accounts(session, tenant_id=tenant_id)["redeemed"], capture, member_account=False))
    if give_back:
        legs.append(Leg(accounts["available"], give_back, member_account=True))
    if money is None or not capture:
        # A void is dated at the hold's partner too, so the points it gives back leave that partner's flows.
        partner_id = session.execute(select(Entry.partner_id).where(Entry.id == current.hold_entry_id)).scalar_one_or_none()
        money = Money(partner_id) if partner_id is not None else None
    entry_id, posted = post_entry(
        session,
        tenant_id=tenant_id,
        kind="capture" if capture else "void",
        idempotency_key=f"resolve:hold:{hold_id}",
        reason=f"hold {hold_id} {status}" + (f" ({capture} of {current.points} points)" if capture else ""),
        now=now,
        member_id=member_id,
        points=give_back,
        **with_money(
            session, tenant_id=tenant_id, legs=legs, details={"hold_id": hold_id, "captured": capture, "returned": give_back},
            money=money,
        ),
    )
    if give_back:
        restore_lots(
            session,
            tenant_id=tenant_id,
            taken_by_entry=current.hold_entry_id,
            entry_id=entry_id,
            points=give_back,
            balance_before=posted[accounts["available"]].balance_after - give_back,
        )
    session.execute(update(Hold).where(Hold.id == hold_id).values(resolution_entry_id=entry_id))
    outbox.emit(session, tenant_id=tenant_id, type_=f"hold.{status}", member_id=member_id, now=now, payload={
        "hold_id": hold_id, "points": current.points, "captured": capture, "returned": give_back, "entry_id": entry_id,
    })
    return get_hold_or_raise(session, tenant_id=tenant_id, hold_id=hold_id)


def partner_of_hold(session: Session, *, tenant_id: int, hold_id: int) -> int | None:
    """The coalition partner whose till made a hold (None: not a partner's)."""
    return session.execute(
        select(Entry.partner_id).join(Hold, Hold.hold_entry_id == Entry.id).where(Hold.tenant_id == tenant_id, Hold.id == hold_id)
    ).scalar_one_or_none()
