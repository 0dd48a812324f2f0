"""What every `wafa` command shares: the two consoles, the --tenant and --json options, one-line failures
with their exit codes, JSON output, the schema upgrade and the tenant lookup."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from sqlalchemy.orm import Session

from wafa.db import session_factory
from wafa.errors import WafaError

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
TenantOption = typer.Option(..., "--tenant", envvar="WAFA_TENANT", help="the tenant's slug (or WAFA_TENANT)")
JsonOption = typer.Option(False, "--json", help="print machine-readable JSON on stdout")


@contextmanager
def failures() -> Iterator[None]:
    """Expected failures end the command with a one-line reason and exit code 1."""
    try:
        yield
    except (typer.Exit, typer.BadParameter):
        raise
    except WafaError as exc:
        err.print(f"[red]error:[/red] {exc.detail}")
        raise typer.Exit(1) from None
    except Exception as exc:  # an unreachable database, a bad URL: say what, not where
        if os.environ.get("WAFA_DEBUG"):
            raise
        err.print(f"[red]error:[/red] {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
        raise typer.Exit(1) from None


def bad_usage(exc: ValidationError) -> typer.Exit:
    """Report the first validation error of a pydantic ValidationError; exit code 2."""
    first = exc.errors()[0]
    err.print(f"[red]error:[/red] {'.'.join(str(p) for p in first['loc'])}: {first['msg']}")
    return typer.Exit(2)


def usage(message: str) -> typer.Exit:
    """Report a one-line bad-usage reason, printed as plain text; exit code 2."""
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False)
    return typer.Exit(2)


def emit(data: Any, *, as_json: bool, human: Callable[[], None]) -> None:
    """Print `data` as one line of JSON on stdout, or call `human` to print it for people."""
    if as_json:
        sys.stdout.write(json.dumps(data, default=str, ensure_ascii=False) + "\n")
    else:
        human()


def upgrade_schema() -> None:
    """Create or migrate the database's schema to the latest version."""
    from wafa.migrate import upgrade

    upgrade(session_factory().kw["bind"])


def tenant_id_of(session: Session, *, slug: str) -> int:
    """The id of the tenant with this slug (NotFound: no such tenant)."""
    from wafa.tenants import service as tenants

    return tenants.get_by_slug_or_raise(session, slug=slug).id
