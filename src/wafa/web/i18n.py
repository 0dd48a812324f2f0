"""Languages of the pages: message catalogs (gettext .po files read with Babel), and numbers, money
and dates formatted per locale, in Latin or Arabic-Indic digits as the tenant chooses."""

from __future__ import annotations

import datetime as _dt  # for annotations inside Lang, whose methods `date` and `datetime` shadow the names
import gettext
import io
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal, format_percent
from hijridate import Gregorian
from markupsafe import Markup

from wafa.money import to_major

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("ar", "en")
DEFAULT = "ar"
_ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


@lru_cache
def translations(language: str) -> gettext.NullTranslations:
    """The catalog of a language, compiled in memory from its .po file (no build step, no .mo in git)."""
    po = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    if not po.exists():
        return gettext.NullTranslations()
    with po.open("rb") as fp:
        catalog = read_po(fp, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


@dataclass(frozen=True, slots=True)
class Lang:
    """The language, digits and time zone one page is rendered in."""

    code: str = DEFAULT
    numerals: str = "latn"
    timezone: str = "UTC"

    @property
    def rtl(self) -> bool:
        return Locale.parse(self.code).character_order == "right-to-left"

    @property
    def direction(self) -> str:
        return "rtl" if self.rtl else "ltr"

    @property
    def other(self) -> str:
        return "en" if self.code == "ar" else "ar"

    def gettext(self, message: str) -> str:
        return translations(self.code).gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return translations(self.code).ngettext(singular, plural, n)

    def _digits(self, text: str) -> str:
        return text.translate(_ARABIC_INDIC) if self.numerals == "arab" else text

    @property
    def _system(self) -> str:
        return "arab" if self.numerals == "arab" else "latn"

    def number(self, value: float | Decimal | None) -> str:
        if value is None:
            return "—"
        return self._digits(format_decimal(value, locale=self.code, numbering_system=self._system))

    def percent(self, value: float | None, digits: int = 1) -> str:
        if value is None:
            return "—"
        pattern = "#,##0." + "0" * digits + "%" if digits else "#,##0%"
        return self._digits(format_percent(value, format=pattern, locale=self.code, numbering_system=self._system))

    def money(self, amount: Decimal | str | int | None, currency: str, *, minor: bool = False) -> str:
        """Money in a currency; `minor`: the amount is in minor units (integers, as stored)."""
        if amount is None:
            return "—"
        major = to_major(int(amount), currency) if minor else Decimal(str(amount))
        return self._digits(format_currency(Decimal(major), currency, locale=self.code, numbering_system=self._system))

    def date(self, value: date | datetime | None, fmt: str = "medium") -> str:
        if value is None:
            return "—"
        if isinstance(value, datetime):
            value = value.astimezone(ZoneInfo(self.timezone)).date()
        return self._digits(format_date(value, format=fmt, locale=self.code))

    def datetime(self, value: datetime | None, fmt: str = "medium") -> str:
        if value is None:
            return "—"
        return self._digits(format_datetime(value, format=fmt, tzinfo=ZoneInfo(self.timezone), locale=self.code))

    def hijri(self, value: _dt.date | str | None) -> str:
        """The Hijri (Umm al-Qura) date of a Gregorian day, e.g. "26 جمادى الآخرة 1448 هـ"; empty if none."""
        if not value:
            return ""
        try:
            day = value if isinstance(value, date) else date.fromisoformat(str(value))
            hijri = Gregorian(day.year, day.month, day.day).to_hijri()
        except (ValueError, OverflowError):
            return ""
        month = hijri.month_name("ar" if self.code == "ar" else "en")
        return self._digits(f"{hijri.day} {month} {hijri.year}") + (" هـ" if self.code == "ar" else " AH")

    def digits(self, value: object) -> str:
        """Any text with its digits in the tenant's numerals (codes, ids)."""
        return self._digits(str(value))

    def name(self, thing: object, field: str = "name") -> str:
        """A thing's name (or other field) in this language, falling back to the other one."""
        mine = getattr(thing, f"{field}_{self.code}", None)
        return mine or getattr(thing, f"{field}_{self.other}", None) or ""

    def pick(self, pair: dict[str, str] | None) -> str:
        """One of {"en": ..., "ar": ...} in this language."""
        if not pair:
            return ""
        return pair.get(self.code) or pair.get(self.other) or ""


_current: ContextVar[Lang] = ContextVar("wafa_lang", default=Lang())  # noqa: B039  Lang is a frozen dataclass


def use(lang: Lang) -> None:
    """Make `lang` the language of what is rendered next in this context."""
    _current.set(lang)


def current() -> Lang:
    return _current.get()


def gettext_(message: str) -> str:
    return current().gettext(message)


def ngettext_(singular: str, plural: str, n: int) -> str:
    return current().ngettext(singular, plural, n)


def pick_language(requested: str | None, cookie: str | None, preferred: str | None = None) -> str:
    """The page's language: ?lang=, else the one chosen before (cookie), else the person's own (a
    member's profile), else Arabic: the default whatever the browser says."""
    for choice in (requested, cookie, preferred):
        if choice in LANGUAGES:
            return choice
    return DEFAULT


def safe(text: str) -> Markup:
    return Markup(text)  # noqa: S704  for markup the code itself wrote, never for what a user typed
