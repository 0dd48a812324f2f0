"""Member events other than purchases and returns: custom events of declared types, and the built-in
triggers (enrolment, profile completed, birthday); each awards what its rules give, at once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from wafa.bus import dispatch
from wafa.bus.messages import CustomEventRecorded
from wafa.db import insert_unless_exists
from wafa.errors import Conflict
from wafa.events import awards, service
from wafa.events import types as event_types
from wafa.events.models import Event
from wafa.events.schemas import CustomEventIn, EventResult
from wafa.ledger import service as ledger
from wafa.members import service as members
from wafa.members.models import Member
from wafa.rules import engine
from wafa.rules import service as rules


def record_custom(
    session: Session, *, tenant_id: int, event_in: CustomEventIn, request_hash: str, now: datetime
) -> tuple[EventResult, bool]:
    """Record a custom event (its attributes checked against its type's schema) and apply its rules."""
    event_types.check_attributes(session, tenant_id=tenant_id, name=event_in.type, attributes=event_in.attributes)
    member = service.member_by_ref(session, tenant_id=tenant_id, ref=event_in.member)
    return record_trigger(
        session, tenant_id=tenant_id, member=member, type_=event_in.type, reference=event_in.reference,
        attributes=event_in.attributes, occurred_at=service.occurred_or_now(event_in.occurred_at, now), now=now,
        request_hash=request_hash, channel=event_in.channel, store=event_in.store,
    )


def record_trigger(
    session: Session, *, tenant_id: int, member: Member, type_: str, reference: str | None, attributes: dict,
    occurred_at: datetime, now: datetime, request_hash: str | None = None, channel: str | None = None,
    store: str | None = None,
) -> tuple[EventResult, bool]:
    """Record a member event other than a purchase or a return (enrolment, birthday, profile
    completed, or a custom type) and award what its rules give; a repeated reference replays."""
    trigger_rules = rules.for_trigger(session, tenant_id=tenant_id, trigger=type_) if member.status == "active" else []
    if trigger_rules:
        accounts = ledger.member_accounts(session, tenant_id=tenant_id, member_id=member.id)
        ledger.lock_accounts(session, tenant_id=tenant_id, account_ids=[accounts["available"], accounts["pending"]])
    values = {
        "tenant_id": tenant_id, "type": type_, "member_id": member.id, "reference": reference, "amount": 0, "returned_amount": 0, "points": 0,
        "points_reversed": 0, "attributes": attributes, "channel": channel, "store": store, "request_hash": request_hash,
        "occurred_at": occurred_at, "received_at": now,
    }
    if reference is None:
        event_id = session.execute(Event.__table__.insert().values(**values).returning(Event.__table__.c.id)).scalar_one()
    else:
        inserted = insert_unless_exists(
            session, Event, values, conflict=["tenant_id", "type", "member_id", "reference"],
            where=text("reference IS NOT NULL"), returning=[Event.id],
        ).first()
        if inserted is None:
            earlier = session.execute(
                select(Event).where(
                    Event.tenant_id == tenant_id, Event.type == type_, Event.member_id == member.id, Event.reference == reference
                )
            ).scalar_one()
            if request_hash is not None and earlier.request_hash != request_hash:
                raise Conflict(f"{type_} {reference!r} was already recorded with different details", field="reference")
            return member_event_result(session, event=earlier), True
        event_id = inserted[0]
    applied = []
    if trigger_rules:
        facts = engine.EventFacts(type=type_, occurred_at=occurred_at, attributes=attributes, channel=channel, store=store)
        applied = awards.award_now(
            session, tenant_id=tenant_id, event_id=event_id, member=member, rules_=trigger_rules, facts=facts, now=now
        )
    dispatch.publish(session, CustomEventRecorded(
        tenant_id, member.id, now, event_id=event_id, type=type_, points=sum(a.points for a in applied), active=member.status == "active",
    ))
    event = service.get_or_raise(session, tenant_id=tenant_id, event_id=event_id)
    return service.keep_outcome(session, tenant_id=tenant_id, result=member_event_result(session, event=event, applied=applied)), False


def member_enrolled(session: Session, *, tenant_id: int, member: Member, now: datetime) -> EventResult | None:
    """Apply the enrolment rules (a welcome bonus) to a new member, once; None if there are none."""
    if not rules.for_trigger(session, tenant_id=tenant_id, trigger="enrolment"):
        return None
    result, _ = record_trigger(
        session, tenant_id=tenant_id, member=member, type_="enrolment", reference="enrolment", attributes={},
        occurred_at=member.enrolled_at, now=now,
    )
    return result


def profile_changed(session: Session, *, tenant_id: int, member: Member, now: datetime) -> EventResult | None:
    """Apply the profile-completed rules the first time a member's profile is complete; None otherwise."""
    if not members.profile_complete(member) or not rules.for_trigger(session, tenant_id=tenant_id, trigger="profile_completed"):
        return None
    result, replay = record_trigger(
        session, tenant_id=tenant_id, member=member, type_="profile_completed", reference="profile_completed",
        attributes={}, occurred_at=now, now=now,
    )
    return None if replay else result


def member_event_result(session: Session, *, event: Event, applied: list | None = None) -> EventResult:
    """The answer for a member event: a new one's (`applied` given) or, rebuilt, a recorded one's as first given."""
    recorded = applied is None
    if applied is None:
        applied = awards.recorded(session, tenant_id=event.tenant_id, event_id=event.id, currency=None)
    reason = None
    if not applied:
        member = members.get(session, tenant_id=event.tenant_id, member_id=event.member_id or 0)
        reason = f"member is {member.status}" if member is not None and member.status != "active" else "no rule awarded anything"
    result = EventResult(
        event_id=event.id, type=event.type, order_id=None, member_id=event.member_id, amount="0", currency="",
        occurred_at=event.occurred_at, not_awarded_reason=reason, rules=applied,
        total_points=sum(a.points for a in applied), reference=event.reference, attributes=event.attributes,
        balance=service.balance_of(session, tenant_id=event.tenant_id, member_id=event.member_id if applied else None),
    )
    return service.as_first_answered(session, result=result) if recorded else result
