"""`wafa db`: the database's schema."""

from __future__ import annotations

import typer

from wafa.cli.common import err, failures, out, upgrade_schema
from wafa.db import session_factory

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema to the latest version."""
    with failures():
        upgrade_schema()
        err.print("database is up to date")


@db_app.command("current")
def db_current() -> None:
    """Print the schema revision of the database."""
    from wafa.migrate import current

    with failures():
        out.print(current(session_factory().kw["bind"]) or "(empty database)")
