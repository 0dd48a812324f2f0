"""Every string a person reads comes from the message catalog, and Arabic has all of them."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

WEB = Path(__file__).resolve().parents[3] / "src" / "wafa" / "web"
METHODS = [("**.py", "python"), ("templates/**.html", "jinja2")]
OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n", "trim_blocks": "true", "lstrip_blocks": "true"}}
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
# Language names written in their own language on the switch link: deliberately not translated.
OWN_NAMES = {"English", "العربية"}


def _extracted() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(WEB), method_map=METHODS, options_map=OPTIONS, keywords=KEYWORDS,
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def _arabic() -> dict[str, object]:
    with (WEB / "locale" / "ar" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale="ar")
    return {m.id[0] if isinstance(m.id, tuple) else m.id: m.string for m in catalog if m.id}


def test_every_string_of_the_pages_has_an_arabic_translation() -> None:
    """A string added to a template or a page without its translation fails here (extract, update, translate)."""
    arabic = _arabic()
    missing = sorted(m for m in _extracted() if not arabic.get(m) or (isinstance(arabic[m], tuple) and not all(arabic[m])))
    assert not missing, f"{len(missing)} strings lack an Arabic translation, e.g. {missing[:10]}"


def test_no_arabic_translation_is_a_fuzzy_guess() -> None:
    """pybabel update guesses fuzzy translations from similar strings; the pages never show those."""
    with (WEB / "locale" / "ar" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        fuzzy = [m.id for m in read_po(handle, locale="ar") if m.id and "fuzzy" in m.flags]
    assert not fuzzy, fuzzy


def test_arabic_translations_keep_their_placeholders() -> None:
    """A translation that drops or renames %(name)s would fail when the page renders."""
    for message, translated in _arabic().items():
        for text in translated if isinstance(translated, tuple) else (translated,):
            if text:
                assert set(re.findall(r"%\((\w+)\)s", message)) == set(re.findall(r"%\((\w+)\)s", text)), message


def test_templates_hold_no_text_outside_the_catalog() -> None:
    """Text between tags, and the attributes people read (labels, placeholders, titles), go through _()."""
    offenders = []
    for path in sorted((WEB / "templates").rglob("*.html")):
        source = path.read_text(encoding="utf-8")
        # A block that only names a CSS class of <body> is not text.
        source = re.sub(r"\{%\s*block body_class\s*%\}.*?\{%\s*endblock\s*%\}", " ", source)
        stripped = re.sub(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", " ", source, flags=re.DOTALL)
        for attribute in re.findall(r'(?:aria-label|placeholder|title|alt)="([^"]*)"', stripped):
            if re.search(r"[A-Za-z\u0600-\u06FF]{2,}", attribute) and not re.fullmatch(r"[\dT:+\-]+", attribute):
                offenders.append(f"{path.name}: attribute {attribute!r}")
        # Drop whole <script>/<style> bodies and tags, keep the text between them.
        text = re.sub(r"<(script|style)\b.*?</\1>", " ", stripped, flags=re.DOTALL)
        text = re.sub(r"<[^>]*>", " ", text)
        for word in re.findall(r"[A-Za-z\u0600-\u06FF][A-Za-z\u0600-\u06FF'.]+", text):
            if word not in OWN_NAMES:
                offenders.append(f"{path.name}: {word!r}")
    assert not offenders, "hard-coded text in templates: " + "; ".join(offenders[:20])
