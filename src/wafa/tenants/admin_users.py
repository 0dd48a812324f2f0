"""Admin users of the console: create, sign in with lock-out after repeated failures, change roles."""

from __future__ import annotations

from datetime import datetime, timedelta

from argon2 import PasswordHasher
from email_validator import EmailNotValidError, validate_email
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from wafa.errors import Conflict, InvalidInput, NotFound, WafaError
from wafa.members.service import normalize_email
from wafa.tenants.models import AdminUser

ROLES = ("admin", "viewer")
MIN_PASSWORD = 10
# Five wrong passwords lock the account for fifteen minutes; each later failure starts it again.
MAX_FAILURES = 5
LOCK_FOR = timedelta(minutes=15)

_hasher = PasswordHasher()
# Verified against when the e-mail is unknown, so a wrong e-mail costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("wafa-no-such-user")


class SignInRefused(WafaError):
    """Wrong e-mail or password, or a locked or disabled account (one message for all: no user enumeration)."""

    status = 401
    slug = "sign-in-refused"
    title = "Sign-in refused"


class AccountLocked(SignInRefused):
    slug = "account-locked"
    title = "Account locked"


def create(
    session: Session, *, tenant_id: int, email: str, name: str, password: str, role: str = "admin", now: datetime,
) -> AdminUser:
    """Add an admin user; the password is stored as an argon2id hash."""
    try:
        address = validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise InvalidInput(f"{email!r} is not an e-mail address", field="email") from None
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}", field="role")
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"a password needs at least {MIN_PASSWORD} characters", field="password")
    if not name.strip():
        raise InvalidInput("a name is required", field="name")
    user = AdminUser(
        tenant_id=tenant_id, email=address, name=name.strip(), password_hash=_hasher.hash(password), role=role,
        status="active", failed_logins=0, created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(user)
            session.flush()
    except IntegrityError:
        raise Conflict(f"{address} is already an admin user of this tenant", field="email") from None
    return user


def get(session: Session, *, tenant_id: int, user_id: int) -> AdminUser | None:
    user = session.get(AdminUser, user_id)
    return user if user is not None and user.tenant_id == tenant_id else None


def list_(session: Session, *, tenant_id: int) -> list[AdminUser]:
    return list(session.execute(select(AdminUser).where(AdminUser.tenant_id == tenant_id).order_by(AdminUser.id)).scalars())


def authenticate(session: Session, *, tenant_id: int, email: str, password: str, now: datetime) -> AdminUser:
    """The user these credentials name, or SignInRefused. Failures are counted (and committed by the
    caller even though sign-in fails); the fifth in a row locks the account for LOCK_FOR."""
    address = normalize_email(email) or ""
    user = session.execute(
        select(AdminUser).where(AdminUser.tenant_id == tenant_id, AdminUser.email == address).with_for_update()
    ).scalar_one_or_none()
    if user is None:
        _verify(_DUMMY_HASH, password)
        raise SignInRefused("wrong e-mail or password")
    if user.locked_until is not None and user.locked_until > now:
        raise AccountLocked("too many failed attempts: this account is locked for a while", locked_until=user.locked_until.isoformat())
    if not _verify(user.password_hash, password) or user.status != "active":
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILURES:
            user.locked_until = now + LOCK_FOR
        session.flush()
        raise SignInRefused("wrong e-mail or password")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    session.flush()
    return user


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def set_password(session: Session, *, tenant_id: int, user_id: int, password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"a password needs at least {MIN_PASSWORD} characters", field="password")
    user = get(session, tenant_id=tenant_id, user_id=user_id)
    if user is None:
        raise NotFound("no such admin user")
    session.execute(
        update(AdminUser).where(AdminUser.id == user_id).values(password_hash=_hasher.hash(password), failed_logins=0, locked_until=None)
    )
