"""A period's statements drafted from the money the ledger posted (coalition/settlement.py `partner_drafts`),
without a database: the partner's lines by what moved its money, the operator's by account, what was spent
at the partner shown at full value beside the commission withheld, what came before the period on a line
of its own, and both sides summing to exactly zero in every currency."""

from __future__ import annotations

from collections import defaultdict

from hypothesis import given
from hypothesis import strategies as st

from wafa.coalition import terms
from wafa.coalition.settlement import ORDER, Draft, partner_drafts, points_of
from wafa.ledger.money import BREAKAGE, COMMISSION, FUND, PARTNER_KIND

Row = tuple[str, str, str, int]


def lines(draft: Draft) -> dict[str, int]:
    return {code: amount for code, (amount, _points) in draft.lines.items()}


def earn(points: int, *, price: str = "0.05", fee: str = "0.1", currency: str = "SAR", kind: str = "earn") -> list[Row]:
    cost = terms.issued(points, price=price, fee_rate=fee, precision=2)
    return [(kind, PARTNER_KIND, currency, -cost.gross), (kind, FUND, currency, cost.to_fund), (kind, COMMISSION, currency, cost.commission)]


def redeem(points: int, *, value: str = "0.04", fee: str = "0.05", currency: str = "SAR", kind: str = "redeem") -> list[Row]:
    worth = terms.redeemed(points, value=value, fee_rate=fee, precision=2)
    return [(kind, PARTNER_KIND, currency, worth.to_partner), (kind, FUND, currency, -worth.gross), (kind, COMMISSION, currency, worth.commission)]


def test_a_month_of_earning_and_spending_at_one_partner() -> None:
    # 2,000 points issued (100.00, 10.00 of it commission), 1,500 redeemed (60.00 worth, 3.00 withheld).
    partner, operator = partner_drafts([*earn(2000), *redeem(1500)])
    assert lines(partner["SAR"]) == {"issued": -100_00, "redeemed": 60_00, "redeem_commission": -3_00}
    assert partner["SAR"].net == -100_00 + 57_00
    assert lines(operator["SAR"]) == {"fund": 90_00 - 60_00, "commission": 10_00 + 3_00}
    assert partner["SAR"].net + operator["SAR"].net == 0


def test_a_capture_shows_like_a_redemption_and_an_earns_commission_stays_the_operators() -> None:
    partner, _ = partner_drafts([*earn(100), *redeem(100, kind="capture")])
    assert lines(partner["SAR"]) == {"issued": -5_00, "redeemed": 4_00, "redeem_commission": -20}
    assert partner["SAR"].net == -5_00 + 3_80


def test_wallet_money_spent_at_a_partner_is_paid_to_it_less_commission() -> None:
    spent = terms.spent(10_00, fee_rate="0.05")
    rows = [("redeem", "wallet_spent", "SAR", -10_00), ("redeem", PARTNER_KIND, "SAR", spent.to_partner),
            ("redeem", COMMISSION, "SAR", spent.commission)]
    partner, operator = partner_drafts(rows)
    assert lines(partner["SAR"]) == {"redeemed": 10_00, "redeem_commission": -50}
    assert lines(operator["SAR"]) == {"wallet_spent": -10_00, "commission": 50}
    assert partner["SAR"].net == 9_50 == -operator["SAR"].net


def test_returns_breakage_cashback_and_exchanges_have_lines_of_their_own() -> None:
    rows = [
        *earn(1000, kind="convert"),                                                    # an exchange of own points
        ("reverse", PARTNER_KIND, "SAR", 1_00), ("reverse", FUND, "SAR", -90), ("reverse", COMMISSION, "SAR", -10),
        ("expire", FUND, "SAR", -45), ("expire", PARTNER_KIND, "SAR", 45),              # breakage given back (policy "partners")
        ("expire", FUND, "SAR", -30), ("expire", BREAKAGE, "SAR", 30),                  # breakage kept (policy "operator")
        ("cashback", "cashback", "SAR", 2_00), ("cashback", PARTNER_KIND, "SAR", -2_00),
        ("cashback", "cashback", "SAR", -2_00), ("cashback", "wallet_pending", "SAR", 2_00),
        ("mystery", PARTNER_KIND, "SAR", 7), ("mystery", "unheard_of", "SAR", -7),
    ]
    partner, operator = partner_drafts(rows)
    assert lines(partner["SAR"]) == {"exchanged": -50_00, "reversed": 1_00, "breakage": 45, "cashback": -2_00, "adjustments": 7}
    assert lines(operator["SAR"]) == {"fund": 45_00 - 90 - 45 - 30 - 7, "commission": 5_00 - 10, "kept_breakage": 30,
                                      "cashback_account": 0, "wallets": 2_00}
    assert partner["SAR"].net + operator["SAR"].net == 0


def test_what_came_before_the_period_unsettled_is_one_line_on_each_side() -> None:
    partner, operator = partner_drafts(redeem(500), earlier=[*earn(300), *redeem(100)])
    assert lines(partner["SAR"]) == {"redeemed": 20_00, "redeem_commission": -1_00, "earlier": -15_00 + 3_80}
    assert operator["SAR"].lines["earlier"][0] == 15_00 - 3_80
    assert partner["SAR"].net + operator["SAR"].net == 0


def test_each_currency_has_its_own_drafts() -> None:
    partner, operator = partner_drafts([*earn(100, currency="SAR"), *redeem(100, currency="KWD", value="0.004")])
    assert set(partner) == set(operator) == {"SAR", "KWD"}
    for currency in ("SAR", "KWD"):
        assert partner[currency].net + operator[currency].net == 0
    assert "redeemed" not in partner["SAR"].lines and "issued" not in partner["KWD"].lines


def test_nothing_posted_drafts_nothing() -> None:
    assert partner_drafts([]) == ({}, {})


# The program's points accounts, as the same sums carry them (unit PTS) beside the money.
POINTS_ROWS: list[Row] = [
    ("earn", "issued", "PTS", -2000), ("convert", "issued", "PTS", -30), ("reverse", "issued", "PTS", 500),
    ("redeem", "redeemed", "PTS", 1500), ("capture", "redeemed", "PTS", 40), ("reverse", "redeemed", "PTS", -100),
    ("expire", "expired", "PTS", 70), ("adjust", "adjustments", "PTS", -5),
]


def test_the_programs_points_are_counted_apart_from_the_money() -> None:
    # Issued: what earns and exchanges took from the issued account; redeemed: what redemptions and captures put
    # in the redeemed account. Returns, cancellations, expiries and adjustments are other lines' business.
    assert points_of(POINTS_ROWS) == (2030, 1540)
    assert points_of([*earn(100), *redeem(50)]) == (0, 0)  # money rows carry no points
    assert partner_drafts([*earn(2000), *redeem(1500), *POINTS_ROWS]) == partner_drafts([*earn(2000), *redeem(1500)])
    assert partner_drafts([], earlier=POINTS_ROWS) == ({}, {})


# --- any balanced money ---------------------------------------------------------------------------

ENTRY_KINDS = ["earn", "convert", "redeem", "capture", "reverse", "expire", "cashback", "adjust", "void", "hold", "odd"]
ACCOUNT_KINDS = [PARTNER_KIND, FUND, COMMISSION, BREAKAGE, "cashback", "wallet_spent", "wallet", "wallet_pending", "odd_account"]


@st.composite
def entries(draw: st.DrawFn) -> list[Row]:
    """One entry's money legs: in each of its currencies, amounts on accounts that sum to zero."""
    kind = draw(st.sampled_from(ENTRY_KINDS))
    legs: list[Row] = []
    for currency in draw(st.lists(st.sampled_from(["SAR", "KWD", "USD"]), min_size=1, max_size=2, unique=True)):
        amounts = draw(st.lists(st.integers(-(10**9), 10**9), min_size=1, max_size=4))
        accounts = draw(st.lists(st.sampled_from(ACCOUNT_KINDS), min_size=len(amounts) + 1, max_size=len(amounts) + 1))
        legs += [(kind, account, currency, amount) for account, amount in zip(accounts, [*amounts, -sum(amounts)], strict=True)]
    return legs


def summed(legs: list[Row]) -> list[Row]:
    """As period_totals reads them: summed by entry kind, account kind and unit."""
    totals: dict[tuple[str, str, str], int] = defaultdict(int)
    for kind, account, unit, amount in legs:
        totals[(kind, account, unit)] += amount
    return [(*key, amount) for key, amount in totals.items()]


POINTS_LEGS = st.lists(st.tuples(st.sampled_from(ENTRY_KINDS), st.sampled_from(["issued", "redeemed", "expired", "adjustments"]),
                                  st.just("PTS"), st.integers(-(10**6), 10**6)), max_size=6)


@given(period=st.lists(entries(), max_size=12), before=st.lists(entries(), max_size=6), points=POINTS_LEGS)
def test_any_balanced_money_drafts_statements_that_sum_to_zero(period: list[list[Row]], before: list[list[Row]], points: list[Row]) -> None:
    in_period = [leg for entry in period for leg in entry]
    earlier = [leg for entry in before for leg in entry]
    partner, operator = partner_drafts(summed(in_period) + points, earlier=summed(earlier) + points)
    assert (partner, operator) == partner_drafts(summed(in_period), earlier=summed(earlier))  # points are not money
    for currency in set(partner) | set(operator):
        mine, theirs = partner.get(currency, Draft({})), operator.get(currency, Draft({}))
        assert mine.net + theirs.net == 0
        # The lines of each statement add up to its net, and each line is one the statements know.
        assert sum(lines(mine).values()) == mine.net and sum(lines(theirs).values()) == theirs.net
        assert set(mine.lines) | set(theirs.lines) <= set(ORDER)
        # The partner's net is exactly what was posted to its settlement account.
        assert mine.net == sum(a for _, account, unit, a in in_period + earlier if account == PARTNER_KIND and unit == currency)
        assert lines(mine).get("earlier", 0) == sum(a for _, account, unit, a in earlier if account == PARTNER_KIND and unit == currency)
