"""Broadcast campaigns: an audience, a channel, a wording in Arabic and English, a send time, and a
holdout that is sent nothing so the campaign's lift can be measured.

At its send time the worker resolves the audience (active members only), puts each member in the
holdout or not by a hash of the campaign and the member (the same answer however often it is asked),
records both groups, and queues one message per member not held out; the sender then applies the same
rules as to every message (consent, quiet hours, caps). The lift compares the groups as assigned
(intention to treat: members the message could not reach stay in the audience), per member, over the
campaign's horizon: purchases, revenue and rewards received, each with a 95% Welch interval. Before the
horizon the figures are marked provisional.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from wafa.analytics import audiences, custom_segments
from wafa.analytics.stats import welch
from wafa.db import bulk_insert, in_chunks, unit_of_work
from wafa.errors import Conflict, InvalidInput, NotFound
from wafa.events import purchase_history
from wafa.experiments import registry as experiments
from wafa.members.models import Member
from wafa.messages import templates
from wafa.messages.models import Campaign, CampaignMember, MemberMessage
from wafa.programs import service as programs
from wafa.rewards import redemptions
from wafa.tiers import service as tiers

MAX_EXTERNAL_IDS = 100_000


def _check_arms(session: Session, tenant_id: int, audience: dict[str, Any]) -> dict[str, Any]:
    """{"experiment": key, "arms": [...]} of an audience restricted to experiment arms, checked ({} if none)."""
    if "experiment" not in audience and "arms" not in audience:
        return {}
    key, arms = audience.get("experiment"), audience.get("arms")
    found = experiments.get_by_key(session, tenant_id=tenant_id, key=key) if isinstance(key, str) else None
    if found is None:
        raise InvalidInput(f"no experiment {key!r}", field="audience.experiment")
    known = (*found.arm_keys, "holdout")
    if not isinstance(arms, list) or not arms or not all(isinstance(a, str) and a in known for a in arms):
        raise InvalidInput(f"a list of arms of {found.key!r}: {', '.join(known)}", field="audience.arms")
    return {"experiment": found.key, "arms": sorted(set(arms))}


def _check_audience(session: Session, tenant_id: int, audience: dict[str, Any]) -> dict[str, Any]:
    restricted = _check_arms(session, tenant_id, audience)
    audience = {k: v for k, v in audience.items() if k not in ("experiment", "arms")}
    if restricted and not audience:
        audience = {"all": True}  # the arms alone: every active member in them
    return {**_check_base_audience(session, tenant_id, audience), **restricted}


def _check_base_audience(session: Session, tenant_id: int, audience: dict[str, Any]) -> dict[str, Any]:
    given = [k for k in ("all", "tiers", "segments", "external_ids") if audience.get(k)]
    if len(given) != 1 or set(audience) - {"all", "tiers", "segments", "external_ids"}:
        raise InvalidInput('one of {"all": true}, {"tiers": [...]}, {"segments": [...]}, {"external_ids": [...]}', field="audience")
    kind = given[0]
    if kind == "all":
        if audience["all"] is not True:
            raise InvalidInput("all: true", field="audience.all")
        return {"all": True}
    values = audience[kind]
    if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() for v in values):
        raise InvalidInput("a list of names", field=f"audience.{kind}")
    if kind == "tiers":
        return {"tiers": audiences.tier_keys(session, tenant_id=tenant_id, keys=values, field="audience.tiers")}
    if kind == "segments":
        return {"segments": audiences.segment_keys(session, tenant_id=tenant_id, keys=values, field="audience.segments")}
    if len(values) > MAX_EXTERNAL_IDS:
        raise InvalidInput(f"at most {MAX_EXTERNAL_IDS:,} external ids", field="audience.external_ids")
    return {"external_ids": sorted({v.strip() for v in values})}


def create(
    session: Session, *, tenant_id: int, name: str, audience: dict[str, Any], channel: str, subject: dict[str, str], body: dict[str, str],
    send_at: datetime, holdout_percent: int, lift_days: int, now: datetime,
) -> Campaign:
    if channel not in templates.CHANNELS:
        raise InvalidInput(f"no channel {channel!r}; one of {', '.join(templates.CHANNELS)}", field="channel")
    if not 0 <= holdout_percent <= 50:
        raise InvalidInput("between 0 and 50", field="holdout_percent")
    if not 1 <= lift_days <= 365:
        raise InvalidInput("between 1 and 365 days", field="lift_days")
    if send_at < now - timedelta(minutes=5):
        raise InvalidInput("the send time has passed", field="send_at")
    if set(body) - set(templates.LANGUAGES) or not any((body.get(lang) or "").strip() for lang in templates.LANGUAGES):
        raise InvalidInput("a wording in ar and/or en", field="body")
    for language in templates.LANGUAGES:
        if body.get(language):
            templates.check("campaign", channel, subject.get(language) or subject.get("en") or subject.get("ar"), body[language])
    checked = _check_audience(session, tenant_id, audience)
    row = Campaign(
        tenant_id=tenant_id, name=name, audience=checked, channel=channel, subject={k: v for k, v in subject.items() if v},
        body={k: v for k, v in body.items() if v}, send_at=send_at, holdout_percent=holdout_percent, lift_days=lift_days,
        status="scheduled", audience_count=0, holdout_count=0, created_at=now, updated_at=now,
    )
    session.add(row)
    session.flush()
    return row


def get_or_raise(session: Session, *, tenant_id: int, campaign_id: int) -> Campaign:
    row = session.get(Campaign, campaign_id)
    if row is None or row.tenant_id != tenant_id:
        raise NotFound(f"no campaign {campaign_id}")
    return row


def list_(session: Session, *, tenant_id: int, before_id: int | None, limit: int) -> list[Campaign]:
    query = select(Campaign).where(Campaign.tenant_id == tenant_id).order_by(Campaign.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(Campaign.id < before_id)
    return list(session.execute(query).scalars())


def cancel(session: Session, *, tenant_id: int, campaign_id: int, now: datetime) -> Campaign:
    """Stop a campaign: before its send time nothing goes; while sending, what is still queued is cancelled."""
    row = session.execute(select(Campaign).where(Campaign.id == campaign_id, Campaign.tenant_id == tenant_id).with_for_update()).scalar_one_or_none()
    if row is None:
        raise NotFound(f"no campaign {campaign_id}")
    if row.status not in ("scheduled", "sending"):
        raise Conflict(f"the campaign is {row.status}", field="status")
    session.execute(
        update(MemberMessage).where(MemberMessage.campaign_id == row.id, MemberMessage.status == "queued")
        .values(status="cancelled", reason="campaign_cancelled", updated_at=now)
    )
    row.status, row.updated_at, row.finished_at = "cancelled", now, now
    session.flush()
    return row


def in_holdout(campaign_id: int, member_id: int, percent: int) -> bool:
    """Sticky: a hash of the campaign and the member, the same on every call and every machine."""
    digest = hashlib.sha256(f"wafa-holdout:{campaign_id}:{member_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 10_000 < percent * 100


def audience_members(session: Session, *, campaign: Campaign) -> list[int]:
    """The active members a campaign's audience names now (only those in the named experiment arms, if any)."""
    chosen = _named_members(session, campaign=campaign)
    key = campaign.audience.get("experiment")
    if not key:
        return chosen
    found = experiments.get_by_key(session, tenant_id=campaign.tenant_id, key=key)
    if found is None:
        return []
    arms = set(campaign.audience.get("arms") or ())
    return [m for m in chosen if found.arm_of(tenant_id=campaign.tenant_id, member_id=m) in arms]


def _named_members(session: Session, *, campaign: Campaign) -> list[int]:
    t, audience = campaign.tenant_id, campaign.audience
    active = select(Member.id).where(Member.tenant_id == t, Member.status == "active")
    if audience.get("all"):
        return [int(m) for m in session.execute(active.order_by(Member.id)).scalars()]
    wanted: set[int] = set()
    if "tiers" in audience:
        keys = set(audience["tiers"])
        wanted = {m for m, key in tiers.keys_by_member(session, tenant_id=t).items() if key in keys}
    elif "segments" in audience:
        for key in audience["segments"]:
            wanted.update(custom_segments.members_of_key(session, tenant_id=t, key=key))
    else:
        for chunk in in_chunks(audience["external_ids"]):
            wanted.update(int(m) for m in session.execute(active.where(Member.external_id.in_(chunk))).scalars())
        return sorted(wanted)
    found: set[int] = set()
    for chunk in in_chunks(sorted(wanted)):
        found.update(int(m) for m in session.execute(active.where(Member.id.in_(chunk))).scalars())
    return sorted(found)


def start_due(factory: sessionmaker[Session], *, now: datetime) -> int:
    """Start every campaign whose send time has come: choose the groups and queue the messages; return
    campaigns started. Two workers do not start one twice (the row is locked and its status checked)."""
    with factory() as session:
        due = list(session.execute(
            select(Campaign.id).where(Campaign.status == "scheduled", Campaign.send_at <= now).order_by(Campaign.send_at)
        ).scalars())
    started = 0
    for campaign_id in due:
        with unit_of_work(factory) as session:
            query = select(Campaign).where(Campaign.id == campaign_id, Campaign.status == "scheduled")
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            campaign = session.execute(query).scalar_one_or_none()
            if campaign is None:
                continue
            chosen = audience_members(session, campaign=campaign)
            groups = [(m, in_holdout(campaign.id, m, campaign.holdout_percent)) for m in chosen]
            bulk_insert(session, CampaignMember, [
                {"campaign_id": campaign.id, "member_id": m, "tenant_id": campaign.tenant_id, "holdout": held} for m, held in groups
            ], conflict=["campaign_id", "member_id"])
            bulk_insert(session, MemberMessage, [
                {"tenant_id": campaign.tenant_id, "member_id": m, "message_id": "mm_" + uuid.uuid4().hex, "kind": "campaign",
                 "channels": [campaign.channel], "channel": None, "campaign_id": campaign.id, "dedupe_key": f"campaign:{campaign.id}:{m}",
                 "variables": {}, "status": "queued", "attempts": 0, "due_at": now, "created_at": now, "updated_at": now}
                for m, held in groups if not held
            ], conflict=["tenant_id", "dedupe_key"])
            campaign.audience_count, campaign.holdout_count = len(groups), sum(1 for _, held in groups if held)
            campaign.status, campaign.started_at, campaign.updated_at = "sending", now, now
            started += 1
    return started


def finish_done(factory: sessionmaker[Session], *, now: datetime) -> int:
    """Mark sent the campaigns with nothing left queued; return how many."""
    with unit_of_work(factory) as session:
        sending = list(session.execute(select(Campaign).where(Campaign.status == "sending")).scalars())
        done = 0
        for campaign in sending:
            left = session.execute(select(MemberMessage.id).where(
                MemberMessage.campaign_id == campaign.id, MemberMessage.status == "queued",
            ).limit(1)).first()
            if left is None:
                campaign.status, campaign.finished_at, campaign.updated_at = "sent", now, now
                done += 1
        return done


def progress(session: Session, *, campaign: Campaign) -> dict[str, int]:
    """Messages of the campaign by status (queued, sent, skipped, failed, cancelled)."""
    counts = dict.fromkeys(("queued", "sent", "skipped", "failed", "cancelled"), 0)
    for status, n in session.execute(
        select(MemberMessage.status, func.count()).where(MemberMessage.campaign_id == campaign.id).group_by(MemberMessage.status)
    ):
        counts[status] = int(n)
    return counts


def skipped_reasons(session: Session, *, campaign: Campaign) -> dict[str, int]:
    return {str(r): int(n) for r, n in session.execute(
        select(MemberMessage.reason, func.count()).where(MemberMessage.campaign_id == campaign.id, MemberMessage.status.in_(("skipped", "failed")))
        .group_by(MemberMessage.reason)
    )}


# Lift ---------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Metric:
    name: str
    audience_mean: float
    holdout_mean: float
    difference: float  # audience - holdout, per member
    low: float | None  # the 95% interval of the difference (None: too few members to say)
    high: float | None
    relative: float | None  # difference / holdout mean
    p_value: float | None


@dataclass(frozen=True, slots=True)
class Lift:
    since: datetime
    until: datetime
    provisional: bool  # the horizon is not reached: figures will move
    audience: int
    holdout: int
    metrics: list[Metric]


def lift(session: Session, *, campaign: Campaign, now: datetime) -> Lift | None:
    """The campaign's lift so far (None before it started)."""
    if campaign.started_at is None:
        return None
    since = campaign.started_at
    horizon = since + timedelta(days=campaign.lift_days)
    until = min(now, horizon)
    groups = dict(session.execute(
        select(CampaignMember.member_id, CampaignMember.holdout).where(CampaignMember.campaign_id == campaign.id)
    ).all())
    program = programs.get(session, tenant_id=campaign.tenant_id)
    purchases: dict[int, int] = {}
    revenue: dict[int, float] = {}
    for member_id, currency, n, kept in purchase_history.window_totals(session, tenant_id=campaign.tenant_id, since=since, until=until):
        if member_id in groups:
            purchases[member_id] = purchases.get(member_id, 0) + n
            revenue[member_id] = revenue.get(member_id, 0.0) + float(program.in_base(kept, currency))
    rewards = redemptions.counts_by_member(session, tenant_id=campaign.tenant_id, since=since, until=until)
    audience = [m for m, held in groups.items() if not held]
    holdout = [m for m, held in groups.items() if held]
    metrics = []
    for name, values in (("purchases", purchases), ("revenue", revenue), ("redemptions", rewards)):
        a = [float(values.get(m, 0)) for m in audience]
        b = [float(values.get(m, 0)) for m in holdout]
        diff, low, high, p = welch(a, b)
        hold_mean = sum(b) / len(b) if b else 0.0
        metrics.append(Metric(name, sum(a) / len(a) if a else 0.0, hold_mean, diff, low, high, diff / hold_mean if hold_mean else None, p))
    return Lift(since, until, now < horizon, len(audience), len(holdout), metrics)
