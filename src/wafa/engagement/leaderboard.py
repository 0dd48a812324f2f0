"""Leaderboards: members who opted in, shown by a nickname unique in the program, ranked by their
progress in a challenge (ties: who completed first, then who got there first)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from wafa.db import insert_unless_exists
from wafa.engagement import achievements, goals
from wafa.engagement.models import Challenge, ChallengeProgress, LeaderboardProfile
from wafa.engagement.schemas import Leaderboard, LeaderboardProfileIn, LeaderboardProfileRead, LeaderboardRow
from wafa.errors import Conflict
from wafa.members import service as members
from wafa.programs import service as programs


def nickname_key(nickname: str) -> str:
    """The form two nicknames are compared in: case-folded, spaces squeezed."""
    return " ".join(nickname.casefold().split())


def set_profile(session: Session, *, tenant_id: int, member_id: int, profile_in: LeaderboardProfileIn, now: datetime) -> LeaderboardProfile:
    """Set a member's nickname and whether they appear on leaderboards (opting in takes an active member)."""
    member = members.get_or_raise(session, tenant_id=tenant_id, member_id=member_id)
    if profile_in.opt_in:
        members.require_active(member)
    key = nickname_key(profile_in.nickname)
    taken = session.execute(
        select(LeaderboardProfile.member_id).where(
            LeaderboardProfile.tenant_id == tenant_id, LeaderboardProfile.nickname_key == key,
            LeaderboardProfile.member_id != member_id,
        )
    ).first()
    if taken is not None:
        raise Conflict(f"the nickname {profile_in.nickname!r} is taken")
    values = {"nickname": profile_in.nickname, "nickname_key": key, "opt_in": profile_in.opt_in, "updated_at": now}
    inserted = insert_unless_exists(
        session, LeaderboardProfile, dict(tenant_id=tenant_id, member_id=member_id, **values),
        conflict=["tenant_id", "member_id"], returning=[LeaderboardProfile.member_id],
    ).first()
    found = session.get_one(LeaderboardProfile, (tenant_id, member_id))
    if inserted is None:
        for name, value in values.items():
            setattr(found, name, value)
    session.flush()  # a nickname taken meanwhile by another member fails here, on the unique key
    return found


def withdraw(session: Session, *, tenant_id: int, member_id: int, now: datetime) -> None:
    """Take a member off every leaderboard (suspended or closed); the nickname stays theirs."""
    found = session.get(LeaderboardProfile, (tenant_id, member_id))
    if found is not None and found.opt_in:
        found.opt_in, found.updated_at = False, now
        session.flush()


def profile_read(session: Session, *, tenant_id: int, member_id: int) -> LeaderboardProfileRead:
    """A member's leaderboard profile (no nickname and not shown until one is set)."""
    found = session.get(LeaderboardProfile, (tenant_id, member_id))
    if found is None:
        return LeaderboardProfileRead(member_id=member_id, nickname="", opt_in=False)
    return LeaderboardProfileRead(member_id=member_id, nickname=found.nickname, opt_in=found.opt_in)


def _order():
    # Completed first by time of completion, then the rest by progress; NULL completion sorts last in both databases.
    return (
        ChallengeProgress.progress.desc(), ChallengeProgress.completed_at.is_(None), ChallengeProgress.completed_at,
        ChallengeProgress.updated_at, ChallengeProgress.member_id,
    )


def board(session: Session, *, tenant_id: int, challenge_id: int, limit: int, member_id: int | None) -> Leaderboard:
    """The top `limit` members who opted in, and where `member_id` stands among them."""
    challenge = achievements.get_or_raise(session, Challenge, tenant_id=tenant_id, definition_id=challenge_id)
    currency = programs.get(session, tenant_id=tenant_id).base_currency
    shown = and_(
        LeaderboardProfile.tenant_id == ChallengeProgress.tenant_id, LeaderboardProfile.member_id == ChallengeProgress.member_id,
        LeaderboardProfile.opt_in.is_(True),
    )
    rows = session.execute(
        select(ChallengeProgress, LeaderboardProfile.nickname)
        .join(LeaderboardProfile, shown)
        .where(ChallengeProgress.tenant_id == tenant_id, ChallengeProgress.challenge_id == challenge.id, ChallengeProgress.progress > 0)
        .order_by(*_order())
        .limit(limit)
    ).all()
    out = [
        LeaderboardRow(
            rank=index, nickname=nickname, progress=goals.show(challenge.goal, row.progress, base_currency=currency),
            completed_at=row.completed_at, you=row.member_id == member_id,
        )
        for index, (row, nickname) in enumerate(rows, start=1)
    ]
    you = None
    if member_id is not None:
        members.get_or_raise(session, tenant_id=tenant_id, member_id=member_id)
        mine = session.execute(
            select(ChallengeProgress).where(
                ChallengeProgress.tenant_id == tenant_id, ChallengeProgress.challenge_id == challenge.id,
                ChallengeProgress.member_id == member_id,
            )
        ).scalar_one_or_none()
        if mine is not None and mine.progress > 0:
            ahead = session.execute(
                select(func.count())
                .select_from(ChallengeProgress)
                .join(LeaderboardProfile, shown)
                .where(
                    ChallengeProgress.tenant_id == tenant_id, ChallengeProgress.challenge_id == challenge.id,
                    ChallengeProgress.progress > 0, ChallengeProgress.member_id != member_id,
                    _ahead_of(mine),
                )
            ).scalar_one()
            profile = session.get(LeaderboardProfile, (tenant_id, member_id))
            you = LeaderboardRow(
                rank=ahead + 1, nickname=profile.nickname if profile is not None else "",
                progress=goals.show(challenge.goal, mine.progress, base_currency=currency), completed_at=mine.completed_at, you=True,
            )
    return Leaderboard(
        challenge=challenge.key, target=goals.show(challenge.goal, challenge.goal["target"], base_currency=currency), rows=out, you=you,
    )


def _ahead_of(mine: ChallengeProgress):
    """Rows that sort before `mine` in the leaderboard's order."""
    p = ChallengeProgress
    if mine.completed_at is None:
        same = or_(p.completed_at.is_not(None), and_(p.completed_at.is_(None), _later_tie(mine)))
    else:
        same = or_(
            and_(p.completed_at.is_not(None), p.completed_at < mine.completed_at),
            and_(p.completed_at == mine.completed_at, _later_tie(mine)),
        )
    return or_(p.progress > mine.progress, and_(p.progress == mine.progress, same))


def _later_tie(mine: ChallengeProgress):
    p = ChallengeProgress
    return or_(p.updated_at < mine.updated_at, and_(p.updated_at == mine.updated_at, p.member_id < mine.member_id))
