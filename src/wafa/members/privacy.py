"""Members' data rights: an export of everything Wafa holds about a member (JSON, or a zip of one CSV per
section with the JSON), and the erasure of their personal data, asked for by them or due under the
program's retention period. What is read and scrubbed where is `personal_data`'s map.

An erased member stays a row (the ledger's entries, lots and accounts name its id), closed, with
`erased_at` set, nothing that names the person, a new external id, card token and referral code (the
old card and code no longer find anyone). The ledger stays balanced: points and wallet money the member
still holds are forfeited, and a debt written off, each by an entry of the ledger's own adjustment and
wallet services, and only when the request says so; otherwise the erasure is refused.
"""

from __future__ import annotations

import csv
import io
import secrets
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import orjson
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from wafa.errors import Conflict
from wafa.events import awards
from wafa.ledger import service as ledger
from wafa.ledger import wallet
from wafa.ledger.models import Hold, Lot
from wafa.members import activity, personal_data
from wafa.members import service as members
from wafa.members.models import Member
from wafa.members.schemas import Consent
from wafa.memberships import service as memberships
from wafa.outbox import service as outbox
from wafa.rules.models import RuleAward
from wafa.tenants import audit

FORMAT = "wafa.member-export"
VERSION = 1
VIA = ("api", "console", "retention")
FORFEITED = "forfeited: the member's personal data was erased"
WRITTEN_OFF = "debt written off: the member's personal data was erased"


class InDebt(Conflict):
    """Closing a member who owes points or wallet money, without saying the debt is written off."""

    slug = "member-in-debt"
    title = "The member owes points or money"


def write_off_debts(session: Session, *, tenant_id: int, member_id: int, write_off: bool, reason: str, now: datetime, actor: str) -> dict:
    """Before a member is closed: what they owe (points, wallet money by currency), written off by ledger
    entries when `write_off`, else InDebt. A debt left on a closed member would be lost from sight, and
    the same person could open a new account free of it."""
    points = ledger.balances(session, tenant_id=tenant_id, member_id=member_id)
    owed_points = max(0, -(points.get("available", 0) + points.get("pending", 0)))
    money = wallet.balances(session, tenant_id=tenant_id, member_id=member_id)
    owed_money = {currency: -(v["available"] + v["pending"]) for currency, v in money.items() if v["available"] + v["pending"] < 0}
    if not owed_points and not owed_money:
        return {}
    if not write_off:
        raise InDebt("the member owes points or wallet money: send write_off_debt: true to write the debt off and close",
                     points=owed_points, wallet=owed_money)
    available = ledger.balances(session, tenant_id=tenant_id, member_id=member_id).get("available", 0)
    if available < 0:
        ledger.adjust(session, tenant_id=tenant_id, member_id=member_id, points=-available, reason=reason,
                      idempotency_key=f"close:{member_id}:points", now=now, expires_at=None, actor=actor)
    for currency, amounts in wallet.balances(session, tenant_id=tenant_id, member_id=member_id).items():
        if amounts["available"] < 0:
            wallet.refund(session, tenant_id=tenant_id, member_id=member_id, amount=-amounts["available"], currency=currency,
                          idempotency_key=f"close:{member_id}:wallet:{currency}", reason=reason, now=now, details={"actor": actor})
    return {"points": owed_points, "wallet": owed_money}


class BalanceOutstanding(Conflict):
    """The member still holds points or money, or owes some, and the request did not say what to do with it."""

    slug = "balance-outstanding"
    title = "The member still holds a balance"


# --- export ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemberData:
    """Everything held about one member at one moment: each section's columns and rows."""

    member_id: int
    exported_at: datetime
    sections: dict[str, tuple[list[str], list[dict[str, Any]]]]


def export(session: Session, *, tenant_id: int, member_id: int, now: datetime) -> MemberData:
    """Everything the program holds about a member (NotFound if they are not the tenant's)."""
    member = members.get_or_raise(session, tenant_id=tenant_id, member_id=member_id)
    return MemberData(member_id, now, personal_data.read(session, member=member))


def as_json(data: MemberData) -> bytes:
    """The export as one JSON document: {"format", "version", "member_id", "exported_at", "sections": {name: [row, ...]}}."""
    return orjson.dumps({
        "format": FORMAT, "version": VERSION, "member_id": data.member_id, "exported_at": data.exported_at,
        "sections": {name: rows for name, (_columns, rows) in data.sections.items()},
    })


def _cell(value: Any) -> Any:
    """A value as a CSV cell: times in ISO 8601, documents as JSON, text a spreadsheet would run as a formula made plain."""
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    if isinstance(value, str) and value.startswith(("=", "+", "-", "@", "\t", "\r")) and not value.lstrip("+-").replace(".", "").isdigit():
        return "'" + value
    return value


def as_zip(data: MemberData) -> bytes:
    """The export as a zip: member.json (as_json) and one CSV per section, with a header row even when empty."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        archive.writestr("member.json", as_json(data))
        for name, (columns, rows) in data.sections.items():
            text = io.StringIO()
            text.write("\ufeff")  # spreadsheets read the CSV as UTF-8 (Arabic names) with it
            writer = csv.writer(text)
            writer.writerow(columns)
            writer.writerows([_cell(row[c]) for c in columns] for row in rows)
            archive.writestr(f"{name}.csv", text.getvalue().encode())
    return buffer.getvalue()


# --- erasure ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Erasure:
    """What an erasure did (`already`: the member had been erased before, at `erased_at`, and nothing was done now)."""

    member_id: int
    erased_at: datetime
    already: bool = False
    forfeited_points: int = 0
    written_off_points: int = 0
    forfeited_money: dict[str, int] = field(default_factory=dict)  # minor units by currency
    written_off_money: dict[str, int] = field(default_factory=dict)


def erase(
    session: Session, *, tenant_id: int, member_id: int, now: datetime, via: str, actor: str, user_id: int | None = None,
    ip: str | None = None, forfeit_balance: bool = False, write_off_debt: bool = False,
) -> Erasure:
    """Erase a member's personal data for good; asked again, answer what was done the first time. Points and
    money the member holds are forfeited only with `forfeit_balance`, a debt written off only with
    `write_off_debt` (BalanceOutstanding otherwise); a hold open at a till always refuses (it resolves in
    minutes). Audited as who and when, not what."""
    if via not in VIA:
        raise ValueError(f"unknown erasure channel {via}")
    member = _locked(session, tenant_id=tenant_id, member_id=member_id)
    if member.erased_at is not None:
        return Erasure(member_id, member.erased_at, already=True)
    settled = _settle(session, member=member, now=now, forfeit=forfeit_balance, write_off=write_off_debt, actor=actor)
    former, placeholder = member.external_id, f"erased-{secrets.token_hex(12)}"
    personal_data.scrub(session, member=member, external_id=placeholder, now=now)
    members.record_consent(session, tenant_id=tenant_id, member_id=member_id, before=members.consent_of(member), after=Consent(),
                           source="erasure", actor=actor, now=now)
    memberships.end_for_member(session, tenant_id=tenant_id, member_id=member_id, now=now)
    session.execute(update(Member).where(Member.tenant_id == tenant_id, Member.id == member_id).values(
        external_id=placeholder, name=None, email=None, email_key=None, phone=None, birth_date=None, city=None,
        consent_email=False, consent_sms=False, consent_push=False, consent_whatsapp=False, status="closed", status_reason=None,
        referral_code=members.unused_referral_code(session, tenant_id=tenant_id), card_token=secrets.token_urlsafe(24),
        erased_at=now, updated_at=now,
    ))
    session.expire(member)
    outbox.emit(session, tenant_id=tenant_id, type_="member.erased", member_id=member_id, now=now, payload={
        "erased_at": now, "via": via, "former_external_id": former,
    })
    audit.record(session, tenant_id=tenant_id, user_id=user_id, actor=actor, action="member.erased", target=f"member:{member_id}",
                 details={"via": via}, ip=ip, now=now)
    return Erasure(member_id, now, forfeited_points=settled.forfeited_points, written_off_points=settled.written_off_points,
                   forfeited_money=settled.forfeited_money, written_off_money=settled.written_off_money)


def erase_inactive(session: Session, *, tenant_id: int, member_id: int, cutoff: datetime, now: datetime) -> int:
    """Erase a member the retention period has caught, if they are still inactive since `cutoff` now that
    they are locked (1), or not (0); what they hold is forfeited and a debt written off."""
    _locked(session, tenant_id=tenant_id, member_id=member_id)
    still = activity.inactive_since(session, tenant_id=tenant_id, cutoff=cutoff, after_id=member_id - 1, limit=1)
    if still != [(tenant_id, member_id)]:
        return 0
    erase(session, tenant_id=tenant_id, member_id=member_id, now=now, via="retention", actor="retention period",
          forfeit_balance=True, write_off_debt=True)
    return 1


def _locked(session: Session, *, tenant_id: int, member_id: int) -> Member:
    """The member, locked (PostgreSQL: a row lock) so that two erasures at once do one, then the other sees it done."""
    members.get_or_raise(session, tenant_id=tenant_id, member_id=member_id)
    return session.execute(
        select(Member).where(Member.tenant_id == tenant_id, Member.id == member_id).with_for_update().execution_options(populate_existing=True)
    ).scalar_one()


@dataclass
class _Settled:
    forfeited_points: int = 0
    written_off_points: int = 0
    forfeited_money: dict[str, int] = field(default_factory=dict)
    written_off_money: dict[str, int] = field(default_factory=dict)


def _settle(session: Session, *, member: Member, now: datetime, forfeit: bool, write_off: bool, actor: str) -> _Settled:
    """Bring every account of the member to zero through the ledger's services, as the request allows."""
    t, m = member.tenant_id, member.id
    held = session.execute(select(func.count()).select_from(Hold).where(Hold.tenant_id == t, Hold.member_id == m, Hold.status == "open")).scalar_one()
    if held:
        raise Conflict("a hold at a till is open for this member: erase once it is captured, voided or lapses", member_id=m, open_holds=held)
    ledger.expire_due_for_member(session, tenant_id=t, member_id=m, now=now)  # points past expiry are gone already, not forfeited
    points = ledger.balances(session, tenant_id=t, member_id=m)
    money = wallet.balances(session, tenant_id=t, member_id=m)
    available, pending = points.get("available", 0), points.get("pending", 0)
    holds_value = available > 0 or pending > 0 or any(v["available"] > 0 or v["pending"] > 0 for v in money.values())
    owes = available + pending < 0 or any(v["available"] + v["pending"] < 0 for v in money.values())
    if (holds_value and not forfeit) or (owes and not write_off):
        wants = [flag for flag, needed in (("forfeit_balance", holds_value and not forfeit), ("write_off_debt", owes and not write_off)) if needed]
        raise BalanceOutstanding(
            f"the member {'holds points or money' if holds_value else 'owes points or money'}: send {' and '.join(f'{w}: true' for w in wants)} "
            "to erase them anyway", points={"available": available, "pending": pending}, wallet=money, needs=wants,
        )
    done = _Settled()
    # Pending points and cashback first become available (their return window is moot for a closed member),
    # through the same release the worker would do, so they are forfeited with the rest.
    for lot_id in session.execute(select(Lot.id).where(Lot.tenant_id == t, Lot.member_id == m, Lot.released.is_(False), Lot.remaining > 0)
                                  .order_by(Lot.id)).scalars():
        ledger.release_lot(session, tenant_id=t, lot_id=lot_id, now=now)
    for award_id in session.execute(select(RuleAward.id).where(RuleAward.tenant_id == t, RuleAward.member_id == m,
                                                               RuleAward.cashback_released.is_(False)).order_by(RuleAward.id)).scalars():
        awards.release_cashback(session, tenant_id=t, award_id=award_id, now=now)
    left = ledger.balances(session, tenant_id=t, member_id=m).get("available", 0)
    if left:
        ledger.adjust(session, tenant_id=t, member_id=m, points=-left, reason=FORFEITED if left > 0 else WRITTEN_OFF,
                      idempotency_key=f"erase:{m}:points", now=now, expires_at=None, actor=actor)
        if left > 0:
            done.forfeited_points = left
        else:
            done.written_off_points = -left
    for currency, amounts in wallet.balances(session, tenant_id=t, member_id=m).items():
        if amounts["pending"]:
            raise Conflict(f"{currency} cashback is pending for this member and could not be released", member_id=m)
        key = f"erase:{m}:wallet:{currency}"
        if amounts["available"] > 0:
            wallet.debit(session, tenant_id=t, member_id=m, amount=amounts["available"], currency=currency, idempotency_key=key,
                         reason=FORFEITED, now=now, to="cashback", kind="adjust", details={"actor": actor})
            done.forfeited_money[currency] = amounts["available"]
        elif amounts["available"] < 0:
            wallet.refund(session, tenant_id=t, member_id=m, amount=-amounts["available"], currency=currency,
                          idempotency_key=key, reason=WRITTEN_OFF, now=now, details={"actor": actor})
            done.written_off_money[currency] = -amounts["available"]
    return done
