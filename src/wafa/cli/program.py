"""`wafa program`: a tenant's program settings (earn rates, rounding, pending window, expiry, names)."""

from __future__ import annotations

from typing import Any

import typer

from wafa.cli.common import JsonOption, TenantOption, bad_usage, emit, failures, out, tenant_id_of
from wafa.clock import SystemClock
from wafa.db import session_factory, unit_of_work

program_app = typer.Typer(help="A tenant's program settings.", no_args_is_help=True)


def _parse_expiry(value: str) -> dict[str, Any]:
    """The expiry policy `none`, `days:N`, `end_of_month:N` or `end_of_year:N` as the program update takes it."""
    policy, _, periods = value.partition(":")
    if policy not in ("none", "days", "end_of_month", "end_of_year") or (policy != "none" and not periods.isdigit()):
        raise typer.BadParameter("use none, days:N, end_of_month:N or end_of_year:N")
    return {"policy": policy, "periods": int(periods or 0)}


@program_app.command("show")
def program_show(tenant: str = TenantOption, as_json: bool = JsonOption) -> None:
    """Print the program's settings."""
    from wafa.programs import service as programs

    with failures(), session_factory()() as session:
        data = programs.to_read(programs.get(session, tenant_id=tenant_id_of(session, slug=tenant), fresh=True)).model_dump(mode="json")
        emit(data, as_json=as_json, human=lambda: out.print_json(data=data))


@program_app.command("set")
def program_set(
    tenant: str = TenantOption,
    earn_rate: list[str] = typer.Option(
        [], "--earn-rate", help="CUR=RATE points per unit, repeatable: --earn-rate SAR=1 --earn-rate JOD=10 (replaces the list)"
    ),
    base_currency: str | None = typer.Option(None, "--base-currency", help="ISO 4217 code"),
    rounding: str | None = typer.Option(None, "--rounding", help="floor (default), half_up or ceil"),
    pending_days: int | None = typer.Option(None, "--pending-days", help="days points stay pending (the return window)"),
    expiry: str | None = typer.Option(None, "--expiry", help="none | days:N | end_of_month:N | end_of_year:N"),
    timezone: str | None = typer.Option(None, "--timezone", help="IANA zone for dates and period ends, e.g. Asia/Riyadh"),
    region: str | None = typer.Option(None, "--region", help="ISO country for reading national phone numbers"),
    points_name_en: str | None = typer.Option(None, "--points-name-en", help="the points currency's name in English"),
    points_name_ar: str | None = typer.Option(None, "--points-name-ar", help="the points currency's name in Arabic"),
    min_redemption: int | None = typer.Option(None, "--min-redemption", help="smallest number of points a redemption may spend"),
    redemption_step: int | None = typer.Option(None, "--redemption-step", help="redemptions spend whole multiples of this"),
    point_cost: str | None = typer.Option(
        None, "--point-cost", help='what one point costs the program in the base currency, e.g. "0.05" (values the liability)'
    ),
    return_restores: str | None = typer.Option(
        None, "--return-restores", help="proportional (default): returns give back wallet money and coupons; none: they don't"
    ),
    numerals: str | None = typer.Option(None, "--numerals", help="digits the console and portal show: latn (0-9) or arab (٠-٩)"),
    as_json: bool = JsonOption,
) -> None:
    """Change the program's settings."""
    from pydantic import ValidationError

    from wafa.programs import service as programs
    from wafa.programs.schemas import ProgramUpdate

    changes: dict[str, Any] = {}
    if earn_rate:
        rates = {}
        for pair in earn_rate:
            code, sep, rate = pair.partition("=")
            if not sep:
                raise typer.BadParameter(f"{pair!r}: use CUR=RATE", param_hint="--earn-rate")
            rates[code] = rate
        changes["earn_rates"] = rates
    if expiry is not None:
        changes["expiry"] = _parse_expiry(expiry)
    if points_name_en or points_name_ar:
        changes["points_name"] = {"en": points_name_en, "ar": points_name_ar}
    for key, value in (("base_currency", base_currency), ("rounding", rounding), ("pending_days", pending_days),
                       ("timezone", timezone), ("default_region", region), ("min_redemption", min_redemption),
                       ("redemption_step", redemption_step), ("point_cost", point_cost),
                       ("return_restores", return_restores), ("numerals", numerals)):
        if value is not None:
            changes[key] = value
    with failures():
        with unit_of_work(session_factory()) as session:
            tenant_id = tenant_id_of(session, slug=tenant)
            if "points_name" in changes:
                current = programs.get(session, tenant_id=tenant_id, fresh=True)
                changes["points_name"] = {"en": points_name_en or current.points_name_en, "ar": points_name_ar or current.points_name_ar}
            try:
                update = ProgramUpdate(**changes)
            except ValidationError as exc:
                raise bad_usage(exc) from None
            config = programs.update_settings(session, tenant_id=tenant_id, program_in=update, now=SystemClock().now())
        data = programs.to_read(config).model_dump(mode="json")
        emit(data, as_json=as_json, human=lambda: out.print_json(data=data))
