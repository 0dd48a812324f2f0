"""Which rewards each member was given before a moment: redemptions not cancelled, counted per member
and reward, with the first and last time (the next-best-offer model learns from these)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from wafa.rewards.models import RewardRedemption

# (member_id, reward_id, times given, first, last): plain tuples, a tenant has hundreds of thousands.
GivenRewards = tuple[int, int, int, datetime, datetime]


def by_member_and_reward(session: Session, *, tenant_id: int, until: datetime, member_id: int | None = None) -> list[GivenRewards]:
    """Per member and reward, the redemptions made before `until` and not cancelled, with the first and
    last time (aware, UTC); one member's only if `member_id` is given (an indexed read of their rows)."""
    query = (
        select(RewardRedemption.member_id, RewardRedemption.reward_id, func.count(),
               func.min(RewardRedemption.created_at), func.max(RewardRedemption.created_at))
        .where(RewardRedemption.tenant_id == tenant_id, RewardRedemption.created_at < until, RewardRedemption.status != "cancelled")
        .group_by(RewardRedemption.member_id, RewardRedemption.reward_id)
    )
    if member_id is not None:
        query = query.where(RewardRedemption.member_id == member_id)
    return [(int(member), int(reward), int(count), _aware(first), _aware(last)) for member, reward, count, first, last in session.execute(query)]


def _aware(moment: datetime | str) -> datetime:
    # min() and max() of a UTC column come back naive on SQLite, or as its stored text.
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
