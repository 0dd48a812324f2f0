"""`wafa rules`: list and show a tenant's earning rules, and simulate what an event would earn."""

from __future__ import annotations

import json
import sys

import typer
from rich.table import Table

from wafa.cli.common import JsonOption, TenantOption, bad_usage, emit, failures, out, tenant_id_of
from wafa.clock import SystemClock
from wafa.db import session_factory

rules_app = typer.Typer(help="Earning rules and promotions.", no_args_is_help=True)


@rules_app.command("list")
def rules_list(
    tenant: str = TenantOption,
    status: str | None = typer.Option(None, "--status", help="draft, active, paused or ended"),
    as_json: bool = JsonOption,
) -> None:
    """List a tenant's rules with their current versions."""
    from wafa.rules import service as rules

    with failures(), session_factory()() as session:
        rows = [
            {"id": rule.id, "version": version.version, "status": rule.status, "name_en": version.definition["name_en"],
             "name_ar": version.definition["name_ar"], "trigger": version.definition["trigger"],
             "priority": version.definition["priority"], "stackable": version.definition["stackable"]}
            for rule, version in rules.list_(session, tenant_id=tenant_id_of(session, slug=tenant), status=status, limit=10_000)
        ]

        def human() -> None:
            table = Table("id", "v", "status", "trigger", "priority", "stacks", "name")
            for row in rows:
                table.add_row(str(row["id"]), str(row["version"]), row["status"], row["trigger"], str(row["priority"]),
                              "yes" if row["stackable"] else "exclusive", f"{row['name_en']} / {row['name_ar']}")
            out.print(table)

        emit(rows, as_json=as_json, human=human)


@rules_app.command("show")
def rules_show(rule_id: int = typer.Argument(..., help="the rule's id"), tenant: str = TenantOption) -> None:
    """Print a rule's current version as JSON."""
    from wafa.rules import service as rules

    with failures(), session_factory()() as session:
        rule, version = rules.get_or_raise(session, tenant_id=tenant_id_of(session, slug=tenant), rule_id=rule_id)
        sys.stdout.write(json.dumps({"id": rule.id, "version": version.version, "status": rule.status,
                                     "definition": version.definition}, ensure_ascii=False, indent=2) + "\n")


@rules_app.command("simulate")
def rules_simulate(
    event_file: typer.FileText = typer.Argument(
        ..., help="a purchase or a custom event as the API takes it (JSON file, or - for stdin)"
    ),
    tenant: str = TenantOption,
    as_json: bool = JsonOption,
) -> None:
    """What a purchase or a custom event would earn now, rule by rule, without writing anything."""
    from pydantic import TypeAdapter, ValidationError

    from wafa.events import service as events
    from wafa.events.schemas import SimulatedEventIn

    try:
        event_in = TypeAdapter(SimulatedEventIn).validate_json(event_file.read())
    except ValidationError as exc:
        raise bad_usage(exc) from None
    with failures(), session_factory()() as session:
        result = events.simulate(session, tenant_id=tenant_id_of(session, slug=tenant), event_in=event_in, now=SystemClock().now())
        emit(result.model_dump(mode="json"), as_json=as_json, human=lambda: out.print(
            f"base {result.base_points} points\n" + "".join(f"{award.line}\n" for award in result.awards)
            + f"total {result.total_points} points"
        ))
