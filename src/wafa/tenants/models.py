"""Tenant and API key tables."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from wafa.db import Base, Id, UTCDateTime


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # The name pages in Arabic show; `name` is shown in other languages, and in Arabic when this is empty.
    name_ar: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # Names of the program's own benefits (tier and plan flags beyond the well-known ones the pages
    # name themselves), so members read "Valet parking" and not valet_parking: key -> {"en": ..., "ar": ...}.
    benefit_names: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Its own API rate limits by route class ("events": "3000/minute"); NULL keeps the server's (WAFA_RATE_*).
    rate_limits: Mapped[dict | None] = mapped_column(JSON, nullable=True)


class ApiKey(Base):
    __tablename__ = "api_keys"
    __table_args__ = (Index("ix_api_keys_tenant", "tenant_id", "id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    name: Mapped[str] = mapped_column(String(200))
    # The first characters of the key, shown in listings so people can tell keys apart.
    prefix: Mapped[str] = mapped_column(String(16))
    # sha256 of the whole key: keys are 256-bit random, so a slow hash would add nothing.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    # A coalition partner's key: it reaches only the routes a partner's tills and shops use, and only
    # the partner's own events, holds and statements; what it records is the partner's.
    partner_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AdminUser(Base):
    """A person who runs a tenant's program in the admin console."""

    __tablename__ = "admin_users"
    __table_args__ = (Index("uq_admin_users_email", "tenant_id", "email", unique=True),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(200))
    # argon2id: passwords are guessable, so the hash must be slow (unlike API keys).
    password_hash: Mapped[str] = mapped_column(String(200))
    # owner, admin, marketer, support or viewer: what each may do is tenants/roles.py.
    role: Mapped[str] = mapped_column(String(16), default="admin")
    # A coalition partner's person: signs in to the partner's own pages only.
    partner_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # "active"; "invited" (no password until the invitation is accepted); "disabled" (signs in nowhere).
    status: Mapped[str] = mapped_column(String(16), default="active")
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AuditEntry(Base):
    """One change a person made: who, when, what, to which thing."""

    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_tenant", "tenant_id", "id"),
        # Everything done to (or read of) one thing: a member's erasure scrubs the reasons typed about them.
        Index("ix_audit_entries_target", "tenant_id", "target", "id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    admin_user_id: Mapped[int | None] = mapped_column(ForeignKey("admin_users.id"), nullable=True)
    # Kept beside the id so the record still reads after the user is renamed.
    actor: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(200), default="")
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AdminToken(Base):
    """A single-use link e-mailed to an admin user: an invitation to join, or a password reset."""

    __tablename__ = "admin_tokens"
    __table_args__ = (Index("ix_admin_tokens_user", "tenant_id", "admin_user_id", "purpose", "id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    admin_user_id: Mapped[int] = mapped_column(ForeignKey("admin_users.id"))
    # "invite" or "reset".
    purpose: Mapped[str] = mapped_column(String(8))
    # sha256 of the token: it is 256-bit random (unlike a password), so a fast hash is enough, and a
    # copy of the database opens no link.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AdminPolicy(Base):
    """A tenant's console rules that its owners set."""

    __tablename__ = "admin_policies"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    # The most points (either way) one adjustment by a support role may move.
    support_adjust_limit: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ConfigVersion(Base):
    """The version of a tenant's cached configuration of one kind (`name`: "rules", "tiers", "api_keys", ...),
    changed by each transaction that changes it: SQLite's processes compare it with the version they cached
    (see wafa/cache.py; PostgreSQL's are told by a notification and leave this table empty)."""

    __tablename__ = "config_versions"

    tenant_id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    # Random, never a count: a version never comes back, even if the table is made anew.
    version: Mapped[int] = mapped_column(BigInteger)
