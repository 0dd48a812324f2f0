"""Stream sinks as the API takes and shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from wafa.inputs import Count, Flag, Line, Text

MAX_SEQ = 2**63 - 1  # sequences are 64-bit: a larger one cannot reach the database driver


class StreamIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["rabbitmq", "nats"]
    url: Line = Field(min_length=1, max_length=2048, description="rabbitmq: amqps://user:password@host:5671/vhost; nats: tls://user:password@host:4222")
    target: Line = Field(min_length=1, max_length=100, description="rabbitmq: the topic exchange (declared durable); nats: the JetStream stream")
    subject_prefix: Line = Field("wafa", min_length=1, max_length=100, description="nats: subjects are <subject_prefix>.<tenant>.<event type>")
    event_types: list[Line] | None = Field(None, max_length=100, description="the types to publish; leave out for every type")
    description: Text | None = Field(None, max_length=500)
    enabled: Flag = True
    start_from: Count | None = Field(
        None, ge=0, le=MAX_SEQ, description="the first sequence to publish (0: every message kept); leave out for what is numbered from now on",
    )


class StreamUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: Line | None = Field(None, min_length=1, max_length=2048, description="a password of *** keeps the one saved")
    target: Line | None = Field(None, min_length=1, max_length=100)
    subject_prefix: Line | None = Field(None, min_length=1, max_length=100)
    event_types: list[Line] | None = Field(None, max_length=100, description="null: every type")
    description: Text | None = Field(None, max_length=500)
    enabled: Flag | None = None


class RewindIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    from_sequence: Count = Field(ge=1, le=MAX_SEQ, description="publish again from this sequence on (messages are kept 30 days)")


class StreamRead(BaseModel):
    id: int
    kind: Literal["rabbitmq", "nats"]
    url: str = Field(description="the password shown as ***")
    target: str
    subject_prefix: str
    event_types: list[str] | None
    description: str | None
    enabled: bool
    acked_seq: int = Field(description="the last sequence the broker confirmed (or the sink passed over: another type)")
    last_seq: int = Field(description="the tenant's last sequence")
    lag: int = Field(description="last_seq - acked_seq: messages not confirmed yet, at most")
    last_error: str | None
    failing_since: datetime | None = Field(description="since when every try has failed (None: the last one succeeded)")
    next_attempt_at: datetime | None = Field(description="when a failing sink is tried again")
    created_at: datetime
    updated_at: datetime


class StreamPage(BaseModel):
    items: list[StreamRead]
    next_cursor: str | None
