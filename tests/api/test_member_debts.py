"""A member in debt (points, or wallet money, taken back by a return after they were spent) could be
closed, and the debt was lost from sight. Closing now needs the debt written off, on purpose: the
write-off is a ledger entry, and the ledger still verifies."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.api.test_wallet import funded, pay
from tests.conftest import TenantCtx, problem
from wafa.ledger.verify import verify


def in_points_debt(client: TestClient) -> int:
    """Buy (1,000 points), redeem them, return the purchase: the member owes 1,000 points."""
    member_id = client.post("/v1/members", json={"external_id": "d-1"}).json()["id"]
    client.post("/v1/events", json={"type": "purchase", "member": {"id": member_id}, "order_id": "D-1", "amount": "1000.00",
                                    "currency": "SAR"})
    assert client.post(f"/v1/members/{member_id}/redemptions", json={"points": 1000, "reason": "gift"}).status_code == 201
    assert client.post("/v1/events", json={"type": "return", "order_id": "D-1"}).status_code == 201
    assert client.get(f"/v1/members/{member_id}/balance").json()["available"] == -1000
    return member_id


def entries_of(client: TestClient, member_id: int) -> list[dict]:  # type: ignore[type-arg]
    return client.get(f"/v1/members/{member_id}/entries").json()["items"]


def test_closing_a_member_in_points_debt_needs_a_write_off(client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx) -> None:
    member_id = in_points_debt(client)
    refused = problem(client.post(f"/v1/members/{member_id}/close", json={"reason": "asked to leave"}), 409, "/problems/member-in-debt")
    assert refused["points"] == 1000 and refused["wallet"] == {}
    assert client.get(f"/v1/members/{member_id}").json()["status"] == "active"
    closed = client.post(f"/v1/members/{member_id}/close", json={"reason": "asked to leave", "write_off_debt": True})
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed"
    assert client.get(f"/v1/members/{member_id}/balance").json()["available"] == 0
    written_off = entries_of(client, member_id)[0]
    assert written_off["kind"] == "adjust" and written_off["points"] == 1000 and "written off" in written_off["reason"]
    with factory() as session:
        report = verify(session, tenant_id=tenant.id)
    assert report.ok, report.problems


def test_closing_a_member_in_wallet_debt_needs_a_write_off(client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx) -> None:
    member_id = funded(client)  # 10.00 SAR of cashback
    assert pay(client, member_id, "10.00").status_code == 201
    assert client.post("/v1/events", json={"type": "return", "order_id": "F-1"}).status_code == 201
    refused = problem(client.post(f"/v1/members/{member_id}/close", json={"reason": "fraud"}), 409, "/problems/member-in-debt")
    assert refused["wallet"] == {"SAR": 1000}
    # The wallet in debt pays for nothing more meanwhile.
    problem(pay(client, member_id, "0.01"), 422, "/problems/insufficient-funds", "amount")
    closed = client.post(f"/v1/members/{member_id}/close", json={"reason": "fraud", "write_off_debt": True})
    assert closed.status_code == 200, closed.text
    assert client.get(f"/v1/members/{member_id}/wallet").json()["currencies"][0]["available"] == "0.00"
    with factory() as session:
        assert verify(session, tenant_id=tenant.id).ok


def test_a_member_without_debt_closes_as_before(client: TestClient) -> None:
    member_id = client.post("/v1/members", json={"external_id": "d-2"}).json()["id"]
    closed = client.post(f"/v1/members/{member_id}/close", json={"reason": "asked to leave"})
    assert closed.status_code == 200 and closed.json()["status"] == "closed"


def test_cashback_spent_then_returned_is_a_wallet_debt_shown_refused_and_repaid(
    client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    """The finding: 100.00 SAR of cashback spent, its purchase returned, and the wallet at -100.00 SAR while
    the balance showed no debt. The debt is shown, the wallet pays for nothing, new cashback repays it first."""
    member_id = funded(client, "1000.00")  # 100.00 SAR of cashback
    assert pay(client, member_id, "100.00").status_code == 201
    assert client.post("/v1/events", json={"type": "return", "order_id": "F-1"}).status_code == 201
    shown = client.get(f"/v1/members/{member_id}/balance").json()
    assert (shown["debt"], shown["wallet_debt"]) == (0, {"SAR": 10000})
    assert client.get(f"/v1/members/{member_id}/wallet").json()["currencies"] == [
        {"currency": "SAR", "available": "-100.00", "pending": "0.00", "debt": 10000}]
    refused = problem(pay(client, member_id, "0.01"), 422, "/problems/insufficient-funds", "amount")
    assert (refused["available"], refused["debt"]) == (0, 10000)
    assert "in debt" in refused["detail"] and "100.00 SAR" in refused["detail"]
    # New cashback (50.00) repays the debt first: still owed 50.00, and still nothing to pay with.
    client.post("/v1/events", json={"type": "purchase", "member": {"id": member_id}, "order_id": "F-2", "amount": "500.00", "currency": "SAR"})
    assert client.get(f"/v1/members/{member_id}/balance").json()["wallet_debt"] == {"SAR": 5000}
    problem(pay(client, member_id, "0.01"), 422, "/problems/insufficient-funds", "amount")
    # 60.00 more: the debt is repaid and 10.00 is left to spend.
    client.post("/v1/events", json={"type": "purchase", "member": {"id": member_id}, "order_id": "F-3", "amount": "600.00", "currency": "SAR"})
    # Nothing owed, nothing said: the fields are there only while the wallet owes money.
    assert "wallet_debt" not in client.get(f"/v1/members/{member_id}/balance").json()
    assert client.get(f"/v1/members/{member_id}/wallet").json()["currencies"] == [{"currency": "SAR", "available": "10.00", "pending": "0.00"}]
    problem(pay(client, member_id, "10.01"), 422, "/problems/insufficient-funds", "amount")
    assert pay(client, member_id, "10.00").status_code == 201
    with factory() as session:
        report = verify(session, tenant_id=tenant.id)
    assert report.ok, report.problems
