"""Money that points carry in a coalition, posted in the same entry as the points: between a partner and
the operator, in minor units of the partner's settlement currency.

Signs follow the member accounts': a partner account's balance is what the operator owes that partner
(negative: what the partner owes the operator). The operator's side is three program accounts per
currency: the `coalition_fund` (money held for points outstanding), its `commission` and its `breakage`.
An earn at partner A: A -X, fund +(X - fee), commission +fee. A redemption at B: B +(Y - fee), fund -Y,
commission +fee. Every entry balances per unit, so a period's postings to partners and operator sum to zero.

The money an entry carries follows its points: a reversal of part of the points (a return, a cancelled
redemption) moves the same share of the money back, and an expiry moves the expired share of what the
points were paid for to the operator's breakage or back to the partner, as the earn recorded. Shares
are cumulative (share of the first k points = trunc(amount * k / points)), so the pieces of many partial
reversals add up exactly to the whole, and no rounding remainder is ever lost.

A partner's money is settled by period; `closed_through` marks where its open period starts. Writers
take a shared lock on the partner and date their entry no earlier than that; closing takes the lock
exclusively, so once a period closes no entry can still land in it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, aliased

from wafa.db import insert_unless_exists
from wafa.ledger.accounts import account_id
from wafa.ledger.models import Account, Entry, Lot, LotMovement, MoneyPeriod, Posting
from wafa.ledger.postings import Leg

PARTNER_KIND = "settlement"
FUND, COMMISSION, BREAKAGE = "coalition_fund", "commission", "breakage"
OPERATOR_KINDS = (FUND, COMMISSION, BREAKAGE, "cashback", "wallet_spent")
# A partner's own points currency (brought into the coalition at an exchange rate) has its own unit.
OWN_POINTS_KIND = "own_points"
BREAKAGE_POLICIES = ("operator", "partners")


@dataclass(frozen=True, slots=True)
class Money:
    """What an entry carries beside its points: money legs, the partner where it happened, and what
    the entry's details record of it (the partner, the breakage policy the points were sold under)."""

    partner_id: int | None
    legs: tuple[Leg, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)


def own_points_unit(partner_id: int) -> str:
    """The ledger unit of a partner's own points (an account's unit has at most 8 characters)."""
    return f"P{partner_id}"


def partner_account(session: Session, *, tenant_id: int, partner_id: int, unit: str, kind: str = PARTNER_KIND) -> int:
    """The id of a partner's money account in a currency (or of its own points), opened on first use."""
    return account_id(session, tenant_id=tenant_id, owner=f"partner:{partner_id}", member_id=None, kind=kind, currency=unit)


def operator_account(session: Session, *, tenant_id: int, kind: str, currency: str) -> int:
    """The id of one of the operator's money accounts in a currency, opened on first use."""
    return account_id(session, tenant_id=tenant_id, owner="program", member_id=None, kind=kind, currency=currency)


def member_own_points_account(session: Session, *, tenant_id: int, member_id: int, partner_id: int) -> int:
    """The member's account of a partner's own points: the remainder an exchange could not convert."""
    return account_id(
        session, tenant_id=tenant_id, owner=f"member:{member_id}", member_id=member_id, kind=OWN_POINTS_KIND,
        currency=own_points_unit(partner_id),
    )


def _lock_key(tenant_id: int, partner_id: int) -> int:
    digest = hashlib.sha256(f"wafa:settlement:{tenant_id}:{partner_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def period_floor(session: Session, *, tenant_id: int, partner_id: int) -> datetime | None:
    """Where the partner's open settlement period starts (None: nothing closed yet), read under a shared
    lock that a closing waits for: an entry dated from here cannot land in a period being closed."""
    if session.get_bind().dialect.name == "postgresql":
        # One round trip: the function takes the lock, then reads with a snapshot taken after it (a
        # VOLATILE function's queries see what committed while it waited; migration 0035).
        return session.execute(
            text("SELECT wafa_money_floor(:t, :p, :k)"), {"t": tenant_id, "p": partner_id, "k": _lock_key(tenant_id, partner_id)},
        ).scalar_one()
    # SQLite: every writing transaction holds the database's write lock (BEGIN IMMEDIATE) already.
    return session.execute(
        select(MoneyPeriod.closed_through).where(MoneyPeriod.tenant_id == tenant_id, MoneyPeriod.partner_id == partner_id)
    ).scalar_one_or_none()


def close_period(session: Session, *, tenant_id: int, partner_id: int, through: datetime) -> None:
    """Close a partner's money up to `through`: waits for entries being written, and later ones are
    dated from `through` on. Closing never moves back."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _lock_key(tenant_id, partner_id)})
    inserted = insert_unless_exists(
        session, MoneyPeriod, {"tenant_id": tenant_id, "partner_id": partner_id, "closed_through": through},
        conflict=["tenant_id", "partner_id"], returning=[MoneyPeriod.partner_id],
    ).first()
    if inserted is None:
        row = session.get(MoneyPeriod, (tenant_id, partner_id), populate_existing=True)
        assert row is not None
        if through > row.closed_through:
            row.closed_through = through
            session.flush()


def coalition_details(details: dict[str, Any] | None, money: Money) -> dict[str, Any]:
    """An entry's details with what it records of the money it carries."""
    return {**(details or {}), "coalition": {"partner_id": money.partner_id, **money.details}}


def statement_params(money: Money | None, *, tenant_id: int) -> dict[str, Any]:
    """The parameters of earn_statement.py's money: the partner, the key of its settlement lock (None when
    no money moves), and the legs as arrays."""
    legs = money.legs if money is not None else ()
    partner_id = money.partner_id if money is not None else None
    return {
        "partner": partner_id,
        "floor_key": _lock_key(tenant_id, partner_id) if legs and partner_id is not None else None,
        "money_accounts": [leg.account_id for leg in legs], "money_units": [leg.unit for leg in legs],
        "money_amounts": [leg.amount for leg in legs],
    }


def with_money(
    session: Session, *, tenant_id: int, legs: list[Leg], details: dict[str, Any] | None, money: Money | None,
) -> dict[str, Any]:
    """The arguments post_entry takes for an entry's points legs with the money it carries."""
    if money is None:
        return {"legs": legs, "details": details}
    dated_from = None
    if money.partner_id is not None and money.legs:
        dated_from = period_floor(session, tenant_id=tenant_id, partner_id=money.partner_id)
    return {
        "legs": [*legs, *money.legs], "partner_id": money.partner_id, "dated_from": dated_from,
        "details": coalition_details(details, money),
    }


def share(amount: int, before: int, after: int, whole: int) -> int:
    """The part of `amount` that points `before`..`after` of `whole` carry: trunc(amount * after / whole)
    less trunc(amount * before / whole), so the parts of the whole add up to `amount` exactly."""

    def upto(k: int) -> int:
        part = abs(amount) * k // whole
        return part if amount >= 0 else -part

    return upto(after) - upto(before)


def _balanced(pieces: list[tuple[int, str, int, str]], before: int, after: int, whole: int, sign: int) -> tuple[Leg, ...]:
    """Legs moving each (account, unit, amount, _) posting's share; in each unit the largest posting takes
    what the others leave, so the legs balance (and over all shares each posting moves exactly its amount)."""
    legs: list[Leg] = []
    for unit in sorted({unit for _, unit, _, _ in pieces}):
        same = sorted((p for p in pieces if p[1] == unit), key=lambda p: (-abs(p[2]), p[0]))
        rest = [Leg(acct, sign * share(amount, before, after, whole), member_account=False, unit=unit) for acct, _, amount, _ in same[1:]]
        legs.append(Leg(same[0][0], -sum(leg.amount for leg in rest), member_account=False, unit=unit))
        legs += rest
    return tuple(leg for leg in legs if leg.amount)


def _money_postings(session: Session, *, tenant_id: int, entry_id: int) -> list[tuple[int, str, int, str]]:
    """(account, unit, amount, account kind) of an entry's money postings on partner and operator accounts."""
    rows = session.execute(
        select(Posting.account_id, Posting.unit, Posting.amount, Account.kind)
        .join(Account, Account.id == Posting.account_id)
        .where(Posting.entry_id == entry_id, Posting.tenant_id == tenant_id, Account.member_id.is_(None),
               Account.kind.in_((PARTNER_KIND, *OPERATOR_KINDS)), Posting.unit != "PTS")
    ).all()
    return [(account, unit, amount, kind) for account, unit, amount, kind in rows]


def _member_side(session: Session, *, tenant_id: int, entry_ids: Any) -> dict[str, int]:
    """What entries moved on members' points and wallet accounts, net, by unit."""
    rows = session.execute(
        select(Posting.unit, func.sum(Posting.amount))
        .join(Account, Account.id == Posting.account_id)
        .where(Posting.tenant_id == tenant_id, Posting.entry_id.in_(entry_ids), Account.member_id.is_not(None),
               Account.kind != OWN_POINTS_KIND)
        .group_by(Posting.unit)
    ).all()
    return {unit: int(total) for unit, total in rows}


def following(session: Session, *, tenant_id: int, entry_id: int, quantity: int) -> Money | None:
    """The money a reversal of `quantity` (points, or wallet money) of entry `entry_id` moves back, in
    proportion to what the entry moved for the member (None: the entry carries no money). Called before
    the reversal is posted, which names `entry_id` as the entry it reverses."""
    entry = session.execute(
        select(Entry.partner_id, Entry.details).where(Entry.tenant_id == tenant_id, Entry.id == entry_id)
    ).one_or_none()
    if entry is None or entry.partner_id is None:
        return None
    coalition = (entry.details or {}).get("coalition", {})
    base = Money(entry.partner_id, (), {"follows_entry_id": entry_id, "breakage": coalition.get("breakage")})
    pieces = _money_postings(session, tenant_id=tenant_id, entry_id=entry_id)
    moved = {unit: total for unit, total in _member_side(session, tenant_id=tenant_id, entry_ids=[entry_id]).items() if total}
    if not pieces or len(moved) != 1:
        return base
    (unit, total), = moved.items()
    earlier = select(Entry.id).where(Entry.tenant_id == tenant_id, Entry.reverses_entry_id == entry_id).scalar_subquery()
    whole = abs(total)
    before = min(whole, abs(_member_side(session, tenant_id=tenant_id, entry_ids=earlier).get(unit, 0)))
    after = min(whole, before + abs(quantity))
    return Money(entry.partner_id, _balanced(pieces, before, after, whole, sign=-1), base.details)


def breakage(session: Session, *, tenant_id: int, lot_id: int, points: int) -> Money | None:
    """What expiring `points` of a lot moves of the money its points were paid for: from the fund to
    the operator's breakage, or back to the partner that paid, by the policy the earn recorded (None:
    the lot's points carried no money)."""
    earn = aliased(Entry)
    row = session.execute(
        select(Lot.amount, earn.id, earn.partner_id, earn.details)
        .join(earn, earn.id == Lot.entry_id)
        .where(Lot.tenant_id == tenant_id, Lot.id == lot_id)
    ).one_or_none()
    if row is None or row.partner_id is None:
        return None
    coalition = (row.details or {}).get("coalition", {})
    policy = coalition.get("breakage", "operator")
    details = {"lot_id": lot_id, "breakage": policy}
    funded = [p for p in _money_postings(session, tenant_id=tenant_id, entry_id=row.id) if p[3] == FUND]
    if not funded:
        return Money(row.partner_id, (), details)
    fund_account, currency, paid, _ = funded[0]
    before = session.execute(
        select(func.coalesce(func.sum(LotMovement.amount), 0))
        .join(Entry, Entry.id == LotMovement.entry_id)
        .where(LotMovement.tenant_id == tenant_id, LotMovement.lot_id == lot_id, Entry.kind == "expire")
    ).scalar_one()
    value = share(paid, int(before), min(row.amount, int(before) + points), row.amount)
    if value <= 0:
        return Money(row.partner_id, (), details)
    to = (
        partner_account(session, tenant_id=tenant_id, partner_id=row.partner_id, unit=currency) if policy == "partners"
        else operator_account(session, tenant_id=tenant_id, kind=BREAKAGE, currency=currency)
    )
    legs = (Leg(fund_account, -value, member_account=False, unit=currency), Leg(to, value, member_account=False, unit=currency))
    return Money(row.partner_id, legs, details)


def period_totals(
    session: Session, *, tenant_id: int, partner_id: int, start: datetime | None, end: datetime,
) -> list[tuple[str, str, str, int]]:
    """(entry kind, account kind, unit, amount) of the money posted in a partner's entries dated in
    [start, end), summed: the partner's side (`settlement`) and the operator's (fund, commission, ...,
    and the members' wallets, which the operator owes); and, in unit PTS, the points on the program's
    accounts (issued, redeemed, ...), so one pass over the entries gives a statement's points too."""
    query = (
        select(Entry.kind, Account.kind, Posting.unit, func.sum(Posting.amount))
        .select_from(Entry)
        .join(Posting, Posting.entry_id == Entry.id)
        .join(Account, Account.id == Posting.account_id)
        .where(Entry.tenant_id == tenant_id, Entry.partner_id == partner_id, Entry.created_at < end,
               ((Posting.unit != "PTS") & (Account.kind != OWN_POINTS_KIND)) | ((Posting.unit == "PTS") & (Account.owner == "program")))
        .group_by(Entry.kind, Account.kind, Posting.unit)
    )
    if start is not None:
        query = query.where(Entry.created_at >= start)
    return [(kind, account_kind, unit, int(amount)) for kind, account_kind, unit, amount in session.execute(query)]


def period_points(session: Session, *, tenant_id: int, partner_id: int, start: datetime | None, end: datetime) -> dict[str, int]:
    """Points moved by a partner's entries dated in [start, end), by entry kind (earn, redeem, expire, ...)."""
    query = (
        select(Entry.kind, func.sum(Entry.points))
        .where(Entry.tenant_id == tenant_id, Entry.partner_id == partner_id, Entry.created_at < end)
        .group_by(Entry.kind)
    )
    if start is not None:
        query = query.where(Entry.created_at >= start)
    return {kind: int(points or 0) for kind, points in session.execute(query)}


def held_points_moved(session: Session, *, tenant_id: int, partner_id: int, start: datetime | None, end: datetime) -> int:
    """Points captured at the partner in [start, end): a capture entry's own `points` count what the
    member got back, so its captured points are read from its postings to the program's redeemed account."""
    query = (
        select(func.coalesce(func.sum(Posting.amount), 0))
        .select_from(Entry)
        .join(Posting, Posting.entry_id == Entry.id)
        .join(Account, Account.id == Posting.account_id)
        .where(Entry.tenant_id == tenant_id, Entry.partner_id == partner_id, Entry.kind == "capture", Entry.created_at < end,
               Account.owner == "program", Account.kind == "redeemed", Account.unit == "PTS")
    )
    if start is not None:
        query = query.where(Entry.created_at >= start)
    return int(session.execute(query).scalar_one())


def flows(session: Session, *, tenant_id: int, start: datetime | None, end: datetime) -> list[tuple[int | None, int | None, int]]:
    """(partner where points were earned, partner where they were spent, points) for points spent in
    [start, end): what redemptions, holds and their voids took from lots, traced to the lot's earn."""
    earn = aliased(Entry)
    spend = aliased(Entry)
    query = (
        select(earn.partner_id, spend.partner_id, func.sum(LotMovement.amount))
        .select_from(LotMovement)
        .join(spend, spend.id == LotMovement.entry_id)
        .join(Lot, Lot.id == LotMovement.lot_id)
        .join(earn, earn.id == Lot.entry_id)
        .where(LotMovement.tenant_id == tenant_id, spend.kind.in_(("redeem", "hold", "capture", "void")),
               spend.created_at < end)
        .group_by(earn.partner_id, spend.partner_id)
    )
    if start is not None:
        query = query.where(spend.created_at >= start)
    # A hold voided in this window but made before it gives back points spent in an earlier one: left out.
    return [(a, b, int(points)) for a, b, points in session.execute(query) if points > 0]


def member_own_points(session: Session, *, tenant_id: int, member_id: int) -> dict[str, int]:
    """A member's balances of partners' own points, by unit (what exchanges kept, short of a whole point)."""
    rows = session.execute(
        select(Account.unit, Account.balance).where(
            Account.tenant_id == tenant_id, Account.owner == f"member:{member_id}", Account.kind == OWN_POINTS_KIND,
        )
    ).all()
    return {unit: int(balance) for unit, balance in rows}


# Entries that are a member's visit to a partner: a purchase that earned there, points spent there.
VISIT_KINDS = ("earn", "redeem", "capture")


def partner_reach(
    session: Session, *, tenant_id: int, partner_id: int, start: datetime | None, end: datetime,
) -> list[tuple[int, int, int]]:
    """(other partner, visits, members) for a partner's customers (members who earned or spent there before
    `end`) at the coalition's other partners in [start, end): counts only, never who. A visit is an
    earning or a spending entry (VISIT_KINDS); `members` counts each customer once per other partner."""
    customers = select(Entry.member_id).where(
        Entry.tenant_id == tenant_id, Entry.partner_id == partner_id, Entry.kind.in_(VISIT_KINDS), Entry.created_at < end,
        Entry.member_id.is_not(None),
    )
    query = (
        select(Entry.partner_id, func.count(), func.count(func.distinct(Entry.member_id)))
        .where(Entry.tenant_id == tenant_id, Entry.partner_id.is_not(None), Entry.partner_id != partner_id,
               Entry.kind.in_(VISIT_KINDS), Entry.created_at < end, Entry.member_id.in_(customers))
        .group_by(Entry.partner_id)
    )
    if start is not None:
        query = query.where(Entry.created_at >= start)
    found = [(int(other), int(visits), int(members)) for other, visits, members in session.execute(query) if other is not None]
    return sorted(found, key=lambda row: (-row[1], row[0]))
