"""Property (hypothesis, both databases): whatever a member earns, redeems, cancels and returns, in
any order, no point is made or lost.

After every step: the member's available + pending + held points are what the entries credited,
less what they debited, plus what cancels refunded (and agree with a model kept beside the test);
each program account's postings add up to what the model says went through it; every unit's
postings sum to zero; a cancelled redemption's points come back exactly once and a live one's
never; a redemption never takes the balance below zero; the counted stock and the wallet agree
with the live redemptions; and `ledger verify` finds nothing wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.conftest import START, make_member, make_tenant
from wafa.db import unit_of_work
from wafa.errors import Conflict, InsufficientPoints, InvalidInput, MemberInDebt, OutOfStock, RewardLocked
from wafa.events import returns as return_events
from wafa.events import service as events
from wafa.events.schemas import MemberRef, PurchaseIn, ReturnIn
from wafa.ledger import service as ledger
from wafa.ledger import wallet
from wafa.ledger.models import Account, Entry, Posting
from wafa.ledger.verify import verify
from wafa.programs import service as programs
from wafa.rewards import catalog, redemptions
from wafa.rewards.models import Reward, RewardRedemption
from wafa.rewards.schemas import RedemptionIn, RewardIn

FIXED_COST = 150
FIXED_STOCK = 3
CASHBACK_MIN = 10

# What a step may be refused for, by design: too few points, in debt, out of stock, already
# cancelled, nothing left to return. Anything else is a failure.
REFUSED = (RewardLocked, OutOfStock, InsufficientPoints, MemberInDebt, Conflict, InvalidInput)

buy_st = st.tuples(st.just("buy"), st.integers(100, 60_000))  # halalas: 1.00 to 600.00 SAR, 1 point a riyal
adjust_st = st.tuples(st.just("adjust"), st.integers(1, 400))
redeem_st = st.tuples(st.just("redeem"), st.just(0))
cashback_st = st.tuples(st.just("cashback"), st.integers(CASHBACK_MIN, 400))
cancel_st = st.tuples(st.just("cancel"), st.integers(0, 20))
return_st = st.tuples(st.just("return"), st.integers(0, 20), st.none() | st.integers(1, 60_000))
# Spending, cancelling and returning weigh double: they are where points could leak.
steps_st = st.lists(
    st.one_of(buy_st, adjust_st, redeem_st, redeem_st, cashback_st, cancel_st, cancel_st, return_st, return_st),
    min_size=1,
    max_size=12,
)


@dataclass
class Model:
    """What the test believes happened, from the services' answers alone."""

    earned: int = 0  # purchase points credited
    adjusted: int = 0
    spent: int = 0  # redemption points debited
    refunded: int = 0  # cancelled redemptions' points given back
    clawed: int = 0  # points returns took back
    orders: list[tuple[str, int]] = field(default_factory=list)  # (order id, amount)
    redeemed: dict[int, tuple[str, int, int]] = field(default_factory=dict)  # id -> (kind, points, wallet money)
    cancelled: set[int] = field(default_factory=set)

    @property
    def balance(self) -> int:
        return self.earned + self.adjusted - self.spent + self.refunded - self.clawed


def _available(session: Session, tenant_id: int, member_id: int) -> int:
    return ledger.balances(session, tenant_id=tenant_id, member_id=member_id)["available"]


def _check(session: Session, *, tenant_id: int, member_id: int, fixed_id: int, model: Model) -> None:
    points = ledger.balances(session, tenant_id=tenant_id, member_id=member_id)
    held = points["available"] + points["pending"] + points["held"]

    # The member's points, as the entries tell it.
    by_kind = dict(session.execute(
        select(Entry.kind, func.coalesce(func.sum(Entry.points), 0))
        .where(Entry.tenant_id == tenant_id, Entry.member_id == member_id).group_by(Entry.kind)
    ).all())
    credited = session.execute(
        select(func.coalesce(func.sum(Entry.points), 0))
        .where(Entry.tenant_id == tenant_id, Entry.member_id == member_id, Entry.points > 0, Entry.kind.in_(["earn", "adjust"]))
    ).scalar_one()
    debited = -session.execute(
        select(func.coalesce(func.sum(Entry.points), 0))
        .where(Entry.tenant_id == tenant_id, Entry.member_id == member_id, Entry.points < 0)
    ).scalar_one()
    refunded = session.execute(
        select(func.coalesce(func.sum(Entry.points), 0))
        .where(Entry.tenant_id == tenant_id, Entry.member_id == member_id, Entry.points > 0, Entry.kind == "reverse")
    ).scalar_one()
    assert held == credited - debited + refunded == sum(by_kind.values()), (points, by_kind)
    assert held == model.balance, (points, model)
    assert refunded == model.refunded

    # Each program account's postings: what went through it, by the model.
    program = dict(session.execute(
        select(Account.kind, func.coalesce(func.sum(Posting.amount), 0))
        .join(Posting, Posting.account_id == Account.id, isouter=True)
        .where(Account.tenant_id == tenant_id, Account.owner == "program", Account.unit == "PTS").group_by(Account.kind)
    ).all())
    assert program == {
        "issued": -(model.earned - model.clawed),
        "adjustments": -model.adjusted,
        "redeemed": model.spent - model.refunded,
        "expired": 0,
    }, (program, model)

    # Every unit's postings sum to zero: points and wallet money alike.
    for unit, total in session.execute(
        select(Posting.unit, func.sum(Posting.amount)).where(Posting.tenant_id == tenant_id).group_by(Posting.unit)
    ):
        assert total == 0, f"{unit} postings sum to {total}"

    # A cancelled redemption's points came back once; a live one's never.
    rows = session.execute(
        select(RewardRedemption.id, RewardRedemption.status, RewardRedemption.points, RewardRedemption.refund_entry_id)
        .where(RewardRedemption.tenant_id == tenant_id)
    ).all()
    assert {row.id for row in rows} == set(model.redeemed)
    assert {row.id for row in rows if row.status == "cancelled"} == model.cancelled
    for row in rows:
        refunds = session.execute(
            select(Entry.id, Entry.points).where(
                Entry.tenant_id == tenant_id, Entry.idempotency_key.like(f"reward-refund:{row.id}"),
            )
        ).all()
        if row.status == "cancelled":
            assert [(row.refund_entry_id, row.points)] == [tuple(r) for r in refunds], (row, refunds)
        else:
            assert refunds == [] and row.refund_entry_id is None

    # The stock and the wallet follow the live redemptions.
    live = [rid for rid in model.redeemed if rid not in model.cancelled]
    stock = session.execute(select(Reward.stock_left).where(Reward.id == fixed_id)).scalar_one()
    assert stock == FIXED_STOCK - sum(1 for rid in live if model.redeemed[rid][0] == "fixed")
    money = sum(model.redeemed[rid][2] for rid in live)
    assert wallet.balances(session, tenant_id=tenant_id, member_id=member_id).get("SAR", {"available": 0})["available"] == money

    report = verify(session, tenant_id=tenant_id)
    assert report.ok, report.problems


@settings(deadline=None, suppress_health_check=list(HealthCheck))
@given(pending=st.booleans(), opening=st.integers(0, 1_000), steps=steps_st)
def test_points_are_conserved_through_earning_redeeming_cancelling_and_returning(  # type: ignore[no-untyped-def]
    factory, pending, opening, steps
) -> None:
    now = START
    tenant = make_tenant(factory, now, pending_days=14 if pending else 0)
    member_id = make_member(factory, tenant.id, now)
    with unit_of_work(factory) as session:
        program = programs.get(session, tenant_id=tenant.id)

        def reward(key: str, **fields: object) -> int:
            reward_in = RewardIn.model_validate({"key": key, "name_en": key, "name_ar": "مكافأة", **fields})
            return catalog.create(session, tenant_id=tenant.id, reward_in=reward_in, program=program, now=now).id

        fixed_id = reward(
            "coffee", points=FIXED_COST, stock=FIXED_STOCK,
            gives={"type": "coupon", "discount": {"type": "fixed", "amount": "15.00"}},
        )
        cashback_id = reward("to-wallet", points=CASHBACK_MIN, gives={"type": "cashback", "rate": "0.01"})
    model = Model()
    # Something to spend from the start: points given by hand are available at once, even when
    # purchases wait out a return window.
    if opening:
        steps = [("adjust", opening), *steps]

    for n, step in enumerate(steps):
        now = START + timedelta(minutes=n + 1)
        kind = step[0]
        try:
            with unit_of_work(factory) as session:
                before = _available(session, tenant.id, member_id)
                if kind == "buy":
                    order_id = f"O-{n}"
                    result, _ = events.record_purchase(
                        session, tenant_id=tenant.id, request_hash=order_id, now=now,
                        event_in=PurchaseIn(
                            type="purchase", member=MemberRef(id=member_id), order_id=order_id,
                            amount=f"{step[1] / 100:.2f}", currency="SAR",
                        ),
                    )
                    assert result.total_points == step[1] // 100
                    model.earned += result.total_points
                    model.orders.append((order_id, step[1]))
                elif kind == "adjust":
                    ledger.adjust(
                        session, tenant_id=tenant.id, member_id=member_id, points=step[1], reason="goodwill",
                        idempotency_key=f"adjust-{n}", now=now, expires_at=None,
                    )
                    model.adjusted += step[1]
                elif kind in ("redeem", "cashback"):
                    redemption_in = (
                        RedemptionIn(reward_id=fixed_id) if kind == "redeem" else RedemptionIn(reward_id=cashback_id, points=step[1])
                    )
                    cost = FIXED_COST if kind == "redeem" else step[1]
                    try:
                        redemption, replayed = redemptions.redeem(
                            session, tenant_id=tenant.id, member_id=member_id, redemption_in=redemption_in, key=f"k-{n}", now=now,
                        )
                    except REFUSED:
                        # Refused only for a reason: too few points, debt, or (fixed) no stock left.
                        live_fixed = sum(
                            1 for rid, (k, _, _) in model.redeemed.items() if k == "fixed" and rid not in model.cancelled
                        )
                        assert before < cost or (kind == "redeem" and live_fixed >= FIXED_STOCK)
                        raise
                    after = _available(session, tenant.id, member_id)
                    assert not replayed
                    assert redemption.points == cost
                    assert after == before - cost >= 0  # a redemption never overdraws
                    model.spent += cost
                    model.redeemed[redemption.id] = ("fixed" if kind == "redeem" else "cashback", cost, redemption.wallet_amount)
                    if kind == "cashback":
                        assert redemption.wallet_amount == cost  # 0.01 SAR a point: one halala each
                elif kind == "cancel":
                    if not model.redeemed:
                        continue
                    ids = sorted(model.redeemed)
                    redemption_id = ids[step[1] % len(ids)]
                    try:
                        redemptions.cancel(session, tenant_id=tenant.id, redemption_id=redemption_id, now=now)
                    except Conflict:
                        assert redemption_id in model.cancelled  # nothing else stops a cancel here
                        raise
                    assert redemption_id not in model.cancelled
                    assert _available(session, tenant.id, member_id) == before + model.redeemed[redemption_id][1]
                    model.cancelled.add(redemption_id)
                    model.refunded += model.redeemed[redemption_id][1]
                elif kind == "return":
                    if not model.orders:
                        continue
                    order_id, _ = model.orders[step[1] % len(model.orders)]
                    amount = step[2]
                    event_in = ReturnIn(
                        type="return", order_id=order_id, amount=None if amount is None else f"{amount / 100:.2f}",
                    )
                    result = return_events.record_return(session, tenant_id=tenant.id, event_in=event_in, now=now)
                    assert result.reversal is not None
                    model.clawed += result.reversal.total_points
        except REFUSED as exc:
            event(f"{kind} refused: {type(exc).__name__}")
        else:
            event(f"{kind} done")
        with factory() as session:
            _check(session, tenant_id=tenant.id, member_id=member_id, fixed_id=fixed_id, model=model)
