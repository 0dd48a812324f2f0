"""Links e-mailed to admin users: an invitation (seven days) and a password reset (one hour). Each is
256-bit random, stored only as its sha256, used once; a newer link of the same kind replaces the older,
and at most three resets are sent to one address an hour."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from wafa.db import rowcount
from wafa.errors import InvalidInput, WafaError
from wafa.members.service import normalize_email
from wafa.tenants import admin_users
from wafa.tenants.models import AdminToken, AdminUser
from wafa.tenants.roles import can

LIFETIME = {"invite": timedelta(days=7), "reset": timedelta(hours=1)}
RESET_WINDOW = timedelta(hours=1)
MAX_RESETS_PER_WINDOW = 3


class LinkRefused(WafaError):
    """A link that is unknown, already used, expired, or whose user can no longer use it."""

    status = 410
    slug = "link-refused"
    title = "Link expired"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _issue(session: Session, *, user: AdminUser, purpose: str, now: datetime) -> str:
    # A new link replaces any older one of the same kind: only the latest e-mail works.
    _retire(session, user_id=user.id, purpose=purpose, now=now)
    token = secrets.token_urlsafe(32)
    session.add(AdminToken(
        tenant_id=user.tenant_id, admin_user_id=user.id, purpose=purpose, token_hash=_hash(token), created_at=now,
        expires_at=now + LIFETIME[purpose],
    ))
    session.flush()
    return token


def _retire(session: Session, *, user_id: int, purpose: str, now: datetime) -> None:
    session.execute(
        update(AdminToken).where(AdminToken.admin_user_id == user_id, AdminToken.purpose == purpose, AdminToken.used_at.is_(None))
        .values(used_at=now)
    )


def retire_resets(session: Session, *, user_id: int, now: datetime) -> None:
    """A user's open password-reset links stop working (they changed their password another way)."""
    _retire(session, user_id=user_id, purpose="reset", now=now)


def retire_all(session: Session, *, user_id: int, now: datetime) -> None:
    """Every open link of a user stops working (a deactivated user)."""
    session.execute(update(AdminToken).where(AdminToken.admin_user_id == user_id, AdminToken.used_at.is_(None)).values(used_at=now))


def invite(session: Session, *, tenant_id: int, email: str, role: str, by_role: str, now: datetime) -> tuple[AdminUser, str]:
    """Invite a person (or invite again someone who has not accepted yet); returns the user and the
    link's token to e-mail. Only an owner invites an owner."""
    admin_users.check_role(role)
    if role == "owner" and not can(by_role, "owners"):
        raise admin_users.OwnersOnly("only an owner invites an owner")
    user = admin_users.get_by_email(session, tenant_id=tenant_id, email=email)
    if user is None:
        user = admin_users.create(session, tenant_id=tenant_id, email=email, name="", password=None, role=role, now=now)
    elif user.status == "invited":
        if "owner" in (role, user.role) and not can(by_role, "owners"):
            raise admin_users.OwnersOnly("only an owner invites an owner")
        user.role = role
    else:
        raise admin_users.AlreadyUser(f"{user.email} is already a console user of this tenant", field="email")
    return user, _issue(session, user=user, purpose="invite", now=now)


def find(session: Session, *, token: str, purpose: str, now: datetime) -> tuple[AdminToken, AdminUser]:
    """The live link this token names and its user, or LinkRefused (one answer for every reason)."""
    row = session.execute(select(AdminToken).where(AdminToken.token_hash == _hash(token))).scalar_one_or_none() if 0 < len(token) <= 128 else None
    user = session.get(AdminUser, row.admin_user_id) if row is not None else None
    wanted = "invited" if purpose == "invite" else "active"
    if row is None or user is None or row.purpose != purpose or row.used_at is not None or row.expires_at <= now or user.status != wanted:
        raise LinkRefused("this link has expired or was already used")
    return row, user


def _use(session: Session, *, row: AdminToken, now: datetime) -> None:
    # Guarded: of two simultaneous uses of one link, one updates the row and the other is refused.
    used = rowcount(session.execute(
        update(AdminToken).where(AdminToken.id == row.id, AdminToken.used_at.is_(None)).values(used_at=now)
    ))
    if used != 1:
        raise LinkRefused("this link has expired or was already used")


def accept(session: Session, *, token: str, name: str, password: str, now: datetime) -> AdminUser:
    """The invited person chooses a name and a password; the account becomes active."""
    password_hash = admin_users.hash_password(password)
    if not name.strip():
        raise InvalidInput("a name is required", field="name")
    row, user = find(session, token=token, purpose="invite", now=now)
    _use(session, row=row, now=now)
    user.name, user.password_hash, user.status = name.strip()[:200], password_hash, "active"
    user.failed_logins, user.locked_until = 0, None
    session.flush()
    return user


def request_reset(session: Session, *, tenant_id: int, email: str, now: datetime) -> tuple[AdminUser, str] | None:
    """A reset link for the active user of this address, or None: for an unknown or inactive address,
    and past MAX_RESETS_PER_WINDOW links in RESET_WINDOW (the caller answers the same either way)."""
    address = normalize_email(email) or ""
    user = session.execute(
        select(AdminUser).where(AdminUser.tenant_id == tenant_id, AdminUser.email == address).with_for_update()
    ).scalar_one_or_none() if address else None
    if user is None or user.status != "active":
        return None
    recent = session.execute(
        select(func.count()).select_from(AdminToken).where(
            AdminToken.tenant_id == tenant_id, AdminToken.admin_user_id == user.id, AdminToken.purpose == "reset",
            AdminToken.created_at > now - RESET_WINDOW,
        )
    ).scalar_one()
    if recent >= MAX_RESETS_PER_WINDOW:
        return None
    return user, _issue(session, user=user, purpose="reset", now=now)


def reset(session: Session, *, token: str, password: str, now: datetime) -> AdminUser:
    """Set the password a reset link was sent for (and lift any lock-out); the caller ends the user's sessions."""
    admin_users.check_password(password)
    row, user = find(session, token=token, purpose="reset", now=now)
    _use(session, row=row, now=now)
    admin_users.set_password(session, tenant_id=user.tenant_id, user_id=user.id, password=password)
    session.refresh(user)
    return user


def pending_invitations(session: Session, *, tenant_id: int, now: datetime) -> dict[int, datetime]:
    """When each invited user's live invitation expires, by user id (absent: none is live)."""
    rows = session.execute(
        select(AdminToken.admin_user_id, func.max(AdminToken.expires_at)).where(
            AdminToken.tenant_id == tenant_id, AdminToken.purpose == "invite", AdminToken.used_at.is_(None), AdminToken.expires_at > now,
        ).group_by(AdminToken.admin_user_id)
    ).all()
    return dict(rows)

