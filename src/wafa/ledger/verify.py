"""`wafa ledger verify`: re-add every posting, re-walk every hash chain, re-derive every balance."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from wafa.db import chain_hash_py
from wafa.ledger import earned
from wafa.ledger.models import Account, Entry, Hold, Lot, LotMovement, Posting
from wafa.ledger.postings import posting_payload


@dataclass
class Report:
    """What verification looked at and what it found wrong (empty `problems` means intact)."""

    entries: int = 0
    postings: int = 0
    accounts: int = 0
    lots: int = 0
    problems: list[str] = field(default_factory=list)
    first_broken_entry: int | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def fail(self, message: str, entry_id: int | None = None) -> None:
        self.problems.append(message)
        if entry_id is not None and (self.first_broken_entry is None or entry_id < self.first_broken_entry):
            self.first_broken_entry = entry_id


def verify(session: Session, *, tenant_id: int | None = None, progress: Callable[[int, int], None] | None = None) -> Report:
    """Check every ledger invariant for one tenant (or all); never writes."""
    report = Report()

    def scoped(query, model):
        return query.where(model.tenant_id == tenant_id) if tenant_id is not None else query

    report.entries = session.execute(scoped(select(func.count()).select_from(Entry), Entry)).scalar_one()
    report.postings = session.execute(scoped(select(func.count()).select_from(Posting), Posting)).scalar_one()
    report.lots = session.execute(scoped(select(func.count()).select_from(Lot), Lot)).scalar_one()

    # 1. Every entry has at least two postings, and they sum to zero in each unit (a coalition entry
    # carries money beside its points).
    counts = (
        select(Entry.id, func.count(Posting.id))
        .join(Posting, Posting.entry_id == Entry.id, isouter=True)
        .group_by(Entry.id)
        .having(func.count(Posting.id) < 2)
        .order_by(Entry.id)
    )
    for entry_id, count in session.execute(scoped(counts, Entry)):
        report.fail(f"entry {entry_id} has {count} postings", entry_id)
    sums = (
        select(Posting.entry_id, Posting.unit, func.sum(Posting.amount))
        .group_by(Posting.entry_id, Posting.unit)
        .having(func.sum(Posting.amount) != 0)
        .order_by(Posting.entry_id)
    )
    for entry_id, unit, total in session.execute(scoped(sums, Posting)):
        report.fail(f"entry {entry_id} has {unit} postings summing to {total}", entry_id)

    # 1b. Every posting lands on an existing account of its own entry's tenant (no foreign keys
    # enforce it on these busy tables: see NO_HOT_ROW_LOCKS in ledger/models.py).
    strays = (
        select(Posting.entry_id, Posting.account_id)
        .join(Account, Account.id == Posting.account_id)
        .join(Entry, Entry.id == Posting.entry_id)
        .where((Account.tenant_id != Posting.tenant_id) | (Entry.tenant_id != Posting.tenant_id))
        .order_by(Posting.entry_id)
    )
    for entry_id, account_id in session.execute(scoped(strays, Posting)):
        report.fail(f"entry {entry_id} posts to account {account_id} of another tenant", entry_id)
    orphans = (
        select(Posting.entry_id, Posting.account_id)
        .join(Account, Account.id == Posting.account_id, isouter=True)
        .where(Account.id.is_(None))
        .order_by(Posting.entry_id)
    )
    for entry_id, account_id in session.execute(scoped(orphans, Posting)):
        report.fail(f"entry {entry_id} posts to account {account_id}, which does not exist", entry_id)

    # 2. Every member account's cached balance equals the sum of its postings.
    derived = (
        select(Account.id, Account.balance, func.coalesce(func.sum(Posting.amount), 0), func.max(Posting.entry_id))
        .join(Posting, Posting.account_id == Account.id, isouter=True)
        .where(Account.member_id.is_not(None))
        .group_by(Account.id, Account.balance)
        .having(Account.balance != func.coalesce(func.sum(Posting.amount), 0))
    )
    for account_id, cached, total, last_entry in session.execute(scoped(derived, Account)):
        report.fail(f"account {account_id} caches balance {cached} but its postings sum to {total}", last_entry)

    # 3. Every member account's postings form an unbroken hash chain.
    accounts = session.execute(
        scoped(select(Account.id, Account.seq, Account.last_hash).where(Account.member_id.is_not(None)), Account)
    ).all()
    report.accounts = len(accounts)
    heads = {account_id: (seq, last_hash) for account_id, seq, last_hash in accounts}
    walk = (
        select(Posting.account_id, Posting.seq, Posting.hash, Posting.entry_id, Posting.amount, Posting.unit,
               Posting.tenant_id, Entry.kind)
        .join(Entry, Entry.id == Posting.entry_id)
        .where(Posting.seq.is_not(None))
        .order_by(Posting.account_id, Posting.seq)
        .execution_options(yield_per=5000)
    )
    current, expected_seq, head = None, 0, None
    seen: set[int] = set()
    for done, row in enumerate(session.execute(scoped(walk, Posting)), start=1):
        if row.account_id != current:
            seen.add(row.account_id)
            _close_chain(report, current, expected_seq, head, heads)
            current, expected_seq, head = row.account_id, 0, None
        expected_seq += 1
        if row.seq != expected_seq:
            report.fail(f"account {row.account_id}: posting of entry {row.entry_id} has seq {row.seq}, expected {expected_seq}", row.entry_id)
            expected_seq = row.seq
        head = chain_hash_py(
            head,
            posting_payload(
                tenant_id=row.tenant_id, entry_id=row.entry_id, account_id=row.account_id, unit=row.unit, amount=row.amount, kind=row.kind
            ),
        )
        if row.hash != head:
            report.fail(f"account {row.account_id}: hash chain broken at entry {row.entry_id}", row.entry_id)
            head = row.hash
        if progress and done % 5000 == 0:
            progress(done, report.postings)
    _close_chain(report, current, expected_seq, head, heads)
    for account_id, (seq, _) in heads.items():
        if seq and account_id not in seen:
            report.fail(f"account {account_id} claims {seq} postings but has none")
    if progress:
        progress(report.postings, report.postings)

    _verify_lots(session, report, tenant_id, scoped)
    # 6. Each member's points earned per day (the running totals tiers read) are what the entries say.
    for problem in earned.differences(session, tenant_id=tenant_id):
        report.fail(problem)
    return report


def _close_chain(report: Report, account_id: int | None, seq: int, head: str | None, heads: dict) -> None:
    if account_id is None:
        return
    cached_seq, cached_hash = heads.get(account_id, (None, None))
    if cached_seq != seq or cached_hash != head:
        report.fail(f"account {account_id}: head says seq {cached_seq}, chain has {seq} postings ending elsewhere")


def _verify_lots(session: Session, report: Report, tenant_id: int | None, scoped) -> None:
    # 4. A lot's remaining points are its amount less what entries took from it.
    moved = (
        select(Lot.id, Lot.amount, Lot.remaining, func.coalesce(func.sum(LotMovement.amount), 0))
        .join(LotMovement, LotMovement.lot_id == Lot.id, isouter=True)
        .group_by(Lot.id, Lot.amount, Lot.remaining)
        .having((Lot.amount - func.coalesce(func.sum(LotMovement.amount), 0) != Lot.remaining) | (Lot.remaining < 0))
    )
    for lot_id, amount, remaining, taken in session.execute(scoped(moved, Lot)):
        report.fail(f"lot {lot_id}: amount {amount} less {taken} taken is not its remaining {remaining}")

    # 5. Each member's balances are what their lots and holds say.
    lot_sums = {
        (member_id, released): total
        for member_id, released, total in session.execute(
            scoped(select(Lot.member_id, Lot.released, func.sum(Lot.remaining)).group_by(Lot.member_id, Lot.released), Lot)
        )
    }
    held = dict(
        session.execute(
            scoped(select(Hold.member_id, func.sum(Hold.points)).where(Hold.status == "open").group_by(Hold.member_id), Hold)
        ).all()
    )
    for member_id, kind, balance in session.execute(
        scoped(select(Account.member_id, Account.kind, Account.balance).where(Account.member_id.is_not(None)), Account)
    ):
        if kind == "available":
            in_lots = lot_sums.get((member_id, True), 0)
            ok = in_lots == balance if balance >= 0 else in_lots == 0
            if not ok:
                report.fail(f"member {member_id}: available balance {balance} but released lots hold {in_lots}")
        elif kind == "pending" and lot_sums.get((member_id, False), 0) != balance:
            report.fail(f"member {member_id}: pending balance {balance} but pending lots hold {lot_sums.get((member_id, False), 0)}")
        elif kind == "held" and held.get(member_id, 0) != balance:
            report.fail(f"member {member_id}: held balance {balance} but open holds total {held.get(member_id, 0)}")
