"""Rule awards on recorded events: evaluate the active rules, post what they give to the ledger (a
points entry and lot per rule, cashback into the wallet) and record it with the rule version; on a
return, give back exactly what the returned part had earned, consumed caps and budgets included."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from wafa.errors import InvalidInput
from wafa.events.models import Event
from wafa.events.schemas import RuleAwarded
from wafa.ledger import service as ledger
from wafa.ledger import wallet
from wafa.members.models import Member
from wafa.money import precision, to_major
from wafa.rules import engine
from wafa.rules import service as rules

# The most points one event may earn, base and rules together (as for a redemption or an
# adjustment): more would overflow the 64-bit points columns.
MAX_EVENT_POINTS = 10**12


def lines_of(items: Sequence[dict[str, Any]] | None) -> tuple[engine.Line, ...]:
    """Stored order lines as the engine's facts."""
    return tuple(
        engine.Line(i["sku"], i["quantity"], i["unit_price"], i.get("category"), i.get("brand"), i.get("earns", True))
        for i in items or ()
        if i["quantity"] > 0
    )


def member_facts(
    session: Session, *, tenant_id: int, member: Member, rules_: Sequence[engine.Rule], event_id: int | None = None
) -> engine.MemberFacts:
    """What the rules may ask of a member; the purchase count only when some rule asks for it.

    Tier and segments come with the tiers and analytics domains; until a member has them they are empty.
    """
    number = 0
    if engine.needs_purchase_number(rules_):
        query = select(func.count()).where(Event.tenant_id == tenant_id, Event.type == "purchase", Event.member_id == member.id)
        if event_id is not None:
            query = query.where(Event.id <= event_id)
        number = session.execute(query).scalar_one() + (0 if event_id is not None else 1)
    return engine.MemberFacts(
        locale=member.locale, city=member.city, birth_date=member.birth_date, purchase_number=number,
    )


def facts_to_json(facts: engine.MemberFacts) -> dict[str, Any]:
    """Member facts kept with a purchase, so a later return re-reads the rules with the same facts."""
    return {
        "locale": facts.locale, "city": facts.city, "birth_date": facts.birth_date.isoformat() if facts.birth_date else None,
        "tier": facts.tier, "segments": sorted(facts.segments), "purchase_number": facts.purchase_number,
    }


def facts_from_json(data: dict[str, Any] | None) -> engine.MemberFacts:
    data = data or {}
    birth = data.get("birth_date")
    return engine.MemberFacts(
        locale=data.get("locale"), city=data.get("city"), birth_date=date.fromisoformat(birth) if birth else None,
        tier=data.get("tier"), segments=frozenset(data.get("segments") or ()), purchase_number=data.get("purchase_number", 0),
    )


def to_result(award: engine.Award, *, currency: str | None, entry_id: int | None, sign: int = 1) -> RuleAwarded:
    """The API shape of an award (or, with sign=-1, of what a return took back)."""
    digits = precision(currency) if currency else 2
    return RuleAwarded(
        rule_id=award.rule_id, version=award.version, name={"en": award.name_en, "ar": award.name_ar},
        points=award.points, cashback=to_major(award.cashback, currency) if currency else "0",
        stamps=dict(award.stamps), rewards=list(award.rewards), capped_by=award.capped_by,
        line=award.describe(currency=currency, precision=digits, sign=sign), entry_id=entry_id,
    )


def evaluate(
    session: Session, *, tenant_id: int, rules_: Sequence[engine.Rule], member_id: int | None, facts: engine.EventFacts,
    member: engine.MemberFacts, base_points: int, timezone: str, base_currency: str, read_usage: bool = True,
) -> list[engine.Award]:
    """The awards the rules give this event; with `read_usage`, caps and budgets are read (and budgets locked)."""
    usage = None
    if read_usage and member_id is not None:
        usage = rules.usage(
            session, tenant_id=tenant_id, member_id=member_id, rules=rules_, occurred_at=facts.occurred_at,
            timezone=timezone, currency=facts.currency, base_currency=base_currency,
        )
    awards = engine.evaluate(rules_, facts, member, base_points=base_points, timezone=timezone, usage=usage)
    total = base_points + sum(award.points for award in awards)
    if total > MAX_EVENT_POINTS:
        raise InvalidInput(f"this event would earn {total} points; one event earns at most {MAX_EVENT_POINTS}", field="amount")
    return awards


def post(
    session: Session, *, tenant_id: int, event_id: int, member_id: int, awards: Sequence[engine.Award],
    rules_: Sequence[engine.Rule], facts: engine.EventFacts, base_currency: str, now: datetime,
    available_at: datetime, expires_at: datetime | None,
) -> list[RuleAwarded]:
    """Post each award to the ledger (points, then cashback) and record it against its rule version."""
    by_id = {rule.id: rule for rule in rules_}
    currency = facts.currency
    out = []
    for award in awards:
        line = award.describe(currency=currency, precision=facts.precision)
        details = {"rule_id": award.rule_id, "version": award.version, "rule": {"en": award.name_en, "ar": award.name_ar}}
        entry_id = lot_id = None
        if award.points:
            credit = ledger.credit(
                session, tenant_id=tenant_id, member_id=member_id, points=award.points, kind="earn", source="issued",
                idempotency_key=f"earn:event:{event_id}:rule:{award.rule_id}", reason=line, now=now,
                available_at=available_at, expires_at=expires_at, event_id=event_id, details=details,
            )
            entry_id, lot_id = credit.entry_id, credit.lot_id
        if award.cashback and currency:
            wallet.credit_cashback(
                session, tenant_id=tenant_id, member_id=member_id, amount=award.cashback, currency=currency,
                pending=available_at > now, idempotency_key=f"cashback:event:{event_id}:rule:{award.rule_id}",
                reason=line, now=now, event_id=event_id, details=details,
            )
        rules.record_award(
            session, tenant_id=tenant_id, event_id=event_id, member_id=member_id, occurred_at=facts.occurred_at,
            award=award, rule=by_id[award.rule_id], currency=currency, base_currency=base_currency,
            points_entry_id=entry_id, points_lot_id=lot_id,
            cashback_available_at=available_at if award.cashback else None, now=now,
        )
        out.append(to_result(award, currency=currency, entry_id=entry_id))
    return out


def recorded(session: Session, *, tenant_id: int, event_id: int, currency: str | None) -> list[RuleAwarded]:
    """What the rules gave an event, as first granted (for replays and reads)."""
    out = []
    for row in rules.awards_of_event(session, tenant_id=tenant_id, event_id=event_id):
        rule = rules.version_of(session, tenant_id=tenant_id, rule_id=row.rule_id, version=row.version)
        spec = rule.definition
        award = engine.Award(
            row.rule_id, row.version, spec.name_en, spec.name_ar, row.points, row.cashback,
            tuple((row.stamps or {}).items()), tuple(row.rewards or ()), row.capped_by,
        )
        out.append(to_result(award, currency=currency, entry_id=row.points_entry_id))
    return out


def give_back(
    session: Session, *, tenant_id: int, purchase: Event, kept_facts: engine.EventFacts, fully_returned: bool,
    kept_base_points: int, base_currency: str, return_event_id: int, now: datetime,
) -> list[RuleAwarded]:
    """Shrink each rule award of a purchase to what the kept part of the order earns; post the difference back."""
    member = facts_from_json((purchase.attributes or {}).get("member"))
    currency = purchase.currency
    out = []
    for row in rules.awards_of_event(session, tenant_id=tenant_id, event_id=purchase.id, lock=True):
        rule = rules.version_of(session, tenant_id=tenant_id, rule_id=row.rule_id, version=row.version)
        before = rules.as_kept_award(row, rule)
        if before.empty:
            continue
        if fully_returned:
            after = engine.Award(before.rule_id, before.version, before.name_en, before.name_ar, capped_by=before.capped_by)
        else:
            after = engine.kept(rule, kept_facts, member, base_points=kept_base_points, granted=before)
        if after == before:
            continue
        back = engine.Award(
            before.rule_id, before.version, before.name_en, before.name_ar,
            before.points - after.points, before.cashback - after.cashback,
            tuple((card, count - dict(after.stamps).get(card, 0)) for card, count in before.stamps if count > dict(after.stamps).get(card, 0)),
            tuple(reward for reward in before.rewards if reward not in after.rewards),
        )
        line = f"return on order {purchase.order_id}: " + back.describe(currency=currency, precision=kept_facts.precision, sign=-1)
        details = {"rule_id": row.rule_id, "version": row.version, "order_id": purchase.order_id}
        entry_id = None
        if back.points and purchase.member_id is not None:
            entry_id = ledger.claw_back(
                session, tenant_id=tenant_id, member_id=purchase.member_id, points=back.points, lot_id=row.points_lot_id,
                idempotency_key=f"return:event:{return_event_id}:rule:{row.rule_id}", reason=line, now=now,
                event_id=return_event_id, details=details,
            ).entry_id
        if back.cashback and currency and purchase.member_id is not None:
            wallet.reverse_cashback(
                session, tenant_id=tenant_id, member_id=purchase.member_id, amount=back.cashback, currency=currency,
                pending=not row.cashback_released, idempotency_key=f"cashback-back:event:{return_event_id}:rule:{row.rule_id}",
                reason=line, now=now, event_id=return_event_id, details=details,
            )
        rules.shrink(session, tenant_id=tenant_id, row=row, kept=after, base_currency=base_currency)
        out.append(to_result(back, currency=currency, entry_id=entry_id, sign=-1))
    return out


def release_cashback(session: Session, *, tenant_id: int, award_id: int, now: datetime) -> int:
    """Move an award's pending cashback into the available wallet once; return the amount moved."""
    row = rules.mark_cashback_released(session, tenant_id=tenant_id, award_id=award_id)
    if row is None or not row.cashback_kept or not row.currency:
        return 0
    wallet.release_cashback(
        session, tenant_id=tenant_id, member_id=row.member_id, amount=row.cashback_kept, currency=row.currency,
        idempotency_key=f"release:cashback:{row.id}",
        reason=f"{to_major(row.cashback_kept, row.currency)} {row.currency} cashback released: return window closed",
        now=now, event_id=row.event_id,
    )
    return row.cashback_kept
