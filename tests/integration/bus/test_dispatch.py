"""The domain-event bus: handlers run in the listed order, an event published by a handler is handled
before that handler's successors (depth first), a handler's error rolls back the whole transaction
(the purchase too), and `wanted` tells a purchase whether anything reacts to it (the fast path)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.conftest import START, make_member, make_tenant
from wafa.bus import dispatch, handlers, messages
from wafa.bus.dispatch import Handler
from wafa.bus.messages import Message, PointsEarned, PurchaseRecorded
from wafa.db import unit_of_work
from wafa.events import service as events
from wafa.events.models import Event
from wafa.events.schemas import MemberRef, PurchaseIn
from wafa.ledger import service as ledger
from wafa.tiers import service as tiers
from wafa.tiers.schemas import TierIn


@dataclasses.dataclass(frozen=True, slots=True)
class Pinged(Message):
    depth: int


def test_handlers_run_in_order_and_nested_events_depth_first(monkeypatch: pytest.MonkeyPatch, factory) -> None:  # type: ignore[no-untyped-def]
    seen: list[str] = []

    def first(session, message) -> None:  # type: ignore[no-untyped-def]
        seen.append(f"first {message.depth}")
        if message.depth < 2:
            dispatch.publish(session, Pinged(message.tenant_id, message.member_id, message.now, depth=message.depth + 1))

    def second(session, message) -> None:  # type: ignore[no-untyped-def]
        seen.append(f"second {message.depth}")

    def never(session, message) -> None:  # type: ignore[no-untyped-def]
        seen.append("unwanted")

    monkeypatch.setitem(handlers.HANDLERS, Pinged, [
        Handler(first, lambda s, t: True), Handler(never, lambda s, t: False), Handler(second, lambda s, t: True),
    ])
    with factory() as session:
        dispatch.publish(session, Pinged(1, 1, START, depth=0))
        assert dispatch.wanted(session, tenant_id=1, kind=Pinged)
    assert seen == ["first 0", "first 1", "first 2", "second 2", "second 1", "second 0"]


def test_every_event_type_is_listed() -> None:
    kinds = {value for value in vars(messages).values() if isinstance(value, type) and issubclass(value, Message) and value is not Message}
    assert kinds == set(handlers.HANDLERS)


def test_a_failing_handler_rolls_the_purchase_back(monkeypatch: pytest.MonkeyPatch, factory) -> None:  # type: ignore[no-untyped-def]
    tenant = make_tenant(factory, START)
    member_id = make_member(factory, tenant.id, START)

    def broken(session, message) -> None:  # type: ignore[no-untyped-def]
        raise RuntimeError("a reaction failed")

    monkeypatch.setitem(handlers.HANDLERS, PurchaseRecorded, [Handler(broken, lambda s, t: True)])
    with pytest.raises(RuntimeError), unit_of_work(factory) as session:
        events.record_purchase(session, tenant_id=tenant.id, request_hash="h", now=START, event_in=PurchaseIn(
            type="purchase", member=MemberRef(id=member_id), order_id="B-1", amount="50.00", currency="SAR",
        ))
    with factory() as session:
        assert session.execute(select(func.count()).select_from(Event).where(Event.tenant_id == tenant.id)).scalar_one() == 0


def test_a_purchase_is_wanted_once_a_tier_exists_and_points_reach_it(factory) -> None:  # type: ignore[no-untyped-def]
    tenant = make_tenant(factory, START)
    member_id = make_member(factory, tenant.id, START)
    with factory() as session:
        assert not dispatch.wanted(session, tenant_id=tenant.id, kind=PurchaseRecorded)
    with unit_of_work(factory) as session:
        tiers.create(session, tenant_id=tenant.id, now=START, tier_in=TierIn(key="silver", name_en="Silver", name_ar="فضي", rank=1, threshold="100"))
    with unit_of_work(factory) as session:
        assert dispatch.wanted(session, tenant_id=tenant.id, kind=PurchaseRecorded)
        # Points earned outside a purchase (a plan's monthly points, say) move the tier at once.
        ledger.credit(session, tenant_id=tenant.id, member_id=member_id, points=150, kind="earn", source="issued",
                      idempotency_key="gift", reason="plan points", now=START, available_at=START, expires_at=START + timedelta(days=365))
        dispatch.publish(session, PointsEarned(tenant.id, member_id, START, points=150))
        assert tiers.standing(session, tenant_id=tenant.id, member_id=member_id).key == "silver"
