"""Erasing a member: every place that held their personal data no longer does, the ledger still balances
(`wafa ledger verify` passes), the old card and referral code find nobody, the outside world is told, and
asking again changes nothing. On SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from tests.conftest import TenantCtx
from tests.integration.members.history import ADDRESS, COMMENT, NICKNAME, SUSPENSION, rich_member
from wafa.cli.main import app as cli
from wafa.clock import FrozenClock
from wafa.config import get_settings
from wafa.db import unit_of_work
from wafa.engagement.models import LeaderboardProfile, SurveyInvitation, SurveyResponse
from wafa.events.models import Event
from wafa.ledger import service as ledger
from wafa.ledger.models import Entry
from wafa.members import personal_data, privacy
from wafa.members import service as members
from wafa.members.models import ConsentChange, Member
from wafa.messages.models import MemberMessage
from wafa.outbox import service as outbox
from wafa.outbox.models import OutboxMessage
from wafa.rewards.models import RewardRedemption
from wafa.tenants import audit
from wafa.tenants.models import AuditEntry


def verify_cli(db_url: str, slug: str, monkeypatch: pytest.MonkeyPatch) -> dict:  # type: ignore[type-arg]
    """`wafa ledger verify --tenant SLUG --json`, as an operator runs it."""
    monkeypatch.setenv("WAFA_DATABASE_URL", db_url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["ledger", "verify", "--tenant", slug, "--json"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def text_of(session: Session, tenant_id: int) -> str:
    """Every row of the tables that held what the member typed or was told, the outbox and the audit trail,
    as one text; but member.erased, which tells the shop's systems whom to erase on their side."""
    rows: list[str] = []
    for model in (MemberMessage, SurveyResponse, Event, RewardRedemption, LeaderboardProfile, OutboxMessage, AuditEntry, Member, Entry):
        table = model.__table__
        query = select(table).where(table.c.tenant_id == tenant_id)
        if model is OutboxMessage:
            query = query.where(table.c.type != "member.erased")
        rows += [str(tuple(r)) for r in session.execute(query)]
    return "\n".join(rows)


def test_erasure_leaves_no_personal_data_and_a_ledger_that_verifies(
    client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx, clock: FrozenClock, db_url: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    rich = rich_member(client, factory, tenant.id, clock.now())
    with factory() as session:
        before = text_of(session, tenant.id)
        invitation_tokens = set(session.execute(select(SurveyInvitation.token).where(SurveyInvitation.member_id == rich.id)).scalars())
        held = ledger.balances(session, tenant_id=tenant.id, member_id=rich.id)
    for secret in (rich.email, rich.phone, ADDRESS, COMMENT, SUSPENSION, NICKNAME, "Sara Al-Harbi", rich.external_id):
        assert secret in before, secret  # the history really holds each of them, so their absence below means something
    assert held["pending"] == 500 and held["available"] == 200  # 300 given by hand, 100 spent on the mug

    with unit_of_work(factory) as session:
        done = privacy.erase(session, tenant_id=tenant.id, member_id=rich.id, now=clock.now(), via="api", actor="api key 1",
                             forfeit_balance=True)
    assert (done.forfeited_points, done.written_off_points, done.already) == (700, 0, False)

    with factory() as session:
        after = text_of(session, tenant.id)
        member = members.get_or_raise(session, tenant_id=tenant.id, member_id=rich.id)
        assert ledger.balances(session, tenant_id=tenant.id, member_id=rich.id) == {"available": 0, "pending": 0, "held": 0}
        assert members.get_by_card_token(session, tenant_id=tenant.id, token=rich.card_token) is None
        assert members.get_by_referral_code(session, tenant_id=tenant.id, code=rich.referral_code) is None
        assert members.get_by_external_id(session, tenant_id=tenant.id, external_id=rich.external_id) is None
        left = set(session.execute(select(SurveyInvitation.token).where(SurveyInvitation.member_id == rich.id)).scalars())
        answers = session.execute(select(SurveyResponse.answers).where(SurveyResponse.member_id == rich.id)).scalar_one()
        messages = session.execute(select(MemberMessage.status, MemberMessage.address, MemberMessage.body)
                                   .where(MemberMessage.member_id == rich.id).order_by(MemberMessage.id)).all()
        consent = session.execute(select(ConsentChange.channel, ConsentChange.granted, ConsentChange.source)
                                  .where(ConsentChange.member_id == rich.id, ConsentChange.source == "erasure")).all()
        (record,) = audit.list_(session, tenant_id=tenant.id, action="member.erased")
        (suspended,) = audit.list_(session, tenant_id=tenant.id, action="member.suspended")
        friend_referral = personal_data.read(session, member=members.get_or_raise(session, tenant_id=tenant.id, member_id=rich.friend_id))
    for secret in (rich.email, rich.phone, ADDRESS, COMMENT, SUSPENSION, NICKNAME, "Sara Al-Harbi", "Riyadh", "1991-03-14", rich.external_id):
        assert secret not in after, secret
    assert (member.status, member.erased_at, member.name, member.email, member.phone, member.birth_date, member.city) == (
        "closed", clock.now(), None, None, None, None, None)
    assert member.external_id.startswith("erased-") and member.card_token != rich.card_token
    assert not (left & invitation_tokens) and len(left) == 1  # the old survey link answers nothing
    assert answers == {"r": 4}  # the score stays for the NPS, the comment is gone
    assert messages == [("sent", None, None), ("cancelled", None, None)]
    assert sorted(consent) == [("email", False, "erasure"), ("sms", False, "erasure")]
    assert (record.actor, record.target, record.details) == ("api key 1", f"member:{rich.id}", {"via": "api"})
    assert (suspended.actor, suspended.details) == ("owner@example.com", {})  # who suspended them stays; the reason typed goes
    with factory() as session:
        told = session.execute(select(OutboxMessage.member_id, OutboxMessage.payload).where(
            OutboxMessage.tenant_id == tenant.id, OutboxMessage.type == "member.erased")).one()
    assert told == (rich.id, {"erased_at": clock.now().isoformat(), "via": "api", "former_external_id": rich.external_id})
    # The friend they referred still sees the referral (it is theirs too), without anything naming the erased member.
    assert [r["referrer_id"] for r in friend_referral["referrals"][1]] == [rich.id]

    report = verify_cli(db_url, tenant.slug, monkeypatch)
    assert report["ok"] is True and not report["problems"], report


def test_erasing_again_does_nothing_more(client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx, clock: FrozenClock) -> None:
    member_id = client.post("/v1/members", json={"external_id": "again", "email": "again@example.com"}).json()["id"]
    with unit_of_work(factory) as session:
        first = privacy.erase(session, tenant_id=tenant.id, member_id=member_id, now=clock.now(), via="console", actor="owner@example.com")
    clock.advance(__import__("datetime").timedelta(days=1))
    with unit_of_work(factory) as session:
        again = privacy.erase(session, tenant_id=tenant.id, member_id=member_id, now=clock.now(), via="api", actor="api key 2")
        token = members.get_or_raise(session, tenant_id=tenant.id, member_id=member_id).card_token
        queued = [m["type"] for m in outbox.pending(session)]
    assert (again.already, again.erased_at) == (True, first.erased_at) and "member.erased" not in queued
    with factory() as session:
        assert members.get_or_raise(session, tenant_id=tenant.id, member_id=member_id).card_token == token
        assert len(audit.list_(session, tenant_id=tenant.id, action="member.erased")) == 1


def test_a_debt_is_written_off_by_an_entry_and_the_ledger_verifies(
    client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx, clock: FrozenClock, db_url: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A return after the points were spent leaves a debt; writing it off is an adjustment entry, and verify agrees."""
    member_id = client.post("/v1/members", json={"external_id": "debtor"}).json()["id"]
    assert client.post("/v1/events", json={"type": "purchase", "member": {"id": member_id}, "order_id": "D-1", "amount": "200.00",
                                           "currency": "SAR"}).status_code == 201
    assert client.post(f"/v1/members/{member_id}/redemptions", json={"points": 150, "reason": "spent"}).status_code == 201
    assert client.post("/v1/events", json={"type": "return", "order_id": "D-1", "amount": "200.00"}).status_code == 201
    with factory() as session:
        assert ledger.balances(session, tenant_id=tenant.id, member_id=member_id)["available"] == -150
    with unit_of_work(factory) as session:
        done = privacy.erase(session, tenant_id=tenant.id, member_id=member_id, now=clock.now(), via="api", actor="api key 1",
                             write_off_debt=True)
    assert (done.forfeited_points, done.written_off_points) == (0, 150)
    with factory() as session:
        assert ledger.balances(session, tenant_id=tenant.id, member_id=member_id)["available"] == 0
        kinds = session.execute(select(Entry.kind, Entry.points).where(Entry.member_id == member_id).order_by(Entry.id.desc()).limit(1)).one()
    assert tuple(kinds) == ("adjust", 150)
    assert verify_cli(db_url, tenant.slug, monkeypatch)["ok"] is True


def test_every_table_naming_a_member_is_in_the_data_map() -> None:
    """A table added later with a member column must be exported, or listed with the reason it is not."""
    from wafa.all_models import Account  # noqa: F401  (every table on the metadata)
    from wafa.db import Base

    exported = {section.model.__table__.name for section in personal_data.SECTIONS}
    naming = set()
    for table in Base.metadata.tables.values():
        columns = {"member_id", *personal_data.MEMBER_COLUMNS.get(table.name, ())}
        if table.name == "members" or columns & set(table.columns.keys()):
            naming.add(table.name)
    assert naming - exported - set(personal_data.NOT_EXPORTED) == set()
    assert exported & set(personal_data.NOT_EXPORTED) == set()


def test_members_count_is_unchanged_by_an_erasure(client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx, clock: FrozenClock) -> None:
    """The row stays (the ledger names its id); only what named the person goes."""
    member_id = client.post("/v1/members", json={"external_id": "stays"}).json()["id"]
    with factory() as session:
        count = session.execute(select(func.count()).select_from(Member).where(Member.tenant_id == tenant.id)).scalar_one()
    with unit_of_work(factory) as session:
        privacy.erase(session, tenant_id=tenant.id, member_id=member_id, now=clock.now(), via="api", actor="api key 1")
    with factory() as session:
        assert session.execute(select(func.count()).select_from(Member).where(Member.tenant_id == tenant.id)).scalar_one() == count
    assert client.get(f"/v1/members/{member_id}").json()["status"] == "closed"
