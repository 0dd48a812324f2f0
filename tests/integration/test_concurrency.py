"""Races on the ledger, on PostgreSQL, with real threads and real connections.

Each thread runs its own transaction (`unit_of_work`) on its own pooled connection, and a barrier
lets them all start at once. What must hold: a redemption never overdraws, a hold is resolved
exactly once, an Idempotency-Key replays instead of spending twice, the worker's expiries and live
redemptions never disagree about a lot, two members' purchases never wait on each other, and two
worker passes at once do each release, expiry and lapse once.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import factory_for, make_member, make_tenant
from wafa.api.app import create_app
from wafa.clock import FrozenClock
from wafa.db import unit_of_work
from wafa.errors import Conflict, InsufficientPoints
from wafa.events import hotpath, returns
from wafa.events import service as events
from wafa.events.schemas import PurchaseIn, ReturnIn
from wafa.jobs.service import PassReport, run_due
from wafa.ledger import service as ledger
from wafa.ledger.models import Account, Entry, Hold, Lot, Posting
from wafa.ledger.verify import verify

Factory = sessionmaker[Session]
pytestmark = pytest.mark.postgres_only


@pytest.fixture
def pg(pg_url: str) -> Factory:
    return factory_for(pg_url)


def race(n: int, work: Callable[[int], Any]) -> list[Any]:
    """Run work(0..n-1) in n threads released together; each result is a value or the exception raised."""
    barrier = threading.Barrier(n)

    def run(i: int) -> Any:
        barrier.wait(timeout=60)
        try:
            return work(i)
        except Exception as exc:  # noqa: BLE001  the outcome under test
            return exc

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


def outcomes(results: list[Any]) -> Counter[str]:
    return Counter("ok" if not isinstance(r, Exception) else type(r).__name__ for r in results)


def credit(factory: Factory, tenant_id: int, member_id: int, points: int, now, expires_at, key: str) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(factory) as session:
        ledger.adjust(
            session, tenant_id=tenant_id, member_id=member_id, points=points, reason="test credit",
            idempotency_key=key, now=now, expires_at=expires_at,
        )


def redeem(factory: Factory, tenant_id: int, member_id: int, points: int, now, key: str) -> ledger.Debit:  # type: ignore[no-untyped-def]
    with unit_of_work(factory) as session:
        return ledger.debit(
            session, tenant_id=tenant_id, member_id=member_id, points=points, kind="redeem", destination="redeemed",
            idempotency_key=key, reason="race", now=now,
        )


def balances(factory: Factory, tenant_id: int, member_id: int) -> dict[str, int]:
    with factory() as session:
        return ledger.balances(session, tenant_id=tenant_id, member_id=member_id)


def program_totals(factory: Factory, tenant_id: int) -> dict[str, int]:
    with factory() as session:
        rows = session.execute(
            select(Account.kind, func.sum(Posting.amount))
            .join(Posting, Posting.account_id == Account.id)
            .where(Account.tenant_id == tenant_id, Account.owner == "program")
            .group_by(Account.kind)
        ).all()
    return {"issued": 0, "redeemed": 0, "expired": 0, "adjustments": 0} | {k: int(v) for k, v in rows}


def assert_intact(factory: Factory, tenant_id: int) -> None:
    with factory() as session:
        report = verify(session, tenant_id=tenant_id)
        negative = session.execute(select(func.count()).where(Lot.tenant_id == tenant_id, Lot.remaining < 0)).scalar_one()
        overdrawn = session.execute(
            select(func.count()).where(Account.tenant_id == tenant_id, Account.kind.in_(["pending", "held"]), Account.balance < 0)
        ).scalar_one()
    assert report.ok, report.problems
    assert negative == 0 and overdrawn == 0


# --- (a) redemptions never overdraw --------------------------------------------------------------


def test_fifty_concurrent_redemptions_of_a_thousand_points_spend_exactly_ten_hundreds(pg: Factory, clock: FrozenClock) -> None:
    tenant = make_tenant(pg, clock.now())
    member = make_member(pg, tenant.id, clock.now())
    # Ten lots with different expiry dates, so the race is also over which lot each redemption takes.
    for n in range(10):
        credit(pg, tenant.id, member, 100, clock.now(), clock.now() + timedelta(days=10 + (n * 7) % 10), f"lot-{n}")

    results = race(50, lambda i: redeem(pg, tenant.id, member, 100, clock.now(), f"redeem-{i}"))

    assert outcomes(results) == {"ok": 10, "InsufficientPoints": 40}
    after = sorted(r.balance_after for r in results if not isinstance(r, Exception))
    assert after == list(range(0, 1000, 100))  # each success saw a distinct, never negative balance
    assert all(r.extra["available"] == 0 for r in results if isinstance(r, InsufficientPoints))
    assert balances(pg, tenant.id, member) == {"available": 0, "pending": 0, "held": 0}
    with pg() as session:
        remaining = session.execute(select(Lot.remaining).where(Lot.tenant_id == tenant.id)).scalars().all()
    assert remaining == [0] * 10
    assert program_totals(pg, tenant.id)["redeemed"] == 1000
    assert_intact(pg, tenant.id)


# --- (b) a hold is resolved exactly once ---------------------------------------------------------


def test_twenty_concurrent_captures_of_one_hold_capture_it_once(pg: Factory, clock: FrozenClock) -> None:
    tenant = make_tenant(pg, clock.now())
    member = make_member(pg, tenant.id, clock.now())
    credit(pg, tenant.id, member, 500, clock.now(), None, "c")
    with unit_of_work(pg) as session:
        hold_id = ledger.hold(session, tenant_id=tenant.id, member_id=member, points=300, reason="till", now=clock.now(), ttl_seconds=900).id

    def capture(i: int) -> Hold:
        with unit_of_work(pg) as session:
            return ledger.resolve_hold(session, tenant_id=tenant.id, hold_id=hold_id, action="capture", now=clock.now(), points=100 + i)

    results = race(20, capture)

    assert outcomes(results) == {"ok": 1, "Conflict": 19}
    (winner,) = [r for r in results if not isinstance(r, Exception)]
    assert all(r.extra["hold_status"] == "captured" for r in results if isinstance(r, Conflict))
    assert balances(pg, tenant.id, member) == {"available": 500 - winner.captured_points, "pending": 0, "held": 0}
    assert program_totals(pg, tenant.id)["redeemed"] == winner.captured_points
    with pg() as session:
        resolutions = session.execute(
            select(func.count()).where(Entry.tenant_id == tenant.id, Entry.kind.in_(["capture", "void"]))
        ).scalar_one()
    assert resolutions == 1
    assert_intact(pg, tenant.id)


def test_a_capture_racing_a_void_lets_exactly_one_win(pg: Factory, clock: FrozenClock) -> None:
    tenant = make_tenant(pg, clock.now())
    member = make_member(pg, tenant.id, clock.now())
    credit(pg, tenant.id, member, 1000, clock.now(), None, "c")
    captured = 0
    for round_ in range(10):
        with unit_of_work(pg) as session:
            hold_id = ledger.hold(session, tenant_id=tenant.id, member_id=member, points=50, reason="till", now=clock.now(), ttl_seconds=900).id
        actions = ("capture", "void") if round_ % 2 else ("void", "capture")

        def resolve(i: int, hold_id: int = hold_id, actions: tuple[str, str] = actions) -> Hold:
            with unit_of_work(pg) as session:
                return ledger.resolve_hold(session, tenant_id=tenant.id, hold_id=hold_id, action=actions[i], now=clock.now())

        results = race(2, resolve)

        assert outcomes(results) == {"ok": 1, "Conflict": 1}
        (winner,) = [r for r in results if not isinstance(r, Exception)]
        (loser,) = [r for r in results if isinstance(r, Conflict)]
        assert loser.extra["hold_status"] == winner.status
        captured += winner.captured_points
        assert balances(pg, tenant.id, member) == {"available": 1000 - captured, "pending": 0, "held": 0}
    assert program_totals(pg, tenant.id)["redeemed"] == captured
    assert_intact(pg, tenant.id)


# --- (c) an Idempotency-Key over real HTTP -------------------------------------------------------


@pytest.fixture
def server(pg: Factory, clock: FrozenClock) -> Iterator[str]:
    """The app served by uvicorn on 127.0.0.1 in a background thread; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(factory=pg, clock=clock), log_level="warning", lifespan="off")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=20)
        sock.close()


def test_twenty_concurrent_replays_of_one_idempotency_key_redeem_once(pg: Factory, clock: FrozenClock, server: str) -> None:
    tenant = make_tenant(pg, clock.now())
    member = make_member(pg, tenant.id, clock.now())
    credit(pg, tenant.id, member, 1000, clock.now(), None, "c")
    headers = {"Authorization": f"Bearer {tenant.admin_key}", "Idempotency-Key": "till-7-receipt-42"}

    def post(_: int) -> tuple[int, dict[str, Any]]:
        with httpx.Client(base_url=server, timeout=60) as http:
            response = http.post(f"/v1/members/{member}/redemptions", json={"points": 100, "reason": "coffee"}, headers=headers)
        return response.status_code, response.json()

    results = race(20, post)

    assert not [r for r in results if isinstance(r, Exception)], results
    assert {status for status, _ in results} == {201}
    first = results[0][1]
    assert all(body == first for _, body in results)
    assert first["points"] == 100 and first["balance"] == 900
    assert balances(pg, tenant.id, member)["available"] == 900
    with pg() as session:
        redeems = session.execute(select(func.count()).where(Entry.tenant_id == tenant.id, Entry.kind == "redeem")).scalar_one()
        stored = session.execute(
            text("SELECT count(*) FROM idempotency_records WHERE tenant_id = :t"), {"t": tenant.id}
        ).scalar_one()
    assert (redeems, stored) == (1, 1)
    # The same key with another body is refused, not replayed.
    with httpx.Client(base_url=server, timeout=60) as http:
        clash = http.post(f"/v1/members/{member}/redemptions", json={"points": 200, "reason": "coffee"}, headers=headers)
    assert clash.status_code == 409
    assert_intact(pg, tenant.id)


# --- (d) the worker's expiries beside live redemptions -------------------------------------------


def test_expiry_running_beside_redemptions_never_takes_a_point_twice(pg: Factory, clock: FrozenClock) -> None:
    tenant = make_tenant(pg, clock.now())
    start = clock.now()
    members = [make_member(pg, tenant.id, start) for _ in range(4)]
    for m in members:
        for n in range(12):
            # Half the lots are past their expiry when the race runs, half are not.
            credit(pg, tenant.id, m, 40, start, start + timedelta(days=1 + n), f"lot-{m}-{n}")
    clock.set(start + timedelta(days=6, hours=12))
    now = clock.now()
    reports: list[PassReport] = []

    def work(i: int) -> Any:
        if i < 2:
            reports.append(run_due(pg, now=now, tenant_id=tenant.id, batch=5))
            return "pass"
        spent = 0
        for k in range(6):
            try:
                redeem(pg, tenant.id, members[(i + k) % len(members)], 35, now, f"r-{i}-{k}")
                spent += 35
            except InsufficientPoints:
                pass
        return spent

    results = race(14, work)

    assert not [r for r in results if isinstance(r, Exception)], results
    spent = sum(r for r in results if isinstance(r, int))
    totals = program_totals(pg, tenant.id)
    # Redemptions expire a member's due lots before spending, so the expiries come from the
    # worker's passes and from redemptions; together, once each.
    expired = totals["expired"]
    assert totals["redeemed"] == spent
    assert expired >= sum(r.expired_points for r in reports)
    with pg() as session:
        lots = session.execute(select(Lot.member_id, Lot.remaining, Lot.expires_at).where(Lot.tenant_id == tenant.id)).all()
    for m in members:
        b = balances(pg, tenant.id, m)
        assert b["available"] >= 0
        assert b["available"] == sum(remaining for member_id, remaining, _ in lots if member_id == m)
    assert spent + expired + sum(balances(pg, tenant.id, m)["available"] for m in members) == 4 * 12 * 40
    assert_intact(pg, tenant.id)
    # Whatever was past expiry and not spent has gone (a lot expiring later is never touched).
    run_due(pg, now=now, tenant_id=tenant.id)
    with pg() as session:
        left = session.execute(
            select(func.count()).where(Lot.tenant_id == tenant.id, Lot.expires_at <= now, Lot.remaining > 0)
        ).scalar_one()
        expire_entries = session.execute(
            select(Entry.details).where(Entry.tenant_id == tenant.id, Entry.kind == "expire")
        ).scalars().all()
    assert left == 0
    assert len({d["lot_id"] for d in expire_entries}) == len(expire_entries)  # no lot expired twice
    # No redemption spent a point past its expiry: every due lot expired whole.
    assert program_totals(pg, tenant.id)["expired"] == 4 * 6 * 40
    assert_intact(pg, tenant.id)


def test_returns_racing_redemptions_leave_a_consistent_debt(pg: Factory, clock: FrozenClock) -> None:
    tenant = make_tenant(pg, clock.now())
    member = make_member(pg, tenant.id, clock.now())
    for n in range(4):
        with unit_of_work(pg) as session:
            _purchase(session, tenant.id, member, f"o-{n}", clock.now())  # 50 points each

    def work(i: int) -> Any:
        if i < 4:
            with unit_of_work(pg) as session:
                return returns.record_return(session, tenant_id=tenant.id, event_in=ReturnIn(type="return", order_id=f"o-{i}"), now=clock.now())
        return redeem(pg, tenant.id, member, 30, clock.now(), f"r-{i}")

    results = race(16, work)

    assert {type(r).__name__ for r in results if isinstance(r, Exception)} <= {"InsufficientPoints", "MemberInDebt"}
    assert all(not isinstance(r, Exception) for r in results[:4])
    spent = 30 * sum(1 for r in results[4:] if not isinstance(r, Exception))
    assert spent <= 200
    # Every return took its 50 back; what had been spent already is owed.
    assert balances(pg, tenant.id, member) == {"available": -spent, "pending": 0, "held": 0}
    assert program_totals(pg, tenant.id) == {"issued": 0, "redeemed": spent, "expired": 0, "adjustments": 0}
    assert_intact(pg, tenant.id)


# --- (e) two members' purchases never wait on each other -----------------------------------------


def _purchase(session: Session, tenant_id: int, member_id: int, order_id: str, now) -> None:  # type: ignore[no-untyped-def]
    body = PurchaseIn(type="purchase", member={"id": member_id}, order_id=order_id, amount="50.00", currency="SAR")  # type: ignore[arg-type]
    events.record_purchase(session, tenant_id=tenant_id, event_in=body, request_hash=order_id, now=now)


@pytest.mark.parametrize("path", ["one-statement", "transaction"])
@pytest.mark.parametrize("first_does", ["purchase", "redemption", "return"])
def test_a_purchase_does_not_wait_for_another_members_open_transaction(
    pg: Factory, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch, path: str, first_does: str
) -> None:
    if path == "transaction":
        monkeypatch.setattr(hotpath, "purchase", lambda *a, **k: None)
    tenant = make_tenant(pg, clock.now(), pending_days=7)
    first, second = make_member(pg, tenant.id, clock.now()), make_member(pg, tenant.id, clock.now())
    credit(pg, tenant.id, first, 100, clock.now(), None, "c")
    with unit_of_work(pg) as session:
        _purchase(session, tenant.id, first, "earlier", clock.now())
    mid_transaction, finish = threading.Event(), threading.Event()

    def first_member() -> None:
        with unit_of_work(pg) as session:
            if first_does == "purchase":
                _purchase(session, tenant.id, first, "slow-till", clock.now())
            elif first_does == "redemption":
                ledger.debit(session, tenant_id=tenant.id, member_id=first, points=10, kind="redeem", destination="redeemed",
                             idempotency_key="slow-redeem", reason="slow", now=clock.now())
            else:
                returns.record_return(session, tenant_id=tenant.id, event_in=ReturnIn(type="return", order_id="earlier"), now=clock.now())
            mid_transaction.set()
            assert finish.wait(timeout=60)

    def second_member() -> dict[str, int]:
        with unit_of_work(pg) as session:
            # Waiting on a lock would fail here instead of hanging the test.
            session.execute(text("SET LOCAL lock_timeout = '5s'"))
            _purchase(session, tenant.id, second, "fast-till", clock.now())
        return balances(pg, tenant.id, second)

    with ThreadPoolExecutor(max_workers=2) as pool:
        slow = pool.submit(first_member)
        try:
            assert mid_transaction.wait(timeout=30), slow.exception(timeout=1)
            fast = pool.submit(second_member)
            assert fast.result(timeout=20) == {"available": 0, "pending": 50, "held": 0}
            assert not slow.done()  # the first transaction really was open all along
        finally:
            finish.set()
        slow.result(timeout=30)
    assert_intact(pg, tenant.id)


# --- worker passes at once -----------------------------------------------------------------------


def test_concurrent_worker_passes_release_expire_and_lapse_each_thing_once(pg: Factory, clock: FrozenClock) -> None:
    tenant = make_tenant(pg, clock.now(), pending_days=7)
    start = clock.now()
    members = [make_member(pg, tenant.id, start) for _ in range(15)]
    for n, m in enumerate(members):
        with unit_of_work(pg) as session:
            _purchase(session, tenant.id, m, f"o-{n}", start)  # 50 pending
        credit(pg, tenant.id, m, 30, start, start + timedelta(days=3), f"expiring-{n}")
        credit(pg, tenant.id, m, 20, start, None, f"keeps-{n}")
        with unit_of_work(pg) as session:
            ledger.hold(session, tenant_id=tenant.id, member_id=m, points=15, reason="till", now=start, ttl_seconds=600)
    clock.advance(timedelta(days=8))

    reports = race(4, lambda i: run_due(pg, now=clock.now(), tenant_id=tenant.id, batch=4))

    assert not [r for r in reports if isinstance(r, Exception)], reports
    assert sum(r.released_lots for r in reports) == 15
    assert sum(r.released_points for r in reports) == 15 * 50
    assert sum(r.lapsed_holds for r in reports) == 15
    expired = sum(r.expired_points for r in reports)
    with pg() as session:
        kinds = Counter(session.execute(select(Entry.kind).where(Entry.tenant_id == tenant.id)).scalars())
        statuses = Counter(session.execute(select(Hold.status).where(Hold.tenant_id == tenant.id)).scalars())
    assert (kinds["release"], kinds["void"]) == (15, 15)
    assert statuses == {"lapsed": 15}
    assert program_totals(pg, tenant.id)["expired"] == expired
    assert_intact(pg, tenant.id)

    # A lapse gives its 15 points back to the expiring lot they came from; whether that lot had
    # already expired depends on which pass got there first, so the next passes expire the rest.
    reports = race(4, lambda i: run_due(pg, now=clock.now(), tenant_id=tenant.id, batch=4))
    assert not [r for r in reports if isinstance(r, Exception)], reports
    assert sum(r.released_points + r.lapsed_holds for r in reports) == 0
    assert expired + sum(r.expired_points for r in reports) == 15 * 30
    assert program_totals(pg, tenant.id)["expired"] == 15 * 30
    for m in members:
        assert balances(pg, tenant.id, m) == {"available": 50 + 20, "pending": 0, "held": 0}
    with pg() as session:
        expire_keys = session.execute(
            select(Entry.idempotency_key).where(Entry.tenant_id == tenant.id, Entry.kind == "expire")
        ).scalars().all()
    assert 15 <= len(expire_keys) <= 30
    assert_intact(pg, tenant.id)
