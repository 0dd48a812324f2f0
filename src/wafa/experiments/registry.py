"""Reads of experiments other domains make on their own paths: the arms a member is in (the rules engine's
facts, a campaign's audience), an experiment's state by key (the offers, a rule's validation). It imports
no other domain, so rules, events, messages and offers may call it without an import cycle.

The running experiments are cached per tenant (wafa.cache), dropped in every process when one starts,
ends or ships: a purchase asks for a member's arms without a query of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from wafa import cache
from wafa.experiments import assignment
from wafa.experiments.models import Experiment

CACHE_NAME = "experiments"


@dataclass(frozen=True, slots=True)
class State:
    """What other domains need of an experiment: its arms, holdout, status and the arm shipped."""

    key: str
    subject: str
    status: str
    holdout_percent: int
    arms: tuple[dict[str, Any], ...]  # {"key": "a", "weight": 1}, ...
    shipped_arm: str | None

    @property
    def arm_keys(self) -> tuple[str, ...]:
        return tuple(str(arm["key"]) for arm in self.arms)

    def arm_of(self, *, tenant_id: int, member_id: int) -> str:
        """The member's arm, or "holdout"."""
        return assignment.arm_of(
            tenant_id=tenant_id, key=self.key, member_id=member_id, holdout_percent=self.holdout_percent,
            arms=self.arms,
        )


def state_of(row: Experiment) -> State:
    return State(
        row.key, row.subject, row.status, row.holdout_percent, tuple({"key": str(a["key"]), "weight": int(a["weight"])} for a in row.arms),
        row.shipped_arm,
    )


def forget(session: Session, *, tenant_id: int) -> None:
    """Drop the cached running experiments of the tenant when this transaction commits (every process)."""
    cache.changed(session, tenant_id=tenant_id, name=CACHE_NAME)


def running(session: Session, *, tenant_id: int) -> tuple[State, ...]:
    """The tenant's running experiments (cached per process)."""
    def load() -> tuple[State, ...]:
        rows = session.execute(
            select(Experiment).where(Experiment.tenant_id == tenant_id, Experiment.status == "running").order_by(Experiment.id)
        ).scalars()
        return tuple(state_of(row) for row in rows)

    return cache.get(session, tenant_id=tenant_id, name=CACHE_NAME, load=load)


def arms_of(session: Session, *, tenant_id: int, member_id: int) -> dict[str, str]:
    """Experiment key -> the member's arm (or "holdout"), for every running experiment of the tenant."""
    return {found.key: found.arm_of(tenant_id=tenant_id, member_id=member_id) for found in running(session, tenant_id=tenant_id)}


def get_by_key(session: Session, *, tenant_id: int, key: str) -> State | None:
    """An experiment's state by key (any status), or None."""
    row = session.execute(select(Experiment).where(Experiment.tenant_id == tenant_id, Experiment.key == key)).scalar_one_or_none()
    return None if row is None else state_of(row)


def arm_of(session: Session, *, tenant_id: int, key: str, member_id: int) -> str | None:
    """The member's arm (or "holdout") in an experiment of any status; None when there is no such experiment.
    A running experiment is read from the cache, another from the database."""
    found = next((state for state in running(session, tenant_id=tenant_id) if state.key == key), None)
    if found is None:
        found = get_by_key(session, tenant_id=tenant_id, key=key)
    return None if found is None else found.arm_of(tenant_id=tenant_id, member_id=member_id)
