"""Races on rewards, on PostgreSQL, with real threads and real connections.

Each thread runs its own transaction (`unit_of_work`) on its own pooled connection, released
together by a barrier. What must hold whatever the interleaving: a counted stock is never
oversold, a single-use coupon is used once (a retried use replays it), each partner code goes to
one member, a member's limit per period holds against their own parallel redemptions, and a
cancelled redemption gives its points, money and stock back exactly once.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import START, factory_for, make_member, make_tenant
from tests.integration.test_concurrency import outcomes, race
from wafa.db import unit_of_work
from wafa.errors import Conflict, CouponNotUsable, CouponUsed, OutOfStock, RewardLocked
from wafa.ledger import service as ledger
from wafa.ledger import wallet
from wafa.ledger.models import Account, Entry, Posting
from wafa.ledger.verify import verify
from wafa.programs import service as programs
from wafa.rewards import catalog, codes, coupons, redemptions, vouchers
from wafa.rewards.discounts import Discount
from wafa.rewards.models import Coupon, CouponUse, OrderPayment, Reward, RewardRedemption, Voucher
from wafa.rewards.schemas import RedemptionIn, RewardIn

Factory = sessionmaker[Session]
pytestmark = pytest.mark.postgres_only

NOW = START
COUPON_GIVES = {"type": "coupon", "discount": {"type": "fixed", "amount": "10.00"}}


@pytest.fixture
def pg(pg_url: str) -> Factory:
    return factory_for(pg_url)


# --- helpers ------------------------------------------------------------------------------------


def add_reward(factory: Factory, tenant_id: int, **fields: Any) -> int:
    reward_in = RewardIn.model_validate({"key": f"r-{uuid.uuid4().hex[:8]}", "name_en": "Reward", "name_ar": "مكافأة", **fields})
    with unit_of_work(factory) as session:
        program = programs.get(session, tenant_id=tenant_id)
        return catalog.create(session, tenant_id=tenant_id, reward_in=reward_in, program=program, now=NOW).id


def give_points(factory: Factory, tenant_id: int, member_id: int, points: int) -> None:
    with unit_of_work(factory) as session:
        ledger.adjust(
            session, tenant_id=tenant_id, member_id=member_id, points=points, reason="welcome points",
            idempotency_key=f"grant-{uuid.uuid4().hex}", now=NOW, expires_at=None,
        )


def members_with_points(factory: Factory, tenant_id: int, count: int, points: int) -> list[int]:
    ids = [make_member(factory, tenant_id, NOW) for _ in range(count)]
    for member_id in ids:
        give_points(factory, tenant_id, member_id, points)
    return ids


def redeem(
    factory: Factory, tenant_id: int, member_id: int, reward_id: int, key: str, now: datetime = NOW, points: int | None = None
) -> RewardRedemption:
    with unit_of_work(factory) as session:
        redemption, _ = redemptions.redeem(
            session, tenant_id=tenant_id, member_id=member_id, redemption_in=RedemptionIn(reward_id=reward_id, points=points),
            key=key, now=now,
        )
        return redemption


def redeem_replayed(factory: Factory, tenant_id: int, member_id: int, reward_id: int, key: str) -> tuple[int, bool]:
    with unit_of_work(factory) as session:
        redemption, replayed = redemptions.redeem(
            session, tenant_id=tenant_id, member_id=member_id, redemption_in=RedemptionIn(reward_id=reward_id), key=key, now=NOW,
        )
        return redemption.id, replayed


def cancel(factory: Factory, tenant_id: int, redemption_id: int) -> RewardRedemption:
    with unit_of_work(factory) as session:
        return redemptions.cancel(session, tenant_id=tenant_id, redemption_id=redemption_id, now=NOW, reason="changed mind")


def use_coupon(
    factory: Factory, tenant_id: int, code: str, key: str, order_id: str | None, request_hash: str = "same basket"
) -> tuple[int, bool]:
    basket = coupons.Basket(amount=20_000, currency="SAR", lines=(), member_id=None)
    with unit_of_work(factory) as session:
        used = coupons.redeem(
            session, tenant_id=tenant_id, code=code, basket=basket, order_id=order_id, key=key, request_hash=request_hash, now=NOW,
        )
        return used.use.id, used.replayed


def issue_coupon(factory: Factory, tenant_id: int, max_uses: int = 1) -> str:
    with unit_of_work(factory) as session:
        return coupons.issue(
            session, tenant_id=tenant_id, discount=Discount(type="fixed", currency="SAR", amount=1_500), max_uses=max_uses,
            valid_days=30, now=NOW, member_id=None, redemption_id=None,
        ).code


def available(factory: Factory, tenant_id: int, member_id: int) -> int:
    with factory() as session:
        return ledger.balances(session, tenant_id=tenant_id, member_id=member_id)["available"]


def stock_left(factory: Factory, reward_id: int) -> int | None:
    with factory() as session:
        return session.execute(select(Reward.stock_left).where(Reward.id == reward_id)).scalar_one()


def program_total(factory: Factory, tenant_id: int, kind: str) -> int:
    """What a program account's postings add up to (program balances are derived, never cached)."""
    with factory() as session:
        return int(session.execute(
            select(func.coalesce(func.sum(Posting.amount), 0))
            .join(Account, Account.id == Posting.account_id)
            .where(Account.tenant_id == tenant_id, Account.owner == "program", Account.kind == kind, Account.unit == "PTS")
        ).scalar_one())


def is_out_of_stock(result: object) -> bool:
    """The race's gate (OutOfStock) or the eligibility check that ran after the last one went (a
    `stock` lock): either way the member is told the reward is out of stock, and nothing else."""
    if isinstance(result, OutOfStock):
        return True
    return isinstance(result, RewardLocked) and {lock["code"] for lock in result.extra["locked"]} == {"stock"}


def assert_intact(factory: Factory, tenant_id: int) -> None:
    with factory() as session:
        report = verify(session, tenant_id=tenant_id)
        overdrawn = session.execute(
            select(func.count()).where(Account.tenant_id == tenant_id, Account.member_id.is_not(None), Account.balance < 0)
        ).scalar_one()
    assert report.ok, report.problems
    assert overdrawn == 0


def no_unexpected(results: list[Any], *allowed: type[Exception]) -> None:
    unexpected = [r for r in results if isinstance(r, Exception) and not isinstance(r, allowed)]
    assert not unexpected, unexpected


# --- (a) a counted stock is never oversold ------------------------------------------------------


def test_twenty_members_racing_for_a_stock_of_five_get_exactly_five(pg: Factory) -> None:
    tenant = make_tenant(pg, NOW)
    reward_id = add_reward(pg, tenant.id, points=100, stock=5, gives=COUPON_GIVES)
    member_ids = members_with_points(pg, tenant.id, 20, 1_000)

    results = race(20, lambda i: redeem(pg, tenant.id, member_ids[i], reward_id, key=f"stock-{i}"))

    no_unexpected(results, OutOfStock, RewardLocked)
    winners = [member_ids[i] for i, r in enumerate(results) if not isinstance(r, Exception)]
    assert len(winners) == 5
    assert all(is_out_of_stock(r) for r in results if isinstance(r, Exception)), [r for r in results if isinstance(r, Exception)]
    assert stock_left(pg, reward_id) == 0
    # Points left only the five winners, 100 each.
    for member_id in member_ids:
        assert available(pg, tenant.id, member_id) == (900 if member_id in winners else 1_000)
    assert program_total(pg, tenant.id, "redeemed") == 500
    with pg() as session:
        issued = session.execute(select(func.count()).where(RewardRedemption.reward_id == reward_id)).scalar_one()
        coupons_made = session.execute(
            select(func.count()).where(Coupon.tenant_id == tenant.id, Coupon.redemption_id.is_not(None))
        ).scalar_one()
    assert issued == coupons_made == 5
    assert_intact(pg, tenant.id)


def test_redemptions_racing_cancels_never_oversell_nor_lose_stock(pg: Factory) -> None:
    tenant = make_tenant(pg, NOW)
    reward_id = add_reward(pg, tenant.id, points=100, stock=5, gives={"type": "privilege", "valid_days": 7})
    first = members_with_points(pg, tenant.id, 5, 100)
    first_ids = [redeem(pg, tenant.id, m, reward_id, key=f"first-{m}").id for m in first]
    assert stock_left(pg, reward_id) == 0
    later = members_with_points(pg, tenant.id, 12, 100)

    def work(i: int) -> object:
        if i < 5:
            return cancel(pg, tenant.id, first_ids[i])
        return redeem(pg, tenant.id, later[i - 5], reward_id, key=f"later-{i}")

    results = race(17, work)

    no_unexpected(results, OutOfStock, RewardLocked)
    assert all(not isinstance(r, Exception) for r in results[:5])  # every cancel went through
    assert all(is_out_of_stock(r) for r in results[5:] if isinstance(r, Exception))
    with pg() as session:
        live = session.execute(
            select(func.count()).where(RewardRedemption.reward_id == reward_id, RewardRedemption.status != "cancelled")
        ).scalar_one()
    left = stock_left(pg, reward_id)
    assert left is not None and left >= 0
    assert live + left == 5  # nothing oversold, nothing lost
    assert live <= 5
    assert_intact(pg, tenant.id)


# --- (b) a single-use coupon is used once ------------------------------------------------------


def test_eight_tills_redeeming_one_single_use_coupon_use_it_once(pg: Factory) -> None:
    tenant = make_tenant(pg, NOW)
    code = issue_coupon(pg, tenant.id)
    # Tills type the code in all the ways people do.
    typed = [code, code.lower(), codes.grouped(code), codes.grouped(code).lower()]

    results = race(8, lambda i: use_coupon(pg, tenant.id, typed[i % 4], key=f"till-{i}", order_id=f"order-{i}"))

    assert outcomes(results) == {"ok": 1, "CouponUsed": 7}
    with pg() as session:
        coupon = session.execute(select(Coupon).where(Coupon.tenant_id == tenant.id, Coupon.code == code)).scalar_one()
        uses = session.execute(select(CouponUse).where(CouponUse.coupon_id == coupon.id)).scalars().all()
        payments = session.execute(select(func.count()).where(OrderPayment.tenant_id == tenant.id)).scalar_one()
    assert coupon.uses == 1
    assert len(uses) == 1 and uses[0].discount == 1_500
    assert payments == 1
    winner = next(r for r in results if not isinstance(r, Exception))
    assert winner == (uses[0].id, False)


def test_two_tills_redeeming_one_single_use_coupon_use_it_once(pg: Factory) -> None:
    tenant = make_tenant(pg, NOW)
    for round_ in range(10):
        code = issue_coupon(pg, tenant.id)
        # race() has run the lambda before the loop moves on.
        results = race(2, lambda i: use_coupon(pg, tenant.id, code, key=f"till-{round_}-{i}", order_id=f"order-{round_}-{i}"))  # noqa: B023
        assert outcomes(results) == {"ok": 1, "CouponUsed": 1}, results
        with pg() as session:
            coupon = session.execute(select(Coupon).where(Coupon.tenant_id == tenant.id, Coupon.code == code)).scalar_one()
            assert coupon.uses == 1
            assert session.execute(select(func.count()).where(CouponUse.coupon_id == coupon.id)).scalar_one() == 1


def test_the_same_use_retried_from_eight_threads_is_one_use_replayed(pg: Factory) -> None:
    tenant = make_tenant(pg, NOW)
    code = issue_coupon(pg, tenant.id)

    results = race(8, lambda i: use_coupon(pg, tenant.id, code, key="till-1:sale-77", order_id="order-77"))

    no_unexpected(results)
    use_ids = {use_id for use_id, _ in results}
    assert len(use_ids) == 1
    assert sorted(replayed for _, replayed in results) == [False] + [True] * 7
    with pg() as session:
        coupon = session.execute(select(Coupon).where(Coupon.tenant_id == tenant.id, Coupon.code == code)).scalar_one()
        assert coupon.uses == 1
        assert session.execute(select(func.count()).where(CouponUse.coupon_id == coupon.id)).scalar_one() == 1
        assert session.execute(select(func.count()).where(OrderPayment.tenant_id == tenant.id)).scalar_one() == 1


def test_a_three_use_coupon_raced_by_ten_tills_is_used_three_times(pg: Factory) -> None:
    tenant = make_tenant(pg, NOW)
    code = issue_coupon(pg, tenant.id, max_uses=3)

    results = race(10, lambda i: use_coupon(pg, tenant.id, code, key=f"till-{i}", order_id=f"order-{i}"))

    assert outcomes(results) == {"ok": 3, "CouponUsed": 7}
    with pg() as session:
        coupon = session.execute(select(Coupon).where(Coupon.tenant_id == tenant.id, Coupon.code == code)).scalar_one()
        assert coupon.uses == 3
        assert session.execute(select(func.count()).where(CouponUse.coupon_id == coupon.id)).scalar_one() == 3


# --- (c) each partner code goes to one member ---------------------------------------------------


def test_thirty_members_racing_for_ten_voucher_codes_get_ten_distinct_codes(pg: Factory) -> None:
    tenant = make_tenant(pg, NOW)
    reward_id = add_reward(pg, tenant.id, points=200, gives={"type": "voucher", "partner": "Cinema"})
    partner_codes = [f"CINEMA-{n:03d}" for n in range(10)]
    with unit_of_work(pg) as session:
        reward = catalog.get_or_raise(session, tenant_id=tenant.id, reward_id=reward_id)
        assert vouchers.import_codes(session, reward=reward, codes=partner_codes, now=NOW) == (10, 0)
    member_ids = members_with_points(pg, tenant.id, 30, 500)

    results = race(30, lambda i: redeem(pg, tenant.id, member_ids[i], reward_id, key=f"voucher-{i}"))

    no_unexpected(results, OutOfStock, RewardLocked)
    assert all(is_out_of_stock(r) for r in results if isinstance(r, Exception))
    won = {member_ids[i]: r for i, r in enumerate(results) if not isinstance(r, Exception)}
    handed = [r.voucher_code for r in won.values()]
    assert len(handed) == 10
    assert sorted(handed) == partner_codes  # every code once, none twice, none missing
    with pg() as session:
        rows = session.execute(select(Voucher.code, Voucher.status, Voucher.redemption_id).where(Voucher.reward_id == reward_id)).all()
    assert {status for _, status, _ in rows} == {"issued"}
    assert {code: redemption_id for code, _, redemption_id in rows} == {r.voucher_code: r.id for r in won.values()}
    for member_id in member_ids:
        assert available(pg, tenant.id, member_id) == (300 if member_id in won else 500)
    assert program_total(pg, tenant.id, "redeemed") == 2_000
    assert_intact(pg, tenant.id)


# --- (d) a member's limit holds against their own parallel redemptions ---------------------------


def test_one_member_firing_ten_redemptions_against_a_limit_of_two_a_month_gets_two(pg: Factory) -> None:
    tenant = make_tenant(pg, NOW)
    reward_id = add_reward(pg, tenant.id, points=100, limit={"count": 2, "period": "month"}, gives=COUPON_GIVES)
    [member_id] = members_with_points(pg, tenant.id, 1, 5_000)

    results = race(10, lambda i: redeem(pg, tenant.id, member_id, reward_id, key=f"limit-{i}"))

    no_unexpected(results, RewardLocked)
    assert outcomes(results) == {"ok": 2, "RewardLocked": 8}
    assert all({lock["code"] for lock in r.extra["locked"]} == {"limit"} for r in results if isinstance(r, RewardLocked))
    assert available(pg, tenant.id, member_id) == 4_800
    with pg() as session:
        assert session.execute(select(func.count()).where(RewardRedemption.reward_id == reward_id)).scalar_one() == 2
    assert_intact(pg, tenant.id)


def test_one_member_racing_for_the_last_points_never_overdraws(pg: Factory) -> None:
    tenant = make_tenant(pg, NOW)
    reward_id = add_reward(pg, tenant.id, points=300, gives={"type": "privilege"})
    [member_id] = members_with_points(pg, tenant.id, 1, 1_000)

    results = race(10, lambda i: redeem(pg, tenant.id, member_id, reward_id, key=f"spend-{i}"))

    no_unexpected(results, RewardLocked)
    assert outcomes(results) == {"ok": 3, "RewardLocked": 7}
    assert all({lock["code"] for lock in r.extra["locked"]} == {"points"} for r in results if isinstance(r, RewardLocked))
    assert available(pg, tenant.id, member_id) == 100
    assert_intact(pg, tenant.id)


def test_the_same_redemption_key_from_eight_threads_redeems_once(pg: Factory) -> None:
    tenant = make_tenant(pg, NOW)
    reward_id = add_reward(pg, tenant.id, points=100, stock=10, gives=COUPON_GIVES)
    [member_id] = members_with_points(pg, tenant.id, 1, 1_000)

    results = race(8, lambda i: redeem_replayed(pg, tenant.id, member_id, reward_id, key="app-tap-42"))

    no_unexpected(results)
    assert len({redemption_id for redemption_id, _ in results}) == 1
    assert sorted(replayed for _, replayed in results) == [False] + [True] * 7
    assert available(pg, tenant.id, member_id) == 900
    assert stock_left(pg, reward_id) == 9
    assert_intact(pg, tenant.id)


# --- (e) a cancel gives back exactly once --------------------------------------------------------


def refunds_of(factory: Factory, tenant_id: int, redemption_id: int) -> list[int]:
    with factory() as session:
        return list(session.execute(
            select(Entry.points).where(Entry.tenant_id == tenant_id, Entry.idempotency_key == f"reward-refund:{redemption_id}")
        ).scalars())


def test_eight_concurrent_cancels_of_one_redemption_refund_once(pg: Factory) -> None:
    tenant = make_tenant(pg, NOW)
    reward_id = add_reward(pg, tenant.id, points=250, stock=3, gives=COUPON_GIVES)
    [member_id] = members_with_points(pg, tenant.id, 1, 1_000)
    redemption = redeem(pg, tenant.id, member_id, reward_id, key="to-cancel")
    assert (available(pg, tenant.id, member_id), stock_left(pg, reward_id)) == (750, 2)

    results = race(8, lambda i: cancel(pg, tenant.id, redemption.id))

    assert outcomes(results) == {"ok": 1, "Conflict": 7}
    assert available(pg, tenant.id, member_id) == 1_000
    assert stock_left(pg, reward_id) == 3
    assert refunds_of(pg, tenant.id, redemption.id) == [250]
    assert program_total(pg, tenant.id, "redeemed") == 0
    with pg() as session:
        done = session.execute(select(RewardRedemption).where(RewardRedemption.id == redemption.id)).scalar_one()
        coupon = session.execute(select(Coupon).where(Coupon.id == done.coupon_id)).scalar_one()
    assert done.status == "cancelled" and done.refund_entry_id is not None
    assert coupon.status == "cancelled"
    assert_intact(pg, tenant.id)


def test_concurrent_cancels_of_a_cashback_take_the_money_back_once(pg: Factory) -> None:
    tenant = make_tenant(pg, NOW)
    reward_id = add_reward(pg, tenant.id, points=100, gives={"type": "cashback", "rate": "0.01"})
    [member_id] = members_with_points(pg, tenant.id, 1, 1_000)
    redemption = redeem(pg, tenant.id, member_id, reward_id, key="convert", points=500)
    assert redemption.wallet_amount == 500  # 500 points at 0.01 SAR = 5.00 SAR

    results = race(8, lambda i: cancel(pg, tenant.id, redemption.id))

    assert outcomes(results) == {"ok": 1, "Conflict": 7}
    assert available(pg, tenant.id, member_id) == 1_000
    assert refunds_of(pg, tenant.id, redemption.id) == [500]
    with pg() as session:
        assert wallet.balances(session, tenant_id=tenant.id, member_id=member_id) == {"SAR": {"available": 0, "pending": 0}}
        reversals = session.execute(
            select(func.count()).where(Entry.tenant_id == tenant.id, Entry.idempotency_key == f"reward-cashback-back:{redemption.id}")
        ).scalar_one()
    assert reversals == 1
    assert_intact(pg, tenant.id)


def test_a_member_converting_points_while_cancelling_an_earlier_conversion_gets_both(pg: Factory) -> None:
    # Both touch the member's points accounts and their wallet; neither may fail for the other.
    tenant = make_tenant(pg, NOW)
    reward_id = add_reward(pg, tenant.id, points=100, gives={"type": "cashback", "rate": "0.01"})
    [member_id] = members_with_points(pg, tenant.id, 1, 100 * 21)
    earlier = redeem(pg, tenant.id, member_id, reward_id, key="convert-0", points=100)
    for round_ in range(1, 21):
        def work(i: int, earlier_id: int = earlier.id, round_: int = round_) -> object:
            if i == 0:
                return cancel(pg, tenant.id, earlier_id)
            return redeem(pg, tenant.id, member_id, reward_id, key=f"convert-{round_}", points=100)

        cancelled, converted = race(2, work)
        no_unexpected([cancelled, converted])
        earlier = converted
    # Twenty cancels of twenty conversions, one conversion live: 100 points in the wallet.
    assert available(pg, tenant.id, member_id) == 2_000
    with pg() as session:
        assert wallet.balances(session, tenant_id=tenant.id, member_id=member_id) == {"SAR": {"available": 100, "pending": 0}}
    assert_intact(pg, tenant.id)


def test_a_cancel_racing_the_coupons_use_at_a_till_lets_exactly_one_win(pg: Factory) -> None:
    # The cancel locks the redemption then the coupon; the till locks the coupon and, using its last
    # use, marks the redemption used. Whichever goes first, the other must be refused cleanly
    # (never a deadlock, never a refund of a used coupon).
    tenant = make_tenant(pg, NOW)
    reward_id = add_reward(pg, tenant.id, points=100, gives=COUPON_GIVES)
    [member_id] = members_with_points(pg, tenant.id, 1, 100 * 20)
    tally: Counter[str] = Counter()
    for round_ in range(20):
        redemption = redeem(pg, tenant.id, member_id, reward_id, key=f"pair-{round_}")
        with pg() as session:
            code = session.execute(select(Coupon.code).where(Coupon.id == redemption.coupon_id)).scalar_one()

        def work(i: int, redemption_id: int = redemption.id, code: str = code, round_: int = round_) -> object:
            if i == 0:
                return cancel(pg, tenant.id, redemption_id)
            return use_coupon(pg, tenant.id, code, key=f"till-{round_}", order_id=f"order-{round_}")

        cancelled, used = race(2, work)
        no_unexpected([cancelled, used], Conflict, CouponNotUsable, CouponUsed)
        assert isinstance(cancelled, Exception) != isinstance(used, Exception), (cancelled, used)
        with pg() as session:
            state = session.execute(select(RewardRedemption.status).where(RewardRedemption.id == redemption.id)).scalar_one()
            uses = session.execute(select(Coupon.uses).where(Coupon.id == redemption.coupon_id)).scalar_one()
        if isinstance(used, Exception):
            assert (state, uses) == ("cancelled", 0)
            assert refunds_of(pg, tenant.id, redemption.id) == [100]
            tally["cancel won"] += 1
        else:
            assert (state, uses) == ("used", 1)
            assert refunds_of(pg, tenant.id, redemption.id) == []
            tally["till won"] += 1
    assert sum(tally.values()) == 20
    assert_intact(pg, tenant.id)
