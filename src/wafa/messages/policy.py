"""The rules every send obeys: quiet hours in the program's time zone and frequency caps per member.

Quiet hours defer a message to the end of the quiet period (it is not lost); a cap reached skips it
with the reason recorded. Days and weeks for caps are the program's local calendar days and the seven
days before now, so a message at 23:59 and one at 00:01 are on two days, as the member sees them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from wafa.db import insert_or_skip
from wafa.errors import InvalidInput
from wafa.messages.models import MemberMessage, MessagePolicy

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


@dataclass(frozen=True, slots=True)
class Policy:
    quiet_start: str = "21:00"
    quiet_end: str = "09:00"
    daily_cap: int = 2
    weekly_cap: int = 6


DEFAULT = Policy()


def get(session: Session, *, tenant_id: int) -> Policy:
    row = session.get(MessagePolicy, tenant_id)
    if row is None:
        return DEFAULT
    return Policy(row.quiet_start, row.quiet_end, row.daily_cap, row.weekly_cap)


def save(session: Session, *, tenant_id: int, policy: Policy, now: datetime) -> Policy:
    for field in ("quiet_start", "quiet_end"):
        if not _HHMM.match(getattr(policy, field)):
            raise InvalidInput("a time of day as HH:MM (00:00 to 23:59)", field=field)
    for field in ("daily_cap", "weekly_cap"):
        if not 0 <= getattr(policy, field) <= 100:
            raise InvalidInput("between 0 (no cap) and 100", field=field)
    if policy.daily_cap and policy.weekly_cap and policy.weekly_cap < policy.daily_cap:
        raise InvalidInput("the weekly cap is below the daily cap", field="weekly_cap")
    values = {"quiet_start": policy.quiet_start, "quiet_end": policy.quiet_end, "daily_cap": policy.daily_cap,
              "weekly_cap": policy.weekly_cap, "updated_at": now}
    session.execute(insert_or_skip(session, MessagePolicy, conflict=["tenant_id"]).values(tenant_id=tenant_id, **values))
    row = session.execute(select(MessagePolicy).where(MessagePolicy.tenant_id == tenant_id).with_for_update()).scalar_one()
    for key, value in values.items():
        setattr(row, key, value)
    session.flush()
    return policy


def _clock(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def quiet_until(policy: Policy, now: datetime, timezone: str) -> datetime | None:
    """When the quiet period `now` falls in ends (UTC), or None when sending is allowed now. A start equal
    to the end means no quiet hours; a start after the end spans midnight (21:00-09:00)."""
    start, end = _clock(policy.quiet_start), _clock(policy.quiet_end)
    if start == end:
        return None
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    at = local.time().replace(second=0, microsecond=0)
    quiet = (start <= at < end) if start < end else (at >= start or at < end)
    if not quiet:
        return None
    day = local.date() if at < end else local.date() + timedelta(days=1)
    # Built as local wall time and converted: a DST change inside the quiet period moves the UTC instant, not the hour.
    ends = datetime.combine(day, end, tzinfo=zone).astimezone(now.tzinfo)
    if ends <= now:
        # The end falls in the hour a clock change repeats and its first occurrence has passed: the second.
        ends = datetime.combine(day, end, tzinfo=zone).replace(fold=1).astimezone(now.tzinfo)
    return ends if ends > now else None


def local_day_start(now: datetime, timezone: str) -> datetime:
    zone = ZoneInfo(timezone)
    return datetime.combine(now.astimezone(zone).date(), time(0), tzinfo=zone).astimezone(now.tzinfo)


def cap_reached(
    session: Session, *, tenant_id: int, member_id: int, policy: Policy, now: datetime, timezone: str, pending: int = 0,
) -> str | None:
    """'daily_cap' or 'weekly_cap' when the member has had as many messages as the policy allows (with
    `pending` more about to go in the same batch), else None. Test messages are not counted."""
    if not policy.daily_cap and not policy.weekly_cap:
        return None
    since_week = now - timedelta(days=7)
    since_day = local_day_start(now, timezone)
    counts = session.execute(
        select(
            func.count().filter(MemberMessage.sent_at >= since_day),
            func.count(),
        ).where(
            MemberMessage.tenant_id == tenant_id, MemberMessage.member_id == member_id, MemberMessage.status == "sent",
            MemberMessage.kind != "test", MemberMessage.sent_at >= min(since_week, since_day),
        )
    ).one()
    today, week = int(counts[0]) + pending, int(counts[1]) + pending
    if policy.daily_cap and today >= policy.daily_cap:
        return "daily_cap"
    if policy.weekly_cap and week >= policy.weekly_cap:
        return "weekly_cap"
    return None
