"""Wallet payments racing on PostgreSQL, with real threads and connections: a wallet is never
overdrawn, and the ledger still verifies."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import START, factory_for, make_member, make_tenant
from tests.integration.test_concurrency import race
from wafa.db import unit_of_work
from wafa.errors import InsufficientFunds
from wafa.ledger import wallet
from wafa.ledger.verify import verify

pytestmark = pytest.mark.postgres_only


def test_forty_payments_against_ten_payments_worth_never_overdraw(pg_url: str) -> None:
    factory = factory_for(pg_url)
    tenant = make_tenant(factory, START)
    member_id = make_member(factory, tenant.id, START)
    with unit_of_work(factory) as session:
        wallet.credit_cashback(session, tenant_id=tenant.id, member_id=member_id, amount=10_000, currency="SAR",
                               pending=False, idempotency_key="fund", reason="cashback", now=START)
    def pay(i: int) -> Any:
        with unit_of_work(factory) as session:
            return wallet.debit(session, tenant_id=tenant.id, member_id=member_id, amount=1_000, currency="SAR",
                                idempotency_key=f"pay-{i}", reason="till", now=START)

    results = race(40, pay)
    paid = [r for r in results if not isinstance(r, Exception)]
    assert len(paid) == 10 and all(isinstance(r, InsufficientFunds) for r in results if isinstance(r, Exception))
    with factory() as session:
        assert wallet.balances(session, tenant_id=tenant.id, member_id=member_id) == {"SAR": {"available": 0, "pending": 0}}
        assert verify(session, tenant_id=tenant.id).ok
