"""The liability of points outstanding: what members hold, what it is worth at the program's cost per
point, the breakage to expect from the history of expiry, and the flows of a period, all read from
the ledger (member accounts' cached balances, program accounts' postings)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

from sqlalchemy import case, func, literal_column, select
from sqlalchemy.orm import Session

from wafa.db import bucket_of
from wafa.ledger.models import Account, Entry, Posting

# How the entries that land in the `redeemed` account are named in the report.
REDEMPTION_TYPES = {"redeem": "points redemption", "capture": "till capture"}


@dataclass(frozen=True, slots=True)
class Liability:
    available: int
    pending: int
    held: int
    debt: int
    issued: int
    reversed: int
    redeemed_by_type: dict[str, int]
    expired: int
    adjusted: int
    breakage_rate: Fraction | None  # expired ÷ (expired + redeemed), over all time

    @property
    def outstanding(self) -> int:
        return self.available + self.pending + self.held

    @property
    def expected_breakage(self) -> int | None:
        if self.breakage_rate is None:
            return None
        return int(self.outstanding * self.breakage_rate)


def report(session: Session, *, tenant_id: int, start: datetime, end: datetime) -> Liability:
    """The tenant's points liability now, and what moved in [start, end)."""
    held_by_kind = {
        kind: (int(positive or 0), int(negative or 0))
        for kind, positive, negative in session.execute(
            select(
                Account.kind,
                func.sum(case((Account.balance > 0, Account.balance), else_=0)),
                func.sum(case((Account.balance < 0, -Account.balance), else_=0)),
            )
            .where(Account.tenant_id == tenant_id, Account.member_id.is_not(None), Account.unit == "PTS")
            .group_by(Account.kind)
        )
    }
    # Not dict(result): a Result has .keys() (its column names), so dict() would read it as a mapping.
    program = {  # noqa: C416
        kind: account_id
        for kind, account_id in session.execute(
            select(Account.kind, Account.id).where(Account.tenant_id == tenant_id, Account.owner == "program", Account.unit == "PTS")
        )
    }
    flows: dict[tuple[str, str, bool], int] = {}
    in_period = (Entry.created_at >= start) & (Entry.created_at < end)
    # One expression, no bound parameter in it: PostgreSQL must see the GROUP BY term as the selected one.
    positive = (Posting.amount > literal_column("0")).label("positive")
    for kind, entry_kind, positive_side, amount in session.execute(
        select(Account.kind, Entry.kind, positive, func.sum(Posting.amount))
        .join(Posting, Posting.account_id == Account.id)
        .join(Entry, Entry.id == Posting.entry_id)
        .where(Posting.tenant_id == tenant_id, Account.id.in_(list(program.values())), in_period)
        .group_by(Account.kind, Entry.kind, positive)
    ):
        flows[(kind, entry_kind, bool(positive_side))] = int(amount)
    expired_all, redeemed_all = (
        int(session.execute(
            select(func.coalesce(func.sum(Posting.amount), 0)).where(Posting.tenant_id == tenant_id, Posting.account_id == program[kind])
        ).scalar_one())
        for kind in ("expired", "redeemed")
    )
    redeemed_by_type: dict[str, int] = {}
    for (kind, entry_kind, _), amount in flows.items():
        if kind == "redeemed":
            name = REDEMPTION_TYPES.get(entry_kind, entry_kind)
            redeemed_by_type[name] = redeemed_by_type.get(name, 0) + amount
    ended = expired_all + redeemed_all
    return Liability(
        available=held_by_kind.get("available", (0, 0))[0],
        pending=held_by_kind.get("pending", (0, 0))[0],
        held=held_by_kind.get("held", (0, 0))[0],
        debt=held_by_kind.get("available", (0, 0))[1],
        issued=-sum(a for (k, _, pos), a in flows.items() if k == "issued" and not pos),
        reversed=sum(a for (k, _, pos), a in flows.items() if k == "issued" and pos),
        redeemed_by_type=dict(sorted(redeemed_by_type.items())),
        expired=sum(a for (k, _, _), a in flows.items() if k == "expired"),
        adjusted=-sum(a for (k, _, _), a in flows.items() if k == "adjustments"),
        breakage_rate=Fraction(expired_all, ended) if ended > 0 else None,
    )


def flows_by_bucket(session: Session, *, tenant_id: int, edges: list[datetime]) -> list[dict[str, int]]:
    """Per span between consecutive `edges`, in one scan of the postings: points issued (net of returns),
    redeemed and expired, and the net change of what members hold; with `outstanding`, what members held
    at each span's end. The dashboard's charts over time."""
    kinds = {
        account_id: kind
        for kind, account_id in session.execute(
            select(Account.kind, Account.id).where(Account.tenant_id == tenant_id, Account.owner == "program", Account.unit == "PTS")
        )
    }
    member_accounts = select(Account.id).where(
        Account.tenant_id == tenant_id, Account.member_id.is_not(None), Account.unit == "PTS",
    ).scalar_subquery()
    out = [{"issued": 0, "redeemed": 0, "expired": 0, "held_change": 0} for _ in edges[1:]]
    spans = (
        select(bucket_of(Entry.created_at, edges).label("bucket"), Posting.account_id.label("account_id"), Posting.amount.label("amount"))
        .join(Entry, Entry.id == Posting.entry_id)
        .where(Posting.tenant_id == tenant_id, Entry.created_at >= edges[0], Entry.created_at < edges[-1],
               Posting.account_id.in_(list(kinds)) | Posting.account_id.in_(member_accounts))
        .subquery()
    )
    for bucket, account_id, amount in session.execute(
        select(spans.c.bucket, spans.c.account_id, func.sum(spans.c.amount))
        .where(spans.c.bucket.is_not(None)).group_by(spans.c.bucket, spans.c.account_id)
    ):
        kind, row = kinds.get(account_id), out[int(bucket)]
        if kind == "issued":
            row["issued"] -= int(amount)
        elif kind in ("redeemed", "expired"):
            row[kind] += int(amount)
        elif kind is None:
            row["held_change"] += int(amount)
    held = outstanding_at(session, tenant_id=tenant_id, moments=[edges[0]])[0]
    for row in out:
        held += row["held_change"]
        row["outstanding"] = held
    return out


def outstanding_at(session: Session, *, tenant_id: int, moments: list[datetime]) -> list[int]:
    """Points members held (available, pending and held, net of debt) just before each moment: the
    liability's curve over time, summed from the postings of member accounts."""
    member_accounts = select(Account.id).where(
        Account.tenant_id == tenant_id, Account.member_id.is_not(None), Account.unit == "PTS",
    ).scalar_subquery()
    out = []
    for moment in moments:
        total = session.execute(
            select(func.coalesce(func.sum(Posting.amount), 0))
            .join(Entry, Entry.id == Posting.entry_id)
            .where(Posting.tenant_id == tenant_id, Posting.account_id.in_(member_accounts), Entry.created_at < moment)
        ).scalar_one()
        out.append(int(total))
    return out
