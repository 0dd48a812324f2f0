"""Stream sinks: a tenant's outbox streamed to its own broker (a RabbitMQ exchange or a NATS JetStream
stream), with the last sequence number the broker confirmed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from wafa.db import Base, Id, UTCDateTime


class StreamSink(Base):
    __tablename__ = "stream_sinks"
    __table_args__ = (Index("ix_stream_sinks_tenant", "tenant_id", "id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Id)
    kind: Mapped[str] = mapped_column(String(16))  # rabbitmq, nats
    # amqp(s)://user:password@host:port/vhost or nats|tls://user:password@host:port: kept as is, because
    # connecting needs the password; shown masked.
    url: Mapped[str] = mapped_column(String(2048))
    # RabbitMQ: the topic exchange (declared durable by Wafa); NATS: the JetStream stream.
    target: Mapped[str] = mapped_column(String(100))
    # NATS subjects are <subject_prefix>.<tenant slug>.<event type>.
    subject_prefix: Mapped[str] = mapped_column(String(100), default="wafa")
    event_types: Mapped[list | None] = mapped_column(JSON, nullable=True)  # None: every type
    description: Mapped[str | None] = mapped_column(String(500), nullable=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # The last sequence number the broker confirmed (or that the sink skips: another type, or before it began).
    acked_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    # A worker publishing the sink holds it until then (past it, another may: the first one died); a
    # failing sink is held until its next try.
    leased_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)  # None: the last try succeeded
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
