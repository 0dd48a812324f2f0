"""Rules: create, edit (a new version each time), change status, list; the active set for the engine."""

from __future__ import annotations

import time
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from wafa.errors import Conflict, NotFound
from wafa.rules import engine
from wafa.rules.models import Rule, RuleVersion
from wafa.rules.schemas import RuleDefinition

STATUSES = ("draft", "active", "paused", "ended")
# status -> the statuses it may move to; an ended rule stays ended (its versions stay for history).
MOVES = {"draft": ("active", "ended"), "active": ("paused", "ended"), "paused": ("active", "ended"), "ended": ()}
CACHE_SECONDS = 30.0
_active: dict[tuple[object, int], tuple[float, list[engine.Rule]]] = {}


def _forget(session: Session, tenant_id: int) -> None:
    _active.pop((session.get_bind().engine, tenant_id), None)


def get_or_raise(session: Session, *, tenant_id: int, rule_id: int) -> tuple[Rule, RuleVersion]:
    """A rule of this tenant and its current version, or NotFound."""
    row = session.execute(
        select(Rule, RuleVersion)
        .join(RuleVersion, (RuleVersion.rule_id == Rule.id) & (RuleVersion.version == Rule.current_version))
        .where(Rule.tenant_id == tenant_id, Rule.id == rule_id)
        .execution_options(populate_existing=True)
    ).one_or_none()
    if row is None:
        raise NotFound(f"rule {rule_id} not found")
    return row[0], row[1]


def create(session: Session, *, tenant_id: int, definition: RuleDefinition, status: str, now: datetime) -> tuple[Rule, RuleVersion]:
    """Create a rule at version 1."""
    if status not in ("draft", "active"):
        raise Conflict("a new rule starts as draft or active", field="status")
    rule_id = session.execute(
        insert(Rule).values(tenant_id=tenant_id, status=status, current_version=1, created_at=now, updated_at=now).returning(Rule.id)
    ).scalar_one()
    session.execute(
        insert(RuleVersion).values(tenant_id=tenant_id, rule_id=rule_id, version=1, definition=definition.dump(), created_at=now)
    )
    _forget(session, tenant_id)
    return get_or_raise(session, tenant_id=tenant_id, rule_id=rule_id)


def revise(session: Session, *, tenant_id: int, rule_id: int, definition: RuleDefinition, now: datetime) -> tuple[Rule, RuleVersion]:
    """Replace a rule's definition with a new version; earlier awards keep naming the version they came from."""
    rule, current = get_or_raise(session, tenant_id=tenant_id, rule_id=rule_id)
    if rule.status == "ended":
        raise Conflict(f"rule {rule_id} has ended; create a new rule instead", rule_status="ended")
    if current.definition == definition.dump():
        return rule, current  # nothing changed: no new version
    # Guarded on the version read, so two concurrent edits cannot both become version n+1.
    moved = session.execute(
        update(Rule)
        .where(Rule.id == rule_id, Rule.current_version == rule.current_version)
        .values(current_version=rule.current_version + 1, updated_at=now)
        .returning(Rule.current_version)
    ).one_or_none()
    if moved is None:
        raise Conflict(f"rule {rule_id} was changed at the same time; read it again")
    session.execute(
        insert(RuleVersion).values(
            tenant_id=tenant_id, rule_id=rule_id, version=moved[0], definition=definition.dump(), created_at=now
        )
    )
    _forget(session, tenant_id)
    return get_or_raise(session, tenant_id=tenant_id, rule_id=rule_id)


def change_status(session: Session, *, tenant_id: int, rule_id: int, status: str, now: datetime) -> tuple[Rule, RuleVersion]:
    """Activate, pause or end a rule."""
    rule, _ = get_or_raise(session, tenant_id=tenant_id, rule_id=rule_id)
    if status not in MOVES[rule.status]:
        raise Conflict(f"a {rule.status} rule cannot become {status}", rule_status=rule.status)
    session.execute(update(Rule).where(Rule.id == rule_id).values(status=status, updated_at=now))
    _forget(session, tenant_id)
    return get_or_raise(session, tenant_id=tenant_id, rule_id=rule_id)


def list_(session: Session, *, tenant_id: int, status: str | None = None, after_id: int | None = None, limit: int = 50) -> list[tuple[Rule, RuleVersion]]:
    """Rules with their current versions, in id order after a cursor."""
    query = (
        select(Rule, RuleVersion)
        .join(RuleVersion, (RuleVersion.rule_id == Rule.id) & (RuleVersion.version == Rule.current_version))
        .where(Rule.tenant_id == tenant_id)
    )
    if status is not None:
        query = query.where(Rule.status == status)
    if after_id is not None:
        query = query.where(Rule.id > after_id)
    return [(row[0], row[1]) for row in session.execute(query.order_by(Rule.id).limit(limit))]


def active(session: Session, *, tenant_id: int) -> list[engine.Rule]:
    """The tenant's active rules, ready for the engine (cached per process, dropped on every change here)."""
    key = (session.get_bind().engine, tenant_id)
    hit = _active.get(key)
    if hit and time.monotonic() - hit[0] < CACHE_SECONDS:
        return hit[1]
    rules = [
        engine.Rule(rule.id, version.version, RuleDefinition.model_validate(version.definition))
        for rule, version in list_(session, tenant_id=tenant_id, status="active", limit=10_000)
    ]
    _active[key] = (time.monotonic(), rules)
    return rules
