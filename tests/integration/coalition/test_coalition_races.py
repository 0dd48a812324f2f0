"""Coalition races on PostgreSQL, with real threads, each on its own connection and transaction.

Two partners' tills spending a member's last points at once: one of them gets them, and is paid once. A
period closing while purchases, redemptions and returns are being written at the partners, each stamped
just before the period ends: every entry lands in exactly one statement or in the open period after it
(dated into it when the period closed first), none lost and none counted twice.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import START, factory_for, make_member, make_tenant
from tests.integration.coalition import world
from tests.integration.test_concurrency import race
from wafa.api.app import create_app
from wafa.clock import FrozenClock
from wafa.coalition import service as coalition
from wafa.coalition import settlement, terms
from wafa.coalition.schemas import CoalitionIn, PartnerIn
from wafa.db import unit_of_work
from wafa.events import returns
from wafa.events import service as events
from wafa.events.schemas import PurchaseIn, ReturnIn
from wafa.ledger import service as ledger
from wafa.ledger.models import Entry, Hold
from wafa.ledger.verify import verify

Factory = sessionmaker[Session]
pytestmark = pytest.mark.postgres_only


@pytest.fixture
def pg(pg_url: str) -> Factory:
    return factory_for(pg_url)


@pytest.fixture
def server(pg: Factory) -> Iterator[str]:
    """The app served by uvicorn on 127.0.0.1 in a background thread (its clock at START); yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(create_app(factory=pg, clock=FrozenClock(START)), log_level="warning", lifespan="off")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        srv.should_exit = True
        thread.join(timeout=20)
        sock.close()


def intact(pg: Factory, tenant_id: int) -> None:
    with pg() as session:
        report = verify(session, tenant_id=tenant_id)
    assert report.ok, report.problems


def paid(partner: world.Partner, points: int) -> dict[tuple[str, str], int]:
    worth = terms.redeemed(points, value=partner.terms["redeem_value"], fee_rate=partner.terms.get("redeem_fee", "0"), precision=2)
    legs = {("settlement", "SAR"): worth.to_partner, ("coalition_fund", "SAR"): -worth.gross, ("commission", "SAR"): worth.commission}
    return {k: v for k, v in legs.items() if v}


# --- two partners, one member's last points ------------------------------------------------------------

MEMBERS = 6


@dataclass
class Tills:
    tenant_id: int
    partners: dict[str, world.Partner]
    members: list[int]


@pytest.fixture
def tills(pg: Factory, server: str) -> Tills:
    """A café and a pharmacy with a key each, and members with 100 points each (the operator's welcome)."""
    tenant = make_tenant(pg, START)
    admin = {"Authorization": f"Bearer {tenant.admin_key}"}
    with httpx.Client(base_url=server, timeout=60) as http:
        partners = world.open_coalition(http, admin, policy="operator", names=["cafe", "pharmacy"])
        members = [make_member(pg, tenant.id, START) for _ in range(MEMBERS)]
        for m in members:
            assert http.post(f"/v1/members/{m}/adjustments", json={"points": 100, "reason": "welcome"}, headers=admin).status_code == 201
    return Tills(tenant.id, partners, members)


@pytest.mark.parametrize("how", ["redemptions", "holds"])
def test_two_partners_spending_a_members_last_points_at_once_one_gets_them(server: str, pg: Factory, tills: Tills, how: str) -> None:
    tenant_id, members = tills.tenant_id, tills.members
    tries = [(m, partner) for m in members for partner in tills.partners.values()]

    def spend(i: int) -> tuple[int, world.Partner, int, dict[str, Any]]:
        m, partner = tries[i]
        with httpx.Client(base_url=server, timeout=60) as http:
            response = http.post(f"/v1/members/{m}/{how}", json={"points": 100, "reason": "till"}, headers=partner.headers)
        return m, partner, response.status_code, response.json()

    results = race(len(tries), spend)
    assert not [r for r in results if isinstance(r, Exception)], results
    winners = {}
    for m in members:
        answers = sorted((status, body.get("type")) for member, _, status, body in results if member == m)
        assert answers == [(201, None), (422, "/problems/insufficient-points")], (m, answers)
        winners[m] = next((p, body) for member, p, status, body in results if member == m and status == 201)
    if how == "holds":
        # The till that holds the points captures them; the other partner's till cannot touch the hold.
        with httpx.Client(base_url=server, timeout=60) as http:
            for winner, hold in winners.values():
                loser = next(p for p in tills.partners.values() if p is not winner)
                assert http.post(f"/v1/holds/{hold['id']}/capture", headers=loser.headers).status_code == 404
                assert http.post(f"/v1/holds/{hold['id']}/capture", headers=winner.headers).status_code == 200
    intact(pg, tenant_id)
    with pg() as session:
        for m, (winner, _) in winners.items():
            assert ledger.balances(session, tenant_id=tenant_id, member_id=m) == {"available": 0, "pending": 0, "held": 0}
            kind = "capture" if how == "holds" else "redeem"
            spent = session.execute(select(Entry.id, Entry.partner_id).where(
                Entry.tenant_id == tenant_id, Entry.member_id == m, Entry.kind == kind)).all()
            # One entry spent the points, at the winner's till, and paid the winner for them once.
            assert [partner_id for _, partner_id in spent] == [winner.id]
            assert world.money_of(session, tenant_id=tenant_id, entry_id=spent[0][0]) == paid(winner, 100)
        every = world.legs(session, tenant_id=tenant_id)
    to_partners = sum(leg.amount for leg in every if leg.account_kind == "settlement")
    assert to_partners == sum(paid(winner, 100)[("settlement", "SAR")] for winner, _ in winners.values())


def test_a_hold_captured_and_voided_at_once_is_resolved_once_and_paid_at_most_once(server: str, pg: Factory, tills: Tills) -> None:
    tenant_id, members = tills.tenant_id, tills.members
    cafe = tills.partners["cafe"]
    holds = []
    with httpx.Client(base_url=server, timeout=60) as http:
        for m in members:
            made = http.post(f"/v1/members/{m}/holds", json={"points": 100, "reason": "till"}, headers=cafe.headers)
            assert made.status_code == 201, made.text
            holds.append(made.json()["id"])
    # Each hold: two captures (one of part of it) and a void, from three tills of the café at once.
    tries = [(hold_id, action) for hold_id in holds for action in ("capture", "capture-part", "void")]

    def resolve(i: int) -> tuple[int, str, int]:
        hold_id, action = tries[i]
        body = {"points": 40} if action == "capture-part" else None
        with httpx.Client(base_url=server, timeout=60) as http:
            response = http.post(f"/v1/holds/{hold_id}/{action.split('-')[0]}", json=body, headers=cafe.headers)
        return hold_id, action, response.status_code

    results = race(len(tries), resolve)
    assert not [r for r in results if isinstance(r, Exception)], results
    intact(pg, tenant_id)
    with pg() as session:
        for hold_id in holds:
            statuses = Counter(status for h, _, status in results if h == hold_id)
            assert statuses == Counter({200: 1, 409: 2}), (hold_id, statuses)
            won = next(action for h, action, status in results if h == hold_id and status == 200)
            found = session.execute(select(Hold).where(Hold.id == hold_id)).scalar_one()
            captured = {"capture": 100, "capture-part": 40, "void": 0}[won]
            assert (found.status, found.captured_points) == ("voided" if won == "void" else "captured", captured)
            assert world.money_of(session, tenant_id=tenant_id, entry_id=found.resolution_entry_id) == (paid(cafe, captured) if captured else {})
            assert ledger.balances(session, tenant_id=tenant_id, member_id=found.member_id)["available"] == 100 - captured


# --- a period closing while events arrive ---------------------------------------------------------------

WRITERS, ROUNDS = 8, 10


def _partners(pg: Factory, tenant_id: int) -> dict[str, coalition.Terms]:
    with unit_of_work(pg) as session:
        coalition.configure(session, tenant_id=tenant_id, coalition_in=CoalitionIn(breakage_policy="operator"), now=START)
        for name in ("cafe", "pharmacy"):
            coalition.create(session, tenant_id=tenant_id, partner_in=PartnerIn(**world.TERMS[name]), now=START)
    with pg() as session:
        found = coalition.config_or_raise(session, tenant_id=tenant_id)
        return {terms_.key: terms_ for terms_ in found.partners.values()}


def _buy(pg: Factory, tenant_id: int, partner: coalition.Terms, member_id: int, order_id: str, amount: str, now: datetime) -> None:
    body = PurchaseIn(type="purchase", member={"id": member_id}, order_id=order_id, amount=amount, currency="SAR")  # type: ignore[arg-type]
    with unit_of_work(pg) as session:
        events.record_purchase(session, tenant_id=tenant_id, event_in=body, request_hash=order_id, now=now, partner_id=partner.id)


def _redeem(pg: Factory, tenant_id: int, partner: coalition.Terms, member_id: int, points: int, key: str, now: datetime) -> None:
    with unit_of_work(pg) as session:
        money = coalition.redeem_money(session, tenant_id=tenant_id, partner=partner, points=points)
        ledger.debit(session, tenant_id=tenant_id, member_id=member_id, points=points, kind="redeem", destination="redeemed",
                     idempotency_key=key, reason="till", now=now, money=money)


def _give_back(pg: Factory, tenant_id: int, order_id: str, amount: str, now: datetime) -> None:
    with unit_of_work(pg) as session:
        returns.record_return(session, tenant_id=tenant_id, event_in=ReturnIn(type="return", order_id=order_id, amount=amount), now=now)


def _settled(pg: Factory, tenant_id: int, partners: dict[str, coalition.Terms]) -> None:
    """Every partner's closed statements and its open period are exactly the money posted at it, for the
    partner and the operator; every run sums to zero."""
    with pg() as session:
        every = world.legs(session, tenant_id=tenant_id)
        floors = world.floors(session, tenant_id=tenant_id)
        closed = world.statements(session, tenant_id=tenant_id)
    by_run, by_party = world.statement_sums(closed)
    assert all(total == 0 for total in by_run.values()), by_run
    operator = 0
    for partner in partners.values():
        money = [leg for leg in every if leg.partner_id == partner.id and leg.is_money]
        floor = floors.get(partner.id)
        before = world.drafts([leg for leg in money if floor is not None and leg.created_at < floor])
        after = world.drafts([leg for leg in money if floor is None or leg.created_at >= floor])
        assert sum(after[0].values()) + sum(after[1].values()) == 0
        assert by_party.get((partner.id, "SAR"), 0) == before[0].get("SAR", 0)
        operator += before[1].get("SAR", 0)
    assert by_party.get((None, "SAR"), 0) == operator


def test_a_period_closing_while_events_arrive_counts_each_entry_once(pg: Factory) -> None:
    tenant = make_tenant(pg, START, timezone="Asia/Riyadh")
    partners = _partners(pg, tenant.id)
    cafe, pharmacy = partners["cafe"], partners["pharmacy"]
    members = [make_member(pg, tenant.id, START) for _ in range(WRITERS)]
    for m in members:  # March: points to spend, and orders to return
        _buy(pg, tenant.id, cafe, m, f"open-{m}", "500.00", START)
    end = terms.bounds("2026-03", timezone="Asia/Riyadh")[1]
    # The tills stamp their work a second before March ends (Riyadh time); the close comes a minute after.
    stamped, closing_at = end - timedelta(seconds=1), end + timedelta(minutes=1)
    begun, closed = threading.Event(), threading.Event()

    def till(i: int) -> int:
        m = members[i - 1]
        for n in range(ROUNDS + 1):
            if n == ROUNDS:
                closed.wait(timeout=60)  # one more after the close: it must be dated into April
            _buy(pg, tenant.id, cafe, m, f"t{i}-{n}", "10.00", stamped)
            _redeem(pg, tenant.id, pharmacy, m, 7, f"r{i}-{n}", stamped)
            if n % 3 == 0:
                _give_back(pg, tenant.id, f"cafe:open-{m}", "5.00", stamped)
            if n == 2:
                begun.set()
        return ROUNDS + 1

    def close(i: int) -> Any:
        if i:
            return till(i)
        begun.wait(timeout=60)
        try:
            with unit_of_work(pg) as session:
                run, replayed = settlement.close(session, tenant_id=tenant.id, period="2026-03", now=closing_at, by="race")
                return run.id, replayed
        finally:
            closed.set()

    results = race(WRITERS + 1, close)
    assert results[1:] == [ROUNDS + 1] * WRITERS, results  # every till did all its work
    run_id, replayed = results[0]
    assert not replayed
    intact(pg, tenant.id)
    with pg() as session:
        stamps = Counter(
            "in March" if at == stamped else "dated into April" if at == end else str(at)
            for (at,) in session.execute(select(Entry.created_at).where(
                Entry.tenant_id == tenant.id, Entry.partner_id.is_not(None), Entry.created_at > START))
        )
        every = world.legs(session, tenant_id=tenant.id)
        march = {s.party: s for s in settlement.statements_of_run(session, tenant_id=tenant.id, run_id=run_id)}
    # Work stamped in March is in March's statements if it committed before the close, else in April's.
    assert set(stamps) == {"in March", "dated into April"}, stamps
    assert stamps["dated into April"] >= 2 * WRITERS
    for partner in (cafe, pharmacy):
        in_march = world.drafts([leg for leg in every if leg.partner_id == partner.id and leg.is_money and leg.created_at < end])
        assert march[f"partner:{partner.id}"].net == in_march[0]["SAR"]
    assert sum(s.net for s in march.values()) == 0
    _settled(pg, tenant.id, partners)

    # April closes with what was dated into it; March, closed again, is as it was.
    april_end = terms.bounds("2026-04", timezone="Asia/Riyadh")[1]
    with unit_of_work(pg) as session:
        assert settlement.close(session, tenant_id=tenant.id, period="2026-03", now=april_end, by="again")[1] is True
        settlement.close(session, tenant_id=tenant.id, period="2026-04", now=april_end, by="race")
    with pg() as session:
        assert {s.party: s.net for s in settlement.statements_of_run(session, tenant_id=tenant.id, run_id=run_id)} == \
            {party: s.net for party, s in march.items()}
    _settled(pg, tenant.id, partners)


def test_two_closings_of_one_period_at_once_close_it_once(pg: Factory) -> None:
    tenant = make_tenant(pg, START)
    partners = _partners(pg, tenant.id)
    for n, m in enumerate([make_member(pg, tenant.id, START) for _ in range(3)]):
        _buy(pg, tenant.id, partners["cafe"], m, f"o{n}", "100.00", START)
        _redeem(pg, tenant.id, partners["pharmacy"], m, 50, f"r{n}", START)
    now = terms.bounds("2026-03", timezone="UTC")[1] + timedelta(hours=1)

    def close(_: int) -> tuple[int, bool]:
        with unit_of_work(pg) as session:
            run, replayed = settlement.close(session, tenant_id=tenant.id, period="2026-03", now=now, by="twice")
            return run.id, replayed

    results = race(4, close)
    done = [r for r in results if not isinstance(r, Exception)]
    # One closes it; the others wait for it on the period's unique key, then find it closed (or are told to retry).
    assert [replayed for _, replayed in done].count(False) == 1, results
    assert len({run_id for run_id, _ in done}) == 1
    assert all(isinstance(r, IntegrityError) for r in results if isinstance(r, Exception)), results
    with pg() as session:
        assert len(settlement.list_runs(session, tenant_id=tenant.id)) == 1
    _settled(pg, tenant.id, partners)
    intact(pg, tenant.id)
