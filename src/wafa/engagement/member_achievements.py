"""What a member holds and how far they have come: earned badges and progress towards the others,
challenges with progress, streaks as of now."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from wafa.engagement import achievements, goals
from wafa.engagement.models import Badge, Challenge, Streak
from wafa.engagement.schemas import Achievements, BadgeProgress, EarnedBadge, MemberChallenge, MemberStreakRead
from wafa.members import service as members
from wafa.programs import service as programs


def names(row) -> dict[str, str]:
    """A definition's names by language."""
    return {"en": row.name_en, "ar": row.name_ar}


def descriptions(row) -> dict[str, str | None]:
    """A definition's descriptions by language."""
    return {"en": row.description_en, "ar": row.description_ar}


def of_member(session: Session, *, tenant_id: int, member_id: int, now: datetime) -> Achievements:
    """Earned badges and progress towards the others, challenges (not archived) with progress, streaks."""
    members.get_or_raise(session, tenant_id=tenant_id, member_id=member_id)
    program = programs.get(session, tenant_id=tenant_id)
    currency = program.base_currency
    held = achievements.awards_of(session, tenant_id=tenant_id, member_id=member_id)
    badges = {b.id: b for b in achievements.list_(session, Badge, tenant_id=tenant_id)}
    earned_ids = {a.definition_id for a in held if a.kind == "badge"}
    earned = [
        EarnedBadge(key=badges[a.definition_id].key, name=names(badges[a.definition_id]),
                    description=descriptions(badges[a.definition_id]), image_url=badges[a.definition_id].image_url,
                    earned_at=a.earned_at, points=a.points)
        for a in held if a.kind == "badge"
    ]
    in_progress = []
    for badge in badges.values():
        if badge.status != "active" or badge.id in earned_ids:
            continue
        value = goals.measure(session, tenant_id=tenant_id, member_id=member_id, goal=badge.criterion, program=program)
        in_progress.append(BadgeProgress(
            key=badge.key, name=names(badge), image_url=badge.image_url,
            progress=goals.show(badge.criterion, min(value, badge.criterion["target"]), base_currency=currency),
            target=goals.show(badge.criterion, badge.criterion["target"], base_currency=currency),
        ))
    progress = achievements.progress_of(session, tenant_id=tenant_id, member_id=member_id)
    completed = {a.definition_id: a for a in held if a.kind == "challenge"}
    challenges = []
    for challenge in achievements.list_(session, Challenge, tenant_id=tenant_id):
        if challenge.status != "active":
            continue
        row = progress.get(challenge.id)
        value = row.progress if row is not None else 0
        challenges.append(MemberChallenge(
            key=challenge.key, name=names(challenge), state=achievements.state_of(challenge, now), starts_at=challenge.starts_at,
            ends_at=challenge.ends_at, opt_in=challenge.opt_in, joined=row is not None and row.joined_at is not None,
            progress=goals.show(challenge.goal, value, base_currency=currency),
            target=goals.show(challenge.goal, challenge.goal["target"], base_currency=currency),
            completed_at=completed[challenge.id].earned_at if challenge.id in completed else None,
            points=challenge.points, reward_key=challenge.reward_key,
        ))
    rows = achievements.streaks_of(session, tenant_id=tenant_id, member_id=member_id)
    streaks = []
    for streak in achievements.list_(session, Streak, tenant_id=tenant_id):
        if streak.status != "active":
            continue
        streak_row = rows.get(streak.id)
        current, at_risk = achievements.streak_now(streak, streak_row, now=now, timezone=program.timezone)
        streaks.append(MemberStreakRead(
            key=streak.key, name=names(streak), period=streak.period, current=current, at_risk=at_risk,
            longest=streak_row.longest if streak_row is not None else 0,
            run_start=streak_row.run_start if streak_row is not None and current else None,
            last_period=streak_row.last_period if streak_row is not None else None,
            next_milestone=next((m["length"] for m in streak.milestones if m["length"] > current), None),
        ))
    return Achievements(member_id=member_id, badges=earned, badges_in_progress=in_progress, challenges=challenges, streaks=streaks)
