"""A member's offers as they see them (what they hold now, ranked by the model, each with its reason in
their language), and redeeming a reward offer: at the offer's price, within the member's cap, at one of
its stores for a location offer, counted once per request under the copy's lock. Past
a velocity limit on redemptions an offer is refused (409), not held: its price and cap are personal, and a
review could not carry them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from wafa.analytics import audiences
from wafa.errors import Conflict, InvalidInput, NotFound
from wafa.events import category_habits
from wafa.members.models import Member
from wafa.offers import grants, places, reasons, service
from wafa.offers.catalog import get_or_raise, item_of
from wafa.offers.models import OfferUse
from wafa.offers.schemas import MemberOfferRead
from wafa.programs import service as programs
from wafa.rewards import catalog as rewards
from wafa.rewards import redemptions
from wafa.rewards.models import RewardRedemption
from wafa.rewards.schemas import RedemptionIn
from wafa.trust import velocity


@dataclass(frozen=True, slots=True)
class Shown:
    """One offer as the member sees it, with the model's score used to rank it."""

    copy: grants.Held
    read: MemberOfferRead


def _scores(session: Session, *, tenant_id: int, member_id: int, items: set[str]) -> dict[str, float]:
    """The model's score for each of these items for this member (an item it does not know: none)."""
    stored = service.current(session, tenant_id=tenant_id)
    if stored is None or not items:
        return {}
    return service.scores_for(session, stored=stored, member_id=member_id, items=items)


def _reason(copy: grants.Held, *, lang: str, habits: dict[str, set[date]], today: date, names: dict[int, str],
            store_names: dict[str, str], tier_names: dict[str, str]) -> str:
    offer = copy.offer
    if offer.category and offer.category in habits:
        found = reasons.habit(offer.category, habits[offer.category], today=today)
        if found is not None:
            return reasons.of_habit(found, lang)
    if offer.store_codes and len(offer.store_codes) == 1:
        return reasons.say("store", lang, store=store_names.get(offer.store_codes[0], offer.store_codes[0]))
    source = copy.grant.source
    if source == "model":
        # What members like them choose: the reward, else the category the offer is about, else the offer.
        name = names.get(offer.reward_id or 0) or offer.category or (offer.name_ar if lang == "ar" else offer.name_en)
        return reasons.say("model", lang, name=name)
    if source == "segment":
        return reasons.say("segment", lang)
    if source == "tier":
        return reasons.say("tier", lang, tier=", ".join(tier_names.get(key, key) for key in offer.audience.get("tiers", [])))
    return reasons.say(source if source in reasons.TEXTS else "list", lang)


def member_offers(session: Session, *, tenant_id: int, member: Member, now: datetime, lang: str | None = None,
                  latitude: float | None = None, longitude: float | None = None) -> list[Shown]:
    """What the member holds now, best first: by the model's score for each offer's item (offers it cannot
    score after those it can), then the soonest to close."""
    language = lang or ("ar" if member.locale == "ar" else "en")
    copies = grants.held(session, tenant_id=tenant_id, member_id=member.id, at=now)
    wanted = {code for copy in copies for code in copy.offer.store_codes}
    here = places.checked_in_open(session, tenant_id=tenant_id, member_id=member.id, store_codes=wanted, at=now) if wanted else set()
    store_names = places.names(session, tenant_id=tenant_id, codes=wanted, lang=language) if wanted else {}
    items = {item for copy in copies if (item := item_of(copy.offer))}
    scores = _scores(session, tenant_id=tenant_id, member_id=member.id, items=items)
    categories = {copy.offer.category for copy in copies if copy.offer.category}
    habits = {}
    if categories:
        since, until = reasons.window(now.date())
        habits = category_habits.days_by_category(session, tenant_id=tenant_id, member_id=member.id, since=since, until=until)
    reward_ids = [copy.offer.reward_id for copy in copies if copy.offer.reward_id]
    found_rewards = rewards.by_ids(session, tenant_id=tenant_id, reward_ids=reward_ids) if reward_ids else {}
    names = {rid: (r.name_ar if language == "ar" else r.name_en) for rid, r in found_rewards.items()}
    tier_names = {}
    if any(copy.grant.source == "tier" for copy in copies):
        tier_names = {c.key: (c.name_ar or c.name_en) if language == "ar" else c.name_en
                      for c in audiences.tier_choices(session, tenant_id=tenant_id)}
    shown = []
    for copy in copies:
        offer = copy.offer
        reward = found_rewards.get(offer.reward_id or 0)
        if offer.kind == "reward" and (reward is None or reward.status != "active"):
            continue  # a reward withdrawn since: nothing to use
        item = item_of(offer)
        usable = not offer.store_codes or bool(here & set(offer.store_codes))
        shown.append(Shown(copy, MemberOfferRead(
            key=offer.key, kind=offer.kind, name=offer.name_ar if language == "ar" else offer.name_en,
            reason=_reason(copy, lang=language, habits=habits, today=now.date(), names=names, store_names=store_names,
                           tier_names=tier_names),
            reward_key=reward.key if reward else None,
            points=(offer.points if offer.points is not None else reward.points) if reward else None,
            rule_id=offer.rule_id, valid_from=copy.grant.valid_from, valid_until=copy.grant.valid_until, uses=copy.uses,
            uses_left=copy.uses_left, store_codes=list(offer.store_codes or []), usable_now=usable,
            score=scores.get(item) if item else None,
        )))
    shown.sort(key=lambda s: (s.read.score is None, -(s.read.score or 0.0), s.read.valid_until, s.read.key))
    return shown


def redeem(session: Session, *, tenant_id: int, member_id: int, key: str, idempotency_key: str, now: datetime,
           note: str | None = None, key_id: int | None = None) -> tuple[RewardRedemption, bool]:
    """Redeem a reward offer; (redemption, replayed). The copy is locked first, then the member's points
    (as every redemption locks them), so two uses of one copy are counted one after the other."""
    offer = get_or_raise(session, tenant_id=tenant_id, key=key)
    if offer.kind != "reward":
        raise InvalidInput(f"offer {key!r} is a rule offer: it applies to purchases by itself", field="key")
    copy = grants.lock_copy(session, tenant_id=tenant_id, member_id=member_id, offer_id=offer.id)
    if copy is None:
        raise NotFound(f"member {member_id} has no offer {key!r}")
    source_key = f"offer:{offer.id}:{idempotency_key}"
    earlier = session.execute(select(OfferUse).where(OfferUse.tenant_id == tenant_id, OfferUse.source_key == source_key)).scalar_one_or_none()
    if earlier is not None:
        return redemptions.get_or_raise(session, tenant_id=tenant_id, redemption_id=earlier.redemption_id or 0), True
    if offer.status != "active":
        raise Conflict(f"offer {key!r} is {offer.status}", field="key")
    if copy.revoked_at is not None or not copy.valid_from <= now < copy.valid_until:
        raise Conflict(f"offer {key!r} is open for this member from {copy.valid_from.isoformat()} "
                       f"until {copy.valid_until.isoformat()}", field="key")
    if offer.per_member_cap is not None and copy.uses >= offer.per_member_cap:
        raise Conflict(f"offer {key!r} was used {copy.uses} of {offer.per_member_cap} times", field="key")
    if offer.store_codes:
        here = places.checked_in_open(session, tenant_id=tenant_id, member_id=member_id, store_codes=set(offer.store_codes), at=now)
        if not here:
            raise Conflict(f"offer {key!r} is used at {', '.join(offer.store_codes)}: check in there, while it is open, first",
                           field="key")
    price = offer.points if offer.points is not None else rewards.get_or_raise(session, tenant_id=tenant_id, reward_id=offer.reward_id or 0).points
    breach = velocity.assess(session, tenant_id=tenant_id, program=programs.get(session, tenant_id=tenant_id), action="redeem",
                             subjects=velocity.Subjects(member=member_id, key=key_id), value=price, now=now)
    if breach is not None:
        # Refused, not held: an offer is used at a till or in the portal, and can be redeemed again once the window passes.
        limit = breach.limit
        raise Conflict(f"past the program's redemption limit for a {limit['subject']} ({breach.count} redemptions, "
                       f"{breach.value} points in the last {limit['window']}): try again later", field="key")
    redemption, replayed = redemptions.redeem(
        session, tenant_id=tenant_id, member_id=member_id, redemption_in=RedemptionIn(reward_id=offer.reward_id, note=note),
        key=source_key, now=now, price=offer.points,
    )
    if not replayed:
        session.add(OfferUse(tenant_id=tenant_id, member_offer_id=copy.id, member_id=member_id, source_key=source_key,
                             redemption_id=redemption.id, used_at=now))
        grants.count_use(session, grant=copy)
        session.flush()
    return redemption, replayed
