"""RFM segments: each member's recency, frequency and monetary scores (quintiles within the program)
and named segment, recomputed by the worker once a day and on demand; read by rules and rewards as the
member's segments."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from wafa.analytics import rfm, segment_changes
from wafa.analytics.models import AnalyticsRun, RfmCount, RfmScore
from wafa.db import bulk_insert, insert_unless_exists
from wafa.errors import NotFound
from wafa.events import purchase_history
from wafa.programs import service as programs

RECOMPUTE_EVERY = timedelta(hours=24)


def lock_run(session: Session, *, tenant_id: int, job: str = "segments") -> AnalyticsRun:
    """The program's run row for `job`, locked: computations of a program's segments take turns."""
    insert_unless_exists(session, AnalyticsRun, {"tenant_id": tenant_id, "job": job, "ran_at": None}, conflict=["tenant_id", "job"])
    return session.execute(
        select(AnalyticsRun).where(AnalyticsRun.tenant_id == tenant_id, AnalyticsRun.job == job)
        .with_for_update().execution_options(populate_existing=True)
    ).scalar_one()


def recompute(session: Session, *, tenant_id: int, now: datetime) -> int:
    """Score every member with a kept purchase and replace the program's scores; return how many."""
    lock_run(session, tenant_id=tenant_id)
    program = programs.get(session, tenant_id=tenant_id)
    last: dict[int, datetime] = {}
    count: dict[int, int] = defaultdict(int)
    money: dict[int, Decimal] = defaultdict(Decimal)
    for member_id, currency, at, purchases, kept in purchase_history.member_totals(session, tenant_id=tenant_id):
        last[member_id] = max(last.get(member_id, at), at)
        count[member_id] += purchases
        money[member_id] += program.in_base(kept, currency)
    ids = sorted(last)
    recency = [max(0, (now - last[m]).days) for m in ids]  # a till's clock may run a little fast
    r = rfm.quintiles(recency, higher_is_better=False)
    f = rfm.quintiles([count[m] for m in ids])
    m = rfm.quintiles([float(money[i]) for i in ids])
    before = segment_changes.assignment(session, (RfmScore.member_id, RfmScore.segment), RfmScore.tenant_id == tenant_id)
    session.execute(delete(RfmScore).where(RfmScore.tenant_id == tenant_id))
    rows = [
        {"tenant_id": tenant_id, "member_id": member_id, "recency_days": recency[k], "frequency": count[member_id],
         "monetary": int(money[member_id].to_integral_value(rounding=ROUND_FLOOR)), "r": r[k], "f": f[k], "m": m[k],
         "segment": rfm.segment(r[k], f[k]), "computed_at": now}
        for k, member_id in enumerate(ids)
    ]
    bulk_insert(session, RfmScore, rows)
    segment_changes.announce(session, tenant_id=tenant_id, kind="rfm", before=before,
                             after={int(str(r["member_id"])): str(r["segment"]) for r in rows}, now=now)
    sizes = Counter(row["segment"] for row in rows)
    if rows:
        bulk_insert(session, RfmCount, [{"tenant_id": tenant_id, "at": now, "segment": key, "members": sizes.get(key, 0)} for key in rfm.SEGMENTS])
    session.flush()
    return len(rows)


def history(session: Session, *, tenant_id: int, limit: int) -> list[dict]:
    """The RFM segments' sizes at each of the last `limit` computations, oldest first."""
    times = list(session.execute(
        select(RfmCount.at).where(RfmCount.tenant_id == tenant_id).group_by(RfmCount.at).order_by(RfmCount.at.desc()).limit(limit)
    ).scalars())
    if not times:
        return []
    found: dict = {}
    for at, segment, members in session.execute(
        select(RfmCount.at, RfmCount.segment, RfmCount.members).where(RfmCount.tenant_id == tenant_id, RfmCount.at >= min(times))
    ):
        found.setdefault(at, {})[segment] = members
    return [{"at": at, "segments": found[at]} for at in sorted(found)]


def computed_at(session: Session, *, tenant_id: int) -> datetime | None:
    """When the program's scores were last computed (None: never)."""
    return session.execute(select(func.max(RfmScore.computed_at)).where(RfmScore.tenant_id == tenant_id)).scalar_one()


def summary(session: Session, *, tenant_id: int) -> dict:
    """Members per segment and the recency-by-frequency grid of counts."""
    per_segment = dict(session.execute(
        select(RfmScore.segment, func.count()).where(RfmScore.tenant_id == tenant_id).group_by(RfmScore.segment)
    ).all())
    grid = [[0] * 5 for _ in range(5)]
    for r, f, n in session.execute(
        select(RfmScore.r, RfmScore.f, func.count()).where(RfmScore.tenant_id == tenant_id).group_by(RfmScore.r, RfmScore.f)
    ):
        grid[r - 1][f - 1] = n
    return {
        "computed_at": computed_at(session, tenant_id=tenant_id),
        "members": sum(per_segment.values()),
        "segments": [{"key": key, "name": name, "members": per_segment.get(key, 0)} for key, name in rfm.SEGMENTS.items()],
        "grid": grid,
    }


def members_of(session: Session, *, tenant_id: int, segment: str, after_member_id: int | None, limit: int) -> list[RfmScore]:
    """A segment's members with their scores, by member id after a cursor."""
    if segment not in rfm.SEGMENTS:
        raise NotFound(f"no segment {segment!r}; the RFM segments are {', '.join(rfm.SEGMENTS)}")
    query = select(RfmScore).where(RfmScore.tenant_id == tenant_id, RfmScore.segment == segment)
    if after_member_id is not None:
        query = query.where(RfmScore.member_id > after_member_id)
    return list(session.execute(query.order_by(RfmScore.member_id).limit(limit)).scalars())


def of_member(session: Session, *, tenant_id: int, member_id: int) -> RfmScore | None:
    """A member's scores, or None (no kept purchase when last computed)."""
    return session.get(RfmScore, (tenant_id, member_id))


def segments_of(session: Session, *, tenant_id: int, member_id: int) -> frozenset[str]:
    """The segments a member is in (their RFM segment and custom ones), as rules' segment conditions and
    rewards' segment lists name them."""
    from wafa.analytics import abc, custom_segments

    found = of_member(session, tenant_id=tenant_id, member_id=member_id)
    ranked = abc.of_member(session, tenant_id=tenant_id, member_id=member_id)
    out = set(custom_segments.keys_of(session, tenant_id=tenant_id, member_id=member_id))
    if found is not None:
        out.add(found.segment)
    if ranked is not None:
        out.add(f"abc_{ranked.abc_class.lower()}")
    return frozenset(out)
