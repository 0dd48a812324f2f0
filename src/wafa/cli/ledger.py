"""`wafa ledger`: checks on the points ledger."""

from __future__ import annotations

import typer
from rich.progress import Progress

from wafa.cli.common import JsonOption, emit, err, failures, out, tenant_id_of
from wafa.db import session_factory

ledger_app = typer.Typer(help="The points ledger.", no_args_is_help=True)


@ledger_app.command("verify")
def ledger_verify(
    tenant: str | None = typer.Option(None, "--tenant", envvar="WAFA_TENANT", help="one tenant only (default: all)"),
    as_json: bool = JsonOption,
) -> None:
    """Re-add every posting, re-walk every hash chain, re-derive every balance. Exit 1 if anything is off."""
    from wafa.ledger.verify import verify

    with failures(), session_factory()() as session:
        tenant_id = tenant_id_of(session, slug=tenant) if tenant else None
        with Progress(console=err, transient=True) as bar:
            task = bar.add_task("verifying postings", total=None)
            report = verify(session, tenant_id=tenant_id, progress=lambda done, total: bar.update(task, completed=done, total=total))
        data = {"ok": report.ok, "entries": report.entries, "postings": report.postings, "accounts": report.accounts,
                "lots": report.lots, "first_broken_entry": report.first_broken_entry, "problems": report.problems[:100]}
        emit(data, as_json=as_json, human=lambda: out.print(
            f"ledger intact: {report.entries} entries, {report.postings} postings, {report.accounts} member accounts, {report.lots} lots"
            if report.ok else
            f"[red]ledger broken[/red] (first broken entry: {report.first_broken_entry}):\n" + "\n".join(report.problems[:20])
        ))
        if not report.ok:
            raise typer.Exit(1)
