"""Tier arithmetic without a database: qualification windows, the tier a value earns, and what a
review decides. Thresholds and values are integers in the policy's metric."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class Level:
    """A tier as qualification sees it."""

    id: int
    rank: int
    threshold: int


def _local_midnight(year: int, month: int, zone: ZoneInfo) -> datetime:
    return datetime(year, month, 1, tzinfo=zone).astimezone(UTC)


def add_months(moment: datetime, months: int, timezone: str) -> datetime:
    """The same local day and time `months` later (the last day of a shorter month)."""
    zone = ZoneInfo(timezone)
    local = moment.astimezone(zone)
    month = local.month - 1 + months
    year, month = local.year + month // 12, month % 12 + 1
    for day in (local.day, 30, 29, 28):
        try:
            return local.replace(year=year, month=month, day=day).replace(tzinfo=zone).astimezone(UTC)
        except ValueError:
            continue
    raise AssertionError("every month has 28 days")


def window_start(now: datetime, *, window: str, months: int, timezone: str) -> datetime:
    """Where the qualification window that ends now begins: `months` back, or the local year's start."""
    if window == "calendar_year":
        return _local_midnight(now.astimezone(ZoneInfo(timezone)).year, 1, ZoneInfo(timezone))
    return add_months(now, -months, timezone)


def previous_window(now: datetime, *, timezone: str) -> tuple[datetime, datetime]:
    """The calendar year that closed before the local year of `now`, as UTC bounds."""
    zone = ZoneInfo(timezone)
    year = now.astimezone(zone).year
    return _local_midnight(year - 1, 1, zone), _local_midnight(year, 1, zone)


def window_end(now: datetime, *, window: str, months: int, timezone: str) -> datetime | None:
    """When the current calendar-year window closes (None for a rolling window: it never closes)."""
    if window == "calendar_year":
        return _local_midnight(now.astimezone(ZoneInfo(timezone)).year + 1, 1, ZoneInfo(timezone))
    return None


def secured_until(moment: datetime, *, window: str, months: int, timezone: str) -> datetime:
    """How long a tier reached (or kept at a review) at `moment` is secured: to the end of the next
    calendar year, or for `months` (a rolling window)."""
    if window == "calendar_year":
        return _local_midnight(moment.astimezone(ZoneInfo(timezone)).year + 2, 1, ZoneInfo(timezone))
    return add_months(moment, months, timezone)


def qualified(levels: list[Level], value: int) -> Level | None:
    """The best tier whose threshold the value reaches (None: below every tier)."""
    best = None
    for level in sorted(levels, key=lambda level: level.rank):
        if value >= level.threshold:
            best = level
    return best


def rank_of(levels: list[Level], tier_id: int | None) -> int:
    """A tier's rank (-1 for no tier, or a tier that no longer exists)."""
    return next((level.rank for level in levels if level.id == tier_id), -1)


@dataclass(frozen=True, slots=True)
class Review:
    """What a review decides: keep the tier (re-secured), start a grace period, or move to `tier_id`."""

    action: str  # keep, grace, drop
    tier_id: int | None = None
    grace_until: datetime | None = None


def review(
    levels: list[Level], *, current: int | None, value: int, now: datetime, in_grace: bool, grace_days: int, max_drop: int,
    floor: int | None,
) -> Review:
    """The outcome of a review of a member in tier `current` whose metric is `value` now.

    A member who still qualifies keeps the tier. One who does not first gets the grace period (if
    any, once), then drops to the tier they qualify for, but at most `max_drop` tiers down and never
    below a manual floor that is still in force.
    """
    ordered = sorted(levels, key=lambda level: level.rank)
    have = rank_of(ordered, current)
    earned = qualified(ordered, value)
    earned_rank = earned.rank if earned else -1
    floor_rank = rank_of(ordered, floor)
    if floor_rank > have:
        return Review("drop", floor)  # below a floor in force (a floor set above the tier): up to it
    if earned_rank >= have or (floor_rank >= 0 and floor_rank == have):
        return Review("keep", current)  # qualifies, or a floor in force holds the member here
    if grace_days > 0 and not in_grace:
        return Review("grace", current, now + timedelta(days=grace_days))
    ranks = [level.rank for level in ordered]
    position = ranks.index(have) if have in ranks else -1
    # A drop of `max_drop` from the lowest tiers may leave the member in no tier at all.
    lowest_rank = ordered[position - max_drop].rank if position - max_drop >= 0 else -1
    target_rank = max(earned_rank, lowest_rank, rank_of(ordered, floor))
    target = next((level for level in ordered if level.rank == target_rank), None)
    return Review("drop", target.id if target else None)


@dataclass(frozen=True, slots=True)
class Move:
    """A recorded change of a member's tier (from and to the same tier: a grace period, a floor lifted)."""

    from_tier_id: int | None
    to_tier_id: int | None
    cause: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Undo:
    """What a return undoes: the tier the member goes back to, the upgrades undone (newest first), when the
    member entered that tier (None: the history does not say, or they enter it now) and whether their
    metric reaches it (or only the tier held before, or a floor, keeps them there)."""

    tier_id: int | None
    undone: tuple[Move, ...]
    entered_at: datetime | None
    qualifies: bool


def recent_upgrades(moves: list[Move], *, current: int | None, since: datetime) -> list[Move]:
    """The upgrades that led to tier `current`, newest first (`moves` newest first), as far back as each is a
    qualifying upgrade made at or after `since`: a tier set by hand, a review or a return before stops it."""
    chain: list[Move] = []
    cursor = current
    for move in moves:
        if move.from_tier_id == move.to_tier_id:
            continue  # no move: a grace period started, a floor lifted
        if move.to_tier_id != cursor or move.cause != "qualified" or move.at < since:
            break
        chain.append(move)
        cursor = move.from_tier_id
    return chain


def after_return(
    levels: list[Level], *, current: int | None, moves: list[Move], since: datetime, value: int, floor: int | None,
) -> Undo | None:
    """What a return that leaves the member's metric at `value` undoes (None: nothing).

    Only upgrades made since `since` are undone, and only those to tiers the value no longer reaches: the
    member goes back to the best of the tier the value reaches, the tier held before those upgrades and a
    manual floor in force.
    """
    chain = recent_upgrades(moves, current=current, since=since)
    if not chain:
        return None
    earned = qualified(levels, value)
    earned_rank = earned.rank if earned else -1
    target_rank = max(earned_rank, rank_of(levels, chain[-1].from_tier_id), rank_of(levels, floor))
    if target_rank >= rank_of(levels, current):
        return None
    undone = tuple(move for move in chain if rank_of(levels, move.to_tier_id) > target_rank)
    target = next((level.id for level in levels if level.rank == target_rank), None)
    # The move before the undone ones put the member in the tier they go back to, when it led there.
    real = [move for move in moves if move.from_tier_id != move.to_tier_id]
    before = real[len(undone)] if len(real) > len(undone) else None
    entered_at = before.at if before is not None and before.to_tier_id == target else None
    return Undo(target, undone, entered_at, earned_rank >= target_rank)


def secured_after_return(
    entered_at: datetime | None, *, qualifies: bool, now: datetime, window: str, months: int, timezone: str,
) -> datetime:
    """How long the tier a return leaves a member in stays secured.

    Reaching it now secures it anew, as qualifying again does. A tier held only because it was held
    before the undone upgrades gets back the period it had: reached at `entered_at` and carried from
    review to review since (a review that keeps a tier leaves no record, so this is the earliest that
    period can end; a review due now when the history does not say).
    """
    if qualifies:
        return secured_until(now, window=window, months=months, timezone=timezone)
    if entered_at is None:
        return now
    until = secured_until(entered_at, window=window, months=months, timezone=timezone)
    while until <= now:
        # A review keeps a tier to the end of the year under way (calendar years) or for `months` more.
        until = window_end(until, window=window, months=months, timezone=timezone) or secured_until(
            until, window=window, months=months, timezone=timezone
        )
    return until
