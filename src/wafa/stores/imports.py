"""Stores from a CSV file: `code,name_en,name_ar,latitude,longitude,timezone,radius_m,hours`, one store a row,
added or, where its code exists, changed to the row's values. All or nothing: one bad row and nothing is
written, and the answer names every bad row by its line in the file (the header is line 1).

`hours` is one line of text (stores/hours.parse_text): `mon-fri 08:00-22:00; sat 10:00-14:00, 16:00-23:00; sun closed`.
Empty `name_ar` and `radius_m` mean none and 150 m; Arabic-Indic digits are read as digits."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from wafa.errors import InvalidInput
from wafa.inputs import latin_digits
from wafa.stores import hours, service
from wafa.stores.schemas import ImportResult, StoreCreate, StoreUpdate

COLUMNS = ("code", "name_en", "name_ar", "latitude", "longitude", "timezone", "radius_m", "hours")
REQUIRED = ("code", "name_en", "latitude", "longitude", "timezone")
MOST_ROWS = 10_000
MOST_ERRORS = 100  # listed in the answer; the count says how many there were


def _number(raw: str, kind: type) -> Any:
    text = latin_digits(raw.strip())
    try:
        return kind(text)
    except ValueError:
        raise ValueError(f"{raw!r} is not a number") from None


def _row(values: dict[str, str]) -> StoreCreate:
    """One row as a store's input; ValueError (with the column) or ValidationError for what is wrong."""
    data: dict[str, Any] = {
        "code": values["code"].strip(), "name_en": values["name_en"].strip(), "name_ar": values.get("name_ar", "").strip() or None,
        "timezone": values["timezone"].strip(),
    }
    for name in ("latitude", "longitude"):
        try:
            data[name] = _number(values[name], float)
        except ValueError as exc:
            raise _Bad(name, str(exc)) from None
    if values.get("radius_m", "").strip():
        try:
            data["radius_m"] = _number(values["radius_m"], int)
        except ValueError as exc:
            raise _Bad("radius_m", str(exc)) from None
    try:
        data["hours"] = hours.parse_text(values.get("hours", ""))
    except hours.HoursError as exc:
        raise _Bad("hours", str(exc)) from None
    return StoreCreate.model_validate(data)


class _Bad(Exception):
    def __init__(self, column: str, reason: str) -> None:
        super().__init__(reason)
        self.column, self.reason = column, reason


def parse(text: str) -> list[StoreCreate]:
    """Every row of the file as a store's input, or InvalidInput listing the bad rows (`errors`: line and column)."""
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff")))
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        raise InvalidInput(f"the header must name {', '.join(COLUMNS)}; missing: {', '.join(missing)}", field="file")
    unknown = [name for name in header if name not in COLUMNS]
    if unknown:
        raise InvalidInput(f"unknown columns: {', '.join(unknown)} (the columns are {', '.join(COLUMNS)})", field="file")
    reader.fieldnames = header
    stores: list[StoreCreate] = []
    errors: list[dict[str, str]] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(reader):
        line = reader.line_num
        if index >= MOST_ROWS:
            raise InvalidInput(f"a file holds at most {MOST_ROWS} stores", field="file")
        if None in raw:
            errors.append({"field": f"line {line}", "reason": "more values than columns"})
            continue
        values = {name: value or "" for name, value in raw.items()}
        try:
            store = _row(values)
        except _Bad as exc:
            errors.append({"field": f"line {line}: {exc.column}", "reason": exc.reason})
            continue
        except ValidationError as exc:
            for error in exc.errors():
                column = ".".join(str(part) for part in error["loc"]) or "row"
                errors.append({"field": f"line {line}: {column}", "reason": str(error["msg"]).removeprefix("Value error, ")})
            continue
        if store.code in seen:
            errors.append({"field": f"line {line}: code", "reason": f"{store.code!r} is on line {seen[store.code]} already"})
            continue
        seen[store.code] = line
        stores.append(store)
    if errors:
        raise InvalidInput(
            f"{len(errors)} problem(s) in the file; nothing was imported", field=None, errors=errors[:MOST_ERRORS], error_count=len(errors),
        )
    if not stores:
        raise InvalidInput("the file has a header and no stores", field="file")
    return stores


def import_csv(
    session: Session, *, tenant_id: int, text: str, now: datetime, progress: Callable[[int, int], None] | None = None,
) -> ImportResult:
    """Add or change every store of the file, in the caller's transaction (all or nothing)."""
    stores = parse(text)
    created = updated = 0
    for done, store_in in enumerate(stores, start=1):
        if service.get_by_code(session, tenant_id=tenant_id, code=store_in.code) is None:
            service.create(session, tenant_id=tenant_id, store_in=store_in, now=now)
            created += 1
        else:
            changes = StoreUpdate(**store_in.model_dump(exclude={"code", "active"}))
            service.update_(session, tenant_id=tenant_id, code=store_in.code, store_in=changes, now=now)
            updated += 1
        if progress is not None:
            progress(done, len(stores))
    return ImportResult(created=created, updated=updated, codes=[store.code for store in stores])
