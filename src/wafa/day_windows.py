"""Windows of time over running totals kept per UTC day (points earned, purchases kept, purchases by
category): a window [since, until) is its whole days, read from the totals, plus its part-days at
either edge, read exactly from the rows the totals sum. The days are UTC because a program's time
zone may change; windows in a program's time zone still come out exact, through their edges."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta


def day_of(moment: datetime) -> date:
    """The UTC day of a moment."""
    return moment.astimezone(UTC).date()


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Window:
    """Whole days in [first_day, end_day) (either end open when None; no days at all when `days` is
    false), plus the part-days at the edges."""

    days: bool
    first_day: date | None
    end_day: date | None
    edges: tuple[tuple[datetime, datetime], ...]

    @property
    def shape(self) -> tuple[bool, bool, bool, int]:
        """What a statement reading the window depends on, apart from its values (statements are
        built once per shape)."""
        return self.days, self.first_day is not None, self.end_day is not None, len(self.edges)

    def params(self) -> dict[str, object]:
        """The window's values, named as the shape's statement binds them."""
        found: dict[str, object] = {}
        if self.first_day is not None:
            found["first_day"] = self.first_day
        if self.end_day is not None:
            found["end_day"] = self.end_day
        for n, (start, end) in enumerate(self.edges):
            found[f"edge{n}_start"], found[f"edge{n}_end"] = start, end
        return found


def split(since: datetime | None, until: datetime | None) -> Window:
    """A window's whole days and its part-day edges."""
    first_whole = None
    if since is not None:
        first_whole = day_of(since) if midnight(day_of(since)) == since.astimezone(UTC) else day_of(since) + timedelta(days=1)
    if since is not None and first_whole is not None and until is not None and midnight(first_whole) >= until:
        return Window(False, None, None, ((since, until),))  # within one day
    edges = []
    if since is not None and first_whole is not None and since.astimezone(UTC) < midnight(first_whole):
        edges.append((since, midnight(first_whole)))
    if until is not None and midnight(day_of(until)) < until:
        edges.append((midnight(day_of(until)), until))
    return Window(True, first_whole, day_of(until) if until is not None else None, tuple(edges))
