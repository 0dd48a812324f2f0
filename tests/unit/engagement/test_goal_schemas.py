"""What badge, challenge and streak definitions refuse before anything is stored, and why: a goal's
target must fit its metric, filters must fit their metric, a streak's milestones must differ, and a
challenge must end after it starts and cannot ask for a tier."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from wafa.engagement.schemas import ChallengeIn, GoalIn, StreakIn

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def refused(model: type, body: dict[str, Any]) -> str:
    """The validation messages of a refused body, joined."""
    with pytest.raises(ValidationError) as caught:
        model.model_validate(body)
    return " | ".join(error["msg"] for error in caught.value.errors())


def streak(**fields: Any) -> dict[str, Any]:
    return {"key": "weekly", "name_en": "Weekly", "name_ar": "أسبوعي", "period": "week",
            "milestones": [{"length": 2, "points": 20}], **fields}


def challenge(**fields: Any) -> dict[str, Any]:
    return {"key": "march", "name_en": "March", "name_ar": "مارس", "goal": {"metric": "purchases", "at_least": "3"},
            "starts_at": START.isoformat(), "ends_at": (START + timedelta(days=30)).isoformat(), **fields}


# GoalIn ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "goal",
    [
        {"metric": "purchases", "at_least": "3"},
        {"metric": "purchases", "at_least": "3.0"},  # whole, however written
        {"metric": "purchases", "at_least": "1000000"},
        {"metric": "purchases", "at_least": "2", "category": "coffee", "min_amount": "15.00"},
        {"metric": "spend", "at_least": "100.50", "category": "coffee"},
        {"metric": "categories", "at_least": "4"},
        {"metric": "events", "at_least": "2", "event_type": "review_written"},
        {"metric": "referrals", "at_least": "1"},
        {"metric": "tier", "tier": "gold"},
    ],
)
def test_goal_that_fits_its_metric_is_accepted(goal: dict[str, Any]) -> None:
    assert GoalIn.model_validate(goal).metric == goal["metric"]


@pytest.mark.parametrize("metric", ["purchases", "spend", "categories", "referrals"])
def test_goal_without_at_least_is_refused(metric: str) -> None:
    assert "at_least is required" in refused(GoalIn, {"metric": metric})


@pytest.mark.parametrize("metric", ["purchases", "spend", "categories", "referrals"])
def test_goal_of_zero_is_refused(metric: str) -> None:
    assert "at_least must be greater than zero" in refused(GoalIn, {"metric": metric, "at_least": "0"})


@pytest.mark.parametrize("metric, event_type", [("purchases", None), ("categories", None), ("referrals", None), ("events", "review")])
def test_goal_counting_with_a_fractional_target_is_refused(metric: str, event_type: str | None) -> None:
    body = {"metric": metric, "at_least": "2.5", **({"event_type": event_type} if event_type else {})}
    assert f"a {metric} goal counts: at_least is a whole number" in refused(GoalIn, body)


def test_goal_counting_beyond_a_million_is_refused() -> None:
    assert "whole number up to 1000000" in refused(GoalIn, {"metric": "purchases", "at_least": "1000001"})


def test_goal_of_spend_may_be_fractional_and_above_a_million() -> None:
    assert GoalIn.model_validate({"metric": "spend", "at_least": "2000000.25"}).at_least == "2000000.25"


@pytest.mark.parametrize("at_least", ["-3", "3,5", "three", "1e3", ".5", ""])
def test_goal_target_that_is_not_a_plain_decimal_is_refused(at_least: str) -> None:
    assert "should match pattern" in refused(GoalIn, {"metric": "spend", "at_least": at_least})


def test_goal_of_a_tier_with_at_least_is_refused() -> None:
    assert "a tier goal has no at_least" in refused(GoalIn, {"metric": "tier", "tier": "gold", "at_least": "1"})


def test_goal_of_a_tier_without_the_tier_is_refused() -> None:
    assert "a tier goal names the tier" in refused(GoalIn, {"metric": "tier"})


def test_goal_naming_a_tier_key_that_is_not_a_key_is_refused() -> None:
    assert "should match pattern" in refused(GoalIn, {"metric": "tier", "tier": "Gold Tier"})


@pytest.mark.parametrize("metric, extra", [("categories", {}), ("referrals", {}), ("events", {"event_type": "review"})])
def test_goal_with_a_category_is_refused_unless_it_counts_purchases_or_spend(metric: str, extra: dict[str, str]) -> None:
    body = {"metric": metric, "at_least": "2", "category": "coffee", **extra}
    assert "category applies to purchases and spend goals" in refused(GoalIn, body)


def test_goal_of_events_without_event_type_is_refused() -> None:
    assert "an events goal names event_type" in refused(GoalIn, {"metric": "events", "at_least": "2"})


def test_goal_with_event_type_on_another_metric_is_refused() -> None:
    assert "event_type applies to events goals" in refused(GoalIn, {"metric": "purchases", "at_least": "2", "event_type": "review"})


@pytest.mark.parametrize("metric", ["spend", "categories", "referrals"])
def test_goal_with_min_amount_is_refused_unless_it_counts_purchases(metric: str) -> None:
    assert "min_amount applies to purchases goals" in refused(GoalIn, {"metric": metric, "at_least": "2", "min_amount": "10.00"})


def test_goal_with_a_tier_on_another_metric_is_refused() -> None:
    assert "tier applies to tier goals" in refused(GoalIn, {"metric": "purchases", "at_least": "2", "tier": "gold"})


def test_goal_of_an_unknown_metric_or_an_unknown_field_is_refused() -> None:
    assert "Input should be" in refused(GoalIn, {"metric": "visits", "at_least": "2"})
    assert "Extra inputs are not permitted" in refused(GoalIn, {"metric": "purchases", "at_least": "2", "within_days": 7})


# StreakIn --------------------------------------------------------------------------------------


def test_streak_milestones_are_kept_shortest_first() -> None:
    made = StreakIn.model_validate(streak(milestones=[{"length": 8, "points": 80}, {"length": 2, "points": 20},
                                                      {"length": 4, "points": 40, "reward_key": "free-coffee"}]))
    assert [(m.length, m.points, m.reward_key) for m in made.milestones] == [(2, 20, None), (4, 40, "free-coffee"), (8, 80, None)]
    assert (made.min_amount, made.starts_at) == ("0", None)


def test_streak_with_two_milestones_of_the_same_length_is_refused() -> None:
    body = streak(milestones=[{"length": 4, "points": 40}, {"length": 2, "points": 20}, {"length": 4, "points": 100}])
    assert "milestone lengths must differ" in refused(StreakIn, body)


def test_streak_without_milestones_is_refused() -> None:
    assert "at least 1 item" in refused(StreakIn, streak(milestones=[]))


def test_streak_with_more_than_twenty_milestones_is_refused() -> None:
    assert "at most 20 items" in refused(StreakIn, streak(milestones=[{"length": n} for n in range(1, 22)]))


@pytest.mark.parametrize("milestone, message", [
    ({"length": 0}, "greater than or equal to 1"),
    ({"length": 1001}, "less than or equal to 1000"),
    ({"length": 2, "points": -5}, "greater than or equal to 0"),
    ({"length": 2, "reward_key": "Free Coffee"}, "should match pattern"),
])
def test_streak_milestone_out_of_bounds_is_refused(milestone: dict[str, Any], message: str) -> None:
    assert message in refused(StreakIn, streak(milestones=[milestone]))


@pytest.mark.parametrize("period", ["day", "year", "Week"])
def test_streak_of_a_period_other_than_week_or_month_is_refused(period: str) -> None:
    assert "Input should be 'week' or 'month'" in refused(StreakIn, streak(period=period))


def test_streak_with_a_negative_min_amount_is_refused() -> None:
    assert "should match pattern" in refused(StreakIn, streak(min_amount="-5.00"))


def test_streak_starting_at_a_time_without_a_zone_is_refused() -> None:
    assert "timezone info" in refused(StreakIn, streak(starts_at="2026-03-01T09:00:00"))


# ChallengeIn -----------------------------------------------------------------------------------


def test_challenge_with_a_window_and_a_counting_goal_is_accepted() -> None:
    made = ChallengeIn.model_validate(challenge())
    assert (made.ends_at - made.starts_at, made.opt_in, made.goal.at_least) == (timedelta(days=30), False, "3")


def test_challenge_that_ends_before_it_starts_is_refused() -> None:
    body = challenge(ends_at=(START - timedelta(seconds=1)).isoformat())
    assert "ends_at must be after starts_at" in refused(ChallengeIn, body)


def test_challenge_that_ends_as_it_starts_is_refused() -> None:
    assert "ends_at must be after starts_at" in refused(ChallengeIn, challenge(ends_at=START.isoformat()))


def test_challenge_window_is_compared_as_instants_not_local_times() -> None:
    # 11:00 in Riyadh is 08:00 UTC: before a 09:00 UTC start, though the local hour is later.
    assert "ends_at must be after starts_at" in refused(ChallengeIn, challenge(ends_at="2026-03-01T11:00:00+03:00"))
    assert ChallengeIn.model_validate(challenge(ends_at="2026-03-01T12:30:00+03:00")).ends_at > START


def test_challenge_with_a_tier_goal_is_refused() -> None:
    assert "a challenge cannot have a tier goal" in refused(ChallengeIn, challenge(goal={"metric": "tier", "tier": "gold"}))


def test_challenge_with_an_invalid_goal_names_the_goal_not_the_window() -> None:
    message = refused(ChallengeIn, challenge(goal={"metric": "purchases", "at_least": "1.5"}))
    assert "a purchases goal counts" in message and "ends_at" not in message
