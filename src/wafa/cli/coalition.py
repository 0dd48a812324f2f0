"""`wafa coalition ...` (settle a period, the flows between partners) and `wafa partner ...` (list the
partners, make a partner's API key)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import typer
from rich.table import Table

from wafa.cli.common import JsonOption, TenantOption, emit, err, failures, out, tenant_id_of, usage
from wafa.clock import SystemClock
from wafa.db import session_factory, unit_of_work

coalition_app = typer.Typer(help="A coalition's settlement between its partners.", no_args_is_help=True)
partner_app = typer.Typer(help="A coalition's partners.", no_args_is_help=True)


@coalition_app.command("settle")
def settle(
    tenant: str = TenantOption,
    period: str = typer.Option(..., "--period", help="2026-11 closes the monthly partners' November; 2026-W47 the weekly partners' week 47"),
    as_json: bool = JsonOption,
) -> None:
    """Close a settlement period: one statement per partner (and currency) and the operator's, summing to
    zero. Closing a closed period changes nothing and prints its statements again."""
    from wafa.coalition import reads, settlement

    with failures():
        with unit_of_work(session_factory()) as session:
            run, replayed = settlement.close(
                session, tenant_id=tenant_id_of(session, slug=tenant), period=period, now=SystemClock().now(), by="cli",
            )
            body = reads.settlement_read(session, run, replayed=replayed)
        data = body.model_dump(mode="json")

        def human() -> None:
            table = Table("party", "currency", "points issued", "points redeemed", "net (+: the operator pays)")
            for statement in body.statements:
                table.add_row(statement.party, statement.currency, str(statement.points_issued), str(statement.points_redeemed), statement.net)
            out.print(table)
            total = sum(Decimal(s.net) for s in body.statements)
            err.print(f"{period}: {'closed before, unchanged' if replayed else 'closed'}; {len(body.statements)} statements, sum {total}")

        emit(data, as_json=as_json, human=human)


@coalition_app.command("flows")
def flows(
    tenant: str = TenantOption,
    since: datetime | None = typer.Option(None, "--since", help="from this time (ISO 8601, UTC unless it says otherwise)"),
    as_json: bool = JsonOption,
) -> None:
    """Points spent, by the partner where they were earned and the partner where they were spent."""
    from wafa.coalition import service
    from wafa.ledger import money

    with failures(), session_factory()() as session:
        tenant_id = tenant_id_of(session, slug=tenant)
        found = service.config_or_raise(session, tenant_id=tenant_id)
        now = SystemClock().now()
        start = (since if since.tzinfo is not None else since.replace(tzinfo=UTC)) if since is not None else None
        if start is not None and start >= now:
            raise usage("--since must be in the past")
        names = {partner_id: terms.key for partner_id, terms in found.partners.items()}
        rows = [
            {"earned_at": names.get(a) if a is not None else None, "spent_at": names.get(b) if b is not None else None, "points": p}
            for a, b, p in money.flows(session, tenant_id=tenant_id, start=start, end=now)
        ]

        def human() -> None:
            table = Table("earned at", "spent at", "points")
            for row in rows:
                table.add_row(str(row["earned_at"] or "(operator)"), str(row["spent_at"] or "(operator)"), str(row["points"]))
            out.print(table)

        emit(rows, as_json=as_json, human=human)


@partner_app.command("list")
def partner_list(tenant: str = TenantOption, as_json: bool = JsonOption) -> None:
    """The coalition's partners and their terms."""
    from wafa.coalition import service

    with failures(), session_factory()() as session:
        partners = service.list_(session, tenant_id=tenant_id_of(session, slug=tenant), limit=10_000)
        rows: list[dict[str, str]] = [
            {"id": str(p.id), "key": p.key, "name": p.name, "status": p.status, "currency": p.currency, "period": p.period,
             "earn_rate": p.earn_rate, "issue_price": p.issue_price, "redeem_value": p.redeem_value, "issue_fee": p.issue_fee,
             "redeem_fee": p.redeem_fee}
            for p in partners
        ]

        def human() -> None:
            table = Table("id", "key", "name", "status", "currency", "period", "earn", "issue price", "redeem value", "fees")
            for row in rows:
                table.add_row(
                    row["id"], row["key"], row["name"], row["status"], row["currency"], row["period"], row["earn_rate"],
                    row["issue_price"], row["redeem_value"], f"{row['issue_fee']} / {row['redeem_fee']}",
                )
            out.print(table)

        emit(rows, as_json=as_json, human=human)


key_app = typer.Typer(help="API keys of a partner's tills and shop.", no_args_is_help=True)
partner_app.add_typer(key_app, name="key")


@key_app.command("create")
def partner_key_create(
    tenant: str = TenantOption,
    partner: str = typer.Option(..., "--partner", help="the partner's key (see `wafa partner list`)"),
    name: str = typer.Option("partner key", "--name", help="what the key is for (e.g. 'café tills')"),
    scopes: str = typer.Option("members:write,events:write,redeem", "--scopes", help="comma-separated: members:write, events:write, redeem"),
    as_json: bool = JsonOption,
) -> None:
    """Make an API key that acts for a partner: it enrols members, records purchases and returns, and
    redeems, all as the partner, and reads the partner's own statements. The secret is printed once."""
    from wafa.coalition import service
    from wafa.tenants import service as tenants

    with failures():
        with unit_of_work(session_factory()) as session:
            tenant_id = tenant_id_of(session, slug=tenant)
            found = service.config_or_raise(session, tenant_id=tenant_id)
            partner_id = found.by_key.get(partner)
            if partner_id is None:
                raise usage(f"no partner {partner!r} in this coalition (see `wafa partner list`)")
            key = tenants.create_key(
                session, tenant_id=tenant_id, name=name, scopes=[s.strip() for s in scopes.split(",") if s.strip()],
                now=SystemClock().now(), partner_id=partner_id,
            )
        emit({"id": key.id, "api_key": key.secret, "scopes": key.scopes, "partner": partner}, as_json=as_json,
             human=lambda: out.print(key.secret))
