"""How pages write numbers, money and dates: Arabic-Indic digits when the program asks for them, Latin
otherwise; money stored in minor units shown in major units; times in the program's time zone; and
which language a page is in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from wafa.web.i18n import DEFAULT, LANGUAGES, Lang, pick_language

LATIN = set("0123456789")
ARABIC_INDIC = set("٠١٢٣٤٥٦٧٨٩")
LATE_EVENING = datetime(2026, 3, 1, 22, 30, tzinfo=UTC)  # already 2 March in Riyadh (UTC+3)


def digits_of(text: str) -> set[str]:
    return {ch for ch in text if ch in LATIN | ARABIC_INDIC}


# --- digits ----------------------------------------------------------------------------------------


def test_numbers_in_arabic_indic_digits_when_the_program_says_arab() -> None:
    """numerals="arab": 1,234,567 is written ١٬٢٣٤٬٥٦٧, with no Latin digit left."""
    assert Lang("ar", "arab").number(1234567) == "١٬٢٣٤٬٥٦٧"
    assert Lang("ar", "arab").number(Decimal("1234.5")) == "١٬٢٣٤٫٥"
    assert digits_of(Lang("en", "arab").number(9876543210)) <= ARABIC_INDIC


def test_numbers_in_latin_digits_otherwise() -> None:
    """numerals="latn" (the default), or anything else: Latin digits, in Arabic pages too."""
    assert Lang("en", "latn").number(1234567) == "1,234,567"
    assert digits_of(Lang("ar", "latn").number(1234567)) == set("1234567")
    assert Lang("ar").numerals == "latn" and digits_of(Lang("ar").number(42)) == {"4", "2"}
    assert digits_of(Lang("ar", "other").number(42)) == {"4", "2"}


def test_percentages_follow_the_numerals() -> None:
    """A rate of 0.256 reads 25.6% (one decimal by default, none when asked), in the program's digits."""
    assert Lang("en").percent(0.256) == "25.6%"
    assert Lang("en").percent(0.25, 0) == "25%"
    assert Lang("ar", "arab").percent(0.256) == "٢٥٫٦%"


def test_digits_rewrites_codes_and_ids_but_not_letters() -> None:
    """Coupon codes and ids keep their letters; only the digits change, and only for "arab"."""
    assert Lang("ar", "arab").digits("WAFA-2026") == "WAFA-٢٠٢٦"
    assert Lang("ar", "latn").digits("WAFA-2026") == "WAFA-2026"
    assert Lang("ar", "arab").digits(507) == "٥٠٧"


def test_missing_figures_read_as_a_dash() -> None:
    """None (no figure for the period) is shown as an em dash, whatever the kind of value."""
    lang = Lang("ar", "arab")
    assert {lang.number(None), lang.percent(None), lang.money(None, "SAR"), lang.date(None), lang.datetime(None)} == {"—"}


# --- money -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("minor", "currency", "shown"), [
    (12345, "SAR", "123.45"),   # halalas: two decimals
    (12345, "KWD", "12.345"),   # fils: three decimals
    (12345, "JPY", "12,345"),   # yen: no minor unit
    (5, "SAR", "0.05"),
    (-250, "SAR", "2.50"),
])
def test_money_in_minor_units_is_shown_in_major_units(minor: int, currency: str, shown: str) -> None:
    """Amounts stored as integers of the currency's minor unit are shown with the currency's own decimals."""
    text = Lang("en").money(minor, currency, minor=True)
    assert shown in text
    assert currency in text or "¥" in text


def test_money_in_major_units_keeps_the_currencys_decimals() -> None:
    """A major amount (as the KPIs give it) is shown with all the currency's decimals."""
    assert "12.500" in Lang("en").money("12.5", "KWD")
    assert "450.00" in Lang("en").money(Decimal(450), "SAR")


def test_money_in_arabic_indic_digits() -> None:
    """In an "arab" program, 123.45 SAR reads ١٢٣٫٤٥ with the Arabic decimal separator and the riyal's sign."""
    text = Lang("ar", "arab").money(12345, "SAR", minor=True)
    assert "١٢٣٫٤٥" in text and "ر.س." in text
    assert not digits_of(text) & LATIN


# --- dates and times ---------------------------------------------------------------------------------


def test_dates_are_the_programs_local_day() -> None:
    """22:30 UTC on 1 March is 2 March in Riyadh: the page shows the program's day, not UTC's."""
    assert Lang("en", "latn", "Asia/Riyadh").date(LATE_EVENING) == "Mar 2, 2026"
    assert Lang("en", "latn", "UTC").date(LATE_EVENING) == "Mar 1, 2026"
    assert Lang("en", "latn", "America/New_York").date(datetime(2026, 3, 2, 3, 0, tzinfo=UTC)) == "Mar 1, 2026"


def test_a_plain_date_is_not_moved_by_the_time_zone() -> None:
    """A calendar date (a birthday, a period's first day) is shown as it is, in any time zone."""
    assert Lang("en", "latn", "Pacific/Kiritimati").date(date(2026, 3, 1)) == "Mar 1, 2026"


def test_date_times_are_in_the_programs_time_zone_and_digits() -> None:
    """A moment is shown at the program's local hour, in its digits."""
    assert "1:30" in Lang("en", "latn", "Asia/Riyadh").datetime(LATE_EVENING, "short")
    assert "10:30" in Lang("en", "latn", "UTC").datetime(LATE_EVENING, "short")
    riyadh_ar = Lang("ar", "arab", "Asia/Riyadh")
    assert "١:٣٠" in riyadh_ar.datetime(LATE_EVENING, "short")
    assert digits_of(riyadh_ar.date(LATE_EVENING)) <= ARABIC_INDIC and "٢٠٢٦" in riyadh_ar.date(LATE_EVENING)


# --- direction and names -------------------------------------------------------------------------------


def test_arabic_pages_are_right_to_left_and_english_left_to_right() -> None:
    """The page's dir attribute and the language switch's other language."""
    assert (Lang("ar").rtl, Lang("ar").direction, Lang("ar").other) == (True, "rtl", "en")
    assert (Lang("en").rtl, Lang("en").direction, Lang("en").other) == (False, "ltr", "ar")


@dataclass
class Reward:
    name_en: str | None
    name_ar: str | None


def test_names_in_the_pages_language_fall_back_to_the_other() -> None:
    """A reward's name is shown in the page's language, or in the other one when it has none."""
    both = Reward("Free coffee", "قهوة مجانية")
    assert Lang("ar").name(both) == "قهوة مجانية" and Lang("en").name(both) == "Free coffee"
    assert Lang("ar").name(Reward("Free coffee", None)) == "Free coffee"
    assert Lang("en").name(Reward(None, "قهوة مجانية")) == "قهوة مجانية"
    assert Lang("en").pick({"en": "points", "ar": "نقاط"}) == "points" and Lang("ar").pick({"en": "points"}) == "points"
    assert Lang("en").pick(None) == ""


def test_a_message_with_no_translation_is_shown_as_written() -> None:
    """Until a catalog translates a message, the page shows the English source rather than nothing."""
    assert Lang("ar").gettext("A sentence nobody translated") == "A sentence nobody translated"
    assert Lang("en").ngettext("one point", "%(n)s points", 2) == "%(n)s points"


# --- which language --------------------------------------------------------------------------------


def test_the_lang_parameter_wins_over_everything() -> None:
    """?lang= beats the cookie and the member's own language."""
    assert pick_language("en", "ar", "ar") == "en"
    assert pick_language("ar", "en", "en") == "ar"


def test_the_cookie_wins_over_the_members_own_language() -> None:
    """A language chosen on this device (the cookie) beats the member's profile."""
    assert pick_language(None, "en", "ar") == "en"
    assert pick_language(None, "ar", "en") == "ar"


def test_the_members_own_language_comes_next() -> None:
    """With no choice on this device, the member's profile language."""
    assert pick_language(None, None, "en") == "en"


def test_arabic_is_the_default() -> None:
    """Nothing chosen: Arabic, whatever else is around."""
    assert DEFAULT == "ar" and pick_language(None, None, None) == "ar"


@pytest.mark.parametrize("junk", ["fr", "", "EN", "en-US", "ar;q=1", "../en", " en"])
def test_unknown_languages_are_ignored_at_every_level(junk: str) -> None:
    """A language Wafa has no pages in is skipped, and the next choice applies."""
    assert junk not in LANGUAGES
    assert pick_language(junk, "en", None) == "en"
    assert pick_language(None, junk, "en") == "en"
    assert pick_language(junk, junk, junk) == "ar"
