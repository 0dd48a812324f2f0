"""Browser sessions (admin console and member portal) and the one-time codes members sign in with."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from wafa.db import Base, Id, UTCDateTime


class WebSession(Base):
    """A signed-in browser. The cookie holds a random token; only its sha256 is stored, so a copy of
    the database signs nobody in."""

    __tablename__ = "web_sessions"
    __table_args__ = (Index("ix_web_sessions_subject", "kind", "tenant_id", "subject_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # "admin" (subject: an admin user) or "member" (subject: a member).
    kind: Mapped[str] = mapped_column(String(8))
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    subject_id: Mapped[int] = mapped_column(Id)
    # The synchronizer token every form and htmx request of this session must echo.
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LoginCode(Base):
    """A one-time sign-in code sent to a member's e-mail: short-lived, single-use, few tries."""

    __tablename__ = "login_codes"
    __table_args__ = (Index("ix_login_codes_email", "tenant_id", "email", "id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    email: Mapped[str] = mapped_column(String(254))
    # None for a code that enrols a new member when used (the portal's sign-up).
    member_id: Mapped[int | None] = mapped_column(Id, nullable=True)
    # HMAC-SHA256 of the code keyed by a per-code salt: six digits hash fast, so the salt keeps a
    # table dump from being reversed by one precomputed list, and attempts are capped anyway.
    salt: Mapped[str] = mapped_column(String(32))
    code_hash: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # What the sign-up form carried (name, referral code), applied when the code is used.
    signup: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
