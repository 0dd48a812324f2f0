"""`wafa admin`: the people who sign in to the console."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from wafa.cli.common import JsonOption, TenantOption, emit, err, failures, out, tenant_id_of, upgrade_schema
from wafa.clock import SystemClock
from wafa.db import session_factory, unit_of_work

admin_app = typer.Typer(help="Admin users of the console (/admin).", no_args_is_help=True)


@admin_app.command("create-user")
def create_user(
    email: str = typer.Argument(..., help="the e-mail the person signs in with"),
    tenant: str = TenantOption,
    name: str = typer.Option(..., "--name", help="the person's name, as the audit trail shows it"),
    role: str | None = typer.Option(
        None, "--role",
        help="owner (everything, the owner role included), admin (everything but the owner role), marketer (rewards, coupons, "
             "segments, surveys, rule drafts), support (members, adjustments up to the support limit) or viewer (reads only); "
             "default: owner for a tenant's first user, admin after",
    ),
    password: str = typer.Option(
        ..., "--password", prompt=True, hide_input=True, confirmation_prompt=True, envvar="WAFA_ADMIN_PASSWORD",
        help="at least 10 characters (asked for when not given; or WAFA_ADMIN_PASSWORD)",
    ),
    as_json: bool = JsonOption,
) -> None:
    """Add a console user to a tenant; the password is stored as an argon2id hash. Others can then be
    invited from the console's People page."""
    from wafa.tenants import admin_users, audit

    with failures():
        upgrade_schema()
        now = SystemClock().now()
        with unit_of_work(session_factory()) as session:
            tenant_id = tenant_id_of(session, slug=tenant)
            # Someone must be able to grant the owner role: a tenant's first owner comes from here.
            role = role or ("admin" if admin_users.has_owner(session, tenant_id=tenant_id) else "owner")
            user = admin_users.create(session, tenant_id=tenant_id, email=email, name=name, password=password, role=role, now=now)
            audit.record(session, tenant_id=tenant_id, user_id=None, actor="cli", action="admin_user.created",
                         target=f"admin_user:{user.id}", details={"email": user.email, "role": user.role}, now=now)
            data = {"id": user.id, "email": user.email, "name": user.name, "role": user.role}
        emit(data, as_json=as_json, human=lambda: err.print(f"admin user {data['email']} ({data['role']}) can now sign in at /admin"))


@admin_app.command("list-users")
def list_users(tenant: str = TenantOption, as_json: bool = JsonOption) -> None:
    """List a tenant's admin users."""
    from wafa.tenants import admin_users

    with failures(), session_factory()() as session:
        rows: list[dict[str, Any]] = [
            {"id": u.id, "email": u.email, "name": u.name, "role": u.role, "status": u.status,
             "last_login_at": u.last_login_at.isoformat() if u.last_login_at else None}
            for u in admin_users.list_(session, tenant_id=tenant_id_of(session, slug=tenant))
        ]

        def human() -> None:
            table = Table("id", "e-mail", "name", "role", "status", "last sign-in")
            for row in rows:
                table.add_row(str(row["id"]), row["email"], row["name"], row["role"], row["status"], row["last_login_at"] or "")
            out.print(table)

        emit(rows, as_json=as_json, human=human)
