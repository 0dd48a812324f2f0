"""The engine on returns and the cap periods, without a database: what a kept order still earns,
which rules need the purchase count, and the day/week/month a cap counts in, DST included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from wafa.rules import schemas as s
from wafa.rules.engine import EventFacts, Line, MemberFacts, Rule, evaluate, kept, needs_purchase_number
from wafa.rules.service import periods

AT = datetime(2026, 3, 7, 12, tzinfo=UTC)
LATTE = Line("LATTE", 2, 2000, category="coffee")
MUG = Line("MUG", 1, 6000, category="kitchen")
FREE = Line("FREE", 1, 1000, earns=False)


def rule(**spec) -> Rule:  # type: ignore[no-untyped-def]
    return Rule(1, 3, s.RuleDefinition.model_validate({"name_en": "R", "name_ar": "ر", "trigger": "purchase", **spec}))


def order(*lines: Line, amount: int | None = None, **facts) -> EventFacts:  # type: ignore[no-untyped-def]
    total = sum(line.quantity * line.unit_price for line in lines) if amount is None else amount
    return EventFacts(type="purchase", occurred_at=AT, currency="SAR", amount=total, lines=lines, **facts)


def grant(r: Rule, facts: EventFacts, base: int = 100):  # type: ignore[no-untyped-def]
    [award] = evaluate([r], facts, MemberFacts(), base_points=base, timezone="UTC")
    return award


def test_kept_category_bonus_follows_the_kept_items() -> None:
    r = rule(actions=[{"type": "points_per_unit", "points": "2", "match": {"categories": ["coffee"]}}])
    granted = grant(r, order(LATTE, MUG))
    assert granted.points == 80
    assert kept(r, order(LATTE), MemberFacts(), base_points=40, granted=granted).points == 80
    assert kept(r, order(Line("LATTE", 1, 2000, category="coffee"), MUG), MemberFacts(), base_points=80, granted=granted).points == 40


def test_kept_threshold_bonus_goes_below_the_threshold() -> None:
    r = rule(conditions=[{"type": "order_amount", "at_least": "100.00"}], actions=[{"type": "fixed_points", "points": 50}])
    granted = grant(r, order(LATTE, MUG))
    assert kept(r, order(LATTE, MUG, amount=10_000), MemberFacts(), base_points=100, granted=granted).points == 50
    assert kept(r, order(LATTE, MUG, amount=9_999), MemberFacts(), base_points=99, granted=granted).points == 0


def test_kept_never_exceeds_the_capped_grant() -> None:
    r = rule(actions=[{"type": "points_per_unit", "points": "1"}], caps={"per_order": 30})
    granted = grant(r, order(LATTE, MUG))
    assert (granted.points, granted.capped_by) == (30, "per_order")
    assert kept(r, order(LATTE), MemberFacts(), base_points=40, granted=granted).points == 30
    assert kept(r, order(Line("LATTE", 1, 2000)), MemberFacts(), base_points=20, granted=granted).points == 20


def test_kept_stamps_and_rewards() -> None:
    r = rule(actions=[{"type": "stamps", "card": "coffee", "per_item": True, "match": {"categories": ["coffee"]}},
                      {"type": "issue_reward", "reward": "free-cookie"}],
             conditions=[{"type": "items", "match": {"categories": ["coffee"]}, "min_quantity": 2}])
    granted = grant(r, order(LATTE, MUG))
    assert (granted.stamps, granted.rewards) == ((("coffee", 2),), ("free-cookie",))
    after = kept(r, order(Line("LATTE", 1, 2000, category="coffee"), MUG), MemberFacts(), base_points=80, granted=granted)
    assert (after.stamps, after.rewards) == ((), ())  # one coffee left: the condition no longer holds


def test_kept_cashback_shrinks_with_the_money() -> None:
    r = rule(actions=[{"type": "cashback", "percent": "10"}])
    granted = grant(r, order(LATTE, MUG))
    assert granted.cashback == 1000
    assert kept(r, order(LATTE, MUG, amount=4000), MemberFacts(), base_points=40, granted=granted).cashback == 400


def test_non_earning_lines_count_only_when_a_rule_says_so() -> None:
    plain = rule(actions=[{"type": "points_per_quantity", "points": 5}])
    assert grant(plain, order(MUG, FREE)).points == 5
    included = rule(actions=[{"type": "points_per_quantity", "points": 5, "match": {"skus": ["FREE"], "include_non_earning": True}}])
    assert grant(included, order(MUG, FREE)).points == 5
    excluded = rule(actions=[{"type": "points_per_quantity", "points": 5, "match": {"skus": ["FREE"]}}])
    assert evaluate([excluded], order(MUG, FREE), MemberFacts(), base_points=60, timezone="UTC") == []


def test_describe_for_returns_and_cashback() -> None:
    r = rule(name_en="App cashback", actions=[{"type": "cashback", "percent": "5"}, {"type": "fixed_points", "points": 7}])
    award = grant(r, order(MUG))
    assert award.describe(currency="SAR") == "+7 points, +3.00 SAR cashback, rule 'App cashback' v3"
    assert award.describe(currency="SAR", sign=-1) == "-7 points, -3.00 SAR cashback, rule 'App cashback' v3"
    assert award.describe("ar", currency="SAR").endswith("rule 'ر' v3")


def test_needs_purchase_number_looks_inside_compositions() -> None:
    assert not needs_purchase_number([rule(actions=[{"type": "fixed_points", "points": 1}])])
    nested = rule(conditions=[{"type": "not", "condition": {"type": "any", "conditions": [{"type": "nth_purchase", "n": 2}]}}],
                  actions=[{"type": "fixed_points", "points": 1}])
    assert needs_purchase_number([nested])


def test_cap_periods_are_local_days_weeks_and_months() -> None:
    spans = periods(datetime(2026, 2, 28, 21, 30, tzinfo=UTC), "Asia/Riyadh")  # Sunday 1 March, 00:30 in Riyadh
    day_start, day_end = spans["day"]
    assert day_start == datetime(2026, 2, 28, 21, 0, tzinfo=UTC) and day_end - day_start == timedelta(days=1)
    assert spans["week"][0] == datetime(2026, 2, 22, 21, 0, tzinfo=UTC)  # Monday 23 February, local midnight
    assert spans["month"] == (datetime(2026, 2, 28, 21, 0, tzinfo=UTC), datetime(2026, 3, 31, 21, 0, tzinfo=UTC))


def test_cap_day_across_a_dst_change_is_the_local_day() -> None:
    # Europe/London springs forward on 29 March 2026: that local day lasts 23 hours.
    start, end = periods(datetime(2026, 3, 29, 12, tzinfo=UTC), "Europe/London")["day"]
    assert (start, end) == (datetime(2026, 3, 29, 0, tzinfo=UTC), datetime(2026, 3, 29, 23, tzinfo=UTC))
    start, end = periods(datetime(2026, 10, 25, 12, tzinfo=UTC), "Europe/London")["day"]  # 25 hours
    assert end - start == timedelta(hours=25)
