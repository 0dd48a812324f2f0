"""Velocity limits: how much one member, payment card, store or API key may earn, redeem, be credited by hand
or spend from the wallet over an hour, a day or a week. An action past a limit is not refused: it is held for
review (trust/reviews.py), so a real customer loses nothing while someone looks. Store check-ins are the
exception: they move no value, so there is nothing to hold, and one past a limit is refused (`refusal`).

Counting is exact: every limited action leaves a mark (trust/models.VelocityMark), held ones too, and a limit
sums one subject's marks over its sliding window. Programs without limits on an action pay nothing for it:
the limits come from the cached program, and no mark is written. On PostgreSQL the subjects of an action
are locked (transaction-scoped advisory locks, in one order) before counting, so concurrent actions of one
subject are counted one after the other; SQLite runs one writer at a time anyway.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.orm import Session

from wafa import cache
from wafa.ledger import service as ledger
from wafa.programs import service as programs
from wafa.programs.models import Program
from wafa.programs.service import ProgramConfig
from wafa.trust.models import Review, VelocityMark
from wafa.trust.schemas import VelocityLimit

WINDOWS = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1)}

# Held points wait here until a decision: later than any pending window, so the worker never releases them.
HELD_UNTIL = datetime(9999, 12, 31, tzinfo=UTC)
HELD_FROM = datetime(9999, 1, 1, tzinfo=UTC)  # any release time from here on is a hold

_COLUMNS = {"member": VelocityMark.member_id, "card": VelocityMark.card, "store": VelocityMark.store, "key": VelocityMark.key_id}


@dataclass(frozen=True, slots=True)
class Subjects:
    """Who an action counts for; a subject the action does not carry (no store on a redemption) is None."""

    member: int
    card: str | None = None
    store: str | None = None
    key: int | None = None

    def of(self, subject: str) -> str | int | None:
        return {"member": self.member, "card": self.card, "store": self.store, "key": self.key}[subject]

    def as_json(self) -> dict[str, str | int | None]:
        return {"member": self.member, "card": self.card, "store": self.store, "key": self.key}


@dataclass(frozen=True, slots=True)
class Breach:
    """The first limit an action goes past, with what its subject had done in the window before."""

    limit: dict[str, Any]
    count: int
    value: int
    observed: dict[str, int] = field(default_factory=dict)


def limits_for(program: ProgramConfig, action: str) -> list[dict[str, Any]]:
    """The program's limits on one action (the program comes from the process cache)."""
    return [limit for limit in program.velocity_limits if limit["action"] == action]


def read(session: Session, *, tenant_id: int) -> list[VelocityLimit]:
    return [VelocityLimit(**limit) for limit in programs.get(session, tenant_id=tenant_id, fresh=True).velocity_limits]


def replace_limits(session: Session, *, tenant_id: int, limits: list[VelocityLimit], now: datetime) -> list[VelocityLimit]:
    """Set the program's velocity limits (the whole set)."""
    programs.get(session, tenant_id=tenant_id, fresh=True)  # NotFound for a tenant without a program
    stored = [limit.model_dump() for limit in limits]
    session.execute(update(Program).where(Program.tenant_id == tenant_id).values(velocity_limits=stored, updated_at=now))
    cache.changed(session, tenant_id=tenant_id, name="program")
    return read(session, tenant_id=tenant_id)


def is_held(available_at: datetime) -> bool:
    """Whether a lot's points are held for review (HELD_UNTIL), not pending."""
    return available_at >= HELD_FROM


def review_of_event(session: Session, *, tenant_id: int, event_id: int) -> int | None:
    """The review holding an event's points, if any."""
    return session.execute(
        select(Review.id).where(Review.tenant_id == tenant_id, Review.event_id == event_id).order_by(Review.id.desc()).limit(1)
    ).scalar_one_or_none()


def _lock(session: Session, *, tenant_id: int, action: str, subjects: Subjects, limits: list[dict[str, Any]]) -> None:
    """The member's points accounts first (the order every ledger path takes), then the subjects, by name."""
    accounts = ledger.member_accounts(session, tenant_id=tenant_id, member_id=subjects.member)
    ledger.lock_accounts(session, tenant_id=tenant_id, account_ids=[accounts["available"], accounts["pending"]])
    if session.get_bind().dialect.name != "postgresql":
        return
    names = sorted({limit["subject"] for limit in limits if subjects.of(limit["subject"]) is not None})
    for name in names:
        digest = hashlib.sha256(f"velocity:{tenant_id}:{action}:{name}:{subjects.of(name)}".encode()).digest()
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": int.from_bytes(digest[:8], "big", signed=True)})


def assess(
    session: Session, *, tenant_id: int, program: ProgramConfig, action: str, subjects: Subjects, value: int, now: datetime,
) -> Breach | None:
    """Count this action against the program's limits on it (leaving its mark) and return the first limit it
    goes past, or None. Nothing is read or written for a program without limits on `action`."""
    limits = limits_for(program, action)
    if not limits:
        return None
    _lock(session, tenant_id=tenant_id, action=action, subjects=subjects, limits=limits)
    breach = None
    for limit in limits:
        who = subjects.of(limit["subject"])
        if who is None:
            continue
        count, total = session.execute(
            select(func.count(), func.coalesce(func.sum(VelocityMark.value), 0)).where(
                VelocityMark.tenant_id == tenant_id, VelocityMark.action == action,
                _COLUMNS[limit["subject"]] == who, VelocityMark.at > now - WINDOWS[limit["window"]],
            )
        ).one()
        past_count = limit.get("max_count") is not None and count + 1 > limit["max_count"]
        past_value = limit.get("max_value") is not None and total + value > limit["max_value"]
        if past_count or past_value:
            breach = Breach(limit=dict(limit), count=int(count), value=int(total), observed={"count": int(count), "value": int(total)})
            break
    session.execute(insert(VelocityMark).values(
        tenant_id=tenant_id, action=action, member_id=subjects.member, card=subjects.card, store=subjects.store,
        key_id=subjects.key, value=value, at=now,
    ))
    return breach


def refusal(session: Session, *, tenant_id: int, action: str, subjects: Subjects, now: datetime) -> Breach | None:
    """Count an action worth 1 that is refused, not held, past a limit (a store check-in) and return the limit it
    goes past, for the caller to refuse (its rollback takes the mark away: a refused action does not count)."""
    program = programs.get(session, tenant_id=tenant_id)
    return assess(session, tenant_id=tenant_id, program=program, action=action, subjects=subjects, value=1, now=now)


def hold(
    session: Session, *, tenant_id: int, action: str, breach: Breach, subjects: Subjects, value: int, now: datetime,
    event_id: int | None = None, order_id: str | None = None, entry_id: int | None = None, lot_id: int | None = None,
    available_at: datetime | None = None, request: dict[str, Any] | None = None,
) -> Review:
    """Put a held action in the review queue: held points (entry and lot, and when they would have been
    available) or a held request."""
    review = Review(
        tenant_id=tenant_id, action=action, member_id=subjects.member, status="held", breached=breach.limit,
        observed=breach.observed, value=value, subjects=subjects.as_json(), event_id=event_id, order_id=order_id,
        entry_id=entry_id, lot_id=lot_id, available_at=available_at, request=request, created_at=now,
    )
    session.add(review)
    session.flush()
    return review


def held_credit(
    session: Session, *, tenant_id: int, member_id: int, points: int, reason: str, idempotency_key: str, now: datetime,
    expires_at: datetime | None, actor: str | None, key_id: int | None = None,
) -> Review | None:
    """A credit by hand past a velocity limit on adjustments: credited held, and queued for review; None
    (nothing written) when it is within the limits, for the caller to credit as usual."""
    program = programs.get(session, tenant_id=tenant_id)
    if points <= 0 or not limits_for(program, "adjust"):
        return None
    subjects = Subjects(member=member_id, key=key_id)
    breach = assess(session, tenant_id=tenant_id, program=program, action="adjust", subjects=subjects, value=points, now=now)
    if breach is None:
        return None
    credit = ledger.credit(
        session, tenant_id=tenant_id, member_id=member_id, points=points, kind="adjust", source="adjustments",
        idempotency_key=idempotency_key, reason=reason, now=now, available_at=HELD_UNTIL, expires_at=expires_at,
        details={"actor": actor} if actor else None,
    )
    return hold(
        session, tenant_id=tenant_id, action="adjust", breach=breach, subjects=subjects, value=points, now=now,
        entry_id=credit.entry_id, lot_id=credit.lot_id, available_at=now,
    )


def held_request(
    session: Session, *, tenant_id: int, action: str, subjects: Subjects, value: int, request: dict[str, Any], now: datetime,
) -> Review | None:
    """A redemption or wallet debit past a velocity limit: kept as its request and queued for review; None
    when it is within the limits, for the caller to carry out as usual."""
    program = programs.get(session, tenant_id=tenant_id)
    if not limits_for(program, action):
        return None
    breach = assess(session, tenant_id=tenant_id, program=program, action=action, subjects=subjects, value=value, now=now)
    if breach is None:
        return None
    return hold(session, tenant_id=tenant_id, action=action, breach=breach, subjects=subjects, value=value, now=now, request=request)
