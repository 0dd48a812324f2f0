"""`wafa clv` (fitting the lifetime-value models) and `wafa kpi` (the program's KPIs for a period)."""

from __future__ import annotations

import json

import typer
from rich.progress import Progress
from rich.table import Table

from wafa.cli.common import JsonOption, TenantOption, emit, err, failures, out, tenant_id_of
from wafa.clock import SystemClock
from wafa.db import session_factory, unit_of_work

clv_app = typer.Typer(help="Customer lifetime value (BG/NBD and Gamma-Gamma).", no_args_is_help=True)


@clv_app.command("fit")
def clv_fit(
    tenant: str = TenantOption,
    calibration_end: str = typer.Option(..., "--calibration-end", help="the last local day the models learn from (YYYY-MM-DD)"),
    unit: str = typer.Option("week", "--unit", help="day or week"),
    holdout_end: str | None = typer.Option(None, "--holdout-end", help="compare predicted and actual purchases up to this day"),
) -> None:
    """Fit the lifetime-value models to the purchase history, keep the fit, print its parameters and diagnostics as JSON."""
    from datetime import date

    from wafa.analytics import lifetime_value

    try:
        calibration = date.fromisoformat(calibration_end)
        holdout = date.fromisoformat(holdout_end) if holdout_end else None
    except ValueError as exc:
        err.print(f"[red]error:[/red] dates are YYYY-MM-DD: {exc}")
        raise typer.Exit(2) from None
    if unit not in ("day", "week"):
        err.print("[red]error:[/red] --unit: use day or week")
        raise typer.Exit(2)
    with failures(), unit_of_work(session_factory()) as session, Progress(console=err, transient=True) as bar:
        task = bar.add_task("reading purchases", total=None)
        model = lifetime_value.fit(
            session, tenant_id=tenant_id_of(session, slug=tenant), calibration_end=calibration, unit=unit, holdout_end=holdout,
            now=SystemClock().now(), progress=lambda seen: bar.update(task, completed=seen),
        )
        data = {
            "model_id": model.id, "calibration_end": str(model.calibration_end), "holdout_end": str(holdout) if holdout else None,
            "unit": model.unit, "bgnbd": model.bgnbd, "gamma_gamma": model.gamma_gamma, "diagnostics": model.diagnostics,
        }
    out.print_json(json.dumps(data))


def kpi(
    tenant: str = TenantOption,
    from_: str = typer.Option(..., "--from", help="first local day (YYYY-MM-DD)"),
    to: str = typer.Option(..., "--to", help="last local day, inclusive"),
    compare: bool = typer.Option(True, "--compare/--no-compare", help="also the period before, and the change"),
    as_json: bool = JsonOption,
) -> None:
    """The program's KPIs for a period (definitions in the README)."""
    from datetime import date

    from wafa.analytics import kpis

    try:
        first, last = date.fromisoformat(from_), date.fromisoformat(to)
    except ValueError as exc:
        err.print(f"[red]error:[/red] dates are YYYY-MM-DD: {exc}")
        raise typer.Exit(2) from None
    with failures(), session_factory()() as session:
        data = kpis.report(session, tenant_id=tenant_id_of(session, slug=tenant), first=first, last=last, compare=compare)

    def human() -> None:
        table = Table("KPI", "this period", *(("previous", "change") if compare else ()))
        for key, value in data["period"].items():
            row = [key, "" if value is None else str(value)]
            if compare:
                before, change = data["previous"].get(key), data["change"].get(key)
                row += ["" if before is None else str(before), "" if change is None else f"{change:+.1%}"]
            table.add_row(*row)
        out.print(table)

    emit(data, as_json=as_json, human=human)
