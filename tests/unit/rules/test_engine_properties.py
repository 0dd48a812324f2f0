"""Properties of the rules engine (hypothesis, no database): splitting an order under a cap never
earns more than the whole order; what a return leaves is never more than was granted."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from wafa.rules import schemas as s
from wafa.rules.engine import EventFacts, Line, MemberFacts, Rule, Usage, evaluate, kept

AT = datetime(2026, 3, 7, 12, tzinfo=UTC)
SKUS = ("A", "B", "C", "D")
lines = st.lists(
    st.builds(Line, sku=st.sampled_from(SKUS), quantity=st.integers(1, 5), unit_price=st.integers(0, 50_000),
              category=st.sampled_from(("coffee", "tea", None))),
    min_size=1, max_size=8,
)
# Actions whose worth grows with the order (no per-order fixed amounts, which a split repeats).
linear_actions = st.lists(
    st.one_of(
        st.builds(lambda p: {"type": "points_per_unit", "points": p}, st.sampled_from(("1", "2", "0.5", "3.25"))),
        st.builds(lambda p: {"type": "points_per_unit", "points": p, "match": {"categories": ["coffee"]}}, st.sampled_from(("1", "4"))),
        st.builds(lambda f: {"type": "multiplier", "factor": f}, st.sampled_from(("1.5", "2", "3"))),
        st.builds(lambda p: {"type": "points_per_quantity", "points": p}, st.integers(1, 20)),
    ),
    min_size=1, max_size=3,
)


def _rule(rule_id: int, actions: list[dict], cap: int) -> Rule:
    spec = {"name_en": "r", "name_ar": "r", "trigger": "purchase", "actions": actions, "caps": {"per_member_day": cap}}
    return Rule(rule_id, 1, s.RuleDefinition.model_validate(spec))


def _order(items: list[Line]) -> EventFacts:
    return EventFacts(type="purchase", occurred_at=AT, currency="SAR", amount=sum(i.quantity * i.unit_price for i in items), lines=tuple(items))


def _base(order: EventFacts) -> int:
    return order.amount // 100  # 1 point per riyal, floored


@given(items=lines, actions=linear_actions, cap=st.integers(1, 5_000), split=st.integers(0, 8))
def test_an_order_split_in_two_never_earns_more_than_the_whole_under_a_cap(items, actions, cap, split) -> None:  # type: ignore[no-untyped-def]
    rule = _rule(1, actions, cap)
    whole = evaluate([rule], _order(items), MemberFacts(), base_points=_base(_order(items)), timezone="Asia/Riyadh")
    first_order, second_order = _order(items[:split]), _order(items[split:])
    first = evaluate([rule], first_order, MemberFacts(), base_points=_base(first_order), timezone="Asia/Riyadh")
    used = sum(a.points for a in first)
    second = evaluate(
        [rule], second_order, MemberFacts(), base_points=_base(second_order), timezone="Asia/Riyadh",
        usage={1: Usage(member_day=used)},
    )
    split_points = used + sum(a.points for a in second)
    assert split_points <= sum(a.points for a in whole) <= cap


@given(items=lines, actions=linear_actions, keep=st.lists(st.integers(0, 5), min_size=8, max_size=8), cap=st.integers(1, 10**6))
def test_what_a_return_leaves_is_never_more_than_was_granted(items, actions, keep, cap) -> None:  # type: ignore[no-untyped-def]
    rule = _rule(1, [*actions, {"type": "cashback", "percent": "5"}], cap)
    order = _order(items)
    [granted] = evaluate([rule], order, MemberFacts(), base_points=_base(order), timezone="UTC") or [None]  # type: ignore[list-item]
    if granted is None:
        return
    left = [Line(i.sku, min(i.quantity, k), i.unit_price, i.category) for i, k in zip(items, keep, strict=False)]
    left = [line for line in left if line.quantity]
    rest = _order(left)
    after = kept(rule, rest, MemberFacts(), base_points=_base(rest), granted=granted)
    assert 0 <= after.points <= granted.points and 0 <= after.cashback <= granted.cashback
    # Keeping everything keeps the whole award.
    assert kept(rule, order, MemberFacts(), base_points=_base(order), granted=granted) == granted
