"""Property (hypothesis, both databases): whatever the rules, the order and the partial returns before
it, a return of everything left puts the member's points and wallet back where they were before the
purchase, and the ledger still verifies."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import START, make_member, make_tenant
from wafa.db import unit_of_work
from wafa.events import returns as return_events
from wafa.events import service as events
from wafa.events.schemas import Item, MemberRef, PurchaseIn, ReturnIn, ReturnItem
from wafa.ledger import service as ledger
from wafa.ledger import wallet
from wafa.ledger.verify import verify
from wafa.rules import service as rules
from wafa.rules.schemas import RuleDefinition

PALETTE = [
    {"actions": [{"type": "multiplier", "factor": "2"}]},
    {"actions": [{"type": "fixed_points", "points": 50}], "conditions": [{"type": "order_amount", "at_least": "40.00"}]},
    {"actions": [{"type": "points_per_unit", "points": "3", "match": {"categories": ["coffee"]}}]},
    {"actions": [{"type": "points_per_quantity", "points": 4}], "caps": {"per_member_day": 30}},
    {"actions": [{"type": "cashback", "percent": "7.5"}]},
    {"actions": [{"type": "fixed_points", "points": 500}], "stackable": False, "priority": 1, "caps": {"budget_points": 700}},
]
SKUS = {"LATTE": "coffee", "BEANS": "coffee", "MUG": "kitchen", "DATES": "food"}

items_st = st.lists(
    st.builds(lambda sku, q, p: (sku, q, p), st.sampled_from(sorted(SKUS)), st.integers(1, 4), st.integers(0, 9_000)),
    min_size=1, max_size=4, unique_by=lambda t: t[0],
)
returns_st = st.lists(
    st.one_of(st.tuples(st.just("items"), st.sampled_from(sorted(SKUS))), st.tuples(st.just("amount"), st.integers(1, 3_000))), max_size=4
)


def _state(session, tenant_id: int, member_id: int) -> tuple:  # type: ignore[no-untyped-def]
    points = ledger.balances(session, tenant_id=tenant_id, member_id=member_id)
    return (points["available"], points["pending"], wallet.balances(session, tenant_id=tenant_id, member_id=member_id))


@settings(deadline=None, suppress_health_check=list(HealthCheck))
@given(
    chosen=st.lists(st.integers(0, len(PALETTE) - 1), min_size=1, max_size=4, unique=True),
    items=items_st, discount=st.integers(0, 30), returns=returns_st, pending=st.booleans(),
)
def test_a_full_return_restores_the_balance_before_the_purchase(factory, chosen, items, discount, returns, pending) -> None:  # type: ignore[no-untyped-def]
    now = START
    tenant = make_tenant(factory, now, pending_days=14 if pending else 0)
    with unit_of_work(factory) as session:
        for index in chosen:
            spec = RuleDefinition.model_validate({"name_en": f"R{index}", "name_ar": "ق", "trigger": "purchase", **PALETTE[index]})
            rules.create(session, tenant_id=tenant.id, definition=spec, status="active", now=now)
    member_id = make_member(factory, tenant.id, now)
    ref = MemberRef(id=member_id)
    with unit_of_work(factory) as session:
        events.record_purchase(
            session, tenant_id=tenant.id, request_hash="h0", now=now,
            event_in=PurchaseIn(type="purchase", member=ref, order_id="before", amount="25.00", currency="SAR"),
        )
        before = _state(session, tenant.id, member_id)
    listed = sum(q * p for _, q, p in items)
    paid = listed * (100 - discount) // 100
    with unit_of_work(factory) as session:
        events.record_purchase(
            session, tenant_id=tenant.id, request_hash="h1", now=now,
            event_in=PurchaseIn(
                type="purchase", member=ref, order_id="O", amount=f"{paid / 100:.2f}", currency="SAR",
                items=[Item(sku=sku, category=SKUS[sku], quantity=q, unit_price=f"{p / 100:.2f}") for sku, q, p in items],
            ),
        )
    bought = {sku: q for sku, q, _ in items}
    left_amount = paid
    for kind, value in returns:
        event_in = None
        if kind == "items" and bought.get(value, 0) > 0:
            bought[value] -= 1
            event_in = ReturnIn(type="return", order_id="O", items=[ReturnItem(sku=value, quantity=1)])
        elif kind == "amount" and 0 < value < left_amount:
            left_amount -= value
            event_in = ReturnIn(type="return", order_id="O", amount=f"{value / 100:.2f}")
        if event_in is not None:
            try:
                with unit_of_work(factory) as session:
                    return_events.record_return(session, tenant_id=tenant.id, event_in=event_in, now=now)
            except Exception as exc:  # an item return of free goods, or one past what is left, may be refused
                if getattr(exc, "status", None) != 422:
                    raise
    try:
        with unit_of_work(factory) as session:
            return_events.record_return(session, tenant_id=tenant.id, event_in=ReturnIn(type="return", order_id="O"), now=now)
    except Exception as exc:
        if getattr(exc, "status", None) != 422:  # nothing left to return: the earlier returns took it all
            raise
    with factory() as session:
        assert _state(session, tenant.id, member_id) == before
        assert verify(session, tenant_id=tenant.id).ok
