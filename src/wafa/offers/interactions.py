"""A tenant's member-item interactions, asked of the events and rewards domains' read modules, and the
sparse member×item matrix the model learns from. Items are "category:<name>" (orders holding a line of
it, per day, after returns) and "reward:<id>" (rewards a member was given and did not cancel)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
from scipy.sparse import csr_matrix
from sqlalchemy.orm import Session

from wafa.events import category_orders
from wafa.rewards import given_rewards


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
    per member and item; one member's only if `member_id` is given. Read through the events and rewards
    domains' read modules: the offers domain reads no other domain's tables."""
    last_day = (until.astimezone(UTC) - timedelta(microseconds=1)).date()  # the last day whose midnight is before `until`
    midnights: dict[date, datetime] = {}  # a year has 366 of them, a tenant's rows hundreds of thousands

    def midnight(day: date) -> datetime:
        found = midnights.get(day)
        if found is None:
            found = midnights[day] = _day_start(day)
        return found

    found = [
        Interaction(member, f"category:{category}", orders, midnight(first), midnight(last))
        for member, category, orders, first, last in category_orders.by_member_and_category(
            session, tenant_id=tenant_id, last_day=last_day, member_id=member_id)
    ]
    found += [
        Interaction(member, f"reward:{reward}", count, first, last)
        for member, reward, count, first, last in given_rewards.by_member_and_reward(session, tenant_id=tenant_id, until=until, member_id=member_id)
    ]
    return found


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
