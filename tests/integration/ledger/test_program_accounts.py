"""The program's points accounts, looked up in a fresh process: a program that has paid cashback also
owns wallet accounts (cashback, wallet_spent, per currency), and these must not hide its points
accounts. Regression: with the process cache empty, program_accounts raised NotFound("tenant N has no
ledger") for any tenant whose members had received cashback, so every earn, adjustment or redemption
of that tenant failed after a restart."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import START, TenantCtx, make_member
from wafa.db import unit_of_work
from wafa.ledger import accounts as ledger_accounts
from wafa.ledger import liability, wallet
from wafa.ledger import service as ledger
from wafa.ledger.models import PROGRAM_KINDS, Account
from wafa.ledger.verify import verify

Factory = sessionmaker[Session]


def fresh_process() -> None:
    """Forget what this process cached about accounts, as after a restart."""
    ledger_accounts._program_accounts.clear()
    ledger_accounts._member_accounts.clear()
    ledger_accounts._opened_on_use.clear()


@pytest.fixture
def with_cashback(factory: Factory, tenant: TenantCtx) -> Iterator[int]:
    """A tenant whose member has cashback in SAR and KWD (so the program owns wallet accounts), then a cold cache."""
    member_id = make_member(factory, tenant.id, START)
    with unit_of_work(factory) as session:
        for currency in ("SAR", "KWD"):
            wallet.credit_cashback(session, tenant_id=tenant.id, member_id=member_id, amount=1_500, currency=currency, pending=False,
                                   idempotency_key=f"cashback-{currency}", reason="cashback", now=START)
    fresh_process()
    yield member_id
    fresh_process()


def test_program_accounts_are_found_beside_wallet_accounts_with_a_cold_cache(
    factory: Factory, tenant: TenantCtx, with_cashback: int,
) -> None:
    """The points accounts by kind, exactly, and none of the wallet ones."""
    with factory() as session:
        found = ledger.program_accounts(session, tenant_id=tenant.id)
        owned = session.execute(
            select(Account.kind, Account.unit, Account.id).where(Account.tenant_id == tenant.id, Account.owner == "program")
        ).all()
    assert {unit for _, unit, _ in owned} == {"PTS", "SAR", "KWD"}  # the situation that broke the lookup
    points = {kind: id_ for kind, unit, id_ in owned if unit == "PTS"}
    assert set(found) == set(PROGRAM_KINDS) and found == points


def test_a_tenant_with_cashback_can_still_earn_after_a_restart(factory: Factory, tenant: TenantCtx, with_cashback: int) -> None:
    """Points adjusted with a cold cache post, and the ledger (points and wallet) still verifies."""
    with unit_of_work(factory) as session:
        ledger.adjust(session, tenant_id=tenant.id, member_id=with_cashback, points=200, reason="welcome", idempotency_key="adj-1",
                      now=START, expires_at=None, actor="test")
    with factory() as session:
        assert ledger.balances(session, tenant_id=tenant.id, member_id=with_cashback)["available"] == 200
        assert wallet.balances(session, tenant_id=tenant.id, member_id=with_cashback)["SAR"]["available"] == 1_500
        assert verify(session, tenant_id=tenant.id).ok


def test_points_liability_ignores_wallet_accounts(factory: Factory, tenant: TenantCtx, with_cashback: int) -> None:
    """Outstanding points count points only: the cashback's 1,500 halalas and fils are not points."""
    with unit_of_work(factory) as session:
        ledger.adjust(session, tenant_id=tenant.id, member_id=with_cashback, points=200, reason="welcome", idempotency_key="adj-1",
                      now=START, expires_at=None, actor="test")
    fresh_process()
    with factory() as session:
        assert liability.outstanding_at(session, tenant_id=tenant.id, moments=[START.replace(hour=23)]) == [200]
