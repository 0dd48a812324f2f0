"""Apps with the real limits against abuse (the rest of the suite runs with them out of the way), each
test its own: counts kept in the app's process start empty."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import TenantCtx
from wafa.api.app import create_app
from wafa.clock import FrozenClock
from wafa.config import Settings
from wafa.trust.throttle import Throttle

# Small enough to reach in a test, in the shapes the defaults have.
TIGHT = {
    "rate_events": "5/minute", "rate_redemptions": "3/minute", "rate_writes": "4/minute", "rate_reads": "6/minute",
    "signin_per_ip": "8/minute;30/hour", "signin_per_org": "12/minute", "signin_failures_per_ip": "6/15 minutes",
    "member_codes_per_ip": "4/15 minutes", "unknown_programs_per_ip": "5/hour", "max_body_bytes": 4096, "max_import_bytes": 65536,
}


def redis_required() -> str:
    """The local Redis's URL (CI requires it: WAFA_TEST_REDIS_REQUIRED; elsewhere the test skips)."""
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return "redis://127.0.0.1:6379/0"
    except OSError:
        if os.environ.get("WAFA_TEST_REDIS_REQUIRED"):
            pytest.fail("Redis is not running on 127.0.0.1:6379")
        pytest.skip("Redis is not running on 127.0.0.1:6379")


# One app per database and settings: an app's first request costs seconds. Counts in memory are kept per
# event loop, and each TestClient runs its own, so a test still starts with none (two clients of one app
# do not share them either: tests of shared counts use Redis).
_apps: dict[tuple[int, tuple[tuple[str, Any], ...]], Any] = {}


@pytest.fixture
def limited(factory: sessionmaker[Session], clock: FrozenClock) -> Callable[..., TestClient]:
    """A client of a fresh app with the TIGHT limits (and any other settings given), from `ip`."""
    clients: list[TestClient] = []

    def make(*, ip: str = "203.0.113.7", key: str | None = None, app: Any = None, shared: bool = False, **overrides: Any) -> TestClient:
        """Another client of `app` (another address), or of a new app; `shared`: a new app counting in Redis,
        so that its clients (each on its own event loop) share their counts, as several servers do."""
        if shared:
            app = create_app(factory=factory, clock=clock, settings=Settings(**{**TIGHT, **overrides}),
                             throttle=Throttle(redis_required(), prefix=f"wafa-test-{uuid.uuid4().hex}"))
        if app is None:
            settings = {**TIGHT, **overrides}
            cache_key = (id(factory), tuple(sorted(settings.items())))
            app = _apps.get(cache_key)
            if app is None:
                app = _apps[cache_key] = create_app(factory=factory, clock=clock, settings=Settings(**settings))
            app.state.clock = clock
        client = TestClient(app, raise_server_exceptions=False, client=(ip, 50000))
        client.__enter__()
        clients.append(client)
        if key:
            client.headers["Authorization"] = f"Bearer {key}"
        return client

    yield make  # type: ignore[misc]
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def api(limited: Callable[..., TestClient], tenant: TenantCtx) -> Iterator[TestClient]:
    """The test tenant's admin key on an app with the TIGHT limits."""
    yield limited(key=tenant.admin_key)
