"""API shapes of a tenant's rate limits."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from wafa.inputs import Line


class RateLimitsIn(BaseModel):
    """The tenant's own limits by route class; a class set to null goes back to the server's default."""

    model_config = ConfigDict(extra="forbid")

    limits: dict[Line, Line | None] = Field(
        max_length=8,
        description='by class (events, redemptions, writes, reads): "N/second|minute|hour|day", several joined by ";"',
        examples=[{"events": "100/second;20000/hour", "reads": None}],
    )


class RateLimitsRead(BaseModel):
    """The limits each of the tenant's API keys works under, by route class."""

    limits: dict[str, str] = Field(description="what applies: the tenant's own, else the server's default")
    own: dict[str, str] = Field(description="the tenant's own limits")
    defaults: dict[str, str] = Field(description="the server's defaults (WAFA_RATE_*)")
    shared: bool = Field(description="counted in Redis, across every server process (else per process)")
