"""The member's wallet: money (minor units of one currency per account) that cashback pays into.

A member has a pending and an available wallet account per currency, opened on first use; the
program's `cashback` account in that currency is the other side. Money in the wallet has no lots:
it does not expire, and any of it is as good as any other. A return that takes back cashback
already spent leaves the wallet negative: a debt, as with points. A wallet in debt pays for nothing
(`debit` is guarded), and cashback credited or released into it repays the debt first (it only adds to
the balance), so what the member can spend again is what is left above zero.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from wafa.errors import InsufficientFunds, InsufficientPoints, InvalidInput
from wafa.ledger.accounts import account_id as account_opened_on_use
from wafa.ledger.models import Account, Entry, Posting
from wafa.ledger.money import Money, following, with_money
from wafa.ledger.postings import Leg, post_entry
from wafa.money import to_major
from wafa.outbox import service as outbox

WALLET_KINDS = ("wallet", "wallet_pending")


def accounts(session: Session, *, tenant_id: int, member_id: int, currency: str) -> dict[str, int]:
    """A member's wallet account ids in a currency by kind, plus the program's cashback account."""
    owner = f"member:{member_id}"
    ids = {
        kind: account_opened_on_use(session, tenant_id=tenant_id, owner=owner, member_id=member_id, kind=kind, currency=currency)
        for kind in WALLET_KINDS
    }
    ids["cashback"] = account_opened_on_use(session, tenant_id=tenant_id, owner="program", member_id=None, kind="cashback", currency=currency)
    ids["spent"] = account_opened_on_use(session, tenant_id=tenant_id, owner="program", member_id=None, kind="wallet_spent", currency=currency)
    return ids


def credit_cashback(
    session: Session, *, tenant_id: int, member_id: int, amount: int, currency: str, pending: bool,
    idempotency_key: str, reason: str, now: datetime, event_id: int | None = None, details: dict[str, Any] | None = None,
    money: Money | None = None,
) -> int:
    """Pay cashback into the wallet (pending until the return window closes), funded in a coalition by
    `money` (a partner, or the operator's fund); return the entry id."""
    ids = accounts(session, tenant_id=tenant_id, member_id=member_id, currency=currency)
    legs = [
        Leg(ids["cashback"], -amount, member_account=False),
        Leg(ids["wallet_pending" if pending else "wallet"], amount, member_account=True),
    ]
    entry_id, _ = post_entry(
        session, tenant_id=tenant_id, kind="cashback", idempotency_key=idempotency_key,
        reason=reason, now=now, member_id=member_id, event_id=event_id, unit=currency,
        **with_money(session, tenant_id=tenant_id, legs=legs, details={**(details or {}), "currency": currency, "amount": amount}, money=money),
    )
    outbox.emit(session, tenant_id=tenant_id, type_="wallet.credited", member_id=member_id, now=now, payload={
        **outbox.wallet_payload(amount=amount, currency=currency, status="pending" if pending else "available", kind="cashback", reason=reason),
        "entry_id": entry_id, "event_id": event_id,
    })
    return entry_id


def release_cashback(
    session: Session, *, tenant_id: int, member_id: int, amount: int, currency: str, idempotency_key: str,
    reason: str, now: datetime, event_id: int | None = None,
) -> int:
    """Move cashback from the pending wallet to the available one; return the entry id."""
    ids = accounts(session, tenant_id=tenant_id, member_id=member_id, currency=currency)
    entry_id, _ = post_entry(
        session, tenant_id=tenant_id, kind="release", idempotency_key=idempotency_key,
        legs=[Leg(ids["wallet_pending"], -amount, member_account=True), Leg(ids["wallet"], amount, member_account=True)],
        reason=reason, now=now, member_id=member_id, event_id=event_id, unit=currency,
        details={"currency": currency, "amount": amount},
    )
    return entry_id


def reverse_cashback(
    session: Session, *, tenant_id: int, member_id: int, amount: int, currency: str, pending: bool,
    idempotency_key: str, reason: str, now: datetime, event_id: int | None = None, details: dict[str, Any] | None = None,
    money: Money | None = None,
) -> int:
    """Take cashback back (from the pending wallet, or the available one even below zero), repaying in a
    coalition the partner that funded it (`money`); return the entry id."""
    ids = accounts(session, tenant_id=tenant_id, member_id=member_id, currency=currency)
    legs = [
        Leg(ids["wallet_pending" if pending else "wallet"], -amount, member_account=True),
        Leg(ids["cashback"], amount, member_account=False),
    ]
    entry_id, _ = post_entry(
        session, tenant_id=tenant_id, kind="reverse", idempotency_key=idempotency_key,
        reason=reason, now=now, member_id=member_id, event_id=event_id, unit=currency,
        **with_money(session, tenant_id=tenant_id, legs=legs, details={**(details or {}), "currency": currency, "amount": -amount}, money=money),
    )
    outbox.emit(session, tenant_id=tenant_id, type_="wallet.debited", member_id=member_id, now=now, payload={
        **outbox.wallet_payload(amount=amount, currency=currency, status="pending" if pending else "available", kind="reverse", reason=reason),
        "entry_id": entry_id, "event_id": event_id,
    })
    return entry_id


def balances(session: Session, *, tenant_id: int, member_id: int) -> dict[str, dict[str, int]]:
    """A member's wallet by currency: {"SAR": {"available": 1250, "pending": 300}} in minor units."""
    rows = session.execute(
        select(Account.unit, Account.kind, Account.balance).where(
            Account.tenant_id == tenant_id, Account.owner == f"member:{member_id}", Account.kind.in_(WALLET_KINDS)
        )
    ).all()
    out: dict[str, dict[str, int]] = {}
    for unit, kind, balance in rows:
        out.setdefault(unit, {"available": 0, "pending": 0})["available" if kind == "wallet" else "pending"] = balance
    return dict(sorted(out.items()))


def debts(session: Session, *, tenant_id: int, member_id: int, lock: bool = False) -> dict[str, int]:
    """What a member's wallet owes by currency, in minor units (its available money below zero: cashback
    spent, then taken back by a return); `lock` holds the wallet's rows (PostgreSQL) until the transaction ends."""
    query = select(Account.unit, Account.balance).where(
        Account.tenant_id == tenant_id, Account.owner == f"member:{member_id}", Account.kind == "wallet"
    ).order_by(Account.id)
    if lock:
        query = query.with_for_update()
    return {unit: -balance for unit, balance in session.execute(query) if balance < 0}


def debit(
    session: Session, *, tenant_id: int, member_id: int, amount: int, currency: str, idempotency_key: str,
    reason: str, now: datetime, to: str = "spent", kind: str = "redeem", details: dict[str, Any] | None = None,
    money: Money | None = None,
) -> tuple[int, int]:
    """Pay with wallet money (at a till, in a shop, at a coalition partner paid `money`; or back to
    `cashback` when a conversion is cancelled); never overdraws. Return the entry id and what is left."""
    if amount <= 0:
        raise InvalidInput("a wallet debit must be more than zero", field="amount")
    ids = accounts(session, tenant_id=tenant_id, member_id=member_id, currency=currency)
    legs = [Leg(ids["wallet"], -amount, member_account=True, guarded=True), Leg(ids[to], amount, member_account=False)]
    try:
        entry_id, posted = post_entry(
            session, tenant_id=tenant_id, kind=kind, idempotency_key=idempotency_key,
            reason=reason, now=now, member_id=member_id, unit=currency,
            **with_money(session, tenant_id=tenant_id, legs=legs, details={**(details or {}), "currency": currency, "amount": -amount}, money=money),
        )
    except InsufficientPoints:
        held = session.execute(select(Account.balance).where(Account.id == ids["wallet"])).scalar_one()
        if held < 0:
            # Said as such: "0 available" alone reads like an empty wallet, not one that owes money.
            raise InsufficientFunds(
                f"the wallet is in debt: it owes {to_major(-held, currency)} {currency} (cashback spent, then taken back by a return) "
                "and pays for nothing until new cashback has repaid it", field="amount", available=0, debt=-held,
            ) from None
        raise InsufficientFunds(
            f"{amount} ({currency} minor units) asked for, {held} available", field="amount", available=held
        ) from None
    outbox.emit(session, tenant_id=tenant_id, type_="wallet.debited", member_id=member_id, now=now, payload={
        **outbox.wallet_payload(amount=amount, currency=currency, status="available", kind=kind, reason=reason),
        "entry_id": entry_id, "event_id": None,
    })
    return entry_id, posted[ids["wallet"]].balance_after


def refund(
    session: Session, *, tenant_id: int, member_id: int, amount: int, currency: str, idempotency_key: str,
    reason: str, now: datetime, event_id: int | None = None, details: dict[str, Any] | None = None,
    of_entry_id: int | None = None,
) -> int:
    """Pay wallet money back (a returned order paid from the wallet, a cancelled reward's money part);
    `of_entry_id`, the debit it reverses, gets the same share of any money it paid a coalition partner back."""
    ids = accounts(session, tenant_id=tenant_id, member_id=member_id, currency=currency)
    legs = [Leg(ids["spent"], -amount, member_account=False), Leg(ids["wallet"], amount, member_account=True)]
    money = following(session, tenant_id=tenant_id, entry_id=of_entry_id, quantity=amount) if of_entry_id else None
    entry_id, _ = post_entry(
        session, tenant_id=tenant_id, kind="reverse", idempotency_key=idempotency_key,
        reason=reason, now=now, member_id=member_id, event_id=event_id, unit=currency, reverses_entry_id=of_entry_id,
        **with_money(session, tenant_id=tenant_id, legs=legs, details={**(details or {}), "currency": currency, "amount": amount}, money=money),
    )
    outbox.emit(session, tenant_id=tenant_id, type_="wallet.credited", member_id=member_id, now=now, payload={
        **outbox.wallet_payload(amount=amount, currency=currency, status="available", kind="refund", reason=reason),
        "entry_id": entry_id, "event_id": event_id,
    })
    return entry_id


def entries(
    session: Session, *, tenant_id: int, member_id: int, currency: str | None, before_id: int | None, limit: int
) -> list[tuple[Entry, str, int, int]]:
    """A member's wallet statement, newest first: (entry, currency, change available, change pending),
    up to limit + 1 entries (one more than asked says there is a next page)."""
    wallet_accounts = session.execute(
        select(Account.id, Account.kind, Account.unit).where(
            Account.tenant_id == tenant_id, Account.owner == f"member:{member_id}", Account.kind.in_(WALLET_KINDS),
            *([Account.unit == currency] if currency else []),
        )
    ).all()
    kinds = {account_id: (kind, unit) for account_id, kind, unit in wallet_accounts}
    if not kinds:
        return []
    query = (
        select(Entry, Posting.account_id, Posting.amount)
        .join(Posting, Posting.entry_id == Entry.id)
        .where(Entry.tenant_id == tenant_id, Posting.account_id.in_(list(kinds)))
        .order_by(Entry.id.desc())
    )
    if before_id is not None:
        query = query.where(Entry.id < before_id)
    out: dict[int, list] = {}
    for entry, account_id, amount in session.execute(query.limit(limit * 2 + 2).execution_options(populate_existing=True)):
        kind, unit = kinds[account_id]
        row = out.setdefault(entry.id, [entry, unit, 0, 0])
        row[2 if kind == "wallet" else 3] += amount
    # Each entry moves at most two of the member's wallet accounts, so limit + 1 entries fit in what was read.
    return [tuple(row) for row in list(out.values())[: limit + 1]]
