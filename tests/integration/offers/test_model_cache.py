"""A model decoded for ranking leaves the garbage collector's view (both databases): full collections of a
serving process no longer scan it and everything loaded before it, which stalled requests for 170-280 ms."""

from __future__ import annotations

import gc
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import TenantCtx
from tests.integration.offers.test_offers_service import program
from wafa.clock import FrozenClock
from wafa.db import unit_of_work
from wafa.offers import service


def test_decoding_a_model_freezes_what_the_process_holds(
    client: TestClient, clock: FrozenClock, tenant: TenantCtx, factory: sessionmaker[Session],
) -> None:
    program(client, clock)
    now = clock.advance(timedelta(days=1))
    with unit_of_work(factory) as session:
        row = service.train(session, tenant_id=tenant.id, now=now, seed=1)
    gc.unfreeze()
    try:
        with unit_of_work(factory) as session:
            stored = service.current(session, tenant_id=tenant.id)
        assert stored is not None and stored.id == row.id
        # Tracked, yet in no generation a collection scans: frozen.
        scanned = {id(found) for found in gc.get_objects()}
        assert gc.is_tracked(stored.recommender) and id(stored.recommender) not in scanned and gc.get_freeze_count() > 0
        # The ranking it answers is the stored model's.
        with unit_of_work(factory) as session:
            assert service.top_active(session, stored=stored, member_id=stored.recommender.member_ids[0], k=2)[0]
    finally:
        gc.unfreeze()  # the test process collects as usual again
