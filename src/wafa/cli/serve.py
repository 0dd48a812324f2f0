"""`wafa serve` (the API, console and portal) and `wafa demo` (a demo tenant with months of history)."""

from __future__ import annotations

import os

import typer
from rich.progress import Progress

from wafa.cli.common import JsonOption, emit, err, failures, out, upgrade_schema
from wafa.clock import SystemClock
from wafa.config import get_settings
from wafa.db import session_factory


def demo(
    members: int = typer.Option(200, "--members", min=1, help="how many members to enrol"),
    months: int = typer.Option(6, "--months", min=0, help="months of purchase history"),
    slug: str = typer.Option("demo", "--slug", help="the demo tenant's slug"),
    as_json: bool = JsonOption,
) -> None:
    """Create the demo tenant with members and months of purchases (kept if it exists), and print an admin key."""
    from wafa import demo as demo_data
    from wafa import demo_coalition

    with failures():
        upgrade_schema()
        with Progress(console=err, transient=True) as bar:
            task = bar.add_task("seeding demo history (days)", total=None)
            result = demo_data.seed(
                session_factory(), now=SystemClock().now(), slug=slug, members_count=members, months=months,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
        emit(result.__dict__, as_json=as_json, human=lambda: out.print(
            f"Demo tenant [bold]{result.tenant_slug}[/bold]: {result.members} new members, {result.purchases} purchases, "
            f"{result.returns} returns, {result.reviews} reviews, {result.redemptions} redemptions.\nAdmin API key: {result.api_key}\n"
            f"Console: /admin, organisation {result.tenant_slug}, {result.admin_email} / {result.admin_password}\n"
            f"Member portal: /m/{result.tenant_slug} (sign in as member0@example.com; with no SMTP server set, the code is in this log)"
            + ("\n" + "\n".join(demo_coalition.sign_in_lines(result.coalition)) if result.coalition else "")
        ))


def serve(
    host: str = typer.Option(None, "--host", help="address to listen on (default WAFA_HOST, 127.0.0.1)"),
    port: int = typer.Option(None, "--port", help="port (default WAFA_PORT, 8000)"),
    workers: int = typer.Option(None, "--workers", help="server processes (default WAFA_WORKERS, 1)"),
    with_demo: bool = typer.Option(False, "--demo", help="seed the demo tenant first and print its API key"),
) -> None:
    """Migrate the database, then serve the API (and, with --demo, a demo program)."""
    import uvicorn

    settings = get_settings()
    host = host or settings.host
    port = port or settings.port
    workers = workers or settings.workers
    with failures():
        upgrade_schema()
        if with_demo:
            demo(members=200, months=6, slug="demo", as_json=False)
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Each process counts into files here, so /metrics adds up every process's figures.
        import tempfile

        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="wafa-metrics-")
    out.print(f"Wafa is serving on http://{host}:{port}  (API docs: http://{host}:{port}/v1/docs)")
    uvicorn.run("wafa.api.main:app", host=host, port=port, workers=workers, log_level=settings.log_level,
                access_log=False, proxy_headers=True)
