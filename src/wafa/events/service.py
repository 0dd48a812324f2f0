"""Purchases: record the event, earn the base points and what the rules add; reading events back;
simulation. Returns live in returns.py, custom and built-in member events in member_events.py."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, insert, literal, select, text
from sqlalchemy.orm import Session

from wafa.bus import dispatch
from wafa.bus.messages import PurchaseRecorded
from wafa.db import bucket_of, insert_unless_exists
from wafa.errors import Conflict, InvalidInput, LedgerCorrupt, NotFound
from wafa.events import awards, hotpath, purchase_totals, return_arithmetic
from wafa.events import types as event_types
from wafa.events.awards import MAX_EVENT_POINTS
from wafa.events.models import Event, EventOutcome
from wafa.events.schemas import Award, CustomEventIn, EventResult, MemberRef, PurchaseIn, Simulation
from wafa.ledger import service as ledger
from wafa.members import service as members
from wafa.members.models import Member
from wafa.memberships import service as memberships
from wafa.money import precision, to_major, to_minor
from wafa.programs import earning
from wafa.programs import service as programs
from wafa.rules import engine
from wafa.rules import service as rules
from wafa.tiers import service as tiers

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

    if event_in.member is not None and can_go_fast(session, tenant_id=tenant_id, event_in=event_in):
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
    if member is not None and (purchase_rules or dispatch.wanted(session, tenant_id=tenant_id, kind=PurchaseRecorded)):
        # One member's events take turns from here on, so per-member caps are read and used atomically
        # (and a tier upgrade, which locks the tier row after the accounts, sees every earlier purchase).
        # Both accounts, available first, before the credit touches either: the order returns, releases
        # and redemptions take, so a purchase that then measures achievements never deadlocks with them.
        accounts = ledger.member_accounts(session, tenant_id=tenant_id, member_id=member.id)
        ledger.lock_accounts(session, tenant_id=tenant_id, account_ids=[accounts["available"], accounts["pending"]])
        if purchase_rules:
            member_facts = awards.member_facts(session, tenant_id=tenant_id, member=member, rules_=purchase_rules)

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

    award = None
    applied: list[awards.RuleAwarded] = []
    if member is not None and (points > 0 or member_facts is not None):
        granted: list[engine.Award] = []
        facts = _purchase_facts(event_in, currency=currency, amount=amount, items=items, occurred_at=occurred_at)
        if member_facts is not None:
            granted = awards.evaluate(
                session, tenant_id=tenant_id, rules_=purchase_rules, member_id=member.id, facts=facts, member=member_facts,
                base_points=points, timezone=program.timezone, base_currency=program.base_currency,
            )
        credit, applied = awards.post(
            session, tenant_id=tenant_id, event_id=event_id, member_id=member.id, base_points=points,
            base_reason=reason_text, base_details=details, awards=granted, rules_=purchase_rules, facts=facts,
            base_currency=program.base_currency, now=now, available_at=available_at, expires_at=expires_at,
        )
        if credit is not None:
            award = Award(
                points=credit.points, status=credit.status,
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
        )),
        False,
    )


def earning_amount(amount: int, items: list[dict] | None) -> int:
    """The part of an order's amount that earns base points: discounted and reward lines do not."""
    return return_arithmetic.earning_amount(amount, items)


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
    if lot is not None:
        award = Award(
            points=lot.amount,
            status="pending" if lot.available_at > event.received_at else "available",
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
        base = earning.points_for(
            earning_amount(amount, items), precision=precision(currency), rate=program.rate_for(currency), rounding=program.rounding
        )
        facts = _purchase_facts(event_in, currency=currency, amount=amount, items=items, occurred_at=occurred_at)
    trigger_rules = rules.for_trigger(session, tenant_id=tenant_id, trigger=facts.type)
    if draft is not None:
        trigger_rules = [rule for rule in trigger_rules if rule.id != draft.id] + [draft]
    member_facts = engine.MemberFacts()
    if member is not None:
        member_facts = awards.member_facts(session, tenant_id=tenant_id, member=member, rules_=trigger_rules)
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


def first_purchase_kept(
    session: Session, *, tenant_id: int, member_id: int, currency: str, at_least: int, occurred_from: datetime,
    occurred_before: datetime, received_before: datetime | None = None,
) -> Event | None:
    """A member's first purchase in `currency` that happened in [occurred_from, occurred_before), was
    received before `received_before` if given, and of which at least `at_least` (minor units) was kept
    after returns (referrals complete on it)."""
    conditions = [
        Event.tenant_id == tenant_id, Event.member_id == member_id, Event.type == "purchase", Event.currency == currency,
        Event.occurred_at >= occurred_from, Event.occurred_at < occurred_before,
        Event.amount - Event.returned_amount >= at_least, Event.amount > Event.returned_amount,
    ]
    if received_before is not None:
        conditions.append(Event.received_at <= received_before)
    return session.execute(
        select(Event)
        .where(*conditions)
        .order_by(Event.occurred_at, Event.id)
        .limit(1)
    ).scalar_one_or_none()


def kept_lines(purchase: Event, returned_items: dict[str, int]) -> list[dict] | None:
    """The order's lines less what came back (None for an order recorded without lines)."""
    return return_arithmetic.kept_lines(purchase.items, returned_items)


@dataclass(frozen=True, slots=True)
class KeptPurchase:
    """A member's purchase as it stands after returns: what was kept, in money and in lines."""

    event_id: int
    occurred_at: datetime
    currency: str
    amount: int  # kept, minor units
    paid: int  # the whole order, before returns
    list_total: int  # of all the order's lines at list price (0 without lines)
    lines: tuple[dict, ...]  # kept lines (quantity > 0)

    def in_category(self, category: str) -> int:
        """The money kept on lines of `category`: the order's paid amount shared by list price."""
        if not self.list_total or not self.amount:
            return 0
        listed = sum(line["quantity"] * line["unit_price"] for line in self.lines if line.get("category") == category)
        return min(self.amount, earning.proportional_share(self.paid, listed, self.list_total))


def kept_purchases(
    session: Session, *, tenant_id: int, member_id: int, since: datetime | None = None, until: datetime | None = None
) -> list[KeptPurchase]:
    """A member's purchases in [since, until) not wholly returned, oldest first, with their kept lines."""
    conditions = [
        Event.tenant_id == tenant_id, Event.member_id == member_id, Event.type == "purchase",
        (Event.amount > Event.returned_amount) | (Event.amount == 0),
    ]
    if since is not None:
        conditions.append(Event.occurred_at >= since)
    if until is not None:
        conditions.append(Event.occurred_at < until)
    out = []
    columns = (Event.id, Event.occurred_at, Event.currency, Event.amount, Event.returned_amount, Event.items, Event.returned_items)
    # Columns, not ORM objects: members with long histories are read on every purchase some goals see.
    for event_id, at, currency, amount, returned, items, returned_items in session.execute(
        select(*columns).where(*conditions).order_by(Event.occurred_at, Event.id)
    ):
        if returned_items:
            # Every line back but not all the money refunded still counts, as the totals by currency do.
            lines = [line for line in return_arithmetic.kept_lines(items, returned_items) or () if line["quantity"] > 0]
        else:
            lines = items or []
        out.append(KeptPurchase(
            event_id, at, currency or "", amount - returned, amount,
            sum(line["quantity"] * line["unit_price"] for line in items or ()), tuple(lines),
        ))
    return out


def count_events(
    session: Session, *, tenant_id: int, member_id: int, type_: str, since: datetime | None = None, until: datetime | None = None
) -> int:
    """How many events of a type a member has (custom events, or built-in ones by name)."""
    query = select(func.count()).where(Event.tenant_id == tenant_id, Event.member_id == member_id, Event.type == type_)
    if since is not None:
        query = query.where(Event.occurred_at >= since)
    if until is not None:
        query = query.where(Event.occurred_at < until)
    return session.execute(query).scalar_one()


def kept_amounts(
    session: Session, *, tenant_id: int, member_id: int, since: datetime | None = None
) -> list[tuple[datetime, str, int]]:
    """(occurred at, currency, money kept after returns) of a member's purchases not wholly returned, since a moment."""
    kept = Event.amount - Event.returned_amount
    query = select(Event.occurred_at, Event.currency, kept).where(
        Event.tenant_id == tenant_id, Event.member_id == member_id, Event.type == "purchase", (kept > 0) | (Event.amount == 0),
    )
    if since is not None:
        query = query.where(Event.occurred_at >= since)
    return [(at, currency or "", int(money)) for at, currency, money in session.execute(query.order_by(Event.occurred_at))]


def member_purchases(
    session: Session, *, tenant_id: int, until: datetime | None = None, member_id: int | None = None
) -> Iterator[tuple[int, datetime, str, int]]:
    """(member, occurred at, currency, money kept) of members' purchases not wholly returned, oldest first,
    streamed: the whole history of a program, for lifetime-value models."""
    kept = Event.amount - Event.returned_amount
    query = select(Event.member_id, Event.occurred_at, Event.currency, kept).where(
        Event.tenant_id == tenant_id, Event.type == "purchase", Event.member_id.is_not(None), kept > 0,
    )
    if until is not None:
        query = query.where(Event.occurred_at < until)
    if member_id is not None:
        query = query.where(Event.member_id == member_id)
    for row in session.execute(query.order_by(Event.occurred_at, Event.id).execution_options(yield_per=5000)):
        yield int(row[0]), row[1], row[2] or "", int(row[3])  # type: ignore[arg-type]  # the query leaves NULL members out


def member_totals(session: Session, *, tenant_id: int, until: datetime | None = None) -> list[tuple[int, str, datetime, int, int]]:
    """(member, currency, last purchase, purchases, money kept) per member and currency, over members'
    purchases not wholly returned: one aggregate query (RFM scores read it)."""
    kept = Event.amount - Event.returned_amount
    query = (
        select(Event.member_id, Event.currency, func.max(Event.occurred_at), func.count(), func.coalesce(func.sum(kept), 0))
        .where(Event.tenant_id == tenant_id, Event.type == "purchase", Event.member_id.is_not(None), (kept > 0) | (Event.amount == 0))
        .group_by(Event.member_id, Event.currency)
    )
    if until is not None:
        query = query.where(Event.occurred_at < until)
    return [(int(m), c or "", at, int(n), int(money)) for m, c, at, n, money in session.execute(query)]  # type: ignore[arg-type]  # no NULL members


def export_rows(session: Session, *, tenant_id: int) -> Iterator[dict]:
    """Every purchase of the tenant as a flat record (money in major units), in id order, streamed."""
    columns = (Event.id, Event.order_id, Event.member_id, Event.occurred_at, Event.currency, Event.amount, Event.returned_amount,
               Event.points, Event.points_reversed, Event.channel, Event.store, Event.received_at)
    query = (select(*columns).where(Event.tenant_id == tenant_id, Event.type == "purchase").order_by(Event.id)
             .execution_options(yield_per=5000))
    for row in session.execute(query):
        record = dict(row._mapping)
        currency = record["currency"] or "XXX"
        record["amount"] = to_major(record["amount"], currency)
        record["returned_amount"] = to_major(record["returned_amount"], currency)
        yield record


def purchase_months(session: Session, *, tenant_id: int, start: datetime, end: datetime, timezone: str) -> set[tuple[int, str]]:
    """(member, local month "YYYY-MM") pairs with a kept purchase in [start, end): for cohort retention."""
    kept = Event.amount - Event.returned_amount
    where = (Event.tenant_id == tenant_id, Event.type == "purchase", Event.member_id.is_not(None), Event.occurred_at >= start,
             Event.occurred_at < end, kept > 0)
    if session.get_bind().dialect.name == "postgresql":
        month = func.to_char(func.timezone(timezone, Event.occurred_at), "YYYY-MM")
        return {(int(m), str(mo)) for m, mo in session.execute(select(Event.member_id, month).where(*where).distinct())}
    zone = ZoneInfo(timezone)
    rows = session.execute(select(Event.member_id, Event.occurred_at).where(*where))
    return {(int(m), at.astimezone(zone).strftime("%Y-%m")) for m, at in rows}  # type: ignore[arg-type]  # no NULL members


def _in_base(money: Any, factors: dict[str, Decimal], base_currency: str) -> Any:
    """SQL: money in the base currency's minor units (factors: minor units of base per minor unit of each currency)."""
    others = [(Event.currency == currency, money * literal(float(factor))) for currency, factor in factors.items() if currency != base_currency]
    if not others:
        return case((Event.currency == base_currency, money), else_=0)
    return case((Event.currency == base_currency, money), *others, else_=0)


def period_figures(
    session: Session, *, tenant_id: int, start: datetime, end: datetime, previous_start: datetime, factors: dict[str, Decimal],
    base_currency: str,
) -> dict[str, float]:
    """A period's purchase figures in one scan of it and the period before (`previous_start` to `start`),
    aggregated in the database: members' and non-members' orders and revenue (kept, base currency), active
    and repeat members, the revenue of the top fifth of members, and the previous period's active members
    and how many of them bought again."""
    kept = Event.amount - Event.returned_amount
    value = _in_base(kept, factors, base_currency)
    now_ = Event.occurred_at >= start
    per = (
        select(
            Event.member_id.label("member_id"),
            func.sum(case((now_, 1), else_=0)).label("orders"),
            func.sum(case((now_, value), else_=0)).label("revenue"),
            func.max(case((now_, 0), else_=1)).label("before"),
        )
        .where(Event.tenant_id == tenant_id, Event.type == "purchase", Event.occurred_at >= previous_start, Event.occurred_at < end,
               (kept > 0) | (Event.amount == 0))
        .group_by(Event.member_id)
        .subquery()
    )
    member = per.c.member_id.is_not(None)
    active = member & (per.c.orders > 0)
    ranked = select(
        per.c.member_id, per.c.orders, per.c.revenue, per.c.before,
        func.row_number().over(partition_by=active, order_by=per.c.revenue.desc()).label("rank"),
        func.count().over(partition_by=active).label("ranked"),
    ).subquery()
    r = ranked.c
    r_active = r.member_id.is_not(None) & (r.orders > 0)
    row = session.execute(select(
        func.coalesce(func.sum(case((r_active, 1), else_=0)), 0),
        func.coalesce(func.sum(case((r_active & (r.orders >= 2), 1), else_=0)), 0),
        func.coalesce(func.sum(case((r_active, r.orders), else_=0)), 0),
        func.coalesce(func.sum(case((r_active, r.revenue), else_=0)), 0),
        func.coalesce(func.sum(case((r.member_id.is_(None), r.orders), else_=0)), 0),
        func.coalesce(func.sum(case((r.member_id.is_(None), r.revenue), else_=0)), 0),
        # The top fifth, rounded up: rank <= ceil(n / 5), i.e. 5 * rank <= n + 4.
        func.coalesce(func.sum(case((r_active & (r.rank * 5 <= r.ranked + 4), r.revenue), else_=0)), 0),
        func.coalesce(func.sum(case((r.member_id.is_not(None) & (r.before == 1), 1), else_=0)), 0),
        func.coalesce(func.sum(case((r_active & (r.before == 1), 1), else_=0)), 0),
    )).one()
    names = ("active", "repeaters", "member_orders", "member_revenue", "guest_orders", "guest_revenue", "top_revenue",
             "previously_active", "retained")
    return {name: float(v) for name, v in zip(names, row, strict=True)}


def bucket_figures(
    session: Session, *, tenant_id: int, edges: list[datetime], factors: dict[str, Decimal], base_currency: str,
) -> list[dict[str, float]]:
    """Per span between consecutive `edges`, in one scan: active members, and members' and non-members'
    kept revenue (base currency, minor units). The dashboard's charts over time."""
    kept = Event.amount - Event.returned_amount
    spans = (
        select(
            bucket_of(Event.occurred_at, edges).label("bucket"), Event.member_id.label("member_id"),
            _in_base(kept, factors, base_currency).label("value"),
        )
        .where(Event.tenant_id == tenant_id, Event.type == "purchase", Event.occurred_at >= edges[0], Event.occurred_at < edges[-1],
               (kept > 0) | (Event.amount == 0))
        .subquery()
    )
    out = [{"active": 0.0, "member_revenue": 0.0, "guest_revenue": 0.0} for _ in edges[1:]]
    for bucket, active, member_revenue, guest_revenue in session.execute(
        select(
            spans.c.bucket, func.count(func.distinct(spans.c.member_id)),
            func.coalesce(func.sum(case((spans.c.member_id.is_not(None), spans.c.value), else_=0)), 0),
            func.coalesce(func.sum(case((spans.c.member_id.is_(None), spans.c.value), else_=0)), 0),
        ).where(spans.c.bucket.is_not(None)).group_by(spans.c.bucket)
    ):
        out[int(bucket)] = {"active": float(active), "member_revenue": float(member_revenue), "guest_revenue": float(guest_revenue)}
    return out


def enrolment_figures(
    session: Session, *, tenant_id: int, cutoffs: list[datetime], factors: dict[str, Decimal], base_currency: str,
) -> dict[datetime, dict[str, float]]:
    """Members' purchases up to each cut-off, in one scan: their revenue and how many bought (historic CLV),
    and, among members with orders both before enrolment and after, orders and revenue on each side."""
    kept = Event.amount - Event.returned_amount
    value = _in_base(kept, factors, base_currency)
    before = Event.occurred_at < Member.enrolled_at
    columns = []
    for k, cutoff in enumerate(cutoffs):
        upto = Event.occurred_at < cutoff
        columns += [
            func.sum(case((upto, value), else_=0)).label(f"revenue_{k}"),
            func.sum(case((upto & before, 1), else_=0)).label(f"orders_before_{k}"),
            func.sum(case((upto & before, value), else_=0)).label(f"revenue_before_{k}"),
            func.sum(case((upto & ~before, 1), else_=0)).label(f"orders_after_{k}"),
            func.sum(case((upto & ~before, value), else_=0)).label(f"revenue_after_{k}"),
            func.sum(case((upto, 1), else_=0)).label(f"orders_{k}"),
        ]
    per = (
        select(*columns)
        .join(Member, Member.id == Event.member_id)
        .where(Event.tenant_id == tenant_id, Event.type == "purchase", Event.member_id.is_not(None), Event.occurred_at < max(cutoffs),
               kept > 0)
        .group_by(Event.member_id)
        .subquery()
    )
    outer = []
    for k in range(len(cutoffs)):
        c = per.c
        both = (c[f"orders_before_{k}"] > 0) & (c[f"orders_after_{k}"] > 0)
        outer += [
            func.coalesce(func.sum(c[f"revenue_{k}"]), 0), func.coalesce(func.sum(case((c[f"orders_{k}"] > 0, 1), else_=0)), 0),
            func.coalesce(func.sum(case((both, 1), else_=0)), 0),
            func.coalesce(func.sum(case((both, c[f"orders_before_{k}"]), else_=0)), 0),
            func.coalesce(func.sum(case((both, c[f"revenue_before_{k}"]), else_=0)), 0),
            func.coalesce(func.sum(case((both, c[f"orders_after_{k}"]), else_=0)), 0),
            func.coalesce(func.sum(case((both, c[f"revenue_after_{k}"]), else_=0)), 0),
        ]
    row = session.execute(select(*outer)).one()
    names = ("lifetime_revenue", "buyers", "both", "orders_before", "revenue_before", "orders_after", "revenue_after")
    return {
        cutoff: {name: float(v) for name, v in zip(names, row[k * len(names):(k + 1) * len(names)], strict=True)}
        for k, cutoff in enumerate(cutoffs)
    }


def business_rows(session: Session, *, tenant_id: int, until: datetime) -> Iterator[tuple[int, datetime, str, int, dict | None]]:
    """(member, occurred at, currency, money kept, attributes) of members' kept purchases before `until`,
    streamed: what the A/B/C ranking reads (imports keep margins and payment dates in the attributes)."""
    kept = Event.amount - Event.returned_amount
    query = (
        select(Event.member_id, Event.occurred_at, Event.currency, kept, Event.attributes)
        .where(Event.tenant_id == tenant_id, Event.type == "purchase", Event.member_id.is_not(None), Event.occurred_at < until, kept > 0)
        .execution_options(yield_per=5000)
    )
    for member_id, at, currency, money, attributes in session.execute(query):
        yield int(member_id), at, currency or "", int(money), attributes


def any_received(session: Session, *, tenant_id: int) -> bool:
    """Whether the program has received any event yet (a till or a shop is connected)."""
    return session.execute(select(Event.id).where(Event.tenant_id == tenant_id).limit(1)).first() is not None
