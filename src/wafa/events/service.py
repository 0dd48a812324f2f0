"""Purchases and returns: record the event, then earn or claw back points through the ledger."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from wafa.db import insert_unless_exists
from wafa.errors import Conflict, InvalidInput, LedgerCorrupt, NotFound
from wafa.events import hotpath
from wafa.events.models import Event
from wafa.events.schemas import Award, EventResult, MemberRef, PurchaseIn, ReturnIn, Reversal, RuleAward, Simulation
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


def can_go_fast(session: Session, event_in: PurchaseIn) -> bool:
    """Whether a purchase may take the one-statement path (PostgreSQL, a member named)."""
    return event_in.member is not None and session.get_bind().dialect.name == "postgresql"


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
    earned = earning.points_for(amount, precision=precision(currency), rate=rate, rounding=program.rounding)
    available_at = max(earning.available_at(occurred_at, pending_days=program.pending_days), now)
    expires_at = earning.expires_at(
        available_at, policy=program.expiry_policy, periods=program.expiry_periods, timezone=program.timezone
    )
    reason_text = f"purchase {event_in.order_id}: {to_major(amount, currency)} {currency}"
    details = {"order_id": event_in.order_id, "amount": to_major(amount, currency), "currency": currency, "rate": rate}

    if can_go_fast(session, event_in):
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
                    not_awarded_reason=reason, balance=fast["balances"] if award else None,
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
        if points == 0:
            reason = "amount earns less than one point"

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
            balance=_balance(session, tenant_id=tenant_id, member_id=member.id if member and award else None),
        ),
        False,
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
    elif event.member_id is None:
        reason = "not a member"
    else:
        reason = "no points awarded"
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
        balance=_balance(session, tenant_id=event.tenant_id, member_id=event.member_id if award else None),
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
    if left <= 0 or (this_amount <= 0 and not event_in.items):
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
        before = ledger.balances(session, tenant_id=tenant_id, member_id=purchase.member_id)
        debit = ledger.claw_back(
            session,
            tenant_id=tenant_id,
            member_id=purchase.member_id,
            points=claw,
            purchase_event_id=purchase.id,
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
        session.execute(update(Event).where(Event.id == event_id).values(attributes={"reversal": reversal.model_dump()}))
    elif purchase.member_id is not None:
        reversal = Reversal(points=0, from_pending=0, from_available=0, entry_id=None)
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
        balance=_balance(session, tenant_id=tenant_id, member_id=purchase.member_id),
    )


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
    currency = event.currency or ""
    reversed_points = -event.points
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
    )


def get_or_raise(session: Session, *, tenant_id: int, event_id: int) -> Event:
    """Return an event of this tenant or raise NotFound."""
    event = session.execute(select(Event).where(Event.tenant_id == tenant_id, Event.id == event_id)).scalar_one_or_none()
    if event is None:
        raise NotFound(f"event {event_id} not found")
    return event


def simulate(session: Session, *, tenant_id: int, event_in: PurchaseIn, now: datetime) -> Simulation:
    """What the program's base earn and its active rules would give this purchase, without writing."""
    program = programs.get(session, tenant_id=tenant_id)
    currency = event_in.currency.upper()
    digits = precision(currency)
    amount = to_minor(event_in.amount, currency)
    items = _items(event_in, currency) or []
    occurred_at = _occurred(event_in.occurred_at, now)
    base = earning.points_for(amount, precision=digits, rate=program.rate_for(currency), rounding=program.rounding)
    member_facts = engine.MemberFacts()
    if event_in.member is not None:
        member = _member_for(session, tenant_id=tenant_id, ref=event_in.member)
        earlier = session.execute(
            select(func.count()).where(Event.tenant_id == tenant_id, Event.type == "purchase", Event.member_id == member.id)
        ).scalar_one()
        member_facts = engine.MemberFacts(locale=member.locale, birth_date=member.birth_date, purchase_number=earlier + 1)
    facts = engine.EventFacts(
        type="purchase", occurred_at=occurred_at, currency=currency, precision=digits, amount=amount,
        lines=tuple(engine.Line(i["sku"], i["quantity"], i["unit_price"], i["category"], i["brand"]) for i in items),
        channel=event_in.channel, store=event_in.store,
    )
    awards = engine.evaluate(
        rules.active(session, tenant_id=tenant_id), facts, member_facts, base_points=base, timezone=program.timezone
    )
    return Simulation(
        base_points=base,
        awards=[
            RuleAward(
                rule_id=a.rule_id, version=a.version, name={"en": a.name_en, "ar": a.name_ar}, points=a.points,
                cashback=to_major(a.cashback, currency), stamps=dict(a.stamps), rewards=list(a.rewards),
                capped_by=a.capped_by, line=a.describe(),
            )
            for a in awards
        ],
        total_points=base + sum(a.points for a in awards),
    )
