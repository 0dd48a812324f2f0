"""A hypothesis state machine drives the ledger with random work and checks it after every step.

Each example is a fresh tenant whose program draws a return window, an expiry policy and a time
zone. Two members then buy, return part of what they bought, redeem, hold points at a till and
capture (all or part) or void them, get adjusted by hand, and the clock moves and the worker runs.
The same work is applied to a small model of the ledger in plain Python (lots, holds, debts), and
after every step the database must agree with it: balances, every lot, the program's totals, and
`verify()` finding the ledger intact. Bounded in CI (EXAMPLES programs of STEPS steps, on each
database); `HYPOTHESIS_PROFILE=dev` digs deeper (its profile's 500 programs of 80 steps).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule, run_state_machine_as_test
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import START, make_member, make_tenant
from wafa.clock import FrozenClock
from wafa.db import unit_of_work
from wafa.errors import Conflict, InsufficientPoints, InvalidInput, MemberInDebt
from wafa.events import returns
from wafa.events import service as events
from wafa.events.schemas import PurchaseIn, ReturnIn
from wafa.jobs.service import run_due
from wafa.ledger import service as ledger
from wafa.ledger.models import Account, Entry, Lot, Posting
from wafa.ledger.verify import verify
from wafa.programs import earning

Factory = sessionmaker[Session]
DEV = os.environ.get("HYPOTHESIS_PROFILE") == "dev"
# Every step checks the whole ledger, so a run costs examples x steps (40 x 40 took 40 s on PostgreSQL).
# CI: 30 programs of 30 steps, still enough for windows to close, lots to expire, holds to lapse and
# returns to leave debts (the events below); under "dev" its profile's 500 programs of 80 steps.
STEPS = 80 if DEV else 30
EXAMPLES = settings.default.max_examples if DEV else 20
MEMBERS = 2

POLICIES = [("none", 0), ("days", 1), ("days", 30), ("end_of_month", 0), ("end_of_month", 1), ("end_of_year", 0)]
ZONES = ["UTC", "Asia/Riyadh", "America/New_York"]
MINUTES = st.one_of(st.integers(1, 59), st.integers(60, 3 * 24 * 60), st.integers(3 * 24 * 60, 100 * 24 * 60))


# --- the model -----------------------------------------------------------------------------------


@dataclass
class MLot:
    member: int
    amount: int
    remaining: int
    released: bool
    available_at: datetime
    expires_at: datetime | None


@dataclass
class MHold:
    member: int
    points: int
    taken: list[tuple[int, int]]  # (lot index, points) in the order they were taken
    expires_at: datetime
    status: str = "open"


@dataclass
class MOrder:
    order_id: str
    member: int
    amount: int  # minor units
    points: int
    lot: int | None
    returned: int = 0
    reversed: int = 0


@dataclass
class Model:
    """What the ledger should hold, by the rules in ARCHITECTURE.md, computed without a database."""

    members: list[int]
    pending_days: int
    policy: str
    periods: int
    zone: str
    lots: list[MLot] = field(default_factory=list)
    holds: dict[int, MHold] = field(default_factory=dict)
    orders: list[MOrder] = field(default_factory=list)
    available: dict[int, int] = field(default_factory=dict)
    pending: dict[int, int] = field(default_factory=dict)
    held: dict[int, int] = field(default_factory=dict)
    returned_to_debt: set[int] = field(default_factory=set)
    # Program-side totals as their accounts' postings sum them (issued is negative: it gives points out).
    program: dict[str, int] = field(default_factory=lambda: {"issued": 0, "redeemed": 0, "expired": 0, "adjustments": 0})

    def __post_init__(self) -> None:
        for m in self.members:
            self.available[m] = self.pending[m] = self.held[m] = 0

    def expiry(self, available_at: datetime) -> datetime | None:
        return earning.expires_at(available_at, policy=self.policy, periods=self.periods, timezone=self.zone)

    def _debt_repaid(self, member: int, pieces: list[tuple[int, int]]) -> dict[int, int]:
        """Points arriving in a negative available account repay the debt first, piece by piece."""
        debt, repaid = max(0, -self.available[member]), {}
        for index, points in pieces:
            repay = min(debt, points)
            if repay:
                repaid[index] = repaid.get(index, 0) + repay
                debt -= repay
        return repaid

    def _take(self, member: int, points: int, first: int | None = None) -> list[tuple[int, int]]:
        """Take points from released lots: a named lot first, then soonest-expiring first."""
        open_lots = [i for i, lot in enumerate(self.lots) if lot.member == member and lot.released and lot.remaining > 0]
        open_lots.sort(key=lambda i: (
            i != first, self.lots[i].expires_at is None, self.lots[i].expires_at or START, self.lots[i].available_at, i,
        ))
        moves, left = [], points
        for i in open_lots:
            if left <= 0:
                break
            take = min(left, self.lots[i].remaining)
            self.lots[i].remaining -= take
            moves.append((i, take))
            left -= take
        return moves

    def credit(self, member: int, points: int, now: datetime, available_at: datetime, expires_at: datetime | None) -> int:
        released = available_at <= now
        lot = MLot(member, points, points, released, available_at, expires_at)
        self.lots.append(lot)
        if released:
            lot.remaining -= self._debt_repaid(member, [(len(self.lots) - 1, points)]).get(len(self.lots) - 1, 0)
            self.available[member] += points
        else:
            self.pending[member] += points
        return len(self.lots) - 1

    def due(self, member: int, now: datetime) -> int:
        """Points of the member's lots past expiry that the worker has not expired yet."""
        return sum(
            lot.remaining for lot in self.lots
            if lot.member == member and lot.released and lot.remaining > 0 and lot.expires_at is not None and lot.expires_at <= now
        )

    def expire_due(self, member: int, now: datetime) -> None:
        """Spending and returns expire the member's due lots first (in their own transaction)."""
        for lot in self.lots:
            if lot.member == member and lot.released and lot.remaining > 0 and lot.expires_at is not None and lot.expires_at <= now:
                self.available[member] -= lot.remaining
                self.program["expired"] += lot.remaining
                event("points expired on use, before the worker")
                lot.remaining = 0

    def debit_check(self, member: int, points: int, now: datetime, block_in_debt: bool = True) -> type[Exception] | None:
        if points <= 0:
            return InvalidInput
        available = self.available[member] - self.due(member, now)
        if available - points >= 0:
            return None
        return MemberInDebt if available < 0 and block_in_debt else InsufficientPoints

    def purchase(self, member: int, order_id: str, amount: int, now: datetime) -> None:
        points = amount // 100  # 1 point per SAR, rounded down
        lot = None
        if points:
            available_at = now + timedelta(days=self.pending_days)
            lot = self.credit(member, points, now, available_at, self.expiry(available_at))
            self.program["issued"] -= points
        self.orders.append(MOrder(order_id, member, amount, points, lot))

    def give_back(self, order: MOrder, amount: int | None, now: datetime) -> int:
        left = order.amount - order.returned
        this = left if amount is None else amount
        order.returned += this
        target = order.points * order.returned // order.amount
        claw, order.reversed = target - order.reversed, target
        if claw <= 0:
            return 0
        self.expire_due(order.member, now)
        own = self.lots[order.lot] if order.lot is not None else None
        from_pending = min(claw, own.remaining) if own is not None and not own.released else 0
        if from_pending:
            own.remaining -= from_pending  # type: ignore[union-attr]
            self.pending[order.member] -= from_pending
        from_available = claw - from_pending
        if from_available:
            self._take(order.member, from_available, first=order.lot if own is not None and own.released else None)
            self.available[order.member] -= from_available
            if self.available[order.member] < 0:
                self.returned_to_debt.add(order.member)
                event("a return left a debt")
        self.program["issued"] += claw
        return claw

    def debit(self, member: int, points: int, destination: str) -> None:
        self._take(member, points)
        self.available[member] -= points
        self.program[destination] += points

    def hold(self, hold_id: int, member: int, points: int, expires_at: datetime) -> None:
        self.holds[hold_id] = MHold(member, points, self._take(member, points), expires_at)
        self.available[member] -= points
        self.held[member] += points

    def resolve(self, hold_id: int, status: str, capture: int = 0) -> None:
        hold = self.holds[hold_id]
        hold.status = status
        give_back, pieces, left = hold.points - capture, [], hold.points - capture
        for index, points in reversed(hold.taken):  # latest-expiring first
            if left <= 0:
                break
            back = min(left, points)
            pieces.append((index, back))
            left -= back
        repaid = self._debt_repaid(hold.member, pieces)
        if status == "captured" and give_back:
            event("partial capture")
        if repaid:
            event("a hold gave back points to a member in debt")
        for index, back in pieces:
            self.lots[index].remaining += back - repaid.get(index, 0)
        self.held[hold.member] -= hold.points
        self.available[hold.member] += give_back
        self.program["redeemed"] += capture

    def release_and_expire(self, now: datetime) -> None:
        for index, lot in enumerate(self.lots):
            if lot.released or lot.available_at > now:
                continue
            lot.released = True
            moving = lot.remaining
            if moving:
                self.pending[lot.member] -= moving
                lot.remaining -= self._debt_repaid(lot.member, [(index, moving)]).get(index, 0)
                if lot.remaining < moving:
                    event("released points repaid a debt")
                self.available[lot.member] += moving
        for lot in self.lots:
            if lot.released and lot.remaining > 0 and lot.expires_at is not None and lot.expires_at <= now:
                self.available[lot.member] -= lot.remaining
                self.program["expired"] += lot.remaining
                event("points expired" if lot.remaining < lot.amount else "a whole lot expired")
                lot.remaining = 0
        for hold_id in sorted(self.holds):
            hold = self.holds[hold_id]
            if hold.status == "open" and hold.expires_at <= now:
                self.resolve(hold_id, "lapsed")
                event("a hold lapsed")


# --- the machine ---------------------------------------------------------------------------------


class LedgerMachine(RuleBasedStateMachine):
    factory: Factory

    @initialize(
        pending_days=st.sampled_from([0, 0, 3, 14]),
        policy=st.sampled_from(POLICIES),
        zone=st.sampled_from(ZONES),
        welcome=st.sampled_from([0, 100, 500]),
    )
    def open_program(self, pending_days: int, policy: tuple[str, int], zone: str, welcome: int) -> None:
        self.clock = FrozenClock(START)
        self.tenant = make_tenant(
            self.factory, self.clock.now(), pending_days=pending_days, expiry={"policy": policy[0], "periods": policy[1]}, timezone=zone
        )
        members = [make_member(self.factory, self.tenant.id, self.clock.now()) for _ in range(MEMBERS)]
        self.model = Model(members, pending_days, policy[0], policy[1], zone)
        self.keys = 0
        for m in members:  # a welcome bonus, so holds and redemptions have something to take from the start
            self.adjust_points(m, welcome)

    # -- helpers

    def key(self, prefix: str) -> str:
        self.keys += 1
        return f"{prefix}-{self.keys}"

    def attempt(self, expected: type[Exception] | None, work: Callable[[Session], Any]) -> Any:
        """Run work in one transaction; it must fail with `expected`, or succeed if that is None."""
        if expected is None:
            with unit_of_work(self.factory) as session:
                return work(session)
        with pytest.raises(expected), unit_of_work(self.factory) as session:
            work(session)
        return None

    @property
    def t(self) -> int:
        return self.tenant.id

    def open_holds(self) -> list[int]:
        return sorted(h for h, hold in self.model.holds.items() if hold.status == "open")

    def returnable(self) -> list[MOrder]:
        return [order for order in self.model.orders if order.amount > order.returned]

    # -- rules

    @rule(member=st.integers(0, MEMBERS - 1), amount=st.one_of(st.integers(1, 99), st.integers(100, 50_000)))
    def purchase(self, member: int, amount: int) -> None:
        m = self.model.members[member]
        order_id = f"o-{len(self.model.orders)}"
        body = PurchaseIn(
            type="purchase", member={"id": m}, order_id=order_id, amount=f"{amount // 100}.{amount % 100:02d}", currency="SAR"  # type: ignore[arg-type]
        )
        result, replay = self.attempt(
            None, lambda s: events.record_purchase(s, tenant_id=self.t, event_in=body, request_hash=order_id, now=self.clock.now())
        )
        self.model.purchase(m, order_id, amount, self.clock.now())
        assert not replay
        assert (result.award.points if result.award else 0) == self.model.orders[-1].points

    @precondition(lambda self: any(order.amount > order.returned for order in self.model.orders))
    @rule(data=st.data())
    def give_back(self, data: st.DataObject) -> None:
        order = data.draw(st.sampled_from(self.returnable()), label="order")
        left = order.amount - order.returned
        amount = data.draw(st.one_of(st.none(), st.integers(1, left)), label="amount")
        body = ReturnIn(type="return", order_id=order.order_id, amount=None if amount is None else f"{amount // 100}.{amount % 100:02d}")
        result = self.attempt(None, lambda s: returns.record_return(s, tenant_id=self.t, event_in=body, now=self.clock.now()))
        claw = self.model.give_back(order, amount, self.clock.now())
        assert result.reversal is not None and result.reversal.points == claw

    def spend_points(self, data: st.DataObject, m: int) -> int:
        """Mostly what the member can afford (all of it, or part), sometimes more."""
        available = self.model.available[m]
        affordable = [st.just(available), st.integers(1, available)] if available > 0 else []
        return data.draw(st.one_of(*affordable, st.integers(1, 300)), label="points")

    @rule(member=st.integers(0, MEMBERS - 1), data=st.data())
    def redeem(self, member: int, data: st.DataObject) -> None:
        m = self.model.members[member]
        points = self.spend_points(data, m)
        expected = self.model.debit_check(m, points, self.clock.now())
        self.attempt(expected, lambda s: ledger.debit(
            s, tenant_id=self.t, member_id=m, points=points, kind="redeem", destination="redeemed",
            idempotency_key=self.key("redeem"), reason="machine", now=self.clock.now(),
        ))
        if expected is None:
            self.model.expire_due(m, self.clock.now())
            self.model.debit(m, points, "redeemed")

    @rule(member=st.integers(0, MEMBERS - 1), data=st.data(), ttl=st.sampled_from([60, 900, 86_400, 20 * 86_400]))
    def hold(self, member: int, data: st.DataObject, ttl: int) -> None:
        m = self.model.members[member]
        points = self.spend_points(data, m)
        expected = self.model.debit_check(m, points, self.clock.now())
        made = self.attempt(expected, lambda s: ledger.hold(
            s, tenant_id=self.t, member_id=m, points=points, reason="machine till", now=self.clock.now(), ttl_seconds=ttl,
        ))
        if expected is None:
            self.model.expire_due(m, self.clock.now())
            self.model.hold(made.id, m, points, self.clock.now() + timedelta(seconds=ttl))

    def pick_hold(self, data: st.DataObject) -> int:
        """Mostly an open hold; sometimes any, so resolving twice is tried too."""
        open_holds = self.open_holds()
        return data.draw(st.sampled_from(open_holds if open_holds and data.draw(st.integers(0, 3)) else sorted(self.model.holds)))

    @precondition(lambda self: bool(self.model.holds))
    @rule(data=st.data(), full=st.booleans())
    def capture(self, data: st.DataObject, full: bool) -> None:
        hold_id = self.pick_hold(data)
        hold = self.model.holds[hold_id]
        points = None if full else data.draw(st.integers(1, hold.points), label="points")
        lapsed = hold.expires_at <= self.clock.now()
        expected = Conflict if hold.status != "open" or lapsed else None
        done = self.attempt(expected, lambda s: ledger.resolve_hold(
            s, tenant_id=self.t, hold_id=hold_id, action="capture", now=self.clock.now(), points=points,
        ))
        if expected is None:
            self.model.resolve(hold_id, "captured", hold.points if points is None else points)
            assert (done.status, done.captured_points) == ("captured", hold.points if points is None else points)

    @precondition(lambda self: bool(self.model.holds))
    @rule(data=st.data())
    def void(self, data: st.DataObject) -> None:
        hold_id = self.pick_hold(data)
        expected = Conflict if self.model.holds[hold_id].status != "open" else None
        self.attempt(expected, lambda s: ledger.resolve_hold(s, tenant_id=self.t, hold_id=hold_id, action="void", now=self.clock.now()))
        if expected is None:
            self.model.resolve(hold_id, "voided")

    @rule(member=st.integers(0, MEMBERS - 1), points=st.integers(-200, 300))
    def adjust(self, member: int, points: int) -> None:
        self.adjust_points(self.model.members[member], points)

    def adjust_points(self, m: int, points: int) -> None:
        now = self.clock.now()
        expires_at = self.model.expiry(now)
        expected = InvalidInput if points == 0 else self.model.debit_check(m, -points, self.clock.now(), block_in_debt=False) if points < 0 else None
        self.attempt(expected, lambda s: ledger.adjust(
            s, tenant_id=self.t, member_id=m, points=points, reason="machine adjustment", idempotency_key=self.key("adjust"),
            now=now, expires_at=expires_at,
        ))
        if expected is None and points > 0:
            self.model.credit(m, points, now, now, expires_at)
            self.model.program["adjustments"] -= points
        elif expected is None:
            self.model.expire_due(m, now)
            self.model.debit(m, -points, "adjustments")

    @rule(minutes=MINUTES, then_work=st.booleans())
    def advance_clock(self, minutes: int, then_work: bool) -> None:
        self.clock.advance(timedelta(minutes=minutes))
        if then_work:
            self.worker_pass()

    @rule()
    def worker_pass(self) -> None:
        report = run_due(self.factory, now=self.clock.now(), tenant_id=self.t)
        expired_before = self.model.program["expired"]
        self.model.release_and_expire(self.clock.now())
        assert report.expired_points == self.model.program["expired"] - expired_before

    # -- invariants

    @invariant()
    def ledger_is_intact_and_agrees_with_the_model(self) -> None:
        if not hasattr(self, "model"):
            return
        t, model = self.t, self.model
        with self.factory() as session:
            report = verify(session, tenant_id=t)
            assert report.ok, report.problems

            db_balances = {m: ledger.balances(session, tenant_id=t, member_id=m) for m in model.members}
            for m in model.members:
                b = db_balances[m]
                assert b == {"available": model.available[m], "pending": model.pending[m], "held": model.held[m]}, m
                assert b["pending"] >= 0 and b["held"] >= 0
                # Only a return can take a member below zero (a debt); nothing else overdraws.
                assert b["available"] >= 0 or m in model.returned_to_debt

            lots = session.execute(
                select(Lot.member_id, Lot.amount, Lot.remaining, Lot.released, Lot.available_at, Lot.expires_at)
                .where(Lot.tenant_id == t).order_by(Lot.id)
            ).all()
            assert [tuple(row) for row in lots] == [
                (lot.member, lot.amount, lot.remaining, lot.released, lot.available_at, lot.expires_at) for lot in model.lots
            ]
            for m in model.members:
                b = db_balances[m]
                in_lots = sum(row.remaining for row in lots if row.member_id == m)
                debt = max(0, -b["available"])
                assert b["available"] + b["pending"] == in_lots - debt
                assert b["held"] == sum(h.points for h in model.holds.values() if h.member == m and h.status == "open")

            # The program's side, derived from postings: issued - reversed - redeemed - expired -
            # adjusted is what the members hold.
            program = dict(
                session.execute(
                    select(Account.kind, func.coalesce(func.sum(Posting.amount), 0))
                    .join(Posting, Posting.account_id == Account.id)
                    .where(Posting.tenant_id == t, Account.owner == "program")
                    .group_by(Account.kind)
                ).all()
            )
            program = {kind: int(program.get(kind, 0)) for kind in model.program}
            assert program == model.program
            held_by_members = sum(sum(b.values()) for b in db_balances.values())
            assert -program["issued"] - program["redeemed"] - program["expired"] - program["adjustments"] == held_by_members

            # Every posting of this tenant is on one of its own accounts.
            strays = session.execute(
                select(func.count()).select_from(Posting).join(Account, Account.id == Posting.account_id)
                .where(Posting.tenant_id == t, Account.tenant_id != t)
            ).scalar_one()
            assert strays == 0

            # A member's history lines add up to what they can spend and what is pending.
            for m in model.members:
                lines = session.execute(
                    select(func.coalesce(func.sum(Entry.points), 0)).where(Entry.tenant_id == t, Entry.member_id == m)
                ).scalar_one()
                assert lines == db_balances[m]["available"] + db_balances[m]["pending"]


def test_ledger_state_machine(factory: Factory) -> None:
    class Machine(LedgerMachine):
        pass

    Machine.factory = factory
    run_state_machine_as_test(Machine, settings=settings(max_examples=EXAMPLES, stateful_step_count=STEPS))
