"""The rules engine, without a database: conditions, actions, windows, caps, stacking."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from wafa.rules import schemas as s
from wafa.rules.engine import EventFacts, Line, MemberFacts, Rule, Usage, age_band, evaluate, in_window

RIYADH = "Asia/Riyadh"
SAT_EVENING = datetime(2026, 3, 7, 16, 30, tzinfo=UTC)  # Saturday 19:30 in Riyadh
COFFEE = Line("COF-LAT", quantity=2, unit_price=1650, category="coffee", brand="Wafa Roasters")
DATES = Line("DAT-AJW", quantity=1, unit_price=4500, category="dates")
GIFT = Line("FREE-MUG", quantity=1, unit_price=2000, category="merch", earns=False)


def rule(rule_id: int = 1, **spec) -> Rule:  # type: ignore[no-untyped-def]
    body = {"name_en": f"Rule {rule_id}", "name_ar": f"قاعدة {rule_id}", "trigger": "purchase", **spec}
    return Rule(rule_id, 1, s.RuleDefinition.model_validate(body))


def purchase(amount: int = 7800, lines=(COFFEE, DATES), **facts) -> EventFacts:  # type: ignore[no-untyped-def]
    return EventFacts(type="purchase", occurred_at=facts.pop("at", SAT_EVENING), currency="SAR", amount=amount, lines=tuple(lines), **facts)


def run(rules, event=None, member=None, base=78, usage=None):  # type: ignore[no-untyped-def]
    return evaluate(rules, event or purchase(), member or MemberFacts(purchase_number=3), base_points=base, timezone=RIYADH, usage=usage)


def test_multiplier_doubles_the_base_on_weekends() -> None:
    weekend = rule(actions=[{"type": "multiplier", "factor": "2"}], window={"days_of_week": [4, 5]})  # Fri, Sat
    [award] = run([weekend])
    assert award.points == 78 and award.describe() == "+78 points, rule 'Rule 1' v1"
    assert run([weekend], purchase(at=datetime(2026, 3, 9, 10, tzinfo=UTC))) == []  # a Monday


def test_hours_window_wraps_midnight_in_program_zone() -> None:
    late = rule(actions=[{"type": "fixed_points", "points": 10}], window={"hours": {"from": "19:00", "to": "02:00"}})
    assert run([late])[0].points == 10  # 19:30 local
    assert run([late], purchase(at=datetime(2026, 3, 7, 22, 30, tzinfo=UTC)))[0].points == 10  # 01:30 local
    assert run([late], purchase(at=datetime(2026, 3, 7, 9, 0, tzinfo=UTC))) == []  # noon local


def test_window_in_a_dst_zone_follows_local_time() -> None:
    morning = s.Window(hours={"from": "08:00", "to": "09:00"})
    london = ZoneInfo("Europe/London")
    assert in_window(morning, datetime(2026, 1, 15, 8, 30, tzinfo=UTC), london)  # GMT: 08:30 local
    assert not in_window(morning, datetime(2026, 7, 15, 8, 30, tzinfo=UTC), london)  # BST: 09:30 local
    assert in_window(morning, datetime(2026, 7, 15, 7, 30, tzinfo=UTC), london)


def test_window_start_and_end() -> None:
    ramadan = rule(actions=[{"type": "fixed_points", "points": 5}],
                   window={"starts_at": "2026-02-18T00:00:00+03:00", "ends_at": "2026-03-20T00:00:00+03:00"})
    assert run([ramadan])[0].points == 5
    assert run([ramadan], purchase(at=datetime(2026, 3, 21, tzinfo=UTC))) == []


def test_category_multiplier_on_matching_items_only() -> None:
    coffee = rule(conditions=[{"type": "items", "match": {"categories": ["coffee"]}}],
                  actions=[{"type": "points_per_unit", "points": "3", "match": {"categories": ["coffee"]}}])
    assert run([coffee])[0].points == 99  # 33.00 SAR of coffee x 3


def test_non_earning_lines_earn_nothing() -> None:
    event = purchase(amount=9800, lines=(COFFEE, DATES, GIFT))  # the mug is a reward line
    whole = rule(actions=[{"type": "points_per_unit", "points": "1"}])
    assert run([whole], event)[0].points == 78  # 98.00 paid, 20.00 of it for the mug


def test_first_purchase_bonus_and_nth() -> None:
    first = rule(conditions=[{"type": "nth_purchase", "n": 1}], actions=[{"type": "fixed_points", "points": 100}])
    assert run([first], member=MemberFacts(purchase_number=1))[0].points == 100
    assert run([first], member=MemberFacts(purchase_number=2)) == []


def test_order_amount_bounds_and_channel_and_store() -> None:
    big = rule(conditions=[{"type": "order_amount", "at_least": "50.00", "at_most": "100"},
                           {"type": "channel", "any_of": ["app"]}, {"type": "store", "any_of": ["RUH-01"]}],
               actions=[{"type": "cashback", "percent": "5"}])
    [award] = run([big], purchase(channel="app", store="RUH-01"))
    assert award.cashback == 390  # 5% of 78.00 SAR in halalas
    assert run([big], purchase(channel="store", store="RUH-01")) == []
    assert run([big], purchase(amount=4999, channel="app", store="RUH-01")) == []


def test_all_any_not_compose() -> None:
    spec = {"type": "any", "conditions": [
        {"type": "tier", "any_of": ["gold"]},
        {"type": "all", "conditions": [{"type": "segment", "any_of": ["champions"]},
                                       {"type": "not", "condition": {"type": "member_attribute", "attribute": "locale", "any_of": ["en"]}}]},
    ]}
    r = rule(conditions=[spec], actions=[{"type": "fixed_points", "points": 1}])
    assert run([r], member=MemberFacts(tier="gold"))
    assert run([r], member=MemberFacts(segments=frozenset({"champions"}), locale="ar"))
    assert not run([r], member=MemberFacts(segments=frozenset({"champions"}), locale="en"))


def test_tier_condition_ignores_case() -> None:
    r = rule(conditions=[{"type": "tier", "any_of": ["Gold"]}], actions=[{"type": "fixed_points", "points": 1}])
    assert run([r], member=MemberFacts(tier="gold"))
    assert not run([r], member=MemberFacts(tier="silver"))
    assert not run([r], member=MemberFacts())


def test_age_band_condition() -> None:
    assert age_band(date(2000, 3, 7), date(2026, 3, 7)) == "25_34"  # 26 today
    assert age_band(date(2001, 3, 8), date(2026, 3, 7)) == "18_24"  # 24 until tomorrow
    assert age_band(None, date(2026, 3, 7)) == "unknown"
    young = rule(conditions=[{"type": "member_attribute", "attribute": "age_band", "any_of": ["18_24"]}],
                 actions=[{"type": "fixed_points", "points": 7}])
    assert run([young], member=MemberFacts(birth_date=date(2005, 1, 1)))[0].points == 7


def test_custom_event_attribute_conditions() -> None:
    review = rule(trigger="review_written", conditions=[{"type": "event_attribute", "path": "review.stars", "op": "gte", "value": 4}],
                  actions=[{"type": "fixed_points", "points": 50}])
    event = EventFacts(type="review_written", occurred_at=SAT_EVENING, attributes={"review": {"stars": 5}})
    assert run([review], event)[0].points == 50
    low = EventFacts(type="review_written", occurred_at=SAT_EVENING, attributes={"review": {"stars": 2}})
    text = EventFacts(type="review_written", occurred_at=SAT_EVENING, attributes={"review": {"stars": "five"}})
    assert run([review], low) == [] and run([review], text) == []
    assert run([review], purchase()) == []  # another trigger


def test_stamps_per_item_and_rewards() -> None:
    card = rule(actions=[{"type": "stamps", "card": "coffee", "per_item": True, "match": {"categories": ["coffee"]}},
                         {"type": "issue_reward", "reward": "FREE-CROISSANT"}])
    [award] = run([card])
    assert award.stamps == (("coffee", 2),) and award.rewards == ("FREE-CROISSANT",)


def test_caps_limit_points_and_say_which() -> None:
    generous = rule(actions=[{"type": "fixed_points", "points": 500}],
                    caps={"per_order": 300, "per_member_day": 400, "budget_points": 10_000})
    assert run([generous])[0].points == 300
    [award] = run([generous], usage={1: Usage(member_day=250)})
    assert (award.points, award.capped_by) == (150, "per_member_day")
    assert run([generous], usage={1: Usage(budget_points_used=10_000)}) == []  # spent budget: nothing


def test_money_budget_caps_cashback() -> None:
    cash = rule(actions=[{"type": "cashback", "percent": "10"}], caps={"budget_money": "1000"})
    [award] = run([cash], usage={1: Usage(budget_money_left=300)})
    assert (award.cashback, award.capped_by) == (300, "budget_money")


def test_exclusive_rules_best_value_wins_and_shut_out_lower_priorities() -> None:
    small = rule(1, actions=[{"type": "fixed_points", "points": 10}], stackable=False, priority=5)
    big = rule(2, actions=[{"type": "fixed_points", "points": 40}], stackable=False, priority=5)
    same_level = rule(3, actions=[{"type": "fixed_points", "points": 1}], priority=5)
    lower = rule(4, actions=[{"type": "fixed_points", "points": 1000}], priority=1)
    awards = run([small, big, same_level, lower])
    assert [(a.rule_id, a.points) for a in awards] == [(3, 1), (2, 40)]


def test_stackable_rules_all_apply_in_priority_order() -> None:
    a = rule(1, actions=[{"type": "fixed_points", "points": 5}], priority=1)
    b = rule(2, actions=[{"type": "fixed_points", "points": 7}], priority=9)
    assert [award.rule_id for award in run([a, b])] == [2, 1]


@pytest.mark.parametrize(
    "body, where",
    [
        ({"trigger": "Purchase!"}, "trigger"),
        ({"actions": []}, "actions"),
        ({"actions": [{"type": "teleport"}]}, "actions"),
        ({"conditions": [{"type": "order_amount"}]}, "conditions"),
        ({"conditions": [{"type": "event_attribute", "path": "a", "op": "in", "value": 3}]}, "conditions"),
        ({"window": {"days_of_week": [7]}}, "window"),
        ({"actions": [{"type": "multiplier", "factor": "-2"}]}, "actions"),
    ],
)
def test_invalid_rules_are_refused_naming_the_field(body: dict, where: str) -> None:  # type: ignore[type-arg]
    full = {"name_en": "x", "name_ar": "س", "trigger": "purchase", "actions": [{"type": "fixed_points", "points": 1}], **body}
    with pytest.raises(ValidationError) as failure:
        s.RuleDefinition.model_validate(full)
    assert failure.value.errors()[0]["loc"][0] == where


def test_rule_definitions_are_frozen_and_round_trip() -> None:
    r = rule(actions=[{"type": "multiplier", "factor": "2"}], window={"hours": {"from": "19:00", "to": "23:00"}})
    with pytest.raises(ValidationError):
        r.definition.priority = 3  # type: ignore[misc]
    assert s.RuleDefinition.model_validate(r.definition.dump()) == r.definition
