"""Ledger behaviour: open accounts, credit lots, release, spend, hold, claw back, expire, adjust."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, bindparam, func, insert, select, text, update
from sqlalchemy.orm import Session

from wafa.db import UTCDateTime, bulk_insert
from wafa.errors import Conflict, InsufficientPoints, InvalidInput, MemberInDebt, NotFound
from wafa.ledger import earned
from wafa.ledger.models import MEMBER_KINDS, PROGRAM_KINDS, Account, Entry, Hold, Lot, LotMovement
from wafa.ledger.postings import Leg, post_entry

# Account ids never change once created, so they are cached for the life of the process, per
# database: a process that talks to two (the tests: SQLite and PostgreSQL) sees the same tenant
# and member ids name different accounts in each.
_program_accounts: dict[tuple[object, int], dict[str, int]] = {}
_member_accounts: dict[tuple[object, int, int], dict[str, int]] = {}


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


def opened_here(session: Session, owner: str) -> bool:
    """Whether this transaction opened `owner`'s accounts: their ids must not be cached until it commits
    (a rollback would leave the cache naming rows that never existed, and SQLite reuses their ids)."""
    return owner in session.info.get("opened_owners", ())


def _mark_opened(session: Session, owner: str) -> None:
    session.info.setdefault("opened_owners", set()).add(owner)


def open_program_accounts(session: Session, *, tenant_id: int) -> dict[str, int]:
    """Create the program-side accounts of a tenant; return their ids by kind."""
    _mark_opened(session, f"program:{tenant_id}")
    ids = {}
    for kind in PROGRAM_KINDS:
        ids[kind] = session.execute(
            insert(Account)
            .values(tenant_id=tenant_id, owner="program", kind=kind, unit="PTS", balance=0, seq=0)
            .returning(Account.id)
        ).scalar_one()
    return ids


def open_member_accounts(session: Session, *, tenant_id: int, member_id: int) -> dict[str, int]:
    """Create a member's available, pending and held accounts; return their ids by kind."""
    _mark_opened(session, f"member:{member_id}")
    ids = {}
    for kind in MEMBER_KINDS:
        ids[kind] = session.execute(
            insert(Account)
            .values(
                tenant_id=tenant_id, owner=f"member:{member_id}", member_id=member_id, kind=kind, unit="PTS", balance=0, seq=0
            )
            .returning(Account.id)
        ).scalar_one()
    return ids


def program_accounts(session: Session, *, tenant_id: int) -> dict[str, int]:
    """Return the ids of the program's accounts by kind."""
    key = (session.get_bind().engine, tenant_id)
    cached = _program_accounts.get(key)
    if cached is None:
        rows = session.execute(
            # Points accounts only: the program's wallet accounts (cashback, wallet_spent) are per currency.
            select(Account.kind, Account.id).where(Account.tenant_id == tenant_id, Account.owner == "program", Account.unit == "PTS")
        ).all()
        cached = dict(rows)
        if set(cached) != set(PROGRAM_KINDS):
            raise NotFound(f"tenant {tenant_id} has no ledger")
        if not opened_here(session, f"program:{tenant_id}"):
            _program_accounts[key] = cached
    return cached


def member_accounts(session: Session, *, tenant_id: int, member_id: int) -> dict[str, int]:
    """Return the ids of a member's accounts by kind."""
    key = (session.get_bind().engine, tenant_id, member_id)
    cached = _member_accounts.get(key)
    if cached is None:
        rows = session.execute(
            select(Account.kind, Account.id).where(
                Account.tenant_id == tenant_id, Account.owner == f"member:{member_id}", Account.unit == "PTS"
            )
        ).all()
        cached = dict(rows)
        if set(cached) != set(MEMBER_KINDS):
            raise NotFound("member has no points accounts")
        if len(_member_accounts) > 200_000:
            _member_accounts.clear()
        if not opened_here(session, f"member:{member_id}"):
            _member_accounts[key] = cached
    return cached


def lock_accounts(session: Session, *, tenant_id: int, account_ids: list[int]) -> dict[int, int]:
    """Lock member accounts (row locks on PostgreSQL) in id order; return their balances."""
    rows = session.execute(_LOCK_ACCOUNTS, {"t": tenant_id, "ids": account_ids}).all()
    return dict(rows)


_LOCK_ACCOUNTS = (
    select(Account.id, Account.balance)
    .where(Account.tenant_id == bindparam("t"), Account.id.in_(bindparam("ids", expanding=True)))
    .order_by(Account.id)
    .with_for_update()
)


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
) -> Credit:
    """Credit points from a program account (`source`) into a new lot, pending or available."""
    if points <= 0:
        raise InvalidInput("points to credit must be positive", field="points")
    accounts = member_accounts(session, tenant_id=tenant_id, member_id=member_id)
    pending = available_at > now
    target = accounts["pending" if pending else "available"]
    entry_id, posted = post_entry(
        session,
        tenant_id=tenant_id,
        kind=kind,
        idempotency_key=idempotency_key,
        legs=[
            Leg(program_accounts(session, tenant_id=tenant_id)[source], -points, member_account=False),
            Leg(target, points, member_account=True),
        ],
        reason=reason,
        now=now,
        member_id=member_id,
        event_id=event_id,
        points=points,
        details=details,
    )
    if source == "issued" and earned.counts(idempotency_key):
        earned.add(session, tenant_id=tenant_id, member_id=member_id, points=points, day=earned.day_of(now))
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
    return remaining


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
) -> Debit:
    """Spend available points into a program account, soonest-expiring lots first; never overdraws."""
    if points <= 0:
        raise InvalidInput("points must be a positive integer", field="points")
    accounts = member_accounts(session, tenant_id=tenant_id, member_id=member_id)
    target = accounts["held"] if destination == "held" else program_accounts(session, tenant_id=tenant_id)[destination]
    expire_due_for_member(session, tenant_id=tenant_id, member_id=member_id, now=now)
    try:
        entry_id, posted = post_entry(
            session,
            tenant_id=tenant_id,
            kind=kind,
            idempotency_key=idempotency_key,
            legs=[
                Leg(accounts["available"], -points, member_account=True, guarded=True),
                Leg(target, points, member_account=destination == "held"),
            ],
            reason=reason,
            now=now,
            member_id=member_id,
            points=-points,
            details=details,
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
    return Debit(entry_id, points, posted[accounts["available"]].balance_after)


def hold(
    session: Session, *, tenant_id: int, member_id: int, points: int, reason: str, now: datetime, ttl_seconds: int,
    block_in_debt: bool = True,
) -> Hold:
    """Reserve available points for a till; the hold must be captured or voided, or it lapses."""
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
    session: Session, *, tenant_id: int, hold_id: int, action: str, now: datetime, points: int | None = None
) -> Hold:
    """Capture (all or part), void or lapse an open hold, exactly once."""
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
    entry_id, posted = post_entry(
        session,
        tenant_id=tenant_id,
        kind="capture" if capture else "void",
        idempotency_key=f"resolve:hold:{hold_id}",
        legs=legs,
        reason=f"hold {hold_id} {status}" + (f" ({capture} of {current.points} points)" if capture else ""),
        now=now,
        member_id=member_id,
        points=give_back,
        details={"hold_id": hold_id, "captured": capture, "returned": give_back},
    )
    if give_back:
        _restore_lots(
            session,
            tenant_id=tenant_id,
            taken_by_entry=current.hold_entry_id,
            entry_id=entry_id,
            points=give_back,
            balance_before=posted[accounts["available"]].balance_after - give_back,
        )
    session.execute(update(Hold).where(Hold.id == hold_id).values(resolution_entry_id=entry_id))
    return get_hold_or_raise(session, tenant_id=tenant_id, hold_id=hold_id)


def _restore_lots(
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
    the lots they came from; points whose lot has expired since expire again at once. Return the entry id."""
    accounts = member_accounts(session, tenant_id=tenant_id, member_id=member_id)
    lock_accounts(session, tenant_id=tenant_id, account_ids=[accounts["available"]])
    entry_id, posted = post_entry(
        session,
        tenant_id=tenant_id,
        kind="reverse",
        idempotency_key=idempotency_key,
        legs=[
            Leg(program_accounts(session, tenant_id=tenant_id)[source], -points, member_account=False),
            Leg(accounts["available"], points, member_account=True),
        ],
        reason=reason,
        now=now,
        member_id=member_id,
        points=points,
        details=details,
    )
    _restore_lots(
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
    entry_id, posted = post_entry(
        session,
        tenant_id=tenant_id,
        kind="reverse",
        idempotency_key=idempotency_key,
        legs=legs,
        reason=reason,
        now=now,
        member_id=member_id,
        event_id=event_id,
        points=-points,
        details=details,
        reverses_entry_id=reverses_entry_id,
    )
    if earned.counts(idempotency_key):
        credited_on = earned.credited_on(session, tenant_id=tenant_id, entry_id=reverses_entry_id) if reverses_entry_id else None
        earned.add(session, tenant_id=tenant_id, member_id=member_id, points=-points, day=credited_on or earned.day_of(now))
    moves: list[tuple[int, int]] = []
    if from_pending and own is not None:
        moves.append((own.id, from_pending))
    if from_available:
        first = own.id if own is not None and own.released else None
        moves += _take_from_lots(
            session, tenant_id=tenant_id, member_id=member_id, points=from_available, released=True, first_lot_id=first
        )
    _insert_movements(session, tenant_id=tenant_id, entry_id=entry_id, moves=moves)
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
    entry_id, _ = post_entry(
        session,
        tenant_id=tenant_id,
        kind="expire",
        # Derived from the lot's state, so two workers expiring the same lot collide here.
        idempotency_key=f"expire:lot:{lot_id}:{taken}",
        legs=[
            Leg(accounts["available"], -remaining, member_account=True),
            Leg(program_accounts(session, tenant_id=tenant_id)["expired"], remaining, member_account=False),
        ],
        reason="points expired",
        now=now,
        member_id=lot.member_id,
        event_id=lot.event_id,
        points=-remaining,
        details={"lot_id": lot_id, "expired_at": expires_at.isoformat()},
    )
    _insert_movements(session, tenant_id=tenant_id, entry_id=entry_id, moves=[(lot_id, remaining)])
    return remaining


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


def balances(session: Session, *, tenant_id: int, member_id: int) -> dict[str, int]:
    """Return the cached balances of a member's accounts by kind."""
    rows = session.execute(
        # By owner, the unique key's prefix: there is no index on member_id, and every answer reads this.
        select(Account.kind, Account.balance).where(
            Account.tenant_id == tenant_id, Account.owner == f"member:{member_id}", Account.unit == "PTS"
        )
    ).all()
    return dict(rows)


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


def lot_of_event(session: Session, *, tenant_id: int, event_id: int) -> Lot | None:
    """The lot an event's base earn created (None if it earned nothing); rule awards have lots of their own."""
    return session.execute(
        select(Lot)
        .join(Entry, Entry.id == Lot.entry_id)
        .where(Lot.tenant_id == tenant_id, Lot.event_id == event_id, Entry.idempotency_key == f"earn:event:{event_id}")
    ).scalar_one_or_none()



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


def open_member_accounts_many(session: Session, *, tenant_id: int, member_ids: list[int]) -> None:
    """Open the points accounts of many new members in one statement per batch (bulk imports)."""
    for member_id in member_ids:
        _mark_opened(session, f"member:{member_id}")  # not cached before commit, as for one member
    rows = [
        {"tenant_id": tenant_id, "owner": f"member:{member_id}", "member_id": member_id, "kind": kind, "unit": "PTS", "balance": 0, "seq": 0}
        for member_id in member_ids
        for kind in MEMBER_KINDS
    ]
    bulk_insert(session, Account, rows)


def export_rows(session: Session, *, tenant_id: int) -> Iterator[dict]:
    """Every journal entry of the tenant as a flat record, in id order, streamed (details as JSON text)."""
    columns = (Entry.id, Entry.created_at, Entry.kind, Entry.member_id, Entry.points, Entry.reason, Entry.idempotency_key,
               Entry.event_id, Entry.reverses_entry_id, Entry.details)
    query = select(*columns).where(Entry.tenant_id == tenant_id).order_by(Entry.id).execution_options(yield_per=5000)
    for row in session.execute(query):
        record = dict(row._mapping)
        record["details"] = json.dumps(record["details"], ensure_ascii=False) if record["details"] is not None else None
        yield record


def open_lots(session: Session, *, tenant_id: int, member_id: int, limit: int = 100) -> list[Lot]:
    """A member's lots with points left, soonest to expire first (what a redemption spends first)."""
    return list(session.execute(
        select(Lot).where(Lot.tenant_id == tenant_id, Lot.member_id == member_id, Lot.remaining > 0)
        .order_by(Lot.expires_at.is_(None), Lot.expires_at, Lot.id).limit(limit)
    ).scalars())
