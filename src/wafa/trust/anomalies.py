"""Anomaly flags: members the program's own rules may be being used against, each with the evidence a
reviewer needs. Read live, one grouped read per kind from the domain that owns the facts:

- returns: a member who returned a far larger share of what they bought than the program's members do
  (events.return_rates);
- shared_contact: several members enrolled with one phone number or one inbox (members.shared_contacts;
  no device id is stored, so devices are not compared);
- quick_redemption: a member who spent points or wallet money within hours of enrolling
  (ledger.early_spends, joined to members' enrolments).

A flag is a reason to look, not a verdict: nothing here changes a member."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from wafa.errors import InvalidInput
from wafa.events import return_rates
from wafa.ledger import early_spends
from wafa.members import service as members
from wafa.members import shared_contacts
from wafa.money import to_major
from wafa.programs import service as programs
from wafa.trust.schemas import (
    AnomalyKind,
    AnomalyRead,
    ContactMember,
    QuickRedemptionEvidence,
    ReturnsEvidence,
    SharedContactEvidence,
    SpendRead,
)

KINDS: tuple[AnomalyKind, ...] = ("returns", "shared_contact", "quick_redemption")


@dataclass(frozen=True, slots=True)
class Thresholds:
    """When a member stands out. The defaults: three purchases before a rate means anything (one return of
    two orders is 50%); a returned share of at least half of what was bought *and* three times the
    program's (a shop where returns are common does not flag everyone); three members on one contact (a
    couple sharing a phone is ordinary); a spend within a day of enrolling."""

    days: int = 90  # returns: purchases made in these last days; quick_redemption: members enrolled in them
    min_purchases: int = 3
    multiple: float = 3.0
    floor: float = 0.5
    min_members: int = 3
    hours: int = 24


DEFAULTS = Thresholds()


def find(
    session: Session, *, tenant_id: int, kind: AnomalyKind, now: datetime, limit: int, offset: int = 0,
    thresholds: Thresholds | None = None,
) -> list[AnomalyRead]:
    """A page of the flags of one kind, the strongest first (see AnomalyRead.score)."""
    thresholds = thresholds or DEFAULTS
    if kind == "returns":
        return _returns(session, tenant_id=tenant_id, now=now, limit=limit, offset=offset, t=thresholds)
    if kind == "shared_contact":
        return _shared_contact(session, tenant_id=tenant_id, now=now, limit=limit, offset=offset, t=thresholds)
    if kind == "quick_redemption":
        return _quick_redemption(session, tenant_id=tenant_id, now=now, limit=limit, offset=offset, t=thresholds)
    raise InvalidInput(f"kind is one of {', '.join(KINDS)}", field="kind")


def _returns(session: Session, *, tenant_id: int, now: datetime, limit: int, offset: int, t: Thresholds) -> list[AnomalyRead]:
    program = programs.get(session, tenant_id=tenant_id)
    currency = program.base_currency
    factors = {code: program.in_base(1, code) for code in program.earn_rates}
    rows = return_rates.high_return_rates(
        session, tenant_id=tenant_id, start=now - timedelta(days=t.days), end=now, factors=factors, base_currency=currency,
        min_purchases=t.min_purchases, multiple=t.multiple, floor=t.floor, limit=limit, offset=offset,
    )
    return [
        AnomalyRead(
            kind="returns", member_ids=[row.member_id], score=round(row.rate, 6), detected_at=now,
            evidence=ReturnsEvidence(
                days=t.days, purchases=row.purchases, returned_orders=row.returned_orders,
                purchased=to_major(round(row.purchased), currency), returned=to_major(round(row.returned), currency), currency=currency,
                rate=round(row.rate, 6), program_rate=round(row.program_rate, 6),
                multiple=round(row.rate / row.program_rate, 2) if row.program_rate else None,
            ),
        )
        for row in rows
    ]


def _shared_contact(session: Session, *, tenant_id: int, now: datetime, limit: int, offset: int, t: Thresholds) -> list[AnomalyRead]:
    groups = shared_contacts.shared_contacts(session, tenant_id=tenant_id, min_members=t.min_members, limit=limit, offset=offset)
    return [
        AnomalyRead(
            kind="shared_contact", member_ids=[m.member_id for m in group.members], score=len(group.members), detected_at=now,
            evidence=SharedContactEvidence(
                channel=group.channel, contact=group.contact,
                members=[ContactMember(member_id=m.member_id, external_id=m.external_id, enrolled_at=m.enrolled_at, status=m.status)
                         for m in group.members],
            ),
        )
        for group in groups
    ]


def _quick_redemption(session: Session, *, tenant_id: int, now: datetime, limit: int, offset: int, t: Thresholds) -> list[AnomalyRead]:
    enrolments = members.enrolments_since(tenant_id=tenant_id, start=now - timedelta(days=t.days))
    spenders = early_spends.spends_soon_after(session, tenant_id=tenant_id, starts=enrolments, hours=t.hours, limit=limit, offset=offset)
    out = []
    for spender in spenders:
        spends = [
            SpendRead(
                entry_id=s.entry_id, kind=s.kind, at=s.at, hours_after_enrolment=round(s.seconds_after_start / 3600, 2),
                points=s.amount if s.unit == "PTS" else None,
                amount=None if s.unit == "PTS" else to_major(s.amount, s.unit), currency=None if s.unit == "PTS" else s.unit,
            )
            for s in spender.spends
        ]
        out.append(AnomalyRead(
            kind="quick_redemption", member_ids=[spender.member_id], score=spends[0].hours_after_enrolment, detected_at=now,
            evidence=QuickRedemptionEvidence(
                hours=t.hours, enrolled_at=spender.started_at, points=sum(s.points or 0 for s in spends), spends=spends,
            ),
        ))
    return out
