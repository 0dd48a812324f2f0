"""Which handlers each domain event has, in order (the one place that says what reacts to what).

The order is the program's logic: a purchase first moves the member's tier (points earned count at
once), then measures their badges, challenges and streaks; points an achievement gives count towards
tiers in turn (`PointsEarned`), which may reach a tier whose badges give points again, until nothing
more is earned (each achievement is earned once, so this ends).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from wafa.bus.dispatch import Handler, publish
from wafa.bus.messages import (
    CustomEventRecorded,
    MemberEnrolled,
    Message,
    PointsEarned,
    PurchaseRecorded,
    PurchaseReturned,
    ReferralCompleted,
    TierChanged,
)
from wafa.engagement import achievements, referrals
from wafa.events import member_events
from wafa.members import service as members
from wafa.tiers import returns as tier_returns
from wafa.tiers import service as tiers


def _has_tiers(session: Session, tenant_id: int) -> bool:
    return bool(tiers.tiers_of(session, tenant_id=tenant_id))


def _has_achievements(session: Session, tenant_id: int) -> bool:
    """Whether anything can be earned (active badges, challenges or streaks)."""
    return bool(achievements.definitions(session, tenant_id=tenant_id))


def _had_achievements(session: Session, tenant_id: int) -> bool:
    """Whether anything was ever defined (archived ones too: a return can still take back what they gave)."""
    return achievements.definitions(session, tenant_id=tenant_id).any()


def _always(session: Session, tenant_id: int) -> bool:
    return True


def _demotes_after_returns(session: Session, tenant_id: int) -> bool:
    """Whether a return can demote at once (the program's "demote" policy; cached: "keep" costs nothing)."""
    return tier_returns.demotes(session, tenant_id=tenant_id)


def _measured(session: Session, message: Message, *, member_id: int, cause: str, member: Any = None, locked: bool = False,
              purchase: achievements.Bought | None = None, active: bool | None = None) -> None:
    """Measure a member's achievements after `cause`; the points they give count towards tiers."""
    made = achievements.on_activity(
        session, tenant_id=message.tenant_id, member_id=member_id, cause=cause, now=message.now, member=member, locked=locked,
        purchase=purchase, active=active,
    )
    points = sum(award.points for award in made)
    if points:
        # on_activity locked the member's accounts (or found them locked).
        publish(session, PointsEarned(message.tenant_id, member_id, message.now, points=points, member=member, locked=True))


# Purchases ------------------------------------------------------------------------------------------

def tier_after_purchase(session: Session, message: Message) -> None:
    assert isinstance(message, PurchaseRecorded)
    if message.active:
        # The purchase locked the member's accounts (PurchaseRecorded says so).
        tiers.on_event(session, tenant_id=message.tenant_id, member_id=message.member_id, now=message.now, locked=True)


def achievements_after_purchase(session: Session, message: Message) -> None:
    assert isinstance(message, PurchaseRecorded)
    # The purchase locked the member's accounts whenever the program has achievements.
    _measured(session, message, member_id=message.member_id, cause="purchase", member=message.member, locked=True,
              purchase=achievements.Bought(message.occurred_at, message.currency, message.amount), active=message.active)


def achievements_after_return(session: Session, message: Message) -> None:
    assert isinstance(message, PurchaseReturned)
    _measured(session, message, member_id=message.member_id, cause="return")


def referral_after_return(session: Session, message: Message) -> None:
    """A referral bought then returned is reversed (farming: the bonuses paid, the purchases returned)."""
    assert isinstance(message, PurchaseReturned)
    referrals.on_return(session, tenant_id=message.tenant_id, purchase_event_id=message.purchase_event_id,
                        return_event_id=message.return_event_id, now=message.now)


def tier_after_return(session: Session, message: Message) -> None:
    """A return that undoes a recent upgrade demotes at once. Last: the badge and referral points the
    return took back before count towards tiers too."""
    assert isinstance(message, PurchaseReturned)
    tier_returns.on_return(session, tenant_id=message.tenant_id, member_id=message.member_id, order_id=message.order_id,
                           return_event_id=message.return_event_id, now=message.now)


# Points earned outside a purchase -------------------------------------------------------------------

def tier_after_points(session: Session, message: Message) -> None:
    tiers.on_event(session, tenant_id=message.tenant_id, member_id=message.member_id, now=message.now)


def achievements_after_points(session: Session, message: Message) -> None:
    assert isinstance(message, PointsEarned)
    _measured(session, message, member_id=message.member_id, cause="tier", member=message.member, locked=message.locked)


# Custom and trigger events ---------------------------------------------------------------------------

def tier_after_custom_event(session: Session, message: Message) -> None:
    assert isinstance(message, CustomEventRecorded)
    if message.points and message.active:
        tiers.on_event(session, tenant_id=message.tenant_id, member_id=message.member_id, now=message.now)


def achievements_after_custom_event(session: Session, message: Message) -> None:
    assert isinstance(message, CustomEventRecorded)
    _measured(session, message, member_id=message.member_id, cause=f"event:{message.type}")


# Referrals ------------------------------------------------------------------------------------------

def _both(message: ReferralCompleted) -> list[int]:
    return [who for who in (message.referrer_id, message.member_id) if who is not None]


def tiers_after_referral(session: Session, message: Message) -> None:
    assert isinstance(message, ReferralCompleted)
    for member_id in _both(message):
        member = members.get(session, tenant_id=message.tenant_id, member_id=member_id)
        if member is not None and member.status == "active":
            # Their referral points count towards tiers: an upgrade now, not at their next purchase.
            tiers.on_event(session, tenant_id=message.tenant_id, member_id=member_id, now=message.now)


def achievements_after_referral(session: Session, message: Message) -> None:
    assert isinstance(message, ReferralCompleted)
    if message.referrer_id is not None:
        _measured(session, message, member_id=message.referrer_id, cause="referral")
    _measured(session, message, member_id=message.member_id, cause="tier")


# Tiers ----------------------------------------------------------------------------------------------

def achievements_after_tier_set_by_hand(session: Session, message: Message) -> None:
    """A tier set by hand counts as reached for badges. (Reaching one by qualifying happens inside a
    purchase, a return or points earned, whose handlers measure the tier's badges next anyway.)"""
    assert isinstance(message, TierChanged)
    if message.cause == "manual":
        achievements.on_activity(session, tenant_id=message.tenant_id, member_id=message.member_id, cause="tier", now=message.now)


# Enrolment ------------------------------------------------------------------------------------------

def rules_after_enrolment(session: Session, message: Message) -> None:
    """Welcome and profile bonuses, in the enrolment's transaction: enrolled means rewarded."""
    assert isinstance(message, MemberEnrolled)
    member = message.member or members.get_or_raise(session, tenant_id=message.tenant_id, member_id=message.member_id)
    member_events.member_enrolled(session, tenant_id=message.tenant_id, member=member, now=message.now)
    member_events.profile_changed(session, tenant_id=message.tenant_id, member=member, now=message.now)


def referral_after_enrolment(session: Session, message: Message) -> None:
    assert isinstance(message, MemberEnrolled)
    if message.referral_code is not None:
        member = message.member or members.get_or_raise(session, tenant_id=message.tenant_id, member_id=message.member_id)
        referrals.on_enrolment(session, tenant_id=message.tenant_id, member=member, code=message.referral_code, now=message.now)


HANDLERS: dict[type[Message], list[Handler]] = {
    PurchaseRecorded: [Handler(tier_after_purchase, _has_tiers), Handler(achievements_after_purchase, _has_achievements)],
    PurchaseReturned: [
        Handler(achievements_after_return, _had_achievements), Handler(referral_after_return, _always),
        Handler(tier_after_return, _demotes_after_returns),
    ],
    PointsEarned: [Handler(tier_after_points, _has_tiers), Handler(achievements_after_points, _has_achievements)],
    CustomEventRecorded: [Handler(tier_after_custom_event, _has_tiers), Handler(achievements_after_custom_event, _has_achievements)],
    ReferralCompleted: [Handler(tiers_after_referral, _has_tiers), Handler(achievements_after_referral, _has_achievements)],
    TierChanged: [Handler(achievements_after_tier_set_by_hand, _has_achievements)],
    MemberEnrolled: [Handler(rules_after_enrolment, _always), Handler(referral_after_enrolment, _always)],
}
