"""The member table, and the history of each member's consent to be messaged."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Index, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from wafa.db import Base, Id, UTCDateTime


class Member(Base):
    __tablename__ = "members"
    __table_args__ = (
        UniqueConstraint("tenant_id", "external_id", name="uq_members_external_id"),
        UniqueConstraint("tenant_id", "referral_code", name="uq_members_referral_code"),
        UniqueConstraint("card_token", name="uq_members_card_token"),
        Index("ix_members_email", "tenant_id", "email"),
        Index("ix_members_email_key", "tenant_id", "email_key"),
        Index("ix_members_phone", "tenant_id", "phone"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    external_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    # The inbox the address delivers to (members.service.mailbox_key): aliases of one inbox share it.
    email_key: Mapped[str | None] = mapped_column(String(254), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(32), nullable=True)
    locale: Mapped[str] = mapped_column(String(2), default="ar")
    birth_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    city: Mapped[str | None] = mapped_column(String(100), nullable=True)
    consent_email: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_sms: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_push: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_whatsapp: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    status: Mapped[str] = mapped_column(String(16), default="active")
    status_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    referral_code: Mapped[str] = mapped_column(String(16))
    card_token: Mapped[str] = mapped_column(String(64))
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # In a coalition: the partner the member joined through (enrolled by its key or at its store).
    partner_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # When the member's personal data was erased (members/privacy.py): the row stays, closed, for the
    # ledger's sake, holding nothing that names the person.
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The member's last portal sign-in or visit as far as the worker has folded it in from sessions and
    # sign-in codes before forgetting them (members/activity.py): retention reads it.
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ConsentChange(Base):
    """One change of a member's consent on one channel: when, where (api, console, portal, import,
    unsubscribe link, enrolment) and by whom (an API key, a console user). Never changed or deleted:
    it is what shows that a message was allowed."""

    __tablename__ = "member_consent_changes"
    __table_args__ = (Index("ix_member_consent_changes", "tenant_id", "member_id", "id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Id)
    member_id: Mapped[int] = mapped_column(BigInteger)
    channel: Mapped[str] = mapped_column(String(16))  # email, sms, whatsapp, push
    granted: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str | None] = mapped_column(String(200), nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
