"""A purchase file's text held to the API's rule (wafa.inputs): a control character in a customer id, an order id,
a store or a line's SKU is a bad row with its reason, never a failed import (PostgreSQL cannot store a NUL, and
the purchase's schema refuses what SQLite would store)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import TenantCtx
from wafa.clock import FrozenClock
from wafa.events import imports
from wafa.events.models import Event


@pytest.mark.parametrize("award", [False, True], ids=["plain", "award"])
@pytest.mark.parametrize(("row", "said"), [
    ({"customer_id": "c\x00-1"}, "customer_id holds a control character (U+0000)"),
    ({"order_id": "O\t1"}, "order_id holds a control character (U+0009)"),
    ({"store": "S\x1b1"}, "store holds a control character (U+001B)"),
    ({"items": '[{"sku": "TEA\\u0000", "quantity": 1, "unit_price": "5"}]'}, "sku holds a control character (U+0000)"),
    ({"items": '[{"sku": "TEA", "quantity": 2.5, "unit_price": "5"}]'}, "quantity is not a whole number"),
    ({"items": '[{"sku": "TEA", "quantity": true, "unit_price": "5"}]'}, "quantity is not a whole number"),
], ids=["customer", "order", "store", "sku", "fraction", "true"])
def test_a_row_the_api_would_refuse_is_a_bad_row(factory: sessionmaker[Session], tenant: TenantCtx, clock: FrozenClock,
                                                 row: dict[str, str], said: str, award: bool) -> None:
    rows = [{"customer_id": "c-1", "date": "2026-02-01", "amount": "5", **row}, {"customer_id": "c-2", "date": "2026-02-02", "amount": "7"}]
    report = imports.run(factory, tenant_id=tenant.id, records=rows, mapping={}, award=award, now=clock.now())
    assert report.imported == 1 and [line for line, _ in report.bad] == [2]
    assert said in report.bad[0][1]
    with factory() as session:
        assert list(session.scalars(select(Event.amount).where(Event.tenant_id == tenant.id))) == [700]


def test_arabic_indic_digits_in_a_date_and_a_quantity_are_read(factory: sessionmaker[Session], tenant: TenantCtx, clock: FrozenClock) -> None:
    rows = [{"customer_id": "c-1", "date": "٢٠٢٦٠٢٠١", "amount": "5", "quantity": "٣",
             "items": '[{"sku": "TEA", "quantity": "٢", "unit_price": "2.5"}]'}]
    report = imports.run(factory, tenant_id=tenant.id, records=rows, mapping={}, award=False, now=clock.now())
    assert (report.imported, report.bad) == (1, [])
    with factory() as session:
        event = session.scalars(select(Event).where(Event.tenant_id == tenant.id)).one()
    assert event.occurred_at.date().isoformat() in ("2026-01-31", "2026-02-01") and event.items[0]["quantity"] == 2
