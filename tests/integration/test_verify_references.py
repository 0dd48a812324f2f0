"""`verify` catches postings to missing or foreign accounts (no foreign keys guard the busy tables)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.conftest import make_member, make_tenant
from wafa.db import unit_of_work
from wafa.ledger import service as ledger
from wafa.ledger.verify import verify


@pytest.mark.parametrize("target", ["missing", "foreign"])
def test_verify_names_entry_posting_outside_its_tenant(factory, clock, target: str) -> None:  # type: ignore[no-untyped-def]
    tenant = make_tenant(factory, clock.now())
    stranger = make_tenant(factory, clock.now())
    member = make_member(factory, tenant.id, clock.now())
    with unit_of_work(factory) as session:
        entry_id = ledger.adjust(session, tenant_id=tenant.id, member_id=member, points=50, reason="gift",
                                 idempotency_key="gift-1", now=clock.now(), expires_at=None)
        program_leg = session.execute(
            text("SELECT id, account_id FROM postings WHERE entry_id = :e AND seq IS NULL"), {"e": entry_id}
        ).one()
        elsewhere = 2**62 if target == "missing" else ledger.program_accounts(session, tenant_id=stranger.id)["adjustments"]
        session.execute(text("UPDATE postings SET account_id = :a WHERE id = :p"), {"a": elsewhere, "p": program_leg.id})
    try:
        with factory() as session:
            report = verify(session, tenant_id=tenant.id)
        assert not report.ok and report.first_broken_entry == entry_id
        assert any(("does not exist" if target == "missing" else "another tenant") in p for p in report.problems)
    finally:
        with unit_of_work(factory) as session:
            session.execute(text("UPDATE postings SET account_id = :a WHERE id = :p"), {"a": program_leg.account_id, "p": program_leg.id})
    with factory() as session:
        assert verify(session, tenant_id=tenant.id).ok
