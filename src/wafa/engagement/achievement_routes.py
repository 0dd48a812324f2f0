"""HTTP: badges, challenges and streaks (admin), a member's achievements, joining a challenge, the
leaderboard and the nickname a member shows on it."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session

from wafa.api.deps import Context, IdPath, require
from wafa.engagement import achievements, goals, leaderboard, member_achievements
from wafa.engagement.member_achievements import descriptions, names
from wafa.engagement.models import Badge, Challenge, Streak
from wafa.engagement.schemas import (
    Achievements,
    BadgeIn,
    BadgePage,
    BadgeRead,
    BadgeUpdate,
    ChallengeIn,
    ChallengePage,
    ChallengeRead,
    ChallengeUpdate,
    Leaderboard,
    LeaderboardProfileIn,
    LeaderboardProfileRead,
    MemberChallenge,
    Milestone,
    StreakIn,
    StreakPage,
    StreakRead,
    StreakUpdate,
)
from wafa.members import service as members
from wafa.money import to_major
from wafa.programs import service as programs
from wafa.tenants.service import Principal

router = APIRouter(prefix="/v1", tags=["achievements"])


def _badge_read(badge: Badge, currency: str, holders: dict[int, int]) -> BadgeRead:
    return BadgeRead(
        id=badge.id, key=badge.key, name=names(badge), description=descriptions(badge), image_url=badge.image_url,
        criterion=goals.to_read(badge.criterion, base_currency=currency), points=badge.points, reward_key=badge.reward_key,
        status=badge.status, holders=holders.get(badge.id, 0),
        created_at=badge.created_at,
    )


def _challenge_read(challenge: Challenge, currency: str, now: datetime, completed: dict[int, int]) -> ChallengeRead:
    return ChallengeRead(
        id=challenge.id, key=challenge.key, name=names(challenge), description=descriptions(challenge),
        image_url=challenge.image_url, goal=goals.to_read(challenge.goal, base_currency=currency), starts_at=challenge.starts_at,
        ends_at=challenge.ends_at, opt_in=challenge.opt_in, points=challenge.points, reward_key=challenge.reward_key,
        status=challenge.status, state=achievements.state_of(challenge, now),
        completed=completed.get(challenge.id, 0),
        created_at=challenge.created_at,
    )


def _streak_read(streak: Streak, currency: str) -> StreakRead:
    return StreakRead(
        id=streak.id, key=streak.key, name=names(streak), period=streak.period, min_amount=to_major(streak.min_amount, currency),
        starts_at=streak.starts_at, milestones=[Milestone(**m) for m in streak.milestones], status=streak.status,
        created_at=streak.created_at,
    )


def _holders(session: Session, tenant_id: int, kind: str) -> dict[int, int]:
    return achievements.holders(session, tenant_id=tenant_id, kind=kind)


def _currency(session: Session, tenant_id: int) -> str:
    return programs.get(session, tenant_id=tenant_id).base_currency


@router.post("/badges", status_code=201, response_model=BadgeRead, summary="Add a badge (admin)")
def create_badge(request: Request, badge_in: BadgeIn, principal: Principal = Depends(require("admin"))) -> BadgeRead:
    """A badge is earned once, when its criterion over the member's whole history holds: purchases,
    spend (optionally in one category), different categories, custom events such as reviews, completed
    referrals, or a tier reached."""
    ctx = Context(request)
    with ctx.transaction() as session:
        badge = achievements.create_badge(session, tenant_id=principal.tenant_id, badge_in=badge_in, now=ctx.now())
        return _badge_read(badge, _currency(session, principal.tenant_id), _holders(session, principal.tenant_id, "badge"))


@router.get("/badges", response_model=BadgePage, summary="The badges, archived ones too")
def list_badges(request: Request, principal: Principal = Depends(require("read"))) -> BadgePage:
    ctx = Context(request)
    with ctx.transaction() as session:
        currency = _currency(session, principal.tenant_id)
        holders = _holders(session, principal.tenant_id, "badge")
        return BadgePage(items=[_badge_read(b, currency, holders) for b in achievements.list_(session, Badge, tenant_id=principal.tenant_id)])


@router.patch("/badges/{badge_id}", response_model=BadgeRead, summary="Rename, describe or archive a badge (admin)")
def update_badge(request: Request, badge_id: IdPath, changes: BadgeUpdate, principal: Principal = Depends(require("admin"))) -> BadgeRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        badge = achievements.update(session, Badge, tenant_id=principal.tenant_id, definition_id=badge_id, changes=changes, now=ctx.now())
        return _badge_read(badge, _currency(session, principal.tenant_id), _holders(session, principal.tenant_id, "badge"))


@router.post("/challenges", status_code=201, response_model=ChallengeRead, summary="Add a challenge (admin)")
def create_challenge(request: Request, challenge_in: ChallengeIn, principal: Principal = Depends(require("admin"))) -> ChallengeRead:
    """A time-boxed goal: what members do between `starts_at` and `ends_at` counts (from joining, when
    `opt_in`); reaching the target while it is open completes it once."""
    ctx = Context(request)
    with ctx.transaction() as session:
        challenge = achievements.create_challenge(session, tenant_id=principal.tenant_id, challenge_in=challenge_in, now=ctx.now())
        return _challenge_read(challenge, _currency(session, principal.tenant_id), ctx.now(), _holders(session, principal.tenant_id, "challenge"))


@router.get("/challenges", response_model=ChallengePage, summary="The challenges, archived ones too")
def list_challenges(request: Request, principal: Principal = Depends(require("read"))) -> ChallengePage:
    ctx = Context(request)
    with ctx.transaction() as session:
        currency, now = _currency(session, principal.tenant_id), ctx.now()
        found = achievements.list_(session, Challenge, tenant_id=principal.tenant_id)
        completed = _holders(session, principal.tenant_id, "challenge")
        return ChallengePage(items=[_challenge_read(c, currency, now, completed) for c in found])


@router.patch("/challenges/{challenge_id}", response_model=ChallengeRead, summary="Rename, move the end of, or archive a challenge (admin)")
def update_challenge(
    request: Request, challenge_id: IdPath, changes: ChallengeUpdate, principal: Principal = Depends(require("admin"))
) -> ChallengeRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        challenge = achievements.update(
            session, Challenge, tenant_id=principal.tenant_id, definition_id=challenge_id, changes=changes, now=ctx.now()
        )
        return _challenge_read(challenge, _currency(session, principal.tenant_id), ctx.now(), _holders(session, principal.tenant_id, "challenge"))


@router.get("/challenges/{challenge_id}/leaderboard", response_model=Leaderboard,
            summary="A challenge's leaderboard (members who opted in, by nickname)")
def get_leaderboard(
    request: Request, challenge_id: IdPath, limit: int = Query(10, ge=1, le=100),
    member_id: int | None = Query(None, ge=1, le=2**63 - 1, description="also rank this member, even if not shown"),
    principal: Principal = Depends(require("read")),
) -> Leaderboard:
    """Best progress first; among equals, who completed first. Only members who chose a nickname and
    opted in are listed; nothing else about them is shown."""
    ctx = Context(request)
    with ctx.transaction() as session:
        return leaderboard.board(session, tenant_id=principal.tenant_id, challenge_id=challenge_id, limit=limit, member_id=member_id)


@router.post("/streaks", status_code=201, response_model=StreakRead, summary="Add a streak (admin)")
def create_streak(request: Request, streak_in: StreakIn, principal: Principal = Depends(require("admin"))) -> StreakRead:
    """Consecutive weeks (Monday to Sunday) or months, in the program's time zone, each with a
    qualifying purchase; a milestone pays once per run; a missed period starts a new run."""
    ctx = Context(request)
    with ctx.transaction() as session:
        streak = achievements.create_streak(session, tenant_id=principal.tenant_id, streak_in=streak_in, now=ctx.now())
        return _streak_read(streak, _currency(session, principal.tenant_id))


@router.get("/streaks", response_model=StreakPage, summary="The streaks, archived ones too")
def list_streaks(request: Request, principal: Principal = Depends(require("read"))) -> StreakPage:
    ctx = Context(request)
    with ctx.transaction() as session:
        currency = _currency(session, principal.tenant_id)
        return StreakPage(items=[_streak_read(s, currency) for s in achievements.list_(session, Streak, tenant_id=principal.tenant_id)])


@router.patch("/streaks/{streak_id}", response_model=StreakRead, summary="Rename or archive a streak (admin)")
def update_streak(request: Request, streak_id: IdPath, changes: StreakUpdate, principal: Principal = Depends(require("admin"))) -> StreakRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        streak = achievements.update(session, Streak, tenant_id=principal.tenant_id, definition_id=streak_id, changes=changes, now=ctx.now())
        return _streak_read(streak, _currency(session, principal.tenant_id))


@router.get("/members/{member_id}/achievements", response_model=Achievements, summary="A member's badges, challenges and streaks")
def get_member_achievements(request: Request, member_id: IdPath, principal: Principal = Depends(require("read"))) -> Achievements:
    ctx = Context(request)
    with ctx.transaction() as session:
        return member_achievements.of_member(session, tenant_id=principal.tenant_id, member_id=member_id, now=ctx.now())


@router.post("/members/{member_id}/challenges/{challenge_id}/join", response_model=MemberChallenge, summary="Join a challenge")
def join_challenge(
    request: Request, member_id: IdPath, challenge_id: IdPath, principal: Principal = Depends(require("members:write"))
) -> MemberChallenge:
    """Needed for opt-in challenges (only what the member does after joining counts); joining twice is joining once."""
    ctx = Context(request)
    with ctx.transaction() as session:
        achievements.join(session, tenant_id=principal.tenant_id, member_id=member_id, challenge_id=challenge_id, now=ctx.now())
        found = member_achievements.of_member(session, tenant_id=principal.tenant_id, member_id=member_id, now=ctx.now())
        challenge = achievements.get_or_raise(session, Challenge, tenant_id=principal.tenant_id, definition_id=challenge_id)
        return next(c for c in found.challenges if c.key == challenge.key)


@router.get("/members/{member_id}/leaderboard-profile", response_model=LeaderboardProfileRead, summary="A member's leaderboard nickname and choice")
def get_profile(request: Request, member_id: IdPath, principal: Principal = Depends(require("read"))) -> LeaderboardProfileRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        members.get_or_raise(session, tenant_id=principal.tenant_id, member_id=member_id)
        return leaderboard.profile_read(session, tenant_id=principal.tenant_id, member_id=member_id)


@router.put("/members/{member_id}/leaderboard-profile", response_model=LeaderboardProfileRead,
            summary="Choose a nickname and opt in or out of leaderboards")
def put_profile(
    request: Request, member_id: IdPath, profile_in: LeaderboardProfileIn, principal: Principal = Depends(require("members:write"))
) -> LeaderboardProfileRead:
    """A nickname is unique in the program regardless of case and spacing; opting out hides the member from every leaderboard at once."""
    ctx = Context(request)
    with ctx.transaction() as session:
        leaderboard.set_profile(session, tenant_id=principal.tenant_id, member_id=member_id, profile_in=profile_in, now=ctx.now())
        return leaderboard.profile_read(session, tenant_id=principal.tenant_id, member_id=member_id)
