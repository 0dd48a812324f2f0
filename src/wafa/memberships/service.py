"""Paid memberships: plans on sale, subscriptions, payments the shop's provider reports (Wafa never sees
card data), renewals falling due, grace, lapses and cancellations, and the plan's benefits.

A membership without a trial is `incomplete` until its first payment. At the end of a period the
worker makes it `past_due` (the shop charges and reports the payment) and, if nothing is paid within
the plan's grace days, `lapsed`. Benefits (an earn multiplier, monthly points, flags) apply while a
membership is trialing, active or past due.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from wafa import cache
from wafa.bus import dispatch
from wafa.bus.messages import PointsEarned
from wafa.errors import Conflict, InvalidInput, NotFound
from wafa.ledger import service as ledger
from wafa.members import service as members
from wafa.memberships.models import Membership, MembershipLog, MembershipPayment, Plan
from wafa.memberships.schemas import PaymentIn, PlanIn, PlanUpdate
from wafa.money import to_major, to_minor
from wafa.outbox import service as outbox
from wafa.programs import earning
from wafa.programs import service as programs
from wafa.tiers.qualification import add_months

LIVE = ("incomplete", "trialing", "active", "past_due")
IN_FORCE = ("trialing", "active", "past_due")
# An unpaid subscription waits this long for its first payment, then ends.
INCOMPLETE_DAYS = 7


def has_plans(session: Session, *, tenant_id: int) -> bool:
    """Whether the program sells memberships (cached: every purchase asks)."""
    return cache.get(
        session, tenant_id=tenant_id, name="plans",
        load=lambda: session.execute(select(Plan.id).where(Plan.tenant_id == tenant_id).limit(1)).first() is not None,
    )


# What the log's entries tell the outside world (the outbox's membership.* messages).
_ANNOUNCED = {
    "subscribed": "membership.subscribed", "activated": "membership.renewed", "converted": "membership.renewed",
    "renewed": "membership.renewed", "resumed": "membership.renewed", "renewal_due": "membership.renewal_due",
    "payment_failed": "membership.payment_failed", "lapsed": "membership.lapsed", "expired_unpaid": "membership.lapsed",
    "cancelled": "membership.cancelled",
}


def _log(session: Session, membership: Membership, type_: str, now: datetime, **details: object) -> None:
    session.add(MembershipLog(
        tenant_id=membership.tenant_id, membership_id=membership.id, member_id=membership.member_id, type=type_,
        details=details or None, at=now,
    ))
    if type_ in _ANNOUNCED:
        outbox.emit(session, tenant_id=membership.tenant_id, type_=_ANNOUNCED[type_], member_id=membership.member_id, now=now, payload={
            "membership_id": membership.id, "plan_id": membership.plan_id, "status": membership.status, "event": type_,
            "period_end": membership.period_end, "details": details or None,
        })


def create_plan(session: Session, *, tenant_id: int, plan_in: PlanIn, now: datetime) -> Plan:
    """Put a plan on sale."""
    if session.execute(select(Plan.id).where(Plan.tenant_id == tenant_id, Plan.key == plan_in.key)).first():
        raise Conflict(f"a plan with key {plan_in.key!r} exists", field="key")
    currency = (plan_in.currency or programs.get(session, tenant_id=tenant_id).base_currency).upper()
    plan = Plan(
        tenant_id=tenant_id, key=plan_in.key, name_en=plan_in.name_en, name_ar=plan_in.name_ar, interval=plan_in.interval,
        price=to_minor(plan_in.price, currency, field="price", allow_zero=False), currency=currency,
        trial_days=plan_in.trial_days, grace_days=plan_in.grace_days, benefits=plan_in.benefits.model_dump(), status="active",
        created_at=now,
    )
    session.add(plan)
    session.flush()
    cache.changed(session, tenant_id=tenant_id, name="plans")
    return plan


def list_plans(session: Session, *, tenant_id: int) -> list[Plan]:
    return list(session.execute(select(Plan).where(Plan.tenant_id == tenant_id).order_by(Plan.id)).scalars())


def plan_of(session: Session, membership: Membership) -> Plan:
    return session.execute(select(Plan).where(Plan.tenant_id == membership.tenant_id, Plan.id == membership.plan_id)).scalar_one()


def get_or_raise(session: Session, *, tenant_id: int, membership_id: int, lock: bool = False) -> Membership:
    query = select(Membership).where(Membership.tenant_id == tenant_id, Membership.id == membership_id)
    if lock:
        query = query.with_for_update()
    found = session.execute(query.execution_options(populate_existing=True)).scalar_one_or_none()
    if found is None:
        raise NotFound(f"membership {membership_id} not found", field="membership_id")
    return found


def _next_end(start: datetime, anchor: datetime, plan: Plan, timezone: str) -> datetime:
    """The end of the period that starts at `start`: the anchor's day of the month, one interval on (a
    member who first paid on 31 March renews on 30 April, then 31 May: the day never drifts)."""
    step = 1 if plan.interval == "month" else 12
    zone = ZoneInfo(timezone)
    a, s = anchor.astimezone(zone), start.astimezone(zone)
    k = max(1, ((s.year - a.year) * 12 + s.month - a.month) // step + 1)
    end = add_months(anchor, k * step, timezone)
    while end <= start:
        k += 1
        end = add_months(anchor, k * step, timezone)
    return end


def subscribe(session: Session, *, tenant_id: int, member_id: int, plan_key: str, now: datetime) -> Membership:
    """Start a membership: trialing if the plan has a trial, else incomplete until its first payment."""
    member = members.get_or_raise(session, tenant_id=tenant_id, member_id=member_id)
    members.require_active(member)
    plan = session.execute(select(Plan).where(Plan.tenant_id == tenant_id, Plan.key == plan_key)).scalar_one_or_none()
    if plan is None or plan.status != "active":
        raise NotFound(f"no plan {plan_key!r} on sale", field="plan")
    accounts = ledger.member_accounts(session, tenant_id=tenant_id, member_id=member_id)
    ledger.lock_accounts(session, tenant_id=tenant_id, account_ids=[accounts["available"]])  # one subscription at a time
    live = session.execute(
        select(Membership.id).where(Membership.tenant_id == tenant_id, Membership.member_id == member_id, Membership.status.in_(LIVE))
    ).first()
    if live is not None:
        raise Conflict(f"member {member_id} already has membership {live[0]}", field="plan")
    # One trial per member and plan: a member who had this plan before starts unpaid.
    had_it = session.execute(
        select(Membership.id).where(
            Membership.tenant_id == tenant_id, Membership.member_id == member_id,
            (Membership.plan_id == plan.id) | (Membership.trial_plan_id == plan.id),
        )
    ).first() is not None
    trial = plan.trial_days > 0 and not had_it
    membership = Membership(
        tenant_id=tenant_id, member_id=member_id, plan_id=plan.id, status="trialing" if trial else "incomplete",
        trial_plan_id=plan.id if trial else None,
        period_start=now if trial else None, period_end=now + timedelta(days=plan.trial_days) if trial else None,
        cancel_at_period_end=False, created_at=now, updated_at=now,
    )
    membership.due_at = membership.period_end if trial else now + timedelta(days=INCOMPLETE_DAYS)
    session.add(membership)
    session.flush()
    _log(session, membership, "subscribed", now, plan=plan.key, trial_days=plan.trial_days if trial else 0)
    session.flush()
    return membership


def record_payment(
    session: Session, *, tenant_id: int, membership_id: int, key: str, payment_in: PaymentIn, now: datetime
) -> tuple[MembershipPayment, bool]:
    """Record what the payment provider reported; a paid one starts or renews the period. (payment, replayed)"""
    membership = get_or_raise(session, tenant_id=tenant_id, membership_id=membership_id, lock=True)
    earlier = session.execute(
        select(MembershipPayment).where(
            MembershipPayment.tenant_id == tenant_id, MembershipPayment.membership_id == membership_id, MembershipPayment.key == key
        )
    ).scalar_one_or_none()
    if earlier is None and payment_in.provider_ref and payment_in.status == "paid":
        # The provider's reference names one charge: reported again under another key, it is the same payment.
        earlier = session.execute(
            select(MembershipPayment).where(
                MembershipPayment.tenant_id == tenant_id, MembershipPayment.membership_id == membership_id,
                MembershipPayment.provider_ref == payment_in.provider_ref, MembershipPayment.status == "paid",
            )
        ).scalars().first()
    plan = plan_of(session, membership)
    if membership.next_plan_id is not None:
        # A change of plan scheduled for the next period: its charge (paid or failed) is at the new plan's price.
        plan = session.get_one(Plan, membership.next_plan_id)
    currency = payment_in.currency.upper()
    amount = to_minor(payment_in.amount, currency)
    if earlier is not None:
        if (earlier.status, earlier.amount, earlier.currency) != (payment_in.status, amount, currency):
            raise Conflict("this payment was recorded with other details", field="Idempotency-Key")
        return earlier, True
    if membership.status not in LIVE:
        raise Conflict(f"membership {membership_id} is {membership.status}", membership_status=membership.status)
    member = members.get(session, tenant_id=tenant_id, member_id=membership.member_id)
    if member is None or member.status == "closed":
        # A suspended member's charge is still recorded (the provider has taken the money); a closed one has no membership.
        raise Conflict(f"member {membership.member_id} is {member.status if member else 'gone'}", membership_status=membership.status)
    if (amount, currency) != (plan.price, plan.currency):
        raise InvalidInput(f"the {plan.name_en} plan costs {to_major(plan.price, plan.currency)} {plan.currency}", field="amount")
    payment = MembershipPayment(
        tenant_id=tenant_id, membership_id=membership_id, key=key, status=payment_in.status, amount=amount, currency=currency,
        provider_ref=payment_in.provider_ref, created_at=now,
    )
    if payment_in.status == "failed":
        session.add(payment)
        _log(session, membership, "payment_failed", now, provider_ref=payment_in.provider_ref)
        session.flush()
        return payment, False
    timezone = programs.get(session, tenant_id=tenant_id).timezone
    # A first payment starts now (or when the trial ends); a renewal continues the period that fell due.
    # (paid during a trial: from the trial's end).
    if (membership.status == "incomplete" or membership.period_end is None
            or (membership.status == "trialing" and membership.period_end <= now)):
        start = now
    else:
        start = membership.period_end
    if membership.next_plan_id is not None:
        previous = plan_of(session, membership)
        _log(session, membership, "plan_changed", now, plan=plan.key, previous=previous.key, when="period_end")
        if previous.interval != plan.interval:
            membership.billing_anchor = None  # a year bought on 1 April runs to 1 April, whatever the months did
        membership.plan_id, membership.next_plan_id = plan.id, None
    if membership.billing_anchor is None:
        membership.billing_anchor = start
    end = _next_end(start, membership.billing_anchor, plan, timezone)
    payment.period_start, payment.period_end = start, end
    session.add(payment)
    event = {"incomplete": "activated", "trialing": "converted"}.get(membership.status, "renewed")
    if membership.cancel_at_period_end:
        membership.cancel_at_period_end = False  # paying again resumes a membership set to end
        event = "resumed"
    membership.status = "active"
    membership.period_start, membership.period_end = start, end
    membership.grace_until = None
    membership.due_at = end
    membership.updated_at = now
    _log(session, membership, event, now, period_end=end.isoformat())
    session.flush()
    grant_monthly_points(session, membership=membership, now=now)
    return payment, False


def next_plan_key(session: Session, membership: Membership) -> str | None:
    """The key of the plan a scheduled change moves the membership to (None without one)."""
    return session.get_one(Plan, membership.next_plan_id).key if membership.next_plan_id is not None else None


def change_plan(session: Session, *, tenant_id: int, membership_id: int, plan_key: str, when: str, now: datetime) -> Membership:
    """Move a live membership to another plan on sale: from the next paid period (`period_end`), or now.
    Naming the current plan drops a scheduled change."""
    membership = get_or_raise(session, tenant_id=tenant_id, membership_id=membership_id, lock=True)
    if membership.status not in LIVE:
        raise Conflict(f"membership {membership_id} is {membership.status}", membership_status=membership.status)
    current = plan_of(session, membership)
    target = session.execute(select(Plan).where(Plan.tenant_id == tenant_id, Plan.key == plan_key)).scalar_one_or_none()
    if target is None:
        raise NotFound(f"no plan {plan_key!r}", field="plan")
    if target.id == current.id:
        if membership.next_plan_id is not None:
            _log(session, membership, "plan_change_dropped", now, plan=next_plan_key(session, membership))
            membership.next_plan_id, membership.updated_at = None, now
            session.flush()
        return membership
    if target.status != "active":
        raise NotFound(f"no plan {plan_key!r} on sale", field="plan")
    if membership.status == "trialing":
        when = "period_end"  # a trial is of its own plan: the change applies when it converts to paid
    if when == "now" or membership.status == "incomplete":
        # Nothing paid yet, or the new plan's benefits at once: the period stays, the next payment is at its price.
        _log(session, membership, "plan_changed", now, plan=target.key, previous=current.key, when="now")
        if target.interval != current.interval:
            membership.billing_anchor = None  # the next paid period anchors the new interval's billing day
        membership.plan_id, membership.next_plan_id = target.id, None
    else:
        membership.next_plan_id = target.id
        at = membership.period_end.isoformat() if membership.period_end else None
        _log(session, membership, "plan_change_scheduled", now, plan=target.key, at=at)
    membership.updated_at = now
    session.flush()
    return membership


def cancel(session: Session, *, tenant_id: int, membership_id: int, at_period_end: bool, now: datetime) -> Membership:
    """Cancel at the end of the paid period (benefits to the end), or now."""
    membership = get_or_raise(session, tenant_id=tenant_id, membership_id=membership_id, lock=True)
    if membership.status not in LIVE:
        raise Conflict(f"membership {membership_id} is {membership.status}", membership_status=membership.status)
    if at_period_end and membership.status in ("active", "trialing"):
        membership.cancel_at_period_end = True
        _log(session, membership, "cancel_scheduled", now, at=membership.period_end.isoformat() if membership.period_end else None)
    else:
        membership.status, membership.ended_at, membership.due_at = "cancelled", now, None
        _log(session, membership, "cancelled", now)
    membership.updated_at = now
    session.flush()
    return membership


def due(session: Session, *, now: datetime, after_id: int, limit: int, tenant_id: int | None = None) -> list[tuple[int, int]]:
    query = select(Membership.tenant_id, Membership.id).where(
        Membership.status.in_(LIVE), Membership.due_at <= now, Membership.id > after_id
    )
    if tenant_id is not None:
        query = query.where(Membership.tenant_id == tenant_id)
    return [(t, i) for t, i in session.execute(query.order_by(Membership.id).limit(limit)).all()]


def run_due(session: Session, *, tenant_id: int, membership_id: int, now: datetime) -> str:
    """End a period: cancel what was to end, put the rest past due (the renewal falls due), lapse what
    stayed unpaid through the grace. Return what happened."""
    membership = get_or_raise(session, tenant_id=tenant_id, membership_id=membership_id, lock=True)
    if membership.due_at is None or membership.due_at > now or membership.status not in LIVE:
        return "none"
    plan = plan_of(session, membership)
    if membership.status == "incomplete":
        membership.status, membership.ended_at, membership.due_at = "cancelled", now, None
        _log(session, membership, "expired_unpaid", now)
        outcome = "cancelled"
    elif membership.status in ("active", "trialing"):
        if membership.cancel_at_period_end:
            membership.status, membership.ended_at, membership.due_at = "cancelled", membership.period_end, None
            _log(session, membership, "cancelled", now)
            outcome = "cancelled"
        else:
            grace = (membership.period_end or now) + timedelta(days=plan.grace_days)
            membership.status, membership.grace_until, membership.due_at = "past_due", grace, grace
            due_plan = session.get_one(Plan, membership.next_plan_id) if membership.next_plan_id is not None else plan
            _log(session, membership, "renewal_due", now, plan=due_plan.key, amount=to_major(due_plan.price, due_plan.currency),
                 currency=due_plan.currency, grace_until=grace.isoformat())
            outcome = "past_due"
    else:
        membership.status, membership.ended_at, membership.due_at = "lapsed", membership.grace_until or now, None
        _log(session, membership, "lapsed", now)
        outcome = "lapsed"
    membership.updated_at = now
    session.flush()
    return outcome


def grant_monthly_points(session: Session, *, membership: Membership, now: datetime) -> int:
    """Credit the plan's monthly points for the current local month, once, to a paid-up membership
    (not during a trial, nor a grace period: the points come when the renewal is paid); return them."""
    plan = plan_of(session, membership)
    points = int((plan.benefits or {}).get("monthly_points") or 0)
    if not points or membership.status != "active":
        return 0
    program = programs.get(session, tenant_id=membership.tenant_id)
    month = now.astimezone(ZoneInfo(program.timezone)).strftime("%Y-%m")
    key = f"membership:{membership.id}:points:{month}"
    member = members.get(session, tenant_id=membership.tenant_id, member_id=membership.member_id)
    if member is None or member.status != "active" or ledger.has_entry(session, tenant_id=membership.tenant_id, idempotency_key=key):
        return 0
    ledger.credit(
        session, tenant_id=membership.tenant_id, member_id=membership.member_id, points=points, kind="earn", source="issued",
        idempotency_key=key, reason=f"{plan.name_en}: points for {month}", now=now, available_at=now,
        expires_at=earning.expires_at(now, policy=program.expiry_policy, periods=program.expiry_periods, timezone=program.timezone),
        details={"membership_id": membership.id, "month": month},
    )
    _log(session, membership, "points_granted", now, points=points, month=month)
    # Plan points count towards tiers like any points earned: an upgrade now, not at the next purchase,
    # and the badges for the tier reached.
    dispatch.publish(session, PointsEarned(membership.tenant_id, membership.member_id, now, points=points))
    return points


def in_force(session: Session, *, tenant_id: int, member_id: int) -> tuple[Membership, Plan] | None:
    """The member's membership whose benefits apply now, with its plan (None without one)."""
    if not has_plans(session, tenant_id=tenant_id):
        return None
    row = session.execute(
        select(Membership, Plan).join(Plan, Plan.id == Membership.plan_id).where(
            Membership.tenant_id == tenant_id, Membership.member_id == member_id, Membership.status.in_(IN_FORCE)
        )
    ).first()
    return (row[0], row[1]) if row else None


def multiplier(session: Session, *, tenant_id: int, member_id: int) -> Decimal:
    """The earn multiplier of the member's plan (1 without one)."""
    found = in_force(session, tenant_id=tenant_id, member_id=member_id)
    return Decimal((found[1].benefits or {}).get("earn_multiplier") or "1") if found else Decimal(1)


def of_member(session: Session, *, tenant_id: int, member_id: int) -> list[Membership]:
    return list(session.execute(
        select(Membership).where(Membership.tenant_id == tenant_id, Membership.member_id == member_id).order_by(Membership.id.desc())
    ).scalars())


def in_force_after(session: Session, *, after_id: int, limit: int, tenant_id: int | None = None) -> list[tuple[int, int]]:
    """(tenant, membership) of paid-up memberships, in id order after a cursor (the monthly points sweep)."""
    query = (
        select(Membership.tenant_id, Membership.id)
        .where(Membership.status == "active", Membership.id > after_id)
    )
    if tenant_id is not None:
        query = query.where(Membership.tenant_id == tenant_id)
    return [(t, i) for t, i in session.execute(query.order_by(Membership.id).limit(limit)).all()]


def end_for_member(session: Session, *, tenant_id: int, member_id: int, now: datetime) -> int:
    """Cancel a closed member's live memberships now; return how many."""
    ended = 0
    for membership in of_member(session, tenant_id=tenant_id, member_id=member_id):
        if membership.status in LIVE:
            cancel(session, tenant_id=tenant_id, membership_id=membership.id, at_period_end=False, now=now)
            ended += 1
    return ended


def update_plan(session: Session, *, tenant_id: int, plan_id: int, plan_in: PlanUpdate) -> Plan:
    """Rename a plan, change its benefits, or archive it (no new members; its members renew as before).
    Its price and interval stay: members agreed to them."""
    plan = session.execute(select(Plan).where(Plan.tenant_id == tenant_id, Plan.id == plan_id)).scalar_one_or_none()
    if plan is None:
        raise NotFound(f"plan {plan_id} not found", field="plan_id")
    for name in ("name_en", "name_ar", "status"):
        value = getattr(plan_in, name)
        if value is not None:
            setattr(plan, name, value)
    if plan_in.benefits is not None:
        plan.benefits = plan_in.benefits.model_dump()
    session.flush()
    return plan


def history(session: Session, *, tenant_id: int, membership_id: int) -> tuple[list[MembershipPayment], list[MembershipLog]]:
    """A membership's payments and log, newest first."""
    get_or_raise(session, tenant_id=tenant_id, membership_id=membership_id)
    payments = session.execute(
        select(MembershipPayment).where(MembershipPayment.tenant_id == tenant_id, MembershipPayment.membership_id == membership_id)
        .order_by(MembershipPayment.id.desc())
    ).scalars().all()
    log = session.execute(
        select(MembershipLog).where(MembershipLog.tenant_id == tenant_id, MembershipLog.membership_id == membership_id)
        .order_by(MembershipLog.id.desc())
    ).scalars().all()
    return list(payments), list(log)


def past_due(session: Session, *, tenant_id: int) -> list[Membership]:
    """The program's memberships whose renewal is due and unpaid."""
    return list(session.execute(
        select(Membership).where(Membership.tenant_id == tenant_id, Membership.status == "past_due").order_by(Membership.id)
    ).scalars())
