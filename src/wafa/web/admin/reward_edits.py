"""A reward's editor against what it opened with: the values the form shows (kept in hidden `was-` fields),
and the changes a save makes, each field compared with what the person saw, never with what is stored
now. So redemptions made while the form was open are kept (a typed stock moves the stock by what the
person typed), a colleague's change to another field is kept, and a targeting the person did not touch is
never rewritten (a key the program does not know stays until the person unticks it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wafa.analytics.audiences import Choice
from wafa.money import to_major
from wafa.rewards.models import Reward
from wafa.web.admin import program_fields as read
from wafa.web.admin.forms import FormError, Problem, text, whole
from wafa.web.messages import N_
from wafa.web.pages import local_parts

if TYPE_CHECKING:
    from wafa.web.admin.catalog import Targets

TARGETING = ("tiers", "segments", "plans")
_TEXTS = ("name_en", "name_ar", "description_en", "description_ar", "image_url", "status")
_NUMBERS = ("points", "money")
_DATES = ("valid_from", "valid_until")
NOT_IN_PROGRAM = N_("Choose from the list: this program has no “%(name)s”.")


def as_offered(keys: list[str] | None, offered: list[Choice]) -> list[str]:
    """Stored keys as the pickers offer them: one written in another case (or a tier or RFM segment by its
    English name, as the domain reads them) as the program's own key; one the program does not have as it
    is, so the picker shows it ticked with a warning instead of silently dropping it."""
    known = {c.name_en.lower(): c.key for c in offered if c.kind in ("tier", "rfm") and c.name_en}
    known |= {c.key.lower(): c.key for c in offered}
    out: list[str] = []
    for key in keys or []:
        found = known.get(str(key).strip().lower(), str(key))
        if found not in out:
            out.append(found)
    return out


def values_of(reward: Reward | None, *, stock: int | None, currency: str, timezone: str, targets: Targets) -> dict[str, Any]:
    """What a reward's form shows, field by field, as the form holds it (the defaults for a new reward)."""
    if reward is None:
        return {"name_en": "", "name_ar": "", "description_en": "", "description_ar": "", "image_url": "", "points": "",
                "money": "", "stock": "", "limit_count": "", "limit_period": "lifetime", "status": "active",
                "tiers": [], "segments": [], "plans": []}
    start, end = local_parts(reward.valid_from, timezone), local_parts(reward.valid_until, timezone, end=True)
    values: dict[str, Any] = {
        "name_en": reward.name_en, "name_ar": reward.name_ar, "description_en": reward.description_en or "",
        "description_ar": reward.description_ar or "", "image_url": reward.image_url or "", "points": str(reward.points),
        "money": to_major(reward.money, currency) if reward.money else "", "limit_count": str(reward.limit_count or ""),
        "limit_period": reward.limit_period or "lifetime", "status": reward.status, "valid_from-date": start[0],
        "valid_from-time": start[1], "valid_until-date": end[0], "valid_until-time": end[1],
        "tiers": as_offered(reward.tiers, targets.tiers), "segments": as_offered(reward.segments, targets.segments),
        "plans": as_offered(reward.plans, targets.plans),
    }
    if reward.kind != "voucher":  # a voucher's stock is its uploaded codes: the form has no stock field
        values["stock"] = "" if stock is None else str(stock)
    return values


def _plain(raw: str) -> str:
    # Browsers send a textarea's (and a hidden field's) line breaks as CRLF.
    return raw.replace("\r\n", "\n").strip()


def touched(form: Any, before: dict[str, Any], name: str, *, number: bool = False) -> bool:
    """Whether the person changed field `name` from what the form opened with."""
    typed, was = _plain(text(form, name)), _plain(str(before.get(name) or ""))
    return typed != was and not (number and read.same_number(typed, was))


def _targeting(typed: dict[str, list[str]], before: dict[str, Any], current: dict[str, Any], targets: Targets) -> dict[str, Any]:
    """Each list the person changed: what is stored now, with what they ticked added and what they unticked
    removed; a key the program does not have that is still in it is refused next to the list."""
    out: dict[str, Any] = {}
    for name in TARGETING:
        if set(typed[name]) == set(before[name]):
            continue
        merged = read.merged_flags(current[name], before[name], typed[name])
        known = {c.key for c in getattr(targets, name)}
        stray = next((key for key in merged if key not in known), None)
        if stray is not None:
            raise FormError(fields={name: Problem(NOT_IN_PROGRAM, {"name": stray})})
        out[name] = merged
    return out


def changes(form: Any, reward: Reward, data: dict[str, Any], *, current: dict[str, Any], stock: int | None, targets: Targets) -> dict:
    """What a save changes of the reward: only the fields the person changed from what the form opened with
    (`data`: the form read as the domain's input; `current`: values_of the reward as it is now)."""
    before = read.opened_with(form, current)
    out: dict[str, Any] = {name: data[name] for name in _TEXTS if touched(form, before, name)}
    out |= {name: data[name] for name in _NUMBERS if touched(form, before, name, number=True)}
    out |= {name: data[name] for name in _DATES if touched(form, before, f"{name}-date") or touched(form, before, f"{name}-time")}
    if touched(form, before, "limit_count", number=True) or touched(form, before, "limit_period"):
        out["limit"] = data["limit"]
    out |= _targeting({name: data[name] for name in TARGETING}, before, current, targets)
    if "stock" in current and touched(form, before, "stock", number=True):
        if data.get("stock") is not None and data["stock"] < 0:
            raise FormError(fields={"stock": Problem(N_("Enter %(ge)s or more."), {"ge": 0})})
        out |= _stock(data.get("stock"), whole(str(before.get("stock") or "")), stock)
    return out


def _stock(typed: int | None, opened: int | None, now: int | None) -> dict[str, Any]:
    """The stock a save leaves: emptied lifts the limit; otherwise what the person typed moves the stock
    left now by as much as they moved it from what they saw (3 redeemed meanwhile stay redeemed)."""
    if typed is None:
        return {"unlimited_stock": True}
    if opened is None or now is None:  # it was unlimited when opened, or is now: the count typed
        return {"stock": typed}
    return {"stock": max(0, now + typed - opened)}
