"""Badges, challenges and streaks: their definitions, measuring a member after each event, awarding
(points into a lot, a catalog reward) and, when a return makes an achievement untrue, revoking it
(points clawed back, an unused reward cancelled). What a member holds is one `AchievementAward` row.

Badges count a member's whole history; challenges count their window (from joining, when members opt
in) and complete only while open; streaks count consecutive weeks or months with a qualifying purchase
from the streak's start. Goals over purchases count what was kept after returns; points they give are
held for the program's return window, like the purchase points they follow.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from wafa import cache
from wafa.db import insert_unless_exists
from wafa.engagement import goals, periods
from wafa.engagement.models import AchievementAward, Badge, Challenge, ChallengeProgress, MemberStreak, Streak
from wafa.engagement.schemas import BadgeIn, BadgeUpdate, ChallengeIn, ChallengeUpdate, StreakIn, StreakUpdate
from wafa.errors import Conflict, InvalidInput, NotFound
from wafa.ledger import service as ledger
from wafa.members import service as members
from wafa.members.models import Member
from wafa.money import to_minor
from wafa.outbox import service as outbox
from wafa.programs import earning
from wafa.programs import service as programs
from wafa.programs.service import ProgramConfig
from wafa.rewards import catalog, redemptions


@dataclass(frozen=True, slots=True)
class Definitions:
    """A program's badges, challenges and streaks, archived ones too (detached rows): archived ones are
    no longer earned, but a return still revokes what they gave."""

    badges: list[Badge]
    challenges: list[Challenge]
    streaks: list[Streak]

    def __bool__(self) -> bool:
        """Whether any is active (something can be earned)."""
        return any(row.status == "active" for rows in (self.badges, self.challenges, self.streaks) for row in rows)

    def any(self) -> bool:
        """Whether any exists, archived or not (something may have to be revoked)."""
        return bool(self.badges or self.challenges or self.streaks)


def _forget(session: Session, tenant_id: int) -> None:
    cache.changed(session, tenant_id=tenant_id, name="achievements")


def definitions(session: Session, *, tenant_id: int) -> Definitions:
    """The program's badges, challenges and streaks (cached: every event asks)."""
    return cache.get(session, tenant_id=tenant_id, name="achievements", load=lambda: Definitions(
        _detached(session, Badge, tenant_id), _detached(session, Challenge, tenant_id), _detached(session, Streak, tenant_id)
    ))


# A badge, a challenge or a streak: the three kinds of definition.
_Definition = TypeVar("_Definition", Badge, Challenge, Streak)


def _detached(session: Session, model: type[_Definition], tenant_id: int) -> list[_Definition]:
    rows = list(session.execute(
        select(model).where(model.tenant_id == tenant_id).order_by(model.id)
    ).scalars())
    for row in rows:
        session.expunge(row)
    return rows


# Definitions ---------------------------------------------------------------------------------------

def _check_reward(session: Session, *, tenant_id: int, key: str | None, field: str) -> None:
    if key is not None and catalog.get_by_key(session, tenant_id=tenant_id, key=key) is None:
        raise InvalidInput(f"no reward with key {key!r} in the catalog", field=field)


def _insert(session: Session, row: Any, *, what: str, key: str) -> None:
    model = type(row)
    taken = session.execute(select(model.id).where(model.tenant_id == row.tenant_id, model.key == key)).first()
    if taken is not None:
        raise Conflict(f"a {what} with key {key!r} already exists")
    session.add(row)
    session.flush()
    _forget(session, row.tenant_id)


def _texts(definition_in: Any) -> dict[str, Any]:
    return {
        name: getattr(definition_in, name)
        for name in ("key", "name_en", "name_ar", "description_en", "description_ar", "image_url", "points", "reward_key")
    }


def create_badge(session: Session, *, tenant_id: int, badge_in: BadgeIn, now: datetime) -> Badge:
    """Add a badge."""
    program = programs.get(session, tenant_id=tenant_id)
    _check_reward(session, tenant_id=tenant_id, key=badge_in.reward_key, field="reward_key")
    criterion = goals.to_stored(session, tenant_id=tenant_id, goal=badge_in.criterion, base_currency=program.base_currency, field="criterion")
    badge = Badge(tenant_id=tenant_id, **_texts(badge_in), criterion=criterion, status="active", created_at=now, updated_at=now)
    _insert(session, badge, what="badge", key=badge_in.key)
    return badge


def create_challenge(session: Session, *, tenant_id: int, challenge_in: ChallengeIn, now: datetime) -> Challenge:
    """Add a challenge."""
    program = programs.get(session, tenant_id=tenant_id)
    _check_reward(session, tenant_id=tenant_id, key=challenge_in.reward_key, field="reward_key")
    goal = goals.to_stored(session, tenant_id=tenant_id, goal=challenge_in.goal, base_currency=program.base_currency, field="goal")
    challenge = Challenge(
        tenant_id=tenant_id, **_texts(challenge_in), goal=goal, starts_at=challenge_in.starts_at, ends_at=challenge_in.ends_at,
        opt_in=challenge_in.opt_in, status="active", created_at=now, updated_at=now,
    )
    _insert(session, challenge, what="challenge", key=challenge_in.key)
    return challenge


def create_streak(session: Session, *, tenant_id: int, streak_in: StreakIn, now: datetime) -> Streak:
    """Add a streak."""
    program = programs.get(session, tenant_id=tenant_id)
    for index, milestone in enumerate(streak_in.milestones):
        _check_reward(session, tenant_id=tenant_id, key=milestone.reward_key, field=f"milestones[{index}].reward_key")
    streak = Streak(
        tenant_id=tenant_id, key=streak_in.key, name_en=streak_in.name_en, name_ar=streak_in.name_ar, period=streak_in.period,
        min_amount=to_minor(streak_in.min_amount, program.base_currency, field="min_amount"),
        starts_at=streak_in.starts_at or now, milestones=[m.model_dump() for m in streak_in.milestones],
        status="active", created_at=now, updated_at=now,
    )
    _insert(session, streak, what="streak", key=streak_in.key)
    return streak


def get_or_raise(session: Session, model: type[_Definition], *, tenant_id: int, definition_id: int) -> _Definition:
    """A badge, challenge or streak of the tenant by id, or NotFound."""
    found = session.execute(select(model).where(model.tenant_id == tenant_id, model.id == definition_id)).scalar_one_or_none()
    if found is None:
        raise NotFound(f"{model.__tablename__[:-1]} {definition_id} not found")
    return found


def update(
    session: Session, model: type[_Definition], *, tenant_id: int, definition_id: int, changes: BadgeUpdate | ChallengeUpdate | StreakUpdate,
    now: datetime,
) -> _Definition:
    """Rename, describe, archive (or for a challenge move its end) a badge, challenge or streak."""
    found: Any = get_or_raise(session, model, tenant_id=tenant_id, definition_id=definition_id)  # fields set by name below
    values = changes.model_dump(exclude_unset=True)
    ends_at = values.get("ends_at")
    if ends_at is not None and ends_at <= found.starts_at:
        raise InvalidInput("ends_at must be after starts_at", field="ends_at")
    for name, value in values.items():
        if value is None and name in ("name_en", "name_ar", "status", "ends_at"):
            raise InvalidInput(f"{name} cannot be empty", field=name)
        setattr(found, name, value)
    found.updated_at = now
    session.flush()
    _forget(session, tenant_id)
    return found


def list_(session: Session, model: type[_Definition], *, tenant_id: int) -> list[_Definition]:
    """All badges, challenges or streaks of the tenant, archived ones too, oldest first."""
    return list(session.execute(select(model).where(model.tenant_id == tenant_id).order_by(model.id)).scalars())


def holders(session: Session, *, tenant_id: int, kind: str) -> dict[int, int]:
    """How many members hold each badge (or have completed each challenge) now, by its id."""
    rows = session.execute(
        select(AchievementAward.definition_id, func.count())
        .where(AchievementAward.tenant_id == tenant_id, AchievementAward.kind == kind, AchievementAward.revoked_at.is_(None))
        .group_by(AchievementAward.definition_id)
    ).all()
    return dict(rows)


def state_of(challenge: Challenge, now: datetime) -> str:
    """upcoming, open or closed, by the clock."""
    if now < challenge.starts_at:
        return "upcoming"
    return "open" if now < challenge.ends_at else "closed"


# Measuring and awarding ---------------------------------------------------------------------------

def on_activity(
    session: Session, *, tenant_id: int, member_id: int, cause: str, now: datetime, member: Member | None = None,
    locked: bool = False, purchase: Bought | None = None, active: bool | None = None,
) -> list[AchievementAward]:
    """Re-measure what `cause` (purchase, return, event:<type>, referral, tier) can move for a member:
    award what is newly true, revoke what a return made untrue. Return the awards made. A caller that
    has the member, or has locked their accounts already, says so (fewer round trips per purchase); a new
    purchase says what it was, so streaks extend their runs without re-reading the member's history; one
    that knows whether the member is active (`active`) spares reading the member."""
    found = definitions(session, tenant_id=tenant_id)
    # Archived definitions only matter to returns: what they gave can still be made untrue.
    if not (found if cause != "return" else found.any()):
        return []

    def in_play(row: Any) -> bool:
        return row.status == "active" or cause == "return"

    badges = [b for b in found.badges if in_play(b) and goals.moved_by(b.criterion, cause)]
    challenges = [
        c for c in found.challenges
        if in_play(c) and goals.moved_by(c.goal, cause) and now >= c.starts_at and (now < c.ends_at or cause == "return")
    ]
    streaks = [s for s in found.streaks if in_play(s)] if cause in ("purchase", "return") else []
    if not (badges or challenges or streaks):
        return []
    if member is not None:
        active = member.status == "active"
    elif active is None:
        member = members.get(session, tenant_id=tenant_id, member_id=member_id)
        if member is None:
            return []
        active = member.status == "active"
    # The member's points accounts, available then pending (the order purchases, returns, releases and
    # redemptions take; a purchase has locked both already): one member's events are measured one at a
    # time, and an award never waits on an event that waits on it.
    if not locked:
        accounts = ledger.member_accounts(session, tenant_id=tenant_id, member_id=member_id)
        ledger.lock_accounts(session, tenant_id=tenant_id, account_ids=[accounts["available"], accounts["pending"]])
    program = programs.get(session, tenant_id=tenant_id)
    held = _held(session, tenant_id=tenant_id, member_id=member_id)
    history = goals.History(session, tenant_id=tenant_id, member_id=member_id)
    made: list[AchievementAward] = []
    can_earn = active
    for badge in badges:
        award = held.get(("badge", badge.id, "", 0))
        if (award is not None and cause != "return") or (award is None and (cause == "return" or not can_earn or badge.status != "active")):
            continue  # only a return can undo a badge, and a return never earns one
        value = goals.measure(
            session, tenant_id=tenant_id, member_id=member_id, goal=badge.criterion, program=program, history=history
        )
        if value >= badge.criterion["target"] and award is None:
            made += _award(session, kind="badge", definition=badge, member_id=member_id, run="", milestone=0,
                           points=badge.points, reward_key=badge.reward_key, goal=badge.criterion, program=program, now=now)
        elif value < badge.criterion["target"] and award is not None and goals.revocable(badge.criterion):
            _revoke(session, award, reason=f"no longer true after a return ({value} of {badge.criterion['target']})", now=now)
    # The member's progress rows of every challenge, in one read.
    progress = progress_of(session, tenant_id=tenant_id, member_id=member_id) if challenges else {}
    for challenge in challenges:
        made += _measure_challenge(session, challenge=challenge, member_id=member_id, held=held, history=history,
                                   can_earn=can_earn and challenge.status == "active", program=program, now=now,
                                   row=progress.get(challenge.id))
    for streak in streaks:
        made += _measure_streak(session, streak=streak, member_id=member_id, held=held, history=history,
                                can_earn=can_earn and streak.status == "active", program=program, now=now,
                                purchase=purchase if cause == "purchase" else None)
    session.flush()
    # Points these awards gave count towards tiers: the caller publishes them (wafa.bus.handlers).
    return made


def _held(session: Session, *, tenant_id: int, member_id: int) -> dict[tuple[str, int, str, int], AchievementAward]:
    rows = session.execute(
        select(AchievementAward).where(
            AchievementAward.tenant_id == tenant_id, AchievementAward.member_id == member_id, AchievementAward.revoked_at.is_(None)
        )
    ).scalars()
    return {(row.kind, row.definition_id, row.run, row.milestone): row for row in rows}


def _progress_row(session: Session, *, tenant_id: int, challenge_id: int, member_id: int, now: datetime) -> ChallengeProgress:
    insert_unless_exists(
        session, ChallengeProgress,
        {"tenant_id": tenant_id, "challenge_id": challenge_id, "member_id": member_id, "progress": 0, "updated_at": now},
        conflict=["tenant_id", "challenge_id", "member_id"],
    )
    return session.execute(
        select(ChallengeProgress).where(
            ChallengeProgress.tenant_id == tenant_id, ChallengeProgress.challenge_id == challenge_id,
            ChallengeProgress.member_id == member_id,
        )
    ).scalar_one()


def _measure_challenge(
    session: Session, *, challenge: Challenge, member_id: int, held: dict, history: goals.History, can_earn: bool,
    program: ProgramConfig, now: datetime, row: ChallengeProgress | None,
) -> list[AchievementAward]:
    tenant_id = challenge.tenant_id
    if challenge.opt_in and (row is None or row.joined_at is None):
        return []  # not joined: nothing counts
    since, until = window_of(challenge, row)
    value = goals.measure(
        session, tenant_id=tenant_id, member_id=member_id, goal=challenge.goal, program=program, since=since, until=until,
        history=history,
    )
    if row is None:
        if value == 0:
            return []  # no row for members who have done nothing towards it
        row = _progress_row(session, tenant_id=tenant_id, challenge_id=challenge.id, member_id=member_id, now=now)
    if row.progress != value:  # updated_at says when the progress last moved: leaderboard ties go to who got there first
        row.progress, row.updated_at = value, now
    award = held.get(("challenge", challenge.id, "", 0))
    target = challenge.goal["target"]
    if value >= target and award is None and can_earn and now < challenge.ends_at:
        row.completed_at = now
        return _award(session, kind="challenge", definition=challenge, member_id=member_id, run="", milestone=0,
                      points=challenge.points, reward_key=challenge.reward_key, goal=challenge.goal, program=program, now=now)
    if value < target and award is not None and goals.revocable(challenge.goal):
        row.completed_at = None
        _revoke(session, award, reason=f"no longer complete after a return ({value} of {target})", now=now)
    return []


@dataclass(frozen=True, slots=True)
class Bought:
    """A purchase just recorded: when it happened, its currency and amount (minor units)."""

    occurred_at: datetime
    currency: str
    amount: int


def _streak_basis(streak: Streak, program: ProgramConfig) -> str:
    """What a member's runs in a streak, and the milestones paid on them, were computed on: while it is
    unchanged, runs can be extended from the stored row."""
    used = (streak.period, streak.starts_at.isoformat(), streak.min_amount, streak.milestones, program.timezone,
            program.base_currency, sorted(program.earn_rates.items()))
    return hashlib.sha256(repr(used).encode()).hexdigest()


def _qualifies(streak: Streak, program: ProgramConfig, at: datetime, currency: str, money: int) -> bool:
    return at >= streak.starts_at and program.in_base(money, currency) >= streak.min_amount and (money > 0 or streak.min_amount == 0)


def _extend_streak(
    session: Session, *, streak: Streak, row: MemberStreak, member_id: int, held: dict, can_earn: bool, program: ProgramConfig,
    now: datetime, purchase: Bought,
) -> list[AchievementAward] | None:
    """A new purchase in or after the member's last qualifying period only extends (or starts) their last
    run: update the row and pay the milestones that run now reaches. None: the runs must be recomputed
    (a purchase in an earlier period can join two runs)."""
    if not _qualifies(streak, program, purchase.occurred_at, purchase.currency, purchase.amount):
        return []  # changes no period
    period = periods.period_of(purchase.occurred_at, period=streak.period, timezone=program.timezone)
    if row.last_period is not None and period <= row.last_period:
        return [] if period == row.last_period else None
    if row.last_period is not None and periods.next_period(row.last_period, period=streak.period) == period:
        first, length = row.run_start or row.last_period, row.current + 1
    else:
        first, length = period, 1
    row.run_start, row.last_period, row.current, row.longest, row.updated_at = first, period, length, max(row.longest, length), now
    if not can_earn:
        return []
    # Milestones held on this run: an award whose periods (its run's first to the one that reached it)
    # overlap the run, as the full measure matches them.
    reached_here = set()
    for (kind, definition_id, run, milestone), _ in held.items():
        if kind == "streak" and definition_id == streak.id:
            started = reached = date.fromisoformat(run)
            for _ in range(milestone - 1):
                reached = periods.next_period(reached, period=streak.period)
            if reached >= first and started <= period:
                reached_here.add(milestone)
    made: list[AchievementAward] = []
    for milestone in streak.milestones:
        if length >= milestone["length"] and milestone["length"] not in reached_here:
            made += _award(
                session, kind="streak", definition=streak, member_id=member_id, run=first.isoformat(), milestone=milestone["length"],
                points=milestone["points"], reward_key=milestone.get("reward_key"), goal={"metric": "purchases"}, program=program, now=now,
            )
    return made


def _measure_streak(
    session: Session, *, streak: Streak, member_id: int, held: dict, history: goals.History, can_earn: bool,
    program: ProgramConfig, now: datetime, purchase: Bought | None = None,
) -> list[AchievementAward]:
    tenant_id = streak.tenant_id
    basis = _streak_basis(streak, program)
    row = session.execute(
        select(MemberStreak).where(
            MemberStreak.tenant_id == tenant_id, MemberStreak.streak_id == streak.id, MemberStreak.member_id == member_id
        )
    ).scalar_one_or_none()
    if purchase is not None and row is not None and row.basis == basis:
        extended = _extend_streak(session, streak=streak, row=row, member_id=member_id, held=held, can_earn=can_earn,
                                  program=program, now=now, purchase=purchase)
        if extended is not None:
            return extended
    # The whole history since the streak's start: a backdated purchase, a return, a changed streak or rate.
    bought = history.amounts(streak.starts_at)
    found = periods.runs(
        (
            periods.period_of(at, period=streak.period, timezone=program.timezone)
            for at, currency, money in bought
            if program.in_base(money, currency) >= streak.min_amount and (money > 0 or streak.min_amount == 0)
        ),
        period=streak.period,
    )
    # A held milestone belongs to a run that now overlaps the periods it was earned over (its run's
    # first period to the one that reached it): a run that grew backwards (a backdated purchase) or
    # lost its first period (a return) is still the same run. Each run keeps one award per milestone
    # it reaches; the rest are revoked, and what is missing is paid.
    mine = sorted(
        (award for (kind, definition_id, _, _), award in held.items() if kind == "streak" and definition_id == streak.id),
        key=lambda award: award.id,
    )
    kept: set[tuple[date, int]] = set()
    for award in mine:
        started = reached = date.fromisoformat(award.run)
        for _ in range(award.milestone - 1):
            reached = periods.next_period(reached, period=streak.period)
        run = next(
            (r for r in found if r.first <= reached and r.last >= started and r.length >= award.milestone
             and (r.first, award.milestone) not in kept),
            None,
        )
        if run is None:
            _revoke(session, award, reason="the run no longer reaches this milestone", now=now)
        else:
            kept.add((run.first, award.milestone))
    made: list[AchievementAward] = []
    if can_earn:
        for run in found:
            for milestone in streak.milestones:
                if run.length >= milestone["length"] and (run.first, milestone["length"]) not in kept:
                    made += _award(
                        session, kind="streak", definition=streak, member_id=member_id, run=run.first.isoformat(),
                        milestone=milestone["length"], points=milestone["points"], reward_key=milestone.get("reward_key"),
                        goal={"metric": "purchases"}, program=program, now=now,
                    )
    last = found[-1] if found else None
    values = {
        "current": last.length if last else 0, "run_start": last.first if last else None, "last_period": last.last if last else None,
        "longest": max((run.length for run in found), default=0), "updated_at": now, "basis": basis,
    }
    if row is None:
        # The member's accounts are locked: no other transaction inserts this row meanwhile.
        session.add(MemberStreak(tenant_id=tenant_id, streak_id=streak.id, member_id=member_id, **values))
    elif any(getattr(row, name) != value for name, value in values.items() if name != "updated_at"):
        for name, value in values.items():
            setattr(row, name, value)
    return made


def _award(
    session: Session, *, kind: str, definition: Any, member_id: int, run: str, milestone: int, points: int,
    reward_key: str | None, goal: dict[str, Any], program: ProgramConfig, now: datetime,
) -> list[AchievementAward]:
    """Record that a member holds an achievement and give what it gives; nothing if another holds it already."""
    tenant_id = definition.tenant_id
    inserted = insert_unless_exists(
        session, AchievementAward,
        {"tenant_id": tenant_id, "member_id": member_id, "kind": kind, "definition_id": definition.id, "run": run, "milestone": milestone,
         "points": points, "earned_at": now},
        conflict=["tenant_id", "kind", "definition_id", "member_id", "run", "milestone"],
        where=AchievementAward.revoked_at.is_(None), returning=[AchievementAward.id],
    ).first()
    if inserted is None:
        return []
    award = session.get_one(AchievementAward, inserted[0])
    label = {"badge": "badge earned", "challenge": "challenge completed", "streak": f"{milestone} in a row"}[kind]
    if points:
        # Points for what purchases did wait out the return window, as the purchases' own points do.
        hold = goal["metric"] in goals.PURCHASE_METRICS
        available_at = earning.available_at(now, pending_days=program.pending_days) if hold else now
        credit = ledger.credit(
            session, tenant_id=tenant_id, member_id=member_id, points=points, kind="earn", source="issued",
            idempotency_key=f"achievement:{award.id}", reason=f"{label}: {definition.name_en}", now=now,
            available_at=available_at,
            expires_at=earning.expires_at(available_at, policy=program.expiry_policy, periods=program.expiry_periods, timezone=program.timezone),
            details={"achievement_id": award.id, kind: definition.key},
        )
        award.entry_id, award.lot_id = credit.entry_id, credit.lot_id
    outbox.emit(
        session, tenant_id=tenant_id, type_={"badge": "badge.earned", "challenge": "challenge.completed", "streak": "streak.milestone"}[kind],
        member_id=member_id, now=now, payload={
            "key": definition.key, "name_en": definition.name_en, "name_ar": definition.name_ar, "points": points,
            "milestone": milestone if kind == "streak" else None, "award_id": award.id,
        },
    )
    reward = catalog.get_by_key(session, tenant_id=tenant_id, key=reward_key) if reward_key else None
    kept = _reward_kept(session, award=award) if reward is not None else None
    if kept is not None:
        # Earned again after a return took it back, but its reward was used and stayed: not a second one.
        award.redemption_id = kept
    elif reward is not None:
        granted = redemptions.grant(
            session, tenant_id=tenant_id, member_id=member_id, reward=reward, source="achievement",
            source_key=f"achievement:{award.id}", now=now,
        )
        award.redemption_id = granted.id if granted is not None else None
    return [award]


def _reward_kept(session: Session, *, award: AchievementAward) -> int | None:
    """The reward an earlier, revoked holding of the same achievement gave and the member kept (used), if any."""
    earlier = session.execute(
        select(AchievementAward.redemption_id).where(
            AchievementAward.tenant_id == award.tenant_id, AchievementAward.member_id == award.member_id,
            AchievementAward.kind == award.kind, AchievementAward.definition_id == award.definition_id,
            AchievementAward.run == award.run, AchievementAward.milestone == award.milestone,
            AchievementAward.revoked_at.is_not(None), AchievementAward.redemption_id.is_not(None),
        )
    ).scalars().all()
    for redemption_id in earlier:
        assert redemption_id is not None  # the query leaves NULL out
        found = redemptions.get_or_raise(session, tenant_id=award.tenant_id, redemption_id=redemption_id)
        if found.status != "cancelled":
            return redemption_id
    return None


def _revoke(session: Session, award: AchievementAward, *, reason: str, now: datetime) -> None:
    """Take an achievement back: its points clawed back (its own lot first), its reward cancelled if unused."""
    award.revoked_at, award.revoked_reason = now, reason[:200]
    session.flush()
    if award.points and award.entry_id is not None:
        ledger.claw_back(
            session, tenant_id=award.tenant_id, member_id=award.member_id, points=award.points, lot_id=award.lot_id,
            idempotency_key=f"achievement:{award.id}:revoked", reason=f"achievement taken back: {reason}"[:500], now=now,
            details={"achievement_id": award.id}, reverses_entry_id=award.entry_id,
        )
    if award.redemption_id is not None:
        redemptions.revoke_grant(
            session, tenant_id=award.tenant_id, source_key=f"achievement:{award.id}", now=now, reason="achievement taken back"
        )


# Members --------------------------------------------------------------------------------------------

def join(session: Session, *, tenant_id: int, member_id: int, challenge_id: int, now: datetime) -> ChallengeProgress:
    """Join a challenge (needed where it is opt-in); joining twice is joining once."""
    member = members.get_or_raise(session, tenant_id=tenant_id, member_id=member_id)
    members.require_active(member)
    challenge = get_or_raise(session, Challenge, tenant_id=tenant_id, definition_id=challenge_id)
    if challenge.status != "active" or now >= challenge.ends_at:
        raise Conflict("this challenge is over" if now >= challenge.ends_at else "this challenge is archived")
    row = _progress_row(session, tenant_id=tenant_id, challenge_id=challenge.id, member_id=member_id, now=now)
    if row.joined_at is None:
        row.joined_at = now
        row.updated_at = now
        session.flush()
    return row


def awards_of(session: Session, *, tenant_id: int, member_id: int) -> list[AchievementAward]:
    """What a member holds now, oldest first."""
    return list(session.execute(
        select(AchievementAward).where(
            AchievementAward.tenant_id == tenant_id, AchievementAward.member_id == member_id, AchievementAward.revoked_at.is_(None)
        ).order_by(AchievementAward.id)
    ).scalars())


def progress_of(session: Session, *, tenant_id: int, member_id: int) -> dict[int, ChallengeProgress]:
    """A member's progress rows by challenge id."""
    rows = session.execute(
        select(ChallengeProgress).where(ChallengeProgress.tenant_id == tenant_id, ChallengeProgress.member_id == member_id)
    ).scalars()
    return {row.challenge_id: row for row in rows}


def streaks_of(session: Session, *, tenant_id: int, member_id: int) -> dict[int, MemberStreak]:
    """A member's streak rows by streak id."""
    rows = session.execute(
        select(MemberStreak).where(MemberStreak.tenant_id == tenant_id, MemberStreak.member_id == member_id)
    ).scalars()
    return {row.streak_id: row for row in rows}


def streak_now(streak: Streak, row: MemberStreak | None, *, now: datetime, timezone: str) -> tuple[int, bool]:
    """The member's current run in a streak as of now (0 once a period is missed) and whether it is at risk."""
    if row is None or row.last_period is None:
        return 0, False
    today = periods.period_of(now, period=streak.period, timezone=timezone)
    run, at_risk = periods.current(
        [periods.Run(row.run_start or row.last_period, row.last_period, row.current)], today=today, period=streak.period
    )
    return (run.length if run else 0), at_risk


def window_of(challenge: Challenge, row: ChallengeProgress | None) -> tuple[datetime, datetime]:
    """What a challenge counts for a member: its window, from joining when it is opt-in."""
    since = challenge.starts_at
    if challenge.opt_in and row is not None and row.joined_at is not None and row.joined_at > since:
        since = row.joined_at
    return since, challenge.ends_at

