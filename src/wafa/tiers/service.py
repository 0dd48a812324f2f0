"""Tiers: the policy and the tiers, a member's metric over the window, upgrades as soon as an event
crosses a threshold, reviews that demote (after a grace period, at most `max_drop` tiers, never below
a manual floor), tiers set by hand, and the history of every change.

Returns demote at once only under the program's "demote" policy (tiers/returns.py); otherwise a member
below a threshold after a return is handled by the next review.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal

from sqlalchemy import Select, event, select
from sqlalchemy.orm import Session

from wafa import cache
from wafa.bus import dispatch
from wafa.bus.messages import TierChanged
from wafa.db import insert_unless_exists
from wafa.errors import Conflict, InvalidInput, NotFound
from wafa.events import purchase_totals
from wafa.ledger import service as ledger
from wafa.members import service as members
from wafa.money import to_major, to_minor
from wafa.outbox import service as outbox
from wafa.programs import service as programs
from wafa.tiers import qualification, welcome
from wafa.tiers.models import MemberTier, Tier, TierChange, TierPolicy
from wafa.tiers.schemas import TierIn, TierPolicyIn, TierUpdate

DEFAULT_POLICY = TierPolicyIn()

# The tiers and the policy of a tenant are cached as one snapshot: another process never judges the new
# metric against the old thresholds.
# session.info: each member's tier id as this transaction read it (see standing()).
_STANDING = "tier_standing"


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_standings(session: Session) -> None:
    session.info.pop(_STANDING, None)

_POLICY_FIELDS = ("metric", "window", "months", "grace_days", "max_drop", "updated_at")


def _forget(session: Session, tenant_id: int) -> None:
    cache.changed(session, tenant_id=tenant_id, name="tiers")


def _snapshot(session: Session, tenant_id: int) -> tuple[list[Tier], TierPolicy]:
    return cache.get(session, tenant_id=tenant_id, name="tiers", load=lambda: _read_snapshot(session, tenant_id))


def _read_snapshot(session: Session, tenant_id: int) -> tuple[list[Tier], TierPolicy]:
    found = list(session.execute(select(Tier).where(Tier.tenant_id == tenant_id).order_by(Tier.rank)).scalars())
    for tier in found:
        session.expunge(tier)
    rules = _stored_policy(session, tenant_id=tenant_id)
    # A detached copy: readers share it across requests.
    copy = TierPolicy(tenant_id=tenant_id, **{name: getattr(rules, name) for name in _POLICY_FIELDS})
    return found, copy


def tiers_of(session: Session, *, tenant_id: int) -> list[Tier]:
    """The program's tiers, lowest first (cached with the policy: every purchase asks)."""
    return _snapshot(session, tenant_id)[0]


def policy(session: Session, *, tenant_id: int) -> TierPolicy:
    """The program's tier policy, the defaults until one is set (cached with the tiers; read only)."""
    return _snapshot(session, tenant_id)[1]


def _stored_policy(session: Session, *, tenant_id: int) -> TierPolicy:
    found = session.get(TierPolicy, tenant_id)
    if found is not None:
        return found
    return TierPolicy(tenant_id=tenant_id, **DEFAULT_POLICY.model_dump(exclude={"thresholds"}), updated_at=None)


def set_policy(session: Session, *, tenant_id: int, policy_in: TierPolicyIn, now: datetime) -> TierPolicy:
    """Set how members qualify. Thresholds are in the metric's unit: changing the metric with tiers in
    place needs every tier's new threshold in the same call (1,000 points must not become 10.00 SAR)."""
    ladder = list(session.execute(select(Tier).where(Tier.tenant_id == tenant_id).with_for_update()).scalars())
    current = _stored_policy(session, tenant_id=tenant_id)
    new = policy_in.thresholds or {}
    if ladder and (policy_in.metric != current.metric or new):
        missing = sorted(tier.key for tier in ladder if tier.key not in new)
        unknown = sorted(set(new) - {tier.key for tier in ladder})
        if unknown:
            raise InvalidInput(f"no tier with key {unknown[0]!r}", field=f"thresholds.{unknown[0]}")
        if missing:
            raise InvalidInput(
                f"changing the metric to {policy_in.metric} needs every tier's threshold in it: missing {', '.join(missing)}",
                field="thresholds",
            )
        base_currency = programs.get(session, tenant_id=tenant_id).base_currency
        values_by_key = {
            key: _threshold(value, metric=policy_in.metric, base_currency=base_currency, field=f"thresholds.{key}")
            for key, value in new.items()
        }
        _check_ladder([(tier.rank, values_by_key[tier.key]) for tier in ladder])
        for tier in ladder:
            tier.threshold, tier.updated_at = values_by_key[tier.key], now
    values = dict(policy_in.model_dump(exclude={"thresholds"}), updated_at=now)
    insert_unless_exists(session, TierPolicy, dict(tenant_id=tenant_id, **values), conflict=["tenant_id"])
    found = session.get_one(TierPolicy, tenant_id)
    for name, value in values.items():
        setattr(found, name, value)
    session.flush()
    _forget(session, tenant_id)
    return found


def _threshold(value: str, *, metric: str, base_currency: str, field: str) -> int:
    if metric == "money_spent":
        return to_minor(value, base_currency, field=field)
    number = Decimal(value)
    if number != number.to_integral_value():
        raise InvalidInput(f"a {metric} threshold is a whole number", field=field)
    return int(number)


def create(session: Session, *, tenant_id: int, tier_in: TierIn, now: datetime) -> Tier:
    """Add a tier to the ladder."""
    rules = _stored_policy(session, tenant_id=tenant_id)  # the unit thresholds are in now, not a cached one
    program = programs.get(session, tenant_id=tenant_id)
    existing = session.execute(select(Tier).where(Tier.tenant_id == tenant_id)).scalars().all()
    if any(tier.key == tier_in.key for tier in existing):
        raise Conflict(f"a tier with key {tier_in.key!r} exists", field="key")
    if any(tier.rank == tier_in.rank for tier in existing):
        raise Conflict(f"a tier with rank {tier_in.rank} exists", field="rank")
    threshold = _threshold(tier_in.threshold, metric=rules.metric, base_currency=program.base_currency, field="threshold")
    _check_ladder([*((t.rank, t.threshold) for t in existing), (tier_in.rank, threshold)])
    tier = Tier(
        tenant_id=tenant_id, key=tier_in.key, name_en=tier_in.name_en, name_ar=tier_in.name_ar, rank=tier_in.rank,
        threshold=threshold, benefits=tier_in.benefits.model_dump(), created_at=now, updated_at=now,
    )
    session.add(tier)
    session.flush()
    _forget(session, tenant_id)
    return tier


def _check_ladder(pairs: list[tuple[int, int]]) -> None:
    """Better tiers need more: a ladder whose thresholds do not rise with the rank would place members wrongly."""
    ordered = sorted(pairs)
    for (_, low), (_, high) in itertools.pairwise(ordered):
        if high <= low:
            raise InvalidInput("each tier's threshold must be above the threshold of the tier below it", field="threshold")


def update(session: Session, *, tenant_id: int, tier_id: int, tier_in: TierUpdate, now: datetime) -> Tier:
    """Rename a tier, change its threshold or benefits (members move at their next event or review)."""
    tier = get_or_raise(session, tenant_id=tenant_id, tier_id=tier_id)
    if tier_in.name_en is not None:
        tier.name_en = tier_in.name_en
    if tier_in.name_ar is not None:
        tier.name_ar = tier_in.name_ar
    if tier_in.benefits is not None:
        tier.benefits = tier_in.benefits.model_dump()
    if tier_in.threshold is not None:
        program = programs.get(session, tenant_id=tenant_id)
        tier.threshold = _threshold(
            tier_in.threshold, metric=_stored_policy(session, tenant_id=tenant_id).metric, base_currency=program.base_currency,
            field="threshold",
        )
        others = session.execute(select(Tier.rank, Tier.threshold).where(Tier.tenant_id == tenant_id, Tier.id != tier.id)).all()
        _check_ladder([*((rank, threshold) for rank, threshold in others), (tier.rank, tier.threshold)])
    tier.updated_at = now
    session.flush()
    _forget(session, tenant_id)
    return tier


def get_or_raise(session: Session, *, tenant_id: int, tier_id: int) -> Tier:
    tier = session.execute(select(Tier).where(Tier.tenant_id == tenant_id, Tier.id == tier_id)).scalar_one_or_none()
    if tier is None:
        raise NotFound(f"tier {tier_id} not found", field="tier_id")
    return tier


def _by_key_or_raise(session: Session, *, tenant_id: int, key: str) -> Tier:
    tier = session.execute(select(Tier).where(Tier.tenant_id == tenant_id, Tier.key == key)).scalar_one_or_none()
    if tier is None:
        raise NotFound(f"tier {key!r} not found", field="tier")
    return tier


def metric_value(session: Session, *, tenant_id: int, member_id: int, now: datetime, rules: TierPolicy) -> int:
    """The member's metric over the qualification window that ends now."""
    program = programs.get(session, tenant_id=tenant_id)
    since = qualification.window_start(now, window=rules.window, months=rules.months, timezone=program.timezone)
    return _metric(session, tenant_id=tenant_id, member_id=member_id, since=since, until=None, rules=rules)


def review_value(session: Session, *, tenant_id: int, member_id: int, now: datetime, rules: TierPolicy) -> int:
    """What a review judges: the window ending now; with calendar years, the better of the year that
    just closed and the one under way (a review on 1 January judges the year that ended)."""
    value = metric_value(session, tenant_id=tenant_id, member_id=member_id, now=now, rules=rules)
    if rules.window == "calendar_year":
        start, end = qualification.previous_window(now, timezone=programs.get(session, tenant_id=tenant_id).timezone)
        value = max(value, _metric(session, tenant_id=tenant_id, member_id=member_id, since=start, until=end, rules=rules))
    return value


def _metric(
    session: Session, *, tenant_id: int, member_id: int, since: datetime, until: datetime | None, rules: TierPolicy
) -> int:
    program = programs.get(session, tenant_id=tenant_id)
    if rules.metric == "points_earned":
        return ledger.issued_since(session, tenant_id=tenant_id, member_id=member_id, since=since, until=until)
    bought = purchase_totals.totals(session, tenant_id=tenant_id, member_id=member_id, since=since, until=until)
    if rules.metric == "purchases":
        return sum(count for _, _, count in bought)
    # Money in other currencies counts at the ratio of the earn rates (what a point is worth in each).
    total = sum((program.in_base(money, currency) for currency, money, _ in bought), Decimal(0))
    return int(total.to_integral_value(rounding=ROUND_FLOOR))


def levels_of(tiers: list[Tier]) -> list[qualification.Level]:
    """The tiers as qualification sees them."""
    return [qualification.Level(tier.id, tier.rank, tier.threshold) for tier in tiers]


def floor_in_force(row: MemberTier, *, now: datetime) -> int | None:
    """The tier set by hand below which the member may not drop now (None: no floor, or it ended)."""
    return row.floor_tier_id if row.floor_tier_id is not None and (row.floor_until is None or row.floor_until > now) else None


def _lock_member(session: Session, *, tenant_id: int, member_id: int) -> None:
    """Lock the member's points accounts before their tier row: the order purchases take (accounts,
    then tier), so a welcome credit here never waits on a purchase that waits on us."""
    accounts = ledger.member_accounts(session, tenant_id=tenant_id, member_id=member_id)
    ledger.lock_accounts(session, tenant_id=tenant_id, account_ids=[accounts["available"], accounts["pending"]])


def _row(session: Session, *, tenant_id: int, member_id: int, now: datetime) -> MemberTier:
    """The member's tier row, created on first use and locked for this transaction."""
    locked = (
        select(MemberTier).where(MemberTier.tenant_id == tenant_id, MemberTier.member_id == member_id)
        .with_for_update().execution_options(populate_existing=True)
    )
    row = session.execute(locked).scalar_one_or_none()
    if row is not None:
        return row  # one round trip for every member who has a row already
    insert_unless_exists(
        session, MemberTier, {"tenant_id": tenant_id, "member_id": member_id, "updated_at": now}, conflict=["tenant_id", "member_id"]
    )
    return session.execute(locked).scalar_one()


def move(
    session: Session, *, row: MemberTier, to: Tier | None, cause: str, value: int | None, now: datetime, rules: TierPolicy,
    reason: str | None = None,
) -> None:
    """Put a member in a tier (secured from now), record the change, give the tier's welcome points (once,
    unless a return took them back)."""
    timezone = programs.get(session, tenant_id=row.tenant_id).timezone
    before = row.tier_id
    row.tier_id = to.id if to else None
    session.info.get(_STANDING, {}).pop((row.tenant_id, row.member_id), None)
    row.since = now
    row.secured_until = qualification.secured_until(now, window=rules.window, months=rules.months, timezone=timezone) if to else None
    row.grace_until = None
    row.review_at = row.secured_until
    row.updated_at = now
    session.add(TierChange(
        tenant_id=row.tenant_id, member_id=row.member_id, from_tier_id=before, to_tier_id=row.tier_id, cause=cause,
        metric_value=value, reason=reason, at=now,
    ))
    dispatch.publish(session, TierChanged(row.tenant_id, row.member_id, now, from_tier_id=before, to_tier_id=row.tier_id, cause=cause))
    known = {tier.id: tier for tier in tiers_of(session, tenant_id=row.tenant_id)}
    was = known.get(before) if before is not None else None
    rank_before, rank_after = (was.rank if was else -1), (to.rank if to else -1)
    if rank_before != rank_after:
        outbox.emit(
            session, tenant_id=row.tenant_id, type_="tier.upgraded" if rank_after > rank_before else "tier.downgraded",
            member_id=row.member_id, now=now,
            payload={"from_tier": was.key if was else None, "to_tier": to.key if to else None, "cause": cause, "metric_value": value},
        )
    if to is not None and cause in ("qualified", "manual") and (to.benefits or {}).get("welcome_points"):
        member = members.get(session, tenant_id=row.tenant_id, member_id=row.member_id)
        if member is not None and member.status == "active":  # suspended and closed members earn nothing
            welcome.give(session, tenant_id=row.tenant_id, member_id=row.member_id, tier=to, now=now)
    session.flush()


def on_event(session: Session, *, tenant_id: int, member_id: int, now: datetime, locked: bool = False) -> None:
    """Upgrade a member whose metric now reaches a better tier (at once); a member in grace who
    qualifies again keeps the tier, secured anew. Never demotes. A caller holding the member's account
    locks already (a purchase) says so: one round trip fewer."""
    tiers = tiers_of(session, tenant_id=tenant_id)
    if not tiers:
        return
    rules = policy(session, tenant_id=tenant_id)
    if not locked:
        _lock_member(session, tenant_id=tenant_id, member_id=member_id)
    row = _row(session, tenant_id=tenant_id, member_id=member_id, now=now)
    levels = levels_of(tiers)
    value = metric_value(session, tenant_id=tenant_id, member_id=member_id, now=now, rules=rules)
    earned = qualification.qualified(levels, value)
    have = qualification.rank_of(levels, row.tier_id)
    if earned is not None and earned.rank > have:
        target = next(tier for tier in tiers if tier.id == earned.id)
        move(session, row=row, to=session.merge(target, load=False), cause="qualified", value=value, now=now, rules=rules)
    elif earned is not None and earned.rank == have:
        # Qualifying again for the tier held secures it anew (and ends a grace period).
        timezone = programs.get(session, tenant_id=tenant_id).timezone
        secured = qualification.secured_until(now, window=rules.window, months=rules.months, timezone=timezone)
        if row.grace_until is not None or row.secured_until is None or secured > row.secured_until:
            row.grace_until = None
            row.secured_until = secured
            row.review_at = secured
            row.updated_at = now
            session.flush()


def review(session: Session, *, tenant_id: int, member_id: int, now: datetime) -> str:
    """Review a member whose tier is due (secured period or grace over): keep, grace, or drop. Return the action."""
    row = _row(session, tenant_id=tenant_id, member_id=member_id, now=now)
    if row.review_at is None or row.review_at > now:
        return "none"  # another pass got here first
    tiers = tiers_of(session, tenant_id=tenant_id)
    rules = policy(session, tenant_id=tenant_id)
    timezone = programs.get(session, tenant_id=tenant_id).timezone
    floor = floor_in_force(row, now=now)
    value = review_value(session, tenant_id=tenant_id, member_id=member_id, now=now, rules=rules)
    decided = qualification.review(
        levels_of(tiers), current=row.tier_id, value=value, now=now, in_grace=row.grace_until is not None,
        grace_days=rules.grace_days, max_drop=rules.max_drop, floor=floor,
    )
    if decided.action == "keep" or (decided.action == "drop" and decided.tier_id == row.tier_id):
        earned = qualification.qualified(levels_of(tiers), value)
        held_by_floor = floor is not None and (earned is None or earned.rank < qualification.rank_of(levels_of(tiers), row.tier_id))
        row.grace_until = None
        # Kept on the year that just closed: secured to the end of this year (an event this year that
        # qualifies secures the next one too).
        row.secured_until = (
            qualification.window_end(now, window=rules.window, months=rules.months, timezone=timezone)
            if rules.window == "calendar_year"
            else qualification.secured_until(now, window=rules.window, months=rules.months, timezone=timezone)
        )
        row.review_at = row.secured_until
        if held_by_floor and row.floor_until is not None:
            row.secured_until = row.review_at = row.floor_until  # only the floor keeps it: look again when it ends
        row.updated_at = now
    elif decided.action == "grace":
        assert decided.grace_until is not None  # a grace review always says when the grace ends
        row.grace_until = decided.grace_until
        row.review_at = decided.grace_until
        row.updated_at = now
        session.add(TierChange(
            tenant_id=tenant_id, member_id=member_id, from_tier_id=row.tier_id, to_tier_id=row.tier_id, cause="grace",
            metric_value=value, reason=f"below the threshold at review; kept until {decided.grace_until.isoformat()}", at=now,
        ))
    else:
        target = next((tier for tier in tiers if tier.id == decided.tier_id), None)
        move(session, row=row, to=session.merge(target, load=False) if target else None, cause="review", value=value,
              now=now, rules=rules)
    session.flush()
    return decided.action


def due_reviews(session: Session, *, now: datetime, after_id: int, limit: int, tenant_id: int | None = None) -> list[tuple[int, int, int]]:
    """(tenant, member, row id) of members whose tier is due for review, in row id order after a cursor."""
    query = select(MemberTier.tenant_id, MemberTier.member_id, MemberTier.id).where(
        MemberTier.review_at <= now, MemberTier.id > after_id
    )
    if tenant_id is not None:
        query = query.where(MemberTier.tenant_id == tenant_id)
    return [(t, m, i) for t, m, i in session.execute(query.order_by(MemberTier.id).limit(limit)).all()]


def set_by_hand(
    session: Session, *, tenant_id: int, member_id: int, tier_key: str | None, reason: str, until: datetime | None,
    now: datetime, actor: str | None = None,
) -> MemberTier:
    """Put a member in a tier by hand, as a floor reviews respect until `until`; None lifts the floor."""
    rules = policy(session, tenant_id=tenant_id)
    _lock_member(session, tenant_id=tenant_id, member_id=member_id)
    row = _row(session, tenant_id=tenant_id, member_id=member_id, now=now)
    if until is not None and until <= now:
        raise InvalidInput("until must be in the future", field="until")
    if tier_key is None:
        if row.floor_tier_id is None:
            return row  # no floor to lift
        ended = row.floor_until
        row.floor_tier_id = row.floor_until = row.floor_reason = None
        if row.tier_id is not None and ended is not None and row.grace_until is None and row.review_at == ended:
            # Only the floor's date set the review (the member has not qualified again since): the tier
            # now stands on what the member did, reviewed when the window from reaching it ends.
            timezone = programs.get(session, tenant_id=tenant_id).timezone
            normal = qualification.secured_until(row.since or now, window=rules.window, months=rules.months, timezone=timezone)
            if normal < row.review_at:
                row.secured_until = row.review_at = max(normal, now)
        row.updated_at = now
        session.add(TierChange(tenant_id=tenant_id, member_id=member_id, from_tier_id=row.tier_id, to_tier_id=row.tier_id,
                               cause="floor_lifted", reason=reason, at=now))
        session.flush()
        return row
    tier = _by_key_or_raise(session, tenant_id=tenant_id, key=tier_key)
    row.floor_tier_id, row.floor_until, row.floor_reason = tier.id, until, reason
    if row.tier_id != tier.id:
        move(session, row=row, to=tier, cause="manual", value=None, now=now, rules=rules,
              reason=f"{reason} (by {actor})" if actor else reason)
        if until is not None:
            # Given by hand until a date: reviewed then, on what the member did (not secured for a window).
            row.secured_until = row.review_at = until
    session.flush()
    return row


@dataclass(frozen=True, slots=True)
class Standing:
    """A member's tier as rules and rewards read it."""

    key: str | None
    names: frozenset[str]  # key and English name, lower-cased, for matching what a reward lists
    multiplier: Decimal


def standing(session: Session, *, tenant_id: int, member_id: int) -> Standing:
    """The member's tier key, names and earn multiplier (none and 1 without a tier)."""
    tiers = tiers_of(session, tenant_id=tenant_id)
    if not tiers:
        return Standing(None, frozenset(), Decimal(1))
    # Read once per transaction (a purchase asks for its multiplier, then for its rules' facts); a move
    # to another tier forgets it.
    known = session.info.setdefault(_STANDING, {})
    if (tenant_id, member_id) not in known:
        known[(tenant_id, member_id)] = session.execute(
            select(MemberTier.tier_id).where(MemberTier.tenant_id == tenant_id, MemberTier.member_id == member_id)
        ).scalar_one_or_none()
    return _standing_in(tiers, known[(tenant_id, member_id)])


def standing_read(session: Session, *, tenant_id: int, member_id: int, tier_id: int | None) -> Standing:
    """The standing of a member whose tier id (member_tiers.tier_id, None without a row) the caller read
    in this transaction, under the member's account locks; kept as `standing` keeps what it reads."""
    tiers = tiers_of(session, tenant_id=tenant_id)
    if not tiers:
        return Standing(None, frozenset(), Decimal(1))
    session.info.setdefault(_STANDING, {})[(tenant_id, member_id)] = tier_id
    return _standing_in(tiers, tier_id)


def _standing_in(tiers: list[Tier], tier_id: int | None) -> Standing:
    tier = next((t for t in tiers if t.id == tier_id), None)
    if tier is None:
        return Standing(None, frozenset(), Decimal(1))
    return Standing(
        tier.key, frozenset({tier.key.lower(), tier.name_en.lower()}), Decimal((tier.benefits or {}).get("earn_multiplier") or "1")
    )


def format_value(value: int, *, metric: str, currency: str) -> str:
    """A metric value as the API shows it (money in major units)."""
    return to_major(value, currency) if metric == "money_spent" else str(value)


def reached(session: Session, *, tenant_id: int, member_id: int, key: str) -> bool:
    """Whether a member holds, or has ever held, the tier `key` or a better one (badges ask)."""
    tiers = tiers_of(session, tenant_id=tenant_id)
    wanted = next((tier for tier in tiers if tier.key == key), None)
    if wanted is None:
        return False
    better = [tier.id for tier in tiers if tier.rank >= wanted.rank]
    held = session.execute(
        select(MemberTier.tier_id).where(MemberTier.tenant_id == tenant_id, MemberTier.member_id == member_id)
    ).scalar_one_or_none()
    if held in better:
        return True
    return session.execute(
        select(TierChange.id).where(
            TierChange.tenant_id == tenant_id, TierChange.member_id == member_id, TierChange.to_tier_id.in_(better)
        ).limit(1)
    ).first() is not None


def exists(session: Session, *, tenant_id: int, key: str) -> bool:
    """Whether the program has a tier with this key."""
    return any(tier.key == key for tier in tiers_of(session, tenant_id=tenant_id))


def members_in(session: Session, *, tenant_id: int, key: str) -> list[int]:
    """Ids of the members in the tier `key` now."""
    tier = _by_key_or_raise(session, tenant_id=tenant_id, key=key)
    return list(session.execute(
        select(MemberTier.member_id).where(MemberTier.tenant_id == tenant_id, MemberTier.tier_id == tier.id).order_by(MemberTier.member_id)
    ).scalars())


def keys_by_member(session: Session, *, tenant_id: int) -> dict[int, str]:
    """Member id -> the key of the tier they are in now (members without a tier left out)."""
    keys = {tier.id: tier.key for tier in tiers_of(session, tenant_id=tenant_id)}
    rows = session.execute(
        select(MemberTier.member_id, MemberTier.tier_id).where(MemberTier.tenant_id == tenant_id, MemberTier.tier_id.is_not(None))
    )
    return {int(m): keys[t] for m, t in rows if t in keys}


def member_ids_query(*, tenant_id: int, key: str | None) -> Select:
    """The ids of the members in the tier `key` now (None: in any tier), as a query lists filter by."""
    query = select(MemberTier.member_id).where(MemberTier.tenant_id == tenant_id, MemberTier.tier_id.is_not(None))
    if key is not None:
        query = query.where(MemberTier.tier_id.in_(select(Tier.id).where(Tier.tenant_id == tenant_id, Tier.key == key)))
    return query
