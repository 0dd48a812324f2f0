"""Why a rule fired or not (rules/reasons.py), without a database: each reason the simulate panel shows,
and agreement with the engine (the rules said to apply are exactly the awards evaluate returns)."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from wafa.rules import schemas as s
from wafa.rules.engine import EventFacts, Line, MemberFacts, Rule, Usage, evaluate
from wafa.rules.reasons import explain

RIYADH = "Asia/Riyadh"
FRIDAY_EVENING = datetime(2026, 3, 6, 16, 30, tzinfo=UTC)  # Friday 19:30 in Riyadh
MONDAY_NOON = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)  # Monday 12:00 in Riyadh
COFFEE = Line("COF-LAT", quantity=2, unit_price=1650, category="coffee")
DATES = Line("DAT-AJW", quantity=1, unit_price=4500, category="dates")


def rule(rule_id: int = 1, **spec) -> Rule:  # type: ignore[no-untyped-def]
    body = {"name_en": f"Rule {rule_id}", "name_ar": f"قاعدة {rule_id}", "trigger": "purchase", **spec}
    body.setdefault("actions", [{"type": "fixed_points", "points": 10}])
    return Rule(rule_id, 1, s.RuleDefinition.model_validate(body))


def purchase(at: datetime = FRIDAY_EVENING, lines=(COFFEE, DATES), **facts) -> EventFacts:  # type: ignore[no-untyped-def]
    return EventFacts(type="purchase", occurred_at=at, currency="SAR", amount=sum(x.quantity * x.unit_price for x in lines),
                      lines=tuple(lines), **facts)


def why(rules, event=None, member=None, usage=None):  # type: ignore[no-untyped-def]
    return explain(rules, event or purchase(), member or MemberFacts(purchase_number=3), base_points=78, timezone=RIYADH, usage=usage)


def test_a_rule_that_applies_carries_its_award() -> None:
    [verdict] = why([rule(actions=[{"type": "multiplier", "factor": "2"}], window={"days_of_week": [4]})])
    assert verdict.applies and verdict.award is not None and verdict.award.points == 78


def test_another_trigger_is_the_reason() -> None:
    assert why([rule(trigger="birthday")])[0].outcome == "trigger"


def test_the_window_says_which_part_missed() -> None:
    future = rule(window={"starts_at": "2026-04-01T00:00:00+03:00"})
    past = rule(window={"ends_at": "2026-03-01T00:00:00+03:00"})
    fridays = rule(window={"days_of_week": [4]})
    mornings = rule(window={"hours": {"from": "06:00", "to": "11:00"}})
    assert [v.outcome for v in why([future, past, fridays, mornings])] == ["not_started", "ended", "applies", "hours"]
    assert why([fridays], purchase(at=MONDAY_NOON))[0].outcome == "day"


def test_the_first_condition_not_met_is_named_by_its_index() -> None:
    two = rule(conditions=[{"type": "order_amount", "at_least": "10"}, {"type": "channel", "any_of": ["app"]}])
    verdict = why([two], purchase(channel="store"))[0]
    assert verdict.outcome == "condition" and verdict.condition == 1
    assert why([two], purchase(channel="app"))[0].applies


def test_actions_that_give_nothing_for_this_basket() -> None:
    tea = rule(actions=[{"type": "points_per_unit", "points": "2", "match": {"categories": ["tea"]}}])
    assert why([tea])[0].outcome == "nothing"


def test_a_cap_used_up_names_the_cap() -> None:
    daily = rule(caps={"per_member_day": 50})
    verdict = why([daily], usage={1: Usage(member_day=50)})[0]
    assert verdict.outcome == "capped_out" and verdict.capped_by == "per_member_day"
    cut = why([rule(actions=[{"type": "fixed_points", "points": 80}], caps={"per_member_day": 50})], usage={1: Usage(member_day=20)})[0]
    assert cut.applies and cut.award.points == 30 and cut.award.capped_by == "per_member_day"  # type: ignore[union-attr]


def test_an_exclusive_rule_shuts_out_the_others_and_is_named() -> None:
    big = rule(1, actions=[{"type": "fixed_points", "points": 100}], stackable=False, priority=5)
    small = rule(2, actions=[{"type": "fixed_points", "points": 10}], priority=1)
    rival = rule(3, actions=[{"type": "fixed_points", "points": 40}], stackable=False, priority=5)
    verdicts = why([small, big, rival])
    assert [v.outcome for v in verdicts] == ["shut_out", "applies", "shut_out"]
    assert verdicts[0].by == 1 and verdicts[2].by == 1


actions = st.sampled_from([
    {"type": "fixed_points", "points": 10}, {"type": "multiplier", "factor": "2"},
    {"type": "points_per_unit", "points": "1", "match": {"categories": ["coffee"]}},
    {"type": "points_per_unit", "points": "1", "match": {"categories": ["tea"]}},
])
conditions = st.lists(st.sampled_from([
    {"type": "channel", "any_of": ["app"]}, {"type": "order_amount", "at_least": "50"}, {"type": "nth_purchase", "n": 1},
]), max_size=2)
windows = st.sampled_from([{}, {"days_of_week": [4]}, {"days_of_week": [0]}, {"hours": {"from": "18:00", "to": "23:00"}}])
specs = st.lists(st.tuples(actions, conditions, windows, st.booleans(), st.integers(0, 2), st.sampled_from([None, 15, 100])),
                 min_size=1, max_size=6)


@given(specs=specs, channel=st.sampled_from(["app", "store"]), at=st.sampled_from([FRIDAY_EVENING, MONDAY_NOON]),
       used=st.integers(0, 120))
def test_the_rules_said_to_apply_are_exactly_what_the_engine_awards(specs, channel, at, used) -> None:  # type: ignore[no-untyped-def]
    rules = [rule(i + 1, actions=[a], conditions=c, window=w, stackable=st_, priority=p, caps={"per_member_day": cap} if cap else {})
             for i, (a, c, w, st_, p, cap) in enumerate(specs)]
    event, member = purchase(at=at, channel=channel), MemberFacts(purchase_number=1)
    usage = {r.id: Usage(member_day=used) for r in rules}
    awarded = evaluate(rules, event, member, base_points=78, timezone=RIYADH, usage=usage)
    verdicts = explain(rules, event, member, base_points=78, timezone=RIYADH, usage=usage)
    assert sorted((a.rule_id, a.points) for a in awarded) == sorted((v.rule.id, v.award.points) for v in verdicts if v.applies)  # type: ignore[union-attr]
    assert len(verdicts) == len(rules) and all(v.applies == (v.award is not None) for v in verdicts)
