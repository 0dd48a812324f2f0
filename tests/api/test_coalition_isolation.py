"""Partners of one coalition never see or touch each other's things through the API.

A partner's key is refused (403) on every /v1 route of the OpenAPI document that is not one of its
tills' routes (PARTNER_ROUTES). On those routes partner A cannot read or change anything of partner B's
(B's terms and statements, B's holds, B's rewards, B's orders, exchanges of B's points): the answer is
404, as if it did not exist, and B's things are unchanged; and A can do the same to its own. A till
scanning a card sees no contact details; a suspended partner's tills record nothing; a wallet payment
at a partner's till belongs to that partner's order; an Idempotency-Key chosen by one partner's tills
never replays (or blocks) another partner's request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.api.test_coalition import CAFE, as_partner, buy, coalition
from tests.conftest import PROBLEM, START, TenantCtx, problem
from wafa.api.app import create_app
from wafa.api.deps import PARTNER_ROUTES
from wafa.clock import FrozenClock
from wafa.coalition import service as coalition_service
from wafa.coalition.schemas import CoalitionIn, PartnerIn
from wafa.db import make_engine, unit_of_work
from wafa.ledger import wallet
from wafa.tenants import service as tenants

NOT_FOUND = "/problems/not-found"


def _document_routes() -> list[tuple[str, str]]:
    """(METHOD, path) of every /v1 operation in the app's OpenAPI document."""
    app = create_app(factory=sessionmaker(make_engine("sqlite://")), clock=FrozenClock(START))
    return sorted(
        (method.upper(), path) for path, operations in app.openapi()["paths"].items() if path.startswith("/v1") for method in operations
    )


DOCUMENT_ROUTES = _document_routes()
REFUSED = [route for route in DOCUMENT_ROUTES if route not in PARTNER_ROUTES]


def concrete(path: str) -> str:
    """A URL for a templated path: ids of 1 (no such thing needed: the key is refused before any lookup)."""
    return re.sub(r"\{\w+\}", "x", re.sub(r"\{\w*_id\}", "1", path))


# --- routes a partner's key may not use -------------------------------------------------------------


def test_every_partner_route_is_in_the_openapi_document() -> None:
    # A route renamed without PARTNER_ROUTES following it would silently close it to partners.
    missing = PARTNER_ROUTES - set(DOCUMENT_ROUTES)
    assert not missing, missing
    refused = len(REFUSED)
    assert refused == len(DOCUMENT_ROUTES) - len(PARTNER_ROUTES) and refused > 100


@pytest.fixture
def partner_secret(factory: sessionmaker[Session], tenant: TenantCtx, clock: FrozenClock) -> str:
    """A key of a partner (every scope a partner's key can hold) in the test tenant's coalition."""
    with unit_of_work(factory) as session:
        coalition_service.configure(session, tenant_id=tenant.id, coalition_in=CoalitionIn(), now=clock.now())
        partner = coalition_service.create(session, tenant_id=tenant.id, partner_in=PartnerIn(**CAFE), now=clock.now())
        return tenants.create_key(
            session, tenant_id=tenant.id, name="cafe tills", scopes=list(tenants.PARTNER_SCOPES), now=clock.now(), partner_id=partner.id,
        ).secret


def test_partner_key_is_refused_on_every_route_not_for_partners(client: TestClient, partner_secret: str) -> None:
    # One request per route (ids of 1, no body): the key is refused before anything is looked up or parsed.
    wrong = {}
    for method, path in REFUSED:
        response = client.request(method, concrete(path), headers={"Authorization": f"Bearer {partner_secret}"})
        body = response.json() if response.headers.get("content-type") == PROBLEM else None
        if response.status_code != 403 or body is None or body["type"] != "/problems/forbidden" or "partner" not in body["detail"]:
            wrong[f"{method} {path}"] = (response.status_code, response.text[:120])
    assert wrong == {}, f"{len(wrong)} of {len(REFUSED)} routes let a partner's key through"


# --- two partners' things on the partners' routes ----------------------------------------------------


@dataclass
class Side:
    """One partner's things: its terms and key, an order, a reward, an open hold, its closed statement."""

    partner: dict[str, Any]
    order: dict[str, Any]
    reward: dict[str, Any]
    hold: dict[str, Any]
    statement: dict[str, Any]

    @property
    def id(self) -> int:
        return int(self.partner["id"])

    @property
    def key(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.partner['secret']}"}


@dataclass
class World:
    member_id: int
    cafe: Side
    pharmacy: Side
    operator_statement: dict[str, Any]
    operator_hold: dict[str, Any]
    operator_reward: dict[str, Any]


def _reward(client: TestClient, key: str, partner: str | None) -> dict[str, Any]:
    made = client.post("/v1/rewards", json={"key": key, "name_en": key, "name_ar": "مكافأة", "points": 40, "partner": partner,
                                            "gives": {"type": "privilege", "valid_days": 30}})
    assert made.status_code == 201, made.text
    return made.json()


def _hold(client: TestClient, member_id: int, headers: dict[str, str]) -> dict[str, Any]:
    made = client.post(f"/v1/members/{member_id}/holds", json={"points": 30, "reason": "till"}, headers=headers)
    assert made.status_code == 201, made.text
    return made.json()


@pytest.fixture
def world(client: TestClient, clock: FrozenClock) -> World:
    """A café and a pharmacy (with points of its own), a member who bought at both in March, March closed
    in April (a statement each and the operator's), then an open hold and a reward of each, and the operator's."""
    partners = coalition(client)
    member_id = client.post("/v1/members", json={"external_id": "shared-member"}).json()["id"]
    assert client.post(f"/v1/members/{member_id}/adjustments", json={"points": 1000, "reason": "welcome"}).status_code == 201
    orders = {}
    for name in ("cafe", "pharmacy"):
        bought = buy(client, member_id, f"{name[0].upper()}-1", "100.00", partners[name])
        assert bought.status_code == 201, bought.text
        orders[name] = bought.json()
    clock.advance(timedelta(days=40))
    closed = client.post("/v1/coalition/settlements", json={"period": "2026-03"})
    assert closed.status_code == 201, closed.text
    statements = {s["party"]: s for s in closed.json()["statements"]}
    sides = {
        name: Side(
            partners[name], orders[name], _reward(client, f"{name}-treat", name),
            _hold(client, member_id, as_partner(client, partners[name])), statements[f"partner:{partners[name]['id']}"],
        )
        for name in ("cafe", "pharmacy")
    }
    return World(
        member_id, sides["cafe"], sides["pharmacy"], statements["operator"], _hold(client, member_id, {}),
        _reward(client, "operator-treat", None),
    )


def state(client: TestClient, world: World) -> tuple[Any, ...]:
    """What a partner might have changed, read with the operator's key."""
    m = world.member_id
    return (
        client.get(f"/v1/members/{m}/balance").json(),
        client.get(f"/v1/members/{m}/entries", params={"limit": 200}).json(),
        client.get(f"/v1/members/{m}/reward-redemptions").json(),
        [client.get(f"/v1/holds/{h['id']}").json() for h in (world.cafe.hold, world.pharmacy.hold, world.operator_hold)],
        [client.get(f"/v1/events/{s.order['event_id']}").json() for s in (world.cafe, world.pharmacy)],
        client.get("/v1/partners").json(),
        client.get("/v1/coalition/settlements").json(),
    )


def not_found(response) -> None:  # type: ignore[no-untyped-def]
    problem(response, 404, NOT_FOUND)


def test_a_partner_reads_its_own_terms_and_statements_only(client: TestClient, world: World) -> None:
    cafe, pharmacy = world.cafe, world.pharmacy
    mine = client.get(f"/v1/partners/{cafe.id}", headers=cafe.key)
    assert mine.status_code == 200 and mine.json()["key"] == "cafe"
    listed = client.get(f"/v1/partners/{cafe.id}/statements", headers=cafe.key)
    assert [s["id"] for s in listed.json()["items"]] == [cafe.statement["id"]]
    for suffix in ("", ".csv", ".pdf"):
        assert client.get(f"/v1/statements/{cafe.statement['id']}{suffix}", headers=cafe.key).status_code == 200, suffix
    before = state(client, world)
    not_found(client.get(f"/v1/partners/{pharmacy.id}", headers=cafe.key))
    not_found(client.get(f"/v1/partners/{pharmacy.id}/statements", headers=cafe.key))
    for statement in (pharmacy.statement, world.operator_statement):
        for suffix in ("", ".csv", ".pdf"):
            response = client.get(f"/v1/statements/{statement['id']}{suffix}", headers=cafe.key)
            not_found(response)
            assert pharmacy.partner["name"] not in response.text
    assert state(client, world) == before


def test_a_partners_till_finds_a_member_by_card_without_their_contact_details(client: TestClient, world: World) -> None:
    enrolled = client.post("/v1/members", json={"external_id": "card-holder", "name": "Noura", "email": "noura@example.com",
                                                "phone": "0501234567", "birth_date": "1990-05-01", "city": "Riyadh"})
    assert enrolled.status_code == 201, enrolled.text
    operator_view = enrolled.json()
    scanned = client.get(f"/v1/cards/{operator_view['card_token']}", headers=world.cafe.key)
    assert scanned.status_code == 200, scanned.text
    seen = scanned.json()
    assert (seen["id"], seen["external_id"], seen["name"]) == (operator_view["id"], "card-holder", "Noura")
    assert (seen["email"], seen["phone"], seen["birth_date"], seen["city"]) == (None, None, None, None)
    assert "noura@example.com" not in scanned.text and operator_view["email"] == "noura@example.com"
    balance = client.get(f"/v1/members/{operator_view['id']}/balance", headers=world.pharmacy.key)
    assert balance.status_code == 200 and balance.json()["available"] == 0
    # The member's profile itself is the operator's: not a partner's route.
    problem(client.get(f"/v1/members/{operator_view['id']}", headers=world.cafe.key), 403, "/problems/forbidden")


@pytest.mark.parametrize("action", ["capture", "void"])
def test_a_partner_resolves_its_own_holds_only(client: TestClient, world: World, action: str) -> None:
    cafe, pharmacy = world.cafe, world.pharmacy
    before = state(client, world)
    for hold in (pharmacy.hold, world.operator_hold):
        not_found(client.post(f"/v1/holds/{hold['id']}/{action}", headers=cafe.key))
        if action == "capture":
            not_found(client.post(f"/v1/holds/{hold['id']}/capture", json={"points": 10}, headers=cafe.key))
    assert state(client, world) == before
    done = client.post(f"/v1/holds/{cafe.hold['id']}/{action}", headers=cafe.key)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == {"capture": "captured", "void": "voided"}[action]
    assert client.get(f"/v1/holds/{pharmacy.hold['id']}").json()["status"] == "open"


def test_a_partner_redeems_its_own_rewards_only(client: TestClient, world: World) -> None:
    cafe, pharmacy = world.cafe, world.pharmacy
    url = f"/v1/members/{world.member_id}/reward-redemptions"
    before = state(client, world)
    for reward in (pharmacy.reward, world.operator_reward):
        not_found(client.post(url, json={"reward_id": reward["id"]}, headers=cafe.key))
        not_found(client.post(url, json={"reward_key": reward["key"]}, headers=cafe.key))
    assert state(client, world) == before
    mine = client.post(url, json={"reward_id": cafe.reward["id"]}, headers=cafe.key)
    assert mine.status_code == 201, mine.text
    # The points spent on the café's reward pay the café.
    entry = client.get(f"/v1/members/{world.member_id}/entries").json()["items"][0]
    assert (entry["kind"], entry["points"], entry["details"]["coalition"]["partner_id"]) == ("redeem", -40, cafe.id)


def test_a_partner_returns_its_own_orders_only(client: TestClient, world: World) -> None:
    cafe, pharmacy = world.cafe, world.pharmacy
    before = state(client, world)
    # The pharmacy's order as the pharmacy's till names it, and by the id it is kept under.
    for order_id in ("P-1", pharmacy.order["order_id"]):
        for extra in ({}, {"amount": "10.00"}, {"return_id": "R-1"}):
            response = client.post("/v1/events", json={"type": "return", "order_id": order_id, **extra}, headers=cafe.key)
            problem(response, 404, NOT_FOUND, "order_id")
    assert state(client, world) == before
    mine = client.post("/v1/events", json={"type": "return", "order_id": "C-1", "amount": "50.00"}, headers=cafe.key)
    assert mine.status_code == 201, mine.text
    assert (mine.json()["order_id"], mine.json()["reversal"]["points"]) == ("cafe:C-1", 100)
    assert client.get(f"/v1/events/{pharmacy.order['event_id']}").json() == before[4][1]


def test_a_partner_exchanges_its_own_points_only(client: TestClient, world: World) -> None:
    cafe, pharmacy = world.cafe, world.pharmacy
    body = {"member_id": world.member_id, "own_points": 25}
    before = state(client, world)
    not_found(client.post(f"/v1/partners/{pharmacy.id}/exchanges", json=body, headers={**cafe.key, "Idempotency-Key": "x-1"}))
    # The café has no points of its own: the pharmacy is not told so, only that there is no such thing.
    not_found(client.post(f"/v1/partners/{cafe.id}/exchanges", json=body, headers={**pharmacy.key, "Idempotency-Key": "x-1"}))
    assert state(client, world) == before
    mine = client.post(f"/v1/partners/{pharmacy.id}/exchanges", json=body, headers={**pharmacy.key, "Idempotency-Key": "x-1"})
    assert mine.status_code == 201, mine.text
    assert (mine.json()["points"], mine.json()["kept"]) == (2, 5)  # 25 Shifa stars at 10 a point


@pytest.mark.parametrize(("path", "body"), [
    ("/v1/events", {"type": "purchase", "member": {"id": 0}, "order_id": "9", "amount": "10.00", "currency": "SAR", "partner": "pharmacy"}),
    ("/v1/members/{m}/redemptions", {"points": 10, "reason": "till", "partner": "pharmacy"}),
    ("/v1/members/{m}/holds", {"points": 10, "reason": "till", "partner": "pharmacy"}),
    ("/v1/members/{m}/wallet/debits", {"amount": "1.00", "currency": "SAR", "reason": "till", "partner": "pharmacy"}),
    ("/v1/members", {"external_id": "enrolled-as-pharmacy", "partner": "pharmacy"}),
], ids=["purchase", "redemption", "hold", "wallet debit", "enrolment"])
def test_a_partner_key_cannot_act_as_another_partner(client: TestClient, world: World, path: str, body: dict[str, Any]) -> None:
    if body.get("member") == {"id": 0}:
        body = {**body, "member": {"id": world.member_id}}
    before = state(client, world)
    problem(client.post(path.format(m=world.member_id), json=body, headers=world.cafe.key), 403, "/problems/forbidden")
    assert state(client, world) == before


@pytest.mark.parametrize("what", ["capture", "reward redemption"])
def test_a_suspended_partners_till_records_nothing(client: TestClient, world: World, what: str) -> None:
    cafe = world.cafe
    assert client.patch(f"/v1/partners/{cafe.id}", json={"status": "suspended"}).status_code == 200
    before = state(client, world)
    # A suspended partner records nothing (as a redemption at its till shows); its history stays.
    problem(client.post(f"/v1/members/{world.member_id}/redemptions", json={"points": 5, "reason": "till"}, headers=cafe.key),
            403, "/problems/forbidden")
    assert client.get(f"/v1/partners/{cafe.id}/statements", headers=cafe.key).status_code == 200
    if what == "capture":
        response = client.post(f"/v1/holds/{cafe.hold['id']}/capture", headers=cafe.key)
    else:
        response = client.post(f"/v1/members/{world.member_id}/reward-redemptions", json={"reward_id": cafe.reward["id"]}, headers=cafe.key)
    problem(response, 403, "/problems/forbidden")
    assert state(client, world) == before


# --- wallet payments of a partner's orders ------------------------------------------------------------


def _funded_member(client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx, clock: FrozenClock) -> int:
    member_id = client.post("/v1/members", json={"external_id": "wallet-member"}).json()["id"]
    with unit_of_work(factory) as session:
        wallet.credit_cashback(session, tenant_id=tenant.id, member_id=member_id, amount=100_00, currency="SAR", pending=False,
                               idempotency_key="seed-wallet", reason="seed", now=clock.now())
    return member_id


def _wallet(client: TestClient, member_id: int) -> str:
    return client.get(f"/v1/members/{member_id}/wallet").json()["currencies"][0]["available"]


def test_returning_a_partners_order_gives_back_the_wallet_money_paid_at_its_till(
    client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx, clock: FrozenClock,
) -> None:
    partners = coalition(client)
    member_id = _funded_member(client, factory, tenant, clock)
    cafe = as_partner(client, partners["cafe"])
    assert buy(client, member_id, "1", "100.00", partners["cafe"]).status_code == 201
    paid = client.post(f"/v1/members/{member_id}/wallet/debits",
                       json={"amount": "10.00", "currency": "SAR", "reason": "till", "order_id": "1"}, headers=cafe)
    assert paid.status_code == 201 and _wallet(client, member_id) == "90.00"
    returned = client.post("/v1/events", json={"type": "return", "order_id": "1"}, headers=cafe)
    assert returned.status_code == 201, returned.text
    assert returned.json()["reversal"]["payments_restored"] == [{"method": "wallet", "amount": "10.00", "currency": "SAR"}]
    assert _wallet(client, member_id) == "100.00"


def test_another_order_with_the_same_number_never_gives_back_a_partners_wallet_payment(
    client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx, clock: FrozenClock,
) -> None:
    partners = coalition(client)
    member_id = _funded_member(client, factory, tenant, clock)
    paid = client.post(f"/v1/members/{member_id}/wallet/debits",
                       json={"amount": "10.00", "currency": "SAR", "reason": "till", "order_id": "1"}, headers=as_partner(client, partners["cafe"]))
    assert paid.status_code == 201
    # The operator's own order 1 (or the pharmacy's, kept as pharmacy:1) is another order.
    for at in (None, partners["pharmacy"]):
        assert buy(client, member_id, "1", "100.00", at).status_code == 201
        headers = as_partner(client, at) if at else {}
        returned = client.post("/v1/events", json={"type": "return", "order_id": "1"}, headers=headers)
        assert returned.status_code == 201, returned.text
        assert returned.json()["reversal"]["payments_restored"] == []
    assert _wallet(client, member_id) == "90.00"


# --- Idempotency-Keys chosen by different partners ------------------------------------------------------


def _request(client: TestClient, world: World, kind: str, side: Side) -> tuple[str, dict[str, Any]]:
    m = world.member_id
    return {
        "purchase": ("/v1/events", {"type": "purchase", "member": {"id": m}, "order_id": "77", "amount": "20.00", "currency": "SAR"}),
        "redemption": (f"/v1/members/{m}/redemptions", {"points": 10, "reason": "till"}),
        "hold": (f"/v1/members/{m}/holds", {"points": 10, "reason": "till"}),
        "wallet debit": (f"/v1/members/{m}/wallet/debits", {"amount": "1.00", "currency": "SAR", "reason": "till"}),
        "reward redemption": (f"/v1/members/{m}/reward-redemptions", {"reward_id": side.reward["id"]}),
        "exchange": (f"/v1/partners/{side.id}/exchanges", {"member_id": m, "own_points": 30}),
    }[kind]


SAME_KEY_KINDS = [
    "purchase",
    "redemption",
    "hold",
    "wallet debit",
    "reward redemption",
    "exchange",
]


@pytest.mark.parametrize("kind", SAME_KEY_KINDS)
def test_one_partners_idempotency_key_never_replays_anothers_answer(
    client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx, clock: FrozenClock, world: World, kind: str,
) -> None:
    with unit_of_work(factory) as session:
        wallet.credit_cashback(session, tenant_id=tenant.id, member_id=world.member_id, amount=50_00, currency="SAR", pending=False,
                               idempotency_key="seed-wallet", reason="seed", now=clock.now())
    # Both partners' tills bring points of their own to exchange.
    patched = client.patch(f"/v1/partners/{world.cafe.id}", json={"own_points_name": "Qahwa beans", "own_points_rate": 10})
    assert patched.status_code == 200, patched.text
    key = {"Idempotency-Key": "till-0001"}
    answers = []
    for side in (world.cafe, world.pharmacy):
        path, body = _request(client, world, kind, side)
        answers.append(client.post(path, json=body, headers={**side.key, **key}))
    first, second = answers
    assert (first.status_code, second.status_code) == (201, 201), (first.text, second.text)
    assert "Idempotent-Replayed" not in second.headers
    assert first.json() != second.json()
    # Each partner's own repeat still replays its own answer.
    for side, answer in zip((world.cafe, world.pharmacy), answers, strict=True):
        path, body = _request(client, world, kind, side)
        again = client.post(path, json=body, headers={**side.key, **key})
        assert (again.status_code, again.json(), again.headers.get("Idempotent-Replayed")) == (201, answer.json(), "true")
