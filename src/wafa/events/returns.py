"""Returns: take back the returned part's points and exactly what the rules gave for it, cumulatively,
so any sequence of partial returns ends where one whole return would."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from wafa.bus import dispatch
from wafa.bus.messages import PurchaseReturned
from wafa.coalition import service as coalition
from wafa.errors import Conflict, InvalidInput, NotFound
from wafa.events import awards, category_totals, purchase_totals, service
from wafa.events import return_arithmetic as arithmetic
from wafa.events.models import Event
from wafa.events.schemas import EventResult, ReturnIn, Reversal
from wafa.ledger import service as ledger
from wafa.members import service as members
from wafa.money import precision, to_major
from wafa.programs import service as programs
from wafa.rewards import payments
from wafa.rules import engine
from wafa.rules import service as rules


def for_partner(session: Session, *, tenant_id: int, key_partner_id: int | None, event_in: ReturnIn) -> ReturnIn:
    """A return as recorded in a coalition: the order id in its partner's namespace; a partner's key
    reaches its own orders only (another partner's are not found)."""
    if key_partner_id is None and event_in.partner is None:
        return event_in
    partner = coalition.attribute(session, tenant_id=tenant_id, key_partner_id=key_partner_id, named=event_in.partner, store=None)
    if partner is None:
        return event_in
    order_id = service.partner_order_id(partner, event_in.order_id)
    purchase = service.get_purchase_or_raise(session, tenant_id=tenant_id, order_id=order_id)
    if purchase.partner_id != partner.id:
        raise NotFound(f"no purchase with order id {event_in.order_id!r}", field="order_id")
    return event_in.model_copy(update={"order_id": order_id})


def find_return(session: Session, *, tenant_id: int, event_in: ReturnIn, request_hash: str) -> EventResult | None:
    """The result of a return recorded before under the same return_id (None if new).

    Locks the order first, so a concurrent repeat waits and then finds the first one; a repeat with
    other details is a Conflict.
    """
    if event_in.return_id is None:
        return None
    service.get_purchase_or_raise(session, tenant_id=tenant_id, order_id=event_in.order_id, lock=True)
    earlier = session.execute(
        select(Event).where(
            Event.tenant_id == tenant_id, Event.type == "return", Event.order_id == event_in.order_id,
            Event.return_id == event_in.return_id,
        )
    ).scalar_one_or_none()
    if earlier is None:
        return None
    if earlier.request_hash != request_hash:
        raise Conflict(f"return {event_in.return_id!r} was already recorded with different details", field="return_id")
    return return_result(session, event=earlier)


def record_return(
    session: Session, *, tenant_id: int, event_in: ReturnIn, now: datetime, request_hash: str | None = None
) -> EventResult:
    """Record a return and claw back the returned part's points, exactly and cumulatively."""
    purchase = service.get_purchase_or_raise(session, tenant_id=tenant_id, order_id=event_in.order_id, lock=True)
    if purchase.member_id is not None:
        # Lock order, as for purchases: the member's points accounts, then rule budgets, then the wallet.
        accounts = ledger.member_accounts(session, tenant_id=tenant_id, member_id=purchase.member_id)
        ledger.lock_accounts(session, tenant_id=tenant_id, account_ids=[accounts["available"], accounts["pending"]])
    if event_in.return_id is not None and session.execute(
        select(Event.id).where(
            Event.tenant_id == tenant_id, Event.type == "return", Event.order_id == event_in.order_id,
            Event.return_id == event_in.return_id,
        )
    ).first():
        raise Conflict(f"return {event_in.return_id!r} of order {event_in.order_id!r} is already recorded", field="return_id")
    currency = purchase.currency or ""
    if event_in.member is not None:
        member = service.member_by_ref(session, tenant_id=tenant_id, ref=event_in.member)
        if member.id != purchase.member_id:
            raise InvalidInput("this order belongs to another member", field="member")
    occurred_at = service.occurred_or_now(event_in.occurred_at, now)
    if occurred_at < purchase.occurred_at:
        raise InvalidInput("a return cannot happen before its purchase", field="occurred_at")
    taken = arithmetic.take_back(
        _order(purchase), items=[(item.sku, item.quantity) for item in event_in.items or []] or None, amount=event_in.amount,
    )
    this_amount, cumulative_amount, returned_items = taken.amount, taken.cumulative_amount, taken.returned_items
    target_reversed, claw = taken.target_reversed, taken.claw

    event_id = session.execute(
        Event.__table__.insert()
        .values(
            tenant_id=tenant_id,
            type="return",
            member_id=purchase.member_id,
            order_id=purchase.order_id,
            purchase_event_id=purchase.id,
            return_id=event_in.return_id,
            request_hash=request_hash,
            currency=currency,
            amount=this_amount,
            returned_amount=0,
            points=-claw,
            points_reversed=0,
            items=[item.model_dump() for item in event_in.items] if event_in.items else None,
            channel=event_in.channel,
            store=event_in.store,
            partner_id=purchase.partner_id,
            occurred_at=occurred_at,
            received_at=now,
        )
        .returning(Event.__table__.c.id)
    ).scalar_one()
    if purchase.member_id is not None:
        # The order's day, as it stands now: what it kept before this return, less what it keeps after.
        kept_before, counted_before = purchase_totals.share(purchase.amount, purchase.returned_amount)
        kept_after, counted_after = purchase_totals.share(purchase.amount, cumulative_amount)
        purchase_totals.add(
            session, tenant_id=tenant_id, member_id=purchase.member_id, occurred_at=purchase.occurred_at, currency=currency,
            kept=kept_after - kept_before, orders=counted_after - counted_before,
        )
        category_totals.add(
            session, tenant_id=tenant_id, member_id=purchase.member_id, occurred_at=purchase.occurred_at, currency=currency,
            found=category_totals.change(
                category_totals.shares(purchase.amount, purchase.returned_amount, purchase.items, purchase.returned_items),
                category_totals.shares(purchase.amount, cumulative_amount, purchase.items, returned_items or None),
            ),
        )
    session.execute(
        update(Event)
        .where(Event.id == purchase.id)
        .values(returned_amount=cumulative_amount, points_reversed=target_reversed, returned_items=returned_items or None)
    )
    program = programs.get(session, tenant_id=tenant_id)
    whole = taken.whole
    given = awards.give_back(
        session, tenant_id=tenant_id, purchase=purchase,
        kept_facts=_kept_facts(purchase, returned_items, cumulative_amount),
        fully_returned=whole,
        kept_base_points=purchase.points - target_reversed, base_currency=program.base_currency,
    )
    reversal = None
    if purchase.member_id is not None:
        reversal = _take_back(
            session, tenant_id=tenant_id, purchase=purchase, claw=claw, given=given, amount=this_amount,
            return_event_id=event_id, now=now,
        )
        awards.take_rewards_back(
            session, tenant_id=tenant_id, member_id=purchase.member_id, purchase_event_id=purchase.id, given=given, now=now,
            reason=f"return on order {purchase.order_id}",
        )
        dispatch.publish(session, PurchaseReturned(
            tenant_id, purchase.member_id, now, purchase_event_id=purchase.id, return_event_id=event_id, order_id=purchase.order_id or "",
            amount=this_amount, points=reversal.total_points,
        ))
    restored = payments.restore_for_return(
        session, tenant_id=tenant_id, order_id=purchase.order_id or "", returned=cumulative_amount, total=purchase.amount,
        whole=whole, policy=program.return_restores, return_event_id=event_id, now=now,
    )
    if reversal is not None:
        reversal.payments_restored = restored
        session.execute(update(Event).where(Event.id == event_id).values(attributes={"reversal": reversal.model_dump(mode="json")}))
    applied = _return_rules(
        session, tenant_id=tenant_id, purchase=purchase, event_in=event_in, amount=this_amount, occurred_at=occurred_at,
        event_id=event_id, now=now,
    )
    return service.keep_outcome(session, tenant_id=tenant_id, result=EventResult(
        event_id=event_id,
        type="return",
        order_id=purchase.order_id,
        member_id=purchase.member_id,
        amount=to_major(this_amount, currency),
        currency=currency,
        occurred_at=occurred_at,
        reversal=reversal,
        returned_amount=to_major(this_amount, currency),
        rules=applied,
        total_points=sum(a.points for a in applied),
        balance=service.balance_of(session, tenant_id=tenant_id, member_id=purchase.member_id),
    ))


def _take_back(
    session: Session, *, tenant_id: int, purchase: Event, claw: int, given: awards.GivenBack, amount: int,
    return_event_id: int, now: datetime,
) -> Reversal:
    """Post what a return takes back, base and rule points in one entry (from the order's own lot
    first, while it is pending) and cashback from the wallet; say where the points came from."""
    member_id = purchase.member_id
    assert member_id is not None
    currency = purchase.currency or ""
    total = claw + given.points
    reason = f"return on order {purchase.order_id}: {to_major(amount, currency)} {currency}"
    entry_id, from_pending = None, 0
    if total > 0:
        lot = ledger.lot_of_event(session, tenant_id=tenant_id, event_id=purchase.id)
        before = ledger.balances(session, tenant_id=tenant_id, member_id=member_id)
        details: dict[str, Any] = {"order_id": purchase.order_id, "amount": to_major(amount, currency), "currency": currency}
        if given.points:
            rule_points = [{"rule_id": a.rule_id, "version": a.version, "points": a.points} for a in given.rules if a.points]
            details |= {"base_points": claw, "rules": rule_points}
        entry_id = ledger.claw_back(
            session, tenant_id=tenant_id, member_id=member_id, points=total, lot_id=lot.id if lot is not None else None,
            idempotency_key=f"return:event:{return_event_id}",
            reason=awards.fit(f"{reason} ({'; '.join(given.lines)})" if given.lines else reason),
            now=now, event_id=return_event_id, details=details, reverses_entry_id=lot.entry_id if lot is not None else None,
        ).entry_id
        from_pending = before["pending"] - ledger.balances(session, tenant_id=tenant_id, member_id=member_id)["pending"]
    if given.cashback_pending or given.cashback_available:
        awards.reverse_cashback(
            session, tenant_id=tenant_id, member_id=member_id, given=given, currency=currency,
            return_event_id=return_event_id, reason=f"{reason} ({'; '.join(given.lines)})", now=now, partner_id=purchase.partner_id,
        )
    return Reversal(
        points=claw, from_pending=from_pending, from_available=total - from_pending, entry_id=entry_id,
        rules=[awards.to_result(a, currency=purchase.currency, entry_id=entry_id if a.points else None, sign=-1) for a in given.rules],
        total_points=total,
    )


def _return_rules(
    session: Session, *, tenant_id: int, purchase: Event, event_in: ReturnIn, amount: int, occurred_at: datetime,
    event_id: int, now: datetime,
) -> list:
    """Rules that trigger on a return itself (say, a goodwill bonus for returns in store)."""
    return_rules = rules.for_trigger(session, tenant_id=tenant_id, trigger="return")
    if not return_rules or purchase.member_id is None:
        return []
    member = members.get(session, tenant_id=tenant_id, member_id=purchase.member_id)
    if member is None or member.status != "active":
        return []
    bought = {line["sku"]: line for line in purchase.items or []}
    lines = [{**bought[item.sku], "quantity": item.quantity} for item in event_in.items or [] if item.sku in bought]
    currency = purchase.currency or "XXX"
    facts = engine.EventFacts(
        type="return", occurred_at=occurred_at, currency=purchase.currency, precision=precision(currency), amount=amount,
        lines=awards.lines_of(lines), channel=event_in.channel, store=event_in.store,
    )
    return awards.award_now(session, tenant_id=tenant_id, event_id=event_id, member=member, rules_=return_rules, facts=facts, now=now)


def _kept_facts(purchase: Event, returned_items: dict[str, int], returned_amount: int) -> engine.EventFacts:
    """The part of an order the customer kept, as the rules engine reads a purchase."""
    kept_lines = service.kept_lines(purchase, returned_items)
    currency = purchase.currency or "XXX"
    return engine.EventFacts(
        type="purchase", occurred_at=purchase.occurred_at, currency=purchase.currency, precision=precision(currency),
        amount=purchase.amount - returned_amount, lines=awards.lines_of(kept_lines), channel=purchase.channel,
        store=purchase.store, coupon_codes=tuple((purchase.attributes or {}).get("coupons") or ()),
    )


def _order(purchase: Event) -> arithmetic.Order:
    return arithmetic.Order(
        order_id=purchase.order_id or "", currency=purchase.currency or "", amount=purchase.amount, points=purchase.points,
        items=purchase.items, returned_amount=purchase.returned_amount, points_reversed=purchase.points_reversed,
        returned_items=dict(purchase.returned_items or {}),
    )


def return_result(session: Session, *, event: Event) -> EventResult:
    """The API shape of a recorded return, as first answered."""
    currency = event.currency or ""
    reversed_points = -event.points
    applied = awards.recorded(session, tenant_id=event.tenant_id, event_id=event.id, currency=event.currency)
    return service.as_first_answered(session, result=EventResult(
        event_id=event.id,
        type=event.type,
        order_id=event.order_id,
        member_id=event.member_id,
        amount=to_major(event.amount, currency),
        currency=currency,
        occurred_at=event.occurred_at,
        reversal=Reversal(**(event.attributes or {}).get(
            "reversal", {"points": reversed_points, "from_pending": 0, "from_available": 0, "entry_id": None},
        ))
        if event.member_id is not None
        else None,
        returned_amount=to_major(event.amount, currency),
        rules=applied,
        total_points=sum(a.points for a in applied),
    ))
