"""The FastAPI application: routers from each domain, problem handlers, health and metrics."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from wafa import __version__
from wafa.analytics.routes import router as analytics_router
from wafa.api import problems
from wafa.api.metrics import MetricsMiddleware, metrics_allowed, render
from wafa.clock import Clock, SystemClock
from wafa.coalition.routes import router as coalition_router
from wafa.config import Settings, get_settings
from wafa.db import session_factory
from wafa.engagement.achievement_routes import router as achievements_router
from wafa.engagement.routes import router as engagement_router
from wafa.engagement.survey_routes import router as surveys_router
from wafa.events.routes import router as events_router
from wafa.events.routes import types_router as event_types_router
from wafa.experiments.routes import router as experiments_router
from wafa.ledger.routes import router as ledger_router
from wafa.members.routes import router as members_router
from wafa.memberships.routes import router as memberships_router
from wafa.messages.routes import router as messaging_router
from wafa.notify.mail import Mailer
from wafa.notify.routes import router as webhooks_router
from wafa.notify.stream_routes import router as streams_router
from wafa.offers.routes import router as offers_router
from wafa.programs.routes import router as programs_router
from wafa.rewards.routes import router as rewards_router
from wafa.rules.routes import member_router as rule_awards_router
from wafa.rules.routes import router as rules_router
from wafa.stores.routes import router as stores_router
from wafa.tenants.routes import router as tenants_router
from wafa.tenants.routes import tenant_router
from wafa.tiers.routes import router as tiers_router
from wafa.trust.gate import Gate
from wafa.trust.routes import anomalies_router
from wafa.trust.routes import router as rate_limits_router
from wafa.trust.throttle import Throttle
from wafa.web import routes as web


def create_app(
    *, factory: sessionmaker[Session] | None = None, clock: Clock | None = None, mailer: Mailer | None = None,
    throttle: Throttle | None = None, settings: Settings | None = None,
) -> FastAPI:
    """Build the app for a database (default: WAFA_DATABASE_URL), a clock (default: the wall clock), a
    mailer (default: the SMTP server of WAFA_SMTP_*, or the log) and the counter of rate limits
    (default: in Redis at WAFA_REDIS_URL, or in this process)."""
    settings = settings or get_settings()
    app = FastAPI(
        title="Wafa",
        version=__version__,
        description="Loyalty platform API: members, purchase and return events, points ledger, redemptions and holds.",
        openapi_url="/v1/openapi.json",
        # /v1/docs is Wafa's own page (wafa.web.assets): Swagger UI served from node_modules, not a CDN.
        docs_url=None,
        redoc_url=None,
    )
    app.state.session_factory = factory or session_factory()
    app.state.clock = clock or SystemClock()
    app.state.mailer = mailer or Mailer.from_settings(settings)
    app.state.settings = settings
    app.state.throttle = throttle or Throttle(settings.redis_url)
    problems.install(app)
    for router in (
        members_router, events_router, event_types_router, ledger_router, programs_router, rewards_router, rules_router,
        rule_awards_router, tenants_router, tenant_router, tiers_router, engagement_router, achievements_router, memberships_router,
        analytics_router, surveys_router, webhooks_router, streams_router, messaging_router, coalition_router, rate_limits_router,
        anomalies_router, offers_router, experiments_router, stores_router,
    ):
        app.include_router(router, responses=problems.PROBLEM_RESPONSES)
    problems.document(app)
    web.install(app)

    @app.get(
        "/healthz", tags=["operations"], summary="Liveness and database reachability",
        responses={503: {"description": "the database is unreachable"}},
    )
    async def healthz(request: Request) -> JSONResponse:
        def ping() -> None:
            with request.app.state.session_factory() as session:
                session.execute(text("SELECT 1"))

        try:
            await run_in_threadpool(ping)
        except Exception:  # noqa: BLE001  whatever stops the ping, the answer is "unavailable"
            return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok", "version": __version__})

    @app.get(
        "/metrics", tags=["operations"], summary="Prometheus metrics of this server (every tenant's counts)", response_class=Response,
        responses={403: {"description": "without WAFA_METRICS_TOKEN: a client not on this machine; with it: a wrong token"}},
    )
    def metrics(request: Request) -> Response:
        if not metrics_allowed(request, settings.metrics_token):
            return problems.problem_response(
                403, "forbidden", "Forbidden",
                "metrics are for the monitoring system: send `Authorization: Bearer <WAFA_METRICS_TOKEN>`" if settings.metrics_token
                else "metrics are served to this machine only (set WAFA_METRICS_TOKEN to serve them to others)",
            )
        body, content_type = render()
        return Response(body, media_type=content_type)

    # The gate inside the metrics: refused requests (413, 429) are counted too.
    app.add_middleware(Gate, settings=settings, throttle=app.state.throttle)
    app.add_middleware(MetricsMiddleware)
    return app
