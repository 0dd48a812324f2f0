"""Message wordings: every built-in one renders with its kind's example values in both languages on
every channel; a tenant's wording is checked before it is saved (unknown variables, lengths, empty
bodies); the sandbox keeps templates away from Python objects; Arabic comes out as it went in."""

from __future__ import annotations

from typing import Any

import pytest

from wafa.errors import InvalidInput
from wafa.messages import templates

EVERY_WORDING = [(k, c, lang) for k in templates.KINDS for c in templates.CHANNELS for lang in templates.LANGUAGES]


class _NoCustomWordings:
    """A session where the tenant has no wording of its own: the built-in one is used."""

    def execute(self, *_: Any) -> _NoCustomWordings:
        return self

    def scalar_one_or_none(self) -> None:
        return None


def built_in(kind: str, channel: str, language: str) -> templates.Wording:
    return templates.wording(_NoCustomWordings(), tenant_id=1, kind=kind, channel=channel, language=language)  # type: ignore[arg-type]


@pytest.mark.parametrize(("kind", "channel", "language"), EVERY_WORDING)
def test_every_built_in_wording_renders_with_the_examples(kind: str, channel: str, language: str) -> None:
    words = built_in(kind, channel, language)
    assert words.custom is False
    assert (words.subject is not None) == (channel == "email")
    templates.check(kind, channel, words.subject, words.body)
    values = templates.example_variables(kind)
    for text in filter(None, (words.subject, words.body)):
        out = templates.render(text, values)
        assert out and "{{" not in out and "{%" not in out and "}}" not in out
    if words.subject is not None:
        assert "\n" not in templates.render(words.subject, values)


def test_built_in_wordings_differ_by_language() -> None:
    for kind in templates.KINDS:
        if kind != "campaign":  # the campaign's own wording replaces it
            assert built_in(kind, "sms", "ar").body != built_in(kind, "sms", "en").body


def test_an_unknown_language_falls_back_to_arabic() -> None:
    assert built_in("welcome", "email", "fr") == built_in("welcome", "email", "ar")


def test_example_values_hold_every_variable_of_the_kind() -> None:
    for kind, own in templates.VARIABLES.items():
        values = templates.example_variables(kind)
        assert set(own) <= set(values) and set(templates.COMMON) <= set(values) and "unsubscribe_url" in values


@pytest.mark.parametrize(("kind", "subject", "body", "field"), [
    ("welcome", None, "Hello {{ nope }}", "body"),
    ("welcome", None, "You have {{ points }} points", "body"),  # a variable of another kind
    ("welcome", "Hi {{ nope }}", "Hello", "subject"),
    ("points_expiring", None, "{{ points }} {{ expires_on|nope_filter }}", "body"),
    # Not variables at all, though Jinja2 lets every template see them.
    ("welcome", None, "{{ lipsum(1) }}", "body"),
    ("welcome", None, "{{ range(3)|list }}", "body"),
    # Hidden in a branch the example values skip (days is 7), the typo would reach members with one day left.
    ("points_expiring", None, "{% if days == 1 %}Last day, {{ nmae }}!{% endif %}{{ points }} expire on {{ expires_on }}", "body"),
], ids=["unknown", "another-kinds", "in-subject", "unknown-filter", "global-lipsum", "global-range", "hidden-in-a-branch"])
def test_check_refuses_unknown_variables(kind: str, subject: str | None, body: str, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        templates.check(kind, "sms" if subject is None else "email", subject, body)
    assert refused.value.field == field


@pytest.mark.parametrize(("channel", "subject", "body", "field"), [
    ("sms", None, "", "body"),
    ("sms", None, "  \n\t ", "body"),
    ("sms", None, "x" * (templates.BODY_LIMIT + 1), "body"),
    ("email", "x" * (templates.SUBJECT_LIMIT + 1), "Hello", "subject"),
    ("email", None, "Hello", "subject"),
    ("email", "   ", "Hello", "subject"),
    ("fax", None, "Hello", "channel"),
])
def test_check_refuses_empty_and_too_long_wordings(channel: str, subject: str | None, body: str, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        templates.check("welcome", channel, subject, body)
    assert refused.value.field == field


def test_check_takes_wordings_at_the_limits() -> None:
    templates.check("welcome", "email", "s" * templates.SUBJECT_LIMIT, "b" * templates.BODY_LIMIT)
    templates.check("welcome", "sms", "a subject is ignored on SMS", "{{ name }}")


def test_check_refuses_a_wording_whose_message_comes_out_too_long() -> None:
    # The limit is on what members receive: a short loop must not make a 50,000-character SMS (nor a
    # nested one keep the request that saves it busy for minutes).
    body = "{% for i in range(2000) %}{{ card_url }} {% endfor %}"
    assert len(body) < templates.BODY_LIMIT
    with pytest.raises(InvalidInput) as refused:
        templates.check("welcome", "sms", None, body)
    assert refused.value.field == "body"


def test_check_refuses_an_unknown_kind() -> None:
    with pytest.raises(InvalidInput) as refused:
        templates.check("no_such_kind", "sms", None, "Hello")
    assert refused.value.field == "kind"


@pytest.mark.parametrize("body", [
    "{{ ''.__class__.__mro__ }}",
    "{{ name.__class__.__base__.__subclasses__() }}",
    "{{ name.__len__() }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ joiner.__call__.__func__.__globals__ }}",
    "{{ '{0.__class__}'.format(name) }}",
    "{{ name|attr('__class__') }}",
    "{{ (name ~ '')['__class__'] }}",
])
def test_the_sandbox_refuses_dunder_attributes(body: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        templates.render(body, templates.example_variables("welcome"))
    assert refused.value.field == "body" and refused.value.detail.startswith("template: ")
    with pytest.raises(InvalidInput):
        templates.check("welcome", "sms", None, body)


def test_a_syntax_error_names_the_field() -> None:
    with pytest.raises(InvalidInput) as refused:
        templates.render("Hi {{ name ", {"name": "Sara"}, field="subject")
    assert refused.value.field == "subject"


def test_rendering_is_plain_text() -> None:
    # Not HTML-escaped: e-mails are text, SMS are text.
    assert templates.render("{{ name }} & co", {"name": "<Sara & Omar>"}) == "<Sara & Omar> & co"


def test_arabic_comes_out_as_it_went_in() -> None:
    wording = "مرحباً {{ name }}، تعذّر دفع {{ amount }} لعضوية «{{ plan }}». رصيدك ١٬٢٤٠ نقطة ✨"
    templates.check("payment_failed", "sms", None, wording)
    out = templates.render(wording, {"name": "سارة", "amount": "٤٩٫٠٠ ر.س", "plan": "نادي القهوة"})
    assert out == "مرحباً سارة، تعذّر دفع ٤٩٫٠٠ ر.س لعضوية «نادي القهوة». رصيدك ١٬٢٤٠ نقطة ✨"
    assert out.encode("utf-8").decode("utf-8") == out
    built = templates.render(built_in("welcome", "email", "ar").subject or "", {**templates.example_variables("welcome"), "program": "قهوة ديمو"})
    assert built == "أهلاً بك في قهوة ديمو"
