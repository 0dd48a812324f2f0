"""The `wafa` command: serve, worker, jobs, db, tenant, apikey, program, demo, ledger, rules, clv."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from wafa.clock import SystemClock
from wafa.config import get_settings
from wafa.db import session_factory, unit_of_work
from wafa.errors import WafaError

app = typer.Typer(help="Wafa, the loyalty platform. Database from WAFA_DATABASE_URL (default: ./wafa.db).", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
tenant_app = typer.Typer(help="Tenants.", no_args_is_help=True)
key_app = typer.Typer(help="API keys of a tenant.", no_args_is_help=True)
program_app = typer.Typer(help="A tenant's program settings.", no_args_is_help=True)
jobs_app = typer.Typer(help="Scheduled work, one pass at a time (for cron).", no_args_is_help=True)
ledger_app = typer.Typer(help="The points ledger.", no_args_is_help=True)
rules_app = typer.Typer(help="Earning rules and promotions.", no_args_is_help=True)
clv_app = typer.Typer(help="Customer lifetime value (BG/NBD and Gamma-Gamma).", no_args_is_help=True)
for sub, name in ((db_app, "db"), (tenant_app, "tenant"), (key_app, "apikey"), (program_app, "program"), (jobs_app, "jobs"), (ledger_app, "ledger"), (rules_app, "rules"), (clv_app, "clv")):
    app.add_typer(sub, name=name)

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


def bad_usage(exc: Any) -> typer.Exit:
    """Report the first validation error of a pydantic ValidationError; exit code 2."""
    first = exc.errors()[0]
    err.print(f"[red]error:[/red] {'.'.join(str(p) for p in first['loc'])}: {first['msg']}")
    return typer.Exit(2)


def emit(as_json: bool, data: Any, human: Callable[[], None]) -> None:
    if as_json:
        sys.stdout.write(json.dumps(data, default=str, ensure_ascii=False) + "\n")
    else:
        human()


def _factory():  # type: ignore[no-untyped-def]
    return session_factory()


def _upgrade() -> None:
    from wafa.migrate import upgrade

    upgrade(_factory().kw["bind"])


def _tenant_id(session, slug: str) -> int:  # type: ignore[no-untyped-def]
    from wafa.tenants import service as tenants

    return tenants.get_by_slug_or_raise(session, slug=slug).id


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema to the latest version."""
    with failures():
        _upgrade()
        err.print("database is up to date")


@db_app.command("current")
def db_current() -> None:
    """Print the schema revision of the database."""
    from wafa.migrate import current

    with failures():
        out.print(current(_factory().kw["bind"]) or "(empty database)")


@tenant_app.command("create")
def tenant_create(
    name: str = typer.Argument(..., help="the tenant's display name"),
    currency: str = typer.Option(..., "--currency", help="ISO 4217 code of the program's base currency (earns 1 point per unit)"),
    slug: str | None = typer.Option(None, "--slug", help="URL-safe short name (default: from the name)"),
    name_ar: str | None = typer.Option(None, "--name-ar", help="the name pages in Arabic show (default: the name)"),
    as_json: bool = JsonOption,
) -> None:
    """Create a tenant, its program and its first admin API key (printed once)."""
    from wafa.tenants import service as tenants

    with failures():
        _upgrade()
        now = SystemClock().now()
        with unit_of_work(_factory()) as session:
            tenant = tenants.create(session, name=name, currency=currency, slug=slug, name_ar=name_ar, now=now)
            key = tenants.create_key(session, tenant_id=tenant.id, name="first admin key", scopes=["admin"], now=now)
        data = {"tenant": {"id": tenant.id, "slug": tenant.slug, "name": tenant.name, "name_ar": tenant.name_ar},
                "api_key": key.secret, "scopes": key.scopes}
        emit(as_json, data, lambda: out.print(
            f"Created tenant [bold]{tenant.slug}[/bold]. Admin API key (shown once, keep it safe):\n{key.secret}"
        ))


@tenant_app.command("list")
def tenant_list(as_json: bool = JsonOption) -> None:
    """List tenants."""
    from wafa.tenants import service as tenants

    with failures(), _factory()() as session:
        rows = [{"id": t.id, "slug": t.slug, "name": t.name, "name_ar": t.name_ar, "status": t.status} for t in tenants.list_(session)]

        def human() -> None:
            table = Table("id", "slug", "name", "name_ar", "status")
            for row in rows:
                table.add_row(str(row["id"]), row["slug"], row["name"], row["name_ar"] or "", row["status"])
            out.print(table)

        emit(as_json, rows, human)


@tenant_app.command("update")
def tenant_update(
    tenant: str = TenantOption,
    name: str | None = typer.Option(None, "--name", help="a new name (shown in English, and in Arabic without an Arabic name)"),
    name_ar: str | None = typer.Option(None, "--name-ar", help="a new Arabic name (an empty string removes it)"),
    as_json: bool = JsonOption,
) -> None:
    """Rename a tenant in English or Arabic."""
    from pydantic import ValidationError

    from wafa.tenants import service as tenants
    from wafa.tenants.schemas import TenantUpdate

    try:
        changes = TenantUpdate(name=name, name_ar=name_ar)
    except ValidationError as exc:
        raise bad_usage(exc) from None
    with failures():
        with unit_of_work(_factory()) as session:
            found = tenants.update(session, tenant_id=_tenant_id(session, tenant), tenant_in=changes)
            data = {"id": found.id, "slug": found.slug, "name": found.name, "name_ar": found.name_ar}
        emit(as_json, data, lambda: err.print(f"tenant {data['slug']}: {data['name']} / {data['name_ar'] or '—'}"))


@key_app.command("create")
def key_create(
    tenant: str = TenantOption,
    name: str = typer.Option("api key", "--name", help="what the key is for (e.g. 'till 3, Riyadh')"),
    scopes: str = typer.Option("read", "--scopes", help="comma-separated: admin, read, members:write, events:write, redeem"),
    as_json: bool = JsonOption,
) -> None:
    """Create an API key; the secret is printed once."""
    from wafa.tenants import service as tenants

    with failures():
        with unit_of_work(_factory()) as session:
            key = tenants.create_key(
                session, tenant_id=_tenant_id(session, tenant), name=name,
                scopes=[s.strip() for s in scopes.split(",") if s.strip()], now=SystemClock().now(),
            )
        emit(as_json, {"id": key.id, "api_key": key.secret, "scopes": key.scopes}, lambda: out.print(key.secret))


@key_app.command("list")
def key_list(tenant: str = TenantOption, as_json: bool = JsonOption) -> None:
    """List a tenant's API keys (never their secrets)."""
    from wafa.tenants import service as tenants

    with failures(), _factory()() as session:
        rows = [
            {"id": k.id, "name": k.name, "prefix": k.prefix, "scopes": k.scopes, "revoked": k.revoked_at is not None}
            for k in tenants.list_keys(session, tenant_id=_tenant_id(session, tenant))
        ]

        def human() -> None:
            table = Table("id", "name", "prefix", "scopes", "revoked")
            for row in rows:
                table.add_row(str(row["id"]), row["name"], row["prefix"] + "…", ",".join(row["scopes"]), "yes" if row["revoked"] else "")
            out.print(table)

        emit(as_json, rows, human)


@key_app.command("revoke")
def key_revoke(key_id: int = typer.Argument(..., help="the key's id (see `wafa apikey list`)"), tenant: str = TenantOption) -> None:
    """Revoke an API key."""
    from wafa.tenants import service as tenants

    with failures():
        with unit_of_work(_factory()) as session:
            tenants.revoke_key(session, tenant_id=_tenant_id(session, tenant), key_id=key_id, now=SystemClock().now())
        err.print(f"key {key_id} revoked")


def _parse_expiry(value: str) -> dict[str, Any]:
    policy, _, periods = value.partition(":")
    if policy not in ("none", "days", "end_of_month", "end_of_year") or (policy != "none" and not periods.isdigit()):
        raise typer.BadParameter("use none, days:N, end_of_month:N or end_of_year:N")
    return {"policy": policy, "periods": int(periods or 0)}


@program_app.command("show")
def program_show(tenant: str = TenantOption, as_json: bool = JsonOption) -> None:
    """Print the program's settings."""
    from wafa.programs import service as programs

    with failures(), _factory()() as session:
        data = programs.to_read(programs.get(session, tenant_id=_tenant_id(session, tenant), fresh=True)).model_dump(mode="json")
        emit(as_json, data, lambda: out.print_json(data=data))


@program_app.command("set")
def program_set(
    tenant: str = TenantOption,
    earn_rate: list[str] = typer.Option([], "--earn-rate", help="CUR=RATE points per unit, repeatable: --earn-rate SAR=1 --earn-rate JOD=10 (replaces the list)"),
    base_currency: str | None = typer.Option(None, "--base-currency", help="ISO 4217 code"),
    rounding: str | None = typer.Option(None, "--rounding", help="floor (default), half_up or ceil"),
    pending_days: int | None = typer.Option(None, "--pending-days", help="days points stay pending (the return window)"),
    expiry: str | None = typer.Option(None, "--expiry", help="none | days:N | end_of_month:N | end_of_year:N"),
    timezone: str | None = typer.Option(None, "--timezone", help="IANA zone for dates and period ends, e.g. Asia/Riyadh"),
    region: str | None = typer.Option(None, "--region", help="ISO country for reading national phone numbers"),
    points_name_en: str | None = typer.Option(None, "--points-name-en", help="the points currency's name in English"),
    points_name_ar: str | None = typer.Option(None, "--points-name-ar", help="the points currency's name in Arabic"),
    min_redemption: int | None = typer.Option(None, "--min-redemption", help="smallest number of points a redemption may spend"),
    redemption_step: int | None = typer.Option(None, "--redemption-step", help="redemptions spend whole multiples of this"),
    point_cost: str | None = typer.Option(
        None, "--point-cost", help='what one point costs the program in the base currency, e.g. "0.05" (values the liability)'
    ),
    return_restores: str | None = typer.Option(
        None, "--return-restores", help="proportional (default): returns give back wallet money and coupons; none: they don't"
    ),
    numerals: str | None = typer.Option(None, "--numerals", help="digits the console and portal show: latn (0-9) or arab (٠-٩)"),
    as_json: bool = JsonOption,
) -> None:
    """Change the program's settings."""
    from pydantic import ValidationError

    from wafa.programs import service as programs
    from wafa.programs.schemas import ProgramUpdate

    changes: dict[str, Any] = {}
    if earn_rate:
        rates = {}
        for pair in earn_rate:
            code, sep, rate = pair.partition("=")
            if not sep:
                raise typer.BadParameter(f"{pair!r}: use CUR=RATE", param_hint="--earn-rate")
            rates[code] = rate
        changes["earn_rates"] = rates
    if expiry is not None:
        changes["expiry"] = _parse_expiry(expiry)
    if points_name_en or points_name_ar:
        changes["points_name"] = {"en": points_name_en, "ar": points_name_ar}
    for key, value in (("base_currency", base_currency), ("rounding", rounding), ("pending_days", pending_days),
                       ("timezone", timezone), ("default_region", region), ("min_redemption", min_redemption),
                       ("redemption_step", redemption_step), ("point_cost", point_cost),
                       ("return_restores", return_restores), ("numerals", numerals)):
        if value is not None:
            changes[key] = value
    with failures():
        with unit_of_work(_factory()) as session:
            tenant_id = _tenant_id(session, tenant)
            if "points_name" in changes:
                current = programs.get(session, tenant_id=tenant_id, fresh=True)
                changes["points_name"] = {"en": points_name_en or current.points_name_en, "ar": points_name_ar or current.points_name_ar}
            try:
                update = ProgramUpdate(**changes)
            except ValidationError as exc:
                raise bad_usage(exc) from None
            config = programs.update_settings(session, tenant_id=tenant_id, program_in=update, now=SystemClock().now())
        data = programs.to_read(config).model_dump(mode="json")
        emit(as_json, data, lambda: out.print_json(data=data))


@jobs_app.command("run-due")
def jobs_run_due(
    tenant: str | None = typer.Option(None, "--tenant", envvar="WAFA_TENANT", help="one tenant only (default: all)"),
    as_json: bool = JsonOption,
) -> None:
    """One pass: release pending points and cashback, expire lots, lapse holds, birthday rules. Safe beside traffic and twice at once."""
    from wafa.jobs.service import run_due

    with failures():
        factory = _factory()
        tenant_id = None
        if tenant:
            with factory() as session:
                tenant_id = _tenant_id(session, tenant)
        report = run_due(factory, now=SystemClock().now(), tenant_id=tenant_id)
        emit(as_json, report.__dict__, lambda: out.print(
            f"released {report.released_points} points in {report.released_lots} lots, "
            f"expired {report.expired_points} points in {report.expired_lots} lots, lapsed {report.lapsed_holds} holds, "
            f"released {report.released_cashback} (minor units) of cashback, recorded {report.birthday_events} birthdays, "
            f"expired {report.expired_rewards} unused rewards, reviewed {report.tier_reviews} tiers, "
            f"completed {report.referrals_completed} referrals, moved {report.memberships_due} memberships on"
        ))


@app.command("worker")
def worker(
    interval: float = typer.Option(None, "--interval", help="seconds between passes (default WAFA_WORKER_INTERVAL_SECONDS, 30)"),
    passes: int = typer.Option(0, "--passes", help="stop after this many passes (0: run until stopped)"),
) -> None:
    """Run the scheduled work in a loop: releases, expiries, hold lapses, pending cashback, birthdays."""
    from wafa.jobs.service import run_due

    every = interval if interval is not None else get_settings().worker_interval_seconds
    done = 0
    with failures():
        factory = _factory()
        while True:
            report = run_due(factory, now=SystemClock().now())
            err.print(f"pass {done + 1}: {report.__dict__}")
            done += 1
            if passes and done >= passes:
                return
            time.sleep(every)


@ledger_app.command("verify")
def ledger_verify(
    tenant: str | None = typer.Option(None, "--tenant", envvar="WAFA_TENANT", help="one tenant only (default: all)"),
    as_json: bool = JsonOption,
) -> None:
    """Re-add every posting, re-walk every hash chain, re-derive every balance. Exit 1 if anything is off."""
    from wafa.ledger.verify import verify

    with failures(), _factory()() as session:
        tenant_id = _tenant_id(session, tenant) if tenant else None
        with Progress(console=err, transient=True) as bar:
            task = bar.add_task("verifying postings", total=None)
            report = verify(session, tenant_id=tenant_id, progress=lambda done, total: bar.update(task, completed=done, total=total))
        data = {"ok": report.ok, "entries": report.entries, "postings": report.postings, "accounts": report.accounts,
                "lots": report.lots, "first_broken_entry": report.first_broken_entry, "problems": report.problems[:100]}
        emit(as_json, data, lambda: out.print(
            f"ledger intact: {report.entries} entries, {report.postings} postings, {report.accounts} member accounts, {report.lots} lots"
            if report.ok else
            f"[red]ledger broken[/red] (first broken entry: {report.first_broken_entry}):\n" + "\n".join(report.problems[:20])
        ))
        if not report.ok:
            raise typer.Exit(1)


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
    with failures(), unit_of_work(_factory()) as session, Progress(console=err, transient=True) as bar:
        task = bar.add_task("reading purchases", total=None)
        model = lifetime_value.fit(
            session, tenant_id=_tenant_id(session, tenant), calibration_end=calibration, unit=unit, holdout_end=holdout,
            now=SystemClock().now(), progress=lambda seen: bar.update(task, completed=seen),
        )
        data = {
            "model_id": model.id, "calibration_end": str(model.calibration_end), "holdout_end": str(holdout) if holdout else None,
            "unit": model.unit, "bgnbd": model.bgnbd, "gamma_gamma": model.gamma_gamma, "diagnostics": model.diagnostics,
        }
    out.print_json(json.dumps(data))


@app.command("kpi")
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
    with failures(), _factory()() as session:
        data = kpis.report(session, tenant_id=_tenant_id(session, tenant), first=first, last=last, compare=compare)

    def human() -> None:
        table = Table("KPI", "this period", *(("previous", "change") if compare else ()))
        for key, value in data["period"].items():
            row = [key, "" if value is None else str(value)]
            if compare:
                before, change = data["previous"].get(key), data["change"].get(key)
                row += ["" if before is None else str(before), "" if change is None else f"{change:+.1%}"]
            table.add_row(*row)
        out.print(table)

    emit(as_json, data, human)


@rules_app.command("list")
def rules_list(
    tenant: str = TenantOption,
    status: str | None = typer.Option(None, "--status", help="draft, active, paused or ended"),
    as_json: bool = JsonOption,
) -> None:
    """List a tenant's rules with their current versions."""
    from wafa.rules import service as rules

    with failures(), _factory()() as session:
        rows = [
            {"id": rule.id, "version": version.version, "status": rule.status, "name_en": version.definition["name_en"],
             "name_ar": version.definition["name_ar"], "trigger": version.definition["trigger"],
             "priority": version.definition["priority"], "stackable": version.definition["stackable"]}
            for rule, version in rules.list_(session, tenant_id=_tenant_id(session, tenant), status=status, limit=10_000)
        ]

        def human() -> None:
            table = Table("id", "v", "status", "trigger", "priority", "stacks", "name")
            for row in rows:
                table.add_row(str(row["id"]), str(row["version"]), row["status"], row["trigger"], str(row["priority"]),
                              "yes" if row["stackable"] else "exclusive", f"{row['name_en']} / {row['name_ar']}")
            out.print(table)

        emit(as_json, rows, human)


@rules_app.command("show")
def rules_show(rule_id: int = typer.Argument(..., help="the rule's id"), tenant: str = TenantOption) -> None:
    """Print a rule's current version as JSON."""
    from wafa.rules import service as rules

    with failures(), _factory()() as session:
        rule, version = rules.get_or_raise(session, tenant_id=_tenant_id(session, tenant), rule_id=rule_id)
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
    with failures(), _factory()() as session:
        result = events.simulate(session, tenant_id=_tenant_id(session, tenant), event_in=event_in, now=SystemClock().now())
        emit(as_json, result.model_dump(mode="json"), lambda: out.print(
            f"base {result.base_points} points\n" + "".join(f"{award.line}\n" for award in result.awards)
            + f"total {result.total_points} points"
        ))


@app.command("demo")
def demo(
    members: int = typer.Option(200, "--members", min=1, help="how many members to enrol"),
    months: int = typer.Option(6, "--months", min=0, help="months of purchase history"),
    slug: str = typer.Option("demo", "--slug", help="the demo tenant's slug"),
    as_json: bool = JsonOption,
) -> None:
    """Create the demo tenant with members and months of purchases (kept if it exists), and print an admin key."""
    from wafa import demo as demo_data

    with failures():
        _upgrade()
        with Progress(console=err, transient=True) as bar:
            task = bar.add_task("seeding demo history (days)", total=None)
            result = demo_data.seed(
                _factory(), now=SystemClock().now(), slug=slug, members_count=members, months=months,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
        emit(as_json, result.__dict__, lambda: out.print(
            f"Demo tenant [bold]{result.tenant_slug}[/bold]: {result.members} new members, {result.purchases} purchases, "
            f"{result.returns} returns, {result.reviews} reviews, {result.redemptions} redemptions.\nAdmin API key: {result.api_key}\n"
            f"Console: /admin, organisation {result.tenant_slug}, {result.admin_email} / {result.admin_password}\n"
            f"Member portal: /m/{result.tenant_slug} (sign in as member0@example.com; with no SMTP server set, the code is in this log)"
        ))


@app.command("serve")
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
        _upgrade()
        if with_demo:
            demo(members=200, months=6, slug="demo", as_json=False)
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Each process counts into files here, so /metrics adds up every process's figures.
        import tempfile

        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="wafa-metrics-")
    out.print(f"Wafa is serving on http://{host}:{port}  (API docs: http://{host}:{port}/v1/docs)")
    uvicorn.run("wafa.api.main:app", host=host, port=port, workers=workers, log_level=settings.log_level,
                access_log=False, proxy_headers=True)


# Last: the rewards commands use the helpers above.
from wafa.cli.rewards import rewards_app  # noqa: E402
from wafa.cli.imports import export_app, import_app  # noqa: E402
from wafa.cli.admin import admin_app  # noqa: E402

app.add_typer(rewards_app, name="rewards")
app.add_typer(import_app, name="import")
app.add_typer(export_app, name="export")
app.add_typer(admin_app, name="admin")

if __name__ == "__main__":
    app()
