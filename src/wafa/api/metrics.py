"""Prometheus metrics: HTTP requests and latencies, events by type, ledger entries by kind."""

from __future__ import annotations

import hmac
import os
import time
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from sqlalchemy import event
from sqlalchemy.orm import Session

REGISTRY = CollectorRegistry(auto_describe=True)
HTTP_REQUESTS = Counter("wafa_http_requests", "HTTP requests served", ["method", "route", "status"], registry=REGISTRY)
HTTP_LATENCY = Histogram(
    "wafa_http_request_duration_seconds",
    "Time to serve an HTTP request",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
    registry=REGISTRY,
)
EVENTS = Counter("wafa_events", "Events recorded", ["type"], registry=REGISTRY)
ENTRIES = Counter("wafa_ledger_entries", "Ledger entries committed", ["kind"], registry=REGISTRY)


def count_on_commit(session: Session, key: str, label: str) -> None:
    """Remember something to count once this session's transaction commits."""
    session.info.setdefault(key, []).append(label)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    for kind in session.info.pop("entry_kinds", ()):
        ENTRIES.labels(kind).inc()
    for type_ in session.info.pop("event_types", ()):
        EVENTS.labels(type_).inc()


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop("entry_kinds", None)
    session.info.pop("event_types", None)


def render() -> tuple[bytes, str]:
    """The metrics in the Prometheus text format: of all server processes when several share
    PROMETHEUS_MULTIPROC_DIR (as `wafa serve --workers N` arranges), else of this process."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


LOCAL = frozenset({"127.0.0.1", "::1", "localhost"})


def metrics_allowed(request: Any, token: str | None) -> bool:
    """Whether a request may read /metrics (every tenant's counts): with a token, only a request that
    sends it; without, only a client on this machine (a monitoring agent beside the server)."""
    if token:
        sent = request.headers.get("authorization", "")
        return hmac.compare_digest(sent.encode(), f"Bearer {token}".encode())
    return request.client is not None and request.client.host in LOCAL


class MetricsMiddleware:
    """Pure ASGI middleware (cheaper than BaseHTTPMiddleware on the hot path)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = {"code": 500}

        async def send_wrapper(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            HTTP_REQUESTS.labels(scope["method"], path, str(status["code"])).inc()
            HTTP_LATENCY.labels(path).observe(time.perf_counter() - start)


