"""A hypothesis state machine runs a coalition through its API with random work and checks its money after
every step, on SQLite and PostgreSQL.

Each example is a fresh tenant: a coalition whose breakage policy, return window, expiry policy and time
zone are drawn, with a café (rules of its own), a pharmacy (points of its own) and sometimes a souq settled
weekly in KWD. Two members buy at the partners' tills (with and without the café's rules and cashback),
return part or all of it, redeem at a partner, hold points and capture (all or part) or void them, pay with
wallet money, convert points to wallet money, redeem and cancel a partner's reward, exchange a partner's own
points; the clock moves, the worker expires points and closes the periods that ended, the operator closes
periods (again, too), a partner moves between monthly and weekly settlement, the breakage policy changes.

After every step: `verify()` finds the ledger intact; each partner's open period drafts statements that sum
to zero in every currency, as the console shows them; the closed statements are exactly the money dated
before each partner's open period, for each partner and for the operator; each closed run sums to zero; a
closed statement never changes; the money of an entry and of what reversed it is in exact cumulative
proportion to the points reversed; expired points' money goes where the policy they were sold under says.
Every entry's money is checked against the partner's terms as it is posted. Bounded in CI (EXAMPLES
coalitions of STEPS steps, each database); `HYPOTHESIS_PROFILE=dev` digs deeper.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterator
from datetime import timedelta
from fractions import Fraction
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule, run_state_machine_as_test
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import START, make_member, make_tenant
from tests.integration.coalition import world
from tests.integration.coalition.world import Partner
from wafa.clock import FrozenClock
from wafa.coalition import settlement, terms
from wafa.coalition.models import SettlementRun
from wafa.jobs.service import run_due
from wafa.ledger import money as ledger_money
from wafa.ledger import service as ledger
from wafa.ledger import wallet
from wafa.ledger.models import Entry, Hold, Lot, LotMovement
from wafa.ledger.verify import verify
from wafa.money import precision, to_major, to_minor
from wafa.rewards.models import RewardRedemption

Factory = sessionmaker[Session]
DEV = os.environ.get("HYPOTHESIS_PROFILE") == "dev"
# Every step checks every invariant: CI runs 8 coalitions of 25 steps per database (well under a minute).
STEPS = 60 if DEV else 25
EXAMPLES = settings.default.max_examples if DEV else 8
MEMBERS = 2
REFUSED = {"/problems/insufficient-points", "/problems/member-in-debt", "/problems/reward-locked", "/problems/insufficient-funds"}
EXPIRY = [("days", 10), ("days", 30), ("end_of_month", 0), ("none", 0)]
ZONES = ["Asia/Riyadh", "UTC", "America/New_York"]
MINUTES = st.one_of(st.integers(1, 30), st.integers(60, 3 * 24 * 60), st.integers(5 * 24 * 60, 40 * 24 * 60))


class CoalitionMachine(RuleBasedStateMachine):
    factory: Factory
    client: TestClient

    @initialize(
        policy=st.sampled_from(ledger_money.BREAKAGE_POLICIES), pending_days=st.sampled_from([0, 0, 3]), expiry=st.sampled_from(EXPIRY),
        zone=st.sampled_from(ZONES), with_souq=st.booleans(), welcome=st.sampled_from([0, 300]),
        opening=st.lists(st.integers(1_000, 30_000), min_size=MEMBERS * 3, max_size=MEMBERS * 3),
    )
    def open_coalition(
        self, policy: str, pending_days: int, expiry: tuple[str, int], zone: str, with_souq: bool, welcome: int, opening: list[int],
    ) -> None:
        self.clock = FrozenClock(START)
        self.client.app.state.clock = self.clock  # type: ignore[attr-defined]
        self.tenant = make_tenant(self.factory, START, pending_days=pending_days, expiry={"policy": expiry[0], "periods": expiry[1]},
                                  timezone=zone)
        self.zone, self.policy = zone, policy
        self.admin = {"Authorization": f"Bearer {self.tenant.admin_key}"}
        names = ["cafe", "pharmacy", "souq"] if with_souq else ["cafe", "pharmacy"]
        self.partners = world.open_coalition(self.client, self.admin, policy=policy, names=names)
        self.operator_rules = set()
        for body in world.RULES:
            made = self.post("/v1/rules", body)
            if body.get("partner") is None:
                self.operator_rules.add(made["id"])
        self.conversion = self.post("/v1/rewards", {"key": "to-wallet", "name_en": "Points to wallet", "name_ar": "إلى المحفظة",
                                                    "points": 10, "gives": {"type": "cashback", "rate": "0.01"}})
        self.treat = self.post("/v1/rewards", {"key": "cafe-treat", "name_en": "Café treat", "name_ar": "ضيافة", "points": 30,
                                               "partner": "cafe", "gives": {"type": "privilege", "valid_days": 30}})
        self.members = [make_member(self.factory, self.tenant.id, START) for _ in range(MEMBERS)]
        for m in self.members:
            if welcome:
                self.post(f"/v1/members/{m}/adjustments", {"points": welcome, "reason": "welcome"})
        self.orders: list[dict[str, Any]] = []
        self.holds: dict[int, Partner] = {}
        self.redemptions: list[int] = []
        self.carried: dict[tuple[int, str], int] = {}
        self.sold_under: dict[int, str] = {}  # earn and exchange entries: the breakage policy their points were sold under
        self.closed: dict[int, world.Closed] = {}
        self.n = 0
        # Each member has bought at each partner before the random work starts.
        for index, amount in enumerate(opening):
            self.purchase(index % MEMBERS, index // MEMBERS, amount)

    # -- helpers

    @property
    def t(self) -> int:
        return self.tenant.id

    def post(self, path: str, body: dict[str, Any] | None, headers: dict[str, str] | None = None, status: int = 201) -> Any:
        response = self.client.post(path, json=body, headers=headers or self.admin)
        assert response.status_code == status, response.text
        return response.json()

    def attempt(self, ok: bool, path: str, body: dict[str, Any] | None, headers: dict[str, str], status: int = 201) -> Any:
        """POST what should succeed (`ok`) or be refused for want of points or money, and check which it was."""
        response = self.client.post(path, json=body, headers=headers)
        if ok:
            assert response.status_code == status, response.text
            return response.json()
        assert response.status_code in (409, 422) and response.json()["type"] in REFUSED, response.text
        return None

    def key(self) -> str:
        self.n += 1
        return f"k{self.n}"

    def spendable(self, m: int) -> int:
        with self.factory() as session:
            found = ledger.summary(session, tenant_id=self.t, member_id=m, now=self.clock.now())
        assert found is not None
        return found["available"]

    def money(self, entry_id: int) -> dict[tuple[str, str], int]:
        with self.factory() as session:
            return world.money_of(session, tenant_id=self.t, entry_id=entry_id)

    def partner_at(self, index: int) -> Partner:
        names = sorted(self.partners)
        return self.partners[names[index % len(names)]]

    def pays(self, partner: Partner, points: int) -> dict[tuple[str, str], int]:
        """The money legs of points spent at a partner, by its terms."""
        worth = terms.redeemed(points, value=partner.terms["redeem_value"], fee_rate=partner.terms.get("redeem_fee", "0"),
                               precision=precision(partner.currency))
        c = partner.currency
        legs = {("settlement", c): worth.to_partner, ("coalition_fund", c): -worth.gross, ("commission", c): worth.commission}
        return {k: v for k, v in legs.items() if v}

    # -- earning and returning

    @rule(member=st.integers(0, MEMBERS - 1), at=st.integers(0, 3), amount=st.one_of(st.integers(1, 4_999), st.integers(5_000, 30_000)))
    def purchase(self, member: int, at: int, amount: int) -> None:
        m = self.members[member]
        partner = None if at == 3 else self.partner_at(at)
        currency = partner.currency if partner else "SAR"
        order_id = f"o{self.key()}"
        body = {"type": "purchase", "member": {"id": m}, "order_id": order_id, "amount": to_major(amount, currency), "currency": currency}
        result = self.post("/v1/events", body, partner.headers if partner else self.admin)
        self.orders.append({"order_id": order_id, "partner": partner, "amount": amount, "returned": 0, "result": result})
        if partner is None or result["award"] is None:
            return
        entry = result["award"]["entry_id"]
        self.sold_under[entry] = self.policy
        with self.factory() as session:
            details = session.execute(select(Entry.details).where(Entry.id == entry)).scalar_one()["coalition"]
        operators = sum(r["points"] for r in result["rules"] if r["rule_id"] in self.operator_rules)
        # The partner pays for its base points and its own rules' points, not for the operator's rule.
        assert details["points_charged"] == result["total_points"] - operators
        cost = terms.issued(details["points_charged"], price=partner.terms["issue_price"], fee_rate=partner.terms.get("issue_fee", "0"),
                            precision=precision(currency))
        expected = {("settlement", currency): -cost.gross, ("coalition_fund", currency): cost.to_fund, ("commission", currency): cost.commission}
        assert self.money(entry) == {k: v for k, v in expected.items() if v}
        funded = sum(to_minor(r["cashback"], currency) for r in result["rules"] if r["rule_id"] not in self.operator_rules)
        if funded:
            event("the café's rules gave cashback it pays for")
            cashback_entry = self.cashback_entry(result["event_id"])
            assert self.money(cashback_entry).get(("settlement", currency)) == -funded

    def cashback_entry(self, event_id: int) -> int:
        with self.factory() as session:
            return session.execute(
                select(Entry.id).where(Entry.tenant_id == self.t, Entry.idempotency_key == f"cashback:event:{event_id}")
            ).scalar_one()

    @precondition(lambda self: any(o["returned"] < o["amount"] for o in self.orders))
    @rule(data=st.data(), whole=st.booleans())
    def give_back(self, data: st.DataObject, whole: bool) -> None:
        order = data.draw(st.sampled_from([o for o in self.orders if o["returned"] < o["amount"]]), label="order")
        left = order["amount"] - order["returned"]
        amount = None if whole else data.draw(st.integers(1, left), label="amount")
        partner: Partner | None = order["partner"]
        body: dict[str, Any] = {"type": "return", "order_id": order["order_id"]}
        if amount is not None:
            body["amount"] = to_major(amount, partner.currency if partner else "SAR")
        result = self.post("/v1/events", body, partner.headers if partner else self.admin)
        order["returned"] += left if amount is None else amount
        event("a whole order came back" if order["returned"] == order["amount"] else "part of an order came back")
        assert result["reversal"] is not None

    # -- spending at partners

    @rule(member=st.integers(0, MEMBERS - 1), at=st.integers(0, 2), data=st.data())
    def redeem(self, member: int, at: int, data: st.DataObject) -> None:
        m, partner = self.members[member], self.partner_at(at)
        available = self.spendable(m)
        points = data.draw(st.one_of(st.integers(1, max(available, 1)), st.integers(1, 400)), label="points")
        done = self.attempt(points <= available, f"/v1/members/{m}/redemptions", {"points": points, "reason": "till"}, partner.headers)
        if done is not None:
            assert self.money(done["entry_id"]) == self.pays(partner, points)

    @rule(member=st.integers(0, MEMBERS - 1), at=st.integers(0, 2), data=st.data())
    def hold(self, member: int, at: int, data: st.DataObject) -> None:
        m, partner = self.members[member], self.partner_at(at)
        available = self.spendable(m)
        points = data.draw(st.one_of(st.integers(1, max(available, 1)), st.integers(1, 400)), label="points")
        made = self.attempt(points <= available, f"/v1/members/{m}/holds", {"points": points, "reason": "till"}, partner.headers)
        if made is not None:
            self.holds[made["id"]] = partner

    @precondition(lambda self: bool(self.holds))
    @rule(data=st.data(), capture=st.booleans(), whole=st.booleans())
    def resolve(self, data: st.DataObject, capture: bool, whole: bool) -> None:
        hold_id = data.draw(st.sampled_from(sorted(self.holds)), label="hold")
        partner = self.holds[hold_id]
        with self.factory() as session:
            found = ledger.get_hold_or_raise(session, tenant_id=self.t, hold_id=hold_id)
        points = None if whole or not capture else data.draw(st.integers(1, found.points), label="points")
        lapsed = found.expires_at <= self.clock.now()
        ok = found.status == "open" and not (capture and lapsed)
        response = self.client.post(f"/v1/holds/{hold_id}/{'capture' if capture else 'void'}",
                                    json={"points": points} if points else None, headers=partner.headers)
        assert response.status_code == (200 if ok else 409), response.text
        if ok and capture:
            event("a hold captured" + (" in part" if points and points < found.points else ""))
            with self.factory() as session:
                entry = session.execute(select(Hold.resolution_entry_id).where(Hold.id == hold_id)).scalar_one()
            assert self.money(entry) == self.pays(partner, points or found.points)

    @rule(member=st.integers(0, MEMBERS - 1), at=st.integers(0, 2), data=st.data())
    def pay_from_wallet(self, member: int, at: int, data: st.DataObject) -> None:
        m, partner = self.members[member], self.partner_at(at)
        currency = data.draw(st.sampled_from(sorted({"SAR", partner.currency})), label="currency")
        with self.factory() as session:
            held = wallet.balances(session, tenant_id=self.t, member_id=m).get(currency, {}).get("available", 0)
        amount = data.draw(st.one_of(st.integers(1, max(held, 1)), st.integers(1, 5_000)), label="amount")
        body = {"amount": to_major(amount, currency), "currency": currency, "reason": "till"}
        done = self.attempt(amount <= held, f"/v1/members/{m}/wallet/debits", body, partner.headers)
        if done is not None:
            event("wallet money spent at a partner")
            spent = terms.spent(amount, fee_rate=partner.terms.get("redeem_fee", "0"))
            # The partner is paid instead of the operator keeping the money as spent (`wallet_spent` nets to zero).
            expected = {("settlement", currency): spent.to_partner, ("commission", currency): spent.commission}
            assert self.money(done["entry_id"]) == {k: v for k, v in expected.items() if v}

    @rule(member=st.integers(0, MEMBERS - 1), data=st.data())
    def convert_to_wallet(self, member: int, data: st.DataObject) -> None:
        m = self.members[member]
        available = self.spendable(m)
        points = data.draw(st.integers(10, max(available, 10)), label="points")
        made = self.attempt(points <= available, f"/v1/members/{m}/reward-redemptions", {"reward_id": self.conversion["id"], "points": points},
                            self.admin)
        if made is not None:
            self.redemptions.append(made["id"])

    @rule(member=st.integers(0, MEMBERS - 1))
    def redeem_partner_reward(self, member: int) -> None:
        m = self.members[member]
        made = self.attempt(self.spendable(m) >= 30, f"/v1/members/{m}/reward-redemptions", {"reward_id": self.treat["id"]},
                            self.partners["cafe"].headers)
        if made is not None:
            self.redemptions.append(made["id"])
            with self.factory() as session:
                entry = session.execute(select(RewardRedemption.points_entry_id).where(RewardRedemption.id == made["id"])).scalar_one()
            assert self.money(entry) == self.pays(self.partners["cafe"], 30)

    @precondition(lambda self: bool(self.redemptions))
    @rule(data=st.data())
    def cancel_redemption(self, data: st.DataObject) -> None:
        redemption_id = data.draw(st.sampled_from(self.redemptions), label="redemption")
        response = self.client.post(f"/v1/reward-redemptions/{redemption_id}/cancel", headers=self.admin)
        # Refused once cancelled, expired, or when the converted money has been spent from the wallet.
        assert response.status_code in (200, 409), response.text
        if response.status_code == 200:
            event("a reward redemption cancelled")

    @rule(member=st.integers(0, MEMBERS - 1), at=st.sampled_from(["pharmacy", "souq"]), own=st.integers(1, 60))
    def exchange(self, member: int, at: str, own: int) -> None:
        partner = self.partners.get(at)
        if partner is None:
            return
        m = self.members[member]
        carried = self.carried.get((m, at), 0)
        made = self.post(f"/v1/partners/{partner.id}/exchanges", {"member_id": m, "own_points": own},
                         {**partner.headers, "Idempotency-Key": self.key()})
        expected = terms.exchange(own, carried=carried, rate=partner.terms["own_points_rate"])
        assert (made["carried"], made["points"], made["kept"]) == (carried, expected.points, expected.kept)
        self.carried[(m, at)] = expected.kept
        if expected.points:
            self.sold_under[made["entry_id"]] = self.policy
            cost = terms.issued(expected.points, price=partner.terms["issue_price"], fee_rate=partner.terms.get("issue_fee", "0"),
                                precision=precision(partner.currency))
            assert self.money(made["entry_id"]).get(("settlement", partner.currency), 0) == -cost.gross

    # -- time, the worker and settlement

    @rule(minutes=MINUTES, then_work=st.booleans())
    def advance_clock(self, minutes: int, then_work: bool) -> None:
        self.clock.advance(timedelta(minutes=minutes))
        if then_work:
            self.worker_pass()

    def worker_pass(self) -> None:
        report = run_due(self.factory, now=self.clock.now(), tenant_id=self.t)
        if report.expired_points:
            event("the worker expired points")
        if report.settlements_closed:
            event("the worker closed a period")

    @rule(data=st.data())
    def close_period(self, data: st.DataObject) -> None:
        kind = data.draw(st.sampled_from(sorted({p.period for p in self.partners.values()})), label="kind")
        label = terms.label_of(self.clock.now(), kind=kind, timezone=self.zone)
        for _ in range(data.draw(st.integers(0, 2), label="periods back")):
            label = terms.previous(label)
        end = terms.bounds(label, timezone=self.zone)[1]
        with self.factory() as session:
            before = session.execute(
                select(SettlementRun.id).where(SettlementRun.tenant_id == self.t, SettlementRun.period == label)
            ).scalar_one_or_none()
            floors = [world.floor_of(session, tenant_id=self.t, partner_id=p.id) for p in self.partners.values() if p.period == kind]
            kept = world.statements(session, tenant_id=self.t)
        expected = 200 if before is not None else 409 if end > self.clock.now() or any(f and f >= end for f in floors) else 201
        response = self.client.post("/v1/coalition/settlements", json={"period": label}, headers=self.admin)
        assert response.status_code == expected, (label, response.text)
        if expected == 409:
            return
        event("a period closed" if expected == 201 else "a closed period closed again")
        again = self.client.post("/v1/coalition/settlements", json={"period": label}, headers=self.admin)
        assert again.status_code == 200 and again.json()["replayed"] is True
        assert again.json()["statements"] == response.json()["statements"]
        with self.factory() as session:
            after = world.statements(session, tenant_id=self.t)
            floors_after = [world.floor_of(session, tenant_id=self.t, partner_id=p.id) for p in self.partners.values() if p.period == kind]
        assert {k: v for k, v in after.items() if k in kept} == kept
        if expected == 200:
            assert after == kept  # closing twice changes nothing
        else:
            assert all(f == end for f in floors_after)
            assert {s["id"] for s in again.json()["statements"]} == set(after) - set(kept)

    @rule(at=st.integers(0, 2))
    def change_period(self, at: int) -> None:
        """A partner moves from monthly to weekly settlement or back: what it settled stays settled, once."""
        partner = self.partner_at(at)
        period = "weekly" if partner.period == "monthly" else "monthly"
        response = self.client.patch(f"/v1/partners/{partner.id}", json={"period": period}, headers=self.admin)
        assert response.status_code == 200, response.text
        partner.terms = {**partner.terms, "period": period}
        event("a partner changed its settlement period")

    @rule()
    def switch_breakage_policy(self) -> None:
        """The operator changes who keeps the money of expiring points: points sold before keep their policy."""
        self.policy = "partners" if self.policy == "operator" else "operator"
        assert self.client.put("/v1/coalition", json={"breakage_policy": self.policy}, headers=self.admin).status_code == 200
        event("the breakage policy changed")

    # -- invariants

    @invariant()
    def money_is_whole(self) -> None:
        if not hasattr(self, "tenant"):
            return
        t = self.t
        with self.factory() as session:
            report = verify(session, tenant_id=t)
            assert report.ok, report.problems
            every = world.legs(session, tenant_id=t)
            floors = world.floors(session, tenant_id=t)
            closed = world.statements(session, tenant_id=t)
            # What the console shows as the open period so far (entries of this very instant included).
            shown = settlement.open_totals(session, tenant_id=t, now=self.clock.now())
            own = {m: ledger_money.member_own_points(session, tenant_id=t, member_id=m) for m in self.members}
        settled: dict[tuple[int | None, str], int] = defaultdict(int)
        for partner in self.partners.values():
            floor = floors.get(partner.id)
            money = [leg for leg in every if leg.partner_id == partner.id and leg.is_money]
            open_partner, open_operator = world.drafts([leg for leg in money if floor is None or leg.created_at >= floor])
            # The open period's statements would sum to zero in every currency.
            for currency in set(open_partner) | set(open_operator):
                assert open_partner.get(currency, 0) + open_operator.get(currency, 0) == 0, (partner.key, currency)
            assert {c: v for c, v in shown[partner.id].items() if v} == {c: v for c, v in open_partner.items() if v}
            before_partner, before_operator = world.drafts([leg for leg in money if floor is not None and leg.created_at < floor])
            for currency, net in before_partner.items():
                settled[(partner.id, currency)] += net
            for currency, net in before_operator.items():
                settled[(None, currency)] += net
        # A closed statement never changes; every run sums to zero; the closed statements are exactly the money
        # dated before each partner's open period, for each partner and the operator: none lost, none counted twice.
        assert {k: v for k, v in closed.items() if k in self.closed} == self.closed
        self.closed = closed
        by_run, by_party = world.statement_sums(closed)
        assert all(total == 0 for total in by_run.values()), by_run
        assert {k: v for k, v in by_party.items() if v} == {k: v for k, v in settled.items() if v}
        self.check_follows(every)
        self.check_breakage(every)
        # What exchanges could not convert is kept on the member's account of the partner's points.
        for m in self.members:
            expected = {ledger_money.own_points_unit(p.id): self.carried.get((m, p.key), 0) for p in self.partners.values()}
            assert {u: v for u, v in own[m].items() if v} == {u: v for u, v in expected.items() if v}

    def check_breakage(self, every: list[world.Leg]) -> None:
        """Expired points' money leaves the fund for the operator's breakage or, by the policy the points were sold
        under, for the partner that paid for them."""
        expired: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for leg in every:
            if leg.entry_kind == "expire" and leg.is_money and not leg.on_member:
                expired[leg.entry_id][leg.account_kind] += leg.amount
        if not expired:
            return
        with self.factory() as session:
            sold = dict(session.execute(
                select(Entry.id, Lot.entry_id).join(LotMovement, LotMovement.entry_id == Entry.id).join(Lot, Lot.id == LotMovement.lot_id)
                .where(Entry.tenant_id == self.t, Entry.id.in_(list(expired)))
            ).all())
        for entry_id, moved in expired.items():
            legs = {kind: v for kind, v in moved.items() if v}
            if legs:
                to = "breakage" if self.sold_under[sold[entry_id]] == "operator" else "settlement"
                event(f"expired points' money went to {to}")
                assert set(legs) == {"coalition_fund", to} and legs[to] == -legs["coalition_fund"] > 0, (entry_id, legs)

    def check_follows(self, every: list[world.Leg]) -> None:
        """The money of an entry and of the entries reversing it moves back in exact cumulative proportion to
        what they moved for the member (ledger/money.py `following`): all of it once everything came back."""
        money: dict[int, dict[tuple[str, str], int]] = defaultdict(lambda: defaultdict(int))
        member: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        reversing: dict[int, list[int]] = defaultdict(list)
        for leg in every:
            if leg.on_member and leg.account_kind != ledger_money.OWN_POINTS_KIND:
                member[leg.entry_id][leg.unit] += leg.amount
            elif leg.is_money:
                money[leg.entry_id][(leg.account_kind, leg.unit)] += leg.amount
            if leg.reverses is not None and leg.entry_id not in reversing[leg.reverses]:
                reversing[leg.reverses].append(leg.entry_id)
        for entry_id, others in reversing.items():
            original = {k: v for k, v in money[entry_id].items() if v}
            moved = {u: v for u, v in member[entry_id].items() if v}
            if not original or len(moved) != 1:
                continue
            (unit, whole), = moved.items()
            back = min(abs(whole), abs(sum(member[other].get(unit, 0) for other in others)))
            left = {leg: amount + sum(money[other].get(leg, 0) for other in others) for leg, amount in original.items()}
            assert not {leg for other in others for leg, v in money[other].items() if v and leg not in original}, entry_id
            for leg, amount in original.items():
                exact = Fraction(amount * (abs(whole) - back), abs(whole))
                assert abs(left[leg] - exact) < len(original), (entry_id, leg, amount, left[leg], exact)
                assert left[leg] * amount >= 0, (entry_id, leg)
            if back == abs(whole):
                event("all of an entry's money came back")
                assert not any(left.values()), (entry_id, left)


@pytest.fixture
def machine_client(client: TestClient) -> Iterator[TestClient]:
    """The app's client (a tenant and an admin key come with each example); the app's clock restored after."""
    clock = client.app.state.clock  # type: ignore[attr-defined]
    yield client
    client.app.state.clock = clock  # type: ignore[attr-defined]


def test_coalition_state_machine(factory: Factory, machine_client: TestClient) -> None:
    class Machine(CoalitionMachine):
        pass

    Machine.factory = factory
    Machine.client = machine_client
    run_state_machine_as_test(Machine, settings=settings(max_examples=EXAMPLES, stateful_step_count=STEPS))

