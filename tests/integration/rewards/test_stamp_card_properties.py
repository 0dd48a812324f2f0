"""Property (hypothesis, both databases): whatever a member buys, returns, cancels, uses and pays on a
stamp card program, in any order, the card counts each kept stamp once and each full card once.

The program: a coffee card of N stamps (N from 1 to 4) whose reward is a free latte (a free_product
coupon), maybe with a limited stock; a rule stamping each coffee item; a cashback rule at the FUND
store that fills the wallet. Random steps, all through the HTTP API: purchases of 0-4 coffees (and
maybe a cake), partial returns by items, whole returns, pausing and activating the card, cancelling a
card reward by hand, using one at the till, paying part of an order from the wallet, topping the
wallet up, and switching the program's `return_restores` policy.

After every step, against a model kept beside the test:
1. the card's total stamps are the coffees of the orders stamped while the card was active, less
   those that came back (orders stamped while it was paused never count); the current card shows
   the stamps not yet spent on a full card, rewarded or forfeited;
2. the card's live rewards (issued or used) are its `completed`; a full card is rewarded once; a
   reward cancelled by hand absorbs the first full card a return takes away, so it never causes
   another reward to be cancelled; completed + forfeited <= max(full cards, used rewards);
3. a used reward stays used (a return never cancels it) and a cancelled one stays cancelled;
4. the stock never goes below zero and stock + live rewards is what the stock started at;
5. the wallet money a return gives back for an order never exceeds what the wallet paid for it, is
   exactly the returned share under "proportional", and all of it once the whole order is back if
   no return of it happened under "none"; the wallet balance agrees;
6. `ledger verify` finds nothing wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import START, _apps, make_tenant
from wafa.api.app import create_app
from wafa.clock import FrozenClock
from wafa.ledger import wallet
from wafa.ledger.verify import verify
from wafa.rewards.models import MemberStampCard, Reward

PRICES = {"LATTE": 1200, "MOCHA": 1500, "CAKE": 800}  # halalas
CATEGORY = {"LATTE": "coffee", "MOCHA": "coffee", "CAKE": "bakery"}
COFFEES = ("LATTE", "MOCHA")
FREE_LATTE = {"type": "free_product", "sku": "LATTE"}
TILL = {"amount": "12.00", "currency": "SAR", "items": [{"sku": "LATTE", "quantity": 1, "unit_price": "12.00"}]}

pick = st.integers(0, 50)  # an index into whatever the step acts on, taken modulo its length
buy_st = st.tuples(st.just("buy"), st.integers(0, 3), st.integers(0, 1), st.integers(0, 2))
part_st = st.tuples(st.just("part"), pick, st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 3)))
full_st = st.tuples(st.just("full"), pick)
toggle_st = st.tuples(st.just("toggle"))
cancel_st = st.tuples(st.just("cancel"), pick)
use_st = st.tuples(st.just("use"), pick)
pay_st = st.tuples(st.just("pay"), pick, st.integers(1, 100))
fund_st = st.tuples(st.just("fund"), st.integers(1, 30))
policy_st = st.tuples(st.just("policy"), st.sampled_from(["none", "proportional"]))
# Buying and returning weigh double: they move the stamps.
steps_st = st.lists(
    st.one_of(buy_st, buy_st, part_st, part_st, full_st, toggle_st, cancel_st, use_st, pay_st, fund_st, policy_st),
    min_size=3,
    max_size=12,
)


def minor(text: str) -> int:
    return int(Decimal(text) * 100)


def major(amount: int) -> str:
    return f"{amount // 100}.{amount % 100:02d}"


@dataclass
class Payment:
    amount: int
    restored: int = 0


@dataclass
class Order:
    order_id: str
    lines: dict[str, int]  # sku -> quantity bought
    stamped: bool  # the card was active when it was bought (and it had coffees)
    returned: dict[str, int] = field(default_factory=dict)
    payments: list[Payment] = field(default_factory=list)
    given_back: int = 0  # wallet money returns of this order answered as given back
    returned_under_none: bool = False

    @property
    def amount(self) -> int:
        return sum(PRICES[sku] * qty for sku, qty in self.lines.items())

    @property
    def coffees(self) -> int:
        return sum(qty for sku, qty in self.lines.items() if sku in COFFEES)

    @property
    def coffees_back(self) -> int:
        return sum(qty for sku, qty in self.returned.items() if sku in COFFEES)

    def left(self, sku: str) -> int:
        return self.lines[sku] - self.returned.get(sku, 0)

    @property
    def whole(self) -> bool:
        return all(self.left(sku) == 0 for sku in self.lines)

    @property
    def paid(self) -> int:
        return sum(p.amount for p in self.payments)


@dataclass
class Model:
    """What the test believes, from the rules of the program and the API's answers."""

    needed: int
    stock: int | None
    active: bool = True
    policy: str = "proportional"
    orders: list[Order] = field(default_factory=list)
    rewarded: int = 0  # live card rewards (issued or used)
    forfeited: int = 0  # full cards whose reward was cancelled by hand, not yet taken away by a return
    grants: dict[int, str] = field(default_factory=dict)  # redemption id -> issued / used / cancelled
    codes: dict[int, str] = field(default_factory=dict)
    by_hand: set[int] = field(default_factory=set)
    wallet: int = 0

    @property
    def stamps(self) -> int:
        """Invariant 1, from the orders alone."""
        return sum(o.coffees - o.coffees_back for o in self.orders if o.stamped)

    def of(self, status: str) -> list[int]:
        return sorted(rid for rid, s in self.grants.items() if s == status)


def _pick_grant(model: Model, choice: int) -> int | None:
    """Mostly an issued card reward; one time in four any of them (used and cancelled ones are refused)."""
    issued = model.of("issued")
    among = issued if issued and choice % 4 else sorted(model.grants)
    return among[choice % len(among)] if among else None


def _grants(client: TestClient, member_id: int) -> dict[int, dict[str, Any]]:
    answer = client.get(f"/v1/members/{member_id}/reward-redemptions", params={"limit": 200})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["next_cursor"] is None
    return {r["id"]: r for r in body["items"] if r["source"] == "stamp_card"}


def _restored(answer: Any) -> int:
    assert answer.status_code == 201, answer.text
    restored = answer.json()["reversal"]["payments_restored"]
    assert all(r["method"] == "wallet" and r["currency"] == "SAR" for r in restored), restored
    return sum(minor(r["amount"]) for r in restored)


def _return(client: TestClient, model: Model, member_id: int, order: Order, items: dict[str, int]) -> None:
    """Post a return of `items` (all that is left when empty) and check what it did to the card and wallet."""
    body: dict[str, Any] = {"type": "return", "order_id": order.order_id}
    if items:
        body["items"] = [{"sku": sku, "quantity": qty} for sku, qty in items.items()]
    else:
        items = {sku: order.left(sku) for sku in order.lines if order.left(sku)}
    stamps_before = model.stamps
    answer = client.post("/v1/events", json=body)
    for sku, qty in items.items():
        order.returned[sku] = order.returned.get(sku, 0) + qty

    # Wallet: the returned share of each payment, cumulatively (exactly what payments promise).
    returned_money = sum(PRICES[sku] * qty for sku, qty in order.returned.items())
    expected_back = 0
    for payment in order.payments:
        share = payment.amount if order.whole else payment.amount * min(returned_money, order.amount) // order.amount
        if model.policy == "none":
            payment.restored = max(payment.restored, share)
        elif share > payment.restored:
            expected_back += share - payment.restored
            payment.restored = share
    if model.policy == "none" and order.payments:
        order.returned_under_none = True
    back = _restored(answer)
    assert back == expected_back, (order, back, expected_back)
    order.given_back += back
    model.wallet += back

    # The card: the stamps this order put on it come off; forfeited cards absorb the loss first,
    # then unused rewards go (never a used one, never more than the lost full cards).
    lost_stamps = stamps_before - model.stamps
    assert lost_stamps == (sum(qty for sku, qty in items.items() if sku in COFFEES) if order.stamped else 0)
    excess = model.rewarded + model.forfeited - model.stamps // model.needed
    absorbed = min(max(excess, 0), model.forfeited) if lost_stamps else 0
    model.forfeited -= absorbed
    excess -= absorbed
    to_cancel = min(max(excess, 0), len(model.of("issued"))) if lost_stamps else 0
    seen = _grants(client, member_id)
    cancelled_now = {rid for rid, r in seen.items() if r["status"] == "cancelled" and model.grants.get(rid) != "cancelled"}
    assert set(seen) == set(model.grants), "a return issued a card reward"
    assert all(model.grants[rid] == "issued" for rid in cancelled_now), ("a return cancelled a used reward", cancelled_now, model)
    assert len(cancelled_now) == to_cancel, (
        f"return of {items} on {order.order_id}: {len(cancelled_now)} rewards cancelled, expected {to_cancel}", model,
    )
    for rid in cancelled_now:
        model.grants[rid] = "cancelled"
    model.rewarded -= len(cancelled_now)
    if model.stock is not None:
        model.stock += len(cancelled_now)


def _check(client: TestClient, factory: sessionmaker[Session], *, tenant_id: int, member_id: int, card_id: int, reward_id: int,
           model: Model, initial_stock: int | None) -> None:
    [card] = client.get(f"/v1/members/{member_id}/stamp-cards").json()["cards"]
    # 1. Stamps: the kept coffees of orders stamped while the card was active.
    assert card["total_stamps"] == model.stamps >= 0, (card, model)
    # 2. One live reward per completed card, none twice.
    seen = _grants(client, member_id)
    assert {rid: r["status"] for rid, r in seen.items()} == model.grants, (seen, model)
    live = [rid for rid, s in model.grants.items() if s != "cancelled"]
    assert card["completed"] == len(live) == model.rewarded, (card, model)
    with factory() as session:
        row = session.execute(
            select(MemberStampCard).where(MemberStampCard.tenant_id == tenant_id, MemberStampCard.member_id == member_id,
                                          MemberStampCard.card_id == card_id)
        ).scalar_one_or_none()
        forfeited = row.forfeited if row is not None else 0
        stock = session.execute(select(Reward.stock_left).where(Reward.id == reward_id)).scalar_one()
        available = wallet.balances(session, tenant_id=tenant_id, member_id=member_id).get("SAR", {"available": 0})["available"]
        # 6. The ledger is sound.
        report = verify(session, tenant_id=tenant_id)
        assert report.ok, report.problems
    assert forfeited == model.forfeited, (forfeited, model)
    used = len(model.of("used"))
    assert model.rewarded + model.forfeited <= max(model.stamps // model.needed, used), model
    # 3. Used stays used (checked with the statuses above: the model never un-uses), and the coupon agrees.
    for rid in model.of("used"):
        assert seen[rid]["coupon"]["status"] != "cancelled" and seen[rid]["coupon"]["uses"] == 1, seen[rid]
    for rid in model.of("cancelled"):
        assert seen[rid]["coupon"]["status"] == "cancelled", seen[rid]
    # 4. Stock.
    if initial_stock is None:
        assert stock is None
    else:
        assert stock == model.stock >= 0, (stock, model)
        assert stock + len(live) == initial_stock
    # 5. Wallet.
    assert available == model.wallet, (available, model)
    for order in model.orders:
        assert 0 <= order.given_back <= order.paid, order
        if order.whole and not order.returned_under_none:
            assert order.given_back == order.paid, order
    # 1 again: the current card holds the stamps not yet spent on a full card, rewarded or forfeited
    # (a full card still waiting for stock shows N or more).
    assert card["stamps"] == max(0, model.stamps - (model.rewarded + model.forfeited) * model.needed), (card, model)


@settings(deadline=None, suppress_health_check=list(HealthCheck))
# A card reward cancelled by hand is forfeited ("those stamps are spent"), yet the current card went on
# showing its stamps: 3 of 3 after the cancel, 4 of 3 after one more coffee.
@example(needed=3, stock=None, fund=0, steps=[("buy", 3, 0, 0), ("cancel", 1), ("buy", 1, 0, 0)])
@given(
    needed=st.integers(1, 4),
    stock=st.none() | st.integers(0, 4),
    fund=st.integers(0, 20),
    steps=steps_st,
)
def test_stamp_cards_count_each_kept_stamp_and_each_full_card_once(  # type: ignore[no-untyped-def]
    factory, needed, stock, fund, steps
) -> None:
    clock = FrozenClock(START)
    tenant = make_tenant(factory, clock.now())
    app = _apps.get(id(factory))
    if app is None:
        app = _apps[id(factory)] = create_app(factory=factory, clock=clock)
    app.state.clock = clock
    with TestClient(app, raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"Bearer {tenant.admin_key}"
        member_id = client.post("/v1/members", json={"external_id": "m-1"}).json()["id"]
        reward = client.post("/v1/rewards", json={"key": "free-latte", "name_en": "Free latte", "name_ar": "لاتيه مجاني", "points": 0,
                                                  "gives": FREE_LATTE, "stock": stock})
        assert reward.status_code == 201, reward.text
        reward_id = reward.json()["id"]
        card = client.post("/v1/stamp-cards", json={"key": "coffee", "name_en": "Coffee", "name_ar": "قهوة", "stamps_needed": needed,
                                                    "reward_id": reward_id})
        assert card.status_code == 201, card.text
        card_id = card.json()["id"]
        for rule in (
            {"name_en": "Coffee stamps", "name_ar": "أختام", "trigger": "purchase", "status": "active",
             "actions": [{"type": "stamps", "card": "coffee", "per_item": True, "match": {"categories": ["coffee"]}}]},
            {"name_en": "Cashback", "name_ar": "استرداد", "trigger": "purchase", "status": "active",
             "conditions": [{"type": "store", "any_of": ["FUND"]}], "actions": [{"type": "cashback", "percent": "10"}]},
        ):
            made = client.post("/v1/rules", json=rule)
            assert made.status_code == 201, made.text
        model = Model(needed=needed, stock=stock)
        if fund:
            steps = [("fund", fund), *steps]

        for n, step in enumerate(steps):
            clock.advance(timedelta(minutes=1))
            kind = step[0]
            note = kind
            if kind == "buy":
                lines = {sku: qty for sku, qty in zip(("LATTE", "MOCHA", "CAKE"), step[1:], strict=False) if qty}
                if not lines:
                    lines = {"CAKE": 1}
                order = Order(f"O-{n}", lines, stamped=model.active and any(sku in COFFEES for sku in lines))
                basket = [{"sku": sku, "category": CATEGORY[sku], "quantity": qty, "unit_price": major(PRICES[sku])}
                          for sku, qty in lines.items()]
                bought = client.post("/v1/events", json={"type": "purchase", "member": {"id": member_id}, "order_id": order.order_id,
                                                         "amount": major(order.amount), "currency": "SAR", "items": basket})
                assert bought.status_code == 201, bought.text
                model.orders.append(order)
                # Each full card not yet rewarded (nor forfeited) issues one reward now, while the stock lasts.
                new = 0
                if order.stamped:
                    while model.rewarded + model.forfeited + new < model.stamps // needed and (
                        model.stock is None or model.stock > new
                    ):
                        new += 1
                seen = _grants(client, member_id)
                fresh = sorted(set(seen) - set(model.grants))
                assert len(fresh) == new, (f"{order.order_id} {lines}: {len(fresh)} card rewards issued, expected {new}", model)
                for rid in fresh:
                    assert seen[rid]["status"] == "issued"
                    model.grants[rid] = "issued"
                    model.codes[rid] = seen[rid]["coupon"]["code"]
                model.rewarded += new
                if model.stock is not None:
                    model.stock -= new
                note = f"buy ({'stamped' if order.stamped else 'not stamped'}, {new} rewards)"
            elif kind in ("part", "full"):
                # A partial return picks an order with something left; a whole one may also pick an
                # order already back, to see it refused.
                candidates = [o for o in model.orders if kind == "full" or not o.whole]
                if not candidates:
                    continue
                order = candidates[step[1] % len(candidates)]
                if order.whole:
                    again = client.post("/v1/events", json={"type": "return", "order_id": order.order_id})
                    assert again.status_code == 422, again.text
                    note = f"{kind}: nothing left"
                else:
                    items: dict[str, int] = {}
                    if kind == "part":
                        for sku, choice in zip(sorted(order.lines), step[2], strict=False):
                            qty = choice % (order.left(sku) + 1)
                            if qty:
                                items[sku] = qty
                        if not items:
                            sku = next(s for s in sorted(order.lines) if order.left(s))
                            items[sku] = 1
                    _return(client, model, member_id, order, items)
                    note = f"{kind} return ({'whole' if order.whole else 'partial'}, {'stamped' if order.stamped else 'not stamped'})"
            elif kind == "toggle":
                model.active = not model.active
                changed = client.patch(f"/v1/stamp-cards/{card_id}", json={"status": "active" if model.active else "paused"})
                assert changed.status_code == 200, changed.text
            elif kind == "cancel":
                rid = _pick_grant(model, step[1])
                if rid is None:
                    continue
                answer = client.post(f"/v1/reward-redemptions/{rid}/cancel")
                if model.grants[rid] == "issued":
                    assert answer.status_code == 200, answer.text
                    model.grants[rid] = "cancelled"
                    model.by_hand.add(rid)
                    model.rewarded -= 1
                    model.forfeited += 1
                    if model.stock is not None:
                        model.stock += 1
                    note = "cancel by hand"
                else:
                    assert answer.status_code == 409, answer.text
                    note = f"cancel refused ({model.grants[rid]})"
            elif kind == "use":
                rid = _pick_grant(model, step[1])
                if rid is None:
                    continue
                answer = client.post(f"/v1/coupons/{model.codes[rid]}:redeem", json=TILL)
                if model.grants[rid] == "issued":
                    assert answer.status_code == 201, answer.text
                    model.grants[rid] = "used"
                    note = "use at the till"
                else:
                    assert 400 <= answer.status_code < 500, answer.text
                    note = f"use refused ({model.grants[rid]})"
            elif kind == "pay":
                # Any order not wholly back (a payment after a partial return shares in the next returns).
                candidates = [o for o in model.orders if not o.whole]
                if not candidates or model.wallet <= 0:
                    continue
                order = candidates[step[1] % len(candidates)]
                amount = max(1, min(model.wallet, order.amount) * step[2] // 100)
                paid = client.post(f"/v1/members/{member_id}/wallet/debits",
                                   json={"amount": major(amount), "currency": "SAR", "reason": "till", "order_id": order.order_id})
                assert paid.status_code == 201, paid.text
                order.payments.append(Payment(amount))
                model.wallet -= amount
            elif kind == "fund":
                funded = client.post("/v1/events", json={"type": "purchase", "member": {"id": member_id}, "order_id": f"F-{n}",
                                                         "amount": f"{step[1] * 10}.00", "currency": "SAR", "store": "FUND"})
                assert funded.status_code == 201, funded.text
                model.wallet += step[1] * 100  # 10% of step * 10.00 SAR
            elif kind == "policy":
                changed = client.patch("/v1/program", json={"return_restores": step[1]})
                assert changed.status_code == 200, changed.text
                model.policy = step[1]
            event(note)
            _check(client, factory, tenant_id=tenant.id, member_id=member_id, card_id=card_id, reward_id=reward_id, model=model,
                   initial_stock=stock)
