"""Points earned: what the program issued to a member, net of what returns took back, over a window
(tiers qualify on it).

A claw-back counts on the day of the credit it takes back (a return in January of a December purchase
lowers December's points), and a tier's welcome points are the tier's gift, not points earned towards
the next one. Every such entry also adds to `member_points_earned`, one row per member and UTC day, so
a window is its whole days from there plus, exactly, the entries of its first and last part-days: a
member's purchase reads at most a window's days, however long their history.
"""

from __future__ import annotations

import functools
from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Select, bindparam, delete, func, literal, select, union_all
from sqlalchemy.orm import Session, aliased

from wafa import day_windows
from wafa.day_windows import day_of
from wafa.db import add_to_row
from wafa.ledger.models import Account, Entry, MemberPointsEarned, Posting

# Entries with this idempotency key prefix are a tier's welcome gift.
TIER_WELCOME = "tier-welcome:"


def counts(idempotency_key: str) -> bool:
    """Whether an entry on the issued account counts as points earned."""
    return not idempotency_key.startswith(TIER_WELCOME)


def add(session: Session, *, tenant_id: int, member_id: int, points: int, day: date) -> None:
    """Add points earned (negative: taken back) to a member's day, in the entry's transaction."""
    if not points:
        return
    statement = add_to_row(session, MemberPointsEarned, key=["tenant_id", "member_id", "day"], adding=["points"])
    session.execute(statement.values(tenant_id=tenant_id, member_id=member_id, day=day, points=points))


def credited_on(session: Session, *, tenant_id: int, entry_id: int) -> date | None:
    """The UTC day of an entry (a claw-back counts on its credit's day)."""
    at = session.execute(select(Entry.created_at).where(Entry.tenant_id == tenant_id, Entry.id == entry_id)).scalar_one_or_none()
    return day_of(at) if at is not None else None


def _entries_between(tenant_id: Any, member_id: Any, issued: Any, start: Any, end: Any) -> list[Select]:
    """Points earned on credits made in [start, end) (a part-day), less what reversed them since."""
    reverser = aliased(Entry)
    credited = (
        select(Posting.amount.label("amount"))
        .select_from(Entry)
        .join(Posting, (Posting.entry_id == Entry.id) & (Posting.account_id == issued))
        .where(Entry.tenant_id == tenant_id, Entry.member_id == member_id, Entry.created_at >= start, Entry.created_at < end,
               Entry.reverses_entry_id.is_(None), ~Entry.idempotency_key.startswith(TIER_WELCOME))
    )
    reversed_ = (
        select(Posting.amount.label("amount"))
        .select_from(Entry)
        .join(reverser, (reverser.tenant_id == tenant_id) & (reverser.reverses_entry_id == Entry.id))
        .join(Posting, (Posting.entry_id == reverser.id) & (Posting.account_id == issued))
        .where(Entry.tenant_id == tenant_id, Entry.member_id == member_id, Entry.created_at >= start, Entry.created_at < end,
               reverser.member_id == member_id, ~reverser.idempotency_key.startswith(TIER_WELCOME))
    )
    return [credited, reversed_]


@functools.cache
def _issued_statement(shape: tuple[bool, bool, bool, int]) -> Select:
    """The one statement of `issued_since` for windows of a shape, built once: a tier's purchase reads
    it every time, and building a statement costs more Python than PostgreSQL takes to run it."""
    days, has_first, has_end, edges = shape
    tenant_id, member_id, issued = (bindparam(name, type_=BigInteger()) for name in ("tenant_id", "member_id", "issued"))
    parts: list[Select] = []
    if days:
        whole = select((-MemberPointsEarned.points).label("amount")).where(
            MemberPointsEarned.tenant_id == tenant_id, MemberPointsEarned.member_id == member_id,
        )
        if has_first:
            whole = whole.where(MemberPointsEarned.day >= bindparam("first_day"))
        if has_end:
            whole = whole.where(MemberPointsEarned.day < bindparam("end_day"))
        parts.append(whole)
    for n in range(edges):
        parts += _entries_between(tenant_id, member_id, issued, bindparam(f"edge{n}_start"), bindparam(f"edge{n}_end"))
    every = union_all(*parts).subquery()
    return select(func.coalesce(func.sum(every.c.amount), literal(0)))


def issued_since(
    session: Session, *, tenant_id: int, member_id: int, issued_account_id: int, since: datetime, until: datetime | None = None
) -> int:
    """Points the program issued to a member in [since, until), net of what returns took back: what the
    member earned, whatever they have spent since (tiers qualify on it). One round trip."""
    window = day_windows.split(since, until)
    total = session.execute(
        _issued_statement(window.shape),
        {"tenant_id": tenant_id, "member_id": member_id, "issued": issued_account_id, **window.params()},
    ).scalar_one()
    return -int(total)


def recomputed(session: Session, *, tenant_id: int | None = None) -> dict[tuple[int, int, date], int]:
    """Points earned per (tenant, member, UTC day), recomputed from the entries (what the totals must equal)."""
    credited = aliased(Entry)
    when = func.coalesce(credited.created_at, Entry.created_at)
    query = (
        select(Entry.tenant_id, Entry.member_id, when, Posting.amount)
        .select_from(Entry)
        .join(Posting, Posting.entry_id == Entry.id)
        .join(Account, (Account.id == Posting.account_id) & (Account.owner == "program") & (Account.kind == "issued")
              & (Account.unit == "PTS"))
        .outerjoin(credited, credited.id == Entry.reverses_entry_id)
        .where(Entry.member_id.is_not(None), ~Entry.idempotency_key.startswith(TIER_WELCOME))
    )
    if tenant_id is not None:
        query = query.where(Entry.tenant_id == tenant_id)
    out: dict[tuple[int, int, date], int] = {}
    for tenant, member, at, amount in session.execute(query.execution_options(yield_per=10_000)):
        key = (tenant, int(member or 0), day_of(at))
        out[key] = out.get(key, 0) - int(amount)
    return {key: points for key, points in out.items() if points}


def kept(session: Session, *, tenant_id: int | None = None) -> dict[tuple[int, int, date], int]:
    """The totals as kept (days at zero left out)."""
    query = select(MemberPointsEarned.tenant_id, MemberPointsEarned.member_id, MemberPointsEarned.day, MemberPointsEarned.points)
    if tenant_id is not None:
        query = query.where(MemberPointsEarned.tenant_id == tenant_id)
    return {(t, m, d): int(p) for t, m, d, p in session.execute(query) if p}


def differences(session: Session, *, tenant_id: int | None = None) -> list[str]:
    """Where the kept totals differ from a recomputation from the entries (empty: they agree)."""
    want, have = recomputed(session, tenant_id=tenant_id), kept(session, tenant_id=tenant_id)
    return [
        f"member {member} (tenant {tenant}): points earned on {day} are kept as {have.get((tenant, member, day), 0)}, "
        f"the entries say {want.get((tenant, member, day), 0)}"
        for tenant, member, day in sorted(set(want) | set(have))
        if want.get((tenant, member, day), 0) != have.get((tenant, member, day), 0)
    ]


def rebuild(session: Session, *, tenant_id: int) -> int:
    """Recompute a tenant's totals from its entries (after a restore, or to repair what verify found);
    return the days written. Run it while the tenant records nothing."""
    session.execute(delete(MemberPointsEarned).where(MemberPointsEarned.tenant_id == tenant_id))
    rows = [{"tenant_id": t, "member_id": m, "day": d, "points": p} for (t, m, d), p in recomputed(session, tenant_id=tenant_id).items()]
    if rows:
        session.execute(MemberPointsEarned.__table__.insert(), rows)
    return len(rows)
