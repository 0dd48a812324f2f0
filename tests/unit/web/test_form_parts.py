"""What a date picker shows for a stored moment, and how a form's problem is said: the console must give
back, unchanged, what was chosen and never let a quoted value become markup."""

from __future__ import annotations

from datetime import UTC, datetime

from markupsafe import Markup

from wafa.web import i18n
from wafa.web.admin.forms import Problem
from wafa.web.i18n import Lang
from wafa.web.pages import TEMPLATES, local_parts, said

RIYADH = "Asia/Riyadh"


def test_an_end_chosen_as_a_day_shows_that_day_again_not_the_next_midnight() -> None:
    """An end date without a time is stored as the next local midnight; showing "1 April 00:00" for a
    chosen "31 March" would make a save of the unchanged form end a day early... or a person 'correct' it."""
    stored = datetime(2026, 3, 31, 21, 0, tzinfo=UTC)  # 1 April 00:00 in Riyadh
    assert local_parts(stored, RIYADH, end=True) == ("2026-03-31", "")
    assert local_parts(stored, RIYADH) == ("2026-04-01", "00:00")


def test_an_end_with_a_time_shows_its_time_with_seconds_when_it_has_some() -> None:
    assert local_parts(datetime(2026, 3, 31, 20, 59, 59, tzinfo=UTC), RIYADH, end=True) == ("2026-03-31", "23:59:59")
    assert local_parts(datetime(2026, 3, 31, 15, 30, tzinfo=UTC), RIYADH) == ("2026-03-31", "18:30")


def test_nothing_stored_shows_an_empty_picker() -> None:
    assert local_parts(None, RIYADH) == ("", "")


def test_a_problem_quoting_what_was_typed_is_text_not_markup() -> None:
    i18n.use(Lang("en"))
    text = said(Problem('no tier "<img src=x onerror=alert(1)>"'))
    assert not isinstance(text, Markup)
    rendered = TEMPLATES.from_string('{% import "admin/_form.html" as f %}{{ f.say(p) }}').render(p=Problem("<b>x</b>"))
    assert "<b>" not in rendered and "&lt;b&gt;" in rendered


def test_a_catalog_problem_is_said_in_the_pages_language_with_its_values() -> None:
    i18n.use(Lang("ar"))
    assert said(Problem("Enter %(ge)s or more.", {"ge": 5})) == "أدخل 5 أو أكثر."
    i18n.use(Lang("en"))
