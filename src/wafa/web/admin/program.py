"""Program settings in the console (with the organisation's names), and the mount point of the tier and
paid plan editors (tier_pages, plan_pages)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from zoneinfo import available_timezones

import phonenumbers
from babel import Locale
from babel.dates import get_timezone_location
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from wafa.api.deps import Context
from wafa.errors import InvalidInput
from wafa.money import precision
from wafa.programs import service as programs
from wafa.programs.schemas import ProgramUpdate
from wafa.tenants import service as tenants
from wafa.tenants.schemas import TenantUpdate
from wafa.web.admin import plan_pages, tier_pages
from wafa.web.admin import program_fields as read
from wafa.web.admin.auth import PATH, Admin, current_admin
from wafa.web.admin.forms import Problems, apply_change, checked, text, valid
from wafa.web.messages import N_
from wafa.web.pages import render

router = APIRouter(prefix=PATH, include_in_schema=False)
TIMEZONES = sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/", "posix/", "right/")))
RATES = N_("Write each currency as CODE=points for one unit, such as SAR=1, USD=3.75.")
# The settings form's fields that are parts of one field of ProgramUpdate.
_PARTS = {("points_name", "en"): "points_name_en", ("points_name", "ar"): "points_name_ar",
          ("expiry", "policy"): "expiry_policy", ("expiry", "periods"): "expiry_periods"}


@lru_cache(maxsize=8)
def timezone_choices(language: str) -> list[tuple[str, str]]:
    """Every time zone as (zone, its city in `language` and the zone's name), in the zone names' order."""
    return [(z, f"{get_timezone_location(z, locale=language, return_city=True)} — {z}") for z in TIMEZONES]


@lru_cache(maxsize=8)
def region_choices(language: str) -> list[tuple[str, str]]:
    """Every phone numbering region as (code, the country's name in `language` and its code), by name."""
    names = Locale.parse(language).territories
    found = [(code, f"{names.get(code, code)} ({code})") for code in phonenumbers.SUPPORTED_REGIONS]
    return sorted(found, key=lambda pair: pair[1])


def _settings_page(request: Request, admin: Admin, problems: Problems | None = None, done: str | None = None) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        program = programs.get(session, tenant_id=admin.tenant_id, fresh=True)
        tenant = tenants.get_or_raise(session, tenant_id=admin.tenant_id)
    return render(request, "admin/settings.html", lang=admin.lang, me=admin, section="settings", p=program, tenant=tenant,
                  timezones=timezone_choices(admin.lang.code), regions=region_choices(admin.lang.code), problems=problems,
                  done=done, status=422 if problems else 200)


@router.get("/settings")
def settings(request: Request, done: str | None = None, admin: Admin = Depends(current_admin)) -> Response:
    return _settings_page(request, admin, done=done)


def _earn_rates(form: Any, fields: read.Fields) -> dict[str, str] | None:
    """ "SAR=1, USD=3.75" (commas, Arabic commas or lines between) as {"SAR": "1", "USD": "3.75"}."""
    typed = text(form, "earn_rates").replace("،", ",").replace("\n", ",")
    rates: dict[str, str] = {}
    for part in (p.strip() for p in typed.split(",")):
        if not part:
            continue
        code, sign, rate = part.partition("=")
        value = read.number(rate)
        if not sign or value is None or not 0 <= value <= 1_000_000:
            fields.add("earn_rates", RATES)
            return None
        try:
            precision(code.strip())
        except InvalidInput:
            fields.add("earn_rates", N_("%(code)s is not a currency code such as SAR or USD."), code=code.strip())
            return None
        rates[code.strip().upper()] = format(value, "f")
    if not rates:
        fields.add("earn_rates", RATES)
    return rates or None


def _point_cost(form: Any, fields: read.Fields) -> str | None:
    value = read.number(text(form, "point_cost") or "0")
    if value is None or value < 0 or value >= 10**9 or -value.as_tuple().exponent > 8:  # type: ignore[operator]
        fields.add("point_cost", read.AMOUNT, example="0.05")
        return None
    return format(value, "f")


def _choice(form: Any, fields: read.Fields, name: str, allowed: list[str] | tuple[str, ...]) -> str | None:
    value = text(form, name)
    if value not in allowed:
        fields.add(name, N_("Choose one of the options."))
        return None
    return value


# The field of ProgramUpdate each field of the settings form fills in, and the tenant's names' fields.
_FILLS = {
    "points_name_en": "points_name", "points_name_ar": "points_name", "earn_rates": "earn_rates", "rounding": "rounding",
    "pending_days": "pending_days", "expiry_policy": "expiry", "expiry_periods": "expiry", "timezone": "timezone",
    "default_region": "default_region", "block_redemptions_in_debt": "block_redemptions_in_debt", "min_redemption": "min_redemption",
    "redemption_step": "redemption_step", "point_cost": "point_cost", "return_restores": "return_restores", "numerals": "numerals",
    "reenrol_debt": "reenrol_debt", "tier_return_policy": "tier_return_policy", "tier_return_days": "tier_return_days",
}
_NAMES = {"name": "tenant_name", "name_ar": "tenant_name_ar"}


def _touched(form: Any, name: str) -> bool:
    """Whether the person changed field `name` from what the form opened with (its hidden `was-` field). A
    form sent without them (an older page) counts every field: it is compared with the settings now."""
    if not text(form, "was"):
        return True
    if name == "block_redemptions_in_debt":
        return checked(form, name) != checked(form, f"was-{name}")
    typed, was = text(form, name), text(form, f"was-{name}")
    return typed != was and not read.same_number(typed, was)


@router.post("/settings")
async def save_settings(request: Request, admin: Admin = Depends(current_admin)) -> Response:
    def work(session: Any, form: Any, ctx: Context) -> str:
        fields = read.Fields()
        program = programs.get(session, tenant_id=admin.tenant_id, fresh=True)
        # The organisation's names, when the form carries them (an older form did not).
        names = {key: read.name(form, fields, name, required=key == "name") for key, name in _NAMES.items() if name in form}
        data = {
            "points_name": {"en": read.name(form, fields, "points_name_en", most=64), "ar": read.name(form, fields, "points_name_ar", most=64)},
            "earn_rates": _earn_rates(form, fields), "rounding": _choice(form, fields, "rounding", ("floor", "half_up", "ceil")),
            "pending_days": read.count(form, fields, "pending_days", most=365, empty=None),
            "expiry": {"policy": _choice(form, fields, "expiry_policy", ("none", "days", "end_of_month", "end_of_year")),
                       "periods": read.count(form, fields, "expiry_periods", most=3650)},
            "timezone": _choice(form, fields, "timezone", [*TIMEZONES, "UTC", program.timezone]),
            "default_region": _choice(form, fields, "default_region", sorted(phonenumbers.SUPPORTED_REGIONS)),
            "block_redemptions_in_debt": checked(form, "block_redemptions_in_debt"),
            "min_redemption": read.count(form, fields, "min_redemption", least=1, empty=None),
            "redemption_step": read.count(form, fields, "redemption_step", least=1, most=10**6, empty=None),
            "point_cost": _point_cost(form, fields), "return_restores": _choice(form, fields, "return_restores", ("proportional", "none")),
            "numerals": _choice(form, fields, "numerals", ("latn", "arab")),
        }
        # The fraud controls, where the form carries them (an older form did not).
        if "reenrol_debt" in form:
            data["reenrol_debt"] = _choice(form, fields, "reenrol_debt", ("carry", "refuse", "ignore"))
        if "tier_return_policy" in form:
            data["tier_return_policy"] = _choice(form, fields, "tier_return_policy", ("keep", "demote"))
        if "tier_return_days" in form:
            data["tier_return_days"] = read.count(form, fields, "tier_return_days", least=1, most=365, empty=None)
        fields.check()
        asked = valid(ProgramUpdate, data, fields=lambda loc: _PARTS.get(tuple(loc[:2])) or (str(loc[0]) if loc else None))
        # Only the fields the person changed from what the form opened with, and only where they differ from
        # the settings now: a field they did not touch never overwrites a colleague's change made meanwhile.
        now_set = programs.to_read(program).model_dump(mode="json")
        typed = asked.model_dump(mode="json", exclude_none=True)
        touched = {key for name, key in _FILLS.items() if _touched(form, name)}
        if "points_name" in touched:
            typed["points_name"] = {lang: typed["points_name"][lang] if _touched(form, f"points_name_{lang}") else now_set["points_name"][lang]
                                    for lang in ("en", "ar")}
        changed = {k: v for k, v in typed.items() if k in touched and now_set.get(k) != v}
        if changed:
            changes = ProgramUpdate.model_validate(changed)
            programs.update_settings(session, tenant_id=admin.tenant_id, program_in=changes, now=ctx.now())
            admin.record(session, request, action="program.updated", target="program", details=changed, now=ctx.now())
        tenant = tenants.get_or_raise(session, tenant_id=admin.tenant_id)
        renamed = {k: v for k, v in names.items() if (getattr(tenant, k) or "") != v and _touched(form, _NAMES[k])}
        if renamed:
            tenants.update(session, tenant_id=admin.tenant_id, tenant_in=TenantUpdate(**renamed))
            admin.record(session, request, action="tenant.updated", target="tenant", details=renamed, now=ctx.now())
        return f"{PATH}/settings?done=saved"

    return await apply_change(request, admin, work, lambda problems: _settings_page(request, admin, problems))


router.include_router(tier_pages.router)
router.include_router(plan_pages.router)
