"""Writing one balanced entry: the entry row, guarded balance updates, hash-chained postings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, String, bindparam, update
from sqlalchemy.orm import Session

from wafa.db import chain_hash
from wafa.errors import InsufficientPoints, WafaError
from wafa.ledger.models import Account, Entry, Posting

ENTRY_KINDS = ("earn", "release", "redeem", "hold", "capture", "void", "expire", "reverse", "adjust", "cashback", "convert")


@dataclass(frozen=True, slots=True)
class Leg:
    """One side of an entry: an amount (signed) on an account."""

    account_id: int
    amount: int
    member_account: bool
    # A debit on this leg may not take the account below zero.
    guarded: bool = False
    # The leg's unit when it is not the entry's: money a coalition entry carries beside its points.
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class Posted:
    """What a posted entry did to one member account."""

    account_id: int
    amount: int
    balance_after: int


def posting_payload(*, tenant_id: int, entry_id: int, account_id: int, unit: str, amount: int, kind: str) -> str:
    """The text a posting contributes to its account's hash chain."""
    # Ids, the unit, the amount and the entry's kind: never the entry's reason or details, nor anything
    # about the member, so erasing a member's personal data (members/privacy.py) leaves every chain intact.
    # earn_statement.py's CTEs hash the same fields.
    return f"{tenant_id}|{entry_id}|{account_id}|{unit}|{amount}|{kind}"


class UnbalancedEntry(WafaError):
    """Postings of an entry do not sum to zero (a bug, never user input)."""

    status = 500
    slug = "unbalanced-entry"
    title = "Unbalanced entry"


# The statements every entry runs, built once on the tables (Core, not the ORM): the ledger's
# writes are the busiest code there is, and ORM-enabled DML costs several times the CPU.
_ENTRIES, _ACCOUNTS, _POSTINGS = Entry.__table__, Account.__table__, Posting.__table__
_INSERT_ENTRY = _ENTRIES.insert().returning(_ENTRIES.c.id)
_MOVE = (
    update(_ACCOUNTS)
    .where(_ACCOUNTS.c.id == bindparam("account"), _ACCOUNTS.c.tenant_id == bindparam("t"))
    .values(
        balance=_ACCOUNTS.c.balance + bindparam("delta", type_=BigInteger),
        seq=_ACCOUNTS.c.seq + 1,
        last_hash=chain_hash(_ACCOUNTS.c.last_hash, bindparam("payload", type_=String)),
    )
    .returning(_ACCOUNTS.c.seq, _ACCOUNTS.c.last_hash, _ACCOUNTS.c.balance)
)
# A debit that may not overdraw: the row is only updated while the balance covers it.
_MOVE_GUARDED = _MOVE.where(_ACCOUNTS.c.balance + bindparam("delta", type_=BigInteger) >= 0)


def post_entry(
    session: Session,
    *,
    tenant_id: int,
    kind: str,
    idempotency_key: str,
    legs: list[Leg],
    reason: str,
    now: datetime,
    member_id: int | None = None,
    event_id: int | None = None,
    points: int = 0,
    details: dict[str, Any] | None = None,
    reverses_entry_id: int | None = None,
    unit: str = "PTS",
    partner_id: int | None = None,
    dated_from: datetime | None = None,
) -> tuple[int, dict[int, Posted]]:
    """Write an entry and its postings; return the entry id and each member account's new balance.

    Legs may be in several units (points and the money they carry); the entry balances in each.
    `partner_id` names the coalition partner where the entry happened; `dated_from` is the start of
    that partner's open settlement period, which the entry is dated into if `now` is earlier.
    Raises InsufficientPoints if a guarded leg would overdraw its account.
    """
    if kind not in ENTRY_KINDS:
        raise ValueError(f"unknown entry kind {kind}")
    totals: dict[str, int] = {}
    for leg in legs:
        totals[leg.unit or unit] = totals.get(leg.unit or unit, 0) + leg.amount
    if any(totals.values()) or len(legs) < 2:
        raise UnbalancedEntry(f"entry {idempotency_key} does not balance")
    entry_id = session.execute(
        _INSERT_ENTRY,
        {
            "tenant_id": tenant_id, "kind": kind, "idempotency_key": idempotency_key, "member_id": member_id,
            "event_id": event_id, "reverses_entry_id": reverses_entry_id, "points": points, "reason": reason,
            "details": details, "created_at": max(now, dated_from) if dated_from is not None else now, "partner_id": partner_id,
        },
    ).scalar_one()

    posted: dict[int, Posted] = {}
    rows: list[dict[str, Any]] = []
    # Lock member accounts in id order so two entries touching the same pair cannot deadlock.
    for leg in sorted(legs, key=lambda leg: leg.account_id):
        row: dict[str, Any] = {
            "tenant_id": tenant_id,
            "entry_id": entry_id,
            "account_id": leg.account_id,
            "unit": leg.unit or unit,
            "amount": leg.amount,
            "seq": None,
            "hash": None,
        }
        if leg.member_account:
            payload = posting_payload(
                tenant_id=tenant_id, entry_id=entry_id, account_id=leg.account_id, unit=leg.unit or unit, amount=leg.amount, kind=kind
            )
            stmt = _MOVE_GUARDED if leg.guarded and leg.amount < 0 else _MOVE
            result = session.execute(
                stmt, {"account": leg.account_id, "t": tenant_id, "delta": leg.amount, "payload": payload}
            ).one_or_none()
            if result is None:
                raise InsufficientPoints(f"not enough points: {-leg.amount} needed", field="points")
            row["seq"], row["hash"], balance = result
            posted[leg.account_id] = Posted(leg.account_id, leg.amount, balance)
        rows.append(row)
    session.execute(_POSTINGS.insert(), rows)
    # Counted by the metrics once the transaction commits (a rolled-back entry is not an entry).
    session.info.setdefault("entry_kinds", []).append(kind)
    return entry_id, posted

