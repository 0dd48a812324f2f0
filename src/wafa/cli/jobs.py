"""`wafa jobs run-due` (one pass, for cron) and `wafa worker` (passes in a loop): the scheduled work."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import typer

from wafa.cli.common import JsonOption, emit, err, failures, out, tenant_id_of
from wafa.clock import SystemClock
from wafa.config import get_settings
from wafa.db import session_factory

log = logging.getLogger("wafa.worker")
jobs_app = typer.Typer(help="Scheduled work, one pass at a time (for cron).", no_args_is_help=True)


@jobs_app.command("run-due")
def jobs_run_due(
    tenant: str | None = typer.Option(None, "--tenant", envvar="WAFA_TENANT", help="one tenant only (default: all)"),
    as_json: bool = JsonOption,
) -> None:
    """One pass: release pending points and cashback, expire lots, lapse holds, birthday rules. Safe beside traffic and twice at once."""
    from wafa.jobs.service import run_due

    with failures():
        factory = session_factory()
        tenant_id = None
        if tenant:
            with factory() as session:
                tenant_id = tenant_id_of(session, slug=tenant)
        report = run_due(factory, now=SystemClock().now(), tenant_id=tenant_id)
        emit(report.__dict__, as_json=as_json, human=lambda: out.print(
            f"released {report.released_points} points in {report.released_lots} lots, "
            f"expired {report.expired_points} points in {report.expired_lots} lots, lapsed {report.lapsed_holds} holds, "
            f"released {report.released_cashback} (minor units) of cashback, recorded {report.birthday_events} birthdays, "
            f"expired {report.expired_rewards} unused rewards, reviewed {report.tier_reviews} tiers, "
            f"completed {report.referrals_completed} referrals, moved {report.memberships_due} memberships on, "
            f"announced {report.reminders_announced} reminders, owed {report.journey_messages_queued} birthday and win-back messages, "
            f"closed {report.settlements_closed} coalition settlement periods"
        ))


def _step(name: str, work: Callable[[], object]) -> None:
    try:
        work()
    except Exception:
        log.exception("worker: %s failed; trying again next round", name)


def worker(
    interval: float = typer.Option(None, "--interval", help="seconds between passes (default WAFA_WORKER_INTERVAL_SECONDS, 30)"),
    passes: int = typer.Option(0, "--passes", help="stop after this many passes (0: run until stopped)"),
    deliveries_only: bool = typer.Option(False, "--deliveries-only", help="only number the outbox, deliver webhooks and send members' messages"),
) -> None:
    """Run the scheduled work in a loop (releases, expiries, hold lapses, pending cashback, birthdays,
    tier reviews, renewals, reminders) and, between passes, deliver the outbox: number what committed, send
    what webhooks are owed, queue and send members' messages, every WAFA_DELIVERY_INTERVAL_SECONDS (1).
    Several workers may run at once."""
    from wafa.jobs.service import run_due
    from wafa.messages import campaigns, journeys, sender
    from wafa.notify import streams, webhooks

    settings = get_settings()
    every = interval if interval is not None else settings.worker_interval_seconds
    clock = SystemClock()
    done = 0
    with failures(), webhooks.client() as http, streams.StreamPublisher() as publisher:
        factory = session_factory()
        next_pass = 0.0
        while True:
            if not deliveries_only and time.monotonic() >= next_pass:
                report = run_due(factory, now=clock.now())
                err.print(f"pass {done + 1}: {report.__dict__}")
                done += 1
                if passes and done >= passes:
                    return
                next_pass = time.monotonic() + every
            def webhook_round() -> None:
                webhooks.number_and_fan_out(factory, now=clock.now())
                while webhooks.deliver_due(factory, clock=clock, client=http):
                    webhooks.number_and_fan_out(factory, now=clock.now())

            def send_round() -> None:
                while sender.send_due(factory, clock=clock, http=http):
                    pass

            # Each step on its own: one that fails (a database hiccup, a bug) is logged and tried again
            # next round, and the others go on.
            _step("webhooks", webhook_round)
            _step("streams", lambda: streams.publish_due(factory, now=clock.now(), publisher=publisher))
            # Messages to members: what the journeys owe for the facts just numbered, then what is due.
            _step("journeys", lambda: journeys.plan(factory, now=clock.now()))
            _step("campaigns", lambda: campaigns.start_due(factory, now=clock.now()))
            _step("messages", send_round)
            _step("campaigns finished", lambda: campaigns.finish_done(factory, now=clock.now()))
            if deliveries_only and passes:
                done += 1
                if done >= passes:
                    return
            time.sleep(min(settings.delivery_interval_seconds, max(0.0, next_pass - time.monotonic())) if not deliveries_only
                       else settings.delivery_interval_seconds)
