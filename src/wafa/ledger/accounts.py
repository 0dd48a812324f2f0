"""Ledger accounts: opening a tenant's program accounts and a member's points accounts, finding their ids
(cached for the life of the process: they never change), locking them, and a member's balances."""

from __future__ import annotations

from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session

from wafa.db import bulk_insert, insert_unless_exists
from wafa.errors import NotFound
from wafa.ledger.models import MEMBER_KINDS, PROGRAM_KINDS, Account

# Account ids never change once created, so they are cached for the life of the process, per
# database: a process that talks to two (the tests: SQLite and PostgreSQL) sees the same tenant
# and member ids name different accounts in each.
_program_accounts: dict[tuple[object, int], dict[str, int]] = {}


_member_accounts: dict[tuple[object, int, int], dict[str, int]] = {}
_opened_on_use: dict[tuple[object, int, str, str], int] = {}


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


_LOCK_ACCOUNTS = (
    select(Account.id, Account.balance)
    .where(Account.tenant_id == bindparam("t"), Account.id.in_(bindparam("ids", expanding=True)))
    .order_by(Account.id)
    .with_for_update()
)


def lock_accounts(session: Session, *, tenant_id: int, account_ids: list[int]) -> dict[int, int]:
    """Lock member accounts (row locks on PostgreSQL) in id order; return their balances."""
    rows = session.execute(_LOCK_ACCOUNTS, {"t": tenant_id, "ids": account_ids}).all()
    return dict(rows)


def balances(session: Session, *, tenant_id: int, member_id: int) -> dict[str, int]:
    """Return the cached balances of a member's accounts by kind."""
    rows = session.execute(
        # By owner, the unique key's prefix: there is no index on member_id, and every answer reads this.
        select(Account.kind, Account.balance).where(
            Account.tenant_id == tenant_id, Account.owner == f"member:{member_id}", Account.unit == "PTS"
        )
    ).all()
    return dict(rows)


def account_id(session: Session, *, tenant_id: int, owner: str, member_id: int | None, kind: str, currency: str) -> int:
    """The id of an account opened on first use (wallets, coalition money), opening it if need be (two
    first uses at once open it once)."""
    key = (session.get_bind().engine, tenant_id, owner, f"{kind}:{currency}")
    found = _opened_on_use.get(key)
    if found is not None:
        return found
    values = {"tenant_id": tenant_id, "owner": owner, "member_id": member_id, "kind": kind, "unit": currency, "balance": 0, "seq": 0}
    opened = insert_unless_exists(
        session, Account, values, conflict=["tenant_id", "owner", "kind", "unit"], returning=[Account.id]
    ).first()
    if opened is not None:
        # Opened by this transaction: cached only once another transaction finds it committed.
        session.info.setdefault("opened_wallets", set()).add(key)
        return opened[0]
    found = session.execute(
        select(Account.id).where(
            Account.tenant_id == tenant_id, Account.owner == owner, Account.kind == kind, Account.unit == currency
        )
    ).scalar_one()
    if key in session.info.get("opened_wallets", ()):
        return found
    if len(_opened_on_use) > 200_000:
        _opened_on_use.clear()
    _opened_on_use[key] = found
    return found
