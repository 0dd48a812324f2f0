"""Points in lots: crediting a lot (pending or available), releasing it, spending from lots in order of
expiry, giving back what a cancelled debit took, clawing back what a return takes, and expiring."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, bindparam, func, select, update
from sqlalchemy.orm import Session

from wafa.day_windows import day_of
from wafa.errors import InsufficientPoints, InvalidInput, MemberInDebt
from wafa.ledger import earned
from wafa.ledger.accounts import lock_accounts, member_accounts, program_accounts
from wafa.ledger.models import Account, Entry, Lot, LotMovement
from wafa.ledger.money import Money, breakage, following, with_money
from wafa.ledger.postings import Leg, post_entry
from wafa.outbox import service as outbox

# Statements of the earn path, built once on the tables (Core: no ORM-enabled DML overhead).
_INSERT_LOT = Lot.__table__.insert().returning(Lot.__table__.c.id)


_TAKE_FROM_LOT = (
    update(Lot.__table__)
    .where(Lot.__table__.c.id == bindparam("lot"))
    .values(remaining=Lot.__table__.c.remaining - bindparam("taken", type_=BigInteger))
)


@dataclass(frozen=True, slots=True)
class Credit:
    """The result of crediting points to a member."""

    entry_id: int
    lot_id: int
    points: int
    status: str  # "pending" or "available"
    available_at: datetime
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class Debit:
    """The result of taking points from a member."""

    entry_id: int
    points: int
    balance_after: int


def _insert_movements(session: Session, *, tenant_id: int, entry_id: int, moves: list[tuple[int, int]]) -> None:
    """Record how much of each lot an entry took (positive) or gave back (negative)."""
    moves = [(lot_id, amount) for lot_id, amount in moves if amount]
    if not moves:
        return
    session.execute(
        LotMovement.__table__.insert(),
        [{"tenant_id": tenant_id, "entry_id": entry_id, "lot_id": lot_id, "amount": amount} for lot_id, amount in moves],
    )
    for lot_id, amount in moves:
        session.execute(_TAKE_FROM_LOT, {"lot": lot_id, "taken": amount})


def _take_from_lots(
    session: Session, *, tenant_id: int, member_id: int, points: int, released: bool, first_lot_id: int | None = None
) -> list[tuple[int, int]]:
    """Plan which lots cover `points`: the named lot first, then soonest-expiring first."""
    lots = session.execute(
        select(Lot.id, Lot.remaining)
        .where(Lot.tenant_id == tenant_id, Lot.member_id == member_id, Lot.released == released, Lot.remaining > 0)
        .order_by(
            (Lot.id == first_lot_id).desc() if first_lot_id else Lot.id.is_(None),
            Lot.expires_at.asc().nulls_last(),
            Lot.available_at,
            Lot.id,
        )
    ).all()
    moves: list[tuple[int, int]] = []
    left = points
    for lot_id, remaining in lots:
        if left <= 0:
            break
        take = min(left, remaining)
        moves.append((lot_id, take))
        left -= take
    return moves


def _repay_debt_moves(pieces: list[tuple[int, int]], balance_before: int) -> list[tuple[int, int]]:
    """Movements for points arriving in the available account while it is negative.

    `pieces` are (lot, points) arriving; the first ones repay the debt, so those lots keep less.
    Returned amounts are what each lot loses to the debt (positive), the ledger's usual sign.
    """
    debt = max(0, -balance_before)
    moves = []
    for lot_id, amount in pieces:
        repay = min(debt, amount)
        if repay:
            moves.append((lot_id, repay))
            debt -= repay
    return moves


def credit(
    session: Session,
    *,
    tenant_id: int,
    member_id: int,
    points: int,
    kind: str,
    source: str,
    idempotency_key: str,
    reason: str,
    now: datetime,
    available_at: datetime,
    expires_at: datetime | None,
    event_id: int | None = None,
    details: dict[str, Any] | None = None,
    money: Money | None = None,
) -> Credit:
    """Credit points from a program account (`source`) into a new lot, pending or available, with the
    money a coalition partner pays for them in the same entry."""
    if points <= 0:
        raise InvalidInput("points to credit must be positive", field="points")
    accounts = member_accounts(session, tenant_id=tenant_id, member_id=member_id)
    pending = available_at > now
    target = accounts["pending" if pending else "available"]
    legs = [
        Leg(program_accounts(session, tenant_id=tenant_id)[source], -points, member_account=False),
        Leg(target, points, member_account=True),
    ]
    entry_id, posted = post_entry(
        session,
        tenant_id=tenant_id,
        kind=kind,
        idempotency_key=idempotency_key,
        reason=reason,
        now=now,
        member_id=member_id,
        event_id=event_id,
        points=points,
        **with_money(session, tenant_id=tenant_id, legs=legs, details=details, money=money),
    )
    if source == "issued" and earned.counts(idempotency_key):
        earned.add(session, tenant_id=tenant_id, member_id=member_id, points=points, day=day_of(now))
    lot_id = session.execute(
        _INSERT_LOT,
        {
            "tenant_id": tenant_id, "member_id": member_id, "entry_id": entry_id, "event_id": event_id, "amount": points,
            "remaining": points, "released": not pending, "available_at": available_at, "expires_at": expires_at,
        },
    ).scalar_one()
    if not pending:
        balance_before = posted[target].balance_after - points
        _insert_movements(
            session, tenant_id=tenant_id, entry_id=entry_id, moves=_repay_debt_moves([(lot_id, points)], balance_before)
        )
    if kind == "adjust":
        outbox.emit(session, tenant_id=tenant_id, type_="points.adjusted", member_id=member_id, now=now, payload={
            "points": points, "reason": reason, "entry_id": entry_id, "actor": (details or {}).get("actor"),
        })
    else:
        outbox.emit(session, tenant_id=tenant_id, type_="points.earned", member_id=member_id, now=now, payload={
            **outbox.earned_payload(status="pending" if pending else "available", available_at=available_at, expires_at=expires_at,
                                    kind=kind, reason=reason, order_id=(details or {}).get("order_id")),
            "points": points, "entry_id": entry_id, "event_id": event_id,
            **({"partner_id": money.partner_id} if money is not None and money.partner_id is not None else {}),
        })
    return Credit(entry_id, lot_id, points, "pending" if pending else "available", available_at, expires_at)


def release_lot(session: Session, *, tenant_id: int, lot_id: int, now: datetime) -> int:
    """Move a pending lot's remaining points to available; return how many moved (0 if done already)."""
    lot = session.execute(select(Lot).where(Lot.tenant_id == tenant_id, Lot.id == lot_id)).scalar_one()
    accounts = member_accounts(session, tenant_id=tenant_id, member_id=lot.member_id)
    lock_accounts(session, tenant_id=tenant_id, account_ids=[accounts["available"], accounts["pending"]])
    released, remaining = session.execute(
        select(Lot.released, Lot.remaining).where(Lot.id == lot_id).execution_options(populate_existing=True)
    ).one()
    if released:
        return 0
    if remaining == 0:
        session.execute(update(Lot).where(Lot.id == lot_id).values(released=True))
        return 0
    entry_id, posted = post_entry(
        session,
        tenant_id=tenant_id,
        kind="release",
        idempotency_key=f"release:lot:{lot_id}",
        legs=[
            Leg(accounts["pending"], -remaining, member_account=True),
            Leg(accounts["available"], remaining, member_account=True),
        ],
        reason=f"{remaining} points released: return window closed",
        now=now,
        member_id=lot.member_id,
        event_id=lot.event_id,
        points=0,
        details={"lot_id": lot_id, "points": remaining},
    )
    session.execute(update(Lot).where(Lot.id == lot_id).values(released=True))
    balance_before = posted[accounts["available"]].balance_after - remaining
    _insert_movements(
        session, tenant_id=tenant_id, entry_id=entry_id, moves=_repay_debt_moves([(lot_id, remaining)], balance_before)
    )
    outbox.emit(session, tenant_id=tenant_id, type_="points.released", member_id=lot.member_id, now=now, payload={
        "points": remaining, "lot_id": lot_id, "event_id": lot.event_id,
    })
    return remaining


def reschedule_lot(session: Session, *, tenant_id: int, lot_id: int, available_at: datetime, now: datetime) -> int:
    """Give a pending lot a new release time (held points let through: trust/reviews.py), releasing it now when
    that time has come; return the points released."""
    session.execute(update(Lot).where(Lot.tenant_id == tenant_id, Lot.id == lot_id).values(available_at=available_at))
    return release_lot(session, tenant_id=tenant_id, lot_id=lot_id, now=now) if available_at <= now else 0


def points_left(session: Session, *, tenant_id: int, lot_id: int) -> int:
    """What is left in a lot."""
    return int(session.execute(select(Lot.remaining).where(Lot.tenant_id == tenant_id, Lot.id == lot_id)).scalar_one())


def expire_due_for_member(session: Session, *, tenant_id: int, member_id: int, now: datetime) -> int:
    """Expire a member's lots that are past expiry now, before the worker's pass gets to them.

    Spending and clawing back call this first, so points past their expiry are never spent, even
    when the worker runs late. Returns the points expired.
    """
    due = session.execute(
        select(Lot.id)
        .where(
            Lot.tenant_id == tenant_id, Lot.member_id == member_id, Lot.released == True,  # noqa: E712
            Lot.remaining > 0, Lot.expires_at <= now,
        )
        .order_by(Lot.id)
    ).scalars().all()
    return sum(expire_lot(session, tenant_id=tenant_id, lot_id=lot_id, now=now) for lot_id in due)


def debit(
    session: Session,
    *,
    tenant_id: int,
    member_id: int,
    points: int,
    kind: str,
    destination: str,
    idempotency_key: str,
    reason: str,
    now: datetime,
    block_in_debt: bool = True,
    details: dict[str, Any] | None = None,
    money: Money | None = None,
) -> Debit:
    """Spend available points into a program account, soonest-expiring lots first; never overdraws. A
    coalition partner where they are spent is paid `money` in the same entry."""
    if points <= 0:
        raise InvalidInput("points must be a positive integer", field="points")
    accounts = member_accounts(session, tenant_id=tenant_id, member_id=member_id)
    target = accounts["held"] if destination == "held" else program_accounts(session, tenant_id=tenant_id)[destination]
    expire_due_for_member(session, tenant_id=tenant_id, member_id=member_id, now=now)
    legs = [
        Leg(accounts["available"], -points, member_account=True, guarded=True),
        Leg(target, points, member_account=destination == "held"),
    ]
    try:
        entry_id, posted = post_entry(
            session,
            tenant_id=tenant_id,
            kind=kind,
            idempotency_key=idempotency_key,
            reason=reason,
            now=now,
            member_id=member_id,
            points=-points,
            **with_money(session, tenant_id=tenant_id, legs=legs, details=details, money=money),
        )
    except InsufficientPoints:
        balance = session.execute(select(Account.balance).where(Account.id == accounts["available"])).scalar_one()
        if balance < 0 and block_in_debt:
            raise MemberInDebt(f"member owes {-balance} points; redemptions resume once repaid", field="points") from None
        raise InsufficientPoints(
            f"{points} points requested, {max(balance, 0)} available", field="points", available=max(balance, 0)
        ) from None
    moves = _take_from_lots(session, tenant_id=tenant_id, member_id=member_id, points=points, released=True)
    _insert_movements(session, tenant_id=tenant_id, entry_id=entry_id, moves=moves)
    if kind == "adjust":
        outbox.emit(session, tenant_id=tenant_id, type_="points.adjusted", member_id=member_id, now=now, payload={
            "points": -points, "reason": reason, "entry_id": entry_id, "actor": (details or {}).get("actor"),
        })
    elif destination != "held":  # a hold says so itself (hold.created)
        outbox.emit(session, tenant_id=tenant_id, type_="points.redeemed", member_id=member_id, now=now, payload={
            "points": points, "reason": reason, "entry_id": entry_id, "kind": kind,
            **({"partner_id": money.partner_id} if money is not None and money.partner_id is not None else {}),
        })
    return Debit(entry_id, points, posted[accounts["available"]].balance_after)


def restore_lots(
    session: Session, *, tenant_id: int, taken_by_entry: int, entry_id: int, points: int, balance_before: int
) -> None:
    """Give `points` back to the lots an entry took them from, latest-expiring first."""
    taken = session.execute(
        select(LotMovement.lot_id, LotMovement.amount)
        .where(LotMovement.tenant_id == tenant_id, LotMovement.entry_id == taken_by_entry)
        .order_by(LotMovement.id.desc())
    ).all()
    pieces: list[tuple[int, int]] = []
    left = points
    for lot_id, amount in taken:
        if left <= 0:
            break
        back = min(left, amount)
        pieces.append((lot_id, back))
        left -= back
    repaid = dict(_repay_debt_moves(pieces, balance_before))
    _insert_movements(
        session,
        tenant_id=tenant_id,
        entry_id=entry_id,
        moves=[(lot_id, -(back - repaid.get(lot_id, 0))) for lot_id, back in pieces],
    )


def refund(
    session: Session,
    *,
    tenant_id: int,
    member_id: int,
    debit_entry_id: int,
    points: int,
    source: str,
    idempotency_key: str,
    reason: str,
    now: datetime,
    details: dict[str, Any] | None = None,
) -> int:
    """Give back points a debit spent (a cancelled reward) from the program account they went to, onto
    the lots they came from, with the same share of any money the debit paid a partner; points whose lot
    has expired since expire again at once. Return the entry id."""
    accounts = member_accounts(session, tenant_id=tenant_id, member_id=member_id)
    lock_accounts(session, tenant_id=tenant_id, account_ids=[accounts["available"]])
    legs = [
        Leg(program_accounts(session, tenant_id=tenant_id)[source], -points, member_account=False),
        Leg(accounts["available"], points, member_account=True),
    ]
    money = following(session, tenant_id=tenant_id, entry_id=debit_entry_id, quantity=points)
    entry_id, posted = post_entry(
        session,
        tenant_id=tenant_id,
        kind="reverse",
        idempotency_key=idempotency_key,
        reason=reason,
        now=now,
        member_id=member_id,
        points=points,
        reverses_entry_id=debit_entry_id,
        **with_money(session, tenant_id=tenant_id, legs=legs, details=details, money=money),
    )
    restore_lots(
        session, tenant_id=tenant_id, taken_by_entry=debit_entry_id, entry_id=entry_id, points=points,
        balance_before=posted[accounts["available"]].balance_after - points,
    )
    expire_due_for_member(session, tenant_id=tenant_id, member_id=member_id, now=now)
    return entry_id


def claw_back(
    session: Session,
    *,
    tenant_id: int,
    member_id: int,
    points: int,
    lot_id: int | None,
    idempotency_key: str,
    reason: str,
    now: datetime,
    event_id: int | None = None,
    details: dict[str, Any] | None = None,
    reverses_entry_id: int | None = None,
) -> Debit:
    """Take back points an award credited: its own lot first (while pending), then available points, then
    debt. `reverses_entry_id` names the credit taken back (points earned count on that credit's date)."""
    accounts = member_accounts(session, tenant_id=tenant_id, member_id=member_id)
    lock_accounts(session, tenant_id=tenant_id, account_ids=[accounts["available"], accounts["pending"]])
    expire_due_for_member(session, tenant_id=tenant_id, member_id=member_id, now=now)
    own = None
    if lot_id is not None:
        own = session.execute(
            select(Lot.id, Lot.remaining, Lot.released).where(
                Lot.tenant_id == tenant_id, Lot.id == lot_id, Lot.member_id == member_id
            )
        ).first()
    from_pending = min(points, own.remaining) if own is not None and not own.released else 0
    from_available = points - from_pending
    legs = [Leg(program_accounts(session, tenant_id=tenant_id)["issued"], points, member_account=False)]
    if from_pending:
        legs.append(Leg(accounts["pending"], -from_pending, member_account=True))
    if from_available:
        legs.append(Leg(accounts["available"], -from_available, member_account=True))
    # The same share of the money the credit carried goes back (a coalition partner is repaid).
    money = following(session, tenant_id=tenant_id, entry_id=reverses_entry_id, quantity=points) if reverses_entry_id else None
    entry_id, posted = post_entry(
        session,
        tenant_id=tenant_id,
        kind="reverse",
        idempotency_key=idempotency_key,
        reason=reason,
        now=now,
        member_id=member_id,
        event_id=event_id,
        points=-points,
        reverses_entry_id=reverses_entry_id,
        **with_money(session, tenant_id=tenant_id, legs=legs, details=details, money=money),
    )
    if earned.counts(idempotency_key):
        credited_on = earned.credited_on(session, tenant_id=tenant_id, entry_id=reverses_entry_id) if reverses_entry_id else None
        earned.add(session, tenant_id=tenant_id, member_id=member_id, points=-points, day=credited_on or day_of(now))
    moves: list[tuple[int, int]] = []
    if from_pending and own is not None:
        moves.append((own.id, from_pending))
    if from_available:
        first = own.id if own is not None and own.released else None
        moves += _take_from_lots(
            session, tenant_id=tenant_id, member_id=member_id, points=from_available, released=True, first_lot_id=first
        )
    _insert_movements(session, tenant_id=tenant_id, entry_id=entry_id, moves=moves)
    outbox.emit(session, tenant_id=tenant_id, type_="points.reversed", member_id=member_id, now=now, payload={
        "points": points, "reason": reason, "entry_id": entry_id, "reverses_entry_id": reverses_entry_id, "event_id": event_id,
        **({"partner_id": money.partner_id} if money is not None and money.partner_id is not None else {}),
    })
    if from_available:
        return Debit(entry_id, points, posted[accounts["available"]].balance_after)
    return Debit(entry_id, points, session.execute(select(Account.balance).where(Account.id == accounts["available"])).scalar_one())


def expire_lot(session: Session, *, tenant_id: int, lot_id: int, now: datetime) -> int:
    """Expire what is left of a released lot past its expiry; return the points expired."""
    lot = session.execute(select(Lot).where(Lot.tenant_id == tenant_id, Lot.id == lot_id)).scalar_one()
    accounts = member_accounts(session, tenant_id=tenant_id, member_id=lot.member_id)
    lock_accounts(session, tenant_id=tenant_id, account_ids=[accounts["available"]])
    released, remaining, _amount, expires_at = session.execute(
        select(Lot.released, Lot.remaining, Lot.amount, Lot.expires_at).where(Lot.id == lot_id)
    ).one()
    if not released or remaining <= 0 or expires_at is None or expires_at > now:
        return 0
    # Everything ever taken from the lot: it grows with each expiry, whereas `amount - remaining`
    # repeats once a void or partial capture gives expired points back to the lot.
    taken = session.execute(
        select(func.coalesce(func.sum(LotMovement.amount), 0)).where(LotMovement.lot_id == lot_id, LotMovement.amount > 0)
    ).scalar_one()
    legs = [
        Leg(accounts["available"], -remaining, member_account=True),
        Leg(program_accounts(session, tenant_id=tenant_id)["expired"], remaining, member_account=False),
    ]
    # Points a coalition partner paid for: their value goes to breakage (or back to the partner).
    money = breakage(session, tenant_id=tenant_id, lot_id=lot_id, points=remaining)
    entry_id, _ = post_entry(
        session,
        tenant_id=tenant_id,
        kind="expire",
        # Derived from the lot's state, so two workers expiring the same lot collide here.
        idempotency_key=f"expire:lot:{lot_id}:{taken}",
        reason="points expired",
        now=now,
        member_id=lot.member_id,
        event_id=lot.event_id,
        points=-remaining,
        **with_money(session, tenant_id=tenant_id, legs=legs, details={"lot_id": lot_id, "expired_at": expires_at.isoformat()}, money=money),
    )
    _insert_movements(session, tenant_id=tenant_id, entry_id=entry_id, moves=[(lot_id, remaining)])
    outbox.emit(session, tenant_id=tenant_id, type_="points.expired", member_id=lot.member_id, now=now, payload={
        "points": remaining, "lot_id": lot_id, "entry_id": entry_id,
    })
    return remaining


def lot_of_event(session: Session, *, tenant_id: int, event_id: int) -> Lot | None:
    """The lot an event's base earn created (None if it earned nothing); rule awards have lots of their own."""
    return session.execute(
        select(Lot)
        .join(Entry, Entry.id == Lot.entry_id)
        .where(Lot.tenant_id == tenant_id, Lot.event_id == event_id, Entry.idempotency_key == f"earn:event:{event_id}")
    ).scalar_one_or_none()


def open_lots(session: Session, *, tenant_id: int, member_id: int, limit: int = 100) -> list[Lot]:
    """A member's lots with points left, soonest to expire first (what a redemption spends first)."""
    return list(session.execute(
        select(Lot).where(Lot.tenant_id == tenant_id, Lot.member_id == member_id, Lot.remaining > 0)
        .order_by(Lot.expires_at.is_(None), Lot.expires_at, Lot.id).limit(limit)
    ).scalars())
