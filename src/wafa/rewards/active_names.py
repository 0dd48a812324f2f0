"""Which of some rewards are active now, with what names a member sees them by: for lists that rank
rewards among other things (next-best offers) and show only what can still be redeemed."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from wafa.rewards.models import Reward


@dataclass(frozen=True, slots=True)
class ActiveReward:
    """An active reward's id, key and names."""

    id: int
    key: str
    name_en: str
    name_ar: str


def among(session: Session, *, tenant_id: int, reward_ids: Collection[int]) -> dict[int, ActiveReward]:
    """The active rewards among `reward_ids`, by id (one indexed read of four columns, none without ids)."""
    if not reward_ids:
        return {}
    query = select(Reward.id, Reward.key, Reward.name_en, Reward.name_ar).where(
        Reward.tenant_id == tenant_id, Reward.id.in_(sorted(set(reward_ids))), Reward.status == "active",
    )
    return {int(id_): ActiveReward(int(id_), key, name_en, name_ar) for id_, key, name_en, name_ar in session.execute(query)}
