"""Bulk import of purchase history: rows from another system's file, checked one by one (a bad row is
reported by line with its reason; good rows still load), members enrolled as needed, purchases written
set-based and idempotently (a row's order id, given or derived from its content, is recorded once:
importing a file twice changes nothing). Points only when asked, through the normal purchase path."""

from __future__ import annotations

import csv
import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from wafa.db import bulk_insert, unit_of_work
from wafa.errors import WafaError
from wafa.events import category_totals, purchase_totals
from wafa.events.models import Event
from wafa.inputs import control_character, latin_digits
from wafa.members import service as members
from wafa.money import precision, to_minor
from wafa.programs.service import ProgramConfig

# The fields a row may carry; a mapping names the file's column for each.
FIELDS = ("customer_id", "date", "amount", "currency", "order_id", "quantity", "items", "store", "margin", "paid_at")
REQUIRED = ("customer_id", "date", "amount")
CLOCK_SKEW_SECONDS = 300


class BadRow(Exception):
    """A row that cannot be imported, and why: a sentence with %(name)s placeholders and the values it quotes
    from the file. `str()` is the English sentence (the command line's); the console says `message` in the
    reader's language (wafa.web.admin.imports lists every message for the catalog)."""

    def __init__(self, message: str, **values: Any) -> None:
        self.message = message
        self.values = {name: str(value) for name, value in values.items()}
        super().__init__(message % self.values)


@dataclass
class ImportReport:
    rows: int = 0
    imported: int = 0  # purchases recorded by this import
    already: int = 0  # purchases recorded before (same order id)
    members_enrolled: int = 0
    awarded_points: int = 0
    bad_rows: int = 0
    bad: list[tuple[int, str]] = field(default_factory=list)  # (line, reason), the first 1,000
    # Each of `bad` as (message, values), for saying it in another language.
    why: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    enrolled_here: set[int] = field(default_factory=set)  # members this import enrolled

    def refuse(self, line: int, reason: BadRow) -> None:
        self.bad_rows += 1
        if len(self.bad) < 1000:
            self.bad.append((line, str(reason)))
            self.why.append((reason.message, reason.values))

    def stored(self, limit: int) -> list[list[Any]]:
        """The first bad rows as an import job keeps them: [line, English reason, message, values]."""
        return [[line, reason, *self.why[n]] for n, (line, reason) in enumerate(self.bad[:limit])]


@dataclass(frozen=True, slots=True)
class Row:
    line: int
    customer_id: str
    occurred_at: datetime
    amount: int
    currency: str
    order_id: str | None
    items: list[dict] | None
    store: str | None
    margin: int | None = None  # the order's margin, same currency, minor units (A/B/C ranking reads it)
    paid_at: datetime | None = None  # when a business customer paid the invoice (A/B/C: payment speed)
    quantity: int | None = None  # units bought, when the file says but gives no lines


def parse(raw: dict[str, Any], *, line: int, mapping: dict[str, str], program: ProgramConfig, now: datetime) -> Row:
    """One file row as a purchase, or BadRow with the reason."""
    def value(name: str) -> Any:
        found = raw.get(mapping.get(name, name))
        if isinstance(found, str):
            found = found.strip()
        return None if found in ("", None) else found

    for name in REQUIRED:
        if value(name) is None:
            raise BadRow("%(column)s is empty", column=mapping.get(name, name))
    # The text rule of the API (wafa.inputs): what PostgreSQL cannot store (NUL), nor SQLite, nor the purchase's schema.
    for name in ("customer_id", "order_id", "store"):
        found = value(name)
        if isinstance(found, str) and (bad := control_character(found)):
            raise BadRow("unreadable row: %(error)s", error=f"{mapping.get(name, name)} holds a control character ({bad})")
    customer = str(value("customer_id"))
    if len(customer) > 128:
        raise BadRow("%(column)s is longer than %(n)s characters", column=mapping.get("customer_id", "customer_id"), n=128)
    occurred_at = _when(value("date"), program.timezone)
    if occurred_at.timestamp() > now.timestamp() + CLOCK_SKEW_SECONDS:
        raise BadRow("date %(value)s is in the future", value=occurred_at.isoformat())
    currency = str(value("currency") or program.base_currency).upper()
    if currency not in program.earn_rates:
        raise BadRow("currency %(value)s is not one this program takes", value=currency)
    amount_raw = value("amount")
    try:
        if isinstance(amount_raw, float):
            amount_raw = repr(amount_raw)  # Parquet doubles: their shortest decimal form
        amount = to_minor(str(amount_raw), currency)
    except WafaError:
        raise BadRow("amount %(value)s is not a decimal amount in %(currency)s (not negative, at most %(digits)s decimal places)",
                     value=amount_raw, currency=currency, digits=precision(currency)) from None
    order_id = value("order_id")
    if order_id is not None and len(str(order_id)) > 128:
        raise BadRow("%(column)s is longer than %(n)s characters", column=mapping.get("order_id", "order_id"), n=128)
    store = value("store")
    margin = None
    if value("margin") is not None:
        raw_margin = value("margin")
        written = repr(raw_margin) if isinstance(raw_margin, float) else str(raw_margin)
        try:
            margin = to_minor(written.lstrip("-"), currency) * (-1 if written.startswith("-") else 1)
        except WafaError:
            raise BadRow("margin %(value)s is not a decimal amount in %(currency)s (at most %(digits)s decimal places)",
                         value=raw_margin, currency=currency, digits=precision(currency)) from None
    paid_at = _when(value("paid_at"), program.timezone) if value("paid_at") is not None else None
    quantity = None
    if value("quantity") is not None:
        try:
            written = latin_digits(str(value("quantity")))  # Arabic-Indic digits read as ASCII ones, as for amounts
            if not written.isascii():
                raise ValueError("digits of another script")
            number = Decimal(written)
            if number != number.to_integral_value():
                raise ValueError("fraction")
            quantity = int(number)
        except (InvalidOperation, ValueError, OverflowError):
            raise BadRow("quantity %(value)s is not a whole number", value=value("quantity")) from None
        if quantity < 0 or quantity > 10**9:
            raise BadRow("quantity %(value)s is out of range", value=quantity)
    return Row(line, customer, occurred_at, amount, currency, str(order_id) if order_id is not None else None,
               _items(value("items"), currency), str(store)[:64] if store is not None else None, margin, paid_at, quantity)


def _when(raw: Any, timezone: str) -> datetime:
    """A date (local midnight in the program's time zone) or a timestamp (local time unless it gives an
    offset, as ISO 8601 reads one), as UTC; dates before 1970 or too far out are bad rows."""
    zone = ZoneInfo(timezone)
    try:
        if isinstance(raw, datetime):
            found = raw
        elif isinstance(raw, date):
            found = datetime.combine(raw, time(0))
        else:
            text_ = latin_digits(str(raw))  # Arabic-Indic digits read as ASCII ones, as for amounts
            if len(text_) == 8 and text_.isascii() and text_.isdigit():
                found = datetime.combine(datetime.strptime(text_, "%Y%m%d").date(), time(0))
            elif len(text_) == 10:
                found = datetime.combine(date.fromisoformat(text_), time(0))
            else:
                found = datetime.fromisoformat(text_)
        if found.tzinfo is None:
            found = found.replace(tzinfo=zone)
        if found.year < 1970 or found.year > 9000:
            raise BadRow("date %(value)s is outside the years 1970 to 9000", value=found.date().isoformat())
        return found.astimezone(UTC)
    except (ValueError, OverflowError):
        raise BadRow("date %(value)s is not a date in the form %(form)s, or is out of range", value=raw, form="YYYY-MM-DD / ISO 8601") from None


def _items(raw: Any, currency: str) -> list[dict] | None:
    if raw is None:
        return None
    try:
        lines = json.loads(raw) if isinstance(raw, str) else raw
        out = []
        for line in lines:
            quantity = line.get("quantity", 1)
            if isinstance(quantity, str):  # Arabic-Indic digits read as ASCII ones, as for amounts
                quantity = latin_digits(quantity.strip())
                quantity = int(quantity) if quantity.isascii() and quantity.isdigit() else None
            elif isinstance(quantity, float) and quantity.is_integer():  # a spreadsheet's 2.0
                quantity = int(quantity)
            if isinstance(quantity, bool) or not isinstance(quantity, int):  # never 2.9 read as 2, nor true as 1
                raise ValueError("quantity is not a whole number")
            if quantity < 0:
                raise ValueError("negative quantity")
            for name in ("sku", "category", "brand"):
                if isinstance(line.get(name), str) and (bad := control_character(line[name])):
                    raise ValueError(f"{name} holds a control character ({bad})")
            out.append({
                "sku": str(line["sku"])[:64], "category": line.get("category"), "brand": line.get("brand"), "quantity": quantity,
                "unit_price": to_minor(str(line.get("unit_price", "0")), currency), "earns": bool(line.get("earns", True)),
            })
        return out
    except (ValueError, TypeError, KeyError, AttributeError, InvalidOperation, OverflowError, WafaError) as exc:
        raise BadRow("%(column)s: not a JSON list of lines with %(fields)s (%(error)s)", column="items", fields="sku, quantity, unit_price",
                     error=exc) from None


def order_ids(rows: list[Row], *, seen: Counter[str]) -> list[str]:
    """Each row's order id: its own, or one derived from its content (customer, time, amount, currency)
    and how many identical rows came before it, so a file imported twice gives the same ids."""
    out = []
    for row in rows:
        if row.order_id is not None:
            out.append(row.order_id)
            continue
        content = f"{row.customer_id}|{row.occurred_at.isoformat()}|{row.amount}|{row.currency}"
        nth = seen[content]
        seen[content] += 1
        out.append("import-" + hashlib.sha256(f"{content}|{nth}".encode()).hexdigest()[:40])
    return out


def _business(row: Row) -> dict | None:
    """What a row adds beyond the purchase's columns (margin, payment date, quantity), kept with it."""
    if row.margin is None and row.paid_at is None and row.quantity is None:
        return None
    found = {"margin": row.margin, "paid_at": row.paid_at.isoformat() if row.paid_at else None, "quantity": row.quantity}
    return {key: value for key, value in found.items() if value is not None}


def first_seen(rows: list[Row]) -> dict[str, datetime]:
    """Each customer's earliest purchase in the rows: a member enrolled by an import joined then."""
    out: dict[str, datetime] = {}
    for row in rows:
        if row.customer_id not in out or row.occurred_at < out[row.customer_id]:
            out[row.customer_id] = row.occurred_at
    return out


def write(session: Session, *, tenant_id: int, rows: list[Row], ids: list[str], now: datetime, report: ImportReport) -> None:
    """Record a batch of checked rows as purchases (no points), enrolling missing members; set-based."""
    seen = first_seen(rows)
    member_ids, made = members.ensure_many(session, tenant_id=tenant_id, external_ids=[r.customer_id for r in rows], now=now, since=seen)
    report.members_enrolled += len(made)
    report.enrolled_here.update(made)
    # Members this import enrolled join at their first purchase in the file, whichever batch holds it.
    earlier = {member_ids[c]: at for c, at in seen.items() if member_ids[c] in report.enrolled_here and member_ids[c] not in made}
    if earlier:
        members.enrol_earlier(session, tenant_id=tenant_id, since=earlier)
    values = [
        {"tenant_id": tenant_id, "type": "purchase", "member_id": member_ids[row.customer_id], "order_id": order_id, "currency": row.currency,
             "amount": row.amount, "returned_amount": 0, "points": 0, "points_reversed": 0, "items": row.items, "store": row.store,
             "channel": "import", "occurred_at": row.occurred_at, "received_at": now,
             "attributes": _business(row)}
        for row, order_id in zip(rows, ids, strict=True)
    ]
    made_rows = bulk_insert(
        session, Event, values, conflict=["tenant_id", "order_id"], where="type = 'purchase'",
        returning=("member_id", "occurred_at", "currency", "amount", "items"),
    )
    # Sorted by member, so two imports adding to the same days lock them in the same order.
    purchase_totals.add_many(session, tenant_id=tenant_id, purchases=[(int(m), at, c, int(a)) for m, at, c, a, _ in made_rows])
    category_totals.add_many(session, tenant_id=tenant_id, purchases=[(int(m), at, c, int(a), i) for m, at, c, a, i in made_rows])
    inserted = len(made_rows)
    report.imported += inserted
    report.already += len(values) - inserted


def rows_of(records: Iterable[dict[str, Any]], *, first_line: int = 2) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, record) of a file's records: CSV lines count from 2 (after the header)."""
    for offset, record in enumerate(records):
        yield first_line + offset, record


BATCH = 10_000
AWARD_BATCH = 500


def read_records(path: Path, kind: str, *, on_progress: Callable[[int], None] | None = None) -> Iterator[dict[str, Any]]:
    """A CSV (with a header) or Parquet file's records as dicts, streamed; `on_progress` hears how far
    through the file the reading is, in thousandths (bytes of a CSV, rows of a Parquet file)."""
    if kind == "parquet":
        import pyarrow.parquet as pq

        parquet = pq.ParquetFile(path)
        total = parquet.metadata.num_rows or 1
        done = 0
        for batch in parquet.iter_batches(batch_size=BATCH):
            yield from batch.to_pylist()
            done += batch.num_rows
            if on_progress:
                on_progress(min(1000, done * 1000 // total))
        return
    size = max(1, path.stat().st_size)
    read = 0

    def lines(handle: Any) -> Iterator[str]:
        nonlocal read
        for raw in handle:
            read += len(raw)
            yield raw.decode("utf-8-sig" if read == len(raw) else "utf-8", errors="replace")

    with path.open("rb") as handle:
        for count, record in enumerate(csv.DictReader(lines(handle)), 1):
            yield record
            if on_progress and count % 1000 == 0:
                on_progress(min(1000, read * 1000 // size))
    if on_progress:
        on_progress(1000)


def run(
    factory: sessionmaker[Session], *, tenant_id: int, records: Iterable[dict[str, Any]], mapping: dict[str, str], award: bool,
    now: datetime, first_line: int = 2, on_batch: Callable[[ImportReport], None] | None = None,
) -> ImportReport:
    """Import a file's records in batches, each batch one transaction; `on_batch` hears the report after each."""
    from wafa.programs import service as programs

    report = ImportReport()
    seen: Counter[str] = Counter()
    with factory() as session:
        program = programs.get(session, tenant_id=tenant_id, fresh=True)

    def flush(batch: list[Row]) -> None:
        if not batch:
            return
        ids = order_ids(batch, seen=seen)
        with unit_of_work(factory) as session:
            if award:
                award_rows(session, tenant_id=tenant_id, rows=batch, ids=ids, now=now, report=report)
            else:
                write(session, tenant_id=tenant_id, rows=batch, ids=ids, now=now, report=report)
        if on_batch:
            on_batch(report)

    batch: list[Row] = []
    for line, record in rows_of(records, first_line=first_line):
        report.rows += 1
        try:
            batch.append(parse(record, line=line, mapping=mapping, program=program, now=now))
        except BadRow as exc:
            report.refuse(line, exc)
        except (ValueError, ArithmeticError, TypeError) as exc:  # a value no check foresaw: the row, not the file
            report.refuse(line, BadRow("unreadable row: %(error)s", error=exc))
        if len(batch) >= (AWARD_BATCH if award else BATCH):
            flush(batch)
            batch = []
    flush(batch)
    return report


def award_rows(session: Session, *, tenant_id: int, rows: list[Row], ids: list[str], now: datetime, report: ImportReport) -> None:
    """Each row through the live purchase path (rules, tiers, achievements), one savepoint each."""
    from wafa.events import service as events
    from wafa.events.idempotency import request_hash
    from wafa.events.schemas import MemberRef, PurchaseIn
    from wafa.money import to_major

    members_by_id, made = members.ensure_many(
        session, tenant_id=tenant_id, external_ids=[r.customer_id for r in rows], now=now, since=first_seen(rows),
    )
    report.members_enrolled += len(made)
    for row, order_id in zip(rows, ids, strict=True):
        purchase = PurchaseIn(
            type="purchase", member=MemberRef(id=members_by_id[row.customer_id]), order_id=order_id,
            amount=to_major(row.amount, row.currency), currency=row.currency, occurred_at=row.occurred_at,
            items=[{**i, "unit_price": to_major(i["unit_price"], row.currency)} for i in row.items] if row.items else None,
            store=row.store, channel="import",
        )
        try:
            with session.begin_nested():
                result, replayed = events.record_purchase(
                    session, tenant_id=tenant_id, event_in=purchase,
                    request_hash=request_hash("POST", "/v1/events", purchase.model_dump(mode="json")), now=now,
                )
        except WafaError as exc:
            if getattr(exc, "field", None) == "order_id" and "already recorded" in exc.detail:
                report.already += 1  # recorded before, by a plain import (which kept no request to compare)
                continue
            report.refuse(row.line, BadRow("the purchase was refused: %(error)s", error=exc.detail))
            continue
        if replayed:
            report.already += 1
        else:
            report.imported += 1
            report.awarded_points += result.total_points
