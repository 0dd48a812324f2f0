"""Points earned: what the program issued to a member, net of what returns took back, over a window
(tiers qualify on it).

A claw-back counts on the day of the credit it takes back (a return in January of a December purchase
lowers December's points), and a tier's welcome points are the tier's gift, not points earned towards
the next one. Every such entry also adds to `member_points_earned`, one row per member and UTC day, so
a window is its whole days from there plus, exactly, the entries of its first and last part-days: a
member's purchase reads at most a window's days, however long their history.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import delete, func, literal, select, union_all
from sqlalchemy.orm import Session, aliased

from wafa.db import add_to_row
from wafa.ledger.models import Account, Entry, MemberPointsEarned, Posting

# Entries with this idempotency key prefix are a tier's welcome gift.
TIER_WELCOME = "tier-welcome:"


def day_of(moment: datetime) -> date:
    """The UTC day of a moment (the totals' days are UTC: a program's time zone may change)."""
    return moment.astimezone(UTC).date()


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


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


def _entries_between(tenant_id: int, member_id: int, issued: int, start: datetime, end: datetime):
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


def issued_since(
    session: Session, *, tenant_id: int, member_id: int, issued_account_id: int, since: datetime, until: datetime | None = None
) -> int:
    """Points the program issued to a member in [since, until), net of what returns took back: what the
    member earned, whatever they have spent since (tiers qualify on it). One round trip."""
    issued = issued_account_id
    first_whole = day_of(since) if midnight(day_of(since)) == since.astimezone(UTC) else day_of(since) + timedelta(days=1)
    parts = []
    if until is not None and midnight(first_whole) >= until:
        parts += _entries_between(tenant_id, member_id, issued, since, until)  # within one day
    else:
        days = select((-MemberPointsEarned.points).label("amount")).where(
            MemberPointsEarned.tenant_id == tenant_id, MemberPointsEarned.member_id == member_id, MemberPointsEarned.day >= first_whole,
        )
        if until is not None:
            days = days.where(MemberPointsEarned.day < day_of(until))
        parts.append(days)
        if since.astimezone(UTC) < midnight(first_whole):
            parts += _entries_between(tenant_id, member_id, issued, since, midnight(first_whole))
        if until is not None and midnight(day_of(until)) < until:
            parts += _entries_between(tenant_id, member_id, issued, midnight(day_of(until)), until)
    every = union_all(*parts).subquery()
    total = session.execute(select(func.coalesce(func.sum(every.c.amount), literal(0)))).scalar_one()
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
