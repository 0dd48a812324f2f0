"""Purchases: record the event, earn the base points and what the rules add; reading events back;
simulation. Returns live in returns.py, custom and built-in member events in member_events.py; the reads
other domains need in purchase_history.py (a member's kept purchases) and figures.py (KPIs, exports)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from wafa.bus import dispatch
from wafa.bus.messages import PurchaseRecorded
from wafa.coalition import service as coalition
from wafa.db import insert_unless_exists
from wafa.errors import Conflict, InvalidInput, LedgerCorrupt, NotFound
from wafa.events import awards, category_totals, hotpath, purchase_totals, return_arithmetic, two_statement_purchase
from wafa.events import types as event_types
from wafa.events.awards import MAX_EVENT_POINTS
from wafa.events.models import Event, EventOutcome
from wafa.events.schemas import Award, CustomEventIn, EventResult, MemberRef, PurchaseIn, Simulation
from wafa.ledger import service as ledger
from wafa.ledger import wallet
from wafa.members import service as members
from wafa.members.models import Member
from wafa.memberships import service as memberships
from wafa.money import precision, to_major, to_minor
from wafa.programs import earning
from wafa.programs import service as programs
from wafa.rules import engine
from wafa.rules import service as rules
from wafa.tiers import service as tiers
from wafa.trust import velocity

# A till's clock may run a little fast; beyond this an event "from the future" is refused.
CLOCK_SKEW = timedelta(minutes=5)
# Nothing a loyalty program records happened earlier; far older dates also break local-time arithmetic.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)


class NeedsTransaction(Exception):
    """The one-statement purchase path could not decide; nothing was written."""


def can_go_fast(session: Session, *, tenant_id: int, event_in: PurchaseIn) -> bool:
    """Whether a purchase may take the one-statement path: PostgreSQL, a member named, no purchase rules
    or plan multipliers to apply, and nothing that reacts to a purchase (the handlers say)."""
    return (
        event_in.member is not None
        and session.get_bind().dialect.name == "postgresql"
        and not rules.for_trigger(session, tenant_id=tenant_id, trigger="purchase")
        and not memberships.has_plans(session, tenant_id=tenant_id)
        and not dispatch.wanted(session, tenant_id=tenant_id, kind=PurchaseRecorded)
    )


def earn_multiplier(session: Session, *, tenant_id: int, member_id: int) -> Decimal:
    """The member's tier multiplier times their membership plan's (1 without either)."""
    return tiers.standing(session, tenant_id=tenant_id, member_id=member_id).multiplier * memberships.multiplier(
        session, tenant_id=tenant_id, member_id=member_id
    )


def tier_points(session: Session, *, tenant_id: int, member_id: int, points: int, multiplier: Decimal | None = None) -> int:
    """Base points times the member's tier and plan earn multipliers, rounded down (rules have multipliers of their own)."""
    if multiplier is None:
        multiplier = earn_multiplier(session, tenant_id=tenant_id, member_id=member_id)
    if multiplier == 1:
        return points
    return int((Decimal(points) * multiplier).to_integral_value(rounding=ROUND_FLOOR))


def member_by_ref(session: Session, *, tenant_id: int, ref: MemberRef) -> Member:
    if ref.id is not None:
        member = members.get(session, tenant_id=tenant_id, member_id=ref.id)
        if member is None:
            raise NotFound(f"member {ref.id} not found", field="member.id")
        return member
    return members.get_by_external_id_or_raise(session, tenant_id=tenant_id, external_id=ref.external_id or "")


def occurred_or_now(value: datetime | None, now: datetime) -> datetime:
    if value is None:
        return now
    try:
        # In UTC, as stored: a replay (read back from the database) must equal the first answer.
        value = value.astimezone(UTC)
    except OverflowError:  # year 1 with a positive offset lies before the first UTC instant
        raise InvalidInput("occurred_at is out of range", field="occurred_at") from None
    if value > now + CLOCK_SKEW:
        raise InvalidInput("occurred_at is in the future", field="occurred_at")
    if value < EARLIEST:
        raise InvalidInput(f"occurred_at is before {EARLIEST.year}", field="occurred_at")
    return value


def balance_of(session: Session, *, tenant_id: int, member_id: int | None) -> dict[str, int] | None:
    if member_id is None:
        return None
    return ledger.balances(session, tenant_id=tenant_id, member_id=member_id)


def keep_outcome(session: Session, *, tenant_id: int, result: EventResult) -> EventResult:
    """Keep what a new event's answer says that later changes would alter (the balance, the reason nothing
    was awarded), so that its replays answer the same; return the answer."""
    session.execute(insert(EventOutcome).values(
        event_id=result.event_id, tenant_id=tenant_id, balance=result.balance, not_awarded_reason=result.not_awarded_reason,
    ))
    return result


def as_first_answered(session: Session, *, result: EventResult) -> EventResult:
    """A recorded event's answer rebuilt from its rows, with the balance and reason it first gave (events
    recorded before outcomes were kept keep the balance of the moment)."""
    outcome = session.get(EventOutcome, result.event_id)
    if outcome is None:
        return result
    return result.model_copy(update={"balance": outcome.balance, "not_awarded_reason": outcome.not_awarded_reason})


def partner_order_id(partner: coalition.Terms, order_id: str) -> str:
    """A partner's order id as kept: `<partner>:<order id>`, so partners' tills never collide."""
    if order_id.startswith(f"{partner.key}:"):
        return order_id
    kept = f"{partner.key}:{order_id}"
    if len(kept) > 128:
        raise InvalidInput(f"a purchase at partner {partner.key!r} has an order id of at most {127 - len(partner.key)} characters", field="order_id")
    return kept


def record_purchase(
    session: Session, *, tenant_id: int, event_in: PurchaseIn, request_hash: str, now: datetime, fast_only: bool = False,
    partner_id: int | None = None, key_id: int | None = None,
) -> tuple[EventResult, bool]:
    """Record a purchase and award its points; return the result and whether it was a replay.

    A purchase whose order id was seen before replays the first result if the request is the
    same, and is a Conflict otherwise. With `fast_only`, only PostgreSQL's one-statement path is
    tried and NeedsTransaction is raised (having written nothing) if it cannot decide. In a coalition,
    a purchase at a partner (`partner_id`: the calling key's) earns at the partner's rate, and the
    partner pays for the points in the same ledger entry. Past a velocity limit on earning (counted per
    member, card, store and the sending key, `key_id`), the points are credited held, for review.
    """
    program = programs.get(session, tenant_id=tenant_id)
    currency = event_in.currency.upper()
    at = coalition.attribute(session, tenant_id=tenant_id, key_partner_id=partner_id, named=event_in.partner, store=event_in.store)
    if at is not None:
        event_in = event_in.model_copy(update={"order_id": partner_order_id(at, event_in.order_id)})
    rate = at.earn_rate if at is not None and at.currency == currency else program.rate_for(currency)
    amount = to_minor(event_in.amount, currency)
    items = _items(event_in, currency)
    occurred_at = occurred_or_now(event_in.occurred_at, now)
    earned = earning.points_for(earning_amount(amount, items), precision=precision(currency), rate=rate, rounding=program.rounding)
    if earned > MAX_EVENT_POINTS:
        raise InvalidInput(f"this amount would earn {earned} points; one event earns at most {MAX_EVENT_POINTS}", field="amount")
    available_at = max(earning.available_at(occurred_at, pending_days=program.pending_days), now)
    expires_at = earning.expires_at(
        available_at, policy=program.expiry_policy, periods=program.expiry_periods, timezone=program.timezone
    )
    reason_text = f"purchase {event_in.order_id}: {to_major(amount, currency)} {currency}"
    details = {"order_id": event_in.order_id, "amount": to_major(amount, currency), "currency": currency, "rate": rate}

    # Velocity limits are counted where the points are decided: on the ORM path below.
    limited = bool(velocity.limits_for(program, "earn"))
    go_fast = event_in.member is not None and not limited and can_go_fast(session, tenant_id=tenant_id, event_in=event_in)
    if go_fast and event_in.member is not None:
        fast = hotpath.purchase(
            session, tenant_id=tenant_id, member_external_id=event_in.member.external_id, member_id=event_in.member.id,
            order_id=event_in.order_id, currency=currency, amount=amount, points=earned, items=items,
            channel=event_in.channel, store=event_in.store, request_hash=request_hash, occurred_at=occurred_at, now=now,
            reason=reason_text, details=details, issued_account_id=ledger.program_accounts(session, tenant_id=tenant_id)["issued"],
            available_at=available_at, expires_at=expires_at,
            # At a partner, the money it pays for the points goes in the same statement (no multiplier on this path).
            money=coalition.earn_money(session, tenant_id=tenant_id, partner=at, points=earned) if at is not None else None,
        )
        if fast is not None:
            award = None
            if fast["entry_id"] is not None:
                award = Award(
                    points=fast["points"], status="available" if fast["released"] else "pending",
                    available_at=available_at, expires_at=expires_at, entry_id=fast["entry_id"],
                )
            return (
                EventResult(
                    event_id=fast["event_id"], type="purchase", order_id=event_in.order_id, member_id=fast["member_id"],
                    amount=to_major(amount, currency), currency=currency, occurred_at=occurred_at, award=award,
                    not_awarded_reason=fast["not_awarded_reason"], total_points=award.points if award else 0,
                    balance=fast["balances"],
                ),
                False,
            )

    if fast_only:
        raise NeedsTransaction
    if at is None and not go_fast and not limited and event_in.member is not None and session.get_bind().dialect.name == "postgresql":
        decided = _in_two_statements(
            session, tenant_id=tenant_id, event_in=event_in, program=program, currency=currency, amount=amount, items=items,
            occurred_at=occurred_at, earned=earned, available_at=available_at, expires_at=expires_at, reason_text=reason_text,
            details=details, request_hash=request_hash, now=now,
        )
        if decided is not None:
            return decided
    member = member_by_ref(session, tenant_id=tenant_id, ref=event_in.member) if event_in.member else None
    points, reason = 0, None
    if member is None:
        reason = "not a member"
    elif member.status != "active":
        reason = f"member is {member.status}"
    else:
        multiplier = earn_multiplier(session, tenant_id=tenant_id, member_id=member.id)
        points = tier_points(session, tenant_id=tenant_id, member_id=member.id, points=earned, multiplier=multiplier)
        if points != earned:
            details = {**details, "earn_multiplier": str(multiplier)}
    purchase_rules = rules.for_trigger(session, tenant_id=tenant_id, trigger="purchase") if reason is None else []
    member_facts = None
    if member is not None and (purchase_rules or limited or dispatch.wanted(session, tenant_id=tenant_id, kind=PurchaseRecorded)):
        # One member's events take turns from here on, so per-member caps are read and used atomically
        # (and a tier upgrade, which locks the tier row after the accounts, sees every earlier purchase).
        # Both accounts, available first, before the credit touches either: the order returns, releases
        # and redemptions take, so a purchase that then measures achievements never deadlocks with them.
        accounts = ledger.member_accounts(session, tenant_id=tenant_id, member_id=member.id)
        ledger.lock_accounts(session, tenant_id=tenant_id, account_ids=[accounts["available"], accounts["pending"]])
        if purchase_rules:
            member_facts = awards.member_facts(session, tenant_id=tenant_id, member=member, rules_=purchase_rules, at=occurred_at)

    inserted = insert_unless_exists(
        session,
        Event,
        {
            "tenant_id": tenant_id,
            "type": "purchase",
            "member_id": member.id if member else None,
            "order_id": event_in.order_id,
            "currency": currency,
            "amount": amount,
            "returned_amount": 0,
            "points": points,
            "points_reversed": 0,
            "items": items,
            # What a return needs to re-read the rules on the kept part of the order.
            "attributes": {"member": awards.facts_to_json(member_facts), "coupons": event_in.coupons or []} if member_facts else None,
            "channel": event_in.channel,
            "store": event_in.store,
            "partner_id": at.id if at is not None else None,
            "request_hash": request_hash,
            "occurred_at": occurred_at,
            "received_at": now,
        },
        conflict=["tenant_id", "order_id"],
        where=text("type = 'purchase'"),
        returning=[Event.id],
    ).first()
    if inserted is None:
        return _replay_purchase(session, tenant_id=tenant_id, order_id=event_in.order_id, request_hash=request_hash), True
    event_id = inserted[0]
    if member is not None:
        kept, orders = purchase_totals.share(amount, 0)
        purchase_totals.add(
            session, tenant_id=tenant_id, member_id=member.id, occurred_at=occurred_at, currency=currency, kept=kept, orders=orders
        )
        category_totals.add(
            session, tenant_id=tenant_id, member_id=member.id, occurred_at=occurred_at, currency=currency,
            found=category_totals.shares(amount, 0, items, None),
        )

    award = None
    applied: list[awards.RuleAwarded] = []
    review = None
    if member is not None and (points > 0 or member_facts is not None):
        granted: list[engine.Award] = []
        facts = _purchase_facts(event_in, currency=currency, amount=amount, items=items, occurred_at=occurred_at, partner=at)
        if member_facts is not None:
            granted = awards.evaluate(
                session, tenant_id=tenant_id, rules_=purchase_rules, member_id=member.id, facts=facts, member=member_facts,
                base_points=points, timezone=program.timezone, base_currency=program.base_currency,
            )
        breach, subjects, total_earned = None, None, points + sum(award.points for award in granted)
        if limited and total_earned > 0:
            subjects = velocity.Subjects(member=member.id, card=event_in.card, store=event_in.store, key=key_id)
            breach = velocity.assess(
                session, tenant_id=tenant_id, program=program, action="earn", subjects=subjects, value=total_earned, now=now,
            )
        credit, applied = awards.post(
            session, tenant_id=tenant_id, event_id=event_id, member_id=member.id, base_points=points,
            base_reason=reason_text, base_details=details, awards=granted, rules_=purchase_rules, facts=facts,
            base_currency=program.base_currency, now=now, available_at=velocity.HELD_UNTIL if breach else available_at,
            expires_at=expires_at, partner=at, partner_points=earned,
        )
        if breach is not None and subjects is not None:
            review = velocity.hold(
                session, tenant_id=tenant_id, action="earn", breach=breach, subjects=subjects, value=total_earned, now=now,
                event_id=event_id, order_id=event_in.order_id, entry_id=credit.entry_id if credit else None,
                lot_id=credit.lot_id if credit else None, available_at=available_at,
            )
        if credit is not None:
            award = Award(
                points=credit.points, status="held" if breach else credit.status,
                available_at=credit.available_at, expires_at=credit.expires_at, entry_id=credit.entry_id,
            )
    total = award.points if award else 0
    if member is not None:
        # What reacts to the purchase (the member's tier, their achievements), in this transaction; the
        # member's accounts were locked above whenever something does.
        dispatch.publish(session, PurchaseRecorded(
            tenant_id, member.id, now, event_id=event_id, order_id=event_in.order_id, occurred_at=occurred_at, currency=currency,
            amount=amount, points=total, active=member.status == "active", member=member,
        ))
    if reason is None and total == 0 and not applied:
        reason = "amount earns less than one point"
    return (
        keep_outcome(session, tenant_id=tenant_id, result=EventResult(
            event_id=event_id,
            type="purchase",
            order_id=event_in.order_id,
            member_id=member.id if member else None,
            amount=to_major(amount, currency),
            currency=currency,
            occurred_at=occurred_at,
            award=award,
            not_awarded_reason=reason,
            rules=applied,
            total_points=total,
            balance=balance_of(session, tenant_id=tenant_id, member_id=member.id if member and (award or applied) else None),
            review_id=review.id if review is not None else None,
        )),
        False,
    )


def _in_two_statements(
    session: Session, *, tenant_id: int, event_in: PurchaseIn, program: programs.ProgramConfig, currency: str, amount: int,
    items: list[dict] | None, occurred_at: datetime, earned: int, available_at: datetime, expires_at: datetime | None,
    reason_text: str, details: dict, request_hash: str, now: datetime,
) -> tuple[EventResult, bool] | None:
    """A member's purchase on PostgreSQL when rules or reactions decide: one statement reads and locks,
    this decides as the ORM path below does, one statement writes (events/two_statement_purchase.py).
    None, having written nothing, leaves the purchase to the ORM path: an unknown or inactive member,
    or one without points accounts."""
    assert event_in.member is not None
    purchase_rules = rules.for_trigger(session, tenant_id=tenant_id, trigger="purchase")
    found = two_statement_purchase.read(
        session, tenant_id=tenant_id, member_external_id=event_in.member.external_id, member_id=event_in.member.id,
        with_tier=bool(tiers.tiers_of(session, tenant_id=tenant_id)), rules_=purchase_rules, occurred_at=occurred_at,
        timezone=program.timezone,
    )
    if found is None or found.status != "active" or set(found.accounts) != {"available", "pending"}:
        return None
    member_id = found.member_id
    standing = tiers.standing_read(session, tenant_id=tenant_id, member_id=member_id, tier_id=found.tier_id)
    multiplier = standing.multiplier
    if memberships.has_plans(session, tenant_id=tenant_id):
        multiplier *= memberships.multiplier(session, tenant_id=tenant_id, member_id=member_id)
    points = tier_points(session, tenant_id=tenant_id, member_id=member_id, points=earned, multiplier=multiplier)
    if points != earned:
        details = {**details, "earn_multiplier": str(multiplier)}
    facts = _purchase_facts(event_in, currency=currency, amount=amount, items=items, occurred_at=occurred_at)
    granted: list[engine.Award] = []
    attributes = None
    if purchase_rules:
        member_facts = awards.member_facts_read(
            session, tenant_id=tenant_id, member_id=member_id, rules_=purchase_rules, locale=found.locale, city=found.city,
            birth_date=found.birth_date, purchases_before=found.purchases_before, tier=standing.key, at=occurred_at,
        )
        attributes = {"member": awards.facts_to_json(member_facts), "coupons": event_in.coupons or []}
        usage = rules.usage_from(
            purchase_rules, per_member=found.per_member, budgets=rules.budgets(session, tenant_id=tenant_id, rules=purchase_rules),
            currency=currency, base_currency=program.base_currency,
        )
        granted = awards.evaluate(
            session, tenant_id=tenant_id, rules_=purchase_rules, member_id=member_id, facts=facts, member=member_facts,
            base_points=points, timezone=program.timezone, base_currency=program.base_currency, usage=usage,
        )
    plan = awards.plan_of(base_points=points, base_reason=reason_text, base_details=details, awards=granted, facts=facts)
    cashback = None
    if plan.cashback:
        ids = wallet.accounts(session, tenant_id=tenant_id, member_id=member_id, currency=currency)
        cashback = two_statement_purchase.Cashback(
            plan.cashback, currency, ids["cashback"], ids["wallet_pending" if available_at > now else "wallet"],
            plan.cashback_reason, {**plan.cashback_details, "currency": currency, "amount": plan.cashback},
        )
    not_awarded_reason = "amount earns less than one point" if plan.points == 0 and not granted else None
    reacting = dispatch.wanted(session, tenant_id=tenant_id, kind=PurchaseRecorded)
    written = two_statement_purchase.write(
        session, tenant_id=tenant_id, member_id=member_id, order_id=event_in.order_id, currency=currency, amount=amount,
        base_points=points, points=plan.points, items=items, attributes=attributes, channel=event_in.channel,
        store=event_in.store, request_hash=request_hash, occurred_at=occurred_at, now=now, reason=plan.reason,
        details=plan.details, issued_account_id=ledger.program_accounts(session, tenant_id=tenant_id)["issued"],
        available_at=available_at, expires_at=expires_at,
        awards=rules.award_rows(
            tenant_id=tenant_id, event_id=None, member_id=member_id, occurred_at=occurred_at, awards=granted, currency=currency,
            points_entry_id=None, points_lot_id=None, cashback_available_at=available_at, now=now,
        ),
        cashback=cashback, with_balance=bool(granted), not_awarded_reason=not_awarded_reason, keep_outcome=not reacting,
    )
    if written.event_id is None:
        return _replay_purchase(session, tenant_id=tenant_id, order_id=event_in.order_id, request_hash=request_hash), True
    if granted:
        rules.charge_budgets(
            session, tenant_id=tenant_id, awards=granted, rules_=purchase_rules, currency=currency, base_currency=program.base_currency,
        )
        awards.give_rewards(session, tenant_id=tenant_id, event_id=written.event_id, member_id=member_id, awards=granted, now=now)
    award = None
    if written.entry_id is not None:
        award = Award(
            points=plan.points, status="available" if available_at <= now else "pending", available_at=available_at,
            expires_at=expires_at, entry_id=written.entry_id,
        )
    if reacting:
        dispatch.publish(session, PurchaseRecorded(
            tenant_id, member_id, now, event_id=written.event_id, order_id=event_in.order_id, occurred_at=occurred_at,
            currency=currency, amount=amount, points=award.points if award else 0, active=True,
        ))
    result = EventResult(
        event_id=written.event_id, type="purchase", order_id=event_in.order_id, member_id=member_id,
        amount=to_major(amount, currency), currency=currency, occurred_at=occurred_at, award=award,
        not_awarded_reason=not_awarded_reason,
        rules=[awards.to_result(a, currency=currency, entry_id=written.entry_id if a.points else None) for a in granted],
        total_points=award.points if award else 0, balance=written.balance,
    )
    if reacting:
        # The balance once the tier and achievements have reacted (their points included), as the ORM path answers.
        result.balance = balance_of(session, tenant_id=tenant_id, member_id=member_id) if award or granted else None
        keep_outcome(session, tenant_id=tenant_id, result=result)
    return result, False


def earning_amount(amount: int, items: list[dict] | None) -> int:
    """The part of an order's amount that earns base points: discounted and reward lines do not."""
    return return_arithmetic.earning_amount(amount, items)


def _purchase_facts(
    event_in: PurchaseIn, *, currency: str, amount: int, items: list[dict] | None, occurred_at: datetime,
    partner: coalition.Terms | None = None,
) -> engine.EventFacts:
    return engine.EventFacts(
        type="purchase", occurred_at=occurred_at, currency=currency, precision=precision(currency), amount=amount,
        lines=awards.lines_of(items), channel=event_in.channel, store=event_in.store,
        coupon_codes=tuple(event_in.coupons or ()), partner=partner.key if partner is not None else None,
    )


def _items(event_in: PurchaseIn, currency: str) -> list[dict] | None:
    if not event_in.items:
        return None
    out = []
    for index, item in enumerate(event_in.items):
        out.append(
            {
                "sku": item.sku,
                "category": item.category,
                "brand": item.brand,
                "quantity": item.quantity,
                "unit_price": to_minor(item.unit_price, currency, field=f"items[{index}].unit_price"),
                "earns": item.earns,
            }
        )
    return out


def get_purchase_or_raise(session: Session, *, tenant_id: int, order_id: str, lock: bool = False) -> Event:
    query = select(Event).where(Event.tenant_id == tenant_id, Event.type == "purchase", Event.order_id == order_id)
    if lock:
        query = query.with_for_update()
    event = session.execute(query.execution_options(populate_existing=True)).scalar_one_or_none()
    if event is None:
        raise NotFound(f"no purchase with order id {order_id!r}", field="order_id")
    return event


def _replay_purchase(session: Session, *, tenant_id: int, order_id: str, request_hash: str) -> EventResult:
    event = get_purchase_or_raise(session, tenant_id=tenant_id, order_id=order_id)
    if event.request_hash != request_hash:
        raise Conflict(f"order {order_id!r} was already recorded with different details", field="order_id")
    return purchase_result(session, event=event)


def purchase_result(session: Session, *, event: Event) -> EventResult:
    """The result of a recorded purchase, as first returned."""
    award = None
    reason = None
    lot = ledger.lot_of_event(session, tenant_id=event.tenant_id, event_id=event.id)
    if event.points > 0 and lot is None:
        raise LedgerCorrupt(f"event {event.id} earned {event.points} points but has no lot")
    review_id = None
    if lot is not None:
        held = velocity.is_held(lot.available_at)
        review_id = velocity.review_of_event(session, tenant_id=event.tenant_id, event_id=event.id) if held else None
        award = Award(
            points=lot.amount,
            status="held" if held else "pending" if lot.available_at > event.received_at else "available",
            available_at=lot.available_at,
            expires_at=lot.expires_at,
            entry_id=lot.entry_id,
        )
    applied = awards.recorded(session, tenant_id=event.tenant_id, event_id=event.id, currency=event.currency)
    if award is None and not applied:
        reason = "not a member" if event.member_id is None else "no points awarded"
    return as_first_answered(session, result=EventResult(
        event_id=event.id,
        type="purchase",
        order_id=event.order_id,
        member_id=event.member_id,
        amount=to_major(event.amount, event.currency or "XXX"),
        currency=event.currency or "",
        occurred_at=event.occurred_at,
        award=award,
        not_awarded_reason=reason,
        rules=applied,
        total_points=award.points if award else 0,
        balance=balance_of(session, tenant_id=event.tenant_id, member_id=event.member_id if award or applied else None),
        review_id=review_id,
    ))


def event_result(session: Session, *, event: Event) -> EventResult:
    """The API shape of any recorded event."""
    # Imported here: returns and member events build on this module's purchases and lookups.
    from wafa.events import member_events, returns

    if event.type == "purchase":
        return purchase_result(session, event=event)
    if event.type == "return":
        return returns.return_result(session, event=event)
    return member_events.member_event_result(session, event=event)


def get_or_raise(session: Session, *, tenant_id: int, event_id: int) -> Event:
    """Return an event of this tenant or raise NotFound."""
    event = session.execute(select(Event).where(Event.tenant_id == tenant_id, Event.id == event_id)).scalar_one_or_none()
    if event is None:
        raise NotFound(f"event {event_id} not found")
    return event


@dataclass(frozen=True)
class Trial:
    """What a simulation evaluates: the event and member as the engine reads them, the base points, the
    rules on the event's trigger and what each has already given the member."""

    facts: engine.EventFacts
    member: engine.MemberFacts
    member_status: str | None
    base_points: int
    rules: list[engine.Rule]
    usage: dict[int, engine.Usage] | None
    timezone: str
    currency: str | None


def trial(
    session: Session, *, tenant_id: int, event_in: PurchaseIn | CustomEventIn, now: datetime,
    at: datetime | None = None, draft: engine.Rule | None = None,
) -> Trial:
    """The inputs of a simulation, read without writing or locking. `at` sets when the event happens (a
    simulation may look ahead, to a coming season); `draft` is evaluated as if active, in place of the
    saved version of the same rule (the console's editor)."""
    program = programs.get(session, tenant_id=tenant_id)
    occurred_at = at.astimezone(UTC) if at is not None else occurred_or_now(event_in.occurred_at, now)
    member = member_by_ref(session, tenant_id=tenant_id, ref=event_in.member) if event_in.member is not None else None
    if isinstance(event_in, CustomEventIn):
        event_types.check_attributes(session, tenant_id=tenant_id, name=event_in.type, attributes=event_in.attributes)
        currency, base = None, 0
        facts = engine.EventFacts(
            type=event_in.type, occurred_at=occurred_at, attributes=event_in.attributes, channel=event_in.channel,
            store=event_in.store,
        )
    else:
        currency = event_in.currency.upper()
        amount = to_minor(event_in.amount, currency)
        items = _items(event_in, currency)
        where = coalition.attribute(session, tenant_id=tenant_id, key_partner_id=None, named=event_in.partner, store=event_in.store)
        rate = where.earn_rate if where is not None and where.currency == currency else program.rate_for(currency)
        base = earning.points_for(earning_amount(amount, items), precision=precision(currency), rate=rate, rounding=program.rounding)
        facts = _purchase_facts(event_in, currency=currency, amount=amount, items=items, occurred_at=occurred_at, partner=where)
    trigger_rules = rules.for_trigger(session, tenant_id=tenant_id, trigger=facts.type)
    if draft is not None:
        trigger_rules = [rule for rule in trigger_rules if rule.id != draft.id] + [draft]
    member_facts = engine.MemberFacts()
    if member is not None:
        member_facts = awards.member_facts(session, tenant_id=tenant_id, member=member, rules_=trigger_rules, at=occurred_at)
    usage = None
    if member is not None and member.status == "active":
        if base:
            base = tier_points(session, tenant_id=tenant_id, member_id=member.id, points=base)
        usage = rules.usage(
            session, tenant_id=tenant_id, member_id=member.id, rules=trigger_rules, occurred_at=occurred_at,
            timezone=program.timezone, currency=currency, base_currency=program.base_currency, lock=False,
        )
    return Trial(facts, member_facts, member.status if member is not None else None, base, trigger_rules, usage,
                 program.timezone, currency)


def simulate(session: Session, *, tenant_id: int, event_in: PurchaseIn | CustomEventIn, now: datetime) -> Simulation:
    """What the base earn and the active rules would give a purchase or a custom event now, without writing.

    With a member named, their caps and the rules' budgets are read as they stand (nothing is locked).
    """
    t = trial(session, tenant_id=tenant_id, event_in=event_in, now=now)
    if t.member_status is not None and t.member_status != "active":
        return Simulation(base_points=0, awards=[], total_points=0, note=f"member is {t.member_status}: nothing would be awarded")
    granted = engine.evaluate(t.rules, t.facts, t.member, base_points=t.base_points, timezone=t.timezone, usage=t.usage)
    return Simulation(
        base_points=t.base_points,
        awards=[awards.to_result(a, currency=t.currency, entry_id=None) for a in granted],
        total_points=t.base_points + sum(a.points for a in granted),
        note="simulation only: nothing is written" + (
            "; the member's caps and the rules' budgets are read as they stand" if t.member_status is not None
            else "; no member: caps read as unused"
        ),
    )


def kept_lines(purchase: Event, returned_items: dict[str, int]) -> list[dict] | None:
    """The order's lines less what came back (None for an order recorded without lines)."""
    return return_arithmetic.kept_lines(purchase.items, returned_items)
