"""Writing one balanced entry: the entry row, guarded balance updates, hash-chained postings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, literal, update
from sqlalchemy.orm import Session

from wafa.db import chain_hash
from wafa.errors import InsufficientPoints, WafaError
from wafa.ledger.models import Account, Entry, Posting

ENTRY_KINDS = ("earn", "release", "redeem", "hold", "capture", "void", "expire", "reverse", "adjust", "cashback")


@dataclass(frozen=True, slots=True)
class Leg:
    """One side of an entry: an amount (signed) on an account."""

    account_id: int
    amount: int
    member_account: bool
    # A debit on this leg may not take the account below zero.
    guarded: bool = False


@dataclass(frozen=True, slots=True)
class Posted:
    """What a posted entry did to one member account."""

    account_id: int
    amount: int
    balance_after: int


def posting_payload(*, tenant_id: int, entry_id: int, account_id: int, unit: str, amount: int, kind: str) -> str:
    """The text a posting contributes to its account's hash chain."""
    return f"{tenant_id}|{entry_id}|{account_id}|{unit}|{amount}|{kind}"


class UnbalancedEntry(WafaError):
    """Postings of an entry do not sum to zero (a bug, never user input)."""

    status = 500
    slug = "unbalanced-entry"
    title = "Unbalanced entry"


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
) -> tuple[int, dict[int, Posted]]:
    """Write an entry and its postings; return the entry id and each member account's new balance.

    Raises InsufficientPoints if a guarded leg would overdraw its account.
    """
    if kind not in ENTRY_KINDS:
        raise ValueError(f"unknown entry kind {kind}")
    if sum(leg.amount for leg in legs) != 0 or len(legs) < 2:
        raise UnbalancedEntry(f"entry {idempotency_key} does not balance")
    entry_id = session.execute(
        insert(Entry)
        .values(
            tenant_id=tenant_id,
            kind=kind,
            idempotency_key=idempotency_key,
            member_id=member_id,
            event_id=event_id,
            reverses_entry_id=reverses_entry_id,
            points=points,
            reason=reason,
            details=details,
            created_at=now,
        )
        .returning(Entry.id)
    ).scalar_one()

    posted: dict[int, Posted] = {}
    rows: list[dict[str, Any]] = []
    # Lock member accounts in id order so two entries touching the same pair cannot deadlock.
    for leg in sorted(legs, key=lambda leg: leg.account_id):
        row: dict[str, Any] = {
            "tenant_id": tenant_id,
            "entry_id": entry_id,
            "account_id": leg.account_id,
            "unit": unit,
            "amount": leg.amount,
            "seq": None,
            "hash": None,
        }
        if leg.member_account:
            payload = posting_payload(
                tenant_id=tenant_id, entry_id=entry_id, account_id=leg.account_id, unit=unit, amount=leg.amount, kind=kind
            )
            stmt = (
                update(Account)
                .where(Account.id == leg.account_id, Account.tenant_id == tenant_id)
                .values(
                    balance=Account.balance + leg.amount,
                    seq=Account.seq + 1,
                    last_hash=chain_hash(Account.last_hash, literal(payload)),
                )
                .returning(Account.seq, Account.last_hash, Account.balance)
            )
            if leg.guarded and leg.amount < 0:
                stmt = stmt.where(Account.balance + leg.amount >= 0)
            result = session.execute(stmt).one_or_none()
            if result is None:
                raise InsufficientPoints(f"not enough points: {-leg.amount} needed", field="points")
            row["seq"], row["hash"], balance = result
            posted[leg.account_id] = Posted(leg.account_id, leg.amount, balance)
        rows.append(row)
    session.execute(insert(Posting), rows)
    # Counted by the metrics once the transaction commits (a rolled-back entry is not an entry).
    session.info.setdefault("entry_kinds", []).append(kind)
    return entry_id, posted

