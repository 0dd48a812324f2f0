"""Exports: the program's members, purchases or ledger entries to CSV or Parquet, streamed in batches
(each domain gives its rows; this writes them)."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from itertools import islice
from pathlib import Path

from sqlalchemy.orm import Session

from wafa.events import figures as event_figures

TABLES = ("members", "purchases", "entries")
BATCH = 10_000


def rows_of(session: Session, *, tenant_id: int, what: str) -> Iterator[dict]:
    from wafa.ledger import service as ledger
    from wafa.members import service as members

    source = {"members": members.export_rows, "purchases": event_figures.export_rows, "entries": ledger.export_rows}[what]
    return source(session, tenant_id=tenant_id)


def write(
    session: Session, *, tenant_id: int, what: str, path: Path, kind: str, progress: Callable[[int], None] | None = None,
) -> int:
    """Write the table to `path` as CSV or Parquet; return the number of rows."""
    rows = rows_of(session, tenant_id=tenant_id, what=what)
    written = 0
    if kind == "csv":
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = None
            for row in rows:
                if writer is None:
                    writer = csv.DictWriter(handle, fieldnames=list(row))
                    writer.writeheader()
                writer.writerow({k: ("" if v is None else v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()})
                written += 1
                if progress is not None and written % BATCH == 0:
                    progress(written)
        return written
    import pyarrow as pa
    import pyarrow.parquet as pq

    parquet = None
    try:
        while batch := list(islice(rows, BATCH)):
            table = pa.Table.from_pylist(batch)
            if parquet is None:
                parquet = pq.ParquetWriter(path, _schema(table.schema))
            parquet.write_table(table.cast(parquet.schema))
            written += len(batch)
            if progress is not None:
                progress(written)
    finally:
        if parquet is not None:
            parquet.close()
    if parquet is None:  # nothing to write: an empty file with no columns would not read back
        pq.write_table(pa.table({}), path)
    return written


def _schema(found):
    """The first batch's schema with its all-empty columns given their real type (by name: times, days,
    else text), so a value in a later batch fits."""
    import pyarrow as pa

    fields = []
    for field in found:
        if pa.types.is_null(field.type):
            kind = pa.timestamp("us", tz="UTC") if field.name.endswith("_at") else pa.date32() if field.name.endswith("_date") else pa.string()
            fields.append(pa.field(field.name, kind))
        else:
            fields.append(field)
    return pa.schema(fields)
