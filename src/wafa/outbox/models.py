"""Outbox tables: the messages, and each tenant's last sequence number."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from wafa.db import Base, Id, UTCDateTime


class OutboxMessage(Base):
    """A fact, as written with the change it reports. `seq` is given after commit by the sequencer
    (`outbox.service.sequence`), in the order messages became visible: a number taken inside the
    writing transaction would either serialise every writer of a tenant on one counter row or let a
    later number commit first, and a reader resuming after number N would miss the earlier one."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        Index("uq_outbox_tenant_seq", "tenant_id", "seq", unique=True),
        Index("uq_outbox_message_id", "message_id", unique=True),
        # The sequencer's queue: what is not numbered yet, oldest first.
        Index("ix_outbox_unsequenced", "tenant_id", "id", sqlite_where=text("seq IS NULL"), postgresql_where=text("seq IS NULL")),
        Index("ix_outbox_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Id)
    message_id: Mapped[str] = mapped_column(String(40))  # msg_..., the webhook-id receivers deduplicate by
    seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    type: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    member_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    payload: Mapped[dict] = mapped_column(JSON)


class OutboxSequence(Base):
    """A tenant's last sequence number given; its row is the sequencer's lock for the tenant."""

    __tablename__ = "outbox_sequences"

    tenant_id: Mapped[int] = mapped_column(Id, primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
