"""Referrals: a new member who enrols with another's referral code is linked to them; the referral
completes when the new member's first qualifying purchase clears the return window, and then both are
rewarded (points, and any catalog reward). Abuse is refused and recorded with the reason.

Refused: an unknown code; self-referral (the new member has the referrer's e-mail, an alias of it, or phone); a new
member who is not new (another member already has their e-mail or phone); a referrer who is not
active; a referrer past the month's limit. A referral whose new member makes no qualifying purchase
within `expire_days` expires. The worker completes and expires referrals.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import quote

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from wafa.bus import dispatch
from wafa.bus.messages import ReferralCompleted
from wafa.config import get_settings
from wafa.db import insert_unless_exists
from wafa.engagement.models import Referral, ReferralPolicy
from wafa.engagement.schemas import ReferralPolicyIn
from wafa.errors import InvalidInput
from wafa.events import purchase_history
from wafa.ledger import service as ledger
from wafa.members import service as members
from wafa.members.models import Member
from wafa.money import to_minor
from wafa.outbox import service as outbox
from wafa.programs import earning
from wafa.programs import service as programs
from wafa.rewards import catalog, redemptions
from wafa.rules import service as rules
from wafa.tenants import service as tenants

DEFAULTS = ReferralPolicyIn(enabled=False)


def policy(session: Session, *, tenant_id: int) -> ReferralPolicy:
    """The program's referral policy (off until one is set)."""
    found = session.get(ReferralPolicy, tenant_id)
    if found is not None:
        return found
    program = programs.get(session, tenant_id=tenant_id)
    values = DEFAULTS.model_dump()
    values["min_purchase"] = to_minor(values["min_purchase"], program.base_currency)
    return ReferralPolicy(tenant_id=tenant_id, **values, updated_at=None)


def set_policy(session: Session, *, tenant_id: int, policy_in: ReferralPolicyIn, now: datetime) -> ReferralPolicy:
    """Set what referrals give and what completes them."""
    program = programs.get(session, tenant_id=tenant_id)
    for field in ("referrer_reward", "referee_reward"):
        key = getattr(policy_in, field)
        if key is not None and catalog.get_by_key(session, tenant_id=tenant_id, key=key) is None:
            raise InvalidInput(f"no reward with key {key!r} in the catalog", field=field)
    values = dict(policy_in.model_dump(), updated_at=now)
    values["min_purchase"] = to_minor(policy_in.min_purchase, program.base_currency, field="min_purchase")
    insert_unless_exists(session, ReferralPolicy, dict(tenant_id=tenant_id, **values), conflict=["tenant_id"])
    found = session.get_one(ReferralPolicy, tenant_id)
    for name, value in values.items():
        setattr(found, name, value)
    session.flush()
    return found


def link(session: Session, *, tenant_id: int, code: str) -> str:
    """A member's referral link: the program's sign-up page with the code, or the member portal's join page."""
    template = policy(session, tenant_id=tenant_id).link_template
    if template:
        return template.replace("{code}", quote(code))
    tenant = tenants.get(session, tenant_id=tenant_id)
    base = get_settings().public_url.rstrip("/")
    return f"{base}/m/{quote(tenant.slug if tenant else str(tenant_id))}/join?ref={quote(code)}"


def on_enrolment(session: Session, *, tenant_id: int, member: Member, code: str, now: datetime) -> Referral:
    """Link a new member to the member whose code they gave, or record why the referral is refused."""
    rules_ = policy(session, tenant_id=tenant_id)
    referrer = members.get_by_referral_code(session, tenant_id=tenant_id, code=code)
    reason = None
    if not rules_.enabled:
        reason = "the program takes no referrals"
    elif referrer is None or referrer.id == member.id:
        reason = "unknown referral code"
    elif rules_.require_contact and not member.email and not member.phone:
        reason = "a referred member needs an e-mail or phone, to tell whether they are new"
    elif members.same_person(member, referrer):
        reason = "self-referral: the new member has the referrer's e-mail (or an alias of it) or phone"
    elif members.known_contact(session, tenant_id=tenant_id, member=member, exclude=referrer.id):
        reason = "not a new customer: another member has this e-mail or phone"
    elif referrer.status != "active":
        reason = f"the referrer is {referrer.status}"
    else:
        # One referral of this referrer at a time from here: the month's count and the new row agree.
        accounts = ledger.member_accounts(session, tenant_id=tenant_id, member_id=referrer.id)
        ledger.lock_accounts(session, tenant_id=tenant_id, account_ids=[accounts["available"]])
        start, end = rules.periods(now, programs.get(session, tenant_id=tenant_id).timezone)["month"]
        made = session.execute(
            select(func.count()).where(
                Referral.tenant_id == tenant_id, Referral.referrer_id == referrer.id, Referral.status != "refused",
                Referral.created_at >= start, Referral.created_at < end,
            )
        ).scalar_one()
        if made >= rules_.max_per_month:
            reason = f"the referrer has made {made} referrals this month, the most allowed"
    referral = Referral(
        tenant_id=tenant_id, referrer_id=referrer.id if referrer is not None else None, referee_id=member.id,
        code=code.strip()[:32], status="refused" if reason else "pending", reason=reason, created_at=now,
    )
    session.add(referral)
    session.flush()
    if reason:
        outbox.emit(session, tenant_id=tenant_id, type_="referral.refused", member_id=member.id, now=now, payload={
            "referral_id": referral.id, "referrer_id": referral.referrer_id, "referee_id": member.id, "reason": reason,
        })
    return referral


def due(session: Session, *, after_id: int, limit: int, tenant_id: int | None = None) -> list[tuple[int, int]]:
    """(tenant, referral) of pending referrals, in id order after a cursor."""
    query = select(Referral.tenant_id, Referral.id).where(Referral.status == "pending", Referral.id > after_id)
    if tenant_id is not None:
        query = query.where(Referral.tenant_id == tenant_id)
    return [(t, i) for t, i in session.execute(query.order_by(Referral.id).limit(limit)).all()]


def settle(session: Session, *, tenant_id: int, referral_id: int, now: datetime) -> str:
    """Complete a pending referral whose new member's qualifying purchase has cleared the return
    window (rewarding both), or expire it; return what happened (completed, expired or pending)."""
    referral = session.execute(
        select(Referral).where(Referral.tenant_id == tenant_id, Referral.id == referral_id).with_for_update()
    ).scalar_one()
    if referral.status != "pending":
        return referral.status
    rules_ = policy(session, tenant_id=tenant_id)
    program = programs.get(session, tenant_id=tenant_id)
    window = timedelta(days=program.pending_days)
    deadline = referral.created_at + timedelta(days=rules_.expire_days)
    # A purchase made after the referral (a day's leeway for a till's clock), before the deadline, whose
    # return window has closed since Wafa heard of it: a backdated purchase does not skip the window.
    purchase = purchase_history.first_purchase_kept(
        session, tenant_id=tenant_id, member_id=referral.referee_id, currency=program.base_currency,
        at_least=max(rules_.min_purchase, 0), occurred_from=referral.created_at - timedelta(days=1),
        occurred_before=min(deadline, now - window + timedelta(microseconds=1)), received_before=now - window,
    )
    if purchase is None:
        in_window = purchase_history.first_purchase_kept(
            session, tenant_id=tenant_id, member_id=referral.referee_id, currency=program.base_currency,
            at_least=max(rules_.min_purchase, 0), occurred_from=referral.created_at - timedelta(days=1), occurred_before=deadline,
        )
        if now >= deadline and in_window is None:
            referral.status, referral.reason = "expired", f"no qualifying purchase within {rules_.expire_days} days"
            session.flush()
            return "expired"
        return "pending"  # no purchase yet, or one made in time still in its return window
    referral.status, referral.purchase_event_id, referral.completed_at = "completed", purchase.id, now
    expires_at = earning.expires_at(now, policy=program.expiry_policy, periods=program.expiry_periods, timezone=program.timezone)
    for who, member_id, points, reward_key in (
        ("referrer", referral.referrer_id, rules_.referrer_points, rules_.referrer_reward),
        ("referee", referral.referee_id, rules_.referee_points, rules_.referee_reward),
    ):
        member = members.get(session, tenant_id=tenant_id, member_id=member_id or 0)
        if member is None or member.status != "active":
            continue  # a referrer closed meanwhile gets nothing; the referral still completes for the other
        if points:
            ledger.credit(
                session, tenant_id=tenant_id, member_id=member.id, points=points, kind="earn", source="issued",
                idempotency_key=f"referral:{referral.id}:{who}", reason=f"referral completed ({who})", now=now,
                available_at=now, expires_at=expires_at, details={"referral_id": referral.id},
            )
        reward = catalog.get_by_key(session, tenant_id=tenant_id, key=reward_key) if reward_key else None
        if reward is not None:
            redemptions.grant(
                session, tenant_id=tenant_id, member_id=member.id, reward=reward, source="referral",
                source_key=f"referral:{referral.id}:{who}", now=now,
            )
    dispatch.publish(session, ReferralCompleted(
        tenant_id, referral.referee_id, now, referral_id=referral.id, referrer_id=referral.referrer_id,
    ))
    for side in [w for w in (referral.referrer_id, referral.referee_id) if w is not None]:
        # One message to each side, so a receiver filtering by member sees its own.
        outbox.emit(session, tenant_id=tenant_id, type_="referral.completed", member_id=side, now=now, payload={
            "referrer_id": referral.referrer_id, "referee_id": referral.referee_id, "referral_id": referral.id,
        })
    session.flush()
    return "completed"


def on_return(session: Session, *, tenant_id: int, purchase_event_id: int, return_event_id: int, now: datetime) -> str | None:
    """After a return: reverse the completed referral this purchase qualified, if it no longer does (less
    than min_purchase kept) within the policy's `reverse_within_days` of completing. Both bonuses are
    clawed back like any return (into debt if spent); rewards granted stay granted. Returns the new status."""
    referral = session.execute(
        select(Referral).where(Referral.tenant_id == tenant_id, Referral.purchase_event_id == purchase_event_id,
                               Referral.status == "completed").with_for_update()
    ).scalar_one_or_none()
    if referral is None or referral.completed_at is None:
        return None
    rules_ = policy(session, tenant_id=tenant_id)
    if not rules_.reverse_within_days or now > referral.completed_at + timedelta(days=rules_.reverse_within_days):
        return None
    program = programs.get(session, tenant_id=tenant_id)
    kept = purchase_history.kept_of(session, tenant_id=tenant_id, event_id=purchase_event_id, currency=program.base_currency)
    if kept is not None and kept >= max(rules_.min_purchase, 1):
        return None  # a partial return that leaves a qualifying purchase
    taken: dict[str, int] = {}
    for who, member_id in (("referrer", referral.referrer_id), ("referee", referral.referee_id)):
        credit = ledger.credit_by_key(session, tenant_id=tenant_id, idempotency_key=f"referral:{referral.id}:{who}")
        if member_id is None or credit is None or credit[1] <= 0:
            continue
        entry_id, points, lot_id = credit
        ledger.claw_back(
            session, tenant_id=tenant_id, member_id=member_id, points=points, lot_id=lot_id, reverses_entry_id=entry_id,
            idempotency_key=f"referral:{referral.id}:{who}:reversed", reason=f"referral reversed ({who}): the qualifying purchase was returned",
            now=now, event_id=return_event_id, details={"referral_id": referral.id},
        )
        taken[who] = points
    referral.status, referral.reason = "reversed", "the qualifying purchase was returned"
    session.flush()
    for side in [w for w in (referral.referrer_id, referral.referee_id) if w is not None]:
        outbox.emit(session, tenant_id=tenant_id, type_="referral.reversed", member_id=side, now=now, payload={
            "referral_id": referral.id, "referrer_id": referral.referrer_id, "referee_id": referral.referee_id,
            "points_taken_back": taken, "reason": referral.reason,
        })
    return "reversed"


def of_member(session: Session, *, tenant_id: int, member_id: int) -> tuple[Referral | None, list[Referral]]:
    """Who referred a member (None), and the member's own referrals, newest first."""
    referred_by = session.execute(
        select(Referral).where(Referral.tenant_id == tenant_id, Referral.referee_id == member_id)
    ).scalar_one_or_none()
    made = session.execute(
        select(Referral).where(Referral.tenant_id == tenant_id, Referral.referrer_id == member_id).order_by(Referral.id.desc())
    ).scalars().all()
    return referred_by, list(made)
