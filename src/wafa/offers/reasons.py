"""The one line a member reads under an offer: why it is for them, in Arabic or English.

The most personal true thing is said: a habit found in the member's own purchases of the offer's category
("you buy coffee on most Fridays": on at least half of the last twelve Fridays; "you often buy coffee":
on four days or more in those twelve weeks), else how the member was chosen (the model, a segment, a tier,
a list). Pure functions: the caller reads the days."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

WEEKS = 12
WEEKDAYS = {
    "en": ("Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays"),
    "ar": ("الاثنين", "الثلاثاء", "الأربعاء", "الخميس", "الجمعة", "السبت", "الأحد"),
}
TEXTS = {
    "weekday": {"en": "You buy {category} on most {weekday}", "ar": "تشتري {category} في معظم أيام {weekday}"},
    "often": {"en": "You often buy {category}", "ar": "تشتري {category} كثيرًا"},
    "model": {"en": "Members with tastes like yours often choose {name}", "ar": "الأعضاء الذين يشاركونك ذوقك يختارون غالبًا {name}"},
    # A segment's name is the marketing team's word (and may be "at risk"): the member reads a neutral line.
    "segment": {"en": "Chosen for members like you", "ar": "اخترناه لأعضاء مثلك"},
    "tier": {"en": "A thank-you to our {tier} members", "ar": "شكرًا لأعضائنا في مستوى {tier}"},
    "list": {"en": "Picked for you", "ar": "اخترناه لك"},
    "experiment": {"en": "Picked for you", "ar": "اخترناه لك"},
    "all": {"en": "For every member", "ar": "لكل الأعضاء"},
    "store": {"en": "At {store} while you are there", "ar": "في {store} أثناء وجودك هناك"},
}


@dataclass(frozen=True, slots=True)
class Habit:
    category: str
    weekday: int | None  # 0 = Monday; None: often, on no one day


def window(today: date) -> tuple[date, date]:
    """The twelve whole weeks before today."""
    return today - timedelta(weeks=WEEKS), today


def habit(category: str, days: set[date], *, today: date) -> Habit | None:
    """The member's habit with this category over the twelve weeks before today, if they have one."""
    since, until = window(today)
    inside = [day for day in days if since <= day < until]
    if not inside:
        return None
    weekday, count = Counter(day.weekday() for day in inside).most_common(1)[0]
    if count * 2 >= WEEKS:  # at least half of the twelve such weekdays
        return Habit(category, weekday)
    return Habit(category, None) if len(inside) >= 4 else None


def say(key: str, lang: str, **values: str) -> str:
    return TEXTS[key]["ar" if lang == "ar" else "en"].format(**values)


def of_habit(found: Habit, lang: str) -> str:
    if found.weekday is None:
        return say("often", lang, category=found.category)
    return say("weekday", lang, category=found.category, weekday=WEEKDAYS["ar" if lang == "ar" else "en"][found.weekday])
