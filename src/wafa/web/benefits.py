"""Benefit flags of tiers and paid plans as people read them: the well-known ones are named by the
message catalog, a program's own ones by the names it gave them (tenants.benefit_names), and any other
key a system set through the API reads as its key with the underscores turned into spaces."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from babel.lists import format_list

from wafa.web.i18n import Lang
from wafa.web.messages import N_

# Flags a retail programme commonly grants, in the order the forms offer them.
WELL_KNOWN: dict[str, str] = {
    "free_delivery": N_("Free delivery"),
    "priority_service": N_("Priority service"),
    "birthday_gift": N_("Birthday gift"),
    "early_access": N_("Early access to sales"),
    "free_gift_wrapping": N_("Free gift wrapping"),
    "extended_returns": N_("Extended returns"),
    "free_alterations": N_("Free alterations"),
    "personal_shopper": N_("Personal shopper"),
    "exclusive_events": N_("Invitations to exclusive events"),
    "lounge_access": N_("Lounge access"),
    "free_parking": N_("Free parking"),
}


@dataclass(frozen=True, slots=True)
class Choice:
    """One benefit a form offers: its flag and its name in the page's language."""

    key: str
    label: str


def label(key: str, lang: Lang, own: Mapping[str, Mapping[str, str]] | None = None) -> str:
    """A flag's name in `lang`: the program's own name first, then the catalog's, then the key made readable."""
    named = (own or {}).get(key)
    if named:
        return lang.pick(dict(named))
    if key in WELL_KNOWN:
        return lang.gettext(WELL_KNOWN[key])
    return key.replace("_", " ").replace("-", " ")


def labels(keys: Iterable[str] | None, lang: Lang, own: Mapping[str, Mapping[str, str]] | None = None) -> list[str]:
    return [label(key, lang, own) for key in keys or []]


def listed(parts: Iterable[str], lang: Lang) -> str:
    """Benefits as one phrase in `lang` ("×1.25 points, 200 welcome points, and Free delivery")."""
    found = [p for p in parts if p]
    return format_list(found, locale=lang.code) if found else ""


def choices(lang: Lang, own: Mapping[str, Mapping[str, str]] | None = None, used: Iterable[str] = ()) -> list[Choice]:
    """Every benefit a form offers: the well-known ones, the program's own, then flags in use that neither names."""
    keys = list(WELL_KNOWN)
    for key in [*(own or {}), *used]:
        if key not in keys:
            keys.append(key)
    return [Choice(key, label(key, lang, own)) for key in keys]


def key_for(name_en: str) -> str:
    """The flag of a new benefit, from its English name ("Valet parking" -> "valet_parking"); empty if it has no Latin letter or digit."""
    ascii_name = unicodedata.normalize("NFKD", name_en).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", ascii_name.lower()).strip("_")[:64]
