"""Admin users of the console: create, sign in with lock-out after repeated failures, change roles and
passwords, deactivate and reactivate (never leaving a tenant without an active owner), and the limit
an owner sets on support staff's adjustments. A coalition partner's person (`partner_id` set) holds the
partner role and only it; the operator's people never hold it."""

from __future__ import annotations

from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from wafa.errors import Conflict, InvalidInput, NotFound, WafaError
from wafa.members.service import normalize_email
from wafa.tenants.models import AdminPolicy, AdminUser
from wafa.tenants.roles import PARTNER, ROLES, can
from wafa.trust import hashing

MIN_PASSWORD = 10
MAX_PASSWORD = 1024
# Five wrong passwords lock the account for fifteen minutes; each later failure starts it again.
MAX_FAILURES = 5
LOCK_FOR = timedelta(minutes=15)
# Points one adjustment by a support role may move (either way) until an owner sets another limit.
DEFAULT_SUPPORT_LIMIT = 500
MAX_SUPPORT_LIMIT = 1_000_000

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


class WeakPassword(InvalidInput):
    """A new password shorter than MIN_PASSWORD (or absurdly long)."""

    slug = "weak-password"


class WrongPassword(InvalidInput):
    """The current password given to change it is not the current password."""

    slug = "wrong-password"


class AlreadyUser(Conflict):
    """The e-mail belongs to a console user of this tenant already."""

    slug = "already-a-user"


class LastOwner(Conflict):
    """The change would leave the tenant without an active owner."""

    slug = "last-owner"


class OwnersOnly(WafaError):
    """Only an owner gives or takes the owner role, or deactivates an owner."""

    status = 403
    slug = "owners-only"
    title = "Forbidden"


class NotYourself(Conflict):
    """Nobody deactivates themselves (it would end the session they are using to do it)."""

    slug = "not-yourself"


class PartnerRoleFixed(Conflict):
    """A partner's person holds the partner role and no other; the operator's people never hold it."""

    slug = "partner-role-fixed"


def _address(email: str) -> str:
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise InvalidInput(f"{email!r} is not an e-mail address", field="email") from None


def check_role(role: str) -> str:
    if role not in (*ROLES, PARTNER):
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}", field="role")
    return role


def _check_partner_role(role: str, partner_id: int | None) -> None:
    if (role == PARTNER) != (partner_id is not None):
        raise PartnerRoleFixed(
            "a partner's person holds the partner role and no other; the operator's people hold the operator's roles", field="role",
        )


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise WeakPassword(f"a password needs at least {MIN_PASSWORD} characters", field="password")
    if len(password) > MAX_PASSWORD:
        raise WeakPassword(f"a password has at most {MAX_PASSWORD} characters", field="password")
    return password


def hash_password(password: str) -> str:
    checked = check_password(password)
    with hashing.slot():
        return _hasher.hash(checked)


def create(
    session: Session, *, tenant_id: int, email: str, name: str, password: str | None, role: str = "admin", now: datetime,
    partner_id: int | None = None,
) -> AdminUser:
    """Add an admin user; the password is stored as an argon2id hash. Without a password the user is
    "invited" and signs in only after accepting an invitation (admin_tokens). A coalition partner's
    person has `partner_id` and the partner role."""
    address = _address(email)
    check_role(role)
    _check_partner_role(role, partner_id)
    password_hash = hash_password(password) if password is not None else ""
    if password is not None and not name.strip():
        raise InvalidInput("a name is required", field="name")
    user = AdminUser(
        tenant_id=tenant_id, email=address, name=name.strip(), password_hash=password_hash, role=role,
        status="active" if password is not None else "invited", failed_logins=0, created_at=now, partner_id=partner_id,
    )
    try:
        with session.begin_nested():
            session.add(user)
            session.flush()
    except IntegrityError:
        raise AlreadyUser(f"{address} is already an admin user of this tenant", field="email") from None
    return user


def get(session: Session, *, tenant_id: int, user_id: int) -> AdminUser | None:
    user = session.get(AdminUser, user_id)
    return user if user is not None and user.tenant_id == tenant_id else None


def get_or_raise(session: Session, *, tenant_id: int, user_id: int) -> AdminUser:
    user = get(session, tenant_id=tenant_id, user_id=user_id)
    if user is None:
        raise NotFound("no such admin user")
    return user


def get_by_email(session: Session, *, tenant_id: int, email: str) -> AdminUser | None:
    address = normalize_email(email) or ""
    return session.execute(select(AdminUser).where(AdminUser.tenant_id == tenant_id, AdminUser.email == address)).scalar_one_or_none()


def list_(session: Session, *, tenant_id: int, partner_id: int | None = None) -> list[AdminUser]:
    """The tenant's console users (a partner's people only, with `partner_id`), oldest first."""
    query = select(AdminUser).where(AdminUser.tenant_id == tenant_id)
    if partner_id is not None:
        query = query.where(AdminUser.partner_id == partner_id)
    return list(session.execute(query.order_by(AdminUser.id)).scalars())


def ready_for_invitation(session: Session, *, tenant_id: int, email: str, role: str, partner_id: int | None, now: datetime) -> None:
    """Refuse an invitation that would mix a partner's people with the operator's (either way), and make
    the invited account of a partner's new person; admin_tokens.invite then issues the link."""
    check_role(role)
    _check_partner_role(role, partner_id)
    user = get_by_email(session, tenant_id=tenant_id, email=email)
    if user is None:
        if partner_id is not None:
            create(session, tenant_id=tenant_id, email=email, name="", password=None, role=PARTNER, now=now, partner_id=partner_id)
        return
    if user.partner_id != partner_id:
        # Another partner's person, or the operator's: inviting them again as this one would move them across.
        raise AlreadyUser(f"{user.email} is already a console user of this tenant", field="email")


def has_owner(session: Session, *, tenant_id: int) -> bool:
    """Whether the tenant has an active owner (the CLI makes the first user an owner when not)."""
    return bool(session.execute(
        select(func.count()).select_from(AdminUser).where(
            AdminUser.tenant_id == tenant_id, AdminUser.role == "owner", AdminUser.status == "active",
        )
    ).scalar_one())


def authenticate(session: Session, *, tenant_id: int, email: str, password: str, now: datetime) -> AdminUser:
    """The user these credentials name, or SignInRefused, in one session (the CLI's and tests' way; the
    console hashes outside any transaction: see `stored_hash` and `settle`)."""
    stored = stored_hash(session, tenant_id=tenant_id, email=email)
    return settle(session, tenant_id=tenant_id, email=email, hashed=stored, verified=verify(stored, password), password=password,
                  now=now)


def stored_hash(session: Session, *, tenant_id: int, email: str) -> str | None:
    """The password hash of the user an e-mail names (None: no such user, or no password yet)."""
    address = normalize_email(email) or ""
    return session.execute(
        select(AdminUser.password_hash).where(AdminUser.tenant_id == tenant_id, AdminUser.email == address)
    ).scalar_one_or_none()


def verify(stored: str | None, password: str) -> bool:
    """Whether `password` matches the hash (an unknown user costs a hash too, so e-mails cannot be told
    apart by the time an answer takes). Call it outside a transaction: it takes tens of milliseconds."""
    return _verify(stored or _DUMMY_HASH, password) and stored is not None


def settle(
    session: Session, *, tenant_id: int, email: str, hashed: str | None, verified: bool, password: str, now: datetime,
) -> AdminUser:
    """Record a sign-in attempt checked by `verify` against `hashed`: the user, or SignInRefused. Failures
    are counted (the caller commits them even though sign-in fails); the fifth in a row locks the account
    for LOCK_FOR. A password changed between the check and now refuses the attempt."""
    address = normalize_email(email) or ""
    user = session.execute(
        select(AdminUser).where(AdminUser.tenant_id == tenant_id, AdminUser.email == address).with_for_update()
    ).scalar_one_or_none()
    if user is None:
        raise SignInRefused("wrong e-mail or password")
    if user.locked_until is not None and user.locked_until > now:
        raise AccountLocked("too many failed attempts: this account is locked for a while", locked_until=user.locked_until.isoformat())
    if not verified or user.password_hash != hashed or user.status != "active" or not user.password_hash:
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILURES:
            user.locked_until = now + LOCK_FOR
        session.flush()
        raise SignInRefused("wrong e-mail or password")
    if _hasher.check_needs_rehash(user.password_hash):
        with hashing.slot():
            user.password_hash = _hasher.hash(password)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    session.flush()
    return user


def _verify(password_hash: str, password: str) -> bool:
    try:
        with hashing.slot():
            return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def set_password(session: Session, *, tenant_id: int, user_id: int, password: str) -> None:
    """A new password (and an end to any lock-out); the caller ends the user's other sessions."""
    password_hash = hash_password(password)
    get_or_raise(session, tenant_id=tenant_id, user_id=user_id)
    session.execute(
        update(AdminUser).where(AdminUser.id == user_id).values(password_hash=password_hash, failed_logins=0, locked_until=None)
    )


def change_password(session: Session, *, tenant_id: int, user_id: int, current: str, password: str) -> None:
    """A signed-in user's own new password, given their current one (WrongPassword if it is not)."""
    user = get_or_raise(session, tenant_id=tenant_id, user_id=user_id)
    if not _verify(user.password_hash or _DUMMY_HASH, current):
        raise WrongPassword("the current password is not right", field="current")
    set_password(session, tenant_id=tenant_id, user_id=user_id, password=password)


def _active_owners(session: Session, *, tenant_id: int) -> list[int]:
    # Locked, so that two owners demoting each other at once cannot both pass the count (PostgreSQL
    # re-reads the locked rows after waiting; SQLite has one writer at a time anyway).
    return list(session.execute(
        select(AdminUser.id).where(AdminUser.tenant_id == tenant_id, AdminUser.role == "owner", AdminUser.status == "active")
        .with_for_update()
    ).scalars())


def _keep_an_owner(session: Session, *, tenant_id: int, user: AdminUser) -> None:
    if user.role == "owner" and user.status == "active" and _active_owners(session, tenant_id=tenant_id) == [user.id]:
        raise LastOwner("this is the last owner: make someone else an owner first", field="role")


def change_role(session: Session, *, tenant_id: int, user_id: int, role: str, by_role: str) -> AdminUser:
    """Give a user another role. Only an owner (`by_role`) gives or takes the owner role, and the last
    active owner keeps it."""
    check_role(role)
    user = get_or_raise(session, tenant_id=tenant_id, user_id=user_id)
    _check_partner_role(role, user.partner_id)
    if role == user.role:
        return user
    if "owner" in (role, user.role) and not can(by_role, "owners"):
        raise OwnersOnly("only an owner gives or takes the owner role")
    _keep_an_owner(session, tenant_id=tenant_id, user=user)
    user.role = role
    session.flush()
    return user


def change_status(session: Session, *, tenant_id: int, user_id: int, action: str, by_user_id: int, by_role: str) -> AdminUser:
    """Deactivate (a user or a pending invitation) or reactivate a user; the caller ends the sessions of
    a deactivated user. A reactivated user who never accepted the invitation is invited again."""
    user = get_or_raise(session, tenant_id=tenant_id, user_id=user_id)
    if action == "deactivate":
        if user.id == by_user_id:
            raise NotYourself("you cannot deactivate yourself")
        if user.role == "owner" and not can(by_role, "owners"):
            raise OwnersOnly("only an owner deactivates an owner")
        _keep_an_owner(session, tenant_id=tenant_id, user=user)
        user.status = "disabled"
    elif action == "reactivate":
        if user.role == "owner" and not can(by_role, "owners"):
            raise OwnersOnly("only an owner reactivates an owner")
        user.status = "active" if user.password_hash else "invited"
        user.failed_logins, user.locked_until = 0, None
    else:
        raise InvalidInput("action is deactivate or reactivate", field="action")
    session.flush()
    return user


def support_limit(session: Session, *, tenant_id: int) -> int:
    """The most points one adjustment by a support role may move, either way."""
    policy = session.get(AdminPolicy, tenant_id)
    return policy.support_adjust_limit if policy is not None else DEFAULT_SUPPORT_LIMIT


def set_support_limit(session: Session, *, tenant_id: int, points: int, now: datetime) -> None:
    if not 0 <= points <= MAX_SUPPORT_LIMIT:
        raise InvalidInput(f"the limit is between 0 and {MAX_SUPPORT_LIMIT} points", field="support_limit")
    policy = session.get(AdminPolicy, tenant_id)
    if policy is None:
        session.add(AdminPolicy(tenant_id=tenant_id, support_adjust_limit=points, updated_at=now))
    else:
        policy.support_adjust_limit, policy.updated_at = points, now
    session.flush()
