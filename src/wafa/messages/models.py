"""Messaging tables: each tenant's channels, policy, templates and journeys; the send log (one row per
message a member is owed, sent or not and why); suppressed addresses; the journeys' place in the
outbox; reminders already announced; campaigns and who was in their audience or holdout."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from wafa.db import Base, Id, UTCDateTime


class MessageChannel(Base):
    """How a tenant reaches members on one channel: a provider and its settings (`channels.parse_config`)."""

    __tablename__ = "message_channels"
    __table_args__ = (Index("uq_message_channel", "tenant_id", "channel", unique=True),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Id)
    channel: Mapped[str] = mapped_column(String(16))  # email, sms, whatsapp
    config: Mapped[dict] = mapped_column(JSON)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MessagePolicy(Base):
    """Rules every send of a tenant obeys; without a row, `policy.DEFAULT`."""

    __tablename__ = "message_policies"

    tenant_id: Mapped[int] = mapped_column(Id, primary_key=True)
    quiet_start: Mapped[str] = mapped_column(String(5))  # HH:MM in the program's time zone
    quiet_end: Mapped[str] = mapped_column(String(5))
    daily_cap: Mapped[int] = mapped_column(Integer)  # messages per member per day (0: no cap)
    weekly_cap: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MessageTemplate(Base):
    """A tenant's wording of one kind of message on one channel in one language (else the built-in one)."""

    __tablename__ = "message_templates"
    __table_args__ = (Index("uq_message_template", "tenant_id", "kind", "channel", "language", unique=True),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Id)
    kind: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(2))
    subject: Mapped[str | None] = mapped_column(String(300), nullable=True)
    body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Journey(Base):
    """An automatic message a tenant turned on (or off), with its settings; without a row, off."""

    __tablename__ = "message_journeys"
    __table_args__ = (Index("uq_message_journey", "tenant_id", "kind", unique=True),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Id)
    kind: Mapped[str] = mapped_column(String(40))
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    channels: Mapped[list] = mapped_column(JSON)  # in order of preference: the first the member can get is used
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MemberMessage(Base):
    """One message owed to a member: queued until sent, or skipped, failed or cancelled with the reason.
    `dedupe_key` makes planning idempotent (a journey reading the same outbox message twice owes it once)."""

    __tablename__ = "member_messages"
    __table_args__ = (
        Index("uq_member_message_dedupe", "tenant_id", "dedupe_key", unique=True),
        Index("uq_member_message_id", "message_id", unique=True),
        # The sender's queue: what is due, soonest first.
        Index("ix_member_messages_due", "due_at", sqlite_where=text("status = 'queued'"), postgresql_where=text("status = 'queued'")),
        # Frequency caps and the member's history.
        Index("ix_member_messages_member", "tenant_id", "member_id", "id"),
        Index("ix_member_messages_tenant", "tenant_id", "id"),
        Index("ix_member_messages_campaign", "campaign_id", "status", sqlite_where=text("campaign_id IS NOT NULL"),
              postgresql_where=text("campaign_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Id)
    member_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[str] = mapped_column(String(40))  # mm_...: the e-mail's Message-ID, the providers' idempotency key
    kind: Mapped[str] = mapped_column(String(40))  # a journey's kind, "campaign" or "test"
    channels: Mapped[list] = mapped_column(JSON)  # the channels it may go by, in order; `channel` is the one chosen
    channel: Mapped[str | None] = mapped_column(String(16), nullable=True)
    campaign_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    dedupe_key: Mapped[str] = mapped_column(String(200))
    variables: Mapped[dict] = mapped_column(JSON, default=dict)  # what the trigger knew (points expiring, the tier...)
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued, sent, skipped, failed, cancelled
    reason: Mapped[str | None] = mapped_column(String(40), nullable=True)  # why skipped/failed/deferred
    detail: Mapped[str | None] = mapped_column(String(500), nullable=True)
    language: Mapped[str | None] = mapped_column(String(2), nullable=True)
    address: Mapped[str | None] = mapped_column(String(254), nullable=True)
    subject: Mapped[str | None] = mapped_column(String(300), nullable=True)
    body: Mapped[str | None] = mapped_column(Text, nullable=True)
    provider_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    leased_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Suppression(Base):
    """An address nothing more goes to on a channel: a hard bounce, an unsubscribe, a complaint, by hand."""

    __tablename__ = "message_suppressions"
    __table_args__ = (Index("uq_message_suppression", "tenant_id", "channel", "address", unique=True),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Id)
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(254))  # lower-cased e-mail, or E.164 phone
    reason: Mapped[str] = mapped_column(String(20))  # hard_bounce, unsubscribe, complaint, manual
    detail: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MessageKey(Base):
    """A tenant's secret for signing its members' unsubscribe links (made at the first link, never shown)."""

    __tablename__ = "message_keys"

    tenant_id: Mapped[int] = mapped_column(Id, primary_key=True)
    secret: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class JourneyCursor(Base):
    """Up to which outbox sequence number a tenant's journeys have read."""

    __tablename__ = "message_cursors"

    tenant_id: Mapped[int] = mapped_column(Id, primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)


class Reminder(Base):
    """A reminder announced (points.expiring, tier.downgrade_warning), so each is announced once."""

    __tablename__ = "member_reminders"
    __table_args__ = (Index("uq_member_reminder", "tenant_id", "member_id", "kind", "key", unique=True),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Id)
    member_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Campaign(Base):
    """A broadcast: an audience, a channel, its wording in both languages, a send time, a holdout."""

    __tablename__ = "message_campaigns"
    __table_args__ = (Index("ix_message_campaigns_tenant", "tenant_id", "id"),
                      Index("ix_message_campaigns_due", "send_at", sqlite_where=text("status = 'scheduled'"),
                            postgresql_where=text("status = 'scheduled'")))

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Id)
    name: Mapped[str] = mapped_column(String(200))
    audience: Mapped[dict] = mapped_column(JSON)  # {"all": true} | {"tiers": [...]} | {"segments": [...]} | {"external_ids": [...]}
    channel: Mapped[str] = mapped_column(String(16))
    subject: Mapped[dict] = mapped_column(JSON, default=dict)  # {"ar": ..., "en": ...}
    body: Mapped[dict] = mapped_column(JSON)
    send_at: Mapped[datetime] = mapped_column(UTCDateTime)
    holdout_percent: Mapped[int] = mapped_column(Integer, default=10)
    lift_days: Mapped[int] = mapped_column(Integer, default=30)
    status: Mapped[str] = mapped_column(String(16), default="scheduled")  # scheduled, sending, sent, cancelled
    audience_count: Mapped[int] = mapped_column(Integer, default=0)
    holdout_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CampaignMember(Base):
    """Who a campaign chose, and whether they were held out (sent nothing, to measure the lift against)."""

    __tablename__ = "message_campaign_members"
    __table_args__ = (Index("ix_campaign_members_holdout", "campaign_id", "holdout"),)

    campaign_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    member_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Id)
    holdout: Mapped[bool] = mapped_column(Boolean)
