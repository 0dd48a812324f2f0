"""Exchanges of a partner's own points into coalition points: whole coalition points at the partner's
rate, the rest kept on the member's account of the partner's points for the next exchange, and the
coalition points paid for by the partner as if earned there, all in one ledger entry."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from wafa.coalition import service, terms
from wafa.coalition.schemas import ExchangeRead
from wafa.errors import Conflict, InvalidInput
from wafa.ledger import money as ledger_money
from wafa.ledger import service as ledger
from wafa.ledger.money import Money
from wafa.ledger.postings import Leg, post_entry
from wafa.members import service as members
from wafa.programs import earning
from wafa.programs import service as programs


def exchange(
    session: Session, *, tenant_id: int, partner_id: int, member_id: int, own_points: int, key: str, now: datetime,
) -> ExchangeRead:
    """Bring `own_points` of a partner's points into the coalition for a member; return what it made."""
    partner = service.terms_of(session, tenant_id=tenant_id, partner_id=partner_id)
    if partner.own_points_rate is None:
        raise InvalidInput(f"partner {partner.key!r} has no points of its own to exchange", field="own_points")
    if partner.status != "active":
        raise Conflict(f"partner {partner.key!r} is {partner.status}")
    member = members.get_or_raise(session, tenant_id=tenant_id, member_id=member_id)
    if member.status != "active":
        raise Conflict(f"member is {member.status}", field="member_id")
    idempotency_key = f"exchange:{partner_id}:{key}"
    if ledger.has_entry(session, tenant_id=tenant_id, idempotency_key=idempotency_key):
        raise Conflict("this Idempotency-Key was used for another exchange", field="Idempotency-Key")
    unit = ledger_money.own_points_unit(partner_id)
    mine = ledger_money.member_own_points_account(session, tenant_id=tenant_id, member_id=member_id, partner_id=partner_id)
    accounts = ledger.member_accounts(session, tenant_id=tenant_id, member_id=member_id)
    # The member's points accounts first (the order every entry takes), then their own-points account.
    ledger.lock_accounts(session, tenant_id=tenant_id, account_ids=[accounts["available"], accounts["pending"]])
    carried = ledger.lock_accounts(session, tenant_id=tenant_id, account_ids=[mine]).get(mine, 0)
    made = terms.exchange(own_points, carried=carried, rate=partner.own_points_rate)
    own_legs = tuple(leg for leg in (
        Leg(ledger_money.partner_account(session, tenant_id=tenant_id, partner_id=partner_id, unit=unit, kind=ledger_money.OWN_POINTS_KIND),
            -own_points, member_account=False, unit=unit),
        Leg(mine, made.kept - carried, member_account=True, unit=unit),
        Leg(ledger_money.operator_account(session, tenant_id=tenant_id, kind=ledger_money.OWN_POINTS_KIND, currency=unit),
            made.used, member_account=False, unit=unit),
    ) if leg.amount)
    details = {"own_points": own_points, "carried": carried, "used": made.used, "kept": made.kept, "rate": partner.own_points_rate,
               "own_points_name": partner.own_points_name}
    reason = f"{own_points} {partner.own_points_name} from {partner.name} exchanged for {made.points} points"
    entry_id = None
    if made.points:
        program = programs.get(session, tenant_id=tenant_id)
        paid = service.earn_money(session, tenant_id=tenant_id, partner=partner, points=made.points)
        entry_id = ledger.credit(
            session, tenant_id=tenant_id, member_id=member_id, points=made.points, kind="convert", source="issued",
            idempotency_key=idempotency_key, reason=reason[:500], now=now, available_at=now,
            expires_at=earning.expires_at(now, policy=program.expiry_policy, periods=program.expiry_periods, timezone=program.timezone),
            details=details, money=Money(partner.id, own_legs + paid.legs, paid.details),
        ).entry_id
    elif own_legs:
        entry_id, _ = post_entry(
            session, tenant_id=tenant_id, kind="convert", idempotency_key=idempotency_key, legs=list(own_legs), reason=reason[:500],
            now=now, member_id=member_id, points=0, unit=unit, partner_id=partner.id,
            details={**details, "coalition": {"partner_id": partner.id}},
        )
    return ExchangeRead(
        entry_id=entry_id, own_points=own_points, carried=carried, points=made.points, kept=made.kept, rate=partner.own_points_rate,
    )
