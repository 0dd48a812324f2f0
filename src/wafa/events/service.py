"""Purchases and returns: record the event, then earn or claw back points through the ledger."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from wafa.db import insert_unless_exists
from wafa.errors import Conflict, InvalidInput, LedgerCorrupt, NotFound
from wafa.events import awards, hotpath
from wafa.events import types as event_types
from wafa.events.awards import MAX_EVENT_POINTS
from wafa.events.models import Event
from wafa.events.schemas import Award, CustomEventIn, EventResult, MemberRef, PurchaseIn, ReturnIn, Reversal, Simulation
from wafa.ledger import service as ledger
from wafa.members import service as members
from wafa.members.models import Member
from wafa.money import precision, to_major, to_minor
from wafa.programs import earning
from wafa.programs import service as programs
from wafa.rules import engine
from wafa.rules import service as rules

# A till's clock may run a little fast; beyond this an event "from the future" is refused.
CLOCK_SKEW = timedelta(minutes=5)


class NeedsTransaction(Exception):
    """The one-statement purchase path could not decide; nothing was written."""


def can_go_fast(session: Session, *, tenant_id: int, event_in: PurchaseIn) -> bool:
    """Whether a purchase may take the one-statement path (PostgreSQL, a member named, no purchase rules)."""
    return (
        event_in.member is not None
        and session.get_bind().dialect.name == "postgresql"
        and not rules.for_trigger(session, tenant_id=tenant_id, trigger="purchase")
    )


def _member_for(session: Session, *, tenant_id: int, ref: MemberRef) -> Member:
    if ref.id is not None:
        member = members.get(session, tenant_id=tenant_id, member_id=ref.id)
        if member is None:
            raise NotFound(f"member {ref.id} not found", field="member.id")
        return member
    return members.get_by_external_id_or_raise(session, tenant_id=tenant_id, external_id=ref.external_id or "")


def _occurred(value: datetime | None, now: datetime) -> datetime:
    if value is None:
        return now
    try:
        # In UTC, as stored: a replay (read back from the database) must equal the first answer.
        value = value.astimezone(UTC)
    except OverflowError:  # year 1 with a positive offset lies before the first UTC instant
        raise InvalidInput("occurred_at is out of range", field="occurred_at") from None
    if value > now + CLOCK_SKEW:
        raise InvalidInput("occurred_at is in the future", field="occurred_at")
    return value


def _balance(session: Session, *, tenant_id: int, member_id: int | None) -> dict[str, int] | None:
    if member_id is None:
        return None
    return ledger.balances(session, tenant_id=tenant_id, member_id=member_id)


def record_purchase(
    session: Session, *, tenant_id: int, event_in: PurchaseIn, request_hash: str, now: datetime, fast_only: bool = False
) -> tuple[EventResult, bool]:
    """Record a purchase and award its points; return the result and whether it was a replay.

    A purchase whose order id was seen before replays the first result if the request is the
    same, and is a Conflict otherwise. With `fast_only`, only PostgreSQL's one-statement path is
    tried and NeedsTransaction is raised (having written nothing) if it cannot decide.
    """
    program = programs.get(session, tenant_id=tenant_id)
    currency = event_in.currency.upper()
    rate = program.rate_for(currency)
    amount = to_minor(event_in.amount, currency)
    items = _items(event_in, currency)
    occurred_at = _occurred(event_in.occurred_at, now)
    earned = earning.points_for(_earning_amount(amount, items), precision=precision(currency), rate=rate, rounding=program.rounding)
    if earned > MAX_EVENT_POINTS:
        raise InvalidInput(f"this amount would earn {earned} points; one event earns at most {MAX_EVENT_POINTS}", field="amount")
    available_at = max(earning.available_at(occurred_at, pending_days=program.pending_days), now)
    expires_at = earning.expires_at(
        available_at, policy=program.expiry_policy, periods=program.expiry_periods, timezone=program.timezone
    )
    reason_text = f"purchase {event_in.order_id}: {to_major(amount, currency)} {currency}"
    details = {"order_id": event_in.order_id, "amount": to_major(amount, currency), "currency": currency, "rate": rate}

    if can_go_fast(session, tenant_id=tenant_id, event_in=event_in):
        fast = hotpath.purchase(
            session, tenant_id=tenant_id, member_external_id=event_in.member.external_id, member_id=event_in.member.id,
            order_id=event_in.order_id, currency=currency, amount=amount, points=earned, items=items,
            channel=event_in.channel, store=event_in.store, request_hash=request_hash, occurred_at=occurred_at, now=now,
            reason=reason_text, details=details, issued_account_id=ledger.program_accounts(session, tenant_id=tenant_id)["issued"],
            available_at=available_at, expires_at=expires_at,
        )
        if fast is not None:
            award = None
            if fast["entry_id"] is not None:
                award = Award(
                    points=fast["points"], status="available" if fast["released"] else "pending",
                    available_at=available_at, expires_at=expires_at, entry_id=fast["entry_id"],
                )
            reason = None
            if fast["status"] != "active":
                reason = f"member is {fast['status']}"
            elif award is None:
                reason = "amount earns less than one point"
            return (
                EventResult(
                    event_id=fast["event_id"], type="purchase", order_id=event_in.order_id, member_id=fast["member_id"],
                    amount=to_major(amount, currency), currency=currency, occurred_at=occurred_at, award=award,
                    not_awarded_reason=reason, total_points=award.points if award else 0,
                    balance=fast["balances"] if award else None,
                ),
                False,
            )

    if fast_only:
        raise NeedsTransaction
    member = _member_for(session, tenant_id=tenant_id, ref=event_in.member) if event_in.member else None
    points, reason = 0, None
    if member is None:
        reason = "not a member"
    elif member.status != "active":
        reason = f"member is {member.status}"
    else:
        points = earned
    purchase_rules = rules.for_trigger(session, tenant_id=tenant_id, trigger="purchase") if reason is None else []
    member_facts = None
    if purchase_rules and member is not None:
        # One member's events take turns from here on, so per-member caps are read and used atomically.
        accounts = ledger.member_accounts(session, tenant_id=tenant_id, member_id=member.id)
        ledger.lock_accounts(session, tenant_id=tenant_id, account_ids=[accounts["available"], accounts["pending"]])
        member_facts = awards.member_facts(session, tenant_id=tenant_id, member=member, rules_=purchase_rules)

    inserted = insert_unless_exists(
        session,
        Event,
        dict(
            tenant_id=tenant_id,
            type="purchase",
            member_id=member.id if member else None,
            order_id=event_in.order_id,
            currency=currency,
            amount=amount,
            returned_amount=0,
            points=points,
            points_reversed=0,
            items=items,
            # What a return needs to re-read the rules on the kept part of the order.
            attributes={"member": awards.facts_to_json(member_facts), "coupons": event_in.coupons or []} if member_facts else None,
            channel=event_in.channel,
            store=event_in.store,
            request_hash=request_hash,
            occurred_at=occurred_at,
            received_at=now,
        ),
        conflict=["tenant_id", "order_id"],
        where=text("type = 'purchase'"),
        returning=[Event.id],
    ).first()
    if inserted is None:
        return _replay_purchase(session, tenant_id=tenant_id, order_id=event_in.order_id, request_hash=request_hash), True
    event_id = inserted[0]

    award = None
    if points > 0 and member is not None:
        credit = ledger.credit(
            session,
            tenant_id=tenant_id,
            member_id=member.id,
            points=points,
            kind="earn",
            source="issued",
            idempotency_key=f"earn:event:{event_id}",
            reason=reason_text,
            now=now,
            available_at=available_at,
            expires_at=expires_at,
            event_id=event_id,
            details=details,
        )
        award = Award(
            points=points,
            status=credit.status,  # type: ignore[arg-type]
            available_at=credit.available_at,
            expires_at=credit.expires_at,
            entry_id=credit.entry_id,
        )
    applied = []
    if member_facts is not None and member is not None:
        facts = _purchase_facts(event_in, currency=currency, amount=amount, items=items, occurred_at=occurred_at)
        granted = awards.evaluate(
            session, tenant_id=tenant_id, rules_=purchase_rules, member_id=member.id, facts=facts, member=member_facts,
            base_points=points, timezone=program.timezone, base_currency=program.base_currency,
        )
        applied = awards.post(
            session, tenant_id=tenant_id, event_id=event_id, member_id=member.id, awards=granted, rules_=purchase_rules,
            facts=facts, base_currency=program.base_currency, now=now, available_at=available_at, expires_at=expires_at,
        )
    total = points + sum(a.points for a in applied)
    if reason is None and total == 0 and not applied:
        reason = "amount earns less than one point"
    return (
        EventResult(
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
            balance=_balance(session, tenant_id=tenant_id, member_id=member.id if member and (award or applied) else None),
        ),
        False,
    )


def _earning_amount(amount: int, items: list[dict] | None) -> int:
    """The part of the order's amount that earns base points: discounted and reward lines do not."""
    if not items or all(item["earns"] for item in items):
        return amount
    listed = sum(item["quantity"] * item["unit_price"] for item in items)
    earning_listed = sum(item["quantity"] * item["unit_price"] for item in items if item["earns"])
    return earning.proportional_share(amount, earning_listed, listed) if listed else 0


def _purchase_facts(
    event_in: PurchaseIn, *, currency: str, amount: int, items: list[dict] | None, occurred_at: datetime
) -> engine.EventFacts:
    return engine.EventFacts(
        type="purchase", occurred_at=occurred_at, currency=currency, precision=precision(currency), amount=amount,
        lines=awards.lines_of(items), channel=event_in.channel, store=event_in.store,
        coupon_codes=tuple(event_in.coupons or ()),
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


def _purchase_or_raise(session: Session, *, tenant_id: int, order_id: str, lock: bool = False) -> Event:
    query = select(Event).where(Event.tenant_id == tenant_id, Event.type == "purchase", Event.order_id == order_id)
    if lock:
        query = query.with_for_update()
    event = session.execute(query.execution_options(populate_existing=True)).scalar_one_or_none()
    if event is None:
        raise NotFound(f"no purchase with order id {order_id!r}", field="order_id")
    return event


def _replay_purchase(session: Session, *, tenant_id: int, order_id: str, request_hash: str) -> EventResult:
    event = _purchase_or_raise(session, tenant_id=tenant_id, order_id=order_id)
    if event.request_hash != request_hash:
        raise Conflict(f"order {order_id!r} was already recorded with different details", field="order_id")
    return purchase_result(session, event=event)


def purchase_result(session: Session, *, event: Event) -> EventResult:
    """The result of a recorded purchase, as first returned."""
    award = None
    reason = None
    if event.points > 0:
        lot = ledger.lot_of_event(session, tenant_id=event.tenant_id, event_id=event.id)
        if lot is None:
            raise LedgerCorrupt(f"event {event.id} earned {event.points} points but has no lot")
        award = Award(
            points=event.points,
            status="pending" if lot.available_at > event.received_at else "available",
            available_at=lot.available_at,
            expires_at=lot.expires_at,
            entry_id=lot.entry_id,
        )
    applied = awards.recorded(session, tenant_id=event.tenant_id, event_id=event.id, currency=event.currency)
    if award is None and not applied:
        reason = "not a member" if event.member_id is None else "no points awarded"
    return EventResult(
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
        total_points=event.points + sum(a.points for a in applied),
        balance=_balance(session, tenant_id=event.tenant_id, member_id=event.member_id if award or applied else None),
    )


def find_return(session: Session, *, tenant_id: int, event_in: ReturnIn, request_hash: str) -> EventResult | None:
    """The result of a return recorded before under the same return_id (None if new).

    Locks the order first, so a concurrent repeat waits and then finds the first one; a repeat with
    other details is a Conflict.
    """
    if event_in.return_id is None:
        return None
    _purchase_or_raise(session, tenant_id=tenant_id, order_id=event_in.order_id, lock=True)
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
    return event_result(session, event=earlier)


def record_return(
    session: Session, *, tenant_id: int, event_in: ReturnIn, now: datetime, request_hash: str | None = None
) -> EventResult:
    """Record a return and claw back the returned part's points, exactly and cumulatively."""
    purchase = _purchase_or_raise(session, tenant_id=tenant_id, order_id=event_in.order_id, lock=True)
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
        member = _member_for(session, tenant_id=tenant_id, ref=event_in.member)
        if member.id != purchase.member_id:
            raise InvalidInput("this order belongs to another member", field="member")
    occurred_at = _occurred(event_in.occurred_at, now)
    if occurred_at < purchase.occurred_at:
        raise InvalidInput("a return cannot happen before its purchase", field="occurred_at")
    left = purchase.amount - purchase.returned_amount
    returned_items = dict(purchase.returned_items or {})

    if event_in.items:
        returned_items, cumulative = _returned_by_items(purchase, event_in, returned_items)
        this_amount = max(0, cumulative - purchase.returned_amount)
    else:
        this_amount = left
    if event_in.amount is not None:
        this_amount = to_minor(event_in.amount, currency)
        if this_amount > left:
            raise InvalidInput(
                f"return of {to_major(this_amount, currency)} {currency} exceeds the {to_major(left, currency)} left on the order",
                field="amount",
            )
    # A free order (or the free lines of one) can still come back item by item: rules may have paid for items.
    items_left = _items_left(purchase, purchase.returned_items or {})
    if event_in.amount is not None and this_amount <= 0 and not event_in.items:
        raise InvalidInput("a refund amount must be more than zero", field="amount")
    if (left <= 0 or this_amount <= 0) and not items_left and not event_in.items:
        raise InvalidInput(f"order {event_in.order_id!r} has nothing left to return", field="order_id")
    if not event_in.items and event_in.amount is None:
        returned_items = {line["sku"]: _bought(purchase, line["sku"]) for line in purchase.items or []}

    cumulative_amount = purchase.returned_amount + this_amount
    # Cumulative rounding: after every return, what has been taken back is the proportional share
    # of the whole, so many small returns never take more (or less) than one big one.
    target_reversed = earning.proportional_share(purchase.points, cumulative_amount, purchase.amount)
    claw = target_reversed - purchase.points_reversed

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
            occurred_at=occurred_at,
            received_at=now,
        )
        .returning(Event.__table__.c.id)
    ).scalar_one()
    session.execute(
        update(Event)
        .where(Event.id == purchase.id)
        .values(returned_amount=cumulative_amount, points_reversed=target_reversed, returned_items=returned_items or None)
    )
    reversal = None
    if claw > 0 and purchase.member_id is not None:
        base_lot = ledger.lot_of_event(session, tenant_id=tenant_id, event_id=purchase.id)
        before = ledger.balances(session, tenant_id=tenant_id, member_id=purchase.member_id)
        debit = ledger.claw_back(
            session,
            tenant_id=tenant_id,
            member_id=purchase.member_id,
            points=claw,
            lot_id=base_lot.id if base_lot is not None else None,
            idempotency_key=f"return:event:{event_id}",
            reason=f"return on order {purchase.order_id}: {to_major(this_amount, currency)} {currency}",
            now=now,
            event_id=event_id,
            details={"order_id": purchase.order_id, "amount": to_major(this_amount, currency), "currency": currency},
        )
        after = ledger.balances(session, tenant_id=tenant_id, member_id=purchase.member_id)
        from_pending = before["pending"] - after["pending"]
        reversal = Reversal(
            points=claw, from_pending=from_pending, from_available=claw - from_pending, entry_id=debit.entry_id
        )
    elif purchase.member_id is not None:
        reversal = Reversal(points=0, from_pending=0, from_available=0, entry_id=None)
    program = programs.get(session, tenant_id=tenant_id)
    given_back = awards.give_back(
        session, tenant_id=tenant_id, purchase=purchase,
        kept_facts=_kept_facts(purchase, returned_items, cumulative_amount),
        fully_returned=(purchase.amount > 0 and cumulative_amount >= purchase.amount)
        or (bool(purchase.items) and not _items_left(purchase, returned_items)),
        kept_base_points=purchase.points - target_reversed,
        base_currency=program.base_currency, return_event_id=event_id, now=now,
    )
    applied = _return_rules(
        session, tenant_id=tenant_id, purchase=purchase, event_in=event_in, amount=this_amount, occurred_at=occurred_at,
        event_id=event_id, now=now,
    )
    if reversal is not None:
        reversal = reversal.model_copy(
            update={"rules": given_back, "total_points": reversal.points + sum(a.points for a in given_back)}
        )
        session.execute(update(Event).where(Event.id == event_id).values(attributes={"reversal": reversal.model_dump(mode="json")}))
    return EventResult(
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
        balance=_balance(session, tenant_id=tenant_id, member_id=purchase.member_id),
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
    program = programs.get(session, tenant_id=tenant_id)
    member_facts = awards.member_facts(session, tenant_id=tenant_id, member=member, rules_=return_rules)
    granted = awards.evaluate(
        session, tenant_id=tenant_id, rules_=return_rules, member_id=member.id, facts=facts, member=member_facts,
        base_points=0, timezone=program.timezone, base_currency=program.base_currency,
    )
    expires_at = earning.expires_at(now, policy=program.expiry_policy, periods=program.expiry_periods, timezone=program.timezone)
    return awards.post(
        session, tenant_id=tenant_id, event_id=event_id, member_id=member.id, awards=granted, rules_=return_rules,
        facts=facts, base_currency=program.base_currency, now=now, available_at=now, expires_at=expires_at,
    )


def _kept_facts(purchase: Event, returned_items: dict[str, int], returned_amount: int) -> engine.EventFacts:
    """The part of an order the customer kept, as the rules engine reads a purchase."""
    kept_lines = []
    left = dict(returned_items)
    for line in purchase.items or []:
        back = min(left.get(line["sku"], 0), line["quantity"])
        left[line["sku"]] = left.get(line["sku"], 0) - back
        kept_lines.append({**line, "quantity": line["quantity"] - back})
    currency = purchase.currency or "XXX"
    return engine.EventFacts(
        type="purchase", occurred_at=purchase.occurred_at, currency=purchase.currency, precision=precision(currency),
        amount=purchase.amount - returned_amount, lines=awards.lines_of(kept_lines), channel=purchase.channel,
        store=purchase.store, coupon_codes=tuple((purchase.attributes or {}).get("coupons") or ()),
    )


def _items_left(purchase: Event, returned: dict[str, int]) -> bool:
    """Whether some line of the order has not come back yet."""
    return any(returned.get(sku, 0) < _bought(purchase, sku) for sku in {line["sku"] for line in purchase.items or []})


def _bought(purchase: Event, sku: str) -> int:
    return sum(line["quantity"] for line in purchase.items or [] if line["sku"] == sku)


def _returned_by_items(purchase: Event, event_in: ReturnIn, returned: dict[str, int]) -> tuple[dict[str, int], int]:
    """Apply returned items; return the new per-SKU counts and the cumulative returned amount."""
    if not purchase.items:
        raise InvalidInput("this order was recorded without items; return an amount instead", field="items")
    returned = dict(returned)
    for index, item in enumerate(event_in.items or []):
        bought = _bought(purchase, item.sku)
        if bought == 0:
            raise InvalidInput(f"order has no item {item.sku!r}", field=f"items[{index}].sku")
        if returned.get(item.sku, 0) + item.quantity > bought:
            raise InvalidInput(
                f"{item.sku}: {item.quantity} returned but only {bought - returned.get(item.sku, 0)} left",
                field=f"items[{index}].quantity",
            )
        returned[item.sku] = returned.get(item.sku, 0) + item.quantity
    # What was paid is shared among lines by list price, so discounts are returned in proportion.
    list_total = sum(line["quantity"] * line["unit_price"] for line in purchase.items)
    returned_list = 0
    for sku, qty in returned.items():
        lines = [line for line in purchase.items if line["sku"] == sku]
        remaining = qty
        for line in lines:
            take = min(remaining, line["quantity"])
            returned_list += take * line["unit_price"]
            remaining -= take
    if list_total == 0:  # free items only: the money comes back when the last item does
        everything = all(returned.get(line["sku"], 0) >= _bought(purchase, line["sku"]) for line in purchase.items)
        return returned, purchase.amount if everything else purchase.returned_amount
    return returned, earning.proportional_share(purchase.amount, returned_list, list_total)


def event_result(session: Session, *, event: Event) -> EventResult:
    """The API shape of any recorded event."""
    if event.type == "purchase":
        return purchase_result(session, event=event)
    if event.type != "return":
        return _member_event_result(session, event=event)
    currency = event.currency or ""
    reversed_points = -event.points
    applied = awards.recorded(session, tenant_id=event.tenant_id, event_id=event.id, currency=event.currency)
    return EventResult(
        event_id=event.id,
        type=event.type,
        order_id=event.order_id,
        member_id=event.member_id,
        amount=to_major(event.amount, currency),
        currency=currency,
        occurred_at=event.occurred_at,
        reversal=Reversal(**(event.attributes or {}).get("reversal", {"points": reversed_points, "from_pending": 0, "from_available": 0, "entry_id": None}))
        if event.member_id is not None
        else None,
        returned_amount=to_major(event.amount, currency),
        rules=applied,
        total_points=sum(a.points for a in applied),
    )


def record_custom(
    session: Session, *, tenant_id: int, event_in: CustomEventIn, request_hash: str, now: datetime
) -> tuple[EventResult, bool]:
    """Record a custom event (its attributes checked against its type's schema) and apply its rules."""
    event_types.check_attributes(session, tenant_id=tenant_id, name=event_in.type, attributes=event_in.attributes)
    member = _member_for(session, tenant_id=tenant_id, ref=event_in.member)
    return record_trigger(
        session, tenant_id=tenant_id, member=member, type_=event_in.type, reference=event_in.reference,
        attributes=event_in.attributes, occurred_at=_occurred(event_in.occurred_at, now), now=now,
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
    values = dict(
        tenant_id=tenant_id, type=type_, member_id=member.id, reference=reference, amount=0, returned_amount=0, points=0,
        points_reversed=0, attributes=attributes, channel=channel, store=store, request_hash=request_hash,
        occurred_at=occurred_at, received_at=now,
    )
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
            return event_result(session, event=earlier), True
        event_id = inserted[0]
    applied = []
    if trigger_rules:
        program = programs.get(session, tenant_id=tenant_id)
        facts = engine.EventFacts(type=type_, occurred_at=occurred_at, attributes=attributes, channel=channel, store=store)
        member_facts = awards.member_facts(session, tenant_id=tenant_id, member=member, rules_=trigger_rules)
        granted = awards.evaluate(
            session, tenant_id=tenant_id, rules_=trigger_rules, member_id=member.id, facts=facts, member=member_facts,
            base_points=0, timezone=program.timezone, base_currency=program.base_currency,
        )
        # No return window for these: the points are available at once, and expire by the program's policy.
        expires_at = earning.expires_at(now, policy=program.expiry_policy, periods=program.expiry_periods, timezone=program.timezone)
        applied = awards.post(
            session, tenant_id=tenant_id, event_id=event_id, member_id=member.id, awards=granted, rules_=trigger_rules,
            facts=facts, base_currency=program.base_currency, now=now, available_at=now, expires_at=expires_at,
        )
    event = get_or_raise(session, tenant_id=tenant_id, event_id=event_id)
    return _member_event_result(session, event=event, applied=applied), False


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


def _member_event_result(session: Session, *, event: Event, applied: list | None = None) -> EventResult:
    if applied is None:
        applied = awards.recorded(session, tenant_id=event.tenant_id, event_id=event.id, currency=None)
    reason = None
    if not applied:
        member = members.get(session, tenant_id=event.tenant_id, member_id=event.member_id or 0)
        reason = f"member is {member.status}" if member is not None and member.status != "active" else "no rule awarded anything"
    return EventResult(
        event_id=event.id, type=event.type, order_id=None, member_id=event.member_id, amount="0", currency="",
        occurred_at=event.occurred_at, not_awarded_reason=reason, rules=applied,
        total_points=sum(a.points for a in applied), reference=event.reference, attributes=event.attributes,
        balance=_balance(session, tenant_id=event.tenant_id, member_id=event.member_id if applied else None),
    )


def get_or_raise(session: Session, *, tenant_id: int, event_id: int) -> Event:
    """Return an event of this tenant or raise NotFound."""
    event = session.execute(select(Event).where(Event.tenant_id == tenant_id, Event.id == event_id)).scalar_one_or_none()
    if event is None:
        raise NotFound(f"event {event_id} not found")
    return event


def simulate(session: Session, *, tenant_id: int, event_in: PurchaseIn | CustomEventIn, now: datetime) -> Simulation:
    """What the base earn and the active rules would give a purchase or a custom event now, without writing.

    With a member named, their caps and the rules' budgets are read as they stand (nothing is locked).
    """
    program = programs.get(session, tenant_id=tenant_id)
    occurred_at = _occurred(event_in.occurred_at, now)
    member = _member_for(session, tenant_id=tenant_id, ref=event_in.member) if event_in.member is not None else None
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
        base = earning.points_for(
            _earning_amount(amount, items), precision=precision(currency), rate=program.rate_for(currency), rounding=program.rounding
        )
        facts = _purchase_facts(event_in, currency=currency, amount=amount, items=items, occurred_at=occurred_at)
    trigger_rules = rules.for_trigger(session, tenant_id=tenant_id, trigger=facts.type)
    member_facts = engine.MemberFacts()
    if member is not None:
        member_facts = awards.member_facts(session, tenant_id=tenant_id, member=member, rules_=trigger_rules)
    if member is not None and member.status != "active":
        return Simulation(base_points=0, awards=[], total_points=0, note=f"member is {member.status}: nothing would be awarded")
    usage = None
    if member is not None:
        usage = rules.usage(
            session, tenant_id=tenant_id, member_id=member.id, rules=trigger_rules, occurred_at=occurred_at,
            timezone=program.timezone, currency=currency, base_currency=program.base_currency, lock=False,
        )
    granted = engine.evaluate(trigger_rules, facts, member_facts, base_points=base, timezone=program.timezone, usage=usage)
    return Simulation(
        base_points=base,
        awards=[awards.to_result(a, currency=currency, entry_id=None) for a in granted],
        total_points=base + sum(a.points for a in granted),
        note="simulation only: nothing is written"
        + ("; the member's caps and the rules' budgets are read as they stand" if member is not None else "; no member: caps read as unused"),
    )
