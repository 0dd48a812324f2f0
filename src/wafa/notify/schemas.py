"""Webhook endpoints and the outbox catalog as the API takes and shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from wafa.inputs import Flag, Instant, Line, Text


class EndpointIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: Line = Field(min_length=1, max_length=2048, description="https, on a public address")
    event_types: list[Line] | None = Field(None, max_length=100, description="the types to receive; leave out for every type")
    description: Text | None = Field(None, max_length=500)
    enabled: Flag = True


class EndpointUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: Line | None = Field(None, min_length=1, max_length=2048)
    event_types: list[Line] | None = Field(None, max_length=100, description="null: every type")
    description: Text | None = Field(None, max_length=500)
    enabled: Flag | None = Field(None, description="true re-enables an endpoint disabled after failing, and forgets its failures")


class EndpointHealth(BaseModel):
    pending: int = Field(description="deliveries waiting (to be sent, or retried)")
    dead: int = Field(description="deliveries that ran out of retries (replay them once the receiver is fixed)")
    succeeded: int = Field(description="attempts in the last 24 hours that got a 2xx")
    failed: int = Field(description="attempts in the last 24 hours that did not")
    failing_since: datetime | None = Field(description="when every attempt started failing; 5 days of it disables the endpoint")


class EndpointRead(BaseModel):
    id: int
    url: str
    event_types: list[str] | None
    description: str | None
    enabled: bool
    disabled_reason: str | None
    created_at: datetime
    updated_at: datetime
    health: EndpointHealth


class EndpointCreated(EndpointRead):
    secret: str = Field(description="whsec_...: shown only now; verify signatures with it")


class EndpointPage(BaseModel):
    items: list[EndpointRead]


class SecretRotated(BaseModel):
    secret: str = Field(description="the new whsec_... secret, shown only now")
    previous_valid_until: datetime = Field(description="the old secret keeps signing beside the new one until then")


class ReplayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    message_id: Line | None = Field(None, max_length=40, description="one message, by its id (msg_...)")
    since: Instant | None = Field(None, description="or every message this endpoint subscribes to since then (kept 30 days)")


class ReplayRead(BaseModel):
    messages: int = Field(description="messages owed to the endpoint again")


class TestSent(BaseModel):
    message_id: str


class AttemptRead(BaseModel):
    attempted_at: datetime
    status_code: int | None
    latency_ms: int
    response: str | None = Field(description="the first 1 KB of the response")
    error: str | None


class DeliveryRead(BaseModel):
    id: int
    message_id: str
    type: str
    sequence: int
    member_id: int | None
    status: Literal["pending", "delivered", "dead"]
    attempts: int
    next_attempt_at: datetime | None
    last_status: int | None
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None
    log: list[AttemptRead] | None = None


class DeliveryPage(BaseModel):
    items: list[DeliveryRead]
    next_cursor: str | None


class EventTypeRead(BaseModel):
    name: str
    version: int
    description: str
    schema_: dict[str, Any] = Field(alias="schema", serialization_alias="schema")

    model_config = ConfigDict(populate_by_name=True)


class EventTypePage(BaseModel):
    items: list[EventTypeRead]
