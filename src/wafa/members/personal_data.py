"""Where Wafa keeps what it knows about a member: the data map that an export reads and an erasure scrubs.

Every table with a column naming a member is listed here, either as a section of the export (one query
each, whatever the member's history holds) or in NOT_EXPORTED with the reason; a test keeps the list
whole as tables are added. The sections read other domains' tables directly, and `scrub` writes them:
one map in one place, which a data-protection review can read whole, rather than a hook in every domain.

What an erasure keeps, and why:
- ledger entries, postings, lots and holds, untouched: entries are never edited (a correction is a new
  entry), and neither the hash chain nor the amounts name the person (see `wafa.ledger.postings`);
- purchases and returns (amounts, lines, store), the running totals, tiers, achievements and segments: they
  are the program's accounts and statistics, and name nobody once the profile is gone;
- consent changes: they show that each message sent was allowed (the erasure adds its own withdrawals);
- suppressed addresses (`message_suppressions`): they are kept by address, not by member, so that an
  address that bounced or unsubscribed is never written to again;
- import jobs' bad rows hold a line number and the bad value of an amount, date, quantity or lines,
  never who the row was for: nothing to scrub there.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, delete, or_, select, update
from sqlalchemy.orm import Session

from wafa.analytics.models import AbcScore, RfmScore, SegmentMember
from wafa.db import Base
from wafa.engagement.models import (
    AchievementAward,
    ChallengeProgress,
    LeaderboardProfile,
    MemberStreak,
    Referral,
    SurveyInvitation,
    SurveyResponse,
)
from wafa.events.models import Event, MemberCategoryDay, MemberPurchaseDay
from wafa.ledger.models import Account, Entry, Hold, Lot, MemberPointsEarned, Posting
from wafa.members.models import ConsentChange, Member
from wafa.memberships.models import Membership, MembershipLog, MembershipPayment
from wafa.messages.models import MemberMessage, Reminder, Suppression
from wafa.offers.models import MemberOffer, OfferUse
from wafa.outbox.models import OutboxMessage
from wafa.rewards.models import Coupon, CouponUse, MemberStampCard, OrderPayment, RewardRedemption, StampCardEvent
from wafa.rules.models import RuleAward
from wafa.stores.models import StoreCheckIn
from wafa.tenants.models import AuditEntry
from wafa.tiers.models import MemberTier, TierChange
from wafa.trust.models import Review, VelocityMark
from wafa.web.models import LoginCode, WebSession

# Free text a person typed about the member, in the details of the console's audit entries about them.
AUDIT_FREE_TEXT = ("reason",)


@dataclass(frozen=True, slots=True)
class Section:
    """One part of an export: the rows of one table that are about the member, read in one query."""

    name: str
    model: type[Base]
    # The conditions that pick the member's rows (tenant and member id), given the member.
    where: Callable[[Member], list[ColumnElement[bool]]]
    # Columns left out: secrets (tokens, hashes) that would open something, and nothing else.
    leave_out: tuple[str, ...] = ()

    def query(self, member: Member) -> Select:
        table = self.model.__table__
        columns = [column for column in table.columns if column.name not in self.leave_out and column.name != "tenant_id"]
        return select(*columns).where(*self.where(member)).order_by(*table.primary_key.columns)


def _of(model: Any, column: str = "member_id") -> Callable[[Member], list[ColumnElement[bool]]]:
    return lambda m: [model.tenant_id == m.tenant_id, getattr(model, column) == m.id]


def _owner(m: Member) -> str:
    return f"member:{m.id}"


def _memberships(m: Member) -> Select:
    return select(Membership.id).where(Membership.tenant_id == m.tenant_id, Membership.member_id == m.id)


SECTIONS: tuple[Section, ...] = (
    Section("profile", Member, lambda m: [Member.tenant_id == m.tenant_id, Member.id == m.id]),
    Section("consent_changes", ConsentChange, _of(ConsentChange)),
    # Points and wallet accounts, with the balance each holds (the chain head is the ledger's, not the member's).
    Section("accounts", Account, lambda m: [Account.tenant_id == m.tenant_id, Account.owner == _owner(m)], leave_out=("last_hash",)),
    Section("entries", Entry, _of(Entry)),
    # The member's side of each entry: the postings to their own accounts.
    Section("postings", Posting, lambda m: [Posting.tenant_id == m.tenant_id, Posting.account_id.in_(
        select(Account.id).where(Account.tenant_id == m.tenant_id, Account.owner == _owner(m)))]),
    Section("lots", Lot, _of(Lot)),
    Section("holds", Hold, _of(Hold)),
    Section("points_earned_by_day", MemberPointsEarned, _of(MemberPointsEarned)),
    Section("events", Event, _of(Event), leave_out=("request_hash",)),
    Section("purchases_by_day", MemberPurchaseDay, _of(MemberPurchaseDay)),
    Section("purchases_by_category", MemberCategoryDay, _of(MemberCategoryDay)),
    Section("rule_awards", RuleAward, _of(RuleAward)),
    Section("reward_redemptions", RewardRedemption, _of(RewardRedemption)),
    Section("coupons", Coupon, _of(Coupon)),
    Section("coupon_uses", CouponUse, _of(CouponUse), leave_out=("request_hash",)),
    Section("order_payments", OrderPayment, _of(OrderPayment)),
    Section("stamp_cards", MemberStampCard, _of(MemberStampCard)),
    Section("stamp_card_events", StampCardEvent, _of(StampCardEvent)),
    Section("tier", MemberTier, _of(MemberTier)),
    Section("tier_changes", TierChange, _of(TierChange)),
    Section("memberships", Membership, _of(Membership)),
    Section("membership_payments", MembershipPayment, lambda m: [
        MembershipPayment.tenant_id == m.tenant_id, MembershipPayment.membership_id.in_(_memberships(m))]),
    Section("membership_log", MembershipLog, lambda m: [MembershipLog.tenant_id == m.tenant_id, MembershipLog.membership_id.in_(_memberships(m))]),
    # Both sides: the friend who brought them, and the friends they brought.
    Section("referrals", Referral, lambda m: [Referral.tenant_id == m.tenant_id, or_(Referral.referee_id == m.id, Referral.referrer_id == m.id)]),
    Section("achievements", AchievementAward, _of(AchievementAward)),
    Section("challenge_progress", ChallengeProgress, _of(ChallengeProgress)),
    Section("streaks", MemberStreak, _of(MemberStreak)),
    Section("leaderboard_profile", LeaderboardProfile, _of(LeaderboardProfile)),
    Section("survey_invitations", SurveyInvitation, _of(SurveyInvitation), leave_out=("token",)),
    Section("survey_answers", SurveyResponse, _of(SurveyResponse)),
    Section("messages", MemberMessage, _of(MemberMessage)),
    Section("reminders", Reminder, _of(Reminder)),
    # Addresses of the member's that nothing is sent to any more (a bounce, an unsubscribe), kept by address.
    Section("suppressed_addresses", Suppression, lambda m: [
        Suppression.tenant_id == m.tenant_id, Suppression.address.in_([a for a in (m.email, m.phone) if a])]),
    Section("rfm_score", RfmScore, _of(RfmScore)),
    Section("abc_class", AbcScore, _of(AbcScore)),
    Section("custom_segments", SegmentMember, _of(SegmentMember)),
    Section("portal_sessions", WebSession, lambda m: [
        WebSession.kind == "member", WebSession.tenant_id == m.tenant_id, WebSession.subject_id == m.id], leave_out=("token_hash", "csrf_token")),
    Section("sign_in_codes", LoginCode, _of(LoginCode), leave_out=("salt", "code_hash")),
    # Actions of the member's held past a velocity limit, and what was decided (trust/reviews.py).
    Section("reviews", Review, _of(Review)),
    # Offers the member was given (offers/grants.py) and each use of them.
    Section("offers", MemberOffer, _of(MemberOffer)),
    Section("offer_uses", OfferUse, _of(OfferUse)),
    # Store check-ins: the store, the day and how far away; the member's coordinates are never kept.
    Section("store_check_ins", StoreCheckIn, _of(StoreCheckIn)),
)

# Tables about a member (naming them, or holding rows of theirs by another key) that the export leaves out, and why.
NOT_EXPORTED = {
    "outbox_messages": "copies of the facts above as told to webhooks and brokers, forgotten after 30 days",
    "webhook_deliveries": "the delivery state of those copies to each endpoint",
    "message_campaign_members": "which campaigns chose the member (the messages sent are in `messages`); read by campaign, not by member",
    "event_outcomes": "the balance an event's first answer showed, for replays (the ledger sections hold the same)",
    "lot_movements": "how entries took points from lots (the ledger's bookkeeping; `entries` and `lots` hold the outcome)",
    "velocity_marks": "one count per limited action, for velocity limits (the actions are in `entries`, `events` and `reviews`)",
}

# The columns, beyond `member_id`, that name a member in some table.
MEMBER_COLUMNS = {"referrals": ("referee_id", "referrer_id"), "web_sessions": ("subject_id",)}


def read(session: Session, *, member: Member) -> dict[str, tuple[list[str], list[dict[str, Any]]]]:
    """Every section of the member's data: its columns and its rows (one query per section)."""
    out: dict[str, tuple[list[str], list[dict[str, Any]]]] = {}
    for section in SECTIONS:
        result = session.execute(section.query(member))
        columns = list(result.keys())
        out[section.name] = (columns, [dict(zip(columns, row, strict=True)) for row in result])
    return out


# --- erasure ---------------------------------------------------------------------------------------------


def scrub(session: Session, *, member: Member, external_id: str, now: datetime) -> None:
    """Remove or overwrite the personal data the member's rows in other tables hold (the member row itself is
    the caller's, changed after this reads its e-mail): addresses and texts of messages, free-text answers,
    notes and reasons, custom events' attributes, sign-in codes and sessions, the leaderboard nickname,
    survey links; messages still in the outbox get `external_id`, the member's new one. Never a ledger row."""
    t, m = member.tenant_id, member.id
    # Messages: who they went to and what they said; those still queued are not sent.
    session.execute(update(MemberMessage).where(MemberMessage.tenant_id == t, MemberMessage.member_id == m, MemberMessage.status == "queued")
                    .values(status="cancelled", reason="member_inactive", updated_at=now))
    session.execute(update(MemberMessage).where(MemberMessage.tenant_id == t, MemberMessage.member_id == m)
                    .values(address=None, subject=None, body=None, detail=None, variables={}))
    _referrers_messages(session, member=member)
    _survey_answers(session, member=member)
    _event_attributes(session, member=member)
    session.execute(update(RewardRedemption).where(RewardRedemption.tenant_id == t, RewardRedemption.member_id == m).values(note=None))
    session.execute(update(MemberTier).where(MemberTier.tenant_id == t, MemberTier.member_id == m).values(floor_reason=None))
    session.execute(update(TierChange).where(TierChange.tenant_id == t, TierChange.member_id == m).values(reason=None))
    session.execute(delete(LeaderboardProfile).where(LeaderboardProfile.tenant_id == t, LeaderboardProfile.member_id == m))
    # Old survey links answer nothing: each invitation gets a new unguessable token nobody has.
    invitations = session.execute(
        select(SurveyInvitation.id, SurveyInvitation.token).where(SurveyInvitation.tenant_id == t, SurveyInvitation.member_id == m)
    ).all()
    _rewrite_json(session, SurveyInvitation, "token", [(r[0], r[1]) for r in invitations], lambda _old: secrets.token_urlsafe(32))
    codes = [LoginCode.member_id == m] + ([LoginCode.email == member.email] if member.email else [])
    session.execute(delete(LoginCode).where(LoginCode.tenant_id == t, or_(*codes)))
    session.execute(delete(WebSession).where(WebSession.kind == "member", WebSession.tenant_id == t, WebSession.subject_id == m))
    # Velocity limits keep counting the member's actions, not the payment card they used; a review keeps its
    # decision, not the note about the person.
    session.execute(update(VelocityMark).where(VelocityMark.tenant_id == t, VelocityMark.member_id == m).values(card=None))
    session.execute(update(Review).where(Review.tenant_id == t, Review.member_id == m).values(note=None))
    _audit_details(session, member=member)
    _outbox_payloads(session, member=member, external_id=external_id)


def _rewrite_json(session: Session, model: Any, column: str, rows: list[tuple[int, Any]], change: Callable[[Any], Any]) -> None:
    """Write `change(value)` back to each (id, value) of `column` whose value it changes, in one executemany
    (JSON documents are read and rewritten here: the two databases share no JSON update syntax)."""
    table = model.__table__
    changed = [{"row_id": row_id, "value": new} for row_id, value in rows if (new := change(value)) != value]
    if changed:
        session.execute(update(table).where(table.c.id == bindparam("row_id")).values({column: bindparam("value")}), changed)


def _survey_answers(session: Session, *, member: Member) -> None:
    """Keep the scores (NPS, ratings: the program's statistics), drop what the member wrote."""
    rows = session.execute(
        select(SurveyResponse.id, SurveyResponse.answers).where(SurveyResponse.tenant_id == member.tenant_id, SurveyResponse.member_id == member.id)
    ).all()
    _rewrite_json(session, SurveyResponse, "answers", [(r[0], r[1]) for r in rows],
                  lambda answers: {k: v for k, v in (answers or {}).items() if isinstance(v, int) and not isinstance(v, bool)})


def _event_attributes(session: Session, *, member: Member) -> None:
    """A purchase keeps the member facts its rules read, for a later return; the city and birth date among
    them go. A custom event's attributes are whatever the shop sent about the member: they all go."""
    rows = session.execute(
        select(Event.id, Event.type, Event.attributes)
        .where(Event.tenant_id == member.tenant_id, Event.member_id == member.id, Event.attributes.is_not(None))
    ).all()
    purchases = [(r[0], r[2]) for r in rows if r[1] == "purchase"]
    others = [(r[0], r[2]) for r in rows if r[1] not in ("purchase", "return")]

    def without_person(attributes: Any) -> Any:
        facts = (attributes or {}).get("member")
        if not isinstance(facts, dict):
            return attributes
        return {**attributes, "member": {**facts, "city": None, "birth_date": None}}

    _rewrite_json(session, Event, "attributes", purchases, without_person)
    _rewrite_json(session, Event, "attributes", others, lambda attributes: {} if attributes else attributes)


def _referrers_messages(session: Session, *, member: Member) -> None:
    """The message that told a referrer this member completed their referral named them: the referrer keeps
    the record of it, without the name or the text."""
    referral_ids = list(session.execute(
        select(Referral.id).where(Referral.tenant_id == member.tenant_id, Referral.referee_id == member.id)
    ).scalars())
    if not referral_ids:
        return
    rows = session.execute(
        select(MemberMessage.id, MemberMessage.variables).where(
            MemberMessage.tenant_id == member.tenant_id, MemberMessage.dedupe_key.in_([f"referral_completed:{r}" for r in referral_ids]))
    ).all()
    _rewrite_json(session, MemberMessage, "variables", [(r[0], r[1]) for r in rows],
                  lambda variables: {**(variables or {}), "friend": "-"} if (variables or {}).get("friend") not in (None, "-") else variables)
    ids = [r[0] for r in rows]
    if ids:
        session.execute(update(MemberMessage).where(MemberMessage.id.in_(ids)).values(body=None, subject=None))


def _audit_details(session: Session, *, member: Member) -> None:
    """Reasons typed in the console about the member (a suspension's, an adjustment's) leave the audit trail;
    who did what, and when, stays."""
    rows = session.execute(
        select(AuditEntry.id, AuditEntry.details).where(AuditEntry.tenant_id == member.tenant_id, AuditEntry.target == f"member:{member.id}")
    ).all()
    _rewrite_json(session, AuditEntry, "details", [(r[0], r[1]) for r in rows],
                  lambda details: {k: v for k, v in (details or {}).items() if k not in AUDIT_FREE_TEXT})


def _outbox_payloads(session: Session, *, member: Member, external_id: str) -> None:
    """Messages not yet forgotten (30 days) that carry the member's external id or a suspension's reason."""
    rows = session.execute(
        select(OutboxMessage.id, OutboxMessage.type, OutboxMessage.payload).where(
            OutboxMessage.tenant_id == member.tenant_id, OutboxMessage.member_id == member.id,
            OutboxMessage.type.in_(("member.enrolled", "member.suspended")))
    ).all()

    def plain(payload: Any) -> Any:
        payload = dict(payload or {})
        if "external_id" in payload:
            payload["external_id"] = external_id
        if payload.get("reason") is not None:
            payload["reason"] = None
        return payload

    _rewrite_json(session, OutboxMessage, "payload", [(r[0], r[2]) for r in rows], plain)
