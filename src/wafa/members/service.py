"""Members: enrol, read, search, update, suspend, reactivate, close."""

from __future__ import annotations

import calendar
import secrets
from collections.abc import Iterator
from datetime import date, datetime
from zoneinfo import ZoneInfo

import phonenumbers
from sqlalchemy import ColumnElement, Subquery, extract, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from wafa.db import bucket_of, bulk_insert, in_chunks
from wafa.errors import Conflict, InvalidInput, MemberNotActive, NotFound
from wafa.ledger import service as ledger
from wafa.members import person_debts
from wafa.members.models import ConsentChange, Member
from wafa.members.schemas import Consent, MemberCreate, MemberRead, MemberUpdate
from wafa.outbox import service as outbox

# No 0/O, 1/I/L: codes are read aloud and typed on phones.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def normalize_phone(raw: str | None, *, region: str) -> str | None:
    """Return a phone number in E.164, reading national numbers in the program's region."""
    if raw is None or not raw.strip():
        return None
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise InvalidInput(f"{raw!r} is not a phone number", field="phone") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput(f"{raw!r} is not a valid phone number", field="phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(raw: str | None) -> str | None:
    return raw.strip().lower() if raw else None


# Providers whose mailboxes ignore dots in the local part (j.smith@ and jsmith@ are one inbox).
_DOTLESS = frozenset({"gmail.com", "googlemail.com"})
# One provider under several names.
_SAME_PROVIDER = {"googlemail.com": "gmail.com"}


def mailbox_key(email: str | None) -> str | None:
    """The inbox an address delivers to, for telling people apart: lower case, the sub-address after "+"
    dropped (RFC 5233; Gmail, Outlook, iCloud, Proton, Fastmail deliver name+anything@ to name@), and at
    Gmail the dots of the local part too. Kept beside the address as typed (`members.email_key`), so a
    second account made with an alias is the same person to self-referral checks and debts."""
    address = normalize_email(email)
    if not address or "@" not in address:
        return address
    local, _, domain = address.rpartition("@")
    domain = _SAME_PROVIDER.get(domain, domain)
    local = local.split("+", 1)[0] or local
    if domain in _DOTLESS:
        local = local.replace(".", "") or local
    return f"{local}@{domain}"


def referral_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))


def get(session: Session, *, tenant_id: int, member_id: int) -> Member | None:
    """Return a member of this tenant by id, or None."""
    return session.execute(
        select(Member).where(Member.tenant_id == tenant_id, Member.id == member_id)
    ).scalar_one_or_none()


def get_or_raise(session: Session, *, tenant_id: int, member_id: int) -> Member:
    """Return a member of this tenant by id or raise NotFound."""
    member = get(session, tenant_id=tenant_id, member_id=member_id)
    if member is None:
        raise NotFound(f"member {member_id} not found", field="member_id")
    return member


def get_by_external_id(session: Session, *, tenant_id: int, external_id: str) -> Member | None:
    """Return a member by the shop's own id, or None."""
    return session.execute(
        select(Member).where(Member.tenant_id == tenant_id, Member.external_id == external_id)
    ).scalar_one_or_none()


def get_by_external_id_or_raise(session: Session, *, tenant_id: int, external_id: str, field: str = "member.external_id") -> Member:
    """Return a member by the shop's own id or raise NotFound."""
    member = get_by_external_id(session, tenant_id=tenant_id, external_id=external_id)
    if member is None:
        raise NotFound(f"no member with external id {external_id!r}", field=field)
    return member


def get_by_card_token(session: Session, *, tenant_id: int, token: str) -> Member | None:
    """Return the member whose card carries this token, or None."""
    return session.execute(
        select(Member).where(Member.tenant_id == tenant_id, Member.card_token == token)
    ).scalar_one_or_none()


def require_active(member: Member) -> None:
    """Raise MemberNotActive unless the member may earn and spend."""
    if member.status != "active":
        raise MemberNotActive(f"member {member.id} is {member.status}", member_status=member.status)


def create(
    session: Session, *, tenant_id: int, member_in: MemberCreate, region: str, now: datetime, channel: str = "api", actor: str | None = None,
    partner_id: int | None = None,
) -> Member:
    """Enrol a member and open their points accounts; `channel` says where they joined (api, portal),
    `actor` who enrolled them (recorded with the consent they gave), `partner_id` the coalition partner
    they joined through. What the person owes as another member is refused or carried over as the
    program says (person_debts)."""
    if get_by_external_id(session, tenant_id=tenant_id, external_id=member_in.external_id) is not None:
        raise Conflict(f"a member with external id {member_in.external_id!r} exists", field="external_id")
    _check_birth_date(member_in.birth_date, now)
    email_key, phone = mailbox_key(member_in.email), normalize_phone(member_in.phone, region=region)
    # A debt follows the person (the program's `reenrol_debt`): refused here, before anything is written, or carried below.
    debts = person_debts.before_enrolment(session, tenant_id=tenant_id, email_key=email_key, phone=phone)
    values = {
        "tenant_id": tenant_id,
        "external_id": member_in.external_id,
        "name": member_in.name,
        "email": normalize_email(member_in.email),
        "email_key": email_key,
        "phone": phone,
        "locale": member_in.locale,
        "birth_date": member_in.birth_date,
        "city": member_in.city,
        "consent_email": member_in.consent.email,
        "consent_sms": member_in.consent.sms,
        "consent_push": member_in.consent.push,
        "consent_whatsapp": member_in.consent.whatsapp,
        "status": "active",
        "referral_code": referral_code(),
        "card_token": secrets.token_urlsafe(24),
        "enrolled_at": now,
        "updated_at": now,
        "partner_id": partner_id,
    }
    try:
        with session.begin_nested():
            member_id = session.execute(insert(Member).values(**values).returning(Member.id)).scalar_one()
    except IntegrityError:
        # Two enrolments of one external id at once: the loser sees the winner's row.
        raise Conflict(f"a member with external id {member_in.external_id!r} exists", field="external_id") from None
    ledger.open_member_accounts(session, tenant_id=tenant_id, member_id=member_id)
    if debts:
        person_debts.carry(session, tenant_id=tenant_id, member_id=member_id, debts=debts, now=now)
    record_consent(session, tenant_id=tenant_id, member_id=member_id, before=Consent(), after=member_in.consent,
                    source=channel, actor=actor, now=now)
    outbox.emit(session, tenant_id=tenant_id, type_="member.enrolled", member_id=member_id, now=now, payload={
        "external_id": member_in.external_id, "enrolled_at": now, "channel": channel,
    })
    return get_or_raise(session, tenant_id=tenant_id, member_id=member_id)


def _check_birth_date(birth_date: date | None, now: datetime) -> None:
    if birth_date is not None and (birth_date > now.date() or birth_date.year < 1900):
        raise InvalidInput("birth date must be between 1900 and today", field="birth_date")


def update_profile(
    session: Session, *, tenant_id: int, member_id: int, member_in: MemberUpdate, region: str, now: datetime,
    source: str = "api", actor: str | None = None,
) -> Member:
    """Change the given profile fields; return the member. A change of consent is recorded with
    `source` (api, console, portal) and `actor` (who)."""
    member = get_or_raise(session, tenant_id=tenant_id, member_id=member_id)
    data = member_in.model_dump(exclude_unset=True)
    values: dict[str, object] = {}
    for key in ("name", "locale", "birth_date", "city"):
        if key in data:
            values[key] = data[key]
    if "locale" in values and values["locale"] is None:
        raise InvalidInput("locale cannot be empty", field="locale")
    if "email" in data:
        values["email"] = normalize_email(data["email"])
        values["email_key"] = mailbox_key(data["email"])
    if "phone" in data:
        values["phone"] = normalize_phone(data["phone"], region=region)
    if data.get("consent") is not None:
        # The channels given change; the others keep their consent ({"sms": true} withdraws nothing).
        consent = consent_of(member).model_copy(update=data["consent"])
        values.update(consent_email=consent.email, consent_sms=consent.sms, consent_push=consent.push, consent_whatsapp=consent.whatsapp)
        record_consent(session, tenant_id=tenant_id, member_id=member.id, before=consent_of(member), after=consent,
                        source=source, actor=actor, now=now)
    _check_birth_date(values.get("birth_date"), now)  # type: ignore[arg-type]
    values["updated_at"] = now
    session.execute(update(Member).where(Member.tenant_id == tenant_id, Member.id == member.id).values(**values))
    changed = sorted({"consent" if key.startswith("consent_") else key for key in values if key != "updated_at"})
    if changed:
        outbox.emit(session, tenant_id=tenant_id, type_="member.updated", member_id=member.id, now=now, payload={"changed": changed})
    session.expire(member)
    return get_or_raise(session, tenant_id=tenant_id, member_id=member_id)


CONSENT_CHANNELS = ("email", "sms", "whatsapp", "push")


def consent_of(member: Member) -> Consent:
    return Consent(email=member.consent_email, sms=member.consent_sms, push=member.consent_push, whatsapp=member.consent_whatsapp)


def record_consent(
    session: Session, *, tenant_id: int, member_id: int, before: Consent, after: Consent, source: str, actor: str | None, now: datetime,
) -> None:
    """Record a change of consent on each channel where `after` differs from `before` (one row per channel)."""
    rows = [
        {"tenant_id": tenant_id, "member_id": member_id, "channel": channel, "granted": getattr(after, channel), "source": source,
         "actor": actor, "at": now}
        for channel in CONSENT_CHANNELS if getattr(after, channel) != getattr(before, channel)
    ]
    if rows:
        session.execute(insert(ConsentChange), rows)


def set_consent(
    session: Session, *, tenant_id: int, member_id: int, channel: str, granted: bool, source: str, actor: str | None, now: datetime,
) -> bool:
    """Give or withdraw consent on one channel (an unsubscribe link, the console); return whether it changed."""
    if channel not in CONSENT_CHANNELS:
        raise InvalidInput(f"no channel {channel!r}; one of {', '.join(CONSENT_CHANNELS)}", field="channel")
    member = get_or_raise(session, tenant_id=tenant_id, member_id=member_id)
    before = consent_of(member)
    if getattr(before, channel) == granted:
        return False
    after = before.model_copy(update={channel: granted})
    session.execute(
        update(Member).where(Member.tenant_id == tenant_id, Member.id == member_id).values({f"consent_{channel}": granted, "updated_at": now})
    )
    record_consent(session, tenant_id=tenant_id, member_id=member_id, before=before, after=after, source=source, actor=actor, now=now)
    outbox.emit(session, tenant_id=tenant_id, type_="member.updated", member_id=member_id, now=now, payload={"changed": ["consent"]})
    session.expire(member)
    return True


def consent_history(
    session: Session, *, tenant_id: int, member_id: int, limit: int = 200, before_id: int | None = None,
) -> list[ConsentChange]:
    """A member's consent changes, newest first (older than a cursor, when given)."""
    query = select(ConsentChange).where(ConsentChange.tenant_id == tenant_id, ConsentChange.member_id == member_id)
    if before_id is not None:
        query = query.where(ConsentChange.id < before_id)
    return list(session.execute(query.order_by(ConsentChange.id.desc()).limit(limit)).scalars())


TRANSITIONS = {"suspend": ("active", "suspended"), "reactivate": ("suspended", "active"), "close": (None, "closed")}


def change_status(session: Session, *, tenant_id: int, member_id: int, action: str, reason: str | None, now: datetime) -> Member:
    """Suspend, reactivate or close a member; closing is final."""
    member = get_or_raise(session, tenant_id=tenant_id, member_id=member_id)
    source, target = TRANSITIONS[action]
    if member.status == "closed" or (source is not None and member.status != source):
        raise Conflict(f"cannot {action} a member who is {member.status}", member_status=member.status)
    session.execute(
        update(Member)
        .where(Member.tenant_id == tenant_id, Member.id == member_id)
        .values(status=target, status_reason=reason, updated_at=now)
    )
    outbox.emit(
        session, tenant_id=tenant_id, type_="member.suspended" if action == "suspend" else "member.updated", member_id=member_id,
        now=now, payload={"status": target, "reason": reason} if action == "suspend" else {"changed": ["status"], "status": target},
    )
    session.expire(member)
    return get_or_raise(session, tenant_id=tenant_id, member_id=member_id)


def search(
    session: Session,
    *,
    tenant_id: int,
    region: str,
    external_id: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    after_id: int | None = None,
    limit: int = 50,
) -> list[Member]:
    """Members matching every given filter, in id order after a cursor."""
    query = select(Member).where(Member.tenant_id == tenant_id)
    if external_id is not None:
        query = query.where(Member.external_id == external_id)
    if email is not None:
        query = query.where(Member.email == normalize_email(email))
    if phone is not None:
        query = query.where(Member.phone == normalize_phone(phone, region=region))
    if after_id is not None:
        query = query.where(Member.id > after_id)
    return list(session.execute(query.order_by(Member.id).limit(limit)).scalars())


def matching(text: str, *, region: str) -> ColumnElement[bool]:
    """The condition "is the member a person typed": the exact external id, e-mail or phone, or a part of
    the name (case-insensitive)."""
    exact = [Member.external_id == text]
    if "@" in text:
        exact.append(Member.email == normalize_email(text))
    try:
        phone = normalize_phone(text, region=region)
    except InvalidInput:
        phone = None
    if phone:
        exact.append(Member.phone == phone)
    pattern = "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return or_(*exact, func.lower(Member.name).like(pattern, escape="\\"))


def find(session: Session, *, tenant_id: int, text: str, region: str, limit: int = 50) -> list[Member]:
    """Members a person typed: the exact external id, e-mail or phone, or a part of the name."""
    text = text.strip()
    if not text:
        return []
    query = select(Member).where(Member.tenant_id == tenant_id, matching(text, region=region))
    return list(session.execute(query.order_by(Member.id.desc()).limit(limit)).scalars())


def find_recent(session: Session, *, tenant_id: int, limit: int = 50) -> list[Member]:
    """The members who joined last."""
    return list(session.execute(
        select(Member).where(Member.tenant_id == tenant_id).order_by(Member.id.desc()).limit(limit)
    ).scalars())


def born_on(session: Session, *, tenant_id: int, day: date) -> list[int]:
    """Ids of active members whose birthday is `day` (those born on 29 February count on the 28th in
    other years)."""
    month, dom = extract("month", Member.birth_date), extract("day", Member.birth_date)
    on: ColumnElement[bool] = (month == day.month) & (dom == day.day)
    if day.month == 2 and day.day == 28 and not calendar.isleap(day.year):
        on = or_(on, (month == 2) & (dom == 29))
    return list(
        session.execute(
            select(Member.id).where(Member.tenant_id == tenant_id, Member.status == "active", on).order_by(Member.id)
        ).scalars()
    )


PROFILE_FIELDS = ("name", "email", "phone", "birth_date", "city")


def profile_complete(member: Member) -> bool:
    """Whether the member has given everything the profile asks for (rules may reward it once)."""
    return all(getattr(member, name) for name in PROFILE_FIELDS)


def to_read(member: Member) -> MemberRead:
    """The API shape of a member."""
    return MemberRead(
        id=member.id,
        external_id=member.external_id,
        name=member.name,
        email=member.email,
        phone=member.phone,
        locale=member.locale,
        birth_date=member.birth_date,
        city=member.city,
        profile_complete=profile_complete(member),
        consent=consent_of(member),
        status=member.status,
        status_reason=member.status_reason,
        referral_code=member.referral_code,
        card_token=member.card_token,
        partner_id=member.partner_id,
        enrolled_at=member.enrolled_at,
        updated_at=member.updated_at,
        # Shown once MemberRead has the field (members/schemas.py); ignored until then.
        erased_at=member.erased_at,
    )


def get_by_referral_code(session: Session, *, tenant_id: int, code: str) -> Member | None:
    """The member whose referral code this is (as typed: case and spaces ignored), or None."""
    cleaned = "".join(code.split()).upper()
    return session.execute(
        select(Member).where(Member.tenant_id == tenant_id, Member.referral_code == cleaned)
    ).scalar_one_or_none()


def same_person(first: Member, second: Member) -> bool:
    """Whether two members share an inbox (aliases included: see `mailbox_key`) or a phone number."""
    return bool((first.email_key and first.email_key == second.email_key) or (first.phone and first.phone == second.phone))


def known_contact(session: Session, *, tenant_id: int, member: Member, exclude: int | None = None) -> bool:
    """Whether another member already has this member's inbox (aliases included) or phone (both stored normalised)."""
    contacts = []
    if member.email_key:
        contacts.append(Member.email_key == member.email_key)
    if member.phone:
        contacts.append(Member.phone == member.phone)
    if not contacts:
        return False
    query = select(Member.id).where(Member.tenant_id == tenant_id, Member.id != member.id, or_(*contacts))
    if exclude is not None:
        query = query.where(Member.id != exclude)
    return session.execute(query.limit(1)).first() is not None


def active_ids(session: Session, *, tenant_id: int, among: list[int] | None = None) -> list[int]:
    """Ids of the tenant's active members (only those `among` the given ids, when given), in id order."""
    query = select(Member.id).where(Member.tenant_id == tenant_id, Member.status == "active")
    if among is None:
        return list(session.execute(query.order_by(Member.id)).scalars())
    wanted = sorted(set(among))
    found: list[int] = []
    for chunk in in_chunks(wanted):
        found += session.execute(query.where(Member.id.in_(chunk))).scalars()
    return sorted(found)


def active_count(session: Session, *, tenant_id: int) -> int:
    """How many active members the tenant has (one count, not a list of ids)."""
    return int(session.execute(
        select(func.count()).select_from(Member).where(Member.tenant_id == tenant_id, Member.status == "active")
    ).scalar_one())


def unused_referral_code(session: Session, *, tenant_id: int) -> str:
    """A referral code no member of the tenant has."""
    return _free_codes(session, tenant_id=tenant_id, count=1)[0]


def _free_codes(session: Session, *, tenant_id: int, count: int) -> list[str]:
    """`count` distinct referral codes no member of the tenant has (a million members make a clash likely)."""
    codes: set[str] = set()
    while len(codes) < count:
        fresh = {referral_code() for _ in range(count - len(codes))} - codes
        taken: set[str] = set()
        listed = sorted(fresh)
        for chunk in in_chunks(listed):
            taken.update(session.execute(
                select(Member.referral_code).where(Member.tenant_id == tenant_id, Member.referral_code.in_(chunk))
            ).scalars())
        codes |= fresh - taken
    return sorted(codes)


def ensure_many(
    session: Session, *, tenant_id: int, external_ids: list[str], now: datetime, since: dict[str, datetime] | None = None,
) -> tuple[dict[str, int], list[int]]:
    """The member id of each external id, enrolling (with their accounts) those not yet members, set-based
    for bulk imports, enrolled at `since[external_id]` (their first purchase) or now; return the ids and
    the ids of those enrolled now."""
    wanted = sorted(set(external_ids))
    found: dict[str, int] = {}
    for chunk in in_chunks(wanted):
        found.update(dict(session.execute(
            select(Member.external_id, Member.id).where(Member.tenant_id == tenant_id, Member.external_id.in_(chunk))
        ).all()))
    missing = [external_id for external_id in wanted if external_id not in found]
    made: list[int] = []
    if missing:
        codes = _free_codes(session, tenant_id=tenant_id, count=len(missing))
        rows = [
            {"tenant_id": tenant_id, "external_id": external_id, "locale": "ar", "consent_email": False, "consent_sms": False, "consent_push": False,
             "consent_whatsapp": False, "status": "active", "referral_code": codes[k], "card_token": secrets.token_urlsafe(24),
             "enrolled_at": min((since or {}).get(external_id, now), now), "updated_at": now}
            for k, external_id in enumerate(missing)
        ]
        enrolled_at = {row["external_id"]: row["enrolled_at"] for row in rows}
        for member_id, external_id in bulk_insert(
            session, Member, rows, conflict=["tenant_id", "external_id"], returning=("id", "external_id")
        ):
            found[external_id] = member_id
            made.append(member_id)
            outbox.emit(session, tenant_id=tenant_id, type_="member.enrolled", member_id=member_id, now=now, payload={
                "external_id": external_id, "enrolled_at": enrolled_at[external_id], "channel": "import",
            })
        ledger.open_member_accounts_many(session, tenant_id=tenant_id, member_ids=made)
        for external_id in missing:
            if external_id not in found:  # enrolled meanwhile by someone else
                found[external_id] = get_by_external_id(session, tenant_id=tenant_id, external_id=external_id).id  # type: ignore[union-attr]
    return found, made


def export_rows(session: Session, *, tenant_id: int) -> Iterator[dict]:
    """Every member of the tenant as a flat record, in id order, streamed."""
    columns = (Member.id, Member.external_id, Member.name, Member.email, Member.phone, Member.locale, Member.birth_date, Member.city,
               Member.status, Member.referral_code, Member.enrolled_at)
    query = select(*columns).where(Member.tenant_id == tenant_id).order_by(Member.id).execution_options(yield_per=5000)
    for row in session.execute(query):
        yield dict(row._mapping)


def enrolled_between(session: Session, *, tenant_id: int, start: datetime, end: datetime) -> int:
    """How many members enrolled in [start, end)."""
    return session.execute(
        select(func.count()).where(Member.tenant_id == tenant_id, Member.enrolled_at >= start, Member.enrolled_at < end)
    ).scalar_one()


def enrolments_since(*, tenant_id: int, start: datetime) -> Subquery:
    """SQL: the tenant's members enrolled at or after `start` as rows of (member_id, enrolled_at), for a read
    in another domain to join to (the ledger's spends soon after enrolment) without naming this table."""
    return (
        select(Member.id.label("member_id"), Member.enrolled_at.label("enrolled_at"))
        .where(Member.tenant_id == tenant_id, Member.enrolled_at >= start)
        .subquery("enrolments")
    )


def enrolled_by_bucket(session: Session, *, tenant_id: int, edges: list[datetime]) -> list[int]:
    """How many members the program had at the end of each span between consecutive `edges`."""
    before = session.execute(
        select(func.count()).select_from(Member).where(Member.tenant_id == tenant_id, Member.enrolled_at < edges[0])
    ).scalar_one()
    spans = select(bucket_of(Member.enrolled_at, edges).label("bucket")).where(
        Member.tenant_id == tenant_id, Member.enrolled_at >= edges[0], Member.enrolled_at < edges[-1],
    ).subquery()
    joined = [0] * (len(edges) - 1)
    for bucket, count in session.execute(select(spans.c.bucket, func.count()).where(spans.c.bucket.is_not(None)).group_by(spans.c.bucket)):
        joined[int(bucket)] = int(count)
    out, total = [], int(before)
    for count in joined:
        total += count
        out.append(total)
    return out


def enrolment_months(session: Session, *, tenant_id: int, start: datetime, end: datetime, timezone: str) -> dict[int, str]:
    """Member id -> local month of enrolment ("YYYY-MM") of the members enrolled in [start, end)."""
    zone = ZoneInfo(timezone)
    rows = session.execute(
        select(Member.id, Member.enrolled_at).where(Member.tenant_id == tenant_id, Member.enrolled_at >= start, Member.enrolled_at < end)
    )
    return {int(m): at.astimezone(zone).strftime("%Y-%m") for m, at in rows}


def facts_rows(session: Session, *, tenant_id: int) -> Iterator[tuple[int, str | None, str | None, date | None]]:
    """(id, locale, city, birth date) of the tenant's active members, streamed (segments read them)."""
    query = (select(Member.id, Member.locale, Member.city, Member.birth_date)
             .where(Member.tenant_id == tenant_id, Member.status == "active").order_by(Member.id).execution_options(yield_per=5000))
    for row in session.execute(query):
        yield int(row[0]), row[1], row[2], row[3]


def cities(session: Session, *, tenant_id: int, limit: int = 200) -> list[str]:
    """The cities the tenant's active members give, most members first (for a segment's city picker)."""
    return [str(c) for c, _ in session.execute(
        select(Member.city, func.count()).where(Member.tenant_id == tenant_id, Member.status == "active", Member.city.is_not(None))
        .group_by(Member.city).order_by(func.count().desc(), Member.city).limit(limit)
    )]


def enrol_earlier(session: Session, *, tenant_id: int, since: dict[int, datetime]) -> None:
    """Move members' enrolment back to an earlier first purchase (an import whose file is not in date order)."""
    for member_id, when in since.items():
        session.execute(
            update(Member).where(Member.tenant_id == tenant_id, Member.id == member_id, Member.enrolled_at > when).values(enrolled_at=when)
        )
