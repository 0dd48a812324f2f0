"""HTTP: a member's next-best offers from the tenant's latest model; training a model now (admin) and reading
its metrics; offers made to chosen members, and a member's offers as they see them."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from wafa.api.deps import Context, IdPath, require, run_idempotent, scoped_key
from wafa.errors import NotFound
from wafa.events.idempotency import check_key, request_hash
from wafa.ledger import service as ledger
from wafa.members import service as members
from wafa.offers import catalog, personal, service
from wafa.offers.schemas import (
    MemberOfferPage,
    ModelInfo,
    OfferIn,
    OfferList,
    OfferModelRead,
    OfferPatch,
    OfferRead,
    OfferRedeemIn,
    RecommendationPage,
    RecommendationRead,
)
from wafa.rewards.active_names import ActiveReward
from wafa.rewards.routes import redemption_read
from wafa.rewards.schemas import RedemptionRead
from wafa.tenants import audit
from wafa.tenants.service import Principal

router = APIRouter(prefix="/v1", tags=["offers"])

REASONS = {
    ("model", "en"): "Members with tastes like yours often choose {name}",
    ("model", "ar"): "الأعضاء الذين يشاركونك ذوقك يختارون غالبًا {name}",
    ("popular", "en"): "Popular with members like you",
    ("popular", "ar"): "رائج بين الأعضاء المشابهين لك",
}


def _read(offer: service.Offer, reward: ActiveReward | None, lang: str) -> RecommendationRead:
    kind, _, name = offer.item.partition(":")
    if reward is not None:
        name = reward.name_ar if lang == "ar" else reward.name_en
    return RecommendationRead(
        item=offer.item, kind="reward" if kind == "reward" else "category", key=reward.key if reward else None,
        name_en=reward.name_en if reward else None, name_ar=reward.name_ar if reward else None, score=offer.score,
        source="model" if offer.source == "model" else "popular", reason=REASONS[(offer.source, lang)].format(name=name),
    )


@router.get(
    "/members/{member_id}/recommendations", response_model=RecommendationPage,
    summary="A member's next-best offers: the rewards and categories they are likely to want next, best first",
)
def recommendations(
    request: Request, member_id: IdPath,
    k: int = Query(5, ge=1, le=50, description="how many items"),
    lang: Literal["en", "ar"] | None = Query(None, description="the reasons' language (default: the member's)"),
    principal: Principal = Depends(require("read")),
) -> RecommendationPage:
    """From the latest model (`POST /v1/offers/model:train`, or nightly by the worker): a member it learned
    from gets their own ranking; a new member the items popular in their RFM segment, else overall.
    Rewards no longer active are left out. Before any model is trained: no items and `model: null`."""
    ctx = Context(request)
    with ctx.transaction() as session:
        member = members.get_or_raise(session, tenant_id=principal.tenant_id, member_id=member_id)
        stored = service.current(session, tenant_id=principal.tenant_id)
        if stored is None:
            return RecommendationPage(items=[], model=None)
        # Inactive rewards are left out and never leave the member with fewer than k.
        kept, rewards = service.top_active(session, stored=stored, member_id=member.id, k=k)
        language = lang or ("ar" if member.locale == "ar" else "en")
        return RecommendationPage(
            items=[_read(offer, rewards.get(offer.item), language) for offer in kept],
            model=ModelInfo(id=stored.id, trained_at=stored.trained_at, metrics=stored.metrics),
        )


@router.post("/offers/model:train", status_code=201, response_model=OfferModelRead, summary="Train the next-best-offer model now (admin)")
def train(request: Request, principal: Principal = Depends(require("admin"))) -> OfferModelRead:
    """Implicit ALS on every interaction so far (orders per item category, rewards given), stored with the
    metrics of a time-based holdout against item popularity. 422 when there is nothing to learn from."""
    ctx = Context(request)
    with ctx.transaction() as session:
        row = service.train(session, tenant_id=principal.tenant_id, now=ctx.now())
        return OfferModelRead(id=row.id, trained_at=row.trained_at, algorithm=row.algorithm, parameters=row.parameters, metrics=row.metrics)


@router.get("/offers/model", response_model=OfferModelRead, summary="The latest next-best-offer model and its holdout metrics")
def latest_model(request: Request, principal: Principal = Depends(require("read"))) -> OfferModelRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        stored = service.current(session, tenant_id=principal.tenant_id)
        if stored is None:
            raise NotFound("no offer model trained yet: train one (POST /v1/offers/model:train) or wait for the nightly run")
        return OfferModelRead(id=stored.id, trained_at=stored.trained_at, algorithm=stored.algorithm, parameters=stored.parameters,
                              metrics=stored.metrics)


# --- offers made to chosen members ------------------------------------------------------------------------

OfferKeyPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]*$", description="the offer's key")]
IdempotencyKey = Header(None, alias="Idempotency-Key", description="repeats with the same key return the first result")


def _actor(principal: Principal) -> str:
    return f"api-key:{principal.key_id}"


@router.post("/offers", status_code=201, response_model=OfferRead, summary="Write an offer (a draft: given to nobody until activated)")
def create_offer(request: Request, offer_in: OfferIn, principal: Principal = Depends(require("admin"))) -> OfferRead:
    """A reward at its price or a personal one, or a rule whose `offer` condition names this key; for an audience
    (everyone, segments, tiers, a list, or the model's pick), each member with their own window and cap."""
    ctx = Context(request)
    with ctx.transaction() as session:
        row = catalog.create(session, tenant_id=principal.tenant_id, offer_in=offer_in, now=ctx.now())
        audit.record(session, tenant_id=principal.tenant_id, user_id=None, actor=_actor(principal), action="offer.created",
                     target=row.key, details=offer_in.model_dump(mode="json"), now=ctx.now())
        return catalog.to_read(session, row, used=0)


@router.get("/offers", response_model=OfferList, summary="The program's offers, newest first")
def list_offers(
    request: Request, status: Literal["draft", "active", "paused", "ended"] | None = Query(None),
    principal: Principal = Depends(require("read")),
) -> OfferList:
    ctx = Context(request)
    with ctx.transaction() as session:
        rows = catalog.list_(session, tenant_id=principal.tenant_id, status=status)
        used = catalog.uses(session, tenant_id=principal.tenant_id, offer_ids=[row.id for row in rows])
        return OfferList(items=[catalog.to_read(session, row, used=used.get(row.id, 0)) for row in rows])


@router.get("/offers/{key}", response_model=OfferRead, summary="One offer, with how many members hold it and how often it was used")
def get_offer(request: Request, key: OfferKeyPath, principal: Principal = Depends(require("read"))) -> OfferRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        return catalog.to_read(session, catalog.get_or_raise(session, tenant_id=principal.tenant_id, key=key))


@router.patch("/offers/{key}", response_model=OfferRead, summary="Change an offer (copies already given keep their windows)")
def patch_offer(request: Request, key: OfferKeyPath, patch: OfferPatch, principal: Principal = Depends(require("admin"))) -> OfferRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        row = catalog.update(session, tenant_id=principal.tenant_id, key=key, patch=patch, now=ctx.now())
        audit.record(session, tenant_id=principal.tenant_id, user_id=None, actor=_actor(principal), action="offer.updated",
                     target=key, details=patch.model_dump(mode="json", exclude_unset=True), now=ctx.now())
        return catalog.to_read(session, row)


@router.post("/offers/{key}:activate", response_model=OfferRead, summary="Make an offer live and give it to its audience now")
def activate_offer(request: Request, key: OfferKeyPath, principal: Principal = Depends(require("admin"))) -> OfferRead:
    """Each member of the audience gets their own copy, open for `valid_days` from now (never past the offer's
    end); the worker gives it each night to members who joined the audience since. Activating again gives it
    to newcomers now; a member's copy is never given twice or reopened."""
    ctx = Context(request)
    with ctx.transaction() as session:
        row, given = catalog.activate(session, tenant_id=principal.tenant_id, key=key, now=ctx.now())
        audit.record(session, tenant_id=principal.tenant_id, user_id=None, actor=_actor(principal), action="offer.activated",
                     target=key, details={"given": given}, now=ctx.now())
        return catalog.to_read(session, row)


@router.post("/offers/{key}:pause", response_model=OfferRead, summary="Pause an offer: members keep their copies but cannot use them")
def pause_offer(request: Request, key: OfferKeyPath, principal: Principal = Depends(require("admin"))) -> OfferRead:
    return _status(request, key, "paused", principal)


@router.post("/offers/{key}:resume", response_model=OfferRead, summary="Resume a paused offer")
def resume_offer(request: Request, key: OfferKeyPath, principal: Principal = Depends(require("admin"))) -> OfferRead:
    return _status(request, key, "active", principal)


@router.post("/offers/{key}:end", response_model=OfferRead, summary="End an offer: every open copy closes now")
def end_offer(request: Request, key: OfferKeyPath, principal: Principal = Depends(require("admin"))) -> OfferRead:
    return _status(request, key, "ended", principal)


def _status(request: Request, key: str, status: str, principal: Principal) -> OfferRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        row = catalog.set_status(session, tenant_id=principal.tenant_id, key=key, status=status, now=ctx.now())
        audit.record(session, tenant_id=principal.tenant_id, user_id=None, actor=_actor(principal), action=f"offer.{status}",
                     target=key, now=ctx.now())
        return catalog.to_read(session, row)


@router.get("/members/{member_id}/offers", response_model=MemberOfferPage, summary="What a member holds now, ranked, each with its reason")
def member_offers(
    request: Request, member_id: IdPath,
    lang: Literal["en", "ar"] | None = Query(None, description="the names' and reasons' language (default: the member's)"),
    principal: Principal = Depends(require("read")),
) -> MemberOfferPage:
    """Open copies of active offers under their cap, best first by the model's score for each offer's reward or
    category, then the soonest to close; `usable_now` is false for a location offer until the member checks in
    at one of its stores while it is open."""
    ctx = Context(request)
    with ctx.transaction() as session:
        member = members.get_or_raise(session, tenant_id=principal.tenant_id, member_id=member_id)
        shown = personal.member_offers(session, tenant_id=principal.tenant_id, member=member, now=ctx.now(), lang=lang)
        return MemberOfferPage(items=[s.read for s in shown])


@router.post(
    "/members/{member_id}/offers/{key}:redeem", status_code=201, response_model=RedemptionRead,
    summary="Redeem a reward offer: the reward at the offer's price, within the member's cap",
)
def redeem_offer(
    request: Request, member_id: IdPath, key: OfferKeyPath, body: OfferRedeemIn | None = None,
    principal: Principal = Depends(require("redeem")), idempotency_key: str | None = IdempotencyKey,
) -> Response:
    """One use of the member's copy, counted under its lock (two tills at once cannot pass the cap); a location
    offer only while the member is checked in at one of its stores and it is open. A repeat with the same
    Idempotency-Key redeems once."""
    ctx = Context(request)
    key_used = scoped_key(principal, check_key(idempotency_key)) if idempotency_key else uuid.uuid4().hex
    note = body.note if body else None

    def work(session: Session) -> RedemptionRead:
        members.get_or_raise(session, tenant_id=principal.tenant_id, member_id=member_id)
        redemption, _ = personal.redeem(session, tenant_id=principal.tenant_id, member_id=member_id, key=key,
                                        idempotency_key=key_used, now=ctx.now(), note=note, key_id=principal.key_id)
        balance = ledger.balances(session, tenant_id=principal.tenant_id, member_id=member_id).get("available")
        return redemption_read(session, redemption, now=ctx.now(), balance=balance)

    fingerprint = request_hash("POST", request.url.path, body.model_dump(mode="json") if body else {})
    return run_idempotent(ctx, principal=principal, key=idempotency_key, fingerprint=fingerprint, status_code=201, work=work)
