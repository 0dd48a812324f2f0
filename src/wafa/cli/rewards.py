"""The `wafa rewards` commands: list the catalog, import a partner's voucher codes, generate a coupon campaign."""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from wafa.cli.common import JsonOption, TenantOption, bad_usage, emit, err, failures, out, tenant_id_of, usage
from wafa.clock import SystemClock
from wafa.db import session_factory, unit_of_work
from wafa.errors import InvalidInput

rewards_app = typer.Typer(help="The reward catalog, partner vouchers and coupon campaigns.", no_args_is_help=True)

STATUSES = ("draft", "active", "paused", "archived")


@rewards_app.command("list")
def rewards_list(
    tenant: str = TenantOption,
    status: str | None = typer.Option(None, "--status", help="only rewards of this status: draft, active, paused or archived"),
    as_json: bool = JsonOption,
) -> None:
    """List the catalog: id, key, kind, names, points, money, stock (vouchers: codes available), status."""
    from wafa.money import to_major
    from wafa.programs import service as programs
    from wafa.rewards import catalog

    if status is not None and status not in STATUSES:
        raise usage(f"--status: use one of {', '.join(STATUSES)}")
    with failures(), session_factory()() as session:
        tenant_id = tenant_id_of(session, slug=tenant)
        currency = programs.get(session, tenant_id=tenant_id, fresh=True).base_currency
        rows: list[dict[str, Any]] = []
        after = None
        while True:
            page = catalog.list_(session, tenant_id=tenant_id, statuses=(status,) if status else None, after_id=after, limit=500)
            for reward in page[:500]:
                rows.append({
                    "id": reward.id, "key": reward.key, "kind": reward.kind, "name_en": reward.name_en, "name_ar": reward.name_ar,
                    "points": reward.points, "money": to_major(reward.money, currency) if reward.money else None,
                    "currency": currency, "stock": catalog.stock_of(session, reward=reward), "status": reward.status,
                })
            if len(page) <= 500:
                break
            after = page[499].id

        def human() -> None:
            table = Table("id", "key", "kind", "name", "points", "money", "stock", "status")
            for row in rows:
                table.add_row(
                    str(row["id"]), row["key"], row["kind"], f"{row['name_en']} / {row['name_ar']}", str(row["points"]),
                    f"{row['money']} {currency}" if row["money"] else "", "unlimited" if row["stock"] is None else str(row["stock"]),
                    row["status"],
                )
            out.print(table)

        emit(rows, as_json=as_json, human=human)


class PartnerFile:
    """A partner's voucher file: one code per line, or a CSV whose first column is the code (a `.csv`
    file, or one whose first line has a comma). Blank lines and a header row "code" are skipped."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lines_read = 0

    def count_lines(self) -> int:
        """The file's lines; reading them all first also finds an unreadable or undecodable file before any write."""
        with self.path.open(encoding="utf-8-sig", newline="") as handle:
            return sum(1 for _ in handle)

    def codes(self) -> Iterator[str]:
        """The codes in file order, counting every line read in `lines_read` (the progress)."""
        as_csv = self.path.suffix.lower() == ".csv"
        first = True
        with self.path.open(encoding="utf-8-sig", newline="") as handle:
            for line in handle:
                self.lines_read += 1
                text = line.strip()
                if not text:
                    continue
                if first:
                    as_csv = as_csv or "," in text
                if as_csv:
                    text = next(csv.reader([text]))[0].strip()
                if first:
                    first = False
                    if text.lower() == "code":
                        continue
                yield text


@rewards_app.command("import-vouchers")
def rewards_import_vouchers(
    reward_key: str = typer.Argument(..., help="the voucher reward's key (see `wafa rewards list`)"),
    file: Path = typer.Argument(
        ..., help="the partner's codes: one per line, or a CSV whose first column is the code (with or without a 'code' header)",
        show_default=False,
    ),
    tenant: str = TenantOption,
    as_json: bool = JsonOption,
) -> None:
    """Add a partner's codes to a voucher reward (skipping codes it has), then give codes to rewards waiting for one."""
    from wafa.rewards import catalog, redemptions, vouchers

    source = PartnerFile(file)
    try:
        total = source.count_lines()
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        err.print(f"[red]error:[/red] cannot read {escape(str(file))}: {escape(str(reason))}", highlight=False)
        raise typer.Exit(1) from None
    with failures():
        now = SystemClock().now()
        with unit_of_work(session_factory()) as session:
            reward = catalog.get_by_key_or_raise(session, tenant_id=tenant_id_of(session, slug=tenant), key=reward_key)
            with Progress(console=err, transient=True) as bar:
                task = bar.add_task("importing voucher codes", total=total)
                imported, duplicates = vouchers.import_codes(
                    session, reward=reward, codes=source.codes(), now=now,
                    progress=lambda _batch: bar.update(task, completed=source.lines_read),
                )
            handed_out = redemptions.fill_waiting(session, reward=reward, now=now)
            available = catalog.stock_of(session, reward=reward) or 0
        data = {"reward": reward.key, "imported": imported, "duplicates": duplicates, "handed_out": handed_out, "available": available}
        emit(data, as_json=as_json, human=lambda: out.print(
            f"imported {imported} codes into {reward.key} ({duplicates} duplicates skipped); "
            f"{handed_out} handed to waiting rewards; {available} available", highlight=False,
        ))


@rewards_app.command("generate-coupons")
def rewards_generate_coupons(
    tenant: str = TenantOption,
    name: str = typer.Option(..., "--name", help="the campaign's name (e.g. 'Ramadan flyers')"),
    count: int = typer.Option(..., "--count", help="how many codes (at most 1,000,000)"),
    amount: str | None = typer.Option(None, "--amount", help="a fixed discount in major units, e.g. 10.00 (or --percent)"),
    percent: str | None = typer.Option(None, "--percent", help="a percentage off, more than 0 and at most 100 (or --amount)"),
    currency: str | None = typer.Option(None, "--currency", help="ISO 4217 code of the discount (default: the program's base currency)"),
    min_order: str | None = typer.Option(None, "--min-order", help="the basket must come to at least this (major units)"),
    max_discount: str | None = typer.Option(None, "--max-discount", help="never more off than this (major units)"),
    categories: list[str] = typer.Option([], "--category", help="only these categories are discounted (repeatable)"),
    skus: list[str] = typer.Option([], "--sku", help="only these SKUs are discounted (repeatable)"),
    uses: int = typer.Option(1, "--uses", help="how many times each code can be used"),
    prefix: str = typer.Option("", "--prefix", help="up to 8 letters or digits before each code (upper-cased)"),
    length: int = typer.Option(12, "--length", help="random characters per code, 10 to 32"),
    valid_from: str | None = typer.Option(None, "--valid-from", help="ISO 8601 with a time zone, e.g. 2026-03-01T00:00:00+03:00"),
    valid_until: str | None = typer.Option(None, "--valid-until", help="ISO 8601 with a time zone, e.g. 2026-03-31T23:59:59+03:00"),
    output: Path | None = typer.Option(
        None, "--output", help="write the codes here as CSV (code, status, uses, max_uses, valid_from, valid_until)"
    ),
    as_json: bool = JsonOption,
) -> None:
    """Generate a campaign of coupon codes with one discount; with --output, also their CSV (made together or not at all)."""
    from pydantic import ValidationError

    from wafa.rewards.schemas import CampaignIn

    if (amount is None) == (percent is None):
        raise usage("give exactly one of --amount or --percent")
    discount = {"type": "fixed" if amount is not None else "percent", "amount": amount, "percent": percent, "currency": currency,
                "min_order": min_order, "max_discount": max_discount, "categories": categories, "skus": skus}
    try:
        campaign_in = CampaignIn(
            name=name, discount={k: v for k, v in discount.items() if v is not None}, count=count, max_uses=uses,
            prefix=prefix.upper(), length=length, valid_from=valid_from, valid_until=valid_until,
        )
    except ValidationError as exc:
        raise bad_usage(exc) from None
    staged = _stage(output) if output is not None else None
    try:
        with failures():
            data = _generate(tenant, campaign_in, staged)
        if staged is not None and output is not None:
            try:
                umask = os.umask(0)
                os.umask(umask)
                os.chmod(staged.name, 0o666 & ~umask)  # as if opened directly (the temporary file is 0600)
                os.replace(staged.name, output)
            except OSError as exc:
                err.print(f"[red]error:[/red] campaign {data['campaign_id']} was created, but cannot write {escape(str(output))}: "
                          f"{escape(str(exc.strerror or exc))}", highlight=False)
                raise typer.Exit(1) from None
            data["output"] = str(output)
    finally:
        if staged is not None:
            staged.close()
            if os.path.exists(staged.name):
                os.unlink(staged.name)
    emit(data, as_json=as_json, human=lambda: out.print(
        f"campaign {data['campaign_id']}: {data['codes']} codes" + (f" written to {output}" if output is not None else ""),
        highlight=False,
    ))


def _stage(output: Path):
    """A temporary file beside `output`: the codes land there and replace `output` once the campaign is committed."""
    try:
        return tempfile.NamedTemporaryFile(
            mode="w", encoding="utf-8", newline="", dir=output.parent, prefix=f".{output.name}.", suffix=".tmp", delete=False,
        )
    except OSError as exc:
        err.print(f"[red]error:[/red] cannot write {escape(str(output))}: {escape(str(exc.strerror or exc))}", highlight=False)
        raise typer.Exit(1) from None


def _generate(tenant: str, campaign_in, staged) -> dict:
    """Create the campaign (and write its codes to `staged`) in one transaction; the command's JSON answer."""
    from wafa.programs import service as programs
    from wafa.rewards import catalog, coupons
    from wafa.rewards.coupons import csv_lines

    now = SystemClock().now()
    try:
        with unit_of_work(session_factory()) as session, Progress(console=err, transient=True) as bar:
            tenant_id = tenant_id_of(session, slug=tenant)
            program = programs.get(session, tenant_id=tenant_id, fresh=True)
            discount = catalog.discount_of(campaign_in.discount, base_currency=program.base_currency)
            making = bar.add_task("generating coupon codes", total=campaign_in.count)
            campaign = coupons.create_campaign(
                session, tenant_id=tenant_id, name=campaign_in.name, discount=discount, count=campaign_in.count,
                max_uses=campaign_in.max_uses, prefix=campaign_in.prefix, length=campaign_in.length,
                valid_from=campaign_in.valid_from, valid_until=campaign_in.valid_until, now=now,
                progress=lambda made: bar.advance(making, made),
            )
            data = {
                "campaign_id": campaign.id, "name": campaign.name, "codes": campaign.codes, "prefix": campaign.prefix,
                "discount": catalog.discount_to_api(discount), "max_uses": campaign.max_uses,
                "valid_from": _utc_iso(campaign.valid_from), "valid_until": _utc_iso(campaign.valid_until),
                "output": None,
            }
            if staged is not None:
                writing = bar.add_task("writing the codes", total=campaign.codes)
                found = coupons.campaign_codes(session, tenant_id=tenant_id, campaign_id=campaign.id)
                with staged:
                    for chunk in csv_lines(_counted(found, lambda done: bar.update(writing, completed=done)), now):
                        staged.write(chunk)
    except InvalidInput as exc:  # a value of an option the schema let through: an amount of 0, too many decimals
        raise usage(f"{exc.field}: {exc.detail}" if exc.field else exc.detail) from None
    return data


def _utc_iso(when: datetime | None) -> str | None:
    """`when` in UTC as ISO 8601, or None."""
    return None if when is None else when.astimezone(UTC).isoformat()


def _counted(found: Iterable, report) -> Iterator:
    """`found` as it is, telling `report` how many have passed every thousand."""
    done = 0
    for done, item in enumerate(found, 1):
        if done % 1000 == 0:
            report(done)
        yield item
    report(done)
