"""The Redis the shared rate limits are counted in: 127.0.0.1:6379 (CI requires it: WAFA_TEST_REDIS_REQUIRED)."""

from __future__ import annotations

import os
import socket

import pytest

REDIS_URL = "redis://127.0.0.1:6379/0"


def redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(params=["memory", "redis"])
def redis_url(request: pytest.FixtureRequest) -> str | None:
    """None (counts in this process) or the local Redis."""
    if request.param == "memory":
        return None
    if not redis_up():
        if os.environ.get("WAFA_TEST_REDIS_REQUIRED"):
            pytest.fail("Redis is not running on 127.0.0.1:6379")
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    return REDIS_URL
