"""The one-statement earn path on PostgreSQL writes exactly what the ledger service writes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.conftest import factory_for, make_member, make_tenant
from wafa.coalition import service as coalition
from wafa.coalition.schemas import CoalitionIn, PartnerIn
from wafa.db import unit_of_work
from wafa.events import hotpath, returns
from wafa.events import service as events
from wafa.events.models import Event, EventOutcome
from wafa.events.schemas import PurchaseIn, ReturnIn
from wafa.ledger import money as ledger_money
from wafa.ledger import service as ledger
from wafa.ledger.models import Entry, Lot, LotMovement, Posting
from wafa.ledger.verify import verify
from wafa.outbox.models import OutboxMessage


def _run(factory, clock, tenant_id: int, member_ids: list[int]) -> list[tuple]:  # type: ignore[no-untyped-def]
    """Purchases, a debt and its repayment; returns what each step wrote, without ids."""
    amounts = ["10.00", "99.99", "0.50", "250.00"]
    answers = []
    for n, amount in enumerate(amounts * 2):
        with unit_of_work(factory) as session:
            body = PurchaseIn(type="purchase", member={"id": member_ids[n % 2]}, order_id=f"o-{n}", amount=amount, currency="SAR")
            answer, _ = events.record_purchase(session, tenant_id=tenant_id, event_in=body, request_hash=f"h{n}", now=clock.now())
            answers.append(answer.model_dump(mode="json", exclude={"event_id": True, "member_id": True, "award": {"entry_id"}}))
        clock.advance(timedelta(minutes=5))
    # Spend everything, return an order: a debt (with pending_days=0), which the next purchase repays.
    with unit_of_work(factory) as session:
        available = ledger.balances(session, tenant_id=tenant_id, member_id=member_ids[0])["available"]
        if available:
            ledger.debit(session, tenant_id=tenant_id, member_id=member_ids[0], points=available, kind="redeem",
                         destination="redeemed", idempotency_key="spend-all", reason="spend", now=clock.now())
        returns.record_return(session, tenant_id=tenant_id, event_in=ReturnIn(type="return", order_id="o-0"), now=clock.now())
    with unit_of_work(factory) as session:
        body = PurchaseIn(type="purchase", member={"id": member_ids[0]}, order_id="o-last", amount="7.00", currency="SAR")
        events.record_purchase(session, tenant_id=tenant_id, event_in=body, request_hash="last", now=clock.now())
    with unit_of_work(factory) as session:
        lots = session.execute(
            select(Lot.amount, Lot.remaining, Lot.released, Lot.available_at, Lot.expires_at)
            .where(Lot.tenant_id == tenant_id).order_by(Lot.id)
        ).all()
        entries = session.execute(
            select(Entry.kind, Entry.points, Entry.reason, Entry.details).where(Entry.tenant_id == tenant_id).order_by(Entry.id)
        ).all()
        postings = session.execute(
            select(Posting.amount, Posting.seq).where(Posting.tenant_id == tenant_id).order_by(Posting.entry_id, Posting.amount)
        ).all()
        moves = session.execute(select(LotMovement.amount).where(LotMovement.tenant_id == tenant_id).order_by(LotMovement.id)).all()
        # What replays will answer: the balance and reason each purchase's answer gave.
        outcomes = session.execute(
            select(EventOutcome.balance, EventOutcome.not_awarded_reason).where(EventOutcome.tenant_id == tenant_id)
            .order_by(EventOutcome.event_id)
        ).all()
        # The messages each path leaves for webhooks and streams: the same, ids aside.
        ids = {"entry_id", "event_id", "reverses_entry_id", "external_id"}  # ids, and the members' random external ids
        messages = [
            (type_, member_id is not None, tuple(sorted((k, v) for k, v in payload.items() if k not in ids)), tuple(sorted(set(payload) & ids)))
            for type_, member_id, payload in session.execute(
                select(OutboxMessage.type, OutboxMessage.member_id, OutboxMessage.payload).where(OutboxMessage.tenant_id == tenant_id)
                .order_by(OutboxMessage.id)
            )
        ]
        assert verify(session, tenant_id=tenant_id).ok
        debt = -ledger.balances(session, tenant_id=tenant_id, member_id=member_ids[0])["available"]
    return [debt, tuple(map(tuple, lots)), tuple(map(tuple, entries)), tuple(map(tuple, postings)), tuple(map(tuple, moves)),
            answers, [tuple(o) for o in outcomes], messages]


@pytest.mark.parametrize("pending_days", [0, 14])
def test_fast_and_slow_purchase_paths_write_the_same_ledger(pg_url, clock, monkeypatch, pending_days) -> None:  # type: ignore[no-untyped-def]
    factory = factory_for(pg_url)
    start = clock.now()
    results = []
    for fast in (True, False):
        clock.set(start)
        tenant = make_tenant(factory, clock.now(), pending_days=pending_days, expiry={"policy": "end_of_month", "periods": 2})
        members = [make_member(factory, tenant.id, clock.now()) for _ in range(2)]
        if not fast:
            monkeypatch.setattr(hotpath, "purchase", lambda *a, **k: None)
        results.append(_run(factory, clock, tenant.id, members))
        monkeypatch.undo()
    assert results[0] == results[1]
    if pending_days == 0:
        assert results[0][0] == 3  # 10 points owed, 7 repaid by the last purchase


def _partner_run(factory, clock, tenant_id: int, member_id: int) -> list[tuple]:  # type: ignore[no-untyped-def]
    """Purchases at a coalition partner (one of them after a period closed), then a return; what they wrote."""
    for n, amount in enumerate(["10.00", "99.99", "0.50"]):
        with unit_of_work(factory) as session:
            body = PurchaseIn(type="purchase", member={"id": member_id}, order_id=f"o-{n}", amount=amount, currency="SAR", partner="cafe")
            events.record_purchase(session, tenant_id=tenant_id, event_in=body, request_hash=f"h{n}", now=clock.now())
        clock.advance(timedelta(days=20))
    with unit_of_work(factory) as session:
        partner_id = coalition.config_or_raise(session, tenant_id=tenant_id).by_key["cafe"]
        # A period closed ahead of the clock: the next purchase's money is dated into the open period.
        ledger_money.close_period(session, tenant_id=tenant_id, partner_id=partner_id, through=clock.now() + timedelta(hours=1))
    with unit_of_work(factory) as session:
        body = PurchaseIn(type="purchase", member={"id": member_id}, order_id="late", amount="40.00", currency="SAR", partner="cafe")
        events.record_purchase(session, tenant_id=tenant_id, event_in=body, request_hash="late", now=clock.now())
        returns.record_return(session, tenant_id=tenant_id, event_in=ReturnIn(type="return", order_id="cafe:o-1", amount="33.33"),
                              now=clock.now())
    with unit_of_work(factory) as session:
        entries = session.execute(
            select(Entry.kind, Entry.points, Entry.reason, Entry.details, Entry.created_at, Entry.partner_id.is_not(None))
            .where(Entry.tenant_id == tenant_id).order_by(Entry.id)
        ).all()
        postings = session.execute(
            select(Posting.unit, Posting.amount, Posting.seq).where(Posting.tenant_id == tenant_id)
            .order_by(Posting.entry_id, Posting.unit, Posting.amount)
        ).all()
        partners_of_events = session.execute(
            select(Event.order_id, Event.partner_id.is_not(None)).where(Event.tenant_id == tenant_id).order_by(Event.id)
        ).all()
        assert verify(session, tenant_id=tenant_id).ok
    def without_ids(details: dict | None) -> dict | None:  # type: ignore[type-arg]
        if not details or "coalition" not in details:
            return details
        return {**details, "coalition": {k: v for k, v in details["coalition"].items() if k not in ("partner_id", "follows_entry_id")}}

    entries = [(*row[:3], without_ids(row[3]), *row[4:]) for row in entries]
    return [tuple(map(tuple, entries)), tuple(map(tuple, postings)), tuple(map(tuple, partners_of_events))]


def test_a_partners_purchase_writes_the_same_rows_and_money_on_either_path(pg_url, clock, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    factory = factory_for(pg_url)
    start = clock.now()
    results = []
    for fast in (True, False):
        clock.set(start)
        tenant = make_tenant(factory, clock.now())
        member = make_member(factory, tenant.id, clock.now())
        with unit_of_work(factory) as session:
            coalition.configure(session, tenant_id=tenant.id, coalition_in=CoalitionIn(), now=clock.now())
            coalition.create(session, tenant_id=tenant.id, now=clock.now(), partner_in=PartnerIn(
                key="cafe", name="Café", currency="SAR", earn_rate="2", issue_price="0.05", redeem_value="0.04", issue_fee="0.1",
            ))
        if not fast:
            monkeypatch.setattr(hotpath, "purchase", lambda *a, **k: None)
        results.append(_partner_run(factory, clock, tenant.id, member))
        monkeypatch.undo()
    assert results[0] == results[1]
    entries = results[0][0]
    # The purchase made after the closing is dated at the end of the closed period, not before it.
    assert entries[3][4] == start + timedelta(days=60, hours=1)
    assert sum(1 for unit, _, _ in results[0][1] if unit == "SAR") == 3 * 4 + 3  # 3 money legs an earn, 3 back on the return
