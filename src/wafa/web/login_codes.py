"""One-time sign-in codes for members: six digits, ten minutes, one use, five tries, and at most
three codes per address in fifteen minutes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session

from wafa.db import rowcount
from wafa.errors import WafaError
from wafa.web.models import LoginCode

LIFETIME = timedelta(minutes=10)
MAX_ATTEMPTS = 5
WINDOW = timedelta(minutes=15)
MAX_PER_WINDOW = 3


class TooManyCodes(WafaError):
    status = 429
    slug = "too-many-codes"
    title = "Too many codes asked for"


class CodeRefused(WafaError):
    status = 401
    slug = "code-refused"
    title = "Code refused"


def _digest(salt: str, code: str) -> str:
    return hmac.new(salt.encode(), code.encode(), hashlib.sha256).hexdigest()


def issue(
    session: Session, *, tenant_id: int, email: str, member_id: int | None, signup: str | None, now: datetime,
) -> str:
    """A new code for this address (returned to be sent, stored only as a salted hash)."""
    _serialise(session, tenant_id=tenant_id, email=email)
    recent = session.execute(
        select(func.count()).select_from(LoginCode).where(
            LoginCode.tenant_id == tenant_id, LoginCode.email == email, LoginCode.created_at > now - WINDOW,
        )
    ).scalar_one()
    if recent >= MAX_PER_WINDOW:
        raise TooManyCodes("too many codes were sent to this address: wait a few minutes and try again")
    code = f"{secrets.randbelow(10**6):06d}"
    salt = secrets.token_hex(16)
    session.add(LoginCode(
        tenant_id=tenant_id, email=email, member_id=member_id, salt=salt, code_hash=_digest(salt, code), attempts=0,
        signup=signup, created_at=now, expires_at=now + LIFETIME,
    ))
    session.flush()
    return code


def _serialise(session: Session, *, tenant_id: int, email: str) -> None:
    """Asks for one address wait for each other (PostgreSQL: a transaction-scoped advisory lock), so
    that simultaneous asks cannot all pass the count. SQLite runs one writer at a time anyway."""
    if session.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(f"login-code:{tenant_id}:{email}".encode()).digest()[:8], "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def redeem(session: Session, *, tenant_id: int, email: str, code: str, now: datetime) -> LoginCode:
    """Use the latest live code of this address; CodeRefused if it is wrong, used up, or expired. A
    wrong try counts against the code (the caller commits it even though sign-in fails)."""
    row = session.execute(
        select(LoginCode).where(LoginCode.tenant_id == tenant_id, LoginCode.email == email)
        .order_by(LoginCode.id.desc()).limit(1).with_for_update()
    ).scalar_one_or_none()
    if row is None or row.used_at is not None or row.expires_at <= now or row.attempts >= MAX_ATTEMPTS:
        raise CodeRefused("this code has expired or was already used: ask for a new one")
    candidate = "".join(ch for ch in code if ch.isdigit())
    # Arabic-Indic digits typed on an Arabic keyboard count as the same code.
    candidate = candidate.translate(str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789"))
    if not hmac.compare_digest(row.code_hash, _digest(row.salt, candidate)):
        left = max(0, MAX_ATTEMPTS - row.attempts - 1)  # read before the update refreshes row.attempts
        session.execute(update(LoginCode).where(LoginCode.id == row.id).values(attempts=LoginCode.attempts + 1))
        raise CodeRefused("wrong code", attempts_left=left)
    session.execute(update(LoginCode).where(LoginCode.id == row.id).values(used_at=now))
    return row


def purge(session: Session, *, now: datetime) -> int:
    """Forget codes a day past their expiry (the rate limit only looks back WINDOW)."""
    return rowcount(session.execute(delete(LoginCode).where(LoginCode.expires_at < now - timedelta(days=1)))) or 0
