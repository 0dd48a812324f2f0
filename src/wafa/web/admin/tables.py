"""Console tables that scale: one page of a query's rows by offset, with the total, sorted by a column the
page allows, filtered by what the address says; the same rows streamed as CSV. Any console page can use it.

How a page uses it:

    view = tables.view_of(request, sorts=("created", "points"), default="created", descending=True, filters=("status", "q"))
    found = tables.page_of(session, query, view=view, order={"created": Reward.created_at, "points": Reward.points}, tiebreak=Reward.id)
    render(..., table=found)          # in the template: {% import "admin/_table.html" as t %}
                                      # t.sort(found.view, "points", _("Points"), num=True), t.pager(found, L), t.keep(found.view)
    tables.csv_response(rows, header=[...], filename="rewards.csv")   # rows: a generator that opens its own transaction
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import StreamingResponse
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

SIZES = (25, 50, 100, 200)
_MAX_PAGE = 10**6


@dataclass(frozen=True)
class View:
    """What a table shows, as the address asks: the page, its size, the sort column and direction, filters."""

    path: str
    page: int = 1
    size: int = 50
    sort: str = ""
    descending: bool = False
    filters: Mapping[str, str] = field(default_factory=dict)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size

    def query(self, **changes: Any) -> str:
        """The address's query string with `changes` (a change of sort, size or filter goes back to page 1)."""
        view = replace(self, **changes) if changes else self
        if changes and "page" not in changes:
            view = replace(view, page=1)
        params = {k: v for k, v in view.filters.items() if v}
        params |= {"sort": view.sort, "dir": "desc" if view.descending else "asc", "size": str(view.size)}
        if view.page > 1:
            params["page"] = str(view.page)
        return urlencode(params)

    def link(self, **changes: Any) -> str:
        return f"{self.path}?{self.query(**changes)}"

    def sort_link(self, key: str, *, first_descending: bool = False) -> str:
        """Sort by `key`; the column already sorted turns around."""
        descending = not self.descending if key == self.sort else first_descending
        return self.link(sort=key, descending=descending)

    def aria_sort(self, key: str) -> str:
        return ("descending" if self.descending else "ascending") if key == self.sort else "none"

    def export_link(self, path: str) -> str:
        """An export of the same rows, sorted and filtered alike (every page)."""
        params = {k: v for k, v in self.filters.items() if v} | {"sort": self.sort, "dir": "desc" if self.descending else "asc"}
        return f"{path}?{urlencode(params)}"


def view_of(
    request: Request, *, sorts: Iterable[str], default: str, descending: bool = False, filters: Iterable[str] = (),
    size: int = 50,
) -> View:
    """The View the address asks for. A sort outside `sorts`, a size outside SIZES or a page that is not a
    number falls back to the default: an address is never an error."""
    params = request.query_params
    sort = params.get("sort", "")
    allowed = tuple(sorts)
    if sort not in allowed:
        sort, desc = default, descending
    else:
        desc = params.get("dir", "asc") == "desc"
    try:
        page = min(max(1, int(params.get("page", "1"))), _MAX_PAGE)
    except ValueError:
        page = 1
    try:
        chosen = int(params.get("size", str(size)))
    except ValueError:
        chosen = size
    return View(
        path=request.url.path, page=page, size=chosen if chosen in SIZES else size, sort=sort, descending=desc,
        filters={name: params.get(name, "").strip()[:200] for name in filters},
    )


@dataclass(frozen=True)
class Page:
    """One page of rows, the total over every page, and the View that chose them."""

    rows: list[Any]
    total: int
    view: View

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.view.size))

    @property
    def first(self) -> int:
        """The position of the first row shown (1-based; 0 when there is none)."""
        return self.view.offset + 1 if self.rows else 0

    @property
    def last(self) -> int:
        return self.view.offset + len(self.rows)

    @property
    def has_previous(self) -> bool:
        return self.view.page > 1

    @property
    def has_next(self) -> bool:
        return self.last < self.total


def ordered(query: Select, *, view: View, order: Mapping[str, Any], tiebreak: Any) -> Select:
    """`query` sorted as the view says; `tiebreak` (a unique column) keeps pages stable between reads."""
    column = order[view.sort]
    return query.order_by(column.desc() if view.descending else column.asc(), tiebreak.desc() if view.descending else tiebreak.asc())


def page_of(session: Session, query: Select, *, view: View, order: Mapping[str, Any], tiebreak: Any) -> Page:
    """The page of `query` the view asks for, with the total; a page past the end shows the last one."""
    total = session.execute(select(func.count()).select_from(query.order_by(None).subquery())).scalar_one()
    pages = max(1, -(-total // view.size))
    if view.page > pages:
        view = replace(view, page=pages)
    rows = session.execute(ordered(query, view=view, order=order, tiebreak=tiebreak).limit(view.size).offset(view.offset)).all()
    return Page(rows=list(rows), total=int(total), view=view)


def stream(session: Session, query: Select, *, batch: int = 2000) -> Iterator[Any]:
    """Every row of `query` read in batches (an export of a million rows stays small in memory)."""
    yield from session.execute(query.execution_options(yield_per=batch))


# Spreadsheets run a cell that starts with these as a formula: a member's comment must stay text.
_FORMULA = ("=", "+", "-", "@", "\t", "\r")
# A plain number or a phone number in E.164 ("+966501234567", "-12.50") runs nothing: it stays as it is.
_NUMBER = re.compile(r"[+-]?[0-9][0-9.]*")


def cell(value: Any) -> Any:
    """A value as a CSV cell: dates in ISO 8601, text that a spreadsheet would run made plain."""
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(_FORMULA) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[Any]], *, chunk: int = 1000) -> Iterator[str]:
    """CSV text in chunks of `chunk` rows, starting with a byte-order mark so spreadsheets read UTF-8 (Arabic)."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow(header)
    for count, row in enumerate(rows, 1):
        writer.writerow([cell(v) for v in row])
        if count % chunk == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def csv_response(rows: Callable[[], Iterable[Sequence[Any]]], *, header: Sequence[str], filename: str) -> StreamingResponse:
    """A CSV download streamed as it is read; `rows` is called when the download starts (open the
    transaction inside it)."""
    return StreamingResponse(
        _lazy(header, rows), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


def _lazy(header: Sequence[str], rows: Callable[[], Iterable[Sequence[Any]]]) -> Iterator[str]:
    yield from csv_lines(header, rows())
