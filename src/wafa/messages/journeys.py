"""Journeys: automatic messages, each on or off per tenant with its settings and channels.

Most journeys follow the outbox: `plan` reads a tenant's numbered messages after its cursor and queues
a member message for each fact a journey is on for (welcome on `member.enrolled`, tier upgraded on
`tier.upgraded`, ...), moving the cursor in the same transaction. The reminders (`points.expiring`,
`tier.downgrade_warning`) are outbox facts too, announced by `reminders`. Birthday and win-back follow
the calendar: `scan` queues them once per year and once per lapse. Every queued message carries a
dedupe key, so reading the same fact twice queues it once.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, select
from sqlalchemy.orm import Session, sessionmaker

from wafa.db import in_chunks, insert_or_skip, unit_of_work
from wafa.errors import InvalidInput
from wafa.events import purchase_history
from wafa.members import service as members
from wafa.members.models import Member
from wafa.memberships.models import Plan
from wafa.messages import reminders
from wafa.messages.models import Journey, JourneyCursor, MemberMessage, Reminder
from wafa.messages.templates import CHANNELS
from wafa.money import to_major
from wafa.notify import webhooks
from wafa.outbox import service as outbox
from wafa.outbox.models import OutboxMessage
from wafa.programs import service as programs
from wafa.rewards.models import Reward, RewardRedemption
from wafa.tiers import service as tiers


@dataclass(frozen=True, slots=True)
class Kind:
    name: str
    trigger: str  # what starts it, for people
    defaults: dict[str, Any] = field(default_factory=dict)


KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("welcome", "a member joins"),
    Kind("points_expiring", "points expire soon: up to three reminders, days before", {"days_before": [30, 7, 1]}),
    Kind("tier_upgraded", "a member moves up a tier"),
    Kind("tier_downgrade_warning", "a member's tier review is near and they would not keep the tier", {"days_before": 14}),
    Kind("reward_issued", "a member receives a reward or a coupon"),
    Kind("renewal_due", "a paid membership's renewal is due"),
    Kind("payment_failed", "a membership payment failed"),
    Kind("referral_completed", "a friend the member referred completed their first purchase"),
    Kind("birthday", "the member's birthday (local day)"),
    Kind("win_back", "no purchase for some days, or a churn risk above a threshold", {"days": 60, "churn_risk": None}),
)}
DEFAULT_CHANNELS = ["email", "sms"]


@dataclass(frozen=True, slots=True)
class JourneyState:
    kind: str
    trigger: str
    enabled: bool
    channels: list[str]
    settings: dict[str, Any]
    updated_at: datetime | None


def _check_settings(kind: str, settings: dict[str, Any]) -> dict[str, Any]:
    merged = {**KINDS[kind].defaults, **settings}
    unknown = sorted(set(merged) - set(KINDS[kind].defaults))
    if unknown:
        raise InvalidInput(f"{kind} has no setting {unknown[0]!r}", field=f"settings.{unknown[0]}")
    if kind == "points_expiring":
        days = merged["days_before"]
        if (not isinstance(days, list) or not 1 <= len(days) <= 3
                or any(isinstance(d, bool) or not isinstance(d, int) or not 1 <= d <= 365 for d in days) or len(set(days)) != len(days)):
            raise InvalidInput("one to three different whole numbers of days between 1 and 365", field="settings.days_before")
        merged["days_before"] = sorted(days, reverse=True)
    if kind == "tier_downgrade_warning":
        days = merged["days_before"]
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 180:
            raise InvalidInput("a whole number of days between 1 and 180", field="settings.days_before")
    if kind == "win_back":
        days, risk = merged["days"], merged["churn_risk"]
        if isinstance(days, bool) or not isinstance(days, int) or not 7 <= days <= 730:
            raise InvalidInput("a whole number of days between 7 and 730", field="settings.days")
        if risk is not None and (isinstance(risk, bool) or not isinstance(risk, int | float) or not 0 < risk < 1):
            raise InvalidInput("a probability between 0 and 1 (exclusive), or null", field="settings.churn_risk")
    return merged


def states(session: Session, *, tenant_id: int) -> list[JourneyState]:
    rows = {j.kind: j for j in session.execute(select(Journey).where(Journey.tenant_id == tenant_id)).scalars()}
    out = []
    for kind in KINDS.values():
        row = rows.get(kind.name)
        out.append(JourneyState(
            kind.name, kind.trigger, bool(row and row.enabled), list(row.channels) if row else list(DEFAULT_CHANNELS),
            {**kind.defaults, **(row.settings if row else {})}, row.updated_at if row else None,
        ))
    return out


def state(session: Session, *, tenant_id: int, kind: str) -> JourneyState:
    if kind not in KINDS:
        raise InvalidInput(f"no journey {kind!r}; one of {', '.join(KINDS)}", field="kind")
    return next(s for s in states(session, tenant_id=tenant_id) if s.kind == kind)


def save(
    session: Session, *, tenant_id: int, kind: str, enabled: bool, channels: list[str], settings: dict[str, Any], now: datetime,
) -> JourneyState:
    """Turn a journey on or off and set its channels and settings. Turning the first one on starts the
    tenant's cursor at the outbox's present: journeys greet new members, not the whole history."""
    if kind not in KINDS:
        raise InvalidInput(f"no journey {kind!r}; one of {', '.join(KINDS)}", field="kind")
    if not channels or len(set(channels)) != len(channels) or any(c not in CHANNELS for c in channels):
        raise InvalidInput(f"one or more different channels of {', '.join(CHANNELS)}", field="channels")
    merged = _check_settings(kind, settings)
    session.execute(insert_or_skip(session, Journey, conflict=["tenant_id", "kind"]).values(
        tenant_id=tenant_id, kind=kind, enabled=enabled, channels=channels, settings=merged, updated_at=now,
    ))
    row = session.execute(select(Journey).where(Journey.tenant_id == tenant_id, Journey.kind == kind).with_for_update()).scalar_one()
    row.enabled, row.channels, row.settings, row.updated_at = enabled, channels, merged, now
    if session.get(JourneyCursor, tenant_id) is None:
        # Number what committed so far (and owe it to webhooks, as the worker would), so the journeys
        # start after it: a fact of yesterday that is not numbered yet is not news to greet.
        done = outbox.sequence(session, tenant_id=tenant_id)
        if done.first:
            webhooks.fan_out(session, tenant_id=tenant_id, first=done.first, last=done.last, now=now)
        session.execute(insert_or_skip(session, JourneyCursor, conflict=["tenant_id"]).values(tenant_id=tenant_id, last_seq=done.last))
    session.flush()
    return state(session, tenant_id=tenant_id, kind=kind)


def queue(
    session: Session, *, tenant_id: int, member_id: int, kind: str, channels: list[str], dedupe_key: str, variables: dict[str, Any],
    due_at: datetime, now: datetime, campaign_id: int | None = None,
) -> bool:
    """Owe a member a message (once per dedupe key); return whether it is new."""
    inserted = session.execute(insert_or_skip(session, MemberMessage, conflict=["tenant_id", "dedupe_key"]).values(
        tenant_id=tenant_id, member_id=member_id, message_id="mm_" + uuid.uuid4().hex, kind=kind, channels=channels,
        campaign_id=campaign_id, dedupe_key=dedupe_key[:200], variables=variables, status="queued", attempts=0, due_at=due_at,
        created_at=now, updated_at=now,
    ).returning(MemberMessage.__table__.c.id)).first()
    return inserted is not None


# From the outbox ----------------------------------------------------------------------------------

Variables = dict[str, Any]


def _names(en: str, ar: str) -> Variables:
    return {"en": en, "ar": ar}


def _tier_names(session: Session, tenant_id: int, key: str | None) -> Variables:
    for tier in tiers.tiers_of(session, tenant_id=tenant_id):
        if tier.key == key:
            return _names(tier.name_en, tier.name_ar or tier.name_en)
    return _names(key or "-", key or "-")


def _to_keep(session: Session, tenant_id: int, metric: str, missing: int) -> Variables:
    """What a member lacks to keep a tier, in words of each language: points, purchases or money."""
    program = programs.get(session, tenant_id=tenant_id)
    if metric == "money_spent":
        money = f"{tiers.format_value(missing, metric=metric, currency=program.base_currency)} {program.base_currency}"
        return _names(money, money)
    if metric == "purchases":
        return _names(f"{missing:,} purchases", f"{missing:,} مشتريات")
    return _names(f"{missing:,} {program.points_name_en}", f"{missing:,} {program.points_name_ar}")


def _for(message: OutboxMessage, session: Session) -> tuple[str, int, str, Variables] | None:
    """(journey, member, dedupe key, variables) a fact calls for, or None. Values that differ by
    language are {"en": ..., "ar": ...}; the sender picks the member's."""
    data, t = message.payload, message.tenant_id
    member = message.member_id
    if member is None:
        return None
    match message.type:
        case "member.enrolled":
            return "welcome", member, f"welcome:{member}", {}
        case "points.expiring":
            return "points_expiring", member, f"points_expiring:{member}:{data['expires_on']}:{data['days_before']}", {
                "points": data["points"], "expires_on": data["expires_on"], "days": data["days_left"],
            }
        case "tier.upgraded":
            return "tier_upgraded", member, f"tier_upgraded:{message.message_id}", {
                "new_tier": _tier_names(session, t, data.get("to_tier")), "previous_tier": _tier_names(session, t, data.get("from_tier")),
            }
        case "tier.downgrade_warning":
            return "tier_downgrade_warning", member, f"tier_downgrade_warning:{message.message_id}", {
                "review_on": data.get("review_on") or data["review_at"][:10], "to_keep": _to_keep(session, t, data["metric"], int(data["to_keep"])),
                "next_tier_down": _tier_names(session, t, data["tier"]),
            }
        case "reward.redeemed" if data.get("kind") != "coupon":  # a coupon reward is announced by its coupon.issued, with the code
            reward = session.get(Reward, data["reward_id"])
            return "reward_issued", member, f"reward_issued:redemption:{data['redemption_id']}", {
                "reward": _names(reward.name_en, reward.name_ar) if reward else data["reward_key"], "coupon_code": None,
                "valid_until": (data.get("expires_at") or "")[:10] or None,
            }
        case "coupon.issued":
            key = f"redemption:{data['redemption_id']}" if data.get("redemption_id") else f"coupon:{data['coupon_id']}"
            redemption = session.get(RewardRedemption, data["redemption_id"]) if data.get("redemption_id") else None
            reward = session.get(Reward, redemption.reward_id) if redemption is not None else None
            return "reward_issued", member, f"reward_issued:{key}", {
                "reward": _names(reward.name_en, reward.name_ar) if reward else _names("Coupon", "قسيمة"), "coupon_code": data["code"],
                "valid_until": (data.get("valid_until") or "")[:10] or None,
            }
        case "membership.renewal_due" | "membership.payment_failed":
            plan = session.get(Plan, data["plan_id"])
            amount = f"{to_major(plan.price, plan.currency)} {plan.currency}" if plan else ""
            kind = "renewal_due" if message.type.endswith("renewal_due") else "payment_failed"
            return kind, member, f"{kind}:{message.message_id}", {
                "plan": _names(plan.name_en, plan.name_ar) if plan else "-", "amount": amount,
                "due_on": (data.get("period_end") or "")[:10],
            }
        case "referral.completed" if data.get("referrer_id"):
            friend = session.get(Member, data["referee_id"])
            return "referral_completed", int(data["referrer_id"]), f"referral_completed:{data['referral_id']}", {
                "friend": (friend.name if friend and friend.name else "-"), "points": data.get("points") or 0,
            }
    return None


def _enabled(session: Session, tenant_id: int) -> dict[str, Journey]:
    return {j.kind: j for j in session.execute(select(Journey).where(Journey.tenant_id == tenant_id, Journey.enabled.is_(True))).scalars()}


def plan(factory: sessionmaker[Session], *, now: datetime, batch: int = 2000) -> int:
    """Queue what the tenants' journeys owe for the outbox messages numbered since their cursors;
    return messages queued."""
    with factory() as session:
        tenants = [int(t) for t in session.execute(
            select(JourneyCursor.tenant_id).join(OutboxMessage, and_(
                OutboxMessage.tenant_id == JourneyCursor.tenant_id, OutboxMessage.seq == JourneyCursor.last_seq + 1,
            ))
        ).scalars()]
    queued = 0
    for tenant_id in tenants:
        while True:
            with unit_of_work(factory) as session:
                cursor = session.execute(
                    select(JourneyCursor).where(JourneyCursor.tenant_id == tenant_id).with_for_update()
                ).scalar_one()
                messages = list(session.execute(
                    select(OutboxMessage).where(OutboxMessage.tenant_id == tenant_id, OutboxMessage.seq > cursor.last_seq)
                    .order_by(OutboxMessage.seq).limit(batch)
                ).scalars())
                if not messages:
                    break
                enabled = _enabled(session, tenant_id)
                for message in messages:
                    if message.member_id is None:
                        continue
                    found = _for(message, session)
                    if found is None or found[0] not in enabled:
                        continue
                    kind, member_id, key, variables = found
                    queued += queue(session, tenant_id=tenant_id, member_id=member_id, kind=kind, channels=enabled[kind].channels,
                                    dedupe_key=key, variables=variables, due_at=now, now=now)
                cursor.last_seq = messages[-1].seq or cursor.last_seq
            if len(messages) < batch:
                break
    return queued


# From the calendar --------------------------------------------------------------------------------

def _birthdays(session: Session, tenant_id: int, journey: Journey, now: datetime, zone: ZoneInfo) -> int:
    today = now.astimezone(zone).date()
    rows = members.born_on(session, tenant_id=tenant_id, day=today)  # 29 February counts on the 28th in other years
    return sum(queue(session, tenant_id=tenant_id, member_id=int(m), kind="birthday", channels=journey.channels,
                     dedupe_key=f"birthday:{m}:{today.year}", variables={}, due_at=now, now=now) for m in rows)


def _win_back(session: Session, tenant_id: int, journey: Journey, now: datetime, zone: ZoneInfo) -> int:
    days, threshold = int(journey.settings.get("days", 60)), journey.settings.get("churn_risk")
    last: dict[int, datetime] = {}
    for member_id, _currency, at, _n, _kept in purchase_history.member_totals(session, tenant_id=tenant_id):
        last[member_id] = max(last.get(member_id, at), at)
    risky: set[int] = set()
    if threshold is not None:
        from wafa.analytics import custom_segments  # the lifetime-value fit: only when a threshold is set

        risky = {m for m, risk in custom_segments.churn_risks(session, tenant_id=tenant_id, now=now).items() if risk >= threshold}
    cutoff = now - timedelta(days=days)
    queued = 0
    for member_id, at in sorted(last.items()):
        if at > cutoff and member_id not in risky:
            continue
        # Once per lapse: a purchase after the message starts a new one.
        since = (now - at).days
        queued += queue(session, tenant_id=tenant_id, member_id=member_id, kind="win_back", channels=journey.channels,
                        dedupe_key=f"win_back:{member_id}:{at.astimezone(zone).date().isoformat()}",
                        variables={"days_since": since}, due_at=now, now=now)
    return queued


SCANS: dict[str, Callable[[Session, int, Journey, datetime, ZoneInfo], int]] = {"birthday": _birthdays, "win_back": _win_back}


def _periods(session: Session, tenant_id: int, now: datetime) -> tuple[str, str]:
    """The program's local hour and day: the keys its scans claim."""
    local = now.astimezone(ZoneInfo(programs.get(session, tenant_id=tenant_id).timezone))
    return local.strftime("%Y-%m-%dT%H"), local.date().isoformat()


def _unclaimed(session: Session, tenants: list[int], now: datetime) -> list[int]:
    """The programs with a scan still to do this hour or day, read in a few queries (most passes of a
    worker find every program's hour claimed already: no transaction is opened for those)."""
    calendar_on: dict[int, set[str]] = {}
    for t, kind in session.execute(
        select(Journey.tenant_id, Journey.kind).where(Journey.enabled.is_(True), Journey.kind.in_(tuple(SCANS)))
    ):
        calendar_on.setdefault(int(t), set()).add(kind)
    wanted = {t: _periods(session, t, now) for t in tenants}
    claimed: set[tuple[int, str, str]] = set()
    for chunk in in_chunks(tenants, 1000):
        claimed.update((int(t), k, key) for t, k, key in session.execute(
            select(Reminder.tenant_id, Reminder.kind, Reminder.key).where(
                Reminder.tenant_id.in_(chunk), Reminder.member_id == 0,
                Reminder.key.in_({key for t in chunk for key in wanted[t]}),
            )
        ))
    return [t for t in tenants if (t, "scan:reminders", wanted[t][0]) not in claimed
            or any((t, f"scan:{kind}", wanted[t][1]) not in claimed for kind in calendar_on.get(t, ()))]


def scan(factory: sessionmaker[Session], *, now: datetime, tenant_id: int | None = None) -> dict[str, int]:
    """Announce the reminders of every tenant (or one) once an hour, and queue the calendar journeys
    that are on once a local day; safe to call every pass and from several workers (a pass claims its
    hour or day in `member_reminders` first)."""
    with factory() as session:
        tenants = [tenant_id] if tenant_id is not None else programs.tenant_ids(session)
        tenants = _unclaimed(session, tenants, now)
    counts = {"points.expiring": 0, "tier.downgrade_warning": 0, "birthday": 0, "win_back": 0}
    for t in tenants:
        with unit_of_work(factory) as session:
            zone = ZoneInfo(programs.get(session, tenant_id=t).timezone)
            local = now.astimezone(zone)
            on = _enabled(session, t)
            if reminders.claim(session, tenant_id=t, what="reminders", key=local.strftime("%Y-%m-%dT%H"), now=now):
                offsets = (on["points_expiring"].settings if "points_expiring" in on else KINDS["points_expiring"].defaults)["days_before"]
                counts["points.expiring"] += reminders.points_expiring(session, tenant_id=t, offsets=list(offsets), now=now)
                days = (on["tier_downgrade_warning"].settings if "tier_downgrade_warning" in on
                        else KINDS["tier_downgrade_warning"].defaults)["days_before"]
                counts["tier.downgrade_warning"] += reminders.tier_downgrade_warnings(session, tenant_id=t, days_before=int(days), now=now)
            for kind, scan_one in SCANS.items():
                if kind in on and reminders.claim(session, tenant_id=t, what=kind, key=local.date().isoformat(), now=now):
                    counts[kind] += scan_one(session, t, on[kind], now, zone)
    return counts
