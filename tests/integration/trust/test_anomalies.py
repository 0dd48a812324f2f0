"""The anomaly flags' reads against a real database (SQLite and PostgreSQL): each kind flags the member
it is about, with the evidence, and leaves an ordinary member alone. Data goes in through the API."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import TenantCtx, make_tenant
from wafa.clock import FrozenClock
from wafa.db import unit_of_work
from wafa.members import service as members
from wafa.members.schemas import MemberCreate
from wafa.trust import anomalies
from wafa.trust.anomalies import Thresholds
from wafa.trust.schemas import AnomalyRead

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def enrol(client: TestClient, external_id: str, **fields: str) -> int:
    made = client.post("/v1/members", json={"external_id": external_id, **fields})
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def buy(client: TestClient, external_id: str, order_id: str, amount: str = "100.00", **extra: str) -> None:
    body = {"type": "purchase", "member": {"external_id": external_id}, "order_id": order_id, "amount": amount, "currency": "SAR", **extra}
    answer = client.post("/v1/events", json=body)
    assert answer.status_code == 201, answer.text


def give_back(client: TestClient, order_id: str) -> None:
    answer = client.post("/v1/events", json={"type": "return", "order_id": order_id})
    assert answer.status_code == 201, answer.text


def flags(factory: sessionmaker[Session], tenant_id: int, kind: str, now: datetime, **thresholds: int) -> list[AnomalyRead]:
    with factory() as session:
        return anomalies.find(session, tenant_id=tenant_id, kind=kind, now=now, limit=50, thresholds=Thresholds(**thresholds))  # type: ignore[arg-type]


# --- returns


def test_a_member_returning_most_of_what_they_buy_is_flagged_with_their_and_the_programs_figures(
    client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx, clock: FrozenClock,
) -> None:
    returner = enrol(client, "returner")
    for n in range(3):
        buy(client, "returner", f"R-{n}")
    give_back(client, "R-0")
    give_back(client, "R-1")
    for name in ("plain-1", "plain-2", "plain-3"):  # ordinary buyers
        enrol(client, name)
        for n in range(4):
            buy(client, name, f"{name}-{n}")
    enrol(client, "occasional")  # one of two orders back: too few purchases to mean anything
    buy(client, "occasional", "O-1")
    buy(client, "occasional", "O-2")
    give_back(client, "O-1")
    enrol(client, "some")  # one of three back: a third, under half
    for n in range(3):
        buy(client, "some", f"S-{n}")
    give_back(client, "S-0")

    found = flags(factory, tenant.id, "returns", clock.now() + HOUR)

    assert [f.member_ids for f in found] == [[returner]]
    evidence = found[0].evidence.model_dump()
    assert evidence == {
        "days": 90, "purchases": 3, "returned_orders": 2, "purchased": "300.00", "returned": "200.00", "currency": "SAR",
        "rate": 0.666667, "program_rate": 0.2, "multiple": 3.33,  # 400 returned of 2,000 bought by everyone
    }
    assert found[0].score == 0.666667


def test_returns_count_only_purchases_of_the_window_and_need_three_times_the_programs_rate(
    client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx, clock: FrozenClock,
) -> None:
    now = clock.now()
    enrol(client, "long-ago")
    for n in range(3):  # all returned, but bought 100 days ago: outside the 90-day window
        buy(client, "long-ago", f"L-{n}", occurred_at=(now - 100 * DAY).isoformat())
        give_back(client, f"L-{n}")
    for name in ("plain-1", "plain-2"):
        enrol(client, name)
        for n in range(4):
            buy(client, name, f"{name}-{n}")
    recent = enrol(client, "recent")
    for n in range(3):
        buy(client, "recent", f"N-{n}")
    give_back(client, "N-0")
    give_back(client, "N-1")
    assert [f.member_ids for f in flags(factory, tenant.id, "returns", now + HOUR)] == [[recent]]
    # Over 200 days the program's rate is 500 of 1,400: two of three back is no longer three times it.
    assert flags(factory, tenant.id, "returns", now + HOUR, days=200) == []


# --- shared contacts


def test_three_members_on_one_phone_or_one_inbox_are_flagged_and_two_are_not(
    client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx, clock: FrozenClock,
) -> None:
    on_phone = [enrol(client, f"p-{n}", phone="0501234567") for n in range(3)]
    # One Gmail inbox behind three spellings of it (dots and +tags are ignored by Gmail).
    on_inbox = [enrol(client, f"e-{n}", email=address) for n, address in enumerate(("sara@gmail.com", "s.ara@gmail.com", "sara+x@gmail.com"))]
    for n in range(2):
        enrol(client, f"pair-{n}", phone="0559876543")  # a couple sharing a phone
    enrol(client, "alone", phone="0561112222", email="alone@example.com")
    other = make_tenant(factory, clock.now())  # another tenant's members on the same phone count for it alone
    with unit_of_work(factory) as session:
        members.create(session, tenant_id=other.id, member_in=MemberCreate(external_id="x", phone="0501234567"), region="SA", now=clock.now())

    found = flags(factory, tenant.id, "shared_contact", clock.now())

    assert sorted((f.evidence.channel, sorted(f.member_ids)) for f in found) == [("email", on_inbox), ("phone", on_phone)]  # type: ignore[union-attr]
    phone = next(f for f in found if f.evidence.channel == "phone")  # type: ignore[union-attr]
    assert phone.score == 3
    assert phone.evidence.contact == "+966501234567"  # type: ignore[union-attr]
    assert [(m.external_id, m.enrolled_at, m.status) for m in phone.evidence.members] == [  # type: ignore[union-attr]
        (f"p-{n}", clock.now(), "active") for n in range(3)
    ]
    # With pairs counted too, the couple's phone is the third flag, after the two groups of three.
    pairs = flags(factory, tenant.id, "shared_contact", clock.now(), min_members=2)
    assert [(f.score, f.evidence.contact) for f in pairs][2] == (2, "+966559876543")  # type: ignore[union-attr]


# --- redemptions right after enrolment


def test_a_redemption_within_a_day_of_enrolling_is_flagged_with_the_spends_and_a_later_one_is_not(
    client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx, clock: FrozenClock,
) -> None:
    start = clock.now()
    quick = enrol(client, "quick")
    patient = enrol(client, "patient")
    for member_id in (quick, patient):
        answer = client.post(f"/v1/members/{member_id}/adjustments", json={"points": 500, "reason": "welcome"})
        assert answer.status_code == 201, answer.text
    clock.set(start + 2 * HOUR)
    redeemed = client.post(f"/v1/members/{quick}/redemptions", json={"points": 200, "reason": "coffee"})
    assert redeemed.status_code == 201, redeemed.text
    # A till's hold captured in part: what was captured is spent, the rest went back.
    clock.set(start + 3 * HOUR)
    held = client.post(f"/v1/members/{quick}/holds", json={"points": 100, "reason": "till 3"}).json()
    assert client.post(f"/v1/holds/{held['id']}/capture", json={"points": 60}).status_code == 200
    clock.set(start + 30 * HOUR)
    assert client.post(f"/v1/members/{patient}/redemptions", json={"points": 200, "reason": "coffee"}).status_code == 201
    assert client.post(f"/v1/members/{quick}/redemptions", json={"points": 10, "reason": "later"}).status_code == 201

    found = flags(factory, tenant.id, "quick_redemption", clock.now())

    assert [f.member_ids for f in found] == [[quick]]
    evidence = found[0].evidence
    assert found[0].score == 2.0
    assert (evidence.hours, evidence.enrolled_at, evidence.points) == (24, start, 260)  # type: ignore[union-attr]
    assert [(s.kind, s.at, s.hours_after_enrolment, s.points, s.amount) for s in evidence.spends] == [  # type: ignore[union-attr]
        ("redeem", start + 2 * HOUR, 2.0, 200, None), ("capture", start + 3 * HOUR, 3.0, 60, None),
    ]
    assert [f.member_ids for f in flags(factory, tenant.id, "quick_redemption", clock.now(), hours=48)] == [[quick], [patient]]


def test_wallet_money_spent_right_after_enrolling_is_flagged_in_its_currency(
    client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx, clock: FrozenClock,
) -> None:
    start = clock.now()
    member_id = enrol(client, "wallet")
    client.post("/v1/rules", json={"name_en": "Cashback", "name_ar": "استرداد", "trigger": "purchase", "status": "active",
                                   "actions": [{"type": "cashback", "percent": "10"}]})
    buy(client, "wallet", "W-1")
    clock.set(start + 5 * HOUR)
    paid = client.post(f"/v1/members/{member_id}/wallet/debits", json={"amount": "4.25", "currency": "SAR", "reason": "till"})
    assert paid.status_code == 201, paid.text

    found = flags(factory, tenant.id, "quick_redemption", clock.now())

    assert [f.member_ids for f in found] == [[member_id]]
    spend = found[0].evidence.spends[0]  # type: ignore[union-attr]
    assert (spend.kind, spend.points, spend.amount, spend.currency, spend.hours_after_enrolment) == ("redeem", None, "4.25", "SAR", 5.0)
    # Members enrolled before the window are not read.
    assert flags(factory, tenant.id, "quick_redemption", start + 3 * DAY, days=2) == []
