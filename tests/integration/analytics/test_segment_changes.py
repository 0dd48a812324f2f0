"""segment.entered and segment.left in the outbox: a recomputation announces exactly who moved (RFM
segments, custom segments), in its own transaction, and nothing when nobody moved."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from tests.conftest import make_member, make_tenant
from wafa.analytics import custom_segments, segments
from wafa.analytics.segment_rules import TotalSpend
from wafa.clock import FrozenClock
from wafa.db import unit_of_work
from wafa.events import returns
from wafa.events import service as events
from wafa.events.schemas import MemberRef, PurchaseIn, ReturnIn
from wafa.outbox import catalog
from wafa.outbox.models import OutboxMessage


def _buy(factory, tenant_id: int, member_id: int, order_id: str, amount: str, now) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(factory) as session:
        events.record_purchase(session, tenant_id=tenant_id, request_hash=order_id, now=now, event_in=PurchaseIn(
            type="purchase", member=MemberRef(id=member_id), order_id=order_id, amount=amount, currency="SAR"))


def _moves(factory, tenant_id: int, after_id: int = 0) -> list[tuple[str, int, dict]]:  # type: ignore[no-untyped-def,type-arg]
    with factory() as session:
        rows = session.execute(select(OutboxMessage).where(
            OutboxMessage.tenant_id == tenant_id, OutboxMessage.type.in_(("segment.entered", "segment.left")), OutboxMessage.id > after_id,
        ).order_by(OutboxMessage.id)).scalars().all()
    return [(r.type, r.member_id, r.payload) for r in rows]


def _last_id(factory) -> int:  # type: ignore[no-untyped-def]
    with factory() as session:
        return session.execute(select(OutboxMessage.id).order_by(OutboxMessage.id.desc()).limit(1)).scalar() or 0


def test_a_custom_segment_announces_who_entered_and_who_left(factory, clock: FrozenClock) -> None:  # type: ignore[no-untyped-def]
    t = make_tenant(factory, clock.now()).id
    big, small = make_member(factory, t, clock.now()), make_member(factory, t, clock.now())
    _buy(factory, t, big, "o-1", "500.00", clock.now())
    _buy(factory, t, small, "o-2", "20.00", clock.now())
    with unit_of_work(factory) as session:
        segment = custom_segments.create(session, tenant_id=t, key="big-spenders", name_en="Big spenders", name_ar="كبار المنفقين",
                                         conditions=[TotalSpend(type="total_spend", at_least="100.00")], now=clock.now())
    assert _moves(factory, t) == [("segment.entered", big, {"segment": "big-spenders", "kind": "custom", "from": None})]
    mark = _last_id(factory)
    with unit_of_work(factory) as session:  # nobody moved: nothing to say
        custom_segments.recompute(session, segment=session.merge(segment), now=clock.now())
    assert _moves(factory, t, mark) == []
    _buy(factory, t, small, "o-3", "200.00", clock.now())  # in; the big spender returns everything: out
    with unit_of_work(factory) as session:
        returns.record_return(session, tenant_id=t, request_hash="r-1", now=clock.now(), event_in=ReturnIn(type="return", order_id="o-1"))
    with unit_of_work(factory) as session:
        custom_segments.recompute(session, segment=session.merge(segment), now=clock.now())
    assert sorted(_moves(factory, t, mark), key=lambda m: m[0]) == [
        ("segment.entered", small, {"segment": "big-spenders", "kind": "custom", "from": None}),
        ("segment.left", big, {"segment": "big-spenders", "kind": "custom", "to": None}),
    ]


def test_rfm_moves_are_announced_as_left_and_entered(factory, clock: FrozenClock) -> None:  # type: ignore[no-untyped-def]
    t = make_tenant(factory, clock.now()).id
    members = [make_member(factory, t, clock.now()) for _ in range(6)]
    for n, member in enumerate(members):
        _buy(factory, t, member, f"o-{n}", f"{10 * (n + 1)}.00", clock.now() - timedelta(days=5 * n))
    with unit_of_work(factory) as session:
        segments.recompute(session, tenant_id=t, now=clock.now())
    first = _moves(factory, t)
    assert {m for _, m, _ in first} == set(members) and all(kind == "segment.entered" for kind, _, _ in first)
    mark = _last_id(factory)
    clock.advance(timedelta(days=200))  # everyone's last purchase is old now: some move
    for k in range(5):
        _buy(factory, t, members[0], f"again-{k}", "90.00", clock.now() - timedelta(days=k))
    with unit_of_work(factory) as session:
        segments.recompute(session, tenant_id=t, now=clock.now())
    moved = _moves(factory, t, mark)
    lefts = {m: p for kind, m, p in moved if kind == "segment.left"}
    entered = {m: p for kind, m, p in moved if kind == "segment.entered"}
    assert set(lefts) == set(entered) and lefts
    for member, payload in lefts.items():  # each move names both ends, consistently
        assert payload["to"] == entered[member]["segment"] and entered[member]["from"] == payload["segment"]
    for _, _, payload in moved:
        catalog.TYPES["segment.entered"].payload.model_validate(payload)
