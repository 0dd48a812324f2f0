"""When a member was last active, for the program's retention period: an event they sent, a ledger entry
they caused, a portal sign-in. Sign-ins live in sessions and sign-in codes that the worker forgets (a
session 30 days after its last use, a code a day after it expired), so the worker first folds them into
the member's `last_seen_at`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, bindparam, exists, func, or_, select, update
from sqlalchemy.orm import Session

from wafa.db import rowcount
from wafa.events.models import Event
from wafa.ledger.models import Entry, Hold
from wafa.members.models import Member
from wafa.memberships.models import Membership
from wafa.memberships.service import LIVE
from wafa.web.models import LoginCode, WebSession

# Events the worker records by itself (a birthday), and entries that time alone writes (pending points
# released, points expiring): none is the member doing anything.
NOT_THE_MEMBERS = {"events": ("birthday",), "entries": ("release", "expire")}

_TOUCH = (
    update(Member.__table__)
    .where(Member.__table__.c.tenant_id == bindparam("t"), Member.__table__.c.id == bindparam("m"),
           or_(Member.__table__.c.last_seen_at.is_(None), Member.__table__.c.last_seen_at < bindparam("at")))
    .values(last_seen_at=bindparam("at"))
)


def keep_sign_ins(session: Session, *, now: datetime) -> int:
    """Fold the portal sessions and used sign-in codes that have expired (what the worker's purge is about to
    forget) into each member's `last_seen_at`; return how many members' dates moved on."""
    seen: dict[tuple[int, int], datetime] = {}
    sessions = select(WebSession.tenant_id, WebSession.subject_id, func.max(WebSession.last_seen_at)).where(
        WebSession.kind == "member", WebSession.expires_at <= now).group_by(WebSession.tenant_id, WebSession.subject_id)
    codes = select(LoginCode.tenant_id, LoginCode.member_id, func.max(LoginCode.used_at)).where(
        LoginCode.used_at.is_not(None), LoginCode.member_id.is_not(None), LoginCode.expires_at <= now,
    ).group_by(LoginCode.tenant_id, LoginCode.member_id)
    for query in (sessions, codes):
        for tenant_id, member_id, at in session.execute(query):
            if member_id is None or at is None:
                continue
            key = (int(tenant_id), int(member_id))
            seen[key] = max(seen.get(key, at), at)
    if not seen:
        return 0
    rows = [{"t": t, "m": m, "at": at} for (t, m), at in sorted(seen.items())]
    return rowcount(session.execute(_TOUCH, rows)) or 0


def inactive_since(
    session: Session, *, tenant_id: int, cutoff: datetime, after_id: int, limit: int,
) -> list[tuple[int, int]]:
    """(tenant, member) of members not yet erased who have done nothing since `cutoff` (joined before it, no
    event, no entry of theirs, no sign-in), in id order after a cursor. Members with a hold open at a till
    or a paid membership in force are active by definition."""
    m = Member.__table__.c
    since = cutoff
    query = (
        select(m.tenant_id, m.id)
        .where(
            m.tenant_id == tenant_id, m.erased_at.is_(None), m.id > after_id, m.enrolled_at < since,
            or_(m.last_seen_at.is_(None), m.last_seen_at < since),
            ~exists().where(Event.tenant_id == tenant_id, Event.member_id == m.id, Event.occurred_at >= since,
                            Event.type.not_in(NOT_THE_MEMBERS["events"])),
            ~exists().where(Entry.tenant_id == tenant_id, Entry.member_id == m.id, Entry.created_at >= since,
                            Entry.kind.not_in(NOT_THE_MEMBERS["entries"])),
            ~exists().where(Hold.tenant_id == tenant_id, Hold.member_id == m.id, Hold.status == "open"),
            ~exists().where(Membership.tenant_id == tenant_id, Membership.member_id == m.id, Membership.status.in_(LIVE)),
            ~exists().where(WebSession.kind == "member", WebSession.tenant_id == tenant_id, WebSession.subject_id == m.id),
            ~exists().where(LoginCode.tenant_id == tenant_id, LoginCode.member_id == m.id,
                            and_(LoginCode.used_at.is_not(None), LoginCode.used_at >= since)),
        )
        .order_by(m.id)
        .limit(limit)
    )
    return [(int(t), int(i)) for t, i in session.execute(query)]
