"""A debt follows the person. A member spent points (or cashback), returned the purchase and so owed them;
the same person then enrolled again under a new external id, with an alias of the same inbox or the same
phone, and started clean. Now the program's `reenrol_debt` says what happens: "carry" (the default) moves
the debt to the new member by ledger entries, "refuse" answers 409 person-in-debt and enrols nobody,
"ignore" enrols them clean as before. A debt written off when the earlier member closed is owed again."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import START, TenantCtx, factory_for, make_member, make_tenant, problem
from tests.integration.test_concurrency import race
from wafa.clock import FrozenClock
from wafa.db import unit_of_work
from wafa.ledger import service as ledger
from wafa.ledger.verify import verify
from wafa.members.models import Member
from wafa.outbox.models import OutboxMessage


def enrol(client: TestClient, external_id: str, **fields: str):  # type: ignore[no-untyped-def]
    return client.post("/v1/members", json={"external_id": external_id, **fields})


def points_debtor(client: TestClient, **contact: str) -> int:
    """Buy (1,000 points), redeem them, return the purchase: the member owes 1,000 points."""
    made = enrol(client, "first", **contact)
    assert made.status_code == 201, made.text
    member_id = made.json()["id"]
    client.post("/v1/events", json={"type": "purchase", "member": {"id": member_id}, "order_id": "P-1", "amount": "1000.00",
                                    "currency": "SAR"})
    assert client.post(f"/v1/members/{member_id}/redemptions", json={"points": 1000, "reason": "gift"}).status_code == 201
    assert client.post("/v1/events", json={"type": "return", "order_id": "P-1"}).status_code == 201
    assert balance(client, member_id)["debt"] == 1000
    return member_id


def wallet_debtor(client: TestClient, **contact: str) -> int:
    """Cashback of 10.00 SAR spent at a till, then its purchase returned: the wallet owes 10.00 SAR (and the points are gone)."""
    member_id = enrol(client, "first", **contact).json()["id"]
    client.post("/v1/rules", json={"name_en": "Cashback", "name_ar": "استرداد", "trigger": "purchase", "status": "active",
                                   "actions": [{"type": "cashback", "percent": "10"}]})
    client.post("/v1/events", json={"type": "purchase", "member": {"id": member_id}, "order_id": "W-1", "amount": "100.00",
                                    "currency": "SAR"})
    paid = client.post(f"/v1/members/{member_id}/wallet/debits", json={"amount": "10.00", "currency": "SAR", "reason": "till"})
    assert paid.status_code == 201, paid.text
    assert client.post("/v1/events", json={"type": "return", "order_id": "W-1"}).status_code == 201
    assert balance(client, member_id)["wallet_debt"] == {"SAR": 1000}
    return member_id


def balance(client: TestClient, member_id: int) -> dict:  # type: ignore[type-arg]
    return client.get(f"/v1/members/{member_id}/balance").json()


def policy(client: TestClient, value: str) -> None:
    changed = client.patch("/v1/program", json={"reenrol_debt": value})
    assert changed.status_code == 200 and changed.json()["reenrol_debt"] == value, changed.text


def verified(factory: sessionmaker[Session], tenant: TenantCtx) -> None:
    with factory() as session:
        report = verify(session, tenant_id=tenant.id)
    assert report.ok, report.problems


def outbox_of(factory: sessionmaker[Session], tenant: TenantCtx, member_id: int) -> list[tuple[str, dict]]:  # type: ignore[type-arg]
    with factory() as session:
        rows = session.execute(select(OutboxMessage.type, OutboxMessage.payload).where(
            OutboxMessage.tenant_id == tenant.id, OutboxMessage.member_id == member_id).order_by(OutboxMessage.id))
        return [(t, p) for t, p in rows]


# --- carry (the default) -----------------------------------------------------------------------------------


def test_enrolling_again_with_an_alias_of_the_inbox_carries_the_points_debt(
    client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    first = points_debtor(client, email="Sara.Ali@gmail.com")
    made = enrol(client, "second", email="saraali+new@googlemail.com")
    assert made.status_code == 201, made.text
    second = made.json()["id"]
    assert (balance(client, second)["available"], balance(client, second)["debt"]) == (-1000, 1000)
    # Moved, not copied: the earlier member owes nothing any more, so the debt exists once.
    assert (balance(client, first)["available"], balance(client, first)["debt"]) == (0, 0)
    (carried,) = client.get(f"/v1/members/{second}/entries").json()["items"]
    assert carried["points"] == -1000 and f"member {first}" in carried["reason"]
    assert carried["details"]["carried_from_member_id"] == first
    assert ("points.reversed", 1000) in [(t, p.get("points")) for t, p in outbox_of(factory, tenant, second)]
    assert ("points.adjusted", 1000) in [(t, p.get("points")) for t, p in outbox_of(factory, tenant, first)]
    # The new member redeems nothing until repaid, and their next points repay the debt first.
    problem(client.post(f"/v1/members/{second}/redemptions", json={"points": 1, "reason": "gift"}), 422, "/problems/member-in-debt")
    client.post("/v1/events", json={"type": "purchase", "member": {"id": second}, "order_id": "P-2", "amount": "1500.00", "currency": "SAR"})
    assert balance(client, second)["available"] == 500
    verified(factory, tenant)


def test_enrolling_again_with_the_phone_carries_the_wallet_debt(
    client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    first = wallet_debtor(client, phone="0501234567")
    second = enrol(client, "second", phone="+966 50 123 4567").json()["id"]
    assert balance(client, second)["wallet_debt"] == {"SAR": 1000}
    assert client.get(f"/v1/members/{second}/wallet").json()["currencies"] == [
        {"currency": "SAR", "available": "-10.00", "pending": "0.00", "debt": 1000}]
    assert "wallet_debt" not in balance(client, first)
    assert client.get(f"/v1/members/{first}/wallet").json()["currencies"][0]["available"] == "0.00"
    statement = client.get(f"/v1/members/{second}/wallet/entries").json()["items"]
    assert [(e["available"], f"member {first}" in e["reason"]) for e in statement] == [("-10.00", True)]
    assert ("wallet.debited", 1000) in [(t, p.get("amount")) for t, p in outbox_of(factory, tenant, second)]
    verified(factory, tenant)


def test_a_debt_written_off_when_the_member_closed_is_owed_again_once(
    client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    first = points_debtor(client, email="omar@example.com")
    closed = client.post(f"/v1/members/{first}/close", json={"reason": "asked to leave", "write_off_debt": True})
    assert closed.status_code == 200, closed.text
    write_off = client.get(f"/v1/members/{first}/entries").json()["items"][0]
    second = enrol(client, "second", email="OMAR@example.com").json()["id"]
    assert balance(client, second)["debt"] == 1000 and balance(client, first)["available"] == 0
    (carried,) = client.get(f"/v1/members/{second}/entries").json()["items"]
    assert carried["points"] == -1000 and f"member {first}" in carried["reason"]
    # The write-off is reversed (the program's adjustments get the points back), not doubled.
    liability = client.get("/v1/reports/liability").json()
    assert (liability["debt"], liability["adjusted"]) == (1000, 0)
    # The same person a third time: the debt moves on from the second member; the write-off is not reinstated again.
    third = enrol(client, "third", email="omar+3@example.com").json()["id"]
    assert [balance(client, m)["debt"] for m in (first, second, third)] == [0, 0, 1000]
    assert write_off["kind"] == "adjust" and write_off["points"] == 1000
    verified(factory, tenant)


def test_a_written_off_wallet_debt_is_owed_again(client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx) -> None:
    first = wallet_debtor(client, email="huda@example.com")
    assert client.post(f"/v1/members/{first}/close", json={"reason": "fraud", "write_off_debt": True}).status_code == 200
    second = enrol(client, "second", email="huda@example.com").json()["id"]
    assert balance(client, second)["wallet_debt"] == {"SAR": 1000}
    assert client.get(f"/v1/members/{first}/wallet").json()["currencies"][0]["available"] == "0.00"
    verified(factory, tenant)


def test_replaying_the_enrolment_does_not_carry_twice(client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx) -> None:
    points_debtor(client, email="layla@example.com")
    body = {"external_id": "second", "email": "layla@example.com"}
    first_try = client.post("/v1/members", json=body, headers={"Idempotency-Key": "enrol-layla"})
    assert first_try.status_code == 201, first_try.text
    again = client.post("/v1/members", json=body, headers={"Idempotency-Key": "enrol-layla"})
    # Replayed (the first answer) or refused as a member that exists: either way nothing more is posted.
    assert again.status_code in (200, 201, 409) and (again.status_code == 409 or again.json()["id"] == first_try.json()["id"])
    second = first_try.json()["id"]
    assert balance(client, second)["debt"] == 1000
    assert len(client.get(f"/v1/members/{second}/entries").json()["items"]) == 1
    verified(factory, tenant)


def test_the_service_every_enrolment_shares_carries_the_debt(
    client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx, clock: FrozenClock,
) -> None:
    """The portal's join, the demo and the API all enrol through members.service.create."""
    points_debtor(client, phone="0551112222")
    member_id = make_member(factory, tenant.id, clock.now(), phone="+966551112222", name="Again")
    assert balance(client, member_id)["debt"] == 1000
    verified(factory, tenant)


# --- refuse ------------------------------------------------------------------------------------------------


def test_refuse_answers_409_with_what_is_owed_and_enrols_nobody(
    client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    policy(client, "refuse")
    first = points_debtor(client, email="sara@gmail.com")
    refused = problem(enrol(client, "second", email="s.a.r.a@gmail.com"), 409, "/problems/person-in-debt")
    assert (refused["points"], refused["wallet"]) == (1000, {})
    assert "1000 points" in refused["detail"]
    assert client.get("/v1/members", params={"external_id": "second"}).json()["items"] == []
    assert balance(client, first)["debt"] == 1000
    with factory() as session:
        assert session.execute(select(func.count()).select_from(Member).where(Member.tenant_id == tenant.id)).scalar_one() == 1
    # Someone else enrols as ever.
    assert enrol(client, "stranger", email="someone@example.com").status_code == 201


def test_refuse_counts_a_debt_written_off_and_wallet_money(client: TestClient, tenant: TenantCtx) -> None:
    policy(client, "refuse")
    first = wallet_debtor(client, phone="0501234567")
    assert client.post(f"/v1/members/{first}/close", json={"reason": "fraud", "write_off_debt": True}).status_code == 200
    refused = problem(enrol(client, "second", phone="0501234567"), 409, "/problems/person-in-debt")
    assert (refused["points"], refused["wallet"]) == (0, {"SAR": 1000}) and "10.00 SAR" in refused["detail"]


# --- ignore, and nothing owed ------------------------------------------------------------------------------


def test_ignore_enrols_the_person_clean(client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx) -> None:
    policy(client, "ignore")
    first = points_debtor(client, email="sara@example.com")
    second = enrol(client, "second", email="sara@example.com").json()["id"]
    assert balance(client, second)["debt"] == 0 and balance(client, first)["debt"] == 1000
    verified(factory, tenant)


def test_the_same_person_owing_nothing_enrols_clean(client: TestClient) -> None:
    first = enrol(client, "first", email="sara@example.com", phone="0501234567").json()["id"]
    client.post(f"/v1/members/{first}/adjustments", json={"points": 50, "reason": "welcome"})
    second = enrol(client, "second", email="sara@example.com")
    assert second.status_code == 201
    assert balance(client, second.json()["id"])["available"] == 0 and balance(client, first)["available"] == 50


def test_an_erased_member_matches_nobody(client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx) -> None:
    first = points_debtor(client, email="gone@example.com")
    assert client.post(f"/v1/members/{first}/erase", json={"write_off_debt": True}).status_code == 200
    second = enrol(client, "second", email="gone@example.com").json()["id"]
    assert balance(client, second)["debt"] == 0
    verified(factory, tenant)


def test_an_enrolment_with_a_contact_costs_one_query_more_than_one_without(
    client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx, clock: FrozenClock,
) -> None:
    """The hot path: nobody shares the e-mail or phone, so looking for the person's debts is one indexed query."""
    make_member(factory, tenant.id, clock.now(), email="warm@example.com")  # the program's settings cached
    counted: list[str] = []
    engine = factory.kw["bind"]

    def count(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        counted.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        make_member(factory, tenant.id, clock.now())
        without = len(counted)
        counted.clear()
        make_member(factory, tenant.id, clock.now(), email="new@example.com", phone="0509998888")
        with_contact = len(counted)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert with_contact == without + 1


@pytest.mark.postgres_only
def test_enrolments_of_one_person_racing_leave_the_debt_owed_once(pg_url: str) -> None:
    """Eight enrolments of the same person at once, with real connections: the earlier members' accounts are
    locked while each looks, so the debt moves (perhaps more than once) but is owed exactly once."""
    factory = factory_for(pg_url)
    tenant = make_tenant(factory, START)
    first = make_member(factory, tenant.id, START, email="race@example.com")
    with unit_of_work(factory) as session:
        credit = ledger.adjust(session, tenant_id=tenant.id, member_id=first, points=700, reason="gift", idempotency_key="gift",
                               now=START, expires_at=None)
        ledger.debit(session, tenant_id=tenant.id, member_id=first, points=700, kind="redeem", destination="redeemed",
                     idempotency_key="spend", reason="spent", now=START)
        ledger.claw_back(session, tenant_id=tenant.id, member_id=first, points=700, lot_id=None, idempotency_key="back",
                         reason="returned", now=START, reverses_entry_id=credit)
    results = race(8, lambda i: make_member(factory, tenant.id, START, email=f"race+{i}@example.com", external_id=f"again-{i}"))
    assert not [r for r in results if isinstance(r, Exception)], results
    with factory() as session:
        owed = [ledger.balances(session, tenant_id=tenant.id, member_id=m)["available"] for m in [first, *results]]
        assert sorted(owed) == [-700] + [0] * 8
        report = verify(session, tenant_id=tenant.id)
    assert report.ok, report.problems
