"""`wafa stores ...`: add or change a tenant's stores from a CSV file, and list them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from wafa.cli.common import JsonOption, TenantOption, emit, err, failures, out, tenant_id_of, usage
from wafa.clock import SystemClock
from wafa.db import session_factory, unit_of_work

stores_app = typer.Typer(help="Stores members check in at: their place, time zone and opening hours.", no_args_is_help=True)


@stores_app.command("import")
def import_stores(
    file: Path = typer.Argument(..., help="a UTF-8 CSV file: code,name_en,name_ar,latitude,longitude,timezone,radius_m,hours "
                                          "(hours like \"mon-fri 08:00-22:00; sat 10:00-23:00; sun closed\")"),
    tenant: str = TenantOption,
    as_json: bool = JsonOption,
) -> None:
    """Add each row's store, or change the store with its code to the row's values. All or nothing: with one bad
    row nothing is written, and every bad row is listed by its line (the header is line 1)."""
    from wafa.errors import InvalidInput
    from wafa.stores import imports
    from wafa.tenants import audit

    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise usage(f"cannot read {file}: {exc}") from None
    with failures():
        now = SystemClock().now()

        def progress(done: int, total: int) -> None:
            if done == total or done % 500 == 0:
                err.print(f"{done}/{total} stores", highlight=False)

        try:
            with unit_of_work(session_factory()) as session:
                tenant_id = tenant_id_of(session, slug=tenant)
                result = imports.import_csv(session, tenant_id=tenant_id, text=text, now=now, progress=progress)
                audit.record(session, tenant_id=tenant_id, user_id=None, actor="cli", action="stores.imported",
                             details={"created": result.created, "updated": result.updated, "codes": result.codes[:200], "file": file.name}, now=now)
        except InvalidInput as exc:
            for error in exc.extra.get("errors", []):
                err.print(f"{error['field']}: {error['reason']}", highlight=False)
            raise
        data: dict[str, Any] = result.model_dump()
        emit(data, as_json=as_json, human=lambda: out.print(f"{result.created} stores added, {result.updated} changed", highlight=False))


@stores_app.command("list")
def list_stores(tenant: str = TenantOption, as_json: bool = JsonOption) -> None:
    """Every store of the tenant, in the order they were added, with its hours."""
    from wafa.stores import hours, service

    with failures():
        with unit_of_work(session_factory()) as session:
            tenant_id = tenant_id_of(session, slug=tenant)
            rows = []
            after = None
            while True:
                page = service.list_(session, tenant_id=tenant_id, after_id=after, limit=500)
                rows += [{"code": s.code, "name_en": s.name_en, "name_ar": s.name_ar, "latitude": s.latitude, "longitude": s.longitude,
                          "timezone": s.timezone, "radius_m": s.radius_m, "hours": hours.to_text(s.hours), "active": s.active} for s in page]
                if len(page) < 500:
                    break
                after = page[-1].id

        def human() -> None:
            table = Table("code", "name", "place", "time zone", "radius", "hours", "active")
            for row in rows:
                table.add_row(str(row["code"]), str(row["name_en"]), f"{row['latitude']:.5f},{row['longitude']:.5f}", str(row["timezone"]),
                              f"{row['radius_m']} m", str(row["hours"]), "yes" if row["active"] else "no")
            out.print(table)

        emit(rows, as_json=as_json, human=human)
