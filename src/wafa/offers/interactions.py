"""A tenant's member-item interactions, read from the program's own data, and the sparse member×item
matrix the model learns from. Items are "category:<name>" (orders holding a line of it, per day, after
returns) and "reward:<id>" (rewards a member was given and did not cancel)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
from scipy.sparse import csr_matrix
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from wafa.events.models import MemberCategoryDay
from wafa.rewards.models import RewardRedemption


@dataclass(frozen=True)
class Interaction:
    """What one member did with one item: how often (orders or rewards), first and last time."""

    member_id: int
    item: str
    weight: int
    first: datetime
    last: datetime


@dataclass(frozen=True)
class InteractionMatrix:
    """Interaction counts as a member×item CSR matrix, rows by member id and columns by item, ascending."""

    matrix: csr_matrix
    member_ids: list[int]
    items: list[str]
    member_index: dict[int, int]
    item_index: dict[str, int]

    def seen(self, member_id: int) -> set[str]:
        """The items this member interacted with (none for a member outside the matrix)."""
        row = self.member_index.get(member_id)
        if row is None:
            return set()
        start, end = self.matrix.indptr[row], self.matrix.indptr[row + 1]
        return {self.items[column] for column in self.matrix.indices[start:end]}


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def read(session: Session, *, tenant_id: int, until: datetime, member_id: int | None = None) -> list[Interaction]:
    """The tenant's interactions before `until` (a category's day counts from its midnight, UTC), grouped
    per member and item; one member's only if `member_id` is given."""
    last_day = (until.astimezone(UTC) - timedelta(microseconds=1)).date()  # the last day whose midnight is before `until`
    days = (
        select(MemberCategoryDay.member_id, MemberCategoryDay.category, func.sum(MemberCategoryDay.orders),
               func.min(MemberCategoryDay.day), func.max(MemberCategoryDay.day))
        .where(MemberCategoryDay.tenant_id == tenant_id, MemberCategoryDay.day <= last_day, MemberCategoryDay.orders > 0)
        .group_by(MemberCategoryDay.member_id, MemberCategoryDay.category)
    )
    rewards = (
        select(RewardRedemption.member_id, RewardRedemption.reward_id, func.count(),
               func.min(RewardRedemption.created_at), func.max(RewardRedemption.created_at))
        .where(RewardRedemption.tenant_id == tenant_id, RewardRedemption.created_at < until, RewardRedemption.status != "cancelled")
        .group_by(RewardRedemption.member_id, RewardRedemption.reward_id)
    )
    if member_id is not None:
        days = days.where(MemberCategoryDay.member_id == member_id)
        rewards = rewards.where(RewardRedemption.member_id == member_id)
    found = [
        Interaction(int(member), f"category:{category}", int(orders), _day_start(first), _day_start(last))
        for member, category, orders, first, last in session.execute(days)
    ]
    # min() and max() over a UTC column come back naive on SQLite.
    found += [
        Interaction(int(member), f"reward:{reward}", int(count), _aware(first), _aware(last))
        for member, reward, count, first, last in session.execute(rewards)
    ]
    return found


def _aware(moment: datetime | str) -> datetime:
    if isinstance(moment, str):  # SQLite's aggregate of a datetime column is its stored text
        moment = datetime.fromisoformat(moment)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def matrix(interactions: Iterable[Interaction]) -> InteractionMatrix:
    """The member×item matrix of interaction counts (a member and an item appear once each)."""
    rows = list(interactions)
    member_ids = sorted({row.member_id for row in rows})
    items = sorted({row.item for row in rows})
    member_index = {member: index for index, member in enumerate(member_ids)}
    item_index = {item: index for index, item in enumerate(items)}
    counts = csr_matrix(
        (np.array([row.weight for row in rows], dtype=np.float32),
         (np.array([member_index[row.member_id] for row in rows], dtype=np.int64), np.array([item_index[row.item] for row in rows], dtype=np.int64))),
        shape=(len(member_ids), len(items)), dtype=np.float32,
    )
    counts.sum_duplicates()
    counts.sort_indices()
    return InteractionMatrix(counts, member_ids, items, member_index, item_index)
