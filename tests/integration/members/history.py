"""Members with a history to export and erase: one who has done a bit of everything, as the shop and the
member would through the API, and one with 10,000 ledger entries written straight into the ledger's
tables, hash chain and all (as `wafa ledger verify` checks), so a test can afford it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from fastapi.testclient import TestClient
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from wafa.db import bulk_insert, chain_hash_py, unit_of_work
from wafa.ledger import service as ledger
from wafa.ledger.models import Account, Entry, Lot, Posting
from wafa.ledger.postings import posting_payload
from wafa.messages.models import MemberMessage
from wafa.tenants import audit

REVIEW = {"type": "object", "properties": {"comment": {"type": "string"}, "stars": {"type": "integer"}}}
ADDRESS = "12 King Fahd Road, Riyadh"
COMMENT = "Nadia at the Olaya branch was rude"
SUSPENSION = "ID card 1034 seen at the till"
NICKNAME = "Sara the Swift"


@dataclass
class Rich:
    """A member who has done a bit of everything, and what they typed where."""

    id: int
    external_id: str
    card_token: str
    referral_code: str
    email: str
    phone: str
    friend_id: int


def rich_member(client: TestClient, factory: sessionmaker[Session], tenant_id: int, now: datetime) -> Rich:
    """A member with contact details and consent, pending and available points, a gift on its way (with the
    delivery address as its note), a survey comment, a review, a suspension's reason, a nickname, a friend
    they referred, and a message sent to them."""
    assert client.patch("/v1/program", json={"pending_days": 14}).status_code == 200
    external_id = f"C-{uuid.uuid4().hex[:8]}"
    made = client.post("/v1/members", json={
        "external_id": external_id, "name": "Sara Al-Harbi", "email": f"{external_id.lower()}@example.com", "phone": "+966551234567",
        "birth_date": "1991-03-14", "city": "Riyadh", "consent": {"email": True, "sms": True},
    }).json()
    member_id = made["id"]
    tag = uuid.uuid4().hex[:8]  # the shop's order ids and the program's keys: nothing of the member's
    assert client.post("/v1/events", json={"type": "purchase", "member": {"id": member_id}, "order_id": f"O-{tag}",
                                           "amount": "500.00", "currency": "SAR"}).status_code == 201
    assert client.post(f"/v1/members/{member_id}/adjustments", json={"points": 300, "reason": "welcome gift"}).status_code == 201
    reward = client.post("/v1/rewards", json={"key": f"mug-{tag}", "name_en": "Mug", "name_ar": "كوب", "points": 100,
                                              "gives": {"type": "gift", "sku": "MUG"}}).json()
    assert client.post(f"/v1/members/{member_id}/reward-redemptions", json={"reward_id": reward["id"], "note": ADDRESS}).status_code == 201
    survey = client.post("/v1/surveys", json={"key": f"nps-{tag}", "title_en": "NPS", "title_ar": "رضا", "questions": [
        {"key": "r", "type": "nps", "text_en": "?", "text_ar": "؟"},
        {"key": "why", "type": "text", "text_en": "Why?", "text_ar": "لماذا؟", "required": False}]}).json()
    assert client.post(f"/v1/surveys/{survey['id']}/invitations", json={"member_ids": [member_id]}).status_code in (200, 201)
    assert client.post(f"/v1/surveys/{survey['id']}/responses", json={"member_id": member_id, "answers": {"r": 4, "why": COMMENT}}).status_code == 201
    client.post("/v1/event-types", json={"name": "review_written", "attributes_schema": REVIEW})
    assert client.post("/v1/events", json={"type": "review_written", "member": {"id": member_id},
                                           "attributes": {"comment": COMMENT, "stars": 2}}).status_code in (200, 201)
    assert client.post(f"/v1/members/{member_id}/suspend", json={"reason": SUSPENSION}).status_code == 200
    assert client.post(f"/v1/members/{member_id}/reactivate", json={"reason": "cleared"}).status_code == 200
    assert client.put(f"/v1/members/{member_id}/leaderboard-profile", json={"nickname": NICKNAME}).status_code == 200
    friend = client.post("/v1/members", json={"external_id": f"F-{tag}", "referral_code": made["referral_code"]}).json()
    with unit_of_work(factory) as session:
        # What the console records when a person suspends a member (web/admin/members.py), reason and all.
        audit.record(session, tenant_id=tenant_id, user_id=None, actor="owner@example.com", action="member.suspended",
                     target=f"member:{member_id}", details={"reason": SUSPENSION}, now=now)
        session.execute(insert(MemberMessage).values(
            tenant_id=tenant_id, member_id=member_id, message_id=f"mm_{uuid.uuid4().hex}", kind="welcome", channels=["email"], channel="email",
            dedupe_key=f"welcome:{member_id}", variables={"name": "Sara"}, status="sent", language="en", address=made["email"],
            subject="Welcome, Sara", body="Dear Sara Al-Harbi, welcome.", attempts=1, due_at=now, created_at=now, sent_at=now, updated_at=now,
        ))
        session.execute(insert(MemberMessage).values(
            tenant_id=tenant_id, member_id=member_id, message_id=f"mm_{uuid.uuid4().hex}", kind="birthday", channels=["sms"], channel="sms",
            dedupe_key=f"birthday:{member_id}:2026", variables={}, status="queued", language="en", address=made["phone"],
            subject=None, body="Happy birthday Sara", attempts=0, due_at=now, created_at=now, updated_at=now,
        ))
    return Rich(member_id, external_id, made["card_token"], made["referral_code"], made["email"], made["phone"], friend["id"])


def seed_entries(factory: sessionmaker[Session], *, tenant_id: int, member_id: int, count: int, now: datetime) -> None:
    """`count` hand adjustments of 1 to 10 points credited to the member, written as the ledger writes them
    (entry, a posting on the program's adjustments account and a hash-chained one on the member's, a lot,
    the account's balance and chain head), in a few set-based statements (COPY on PostgreSQL)."""
    with unit_of_work(factory) as session:
        accounts = ledger.member_accounts(session, tenant_id=tenant_id, member_id=member_id)
        source = ledger.program_accounts(session, tenant_id=tenant_id)["adjustments"]
        target = accounts["available"]
        seq, head, balance = session.execute(select(Account.seq, Account.last_hash, Account.balance).where(Account.id == target)).one()
        points = [1 + n % 10 for n in range(count)]
        made = {key: entry_id for entry_id, key in bulk_insert(session, Entry, [
            {"tenant_id": tenant_id, "kind": "adjust", "idempotency_key": f"seed:{member_id}:{n}", "member_id": member_id, "points": p,
             "reason": "seeded", "details": None, "created_at": now} for n, p in enumerate(points)
        ], conflict=["tenant_id", "idempotency_key"], returning=("id", "idempotency_key"))}
        ids = [made[f"seed:{member_id}:{n}"] for n in range(count)]
        postings, lots = [], []
        for entry_id, p in zip(ids, points, strict=True):
            seq += 1
            head = chain_hash_py(head, posting_payload(tenant_id=tenant_id, entry_id=entry_id, account_id=target, unit="PTS", amount=p,
                                                       kind="adjust"))
            postings += [{"tenant_id": tenant_id, "entry_id": entry_id, "account_id": source, "unit": "PTS", "amount": -p, "seq": None, "hash": None},
                         {"tenant_id": tenant_id, "entry_id": entry_id, "account_id": target, "unit": "PTS", "amount": p, "seq": seq, "hash": head}]
            lots.append({"tenant_id": tenant_id, "member_id": member_id, "entry_id": entry_id, "event_id": None, "amount": p, "remaining": p,
                         "released": True, "available_at": now, "expires_at": None})
        bulk_insert(session, Posting, postings)
        bulk_insert(session, Lot, lots)
        session.execute(update(Account).where(Account.id == target).values(seq=seq, last_hash=head, balance=balance + sum(points)))
