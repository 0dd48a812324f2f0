"""The line under an offer: a habit is said only when the member's own days show it (half of the last twelve
of one weekday, or four days in those weeks), in Arabic or English."""

from __future__ import annotations

from datetime import date, timedelta

from wafa.offers import reasons

TODAY = date(2026, 12, 8)  # a Tuesday


def fridays(n: int) -> set[date]:
    last = TODAY - timedelta(days=(TODAY.weekday() - 4) % 7 or 7)
    return {last - timedelta(weeks=k) for k in range(n)}


def test_half_of_the_last_twelve_fridays_is_most_fridays() -> None:
    found = reasons.habit("coffee", fridays(6), today=TODAY)
    assert found == reasons.Habit("coffee", 4)
    assert reasons.of_habit(found, "en") == "You buy coffee on most Fridays"
    assert reasons.of_habit(found, "ar") == "تشتري coffee في معظم أيام الجمعة"


def test_fewer_fridays_but_four_days_is_often_and_three_days_is_nothing() -> None:
    assert reasons.habit("tea", fridays(5), today=TODAY) == reasons.Habit("tea", None)
    assert reasons.of_habit(reasons.Habit("tea", None), "en") == "You often buy tea"
    assert reasons.habit("tea", fridays(3), today=TODAY) is None


def test_days_outside_the_twelve_weeks_and_today_do_not_count() -> None:
    old = {TODAY - timedelta(weeks=13, days=k) for k in range(0, 70, 7)}
    assert reasons.habit("cake", old | {TODAY}, today=TODAY) is None


def test_every_reason_has_both_languages_with_the_same_placeholders() -> None:
    import string

    for key, texts in reasons.TEXTS.items():
        fields = [{f for _, f, _, _ in string.Formatter().parse(texts[lang]) if f} for lang in ("en", "ar")]
        assert fields[0] == fields[1], key
