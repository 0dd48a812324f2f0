"""The member's pages: the card with its QR code, balance and history, rewards to redeem (and why
others are locked), the offers made to them ("For you") with why each is for them, coupons with QR
codes, the referral link, badges and challenges, surveys, a coalition's partners, a download of
everything the program holds about them; the web app manifest and the service worker that keep the
card showing offline."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

import segno
from babel.units import format_unit
from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import Response
from markupsafe import Markup
from pydantic import ValidationError

from wafa.api.deps import MAX_ID, Context, IdPath
from wafa.coalition import service as coalition
from wafa.engagement import achievements, member_achievements, referrals, surveys
from wafa.engagement.models import Challenge
from wafa.engagement.schemas import ResponseIn
from wafa.errors import Conflict, InsufficientPoints, InvalidInput, NotFound, RewardLocked, WafaError
from wafa.ledger import service as ledger
from wafa.ledger import wallet
from wafa.members import privacy
from wafa.memberships import service as memberships
from wafa.offers import personal, places
from wafa.programs import service as programs
from wafa.rewards import catalog, coupons, redemptions
from wafa.rewards.schemas import RedemptionIn
from wafa.stores import service as store_visits
from wafa.stores.schemas import CODE_PATTERN
from wafa.tiers import service as tiers
from wafa.tiers.reads import member_tier
from wafa.web.history import entries_before as history_entries
from wafa.web.history import explain
from wafa.web.i18n import Lang
from wafa.web.messages import N_
from wafa.web.pages import protect, redirect, render
from wafa.web.portal.auth import Me, Portal, changing_member, current_member, portal_of

router = APIRouter(prefix="/m/{slug}", include_in_schema=False)


def qr_svg(data: str) -> Markup:
    """A QR code as inline SVG (sized by CSS), for the card and coupons."""
    # segno draws the code as paths; the data itself is never written into the SVG.
    return Markup(segno.make(data, error="m").svg_inline(scale=1, border=2, omitsize=True, dark="#000", light="#fff"))  # noqa: S704


def page(request: Request, template: str, me: Me, tab: str, **context: Any) -> Response:
    return render(request, template, lang=me.lang, portal=me.portal, me=me, tab=tab, **context)


@router.get("")
def card_without_slash(request: Request, portal: Portal = Depends(portal_of)) -> Response:
    return redirect(f"{portal.base}/")


@router.get("/")
def card(request: Request, me: Me = Depends(current_member)) -> Response:
    ctx = Context(request)
    now = ctx.now()
    with ctx.transaction() as session:
        balance = ledger.summary(session, tenant_id=me.tenant_id, member_id=me.member_id, now=now)
        tier = member_tier(session, me.tenant_id, me.member_id, now)
        money = wallet.balances(session, tenant_id=me.tenant_id, member_id=me.member_id)
        rules = tiers.policy(session, tenant_id=me.tenant_id)
        currency = programs.get(session, tenant_id=me.tenant_id).base_currency
    # Money the wallet owes by currency (minor units), said in words: a negative balance alone reads like a mistake.
    owed = {code: -m["available"] for code, m in money.items() if m["available"] < 0}
    return page(request, "portal/card.html", me, "card", balance=balance, tier=tier, wallet=money, wallet_debt=owed,
                qr=qr_svg(me.member.card_token), counts=tier_counts(me.lang, rules.metric, rules.window, rules.months), currency=currency)


def tier_counts(lang: Lang, metric: str, window: str, months: int) -> str:
    """What the way to the next tier counts, said so that nobody takes it for the balance (spending points
    on a reward does not set a member back)."""
    _ = lang.gettext
    if window == "calendar_year":
        said = {
            "points_earned": _("Counts the points you earned this year (since 1 January), not your balance: redeeming points does not set you back."),
            "money_spent": _("Counts what you spent this year (since 1 January), not your points."),
            "purchases": _("Counts your purchases this year (since 1 January), not your points."),
        }
        return said.get(metric, "")
    # "12 months", "١٢ شهرًا": the unit agrees with the number as the language wants (CLDR, through Babel).
    period = format_unit(months, "duration-month", length="long", locale=lang.code, numbering_system="arab" if lang.numerals == "arab" else "latn")
    said = {
        "points_earned": _("Counts the points you earned in the last %(period)s, not your balance: redeeming points does not set you back."),
        "money_spent": _("Counts what you spent in the last %(period)s, not your points."),
        "purchases": _("Counts your purchases in the last %(period)s, not your points."),
    }
    return said[metric] % {"period": period} if metric in said else ""


@router.get("/history")
def history(request: Request, before: int | None = Query(None, ge=1, le=MAX_ID), me: Me = Depends(current_member)) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        entries = history_entries(session, tenant_id=me.tenant_id, member_id=me.member_id, before_id=before, limit=31)
        lines = explain(session, tenant_id=me.tenant_id, entries=entries[:30], lang=me.lang)
        balance = ledger.summary(session, tenant_id=me.tenant_id, member_id=me.member_id, now=ctx.now())
        lots = ledger.open_lots(session, tenant_id=me.tenant_id, member_id=me.member_id, limit=200)
    more = entries[29].id if len(entries) > 30 else None
    # What expires in the next 90 days, by day (the card's "expiring in 30 days" is the first part of it).
    soon: dict = {}
    horizon = ctx.now() + timedelta(days=90)
    for lot in lots:
        if lot.expires_at is not None and lot.expires_at <= horizon and lot.released:
            day = me.lang.date(lot.expires_at)
            soon[day] = soon.get(day, 0) + lot.remaining
    return page(request, "portal/history.html", me, "history", lines=lines, more=more, balance=balance, expiring=list(soon.items()))


@dataclass(frozen=True)
class Ladder:
    """What a member needs to know to be told how to unlock a reward: the program's tiers (by key and English
    name, lower case: (name in the member's language, rank)), the member's own tier rank, the plans' names."""

    tiers: dict[str, tuple[str, int]]
    rank: int | None
    plans: dict[str, str]


def lock_reasons(lang: Lang, locks: list[dict[str, str]], reward: Any, ladder: Ladder, available: int) -> list[str]:
    """Why a reward is locked and how to get there, in the member's language (the catalog's codes, said for a person)."""
    _ = lang.gettext
    out = []
    for lock in locks:
        code = lock["code"]
        if code == "points":
            have = max(available, 0)
            out.append(_("You have %(have)s of %(cost)s points: earn %(more)s more") % {
                "have": lang.number(have), "cost": lang.number(reward.points), "more": lang.number(reward.points - have)})
        elif code == "tier":
            known = sorted((ladder.tiers[t.lower()] for t in reward.tiers if t.lower() in ladder.tiers), key=lambda t: t[1])
            if known and (ladder.rank is None or ladder.rank < known[0][1]):
                # The lowest tier that unlocks it is the next step; a higher one unlocks it too.
                out.append(_("Reach the %(tier)s tier to unlock it") % {"tier": known[0][0]})
            else:
                names = [name for name, _rank in known] or list(reward.tiers)
                out.append(_("For members of the %(tier)s tier") % {"tier": _(" or ").join(names)})
        elif code == "stock":
            out.append(_("Out of stock"))
        elif code == "limit":
            out.append(_("You have reached this reward's limit"))
        elif code == "debt":
            out.append(_("Your balance is below zero after a return"))
        elif code == "member":
            out.append(_("Your membership is not active"))
        elif code == "segment":
            out.append(_("For selected members"))
        elif code == "plan":
            names = [ladder.plans.get(key, key) for key in reward.plans]
            out.append(_("For members of the %(plan)s plan") % {"plan": _(" or ").join(names)})
        elif code == "not_yet":
            out.append(_("Available from %(day)s") % {"day": lang.date(reward.valid_from)})
        else:
            out.append(_("Not available now"))
    return out


def _rewards(session: Any, me: Me, now: Any) -> tuple[list[dict], int]:
    program = programs.get(session, tenant_id=me.tenant_id)
    available = (ledger.summary(session, tenant_id=me.tenant_id, member_id=me.member_id, now=now) or {}).get("available", 0)
    program_tiers = tiers.tiers_of(session, tenant_id=me.tenant_id)
    names = {t.key.lower(): (me.lang.name(t), t.rank) for t in program_tiers}
    names.update({t.name_en.lower(): (me.lang.name(t), t.rank) for t in program_tiers})
    own = member_tier(session, me.tenant_id, me.member_id, now).tier
    ladder = Ladder(tiers=names, rank=own.rank if own else None,
                    plans={plan.key: me.lang.name(plan) for plan in memberships.list_plans(session, tenant_id=me.tenant_id)})
    # A suspended partner's offers wait until it is reactivated, as its tills do.
    partners = coalition.config(session, tenant_id=me.tenant_id) if me.portal.coalition else None
    closed = {p.id for p in partners.partners.values() if p.status != "active"} if partners is not None else set()
    out: list[dict] = []
    after = None
    while True:
        rows = catalog.list_(session, tenant_id=me.tenant_id, statuses=("active",), after_id=after, limit=100)
        for reward in rows:
            after = reward.id
            if (reward.valid_until is not None and now >= reward.valid_until) or reward.partner_id in closed:
                continue
            locks = catalog.locks(session, reward=reward, member=me.member, available_points=available, program=program, now=now)
            out.append({"reward": reward, "locked": lock_reasons(me.lang, locks, reward, ladder, available)})
        if len(rows) < 100:
            break
    # What the member can redeem now first, then the cheapest.
    out.sort(key=lambda r: (bool(r["locked"]), r["reward"].points))
    return out, available


@router.get("/rewards")
def rewards(request: Request, done: str | None = Query(None, max_length=16), me: Me = Depends(current_member)) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        found, available = _rewards(session, me, ctx.now())
    return page(request, "portal/rewards.html", me, "rewards", rewards=found, available=available, done=done, error=None,
                request_id=uuid.uuid4().hex)


def _typed(shape: Any, field: str, **values: Any) -> Any:
    """The API's input shape of what the member typed; what it refuses (a control character pasted into a note)
    is an InvalidInput the page shows, not a 500."""
    try:
        return shape(**values)
    except ValidationError:
        raise InvalidInput("this text holds a character it cannot (a control character)", field=field) from None


@router.post("/rewards/{reward_id}/redeem")
def redeem(
    request: Request, reward_id: IdPath, request_id: str = Form(..., min_length=8, max_length=64), note: str = Form("", max_length=500),
    me: Me = Depends(changing_member),
) -> Response:
    """Redeem after the member confirmed; the form's request id makes a double tap redeem once."""
    ctx = Context(request)
    try:
        with ctx.transaction() as session:
            redemption, _ = redemptions.redeem(
                session, tenant_id=me.tenant_id, member_id=me.member_id,
                redemption_in=_typed(RedemptionIn, "note", reward_id=reward_id, note=note.strip() or None), key=f"portal:{me.member_id}:{request_id}",
                now=ctx.now(),
            )
    except WafaError as exc:
        with ctx.transaction() as session:
            found, available = _rewards(session, me, ctx.now())
        return page(request, "portal/rewards.html", me, "rewards", rewards=found, available=available, done=None, error=exc,
                    request_id=uuid.uuid4().hex, status=exc.status)
    return redirect(f"{me.portal.base}/coupons?new={redemption.id}")


def _for_you(request: Request, me: Me, *, error: WafaError | None = None) -> Response:
    """The member's personal offers, best first, each with why it is for them, in their language."""
    ctx = Context(request)
    with ctx.transaction() as session:
        shown = personal.member_offers(session, tenant_id=me.tenant_id, member=me.member, now=ctx.now(), lang=me.lang.code)
        codes = {code for s in shown for code in s.read.store_codes}
        named = places.names(session, tenant_id=me.tenant_id, codes=codes, lang=me.lang.code) if codes else {}
        available = (ledger.summary(session, tenant_id=me.tenant_id, member_id=me.member_id, now=ctx.now()) or {}).get("available", 0)
    # The stores page (find a store, check in) is linked where the portal has one.
    stores_page = any(getattr(route, "path", "") == f"{router.prefix}/stores" for route in router.routes)
    where = {s.read.key: [named.get(code, code) for code in s.read.store_codes] for s in shown}
    return page(request, "portal/for_you.html", me, "more", offers=[s.read for s in shown], where=where, available=available,
                stores_page=stores_page, error=_offer_refusal(error) if error else None, request_id=uuid.uuid4().hex,
                status=error.status if error else 200)


def _offer_refusal(exc: WafaError) -> str:
    """Why an offer could not be redeemed, as the member reads it (the catalog's words)."""
    locks = {lock.get("code") for lock in exc.extra.get("locked", ())} if isinstance(exc, RewardLocked) else set()
    if isinstance(exc, InsufficientPoints) or "points" in locks:
        return N_("You do not have enough points for this offer yet.")
    if isinstance(exc, RewardLocked):
        return N_("This offer's reward is not open to you now.")
    if isinstance(exc, NotFound):
        return N_("This offer is not yours to use.")
    if isinstance(exc, Conflict):
        return N_("This offer cannot be used now: it may have closed or been used up, or it needs a check-in at its store.")
    return N_("This offer could not be redeemed. Please try again.")


@router.get("/for-you")
def for_you(request: Request, me: Me = Depends(current_member)) -> Response:
    return _for_you(request, me)


@router.post("/for-you/{offer_key}/redeem")
def redeem_offer(
    request: Request, offer_key: str = Path(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]*$"),
    request_id: str = Form(..., min_length=8, max_length=64), me: Me = Depends(changing_member),
) -> Response:
    """Redeem a reward offer; the form's request id makes a double tap redeem once."""
    ctx = Context(request)
    try:
        with ctx.transaction() as session:
            redemption, _ = personal.redeem(session, tenant_id=me.tenant_id, member_id=me.member_id, key=offer_key,
                                            idempotency_key=f"portal:{me.member_id}:{request_id}", now=ctx.now())
    except WafaError as exc:
        return _for_you(request, me, error=exc)
    return redirect(f"{me.portal.base}/coupons?new={redemption.id}")


@dataclass
class PartnerCard:
    """A partner as its card on the Partners page shows it, in the member's language."""

    key: str
    name: str
    earn_rate: Decimal
    currency: str
    own_points_name: str | None
    own_points_rate: int | None
    stores: list[Any] = field(default_factory=list)
    offers: list[dict] = field(default_factory=list)  # as on the rewards page: the reward, and why it is locked


@router.get("/partners")
def partners(request: Request, me: Me = Depends(current_member)) -> Response:
    """The coalition's active partners: where to earn and spend, their stores, and their offers."""
    ctx = Context(request)
    with ctx.transaction() as session:
        found = coalition.config(session, tenant_id=me.tenant_id)
        if found is None:
            raise NotFound("this program has no partners")
        cards = {
            p.id: PartnerCard(p.key, p.name_in(me.lang.code), Decimal(p.earn_rate), p.currency, p.own_points_name, p.own_points_rate)
            for p in found.partners.values() if p.status == "active"
        }
        for store in sorted(coalition.stores_of(session, tenant_id=me.tenant_id), key=lambda s: (s.city or "", s.name)):
            if store.partner_id in cards:
                cards[store.partner_id].stores.append(store)
        offers, available = _rewards(session, me, ctx.now())
    for item in offers:
        if item["reward"].partner_id in cards:
            cards[item["reward"].partner_id].offers.append(item)
    return page(request, "portal/partners.html", me, "partners", partners=sorted(cards.values(), key=lambda c: c.name), available=available)


@router.get("/coupons")
def my_coupons(request: Request, new: int | None = Query(None, ge=1, le=MAX_ID), me: Me = Depends(current_member)) -> Response:
    ctx = Context(request)
    now = ctx.now()
    with ctx.transaction() as session:
        held = {c.id: c for c in coupons.held_by(session, tenant_id=me.tenant_id, member_id=me.member_id)}
        rows = redemptions.list_for_member(session, tenant_id=me.tenant_id, member_id=me.member_id, before_id=None, limit=50)
        items = []
        for r in rows:
            reward = catalog.get_or_raise(session, tenant_id=me.tenant_id, reward_id=r.reward_id)
            coupon = held.get(r.coupon_id) if r.coupon_id else None
            code = coupon.code if coupon is not None and coupons.status_of(coupon, now) == "active" else None
            code = code or (r.voucher_code if r.status == "issued" else None)
            items.append({"redemption": r, "reward": reward, "coupon": coupon, "code": code, "qr": qr_svg(code) if code else None,
                          "coupon_status": coupons.status_of(coupon, now) if coupon is not None else None})
    return page(request, "portal/coupons.html", me, "coupons", items=items, new=new)


@router.get("/refer")
def refer(request: Request, me: Me = Depends(current_member)) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        link = referrals.link(session, tenant_id=me.tenant_id, code=me.member.referral_code)
        _, made = referrals.of_member(session, tenant_id=me.tenant_id, member_id=me.member_id)
        policy = referrals.policy(session, tenant_id=me.tenant_id)
    return page(request, "portal/refer.html", me, "more", link=link, made=made, policy=policy, qr=qr_svg(link))


@router.get("/achievements")
def achievements_page(request: Request, me: Me = Depends(current_member)) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        found = member_achievements.of_member(session, tenant_id=me.tenant_id, member_id=me.member_id, now=ctx.now())
        ids = {c.key: c.id for c in achievements.list_(session, Challenge, tenant_id=me.tenant_id)}
    return page(request, "portal/achievements.html", me, "more", found=found, challenge_ids=ids)


@router.post("/challenges/{challenge_id}/join")
def join_challenge(request: Request, challenge_id: IdPath, me: Me = Depends(changing_member)) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        achievements.join(session, tenant_id=me.tenant_id, member_id=me.member_id, challenge_id=challenge_id, now=ctx.now())
    return redirect(f"{me.portal.base}/achievements")


@router.get("/surveys")
def open_surveys(request: Request, me: Me = Depends(current_member)) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        found = surveys.open_for_member(session, tenant_id=me.tenant_id, member_id=me.member_id, now=ctx.now())
    return page(request, "portal/surveys.html", me, "more", found=found)


def _invitation(session: Any, portal: Portal, token: str) -> tuple[Any, Any]:
    found = surveys.invitation_by_token(session, tenant_id=portal.tenant_id, token=token)
    if found is None:
        raise NotFound("this survey link is not valid")
    return found


@router.get("/surveys/{token}")
def survey(request: Request, token: str, portal: Portal = Depends(portal_of)) -> Response:
    """The link an invitation carries: answering needs no sign-in, the token says who is answering."""
    ctx = Context(request)
    with ctx.transaction() as session:
        invitation, found = _invitation(session, portal, token)
        done = surveys.answered(session, tenant_id=portal.tenant_id, survey_id=found.id, member_id=invitation.member_id)
        is_open = found.status == "open" and (found.closes_at is None or ctx.now() < found.closes_at)
    return render(request, "portal/survey.html", lang=portal.lang, portal=portal, survey=found, token=token, done=done,
                  is_open=is_open, error=None, me=None, tab="more")


@router.post("/surveys/{token}")
async def answer_survey(request: Request, token: str, portal: Portal = Depends(portal_of)) -> Response:
    from starlette.concurrency import run_in_threadpool

    from wafa.web.pages import check_origin

    form = await request.form()
    # The token in the URL is the credential, and a second answer is refused: a forged post gains nothing.
    check_origin(request)

    def work() -> Response:
        ctx = Context(request)
        with ctx.transaction() as session:
            _invitation_row, found = _invitation(session, portal, token)
            answers: dict[str, int | str] = {}
            for q in found.questions:
                raw = str(form.get(q["key"], "")).strip()
                if not raw:
                    continue
                # isdecimal, not isdigit: "²" is a digit int() refuses; Arabic-Indic digits are decimals it reads.
                number = q["type"] in ("nps", "rating") and raw.removeprefix("-").isdecimal() and len(raw) <= 9
                answers[q["key"]] = int(raw) if number else raw
            try:
                with session.begin_nested():
                    surveys.respond(session, tenant_id=portal.tenant_id, survey_id=found.id,
                                    response_in=_typed(ResponseIn, "answers", token=token, answers=answers), now=ctx.now())
            except WafaError as exc:
                return render(request, "portal/survey.html", lang=portal.lang, portal=portal, survey=found, token=token, done=False,
                              is_open=True, error=exc, me=None, tab="more", status=exc.status)
        return redirect(f"{portal.base}/surveys/{token}")

    return await run_in_threadpool(work)


def _stores(request: Request, me: Me, latitude: float, longitude: float, *, checked: tuple[str, int] | None = None,
            error: WafaError | None = None) -> Response:
    """The stores near where the member is (the point is used for this answer and for the check-in buttons, never kept)."""
    ctx = Context(request)
    with ctx.transaction() as session:
        found = store_visits.nearby(session, tenant_id=me.tenant_id, latitude=latitude, longitude=longitude, at=ctx.now())
        done = store_visits.checked_in(session, tenant_id=me.tenant_id, member_id=me.member_id, store_codes=[n.store.code for n in found],
                                       at=ctx.now())
        # The member's location offers at each of these stores (what a check-in there opens).
        here: dict[str, list[Any]] = {}
        for shown in personal.member_offers(session, tenant_id=me.tenant_id, member=me.member, now=ctx.now(), lang=me.lang.code):
            for code in shown.read.store_codes:
                here.setdefault(code, []).append(shown.read)
    names = {n.store.code: n.store.name_ar if me.lang.code == "ar" and n.store.name_ar else n.store.name_en for n in found}
    return page(request, "portal/stores.html", me, "more", found=found, done=done, point=(latitude, longitude), checked=checked, error=error,
                names=names, offers_at=here, status=error.status if error else 200)


@router.get("/stores")
def stores_near(request: Request, me: Me = Depends(current_member)) -> Response:
    return page(request, "portal/stores.html", me, "more", found=None, done=set(), point=None, checked=None, error=None, names={},
                offers_at={})


@router.post("/stores")
def stores_here(
    request: Request, latitude: float = Form(..., ge=-90, le=90), longitude: float = Form(..., ge=-180, le=180), me: Me = Depends(changing_member),
) -> Response:
    return _stores(request, me, latitude, longitude)


@router.post("/stores/{code}/check-in")
def check_in(
    request: Request, code: str = Path(pattern=CODE_PATTERN), latitude: float = Form(..., ge=-90, le=90),
    longitude: float = Form(..., ge=-180, le=180), me: Me = Depends(changing_member),
) -> Response:
    """Check in at a store from where the member's browser says they are."""
    ctx = Context(request)
    try:
        with ctx.transaction() as session:
            _, result = store_visits.check_in(session, tenant_id=me.tenant_id, member_id=me.member_id, store_code=code, latitude=latitude,
                                              longitude=longitude, now=ctx.now(), channel="portal")
    except WafaError as exc:
        return _stores(request, me, latitude, longitude, error=exc)
    return _stores(request, me, latitude, longitude, checked=(code, result.total_points))


@router.get("/my-data")
def my_data(request: Request, me: Me = Depends(current_member)) -> Response:
    """What the program holds about the member, and the link to download it."""
    return page(request, "portal/my_data.html", me, "more")


@router.get("/my-data.zip")
def my_data_zip(request: Request, me: Me = Depends(current_member)) -> Response:
    """The member's own data, as the console and the API export it: a zip of one CSV per part and the JSON."""
    ctx = Context(request)
    with ctx.transaction() as session:
        data = privacy.export(session, tenant_id=me.tenant_id, member_id=me.member_id, now=ctx.now())
    response = Response(privacy.as_zip(data), media_type="application/zip",
                        headers={"Content-Disposition": f'attachment; filename="{me.portal.slug}-my-data.zip"'})
    protect(response)
    return response


@router.get("/manifest.webmanifest")
def manifest(request: Request, portal: Portal = Depends(portal_of)) -> Response:
    response = render(request, "portal/manifest.webmanifest", lang=portal.lang, portal=portal)
    response.media_type = "application/manifest+json"
    response.headers["content-type"] = "application/manifest+json"
    return response


@router.get("/sw.js")
def service_worker(request: Request, portal: Portal = Depends(portal_of)) -> Response:
    from wafa import __version__

    body = render(request, "portal/sw.js", lang=portal.lang, portal=portal, version=__version__).body
    response = Response(body, media_type="text/javascript", headers={"Cache-Control": "no-cache"})
    protect(response)
    response.headers["Cache-Control"] = "no-cache"
    return response
