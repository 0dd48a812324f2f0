"""Spends soon after a start: the members who redeemed points or paid with wallet money within some hours
of a moment of their own (their enrolment, given by the caller as rows to join to), with each spend,
for the anomaly flags (wafa.trust.anomalies). Grouped in the database; the ledger imports no domain."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Float, FromClause, cast, func, literal, select
from sqlalchemy.orm import Session

from wafa.ledger.models import Account, Entry, Posting

# Entries that spend what a member holds: a redemption (points, or wallet money at a till or for a
# reward) and the capture of a till's hold. A hold alone reserves, and a void gives back: neither spends.
SPEND_KINDS = ("redeem", "capture")


@dataclass(frozen=True, slots=True)
class Spend:
    entry_id: int
    kind: str
    at: datetime
    unit: str  # "PTS", or the wallet's currency
    amount: int  # points, or minor units of the currency
    seconds_after_start: float


@dataclass(frozen=True, slots=True)
class EarlySpender:
    member_id: int
    started_at: datetime
    spends: list[Spend]


def _seconds_between(later, earlier, dialect: str):
    """SQL: the seconds from `earlier` to `later` (two UTC timestamps)."""
    if dialect == "postgresql":
        return cast(func.extract("epoch", later - earlier), Float)
    return (func.julianday(later) - func.julianday(earlier)) * literal(86400.0, Float)


def spends_soon_after(
    session: Session, *, tenant_id: int, starts: FromClause, hours: int, limit: int, offset: int = 0,
) -> list[EarlySpender]:
    """Members of `starts` (rows of member_id, enrolled_at) who spent within `hours` of their start, the
    quickest first (then by member id), a page of `limit` from `offset`, each with those spends."""
    dialect = session.get_bind().dialect.name
    start = starts.c.enrolled_at
    after = _seconds_between(Entry.created_at, start, dialect)
    # Per spending entry and unit: what left the member's own accounts, net (a partial capture gives
    # part of the held points back to the available account).
    spends = (
        select(
            Entry.member_id.label("member_id"), Entry.id.label("entry_id"), Entry.kind.label("kind"), Entry.created_at.label("at"),
            Posting.unit.label("unit"), (-func.sum(Posting.amount)).label("amount"), start.label("started_at"),
            after.label("after"),
        )
        .join(starts, starts.c.member_id == Entry.member_id)
        .join(Posting, Posting.entry_id == Entry.id)
        .join(Account, Account.id == Posting.account_id)
        .where(
            Entry.tenant_id == tenant_id, Entry.kind.in_(SPEND_KINDS), Entry.created_at >= start,
            after <= literal(hours * 3600.0, Float), Account.member_id == Entry.member_id,
        )
        .group_by(Entry.member_id, Entry.id, Entry.kind, Entry.created_at, Posting.unit, start)
        .having(func.sum(Posting.amount) < 0)
        .subquery()
    )
    s = spends.c
    members = session.execute(
        select(s.member_id, func.min(s.after).label("first"))
        .group_by(s.member_id)
        .order_by(func.min(s.after), s.member_id)
        .limit(limit)
        .offset(offset)
    ).all()
    if not members:
        return []
    found: dict[int, EarlySpender] = {}
    page = [int(member_id) for member_id, _ in members]
    for row in session.execute(
        select(s.member_id, s.entry_id, s.kind, s.at, s.unit, s.amount, s.started_at, s.after)
        .where(s.member_id.in_(page))
        .order_by(s.member_id, s.at, s.entry_id, s.unit)
    ):
        spender = found.setdefault(int(row.member_id), EarlySpender(int(row.member_id), row.started_at, []))
        spender.spends.append(Spend(int(row.entry_id), row.kind, row.at, row.unit, int(row.amount), float(row.after)))
    return [found[member_id] for member_id in page]
