"""Rule awards on recorded events: evaluate the active rules, post what they give to the ledger (a
points entry and lot per rule, cashback into the wallet) and record it with the rule version; on a
return, give back exactly what the returned part had earned, consumed caps and budgets included."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from wafa.analytics import segments as analytics_segments
from wafa.coalition import service as coalition
from wafa.errors import InvalidInput
from wafa.events.models import Event
from wafa.events.schemas import RuleAwarded
from wafa.experiments import registry as experiments
from wafa.ledger import service as ledger
from wafa.ledger import wallet
from wafa.members.models import Member
from wafa.money import precision, to_major
from wafa.offers import grants
from wafa.programs import earning
from wafa.programs import service as programs
from wafa.rewards import catalog, redemptions, stamp_cards
from wafa.rules import engine
from wafa.rules import service as rules
from wafa.tiers import service as tiers

# The most points one event may earn, base and rules together (as for a redemption or an
# adjustment): more would overflow the 64-bit points columns.
MAX_EVENT_POINTS = 10**12
# A stamp stands for a coffee or a car wash: a thousand on one order is a mistake, and each full card
# issues a reward in the same transaction.
MAX_EVENT_STAMPS = 1000


def lines_of(items: Sequence[dict[str, Any]] | None) -> tuple[engine.Line, ...]:
    """Stored order lines as the engine's facts."""
    return tuple(
        engine.Line(i["sku"], i["quantity"], i["unit_price"], i.get("category"), i.get("brand"), i.get("earns", True))
        for i in items or ()
        if i["quantity"] > 0
    )


def member_facts(
    session: Session, *, tenant_id: int, member: Member, rules_: Sequence[engine.Rule], event_id: int | None = None,
    at: datetime | None = None,
) -> engine.MemberFacts:
    """What the rules may ask of a member; the purchase count, the segments, the experiment arms and the live
    offers (as of `at`, the event's time) only when some rule asks."""
    number = 0
    if engine.needs_purchase_number(rules_):
        query = select(func.count()).where(Event.tenant_id == tenant_id, Event.type == "purchase", Event.member_id == member.id)
        if event_id is not None:
            query = query.where(Event.id <= event_id)
        number = session.execute(query).scalar_one() + (0 if event_id is not None else 1)
    segments: frozenset[str] = frozenset()
    if engine.needs_segments(rules_):
        segments = analytics_segments.segments_of(session, tenant_id=tenant_id, member_id=member.id)
    return engine.MemberFacts(
        locale=member.locale, city=member.city, birth_date=member.birth_date, purchase_number=number,
        tier=tiers.standing(session, tenant_id=tenant_id, member_id=member.id).key, segments=segments,
        **_asked(session, tenant_id=tenant_id, member_id=member.id, rules_=rules_, at=at),
    )


def _asked(session: Session, *, tenant_id: int, member_id: int, rules_: Sequence[engine.Rule], at: datetime | None) -> dict[str, Any]:
    """The member's experiment arms and live offers, each only when some rule asks (a program without such
    rules reads neither: the arms come from a per-process cache, the offers cost a query)."""
    asked: dict[str, Any] = {}
    if engine.needs_experiments(rules_):
        asked["arms"] = experiments.arms_of(session, tenant_id=tenant_id, member_id=member_id)
    if engine.needs_offers(rules_) and at is not None:
        asked["offers"] = grants.live_keys(session, tenant_id=tenant_id, member_id=member_id, at=at)
    return asked


def member_facts_read(
    session: Session, *, tenant_id: int, member_id: int, rules_: Sequence[engine.Rule], locale: str | None, city: str | None,
    birth_date: date | None, purchases_before: int, tier: str | None, at: datetime | None = None,
) -> engine.MemberFacts:
    """`member_facts` for a new purchase from what its read statement found (the member's fields, their
    purchases so far when a rule asks, their tier); the segments, when a rule asks, are read here."""
    segments: frozenset[str] = frozenset()
    if engine.needs_segments(rules_):
        segments = analytics_segments.segments_of(session, tenant_id=tenant_id, member_id=member_id)
    return engine.MemberFacts(
        locale=locale, city=city, birth_date=birth_date,
        purchase_number=purchases_before + 1 if engine.needs_purchase_number(rules_) else 0, tier=tier, segments=segments,
        **_asked(session, tenant_id=tenant_id, member_id=member_id, rules_=rules_, at=at),
    )


def facts_to_json(facts: engine.MemberFacts) -> dict[str, Any]:
    """Member facts kept with a purchase, so a later return re-reads the rules with the same facts."""
    return {
        "locale": facts.locale, "city": facts.city, "birth_date": facts.birth_date.isoformat() if facts.birth_date else None,
        "tier": facts.tier, "segments": sorted(facts.segments), "purchase_number": facts.purchase_number,
        **({"arms": dict(facts.arms)} if facts.arms else {}), **({"offers": sorted(facts.offers)} if facts.offers else {}),
    }


def facts_from_json(data: dict[str, Any] | None) -> engine.MemberFacts:
    data = data or {}
    birth = data.get("birth_date")
    return engine.MemberFacts(
        locale=data.get("locale"), city=data.get("city"), birth_date=date.fromisoformat(birth) if birth else None,
        tier=data.get("tier"), segments=frozenset(data.get("segments") or ()), purchase_number=data.get("purchase_number", 0),
        arms=dict(data.get("arms") or {}), offers=frozenset(data.get("offers") or ()),
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
    usage: dict[int, engine.Usage] | None = None,
) -> list[engine.Award]:
    """The awards the rules give this event; with `read_usage`, caps and budgets are read (and budgets locked)
    unless the caller read them (`usage`)."""
    if usage is None and read_usage and member_id is not None:
        usage = rules.usage(
            session, tenant_id=tenant_id, member_id=member_id, rules=rules_, occurred_at=facts.occurred_at,
            timezone=timezone, currency=facts.currency, base_currency=base_currency,
        )
    awards = engine.evaluate(rules_, facts, member, base_points=base_points, timezone=timezone, usage=usage)
    total = base_points + sum(award.points for award in awards)
    if total > MAX_EVENT_POINTS:
        raise InvalidInput(f"this event would earn {total} points; one event earns at most {MAX_EVENT_POINTS}", field="amount")
    stamps = sum(count for award in awards for _, count in award.stamps)
    if stamps > MAX_EVENT_STAMPS:
        raise InvalidInput(f"this event would earn {stamps} stamps; one event earns at most {MAX_EVENT_STAMPS}", field="items")
    return awards


def post(
    session: Session, *, tenant_id: int, event_id: int, member_id: int, base_points: int, base_reason: str | None,
    base_details: dict[str, Any] | None, awards: Sequence[engine.Award], rules_: Sequence[engine.Rule],
    facts: engine.EventFacts, base_currency: str, now: datetime, available_at: datetime, expires_at: datetime | None,
    partner: coalition.Terms | None = None, partner_points: int = 0,
) -> tuple[ledger.Credit | None, list[RuleAwarded]]:
    """Credit an event's base points and every rule's points as one entry and one lot, pay all its
    cashback as one wallet entry, and record each rule's award against its version. At a coalition
    partner, the partner pays in the same entries for `partner_points` (the base points at its earn
    rate) and for what its own rules give; tier and plan multipliers and the operator's rules are the
    operator's.

    One entry per event keeps the earn path to a handful of statements however many rules fire; its
    reason and details name every rule and version, so the history still explains every point.
    """
    currency = facts.currency
    plan = plan_of(base_points=base_points, base_reason=base_reason, base_details=base_details, awards=awards, facts=facts)
    funded = partner_funded(awards, rules_, partner)
    credit = None
    if plan.points > 0:
        money = None
        if partner is not None:
            money = coalition.earn_money(session, tenant_id=tenant_id, partner=partner, points=min(partner_points, base_points) + funded.points)
        credit = ledger.credit(
            session, tenant_id=tenant_id, member_id=member_id, points=plan.points, kind="earn", source="issued",
            idempotency_key=f"earn:event:{event_id}", reason=plan.reason, now=now,
            available_at=available_at, expires_at=expires_at, event_id=event_id, details=plan.details, money=money,
        )
    if plan.cashback and currency:
        cashback_money = None
        if partner is not None:
            cashback_money = coalition.with_partner(
                coalition.cashback_money(session, tenant_id=tenant_id, partner=partner, amount=funded.cashback, currency=currency), partner,
            )
        wallet.credit_cashback(
            session, tenant_id=tenant_id, member_id=member_id, amount=plan.cashback,
            currency=currency, pending=available_at > now, idempotency_key=f"cashback:event:{event_id}",
            reason=plan.cashback_reason, now=now, event_id=event_id, details=plan.cashback_details, money=cashback_money,
        )
    rules.record_awards(
        session, tenant_id=tenant_id, event_id=event_id, member_id=member_id, occurred_at=facts.occurred_at,
        awards=awards, rules_=rules_, currency=currency, base_currency=base_currency,
        points_entry_id=credit.entry_id if credit else None, points_lot_id=credit.lot_id if credit else None,
        cashback_available_at=available_at, now=now,
    )
    give_rewards(session, tenant_id=tenant_id, event_id=event_id, member_id=member_id, awards=awards, now=now)
    return credit, [to_result(award, currency=currency, entry_id=credit.entry_id if credit and award.points else None) for award in awards]


@dataclass(frozen=True, slots=True)
class Funded:
    """What a coalition partner's own rules gave on one of its events: the partner pays for it."""

    points: int = 0
    cashback: int = 0


def partner_funded(awards: Sequence[engine.Award], rules_: Sequence[engine.Rule], partner: coalition.Terms | None) -> Funded:
    """The points and cashback of the awards made by the partner's own rules (none outside a partner)."""
    if partner is None:
        return Funded()
    own = {rule.id for rule in rules_ if rule.definition.partner == partner.key}
    mine = [award for award in awards if award.rule_id in own]
    return Funded(sum(award.points for award in mine), sum(award.cashback for award in mine))


@dataclass(frozen=True, slots=True)
class Plan:
    """What an event's awards post: one points credit (base and rules) and one cashback payment."""

    points: int
    reason: str
    details: dict[str, Any] | None
    cashback: int
    cashback_reason: str
    cashback_details: dict[str, Any]


def plan_of(
    *, base_points: int, base_reason: str | None, base_details: dict[str, Any] | None, awards: Sequence[engine.Award],
    facts: engine.EventFacts,
) -> Plan:
    """The credit and the cashback an event's base points and awards make, with the reasons the
    history shows (every rule and version named)."""
    lines = {award.rule_id: award.describe(currency=facts.currency, precision=facts.precision) for award in awards}
    with_points = [award for award in awards if award.points]
    reason, details = base_reason, base_details
    if with_points:
        breakdown = "; ".join(lines[award.rule_id] for award in with_points)
        reason = f"{base_reason} ({breakdown})" if base_reason else breakdown
        details = {**(base_details or {}), "base_points": base_points, "rules": [_detail(award) for award in with_points]}
    with_cashback = [award for award in awards if award.cashback]
    return Plan(
        points=base_points + sum(award.points for award in with_points), reason=fit(reason or "points"), details=details,
        cashback=sum(award.cashback for award in with_cashback),
        cashback_reason=fit("; ".join(lines[award.rule_id] for award in with_cashback)),
        cashback_details={"rules": [_detail(award) for award in with_cashback]},
    )


def award_now(
    session: Session, *, tenant_id: int, event_id: int, member: Member, rules_: Sequence[engine.Rule],
    facts: engine.EventFacts, now: datetime,
) -> list[RuleAwarded]:
    """Apply rules to an event that has no base earn and no return window (custom events, triggers,
    returns): its points are available at once and expire by the program's policy."""
    program = programs.get(session, tenant_id=tenant_id)
    granted = evaluate(
        session, tenant_id=tenant_id, rules_=rules_, member_id=member.id, facts=facts,
        member=member_facts(session, tenant_id=tenant_id, member=member, rules_=rules_, at=facts.occurred_at),
        base_points=0, timezone=program.timezone, base_currency=program.base_currency,
    )
    expires_at = earning.expires_at(now, policy=program.expiry_policy, periods=program.expiry_periods, timezone=program.timezone)
    _, applied = post(
        session, tenant_id=tenant_id, event_id=event_id, member_id=member.id, base_points=0, base_reason=None,
        base_details=None, awards=granted, rules_=rules_, facts=facts, base_currency=program.base_currency,
        now=now, available_at=now, expires_at=expires_at,
    )
    return applied


def give_rewards(
    session: Session, *, tenant_id: int, event_id: int, member_id: int, awards: Sequence[engine.Award], now: datetime
) -> None:
    """Put the rules' stamps on the member's stamp cards and issue the catalog rewards rules name."""
    for award in awards:
        for card, count in award.stamps:
            stamp_cards.add(session, tenant_id=tenant_id, member_id=member_id, card_key=card, count=count, event_id=event_id, now=now)
        for key in award.rewards:
            reward = catalog.get_by_key(session, tenant_id=tenant_id, key=key)
            if reward is None or reward.status != "active":
                # Counted on the member's stamps-and-rewards tally all the same; nothing in the catalog to issue.
                continue
            redemptions.grant(
                session, tenant_id=tenant_id, member_id=member_id, reward=reward, source="rule",
                source_key=f"rule:{event_id}:{award.rule_id}:{key}", now=now, event_id=event_id,
            )


def take_rewards_back(
    session: Session, *, tenant_id: int, member_id: int, purchase_event_id: int, given: GivenBack, now: datetime, reason: str
) -> None:
    """Take a return's stamps off the member's cards and cancel rule rewards it took away (if unused)."""
    for award in given.rules:
        for card, count in award.stamps:
            stamp_cards.remove(
                session, tenant_id=tenant_id, member_id=member_id, card_key=card, count=count, event_id=purchase_event_id,
                now=now, reason=reason,
            )
        for key in award.rewards:
            redemptions.revoke_grant(
                session, tenant_id=tenant_id, source_key=f"rule:{purchase_event_id}:{award.rule_id}:{key}", now=now, reason=reason,
            )


def _detail(award: engine.Award) -> dict[str, Any]:
    return {"rule_id": award.rule_id, "version": award.version, "name": {"en": award.name_en, "ar": award.name_ar},
            "points": award.points, "cashback": award.cashback}


def fit(reason: str) -> str:
    """A reason cut to the 500 characters an entry holds (the details keep the whole breakdown)."""
    return reason if len(reason) <= 500 else reason[:499] + "…"


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


@dataclass(frozen=True, slots=True)
class GivenBack:
    """What a return takes back from the rules' awards, to be posted with the base clawback."""

    points: int
    cashback_pending: int
    cashback_available: int
    rules: list[engine.Award]
    lines: list[str]
    # Of the cashback taken back, what a coalition partner's own rules gave (the partner is repaid it).
    partner_cashback_pending: int = 0
    partner_cashback_available: int = 0


def give_back(
    session: Session, *, tenant_id: int, purchase: Event, kept_facts: engine.EventFacts, fully_returned: bool,
    kept_base_points: int, base_currency: str,
) -> GivenBack:
    """Shrink each rule award of a purchase to what the kept part of the order earns; return what that
    takes back (the caller posts it, with the base points, as one entry)."""
    member = facts_from_json((purchase.attributes or {}).get("member"))
    currency = purchase.currency
    points = pending = available = partner_pending = partner_available = 0
    backs, lines = [], []
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
        kept_stamps = dict(after.stamps)
        back = engine.Award(
            before.rule_id, before.version, before.name_en, before.name_ar,
            before.points - after.points, before.cashback - after.cashback,
            tuple((card, count - kept_stamps.get(card, 0)) for card, count in before.stamps if count > kept_stamps.get(card, 0)),
            tuple(reward for reward in before.rewards if reward not in after.rewards),
        )
        points += back.points
        own = purchase.partner_id is not None and rule.definition.partner is not None
        if row.cashback_released:
            available += back.cashback
            partner_available += back.cashback if own else 0
        else:
            pending += back.cashback
            partner_pending += back.cashback if own else 0
        rules.shrink(session, tenant_id=tenant_id, row=row, kept=after, base_currency=base_currency)
        backs.append(back)
        lines.append(back.describe(currency=currency, precision=kept_facts.precision, sign=-1))
    return GivenBack(points, pending, available, backs, lines, partner_pending, partner_available)


def reverse_cashback(
    session: Session, *, tenant_id: int, member_id: int, given: GivenBack, currency: str, return_event_id: int,
    reason: str, now: datetime, partner_id: int | None = None,
) -> None:
    """Take back the cashback a return gives back: what is still pending, then what was released (and
    repay the coalition partner that funded its part)."""
    partner = coalition.terms_of(session, tenant_id=tenant_id, partner_id=partner_id) if partner_id is not None else None
    for pending, amount, funded in (
        (True, given.cashback_pending, given.partner_cashback_pending),
        (False, given.cashback_available, given.partner_cashback_available),
    ):
        if amount:
            money = None
            if partner is not None:
                money = coalition.with_partner(
                    coalition.cashback_money(session, tenant_id=tenant_id, partner=partner, amount=funded, currency=currency, sign=-1),
                    partner,
                )
            wallet.reverse_cashback(
                session, tenant_id=tenant_id, member_id=member_id, amount=amount, currency=currency, pending=pending,
                idempotency_key=f"cashback-back:event:{return_event_id}:{'pending' if pending else 'available'}",
                reason=fit(reason), now=now, event_id=return_event_id,
                details={"rules": [_detail(award) for award in given.rules if award.cashback]}, money=money,
            )


def reschedule_held_cashback(session: Session, *, tenant_id: int, event_id: int, held_from: datetime, available_at: datetime,
                             now: datetime) -> int:
    """Let an event's held cashback through: pending until `available_at`, released now when that has come;
    return the amount released."""
    ids = rules.reschedule_cashback(session, tenant_id=tenant_id, event_id=event_id, held_from=held_from, available_at=available_at)
    return sum(release_cashback(session, tenant_id=tenant_id, award_id=i, now=now) for i in ids) if available_at <= now else 0


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
