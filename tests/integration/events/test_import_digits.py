"""A purchase file read as people write it (wafa.events.imports, wafa.money.to_minor): spreadsheets exported in
an Arabic locale write amounts in Arabic-Indic digits, with the Arabic decimal separator; those are read as ASCII
digits, and every other way of writing a number is a bad row, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import TenantCtx
from wafa.clock import FrozenClock
from wafa.events import imports
from wafa.events.models import Event


def amounts(factory: sessionmaker[Session], tenant_id: int) -> list[int]:
    with factory() as session:
        return sorted(session.scalars(select(Event.amount).where(Event.tenant_id == tenant_id)))


@pytest.mark.parametrize("award", [False, True], ids=["plain", "award"])
def test_arabic_indic_amounts_in_a_file_are_read_as_ascii_digits(factory: sessionmaker[Session], tenant: TenantCtx, clock: FrozenClock,
                                                                  award: bool) -> None:
    rows = [{"customer_id": "c-1", "date": "2026-02-01", "amount": "١٢٫٥٠"}, {"customer_id": "c-1", "date": "2026-02-02", "amount": "۱۰۰"},
            {"customer_id": "c-2", "date": "2026-02-03", "amount": "7.25"}]
    report = imports.run(factory, tenant_id=tenant.id, records=rows, mapping={}, award=award, now=clock.now())
    assert (report.imported, report.bad) == (3, [])
    assert amounts(factory, tenant.id) == [725, 1250, 10000]


@pytest.mark.parametrize("amount", ["१२", "１２", "1e2", "1_000", "+5", "12,50"])
def test_other_ways_of_writing_an_amount_are_bad_rows(factory: sessionmaker[Session], tenant: TenantCtx, clock: FrozenClock, amount: str) -> None:
    rows = [{"customer_id": "c-1", "date": "2026-02-01", "amount": amount}, {"customer_id": "c-1", "date": "2026-02-02", "amount": "5"}]
    report = imports.run(factory, tenant_id=tenant.id, records=rows, mapping={}, award=False, now=clock.now())
    assert report.imported == 1 and [line for line, _ in report.bad] == [2]
    assert "is not a decimal amount" in report.bad[0][1]
    assert amounts(factory, tenant.id) == [500]
