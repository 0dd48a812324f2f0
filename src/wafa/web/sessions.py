"""Browser sessions: a random token in an HTTP-only cookie, its hash in the database, a new token at
every sign-in (so a token planted before sign-in never becomes signed in), a CSRF token per session."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from wafa.db import rowcount
from wafa.web.models import WebSession

# Admin sessions end after 12 hours without a request, members' after 30 days (a phone stays signed in).
IDLE = {"admin": timedelta(hours=12), "member": timedelta(days=30)}
# last_seen_at is written at most this often, not on every page.
TOUCH_EVERY = timedelta(minutes=5)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(session: Session, *, kind: str, tenant_id: int, subject_id: int, now: datetime) -> tuple[str, WebSession]:
    """A new session; returns the token for the cookie (never stored)."""
    token = secrets.token_urlsafe(32)
    row = WebSession(
        token_hash=_hash(token), kind=kind, tenant_id=tenant_id, subject_id=subject_id, csrf_token=secrets.token_urlsafe(32),
        created_at=now, last_seen_at=now, expires_at=now + IDLE[kind],
    )
    session.add(row)
    session.flush()
    return token, row


def find(session: Session, *, token: str | None, kind: str, now: datetime, tenant_id: int | None = None) -> WebSession | None:
    """The live session this cookie names, of this kind (and tenant), sliding its idle expiry."""
    if not token or len(token) > 128:
        return None
    row = session.execute(select(WebSession).where(WebSession.token_hash == _hash(token))).scalar_one_or_none()
    if row is None or row.kind != kind or row.expires_at <= now:
        return None
    if tenant_id is not None and row.tenant_id != tenant_id:
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        session.execute(
            update(WebSession).where(WebSession.id == row.id).values(last_seen_at=now, expires_at=now + IDLE[kind])
        )
    return row


def end(session: Session, *, token: str | None) -> None:
    if token:
        session.execute(delete(WebSession).where(WebSession.token_hash == _hash(token)))


def end_all(session: Session, *, kind: str, tenant_id: int, subject_id: int, keep: str | None = None) -> int:
    """Sign a person out everywhere (a suspended member, a disabled admin, a new password), except, with
    `keep`, the session of that cookie token (the browser that changed its own password stays in)."""
    query = delete(WebSession).where(WebSession.kind == kind, WebSession.tenant_id == tenant_id, WebSession.subject_id == subject_id)
    if keep:
        query = query.where(WebSession.token_hash != _hash(keep))
    return rowcount(session.execute(query)) or 0


def purge_expired(session: Session, *, now: datetime) -> int:
    return rowcount(session.execute(delete(WebSession).where(WebSession.expires_at <= now))) or 0


def same(a: str | None, b: str | None) -> bool:
    """Constant-time comparison of two tokens (False if either is missing)."""
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))
