"""Rules: create, edit (a new version each time), change status, list; the active set for the engine;
what the rules awarded, the caps and budgets it consumed, and what returns give back."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, case, func, insert, select, update
from sqlalchemy.orm import Session

from wafa import cache
from wafa.analytics import audiences
from wafa.db import UTCDateTime, insert_unless_exists
from wafa.errors import Conflict, InvalidInput, NotFound
from wafa.events import types as event_types
from wafa.experiments import registry as experiments
from wafa.money import to_minor
from wafa.rules import engine
from wafa.rules.models import Rule, RuleAward, RuleBudget, RuleVersion
from wafa.rules.schemas import BUILT_IN_TRIGGERS, RuleDefinition

STATUSES = ("draft", "active", "paused", "ended")
# status -> the statuses it may move to; an ended rule stays ended (its versions stay for history).
MOVES = {"draft": ("active", "ended"), "active": ("paused", "ended"), "paused": ("active", "ended"), "ended": ()}


def _forget(session: Session, tenant_id: int) -> None:
    cache.changed(session, tenant_id=tenant_id, name="rules")


def _check_trigger(session: Session, *, tenant_id: int, trigger: str) -> None:
    # A rule on a type nobody declared would never fire: most likely a typo.
    if trigger not in BUILT_IN_TRIGGERS and event_types.get_by_name(session, tenant_id=tenant_id, name=trigger) is None:
        raise InvalidInput(
            f"no event type {trigger!r} is declared; declare it under /v1/event-types first", field="trigger"
        )


def _targeted(session: Session, *, tenant_id: int, definition: RuleDefinition) -> RuleDefinition:
    """The definition with the program's own tier and segment keys in its conditions (matched in any case);
    InvalidInput naming the first key the program does not have: such a condition would never hold."""
    def walk(c: dict, at: str) -> dict:
        if c["type"] == "tier":
            return {**c, "any_of": audiences.tier_keys(session, tenant_id=tenant_id, keys=c["any_of"], field=f"{at}.any_of")}
        if c["type"] == "segment":
            return {**c, "any_of": audiences.segment_keys(session, tenant_id=tenant_id, keys=c["any_of"], field=f"{at}.any_of")}
        if c["type"] == "experiment":
            _check_experiment(session, tenant_id=tenant_id, condition=c, at=at)
            return c
        if c["type"] in ("all", "any"):
            return {**c, "conditions": [walk(p, f"{at}.conditions[{i}]") for i, p in enumerate(c["conditions"])]}
        if c["type"] == "not":
            return {**c, "condition": walk(c["condition"], f"{at}.condition")}
        return c

    dumped = definition.dump()
    conditions = [walk(c, f"conditions[{i}]") for i, c in enumerate(dumped["conditions"])]
    if conditions == dumped["conditions"]:
        return definition
    return RuleDefinition.model_validate({**dumped, "conditions": conditions})


def _check_experiment(session: Session, *, tenant_id: int, condition: dict, at: str) -> None:
    # A condition on an experiment or arm the program does not have would never hold: most likely a typo.
    found = experiments.get_by_key(session, tenant_id=tenant_id, key=condition["experiment"])
    if found is None:
        raise InvalidInput(f"no experiment {condition['experiment']!r}; create it under /v1/experiments first", field=f"{at}.experiment")
    known = (*found.arm_keys, "holdout")
    unknown = [arm for arm in condition["arms"] if arm not in known]
    if unknown:
        raise InvalidInput(f"experiment {found.key!r} has no arm {unknown[0]!r}; its arms: {', '.join(known)}", field=f"{at}.arms")


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
    _check_trigger(session, tenant_id=tenant_id, trigger=definition.trigger)
    definition = _targeted(session, tenant_id=tenant_id, definition=definition)
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
    definition = _targeted(session, tenant_id=tenant_id, definition=definition)
    if current.definition == definition.dump():
        return rule, current  # nothing changed: no new version
    _check_trigger(session, tenant_id=tenant_id, trigger=definition.trigger)
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


def list_(
    session: Session, *, tenant_id: int, status: str | None = None, after_id: int | None = None, limit: int = 50
) -> list[tuple[Rule, RuleVersion]]:
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
    return cache.get(session, tenant_id=tenant_id, name="rules", load=lambda: [
        engine.Rule(rule.id, version.version, RuleDefinition.model_validate(version.definition))
        for rule, version in list_(session, tenant_id=tenant_id, status="active", limit=10_000)
    ])


def for_trigger(session: Session, *, tenant_id: int, trigger: str) -> list[engine.Rule]:
    """The tenant's active rules on one trigger."""
    return [rule for rule in active(session, tenant_id=tenant_id) if rule.definition.trigger == trigger]


@lru_cache(maxsize=4096)
def _parse(definition_json: str) -> RuleDefinition:
    return RuleDefinition.model_validate_json(definition_json)


def version_of(session: Session, *, tenant_id: int, rule_id: int, version: int) -> engine.Rule:
    """One version of a rule, as the engine reads it (a return re-reads the version that awarded)."""
    definition = session.execute(
        select(RuleVersion.definition).where(
            RuleVersion.tenant_id == tenant_id, RuleVersion.rule_id == rule_id, RuleVersion.version == version
        )
    ).scalar_one()
    return engine.Rule(rule_id, version, _parse(json.dumps(definition, sort_keys=True)))


# --- caps and budgets -----------------------------------------------------------------------------


def periods(occurred_at: datetime, timezone: str) -> dict[str, tuple[datetime, datetime]]:
    """The day, week (from Monday) and month an event falls in, in the program's time zone."""
    zone = ZoneInfo(timezone)
    local = occurred_at.astimezone(zone)
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    week = day - timedelta(days=day.weekday())
    month = day.replace(day=1)
    next_month = (month + timedelta(days=32)).replace(day=1)

    def span(start: datetime, end: datetime) -> tuple[datetime, datetime]:
        # Local midnights (wall-time arithmetic above, so a DST change inside the period does not
        # shift them), as UTC instants: a DST day lasts 23 or 25 hours.
        return (start.replace(tzinfo=zone).astimezone(UTC), end.replace(tzinfo=zone).astimezone(UTC))

    return {
        "day": span(day, day + timedelta(days=1)),
        "week": span(week, week + timedelta(days=7)),
        "month": span(month, next_month),
    }


def _within(start: str, end: str):
    inside = (RuleAward.occurred_at >= bindparam(start, type_=UTCDateTime())) & (
        RuleAward.occurred_at < bindparam(end, type_=UTCDateTime())
    )
    return func.coalesce(func.sum(case((inside, RuleAward.points_kept), else_=0)), 0)


# What each capped rule gave a member in the event's day, week and month and in all: built once,
# as it runs on every event that meets a capped rule.
_USAGE = (
    select(RuleAward.rule_id, _within("d0", "d1"), _within("w0", "w1"), _within("m0", "m1"), func.sum(RuleAward.points_kept))
    .where(
        RuleAward.tenant_id == bindparam("t"), RuleAward.member_id == bindparam("m"),
        RuleAward.rule_id.in_(bindparam("rules", expanding=True)),
    )
    .group_by(RuleAward.rule_id)
)


def member_capped(rule: engine.Rule) -> bool:
    caps = rule.definition.caps
    return any(v is not None for v in (caps.per_member_day, caps.per_member_week, caps.per_member_month, caps.per_member_lifetime))


def budgeted(rule: engine.Rule) -> bool:
    return rule.definition.caps.budget_points is not None or rule.definition.caps.budget_money is not None


def usage(
    session: Session, *, tenant_id: int, member_id: int, rules: Sequence[engine.Rule], occurred_at: datetime,
    timezone: str, currency: str | None, base_currency: str, lock: bool = True,
) -> dict[int, engine.Usage]:
    """What each rule has already given this member per period, and what is left of its budget.

    Budget rows are locked (in rule order) until the transaction ends, so concurrent events cannot
    both spend the same remainder; the caller holds the member's account locks, which does the
    same for per-member caps.
    """
    capped = [rule.id for rule in rules if member_capped(rule)]
    per_member: dict[int, tuple[int, int, int, int]] = {}
    if capped:
        rows = session.execute(_USAGE, {"t": tenant_id, "m": member_id, "rules": capped, **period_params(occurred_at, timezone)}).all()
        per_member = {row[0]: (int(row[1]), int(row[2]), int(row[3]), int(row[4] or 0)) for row in rows}
    used = budgets(session, tenant_id=tenant_id, rules=rules, lock=lock)
    return usage_from(rules, per_member=per_member, budgets=used, currency=currency, base_currency=base_currency)


def budgets(session: Session, *, tenant_id: int, rules: Sequence[engine.Rule], lock: bool = True) -> dict[int, tuple[int, int]]:
    """Points and money each budgeted rule has spent; with `lock`, their rows are locked in rule order."""
    budgeted_ = sorted(rule.id for rule in rules if budgeted(rule))
    if not budgeted_:
        return {}
    query = (
        select(RuleBudget.rule_id, RuleBudget.points_used, RuleBudget.money_used)
        .where(RuleBudget.tenant_id == tenant_id, RuleBudget.rule_id.in_(budgeted_))
        .order_by(RuleBudget.rule_id)
    )
    if lock:
        for rule_id in budgeted_:
            insert_unless_exists(
                session, RuleBudget, {"tenant_id": tenant_id, "rule_id": rule_id, "points_used": 0, "money_used": 0},
                conflict=["tenant_id", "rule_id"],
            )
        query = query.with_for_update()
    return {row[0]: (row[1], row[2]) for row in session.execute(query).all()}


def period_params(occurred_at: datetime, timezone: str) -> dict[str, datetime]:
    """The bounds of the day, week and month an event falls in, as the usage queries' parameters."""
    spans = periods(occurred_at, timezone)
    return {
        "d0": spans["day"][0], "d1": spans["day"][1], "w0": spans["week"][0], "w1": spans["week"][1],
        "m0": spans["month"][0], "m1": spans["month"][1],
    }


# What _USAGE reads, as a scalar subquery a purchase's one read statement embeds (events/hotpath.py):
# one JSON array [rule id, day, week, month, lifetime] per capped rule the member had awards from.
# Expects %(t)s, %(capped)s (the capped rules' ids), the period_params and `member_id_sql`.
USAGE_SQL = """(SELECT json_agg(json_build_array(rule_id, d, w, mo, life)) FROM (
    SELECT rule_id,
           coalesce(sum(points_kept) FILTER (WHERE occurred_at >= %(d0)s AND occurred_at < %(d1)s), 0) AS d,
           coalesce(sum(points_kept) FILTER (WHERE occurred_at >= %(w0)s AND occurred_at < %(w1)s), 0) AS w,
           coalesce(sum(points_kept) FILTER (WHERE occurred_at >= %(m0)s AND occurred_at < %(m1)s), 0) AS mo,
           coalesce(sum(points_kept), 0) AS life
    FROM rule_awards WHERE tenant_id = %(t)s AND member_id = {member_id_sql} AND rule_id = ANY(%(capped)s)
    GROUP BY rule_id) AS usage)"""


def usage_from(
    rules: Sequence[engine.Rule], *, per_member: dict[int, tuple[int, int, int, int]], budgets: dict[int, tuple[int, int]],
    currency: str | None, base_currency: str,
) -> dict[int, engine.Usage]:
    """Each rule's usage from what the member had per period and what its budget spent."""
    out: dict[int, engine.Usage] = {}
    for rule in rules:
        day, week, month, lifetime = per_member.get(rule.id, (0, 0, 0, 0))
        points_used, money_used = budgets.get(rule.id, (0, 0))
        money_left = None
        if rule.definition.caps.budget_money is not None:
            budget = to_minor(rule.definition.caps.budget_money, base_currency)
            money_left = max(0, budget - money_used) if currency == base_currency else 0
        out[rule.id] = engine.Usage(day, week, month, lifetime, points_used, money_left)
    return out


def _consume(session: Session, *, tenant_id: int, rule_id: int, points: int, money: int) -> None:
    if points or money:
        session.execute(
            update(RuleBudget)
            .where(RuleBudget.tenant_id == tenant_id, RuleBudget.rule_id == rule_id)
            .values(points_used=RuleBudget.points_used + points, money_used=RuleBudget.money_used + money)
        )


# --- what rules awarded ----------------------------------------------------------------------------


def record_awards(
    session: Session, *, tenant_id: int, event_id: int, member_id: int, occurred_at: datetime,
    awards: Sequence[engine.Award], rules_: Sequence[engine.Rule], currency: str | None, base_currency: str,
    points_entry_id: int | None, points_lot_id: int | None, cashback_available_at: datetime | None, now: datetime,
) -> None:
    """Record what each rule gave for an event (one statement for all), and charge their budgets."""
    if not awards:
        return
    rows = award_rows(
        tenant_id=tenant_id, event_id=event_id, member_id=member_id, occurred_at=occurred_at, awards=awards, currency=currency,
        points_entry_id=points_entry_id, points_lot_id=points_lot_id, cashback_available_at=cashback_available_at, now=now,
    )
    session.execute(insert(RuleAward.__table__), rows)
    charge_budgets(session, tenant_id=tenant_id, awards=awards, rules_=rules_, currency=currency, base_currency=base_currency)


def award_rows(
    *, tenant_id: int, event_id: int | None, member_id: int, occurred_at: datetime, awards: Sequence[engine.Award],
    currency: str | None, points_entry_id: int | None, points_lot_id: int | None, cashback_available_at: datetime | None,
    now: datetime,
) -> list[dict[str, Any]]:
    """The rule_awards rows of an event's awards, in the order they applied."""
    pending = cashback_available_at is not None and cashback_available_at > now
    rows = []
    for award in awards:
        stamps = dict(award.stamps) or None
        rows.append({
            "tenant_id": tenant_id, "event_id": event_id, "member_id": member_id, "rule_id": award.rule_id, "version": award.version,
            "occurred_at": occurred_at, "points": award.points, "points_kept": award.points,
            "points_entry_id": points_entry_id if award.points else None, "points_lot_id": points_lot_id if award.points else None,
            "currency": currency, "cashback": award.cashback, "cashback_kept": award.cashback,
            "cashback_available_at": cashback_available_at if award.cashback else None,
            "cashback_released": not (award.cashback and pending),
            "stamps": stamps, "stamps_kept": stamps, "rewards": list(award.rewards) or None, "rewards_kept": list(award.rewards) or None,
            "capped_by": award.capped_by,
        })
    return rows


def charge_budgets(session: Session, *, tenant_id: int, awards: Sequence[engine.Award], rules_: Sequence[engine.Rule],
                   currency: str | None, base_currency: str) -> None:
    """Charge what the awards gave to their rules' budgets, in rule order (the order budgets are locked in)."""
    charged = {rule.id for rule in rules_ if budgeted(rule)}
    for award in sorted(awards, key=lambda a: a.rule_id):
        if award.rule_id in charged:
            money = award.cashback if currency == base_currency else 0
            _consume(session, tenant_id=tenant_id, rule_id=award.rule_id, points=award.points, money=money)


def awards_of_event(session: Session, *, tenant_id: int, event_id: int, lock: bool = False) -> list[RuleAward]:
    """What the rules gave for an event, in the order they applied."""
    query = select(RuleAward).where(RuleAward.tenant_id == tenant_id, RuleAward.event_id == event_id).order_by(RuleAward.id)
    if lock:
        # In rule order, the order budget rows are locked in by purchases too.
        query = query.order_by(None).order_by(RuleAward.rule_id).with_for_update()
    return list(session.execute(query.execution_options(populate_existing=True)).scalars())


def as_kept_award(row: RuleAward, rule: engine.Rule) -> engine.Award:
    """What the member still keeps of a recorded award, as the engine's value."""
    spec = rule.definition
    return engine.Award(
        row.rule_id, row.version, spec.name_en, spec.name_ar, row.points_kept, row.cashback_kept,
        tuple((row.stamps_kept or {}).items()), tuple(row.rewards_kept or ()), row.capped_by,
    )


def shrink(session: Session, *, tenant_id: int, row: RuleAward, kept: engine.Award, base_currency: str) -> None:
    """Lower what a member keeps of an award after a return, and give the budget back its share."""
    points_back, cashback_back = row.points_kept - kept.points, row.cashback_kept - kept.cashback
    session.execute(
        update(RuleAward)
        .where(RuleAward.id == row.id)
        .values(
            points_kept=kept.points, cashback_kept=kept.cashback, stamps_kept=dict(kept.stamps) or None,
            rewards_kept=list(kept.rewards) or None,
        )
    )
    budget = session.execute(
        select(RuleBudget.id).where(RuleBudget.tenant_id == tenant_id, RuleBudget.rule_id == row.rule_id)
    ).scalar_one_or_none()
    if budget is not None:
        money = cashback_back if row.currency == base_currency else 0
        _consume(session, tenant_id=tenant_id, rule_id=row.rule_id, points=-points_back, money=-money)


def cashback_due(session: Session, *, now: datetime, after_id: int, limit: int, tenant_id: int | None = None) -> list[tuple[int, int]]:
    """(tenant, award) whose pending cashback may be released at `now`, in id order after a cursor."""
    query = select(RuleAward.tenant_id, RuleAward.id).where(
        RuleAward.cashback_released == False, RuleAward.cashback_available_at <= now, RuleAward.id > after_id  # noqa: E712
    )
    if tenant_id is not None:
        query = query.where(RuleAward.tenant_id == tenant_id)
    return [(row[0], row[1]) for row in session.execute(query.order_by(RuleAward.id).limit(limit))]


def reschedule_cashback(session: Session, *, tenant_id: int, event_id: int, held_from: datetime, available_at: datetime) -> list[int]:
    """Give an event's cashback awards pending from `held_from` on (held for review) a new release time; return their ids."""
    ids = list(session.execute(
        select(RuleAward.id).where(
            RuleAward.tenant_id == tenant_id, RuleAward.event_id == event_id, RuleAward.cashback_available_at >= held_from,
            RuleAward.cashback_released == False,  # noqa: E712
        )
    ).scalars())
    if ids:
        session.execute(update(RuleAward).where(RuleAward.id.in_(ids)).values(cashback_available_at=available_at))
    return ids


def mark_cashback_released(session: Session, *, tenant_id: int, award_id: int) -> RuleAward | None:
    """Claim a pending cashback for release exactly once (None: another pass has it, or it is gone)."""
    won = session.execute(
        update(RuleAward)
        .where(RuleAward.tenant_id == tenant_id, RuleAward.id == award_id, RuleAward.cashback_released == False)  # noqa: E712
        .values(cashback_released=True)
        .returning(RuleAward.id)
    ).one_or_none()
    if won is None:
        return None
    return session.execute(select(RuleAward).where(RuleAward.id == award_id).execution_options(populate_existing=True)).scalar_one()


def stamps_and_rewards(session: Session, *, tenant_id: int, member_id: int) -> tuple[dict[str, int], dict[str, int]]:
    """A member's stamps per card and named rewards per name, as rules awarded them (net of returns)."""
    stamps: dict[str, int] = {}
    rewards: dict[str, int] = {}
    rows = session.execute(
        select(RuleAward.stamps_kept, RuleAward.rewards_kept).where(
            RuleAward.tenant_id == tenant_id, RuleAward.member_id == member_id,
            (RuleAward.stamps_kept.is_not(None)) | (RuleAward.rewards_kept.is_not(None)),
        )
    ).all()
    for kept_stamps, kept_rewards in rows:
        for card, count in (kept_stamps or {}).items():
            stamps[card] = stamps.get(card, 0) + count
        for reward in kept_rewards or ():
            rewards[reward] = rewards.get(reward, 0) + 1
    return dict(sorted(stamps.items())), dict(sorted(rewards.items()))
