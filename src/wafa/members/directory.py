"""The member directory a console table pages, sorts and exports: members filtered by what a person typed
(an exact id, e-mail or phone, or part of the name), status, joining dates and a set of ids (a tier)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, func, select

from wafa.members.models import Member
from wafa.members.service import matching

STATUSES = ("active", "suspended", "closed")
# The columns a table may sort by.
ORDER = {"joined": Member.enrolled_at, "name": func.lower(Member.name), "status": Member.status, "external_id": Member.external_id}
TIEBREAK = Member.id


def table_query(
    *, tenant_id: int, region: str, text: str | None = None, status: str | None = None, joined_from: datetime | None = None,
    joined_before: datetime | None = None, among: Select | None = None, outside: Select | None = None,
) -> Select:
    """Members matching every filter given: `among`/`outside` are queries of member ids to keep or leave out."""
    query = select(Member).where(Member.tenant_id == tenant_id)
    text = (text or "").strip()
    if text:
        query = query.where(matching(text, region=region))
    if status in STATUSES:
        query = query.where(Member.status == status)
    if joined_from is not None:
        query = query.where(Member.enrolled_at >= joined_from)
    if joined_before is not None:
        query = query.where(Member.enrolled_at < joined_before)
    if among is not None:
        query = query.where(Member.id.in_(among))
    if outside is not None:
        query = query.where(Member.id.not_in(outside))
    return query


def export_row(member: Member) -> list:
    """A member as a row of the directory's CSV (HEADER's columns)."""
    return [member.id, member.external_id, member.name, member.email, member.phone, member.status, member.enrolled_at, member.locale,
            member.city]


HEADER = ["id", "external_id", "name", "email", "phone", "status", "joined", "locale", "city"]
