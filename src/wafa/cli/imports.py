"""The `wafa import` and `wafa export` commands: purchase history in from CSV or Parquet (with a column
mapping for other systems' files), and members, purchases and ledger entries out."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.progress import Progress, TextColumn

from wafa.cli.common import JsonOption, TenantOption, emit, err, failures, out, tenant_id_of, usage
from wafa.clock import SystemClock
from wafa.db import session_factory

import_app = typer.Typer(help="Bulk imports: years of purchase history in one go.", no_args_is_help=True)


def _format(path: Path, given: str | None) -> str:
    """The file format: `--format` if given, else by the file's extension; bad usage if neither csv nor parquet."""
    found = given or ("parquet" if path.suffix.lower() in (".parquet", ".pq") else "csv")
    if found not in ("csv", "parquet"):
        raise usage("--format: use csv or parquet")
    return found


def _mapping(pairs: list[str]) -> dict[str, str]:
    """The `--map FIELD=COLUMN` pairs as {field: column}; bad usage for a malformed pair or an unknown field."""
    from wafa.events.imports import FIELDS

    mapping = {}
    for pair in pairs:
        name, sep, column = pair.partition("=")
        if not sep or not column:
            raise usage(f"--map {pair!r}: use FIELD=COLUMN, e.g. customer_id=CustomerID")
        if name not in FIELDS:
            raise usage(f"--map {pair!r}: the fields are {', '.join(FIELDS)}")
        mapping[name] = column
    return mapping


@import_app.command("purchases")
def import_purchases(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="a CSV (with a header) or Parquet file"),
    tenant: str = TenantOption,
    map_: list[str] = typer.Option([], "--map", help="FIELD=COLUMN for a file whose columns have other names (repeatable)"),
    file_format: str | None = typer.Option(None, "--format", help="csv or parquet (default: by the file's extension)"),
    award: bool = typer.Option(False, "--award", help="award points as live purchases would (rules, tiers): much slower"),
    as_json: bool = JsonOption,
) -> None:
    """Load purchase history: members are enrolled as needed and purchases recorded for analytics; with
    --award, points are awarded too. Importing the same file twice changes nothing. Bad rows are
    reported by line number; good rows still load. Fields: customer_id, date (a day, or a timestamp),
    amount, and optionally currency, order_id, quantity, items (JSON lines), store."""
    from wafa.events import imports

    kind = _format(file, file_format)
    mapping = _mapping(map_)
    now = SystemClock().now()
    started = time.perf_counter()
    with failures():
        factory = session_factory()
        with factory() as session:
            tenant_id = tenant_id_of(session, slug=tenant)
        with Progress(*Progress.get_default_columns(), TextColumn("{task.fields[rate]}"), console=err, transient=not as_json) as bar:
            task = bar.add_task(f"importing {file.name}", total=1000, rate="")

            def batch_done(report: imports.ImportReport) -> None:
                rate = report.rows / (time.perf_counter() - started)
                bar.update(task, rate=f"{report.rows:,} rows, {rate:,.0f} rows/s")

            report = imports.run(
                factory, tenant_id=tenant_id, mapping=mapping, award=award, now=now, first_line=2 if kind == "csv" else 1,
                records=imports.read_records(file, kind, on_progress=lambda permille: bar.update(task, completed=permille)),
                on_batch=batch_done,
            )
            bar.update(task, completed=1000)
    seconds = time.perf_counter() - started
    data = {
        "rows": report.rows, "imported": report.imported, "already_there": report.already, "bad_rows": report.bad_rows,
        "members_enrolled": report.members_enrolled, "awarded_points": report.awarded_points, "seconds": round(seconds, 3),
        "rows_per_second": round(report.rows / seconds) if seconds else None,
        "bad": [{"line": line, "reason": reason} for line, reason in report.bad],
    }
    emit(data, as_json=as_json, human=lambda: _print_report(data))


def _print_report(data: dict[str, Any]) -> None:
    """Print an import's counts on stdout and its first 50 bad rows on stderr."""
    out.print(
        f"{data['rows']} rows: {data['imported']} purchases imported, {data['already_there']} already there, "
        f"{data['bad_rows']} bad; {data['members_enrolled']} members enrolled; {data['rows_per_second']} rows/s"
    )
    for bad in data["bad"][:50]:
        err.print(f"line {bad['line']}: {escape(bad['reason'])}", highlight=False)


export_app = typer.Typer(help="Exports: members, purchases and ledger entries to CSV or Parquet.", no_args_is_help=True)


def _export(what: str, output: Path, tenant: str, file_format: str | None) -> None:
    """Write a tenant's `what` (members, purchases or entries) to `output`, with a progress bar on stderr."""
    from wafa.analytics import exports

    kind = _format(output, file_format)
    with failures(), session_factory()() as session:
        tenant_id = tenant_id_of(session, slug=tenant)
        with Progress(console=err, transient=True) as bar:
            task = bar.add_task(f"exporting {what}", total=None)
            written = exports.write(
                session, tenant_id=tenant_id, what=what, path=output, kind=kind,
                progress=lambda done: bar.update(task, completed=done),
            )
    err.print(f"{written} {what} written to {output}")


def _export_command(what: str, doc: str) -> None:
    """Register `wafa export <what>`, whose help is `doc`."""
    def command(
        output: Path = typer.Option(..., "--output", "-o", help="the file to write (.csv or .parquet)"),
        tenant: str = TenantOption,
        file_format: str | None = typer.Option(None, "--format", help="csv or parquet (default: by the output's extension)"),
    ) -> None:
        _export(what, output, tenant, file_format)

    command.__doc__ = doc
    command.__name__ = f"export_{what}"
    export_app.command(what)(command)


_export_command("members", "Every member: id, external id, name, contacts, locale, birth date, city, status, referral code, enrolled.")
_export_command("purchases", "Every purchase: id, order id, member, time, currency, amount and returned amount, points, channel, store.")
_export_command("entries", "Every ledger entry: id, time, kind, member, points, reason, idempotency key, event, details (JSON).")
