"""`wafa tenant` and `wafa apikey`: tenants, their names, and their API keys."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from wafa.cli.common import JsonOption, TenantOption, bad_usage, emit, err, failures, out, tenant_id_of, upgrade_schema
from wafa.clock import SystemClock
from wafa.db import session_factory, unit_of_work

tenant_app = typer.Typer(help="Tenants.", no_args_is_help=True)
key_app = typer.Typer(help="API keys of a tenant.", no_args_is_help=True)


@tenant_app.command("create")
def tenant_create(
    name: str = typer.Argument(..., help="the tenant's display name"),
    currency: str = typer.Option(..., "--currency", help="ISO 4217 code of the program's base currency (earns 1 point per unit)"),
    slug: str | None = typer.Option(None, "--slug", help="URL-safe short name (default: from the name)"),
    name_ar: str | None = typer.Option(None, "--name-ar", help="the name pages in Arabic show (default: the name)"),
    pending_days: int | None = typer.Option(
        None, "--pending-days", min=0, max=365,
        help="days a purchase's points stay pending before they can be spent: the return window (default: 14, a new program's)",
    ),
    as_json: bool = JsonOption,
) -> None:
    """Create a tenant, its program and its first admin API key (printed once)."""
    from wafa.programs import service as programs
    from wafa.tenants import service as tenants

    # Unset, the program keeps the window every new program starts with (wafa.programs.service).
    settings = {} if pending_days is None else {"pending_days": pending_days}
    with failures():
        upgrade_schema()
        now = SystemClock().now()
        with unit_of_work(session_factory()) as session:
            tenant = tenants.create(session, name=name, currency=currency, slug=slug, name_ar=name_ar, now=now, **settings)
            key = tenants.create_key(session, tenant_id=tenant.id, name="first admin key", scopes=["admin"], now=now)
            window = programs.get(session, tenant_id=tenant.id, fresh=True).pending_days
        data = {"tenant": {"id": tenant.id, "slug": tenant.slug, "name": tenant.name, "name_ar": tenant.name_ar},
                "api_key": key.secret, "scopes": key.scopes, "program": {"pending_days": window}}
        # The key stays the last word printed: scripts take it from there.
        emit(data, as_json=as_json, human=lambda: out.print(
            f"Created tenant [bold]{tenant.slug}[/bold].\n{_window_line(window)}; change it with "
            f"`wafa program set --tenant {tenant.slug} --pending-days N`.\nAdmin API key (shown once, keep it safe):\n{key.secret}",
            highlight=False,
        ))


def _window_line(days: int) -> str:
    """The return window in words, for the person who just created the program."""
    if days == 0:
        return ("Points can be spent as soon as a purchase earns them: no return window, so a member can spend them "
                "before a return takes them back")
    return f"Points stay pending for {days} day{'s' if days != 1 else ''} after a purchase (the return window)"


@tenant_app.command("list")
def tenant_list(as_json: bool = JsonOption) -> None:
    """List tenants."""
    from wafa.tenants import service as tenants

    with failures(), session_factory()() as session:
        rows: list[dict[str, Any]] = [
            {"id": t.id, "slug": t.slug, "name": t.name, "name_ar": t.name_ar, "status": t.status} for t in tenants.list_(session)
        ]

        def human() -> None:
            table = Table("id", "slug", "name", "name_ar", "status")
            for row in rows:
                table.add_row(str(row["id"]), row["slug"], row["name"], row["name_ar"] or "", row["status"])
            out.print(table)

        emit(rows, as_json=as_json, human=human)


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
        with unit_of_work(session_factory()) as session:
            found = tenants.update(session, tenant_id=tenant_id_of(session, slug=tenant), tenant_in=changes)
            data = {"id": found.id, "slug": found.slug, "name": found.name, "name_ar": found.name_ar}
        emit(data, as_json=as_json, human=lambda: err.print(f"tenant {data['slug']}: {data['name']} / {data['name_ar'] or '—'}"))


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
        with unit_of_work(session_factory()) as session:
            key = tenants.create_key(
                session, tenant_id=tenant_id_of(session, slug=tenant), name=name,
                scopes=[s.strip() for s in scopes.split(",") if s.strip()], now=SystemClock().now(),
            )
        emit({"id": key.id, "api_key": key.secret, "scopes": key.scopes}, as_json=as_json, human=lambda: out.print(key.secret))


@key_app.command("list")
def key_list(tenant: str = TenantOption, as_json: bool = JsonOption) -> None:
    """List a tenant's API keys (never their secrets)."""
    from wafa.tenants import service as tenants

    with failures(), session_factory()() as session:
        rows: list[dict[str, Any]] = [
            {"id": k.id, "name": k.name, "prefix": k.prefix, "scopes": k.scopes, "revoked": k.revoked_at is not None}
            for k in tenants.list_keys(session, tenant_id=tenant_id_of(session, slug=tenant))
        ]

        def human() -> None:
            table = Table("id", "name", "prefix", "scopes", "revoked")
            for row in rows:
                table.add_row(str(row["id"]), row["name"], row["prefix"] + "…", ",".join(row["scopes"]), "yes" if row["revoked"] else "")
            out.print(table)

        emit(rows, as_json=as_json, human=human)


@key_app.command("revoke")
def key_revoke(key_id: int = typer.Argument(..., help="the key's id (see `wafa apikey list`)"), tenant: str = TenantOption) -> None:
    """Revoke an API key."""
    from wafa.tenants import service as tenants

    with failures():
        with unit_of_work(session_factory()) as session:
            tenants.revoke_key(session, tenant_id=tenant_id_of(session, slug=tenant), key_id=key_id, now=SystemClock().now())
        err.print(f"key {key_id} revoked")
