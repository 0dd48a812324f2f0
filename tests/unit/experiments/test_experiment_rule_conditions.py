"""The rules' experiment and offer conditions, without a database: which members they hold for, when the
engine needs to read arms or offers at all, the facts a return re-reads them with, and what shipping an
arm makes of a rule's conditions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from wafa.events.awards import facts_from_json, facts_to_json
from wafa.experiments.service import shipped_definition
from wafa.rules import schemas as s
from wafa.rules.engine import EventFacts, MemberFacts, Rule, evaluate, needs_experiments, needs_offers, needs_segments

AT = datetime(2026, 3, 7, 16, 30, tzinfo=UTC)


def rule(*conditions: dict, rule_id: int = 1) -> Rule:  # type: ignore[type-arg]
    return Rule(rule_id, 1, s.RuleDefinition.model_validate({
        "name_en": "R", "name_ar": "ق", "trigger": "purchase", "conditions": list(conditions),
        "actions": [{"type": "fixed_points", "points": 50}],
    }))


def points(r: Rule, member: MemberFacts) -> int:
    event = EventFacts(type="purchase", occurred_at=AT, currency="SAR", amount=10_000)
    return sum(a.points for a in evaluate([r], event, member, base_points=100, timezone="Asia/Riyadh"))


def test_experiment_condition_holds_for_the_named_arms_only() -> None:
    on_b = rule({"type": "experiment", "experiment": "double", "arms": ["b"]})
    assert points(on_b, MemberFacts(arms={"double": "b"})) == 50
    assert points(on_b, MemberFacts(arms={"double": "a"})) == 0
    assert points(on_b, MemberFacts(arms={"double": "holdout"})) == 0  # the holdout never matches unless listed
    assert points(on_b, MemberFacts(arms={"other": "b"})) == 0  # another experiment's arm
    assert points(on_b, MemberFacts()) == 0  # not running: in no arm
    held = rule({"type": "experiment", "experiment": "double", "arms": ["holdout"]})
    assert points(held, MemberFacts(arms={"double": "holdout"})) == 50


def test_offer_condition_holds_when_the_member_holds_a_listed_offer() -> None:
    r = rule({"type": "offer", "any_of": ["coffee-10", "dates-5"]})
    assert points(r, MemberFacts(offers=frozenset({"dates-5", "x"}))) == 50
    assert points(r, MemberFacts(offers=frozenset({"x"}))) == 0
    assert points(r, MemberFacts()) == 0


def test_the_engine_asks_for_arms_and_offers_only_when_a_rule_does() -> None:
    plain = rule({"type": "order_amount", "at_least": "10"})
    nested = rule({"type": "not", "condition": {"type": "any", "conditions": [
        {"type": "channel", "any_of": ["web"]}, {"type": "experiment", "experiment": "x", "arms": ["a"]}]}})
    offered = rule({"type": "all", "conditions": [{"type": "offer", "any_of": ["o"]}]})
    assert not needs_experiments([plain]) and not needs_offers([plain])
    assert needs_experiments([plain, nested]) and not needs_offers([plain, nested])
    assert needs_offers([offered]) and not needs_experiments([offered]) and not needs_segments([offered])


@pytest.mark.parametrize("bad", [
    {"type": "experiment", "experiment": "x", "arms": []},
    {"type": "experiment", "experiment": "Not A Key", "arms": ["a"]},
    {"type": "experiment", "experiment": "x", "arms": ["A"]},
    {"type": "offer", "any_of": []},
])
def test_malformed_conditions_are_refused(bad: dict) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValidationError):
        rule(bad)


def test_a_return_rereads_the_rules_with_the_same_arms_and_offers() -> None:
    facts = MemberFacts(tier="gold", arms={"double": "b", "other": "holdout"}, offers=frozenset({"o2", "o1"}))
    again = facts_from_json(facts_to_json(facts))
    assert again.arms == {"double": "b", "other": "holdout"} and again.offers == {"o1", "o2"}
    # Facts stored before experiments existed read as none.
    assert facts_from_json({"tier": "gold"}).arms == {} and facts_from_json({"tier": "gold"}).offers == frozenset()
    # A program without experiments stores nothing more than before.
    assert set(facts_to_json(MemberFacts(tier="gold"))) == {"locale", "city", "birth_date", "tier", "segments", "purchase_number"}


def definition(*conditions: dict) -> dict:  # type: ignore[type-arg]
    return rule(*conditions).definition.dump()


def test_shipping_removes_the_condition_from_the_shipped_arms_rule() -> None:
    amount = {"type": "order_amount", "at_least": "10"}
    d = definition({"type": "experiment", "experiment": "x", "arms": ["b", "c"]}, amount)
    assert shipped_definition(d, key="x", arm="b")["conditions"] == [definition(amount)["conditions"][0]]  # type: ignore[index]
    assert shipped_definition(d, key="x", arm="a") is None  # the loser's rule ends
    assert shipped_definition(d, key="other", arm="a") == d  # another experiment's ship changes nothing


def test_shipping_settles_nested_conditions() -> None:
    on_b = {"type": "experiment", "experiment": "x", "arms": ["b"]}
    web = {"type": "channel", "any_of": ["web"]}
    either = definition({"type": "any", "conditions": [on_b, web]})
    assert shipped_definition(either, key="x", arm="b")["conditions"] == []  # type: ignore[index]
    assert shipped_definition(either, key="x", arm="a")["conditions"] == [{"type": "any", "conditions": [definition(web)["conditions"][0]]}]  # type: ignore[index]
    negated = definition({"type": "not", "condition": on_b})
    assert shipped_definition(negated, key="x", arm="b") is None
    assert shipped_definition(negated, key="x", arm="a")["conditions"] == []  # type: ignore[index]
