"""Members who share a way to be reached: groups of members with one phone number or one inbox (the
normalised `email_key`, aliases included), for the anomaly flags (wafa.trust.anomalies)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, literal, or_, select, union_all
from sqlalchemy.orm import Session

from wafa.members.models import Member


@dataclass(frozen=True, slots=True)
class SharedContact:
    """One phone number or inbox, and the members enrolled with it."""

    channel: str  # "phone" or "email"
    contact: str  # the number, or the inbox's key (members.service.mailbox_key)
    members: list[SharedMember]


@dataclass(frozen=True, slots=True)
class SharedMember:
    member_id: int
    external_id: str
    enrolled_at: datetime
    status: str


def shared_contacts(session: Session, *, tenant_id: int, min_members: int, limit: int, offset: int = 0) -> list[SharedContact]:
    """Phone numbers and inboxes held by at least `min_members` members of the tenant, most members first
    (then channel and contact), a page of `limit` from `offset`, each with its members in enrolment order."""
    groups = union_all(*(
        select(literal(channel).label("channel"), column.label("contact"), func.count().label("members"))
        .where(Member.tenant_id == tenant_id, column.is_not(None), column != "")
        .group_by(column)
        .having(func.count() >= min_members)
        for channel, column in (("phone", Member.phone), ("email", Member.email_key))
    )).subquery()
    page = session.execute(
        select(groups.c.channel, groups.c.contact).order_by(groups.c.members.desc(), groups.c.channel, groups.c.contact)
        .limit(limit).offset(offset)
    ).all()
    if not page:
        return []
    phones = [contact for channel, contact in page if channel == "phone"]
    inboxes = [contact for channel, contact in page if channel == "email"]
    found: dict[tuple[str, str], list[SharedMember]] = {(channel, contact): [] for channel, contact in page}
    rows = session.execute(
        select(Member.id, Member.external_id, Member.enrolled_at, Member.status, Member.phone, Member.email_key)
        .where(Member.tenant_id == tenant_id, or_(Member.phone.in_(phones), Member.email_key.in_(inboxes)))
        .order_by(Member.enrolled_at, Member.id)
    )
    for member_id, external_id, enrolled_at, status, phone, inbox in rows:
        member = SharedMember(member_id, external_id, enrolled_at, status)
        for key in (("phone", phone), ("email", inbox)):
            if key in found:
                found[key].append(member)
    return [SharedContact(channel, contact, found[(channel, contact)]) for channel, contact in page]

