"""`wafa totals`: the running totals tiers and goals read (points earned, purchases kept, per member and day)."""

from __future__ import annotations

import typer

from wafa.cli.common import JsonOption, TenantOption, emit, failures, out, tenant_id_of
from wafa.db import session_factory, unit_of_work
from wafa.events import category_totals, purchase_totals
from wafa.ledger import earned

totals_app = typer.Typer(help="Running totals per member and day (what tiers and goals read instead of history).", no_args_is_help=True)


@totals_app.command("verify")
def totals_verify(
    tenant: str | None = typer.Option(None, "--tenant", envvar="WAFA_TENANT", help="one tenant only (default: all)"),
    as_json: bool = JsonOption,
) -> None:
    """Recompute every member's points earned and purchases kept per day (and per category) from the ledger and the orders,
    and compare them with the totals kept. Exit 1 if any differ (`wafa totals rebuild` repairs them)."""
    with failures(), session_factory()() as session:
        tenant_id = tenant_id_of(session, slug=tenant) if tenant else None
        problems = (
            earned.differences(session, tenant_id=tenant_id) + purchase_totals.differences(session, tenant_id=tenant_id)
            + category_totals.differences(session, tenant_id=tenant_id)
        )
        emit({"ok": not problems, "problems": problems[:100], "count": len(problems)}, as_json=as_json, human=lambda: out.print(
            "running totals agree with the ledger and the orders" if not problems else
            f"[red]{len(problems)} days differ[/red]:\n" + "\n".join(problems[:20])
        ))
        if problems:
            raise typer.Exit(1)


@totals_app.command("rebuild")
def totals_rebuild(tenant: str = TenantOption, as_json: bool = JsonOption) -> None:
    """Recompute a tenant's running totals from its ledger and orders, in one transaction. Run it while
    the tenant records nothing (say, after restoring a backup taken before the totals existed)."""
    with failures(), unit_of_work(session_factory()) as session:
        tenant_id = tenant_id_of(session, slug=tenant)
        days = {"points_earned_days": earned.rebuild(session, tenant_id=tenant_id),
                "purchase_days": purchase_totals.rebuild(session, tenant_id=tenant_id),
                "category_days": category_totals.rebuild(session, tenant_id=tenant_id)}
    emit(days, as_json=as_json, human=lambda: out.print(
        f"rebuilt {days['points_earned_days']} days of points earned, {days['purchase_days']} days of purchases "
        f"and {days['category_days']} days of purchases by category"
    ))
