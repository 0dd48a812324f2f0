"""Sending what members are owed: the worker leases due messages, decides for each whether it may go
now (and by which channel), renders it in the member's language, sends, and records the outcome.

The rules, in order, each recorded as the reason when a message does not go:
1. the member is active (`member_inactive`);
2. a channel of the message's list, in order, is set up and on (`channel_off`), the member has an address
   on it (`no_address`), has consented to it (`no_consent`), and the address is not suppressed after a
   hard bounce or an unsubscribe (`suppressed`); the first that passes is used;
3. quiet hours in the program's time zone defer the message to their end (`quiet_hours`, still queued);
4. the frequency caps per member per local day and per seven days (`daily_cap`, `weekly_cap`);
then the template renders (`template_error`) and the provider answers: sent; failed (a hard bounce also
suppresses the address); or retried with backoff (1 min, 5 min, 30 min, 2 h) and failed after that.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import random
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from jinja2 import meta
from sqlalchemy import bindparam, func, or_, select, true, update
from sqlalchemy.orm import Session, sessionmaker

from wafa.clock import Clock
from wafa.config import get_settings
from wafa.db import insert_or_skip, unit_of_work
from wafa.errors import InvalidInput
from wafa.ledger import accounts
from wafa.members.models import ConsentChange, Member
from wafa.messages import channels, policy, templates
from wafa.messages.models import Campaign, MemberMessage, MessageChannel, MessageKey, Suppression
from wafa.programs import service as programs
from wafa.tenants.models import Tenant

log = logging.getLogger("wafa.messages")

RETRIES = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2))
BATCH = 128  # messages a worker leases at once (each connection of a batch sends up to BATCH / SENDERS)
# How long a worker holds the messages it leased: sends stop at half of it (the rest wait for the next
# batch) and one SMTP exchange is bounded well inside the other half, so a message is never still being
# sent when its lease runs out and another worker takes it.
LEASE = timedelta(minutes=5)
# Messages that carry what the member needs (a code, a payment problem): never held back by the caps.
TRANSACTIONAL = frozenset({"reward_issued", "payment_failed", "renewal_due", "test"})
# Messages that sell rather than inform: e-mails of these kinds must carry the one-click unsubscribe.
MARKETING = frozenset({"campaign", "win_back", "birthday"})
SENDERS = 8


# Unsubscribe links: signed with a secret of the tenant's that only the server holds (`message_keys`), so a
# link works without a sign-in and cannot be made for another member, nor from what a card shows.

def unsubscribe_key(session: Session, *, tenant_id: int) -> str:
    """The tenant's signing secret, made at its first use (two makers at once keep the first)."""
    found = session.get(MessageKey, tenant_id)
    if found is None:
        session.execute(insert_or_skip(session, MessageKey, conflict=["tenant_id"]).values(
            tenant_id=tenant_id, secret=secrets.token_hex(32), created_at=datetime.now(UTC)))
        found = session.get(MessageKey, tenant_id, populate_existing=True)
        assert found is not None
    return found.secret


def unsubscribe_signature(key: str, member_id: int, channel: str) -> str:
    return hmac.new(key.encode(), f"unsubscribe:{member_id}:{channel}".encode(), hashlib.sha256).hexdigest()[:32]


def unsubscribe_url(slug: str, key: str, member: Member, channel: str) -> str:
    base = get_settings().public_url.rstrip("/")
    return f"{base}/m/{slug}/unsubscribe/{member.id}/{channel}/{unsubscribe_signature(key, member.id, channel)}"


def address_of(member: Member, channel: str) -> str | None:
    if channel == "email":
        return member.email.lower() if member.email else None
    return member.phone or None


def consented(member: Member, channel: str) -> bool:
    return bool({"email": member.consent_email, "sms": member.consent_sms, "whatsapp": member.consent_whatsapp}.get(channel))


def suppress(session: Session, *, tenant_id: int, channel: str, address: str, reason: str, detail: str | None, now: datetime) -> None:
    """Suppress an address; a hard bounce, a complaint or a suppression by hand replaces an unsubscribe
    (which consent given again lifts), so a bad address never hides behind one."""
    address = address.lower() if channel == "email" else address
    session.execute(insert_or_skip(session, Suppression, conflict=["tenant_id", "channel", "address"]).values(
        tenant_id=tenant_id, channel=channel, address=address, reason=reason, detail=(detail or "")[:500] or None, created_at=now,
    ))
    if reason != "unsubscribe":
        session.execute(update(Suppression).where(
            Suppression.tenant_id == tenant_id, Suppression.channel == channel, Suppression.address == address,
            Suppression.reason == "unsubscribe",
        ).values(reason=reason, detail=(detail or "")[:500] or None, created_at=now))


def invalid_channels(session: Session, *, tenant_id: int) -> list[str]:
    """The tenant's channels that are on but whose settings no longer parse."""
    out = []
    for row in session.execute(
        select(MessageChannel).where(MessageChannel.tenant_id == tenant_id, MessageChannel.enabled.is_(True))
    ).scalars():
        try:
            channels.parse_config(row.channel, row.config, resolve=False)
        except channels.ChannelConfigError:
            out.append(row.channel)
    return out


def channel_configs(session: Session, *, tenant_id: int) -> dict[str, Any]:
    """The tenant's channels that are on and still valid, parsed. A setting saved under rules since made
    stricter (a private address no longer allowed) leaves its channel off, not the worker stopped."""
    found: dict[str, Any] = {}
    for row in session.execute(
        select(MessageChannel).where(MessageChannel.tenant_id == tenant_id, MessageChannel.enabled.is_(True))
    ).scalars():
        try:
            found[row.channel] = channels.parse_config(row.channel, row.config, resolve=False)
        except channels.ChannelConfigError as exc:
            log.warning("tenant %s: the %s channel's settings are no longer valid (%s); its messages wait", tenant_id, row.channel, exc.detail)
    return found


# Deciding -----------------------------------------------------------------------------------------

@dataclass(slots=True)
class Decision:
    row_id: int
    status: str  # send, skipped, deferred, failed
    reason: str | None = None
    detail: str | None = None
    due_at: datetime | None = None
    channel: str | None = None
    config: Any = None
    outgoing: channels.OutgoingMessage | None = None
    member_id: int = 0
    tenant_id: int = 0
    attempts: int = 0


_NEEDS_CACHE: dict[str, frozenset[str]] = {}


def _needs(text: str) -> frozenset[str]:
    """The variables a template uses (so a broadcast does not compute tier progress nobody reads)."""
    found = _NEEDS_CACHE.get(text)
    if found is None:
        found = frozenset(meta.find_undeclared_variables(templates._env.parse(text)))
        if len(_NEEDS_CACHE) < 1000:
            _NEEDS_CACHE[text] = found
    return found


def variables_for(session: Session, *, member: Member, tenant: Tenant, language: str, extra: dict[str, Any], needs: frozenset[str],
                  channel: str, now: datetime) -> dict[str, Any]:
    """What a template may use: the common variables and the trigger's own, in the member's language."""
    program = programs.get(session, tenant_id=member.tenant_id)
    values: dict[str, Any] = {
        "name": member.name or ("عضونا" if language == "ar" else "member"),
        "program": (tenant.name_ar or tenant.name) if language == "ar" else tenant.name,
        "points_name": program.points_name_ar if language == "ar" else program.points_name_en,
        "card_url": f"{get_settings().public_url.rstrip('/')}/m/{tenant.slug}",
        "unsubscribe_url": unsubscribe_url(tenant.slug, unsubscribe_key(session, tenant_id=member.tenant_id), member, channel),
        "balance": 0, "tier": "", "tier_progress": "",
    }
    if "balance" in needs:
        values["balance"] = accounts.balances(session, tenant_id=member.tenant_id, member_id=member.id).get("available", 0)
    if needs & {"tier", "tier_progress"}:
        from wafa.tiers import reads as tier_reads

        read = tier_reads.member_tier(session, member.tenant_id, member.id, now)
        if read.tier is not None:
            values["tier"] = read.tier.name.get(language) or read.tier.name.get("en") or read.tier.key
        values["tier_progress"] = read.progress
    for key, value in extra.items():
        values[key] = value.get(language, value.get("en")) if isinstance(value, dict) and set(value) <= {"ar", "en"} else value
    for key in templates.VARIABLES.get(extra.get("_kind", ""), {}):
        values.setdefault(key, "")
    return values


def _wording(session: Session, row: MemberMessage, channel: str, language: str, campaigns: dict[int, Campaign]) -> tuple[str | None, str]:
    if row.campaign_id is not None:
        campaign = campaigns.get(row.campaign_id) or session.get(Campaign, row.campaign_id)
        if campaign is None:
            raise InvalidInput("the campaign is gone", field="campaign_id")
        campaigns[row.campaign_id] = campaign
        subject = (campaign.subject or {}).get(language) or (campaign.subject or {}).get("en") or (campaign.subject or {}).get("ar")
        body = campaign.body.get(language) or campaign.body.get("en") or campaign.body.get("ar") or ""
        return (subject if channel == "email" else None), body
    words = templates.wording(session, tenant_id=row.tenant_id, kind=row.kind, channel=channel, language=language)
    return words.subject, words.body


def decide(session: Session, row: MemberMessage, *, now: datetime, cache: dict[str, Any]) -> Decision:
    """Whether and how one queued message goes now (see the module's rules)."""
    decision = Decision(row.id, "skipped", tenant_id=row.tenant_id, member_id=row.member_id, attempts=row.attempts)
    member = cache["members"].get(row.member_id)
    if member is None or member.tenant_id != row.tenant_id or member.status != "active":
        decision.reason, decision.detail = "member_inactive", f"the member is {member.status if member else 'gone'}"
        return decision
    tenant_cache = cache.setdefault(f"tenant:{row.tenant_id}", {})
    if "configs" not in tenant_cache:
        tenant_cache["configs"] = channel_configs(session, tenant_id=row.tenant_id)
        tenant_cache["invalid"] = set(invalid_channels(session, tenant_id=row.tenant_id))
        tenant_cache["policy"] = policy.get(session, tenant_id=row.tenant_id)
        tenant_cache["timezone"] = programs.get(session, tenant_id=row.tenant_id).timezone
        tenant_cache["tenant"] = session.get(Tenant, row.tenant_id)
    configs = tenant_cache["configs"]
    refusals = []
    chosen = None
    for channel in row.channels:
        address = address_of(member, channel)
        if channel not in configs:
            refusals.append((channel, "channel_off"))
        elif address is None:
            refusals.append((channel, "no_address"))
        elif not consented(member, channel):
            refusals.append((channel, "no_consent"))
        elif (row.tenant_id, channel, address) in cache["suppressed"]:  # `_prefetch` read them
            refusals.append((channel, "suppressed"))
        else:
            chosen = (channel, address)
            break
    if chosen is None and any(c in tenant_cache["invalid"] for c in row.channels):
        # A channel set up but with settings no longer valid: the message waits for them to be fixed.
        return Decision(row.id, "deferred", "channel_invalid", "the channel's settings are no longer valid: fix them on the Messages page",
                        due_at=now + timedelta(hours=1), tenant_id=row.tenant_id, member_id=row.member_id, attempts=row.attempts)
    if chosen is None:
        decision.reason = refusals[0][1] if refusals else "channel_off"
        decision.detail = "; ".join(f"{c}: {r}" for c, r in refusals)
        return decision
    channel, address = chosen
    rules: policy.Policy = tenant_cache["policy"]
    quiet = policy.quiet_until(rules, now, tenant_cache["timezone"])
    if quiet is not None:
        return Decision(row.id, "deferred", "quiet_hours", f"quiet hours until {quiet.isoformat()}", due_at=quiet,
                        tenant_id=row.tenant_id, member_id=row.member_id, attempts=row.attempts)
    batch_sends = cache.setdefault("sends", {})
    capped = None if row.kind in TRANSACTIONAL else policy.cap_reached(
        session, tenant_id=row.tenant_id, member_id=row.member_id, policy=rules, now=now, timezone=tenant_cache["timezone"],
        pending=batch_sends.get(row.member_id, 0))
    if capped:
        decision.reason, decision.detail = capped, f"{capped.replace('_', ' ')} of the program's message policy reached"
        return decision
    language = member.locale if member.locale in templates.LANGUAGES else "ar"
    try:
        subject, body = _wording(session, row, channel, language, cache.setdefault("campaigns", {}))
        needs = _needs(body) | (_needs(subject) if subject else frozenset())
        values = variables_for(session, member=member, tenant=tenant_cache["tenant"], language=language,
                               extra={**row.variables, "_kind": row.kind}, needs=needs, channel=channel, now=now)
        text = templates.render(body, values)
        rendered_subject = templates.render(subject, values, field="subject") if subject else None
    except InvalidInput as exc:
        return Decision(row.id, "failed", "template_error", exc.detail[:500], tenant_id=row.tenant_id, member_id=row.member_id,
                        channel=channel, attempts=row.attempts)
    decision.status, decision.reason, decision.detail, decision.channel = "send", None, None, channel
    decision.config = configs[channel]
    batch_sends[row.member_id] = batch_sends.get(row.member_id, 0) + 1  # the caps count what this batch sends too
    try:
        decision.outgoing = channels.OutgoingMessage(
            message_id=row.message_id, channel=channel, to=address, language=language, subject=rendered_subject, text=text,
            unsubscribe_url=values["unsubscribe_url"] if channel == "email" else None, marketing=row.kind in MARKETING,
        )
    except channels.InvalidMessage as exc:  # an empty rendered body, a subject of two lines
        return Decision(row.id, "failed", "invalid_message", str(exc)[:500], tenant_id=row.tenant_id, member_id=row.member_id,
                        channel=channel, attempts=row.attempts)
    return decision


# The loop -----------------------------------------------------------------------------------------

def lease(session: Session, *, now: datetime, limit: int = BATCH, tenant_id: int | None = None) -> list[int]:
    """Take up to `limit` due messages for this worker until the lease runs out; the caller commits."""
    query = (
        select(MemberMessage.id)
        .where(MemberMessage.status == "queued", MemberMessage.due_at <= now,
               or_(MemberMessage.leased_until.is_(None), MemberMessage.leased_until <= now))
        .order_by(MemberMessage.due_at, MemberMessage.id)
        .limit(limit)
    )
    if tenant_id is not None:
        query = query.where(MemberMessage.tenant_id == tenant_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = list(session.execute(query).scalars())
    if not ids:
        return []
    until = now + LEASE
    taken = session.execute(
        update(MemberMessage.__table__)
        .where(MemberMessage.id.in_(ids), MemberMessage.status == "queued",
               or_(MemberMessage.leased_until.is_(None), MemberMessage.leased_until <= now))
        .values(leased_until=until)
        .returning(MemberMessage.__table__.c.id)
    ).scalars()
    return sorted(taken)


def send_due(
    factory: sessionmaker[Session], *, clock: Clock, http: httpx.Client, tenant_id: int | None = None, rng: random.Random | None = None,
) -> int:
    """Send one batch of due messages; return how many were handled (0: nothing due)."""
    rng = rng or random.Random()
    now = clock.now()
    # Past half the lease, what is not sent yet waits for the next batch: another worker takes over a
    # lease that runs out, and must not find a message this one is still sending.
    deadline = time.monotonic() + LEASE.total_seconds() / 2
    with unit_of_work(factory) as session:
        ids = lease(session, now=now, tenant_id=tenant_id)
        # Each tenant's link-signing secret exists before the batch is decided (deciding only reads).
        for t in set(session.execute(select(MemberMessage.tenant_id).where(MemberMessage.id.in_(ids))).scalars()) if ids else ():
            unsubscribe_key(session, tenant_id=t)
    if not ids:
        return 0
    until = now + LEASE
    cache: dict[str, Any] = {}
    with factory() as session:
        rows = list(session.execute(select(MemberMessage).where(MemberMessage.id.in_(ids)).order_by(MemberMessage.id)).scalars())
        _prefetch(session, rows, cache)
        decisions = [_decided(session, row, now=now, cache=cache) for row in rows]
        session.rollback()
    to_send = [d for d in decisions if d.status == "send"]
    outcomes: dict[int, channels.Delivery] = {}
    with ThreadPoolExecutor(max_workers=SENDERS) as pool:
        for sent in pool.map(lambda group: _send_group(group, http, deadline), _groups(to_send)):
            outcomes.update(sent)
    record(factory, decisions, outcomes, now=clock.now(), rng=rng, until=until)
    return len(decisions)


def _decided(session: Session, row: MemberMessage, *, now: datetime, cache: dict[str, Any]) -> Decision:
    """`decide`, and a message it cannot decide fails alone (recorded with the error), never the batch or the worker."""
    try:
        with session.begin_nested():
            return decide(session, row, now=now, cache=cache)
    except Exception as exc:  # one member's data must not stop every tenant's messages
        log.exception("deciding message %s failed", row.message_id)
        return Decision(row.id, "failed", "internal_error", f"{type(exc).__name__}: {exc}"[:500], tenant_id=row.tenant_id,
                        member_id=row.member_id, attempts=row.attempts)


def _prefetch(session: Session, rows: list[MemberMessage], cache: dict[str, Any]) -> None:
    """The batch's members and their suppressed addresses in two queries, not two per message."""
    cache["members"] = {m.id: m for m in session.execute(select(Member).where(Member.id.in_({r.member_id for r in rows}))).scalars()}
    addresses = {a for m in cache["members"].values() for a in (address_of(m, "email"), m.phone) if a}
    suppressions = session.execute(
        select(Suppression.tenant_id, Suppression.channel, Suppression.address, Suppression.reason, Suppression.created_at)
        .where(Suppression.tenant_id.in_({r.tenant_id for r in rows}), Suppression.address.in_(addresses),
               Suppression.channel.in_({c for r in rows for c in r.channels}))
    ).all() if addresses else []
    # An unsubscribe is lifted by consent given again after it (a hard bounce or a complaint is not).
    granted: dict[tuple[int, str], datetime] = {}
    if any(row.reason == "unsubscribe" for row in suppressions):
        for member_id, channel, at in session.execute(
            select(ConsentChange.member_id, ConsentChange.channel, func.max(ConsentChange.at))
            .where(ConsentChange.tenant_id.in_({r.tenant_id for r in rows}), ConsentChange.member_id.in_(cache["members"]),
                   ConsentChange.granted.is_(True))
            .group_by(ConsentChange.member_id, ConsentChange.channel)
        ):
            granted[(int(member_id), channel)] = at
    owner = {(m.tenant_id, c, address_of(m, c)): m.id for m in cache["members"].values() for c in templates.CHANNELS}
    cache["suppressed"] = {
        (t, c, a) for t, c, a, reason, at in suppressions
        if reason != "unsubscribe" or granted.get((owner.get((t, c, a), 0), c), at) <= at
    }


def _groups(to_send: list[Decision]) -> list[list[Decision]]:
    """The messages to send, by tenant and channel (one provider each), cut into up to SENDERS groups
    that go in parallel, each over its own connection."""
    by_provider: dict[tuple[int, str | None], list[Decision]] = {}
    for d in to_send:
        by_provider.setdefault((d.tenant_id, d.channel), []).append(d)
    groups = []
    for same in by_provider.values():
        size = max(1, -(-len(same) // max(1, SENDERS // max(1, len(by_provider)))))
        groups += [same[i:i + size] for i in range(0, len(same), size)]
    return groups


def _send_group(group: list[Decision], http: httpx.Client, deadline: float) -> dict[int, channels.Delivery]:
    try:
        outcomes = channels.send_many(group[0].config, [d.outgoing for d in group if d.outgoing is not None], http=http, deadline=deadline)
    except Exception as exc:
        log.exception("sending %d messages failed", len(group))
        outcomes = [channels.Delivery(status="retry", provider_id=None, detail=type(exc).__name__)] * len(group)
    return {d.row_id: outcome for d, outcome in zip(group, outcomes, strict=True)}


def record(
    factory: sessionmaker[Session], decisions: list[Decision], outcomes: dict[int, channels.Delivery], *, now: datetime, rng: random.Random,
    until: datetime | None = None,
) -> None:
    """Write every decision and send outcome of a batch in one transaction; with `until`, only rows this
    worker still holds (leased until then) are written: a row whose lease ran out belongs to another worker."""
    shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    with unit_of_work(factory) as session:
        for d in decisions:
            values: dict[str, Any] = {"leased_until": None, "updated_at": now, "channel": d.channel}
            if d.status == "deferred":
                values.update(due_at=d.due_at, reason=d.reason, detail=d.detail)
            elif d.status in ("skipped", "failed"):
                values.update(status=d.status, reason=d.reason, detail=d.detail)
            else:
                outcome = outcomes[d.row_id]
                assert d.outgoing is not None
                if outcome.detail == channels.NOT_ATTEMPTED:  # not an attempt: next batch, at once
                    shapes.setdefault(("due_at", "leased_until", "updated_at"), []).append(
                        {"due_at": now, "leased_until": None, "updated_at": now, "row_id": d.row_id})
                    continue
                values.update(address=d.outgoing.to, language=d.outgoing.language, subject=d.outgoing.subject, body=d.outgoing.text,
                              attempts=d.attempts + 1, detail=outcome.detail[:500] or None)
                if outcome.status == "sent":
                    values.update(status="sent", sent_at=now, provider_id=outcome.provider_id, reason=None)
                elif outcome.status == "failed" or d.attempts >= len(RETRIES):
                    values.update(status="failed", reason="hard_bounce" if outcome.hard_bounce else "provider_refused"
                                  if outcome.status == "failed" else "retries_exhausted")
                    if outcome.hard_bounce:
                        suppress(session, tenant_id=d.tenant_id, channel=d.outgoing.channel, address=d.outgoing.to, reason="hard_bounce",
                                 detail=outcome.detail, now=now)
                else:
                    delay = RETRIES[d.attempts]
                    values.update(due_at=now + delay * (1 + rng.random() * 0.2), reason="retrying")
            shapes.setdefault(tuple(sorted(values)), []).append({**values, "row_id": d.row_id})
        table = MemberMessage.__table__
        held = (table.c.leased_until == until) if until is not None else true()
        for keys, rows in shapes.items():  # one executemany per set of columns written
            session.execute(
                update(table).where(table.c.id == bindparam("row_id"), held).values({key: bindparam(key) for key in keys}), rows,
            )


def send_all_due(factory: sessionmaker[Session], *, clock: Clock, http: httpx.Client, tenant_id: int | None = None) -> int:
    """Send until nothing is due (tests and `wafa messages send`)."""
    total = 0
    while True:
        done = send_due(factory, clock=clock, http=http, tenant_id=tenant_id)
        total += done
        if not done:
            return total
