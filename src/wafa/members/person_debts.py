"""A debt follows the person: what someone enrolling already owes as another member of the program (the
same inbox, aliases included, or the same phone), and, by the program's `reenrol_debt` policy, the
enrolment refused ("refuse"), the debt carried over to the new member ("carry") or nothing ("ignore").

Owed is an active, suspended or closed member's points or wallet money below zero, and the debt written
off when a member was closed (members/privacy.py `write_off_debts`) unless a later enrolment carried it
over already. An erased member keeps no e-mail or phone, so matches nobody.

Carrying posts balanced entries: a debt still on a member moves in one entry (the earlier account back to
zero, the new one below zero by as much, so it is owed once); a debt written off is reinstated on the new
member against the account the write-off was paid from, reversing the write-off rather than doubling it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session, aliased

from wafa.errors import PersonInDebt
from wafa.ledger import service as ledger
from wafa.ledger import wallet
from wafa.ledger.models import Account, Entry, Posting
from wafa.ledger.postings import Leg, post_entry
from wafa.members.models import Member
from wafa.money import to_major
from wafa.outbox import service as outbox
from wafa.programs import service as programs

POINTS = "PTS"
# The idempotency keys members/privacy.py `write_off_debts` gives the entries writing off a closing member's
# debt: f"close:{member_id}:points" and f"close:{member_id}:wallet:{currency}".
WRITE_OFF_PREFIX = "close:"


@dataclass(frozen=True, slots=True)
class Debt:
    """One debt of the person as an earlier member, in points (`unit` "PTS") or a wallet currency.

    `written_off` is the entry that wrote it off when the member closed (None: the debt is still on the
    member's account) and `paid_from` the program account that write-off was paid from."""

    member_id: int
    unit: str
    amount: int  # points, or minor units of the currency; positive
    written_off: int | None = None
    paid_from: int | None = None


def before_enrolment(session: Session, *, tenant_id: int, email_key: str | None, phone: str | None) -> list[Debt]:
    """What someone about to enrol with this inbox key (members.service.mailbox_key) and phone owes as other
    members, under the program's policy: PersonInDebt when it refuses them, [] when it ignores debts.
    The earlier members' accounts stay locked (PostgreSQL) until the enrolment commits, so a debt is
    carried once however many enrolments of the person race."""
    if not email_key and not phone:
        return []
    # Most people enrol once: the one query finds nobody, and the program's policy is not even read.
    earlier = _same_person(session, tenant_id=tenant_id, email_key=email_key, phone=phone)
    if not earlier:
        return []
    policy = programs.get(session, tenant_id=tenant_id).reenrol_debt
    if policy == "ignore":
        return []
    debts = _owed(session, tenant_id=tenant_id, earlier=earlier)
    if debts and policy == "refuse":
        points, money = totals(debts)
        said = [f"{points} points"] if points else []
        said += [f"{to_major(amount, currency)} {currency}" for currency, amount in money.items()]
        raise PersonInDebt(
            f"this person owes {' and '.join(said)} as another member of the program (the same e-mail or phone), "
            "and the program does not enrol them again while that is owed", points=points, wallet=money,
        )
    return debts


def totals(debts: Sequence[Debt]) -> tuple[int, dict[str, int]]:
    """The points and the wallet money by currency (minor units) that debts add up to."""
    points = sum(d.amount for d in debts if d.unit == POINTS)
    money: dict[str, int] = {}
    for debt in debts:
        if debt.unit != POINTS:
            money[debt.unit] = money.get(debt.unit, 0) + debt.amount
    return points, dict(sorted(money.items()))


def carry(session: Session, *, tenant_id: int, member_id: int, debts: Sequence[Debt], now: datetime) -> list[int]:
    """Carry debts over to the member just enrolled, each by one balanced entry; return the entry ids."""
    return [
        _reinstate(session, tenant_id=tenant_id, member_id=member_id, debt=debt, now=now) if debt.written_off is not None
        else _move(session, tenant_id=tenant_id, member_id=member_id, debt=debt, now=now)
        for debt in debts
    ]


# --- finding what is owed ----------------------------------------------------------------------------------


def _same_person(session: Session, *, tenant_id: int, email_key: str | None, phone: str | None) -> list[tuple[int, str]]:
    """(id, status) of the members with this inbox or phone, oldest first: one query on indexed columns."""
    contacts = []
    if email_key:
        contacts.append(Member.email_key == email_key)
    if phone:
        contacts.append(Member.phone == phone)
    rows = session.execute(
        select(Member.id, Member.status).where(Member.tenant_id == tenant_id, or_(*contacts), Member.erased_at.is_(None)).order_by(Member.id)
    )
    return [(int(member_id), str(status)) for member_id, status in rows]


def _owed(session: Session, *, tenant_id: int, earlier: list[tuple[int, str]]) -> list[Debt]:
    """The earlier members' debts: what their accounts owe (read under a lock), and closed members' debts
    written off and not carried over since."""
    debts: list[Debt] = []
    for member_id, _status in earlier:
        available = ledger.member_accounts(session, tenant_id=tenant_id, member_id=member_id)["available"]
        points = ledger.lock_accounts(session, tenant_id=tenant_id, account_ids=[available]).get(available, 0)
        if points < 0:
            debts.append(Debt(member_id, POINTS, -points))
        debts += [Debt(member_id, currency, amount) for currency, amount in
                  wallet.debts(session, tenant_id=tenant_id, member_id=member_id, lock=True).items()]
    closed = [member_id for member_id, status in earlier if status == "closed"]
    if closed:
        debts += _written_off(session, tenant_id=tenant_id, member_ids=closed)
    return debts


def _written_off(session: Session, *, tenant_id: int, member_ids: list[int]) -> list[Debt]:
    """Debts written off when these members closed, that no entry has reversed (carried over) since."""
    reversal = aliased(Entry)
    carried = exists().where(reversal.tenant_id == tenant_id, reversal.reverses_entry_id == Entry.id)
    rows = session.execute(
        select(Entry.id, Entry.member_id, Entry.idempotency_key, Posting.account_id, Posting.unit, Posting.amount, Account.member_id)
        .join(Posting, Posting.entry_id == Entry.id)
        .join(Account, Account.id == Posting.account_id)
        .where(Entry.tenant_id == tenant_id, Entry.member_id.in_(member_ids), Entry.idempotency_key.startswith(WRITE_OFF_PREFIX), ~carried)
        .order_by(Entry.id, Posting.id)
    ).all()
    postings: dict[tuple[int, int], list[tuple[int, str, int, int | None]]] = {}
    for entry_id, member_id, key, account_id, unit, amount, owner in rows:
        if member_id is not None and key.startswith(f"{WRITE_OFF_PREFIX}{member_id}:"):
            postings.setdefault((entry_id, member_id), []).append((account_id, unit, int(amount), owner))
    debts = []
    for (entry_id, member_id), legs in postings.items():
        # The member's account was paid what they owed (+amount), from a program account in the same unit (-amount).
        for _account, unit, amount, owner in legs:
            paid_from = next((a for a, u, m, o in legs if o is None and u == unit and m == -amount), None)
            if owner == member_id and amount > 0 and paid_from is not None:
                debts.append(Debt(member_id, unit, amount, written_off=entry_id, paid_from=paid_from))
                break
    return debts


# --- carrying it over ------------------------------------------------------------------------------------------


def _account(session: Session, *, tenant_id: int, member_id: int, unit: str) -> int:
    """The member's available points account, or their available wallet in a currency (opened on first use)."""
    if unit == POINTS:
        return ledger.member_accounts(session, tenant_id=tenant_id, member_id=member_id)["available"]
    return wallet.accounts(session, tenant_id=tenant_id, member_id=member_id, currency=unit)["wallet"]


def _move(session: Session, *, tenant_id: int, member_id: int, debt: Debt, now: datetime) -> int:
    """Move a debt still on an earlier member to the new one in one entry: theirs back to zero, the new
    member's below zero by as much. Neither account has points left in lots (a negative balance has none)."""
    reason = f"debt carried over from member {debt.member_id}: the same person (e-mail or phone) enrolled again"
    legs = [
        Leg(_account(session, tenant_id=tenant_id, member_id=debt.member_id, unit=debt.unit), debt.amount, member_account=True),
        Leg(_account(session, tenant_id=tenant_id, member_id=member_id, unit=debt.unit), -debt.amount, member_account=True),
    ]
    entry_id = _post(session, tenant_id=tenant_id, member_id=member_id, debt=debt, legs=legs, reason=reason, now=now,
                     key=f"reenrol:{member_id}:from:{debt.member_id}:{debt.unit}")
    # The earlier member's side: their debt is gone (a credit to them, as an adjustment says one).
    back = f"debt carried over to member {member_id}: the same person (e-mail or phone) enrolled again"
    if debt.unit == POINTS:
        outbox.emit(session, tenant_id=tenant_id, type_="points.adjusted", member_id=debt.member_id, now=now, payload={
            "points": debt.amount, "reason": back, "entry_id": entry_id, "actor": None,
        })
    else:
        outbox.emit(session, tenant_id=tenant_id, type_="wallet.credited", member_id=debt.member_id, now=now, payload={
            **outbox.wallet_payload(amount=debt.amount, currency=debt.unit, status="available", kind="reverse", reason=back),
            "entry_id": entry_id, "event_id": None,
        })
    return entry_id


def _reinstate(session: Session, *, tenant_id: int, member_id: int, debt: Debt, now: datetime) -> int:
    """Owe again, as the new member, a debt written off when an earlier member closed: the program account
    the write-off was paid from gets it back, so the write-off is reversed (once: it names the write-off)."""
    assert debt.written_off is not None and debt.paid_from is not None
    reason = f"debt written off when member {debt.member_id} closed, carried over: the same person (e-mail or phone) enrolled again"
    legs = [
        Leg(debt.paid_from, debt.amount, member_account=False),
        Leg(_account(session, tenant_id=tenant_id, member_id=member_id, unit=debt.unit), -debt.amount, member_account=True),
    ]
    return _post(session, tenant_id=tenant_id, member_id=member_id, debt=debt, legs=legs, reason=reason, now=now,
                 key=f"reenrol:reinstate:{debt.written_off}", reverses=debt.written_off)


def _post(
    session: Session, *, tenant_id: int, member_id: int, debt: Debt, legs: list[Leg], reason: str, now: datetime, key: str,
    reverses: int | None = None,
) -> int:
    """Post one carry-over entry on the new member (a reversal: what a return took back is owed again) and
    say so as the ledger does for a reversal of points or wallet money."""
    details: dict = {"carried_from_member_id": debt.member_id}
    if debt.unit == POINTS:
        entry_id, _ = post_entry(session, tenant_id=tenant_id, kind="reverse", idempotency_key=key, legs=legs, reason=reason, now=now,
                                 member_id=member_id, points=-debt.amount, details=details, reverses_entry_id=reverses)
        outbox.emit(session, tenant_id=tenant_id, type_="points.reversed", member_id=member_id, now=now, payload={
            "points": debt.amount, "reason": reason, "entry_id": entry_id, "reverses_entry_id": reverses, "event_id": None,
        })
        return entry_id
    details.update(currency=debt.unit, amount=-debt.amount)
    entry_id, _ = post_entry(session, tenant_id=tenant_id, kind="reverse", idempotency_key=key, legs=legs, reason=reason, now=now,
                             member_id=member_id, unit=debt.unit, details=details, reverses_entry_id=reverses)
    outbox.emit(session, tenant_id=tenant_id, type_="wallet.debited", member_id=member_id, now=now, payload={
        **outbox.wallet_payload(amount=debt.amount, currency=debt.unit, status="available", kind="reverse", reason=reason),
        "entry_id": entry_id, "event_id": None,
    })
    return entry_id
