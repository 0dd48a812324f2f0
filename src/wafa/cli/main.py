"""The `wafa` command: the root app, and where each noun's commands (one module each in wafa.cli) are mounted."""

from __future__ import annotations

import typer

from wafa.cli.admin import admin_app
from wafa.cli.analytics import clv_app, kpi
from wafa.cli.coalition import coalition_app, partner_app
from wafa.cli.db import db_app
from wafa.cli.experiments import experiments_app
from wafa.cli.imports import export_app, import_app
from wafa.cli.jobs import jobs_app, worker
from wafa.cli.ledger import ledger_app
from wafa.cli.offers import offers_app
from wafa.cli.program import program_app
from wafa.cli.rewards import rewards_app
from wafa.cli.rules import rules_app
from wafa.cli.serve import demo, serve
from wafa.cli.stores import stores_app
from wafa.cli.tenants import key_app, tenant_app
from wafa.cli.totals import totals_app

app = typer.Typer(help="Wafa, the loyalty platform. Database from WAFA_DATABASE_URL (default: ./wafa.db).", no_args_is_help=True)

# In this order: `wafa --help` lists the commands, then the groups, as they are registered.
app.command("worker")(worker)
app.command("kpi")(kpi)
app.command("demo")(demo)
app.command("serve")(serve)
for group, name in (
    (db_app, "db"), (tenant_app, "tenant"), (key_app, "apikey"), (program_app, "program"), (jobs_app, "jobs"),
    (ledger_app, "ledger"), (totals_app, "totals"), (rules_app, "rules"), (clv_app, "clv"), (rewards_app, "rewards"), (import_app, "import"),
    (export_app, "export"), (admin_app, "admin"), (coalition_app, "coalition"), (partner_app, "partner"),
    (offers_app, "offers"), (stores_app, "stores"), (experiments_app, "experiments"),
):
    app.add_typer(group, name=name)

if __name__ == "__main__":
    app()
