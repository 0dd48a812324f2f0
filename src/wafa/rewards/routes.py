"""HTTP: the reward catalog, redemptions (cancel, fulfil, use), coupons (validate, redeem), coupon
campaigns (generate, export), partner vouchers, stamp cards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy import select

from wafa.api.deps import Context, IdPath, decode_cursor, encode_cursor, paginate, require, run_idempotent, scoped_key
from wafa.errors import InvalidInput
from wafa.events.idempotency import check_key, request_hash
from wafa.ledger import service as ledger
from wafa.members import service as members
from wafa.money import to_major
from wafa.programs import service as programs
from wafa.rewards import campaigns, catalog, coupons, redemptions, stamp_cards, vouchers
from wafa.rewards.discounts import Discount
from wafa.rewards.models import Coupon, Reward, RewardRedemption, StampCard
from wafa.rewards.schemas import (
    BasketIn,
    CampaignIn,
    CampaignPage,
    CampaignRead,
    CampaignUpdate,
    CampaignUsage,
    CouponCheck,
    CouponRead,
    CouponRedeemIn,
    CouponUseRead,
    FulfilmentIn,
    Limit,
    Lock,
    MemberStampCardRead,
    MemberStampCards,
    RedemptionIn,
    RedemptionPage,
    RedemptionRead,
    RewardIn,
    RewardPage,
    RewardRead,
    RewardUpdate,
    StampCardIn,
    StampCardPage,
    StampCardRead,
    StampCardUpdate,
    UsagePeriod,
    VouchersIn,
    VouchersRead,
)
from wafa.tenants.service import Principal
from wafa.trust import reviews, velocity
from wafa.trust.schemas import ReviewRead

router = APIRouter(prefix="/v1", tags=["rewards"])
IdempotencyKey = Header(None, alias="Idempotency-Key", description="repeats with the same key return the first result")
CodePath = Annotated[str, Path(min_length=1, max_length=64, description="the coupon code, in any case, with or without dashes")]


def reward_read(session, reward: Reward, *, currency: str, locked: list[dict[str, str]] | None = None) -> RewardRead:
    gives = dict(reward.config)
    if "discount" in gives:
        gives["discount"] = catalog.discount_to_api(Discount.from_json(gives["discount"]))
    return RewardRead(
        id=reward.id, key=reward.key, kind=reward.kind, name={"en": reward.name_en, "ar": reward.name_ar},
        description={"en": reward.description_en, "ar": reward.description_ar}, image_url=reward.image_url,
        points=reward.points, money=to_major(reward.money, currency) if reward.money else None, currency=currency,
        stock=catalog.stock_of(session, reward=reward),
        limit=Limit(count=reward.limit_count, period=reward.limit_period) if reward.limit_count else None,
        valid_from=reward.valid_from, valid_until=reward.valid_until,
        tiers=list(reward.tiers), segments=list(reward.segments), plans=list(reward.plans or []),
        status=reward.status, gives=gives, partner=catalog.partner_key(session, reward=reward),
        created_at=reward.created_at, updated_at=reward.updated_at,
        available=None if locked is None else not locked,
        locked=None if locked is None else [Lock(**lock) for lock in locked],
    )


def coupon_read(coupon: Coupon, now: datetime, campaign=None) -> CouponRead:
    return CouponRead(
        code=coupon.code, discount=catalog.discount_to_api(Discount.from_json(coupon.discount)), max_uses=coupon.max_uses,
        uses=coupon.uses, valid_from=coupon.valid_from, valid_until=coupons.valid_until_of(coupon, campaign),
        status=coupons.status_of(coupon, now, campaign),
        member_id=coupon.member_id, campaign_id=coupon.campaign_id,
    )


def redemption_read(session, redemption: RewardRedemption, *, now: datetime, balance: int | None = None) -> RedemptionRead:
    reward = catalog.get_or_raise(session, tenant_id=redemption.tenant_id, reward_id=redemption.reward_id)
    coupon = session.execute(
        select(Coupon).where(Coupon.tenant_id == redemption.tenant_id, Coupon.id == redemption.coupon_id)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none() if redemption.coupon_id else None
    currency = programs.get(session, tenant_id=redemption.tenant_id).base_currency
    return RedemptionRead(
        id=redemption.id, member_id=redemption.member_id,
        reward={"id": reward.id, "key": reward.key, "kind": reward.kind, "name": {"en": reward.name_en, "ar": reward.name_ar}},
        source=redemption.source, points=redemption.points, money=redemptions.money_of(redemption), currency=redemption.currency,
        status=redemption.status, fulfilment=redemption.fulfilment, coupon=coupon_read(coupon, now) if coupon else None,
        voucher_code=redemption.voucher_code,
        wallet_amount=to_major(redemption.wallet_amount, currency) if redemption.wallet_amount else None,
        note=redemption.note, expires_at=redemption.expires_at, created_at=redemption.created_at,
        updated_at=redemption.updated_at, balance=balance,
    )


# --- catalog ----------------------------------------------------------------------------------


@router.post("/rewards", status_code=201, response_model=RewardRead, summary="Add a reward to the catalog (admin)")
def create_reward(request: Request, reward_in: RewardIn, principal: Principal = Depends(require("admin"))) -> RewardRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        program = programs.get(session, tenant_id=principal.tenant_id)
        reward = catalog.create(session, tenant_id=principal.tenant_id, reward_in=reward_in, program=program, now=ctx.now())
        return reward_read(session, reward, currency=program.base_currency)


@router.get("/rewards", response_model=RewardPage, summary="The catalog; for a member, with what is locked and why")
def list_rewards(
    request: Request,
    member_id: int | None = Query(None, ge=1, le=2**63 - 1, description="show what this member may redeem now, and why not"),
    only_available: bool = Query(False, description="with member_id: only what the member may redeem now"),
    status: str | None = Query(None, pattern="^(draft|active|paused|archived)$", description="without member_id"),
    cursor: str | None = Query(None, max_length=200),
    limit: int = Query(50, ge=1, le=200),
    principal: Principal = Depends(require("read")),
) -> RewardPage:
    """Without a member: every reward (or those of a status). With a member: the active rewards that
    have not ended, each saying whether the member may redeem it now and, if not, why ("needs Gold
    tier", "out of stock", "you have 300 of 500 points")."""
    ctx = Context(request)
    now = ctx.now()
    with ctx.transaction() as session:
        program = programs.get(session, tenant_id=principal.tenant_id)
        after = decode_cursor(cursor)
        if member_id is None:
            rows = catalog.list_(session, tenant_id=principal.tenant_id, statuses=(status,) if status else None, after_id=after, limit=limit)
            items, next_cursor = paginate(rows, limit, lambda r: reward_read(session, r, currency=program.base_currency))
            return RewardPage(items=items, next_cursor=next_cursor)
        if status is not None:
            raise InvalidInput("a member sees the active catalog; status applies without member_id", field="status")
        member = members.get_or_raise(session, tenant_id=principal.tenant_id, member_id=member_id)
        available = (ledger.summary(session, tenant_id=principal.tenant_id, member_id=member_id, now=now) or {}).get("available", 0)
        out: list[RewardRead] = []
        last_id = after
        # Read in pages until `limit` rewards are shown: with only_available, locked ones are skipped.
        while len(out) < limit + 1:
            rows = catalog.list_(session, tenant_id=principal.tenant_id, statuses=("active",), after_id=last_id, limit=limit)
            for reward in rows:
                last_id = reward.id
                if reward.valid_until is not None and now >= reward.valid_until:
                    continue
                locked = catalog.locks(session, reward=reward, member=member, available_points=available, program=program, now=now)
                if only_available and locked:
                    continue
                out.append(reward_read(session, reward, currency=program.base_currency, locked=locked))
                if len(out) == limit + 1:
                    break
            if len(rows) <= limit:
                break
        next_cursor = encode_cursor(out[limit - 1].id) if len(out) > limit else None
        return RewardPage(items=out[:limit], next_cursor=next_cursor)


@router.get("/rewards/{reward_id}", response_model=RewardRead, summary="Read a reward")
def get_reward(request: Request, reward_id: IdPath, principal: Principal = Depends(require("read"))) -> RewardRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        program = programs.get(session, tenant_id=principal.tenant_id)
        return reward_read(session, catalog.get_or_raise(session, tenant_id=principal.tenant_id, reward_id=reward_id), currency=program.base_currency)


@router.patch("/rewards/{reward_id}", response_model=RewardRead, summary="Change a reward (admin)")
def update_reward(request: Request, reward_id: IdPath, reward_in: RewardUpdate, principal: Principal = Depends(require("admin"))) -> RewardRead:
    """Coupons already issued keep the terms they were issued with."""
    ctx = Context(request)
    with ctx.transaction() as session:
        program = programs.get(session, tenant_id=principal.tenant_id)
        reward = catalog.update_(session, tenant_id=principal.tenant_id, reward_id=reward_id, reward_in=reward_in, program=program, now=ctx.now())
        return reward_read(session, reward, currency=program.base_currency)


@router.post("/rewards/{reward_id}/vouchers", response_model=VouchersRead, summary="Upload a partner's voucher codes (admin)")
def upload_vouchers(request: Request, reward_id: IdPath, vouchers_in: VouchersIn, principal: Principal = Depends(require("admin"))) -> VouchersRead:
    """Codes already uploaded to this reward are skipped. Rewards a rule or a stamp card granted while
    no code was left get theirs now."""
    ctx = Context(request)
    with ctx.transaction() as session:
        reward = catalog.get_or_raise(session, tenant_id=principal.tenant_id, reward_id=reward_id)
        imported, duplicates = vouchers.import_codes(session, reward=reward, codes=vouchers_in.codes, now=ctx.now())
        redemptions.fill_waiting(session, reward=reward, now=ctx.now())
        return VouchersRead(imported=imported, duplicates=duplicates, available=catalog.stock_of(session, reward=reward) or 0)


# --- redemptions ------------------------------------------------------------------------------


@router.post(
    "/members/{member_id}/reward-redemptions", status_code=201, response_model=RedemptionRead,
    summary="Spend points on a reward and get what it gives",
    responses={202: {"model": ReviewRead, "description": "past a velocity limit: held for review, carried out if approved"}},
)
def redeem_reward(
    request: Request,
    member_id: IdPath,
    redemption_in: RedemptionIn,
    principal: Principal = Depends(require("redeem")),
    idempotency_key: str | None = IdempotencyKey,
) -> Response:
    """Spends the points (one ledger entry naming the reward) and issues a coupon, wallet money, a gift
    order, a partner's code or a privilege. A repeat with the same Idempotency-Key redeems once."""
    ctx = Context(request)
    key = scoped_key(principal, check_key(idempotency_key)) if idempotency_key else uuid.uuid4().hex
    held = {"status": 201}

    def work(session):
        members.get_or_raise(session, tenant_id=principal.tenant_id, member_id=member_id)
        points = redemptions.points_asked(session, tenant_id=principal.tenant_id, redemption_in=redemption_in)
        review = velocity.held_request(
            session, tenant_id=principal.tenant_id, action="redeem", now=ctx.now(), value=points,
            subjects=velocity.Subjects(member=member_id, key=principal.key_id),
            request={"body": redemption_in.model_dump(mode="json", exclude_unset=True), "partner_id": principal.partner_id},
        )
        if review is not None:
            held["status"] = 202
            return reviews.to_read(review)
        redemption, _ = redemptions.redeem(
            session, tenant_id=principal.tenant_id, member_id=member_id, redemption_in=redemption_in, key=key, now=ctx.now(),
            key_partner_id=principal.partner_id,
        )
        balance = ledger.balances(session, tenant_id=principal.tenant_id, member_id=member_id).get("available")
        return redemption_read(session, redemption, now=ctx.now(), balance=balance)

    fingerprint = request_hash("POST", request.url.path, redemption_in.model_dump(mode="json"))
    return run_idempotent(
        ctx, principal=principal, key=idempotency_key, fingerprint=fingerprint, status_code=201, work=work, status_for=lambda: held["status"],
    )


@router.get("/members/{member_id}/reward-redemptions", response_model=RedemptionPage, summary="A member's rewards, newest first")
def list_member_redemptions(
    request: Request,
    member_id: IdPath,
    cursor: str | None = Query(None, max_length=200),
    limit: int = Query(50, ge=1, le=200),
    principal: Principal = Depends(require("read")),
) -> RedemptionPage:
    ctx = Context(request)
    with ctx.transaction() as session:
        members.get_or_raise(session, tenant_id=principal.tenant_id, member_id=member_id)
        rows = redemptions.list_for_member(
            session, tenant_id=principal.tenant_id, member_id=member_id, before_id=decode_cursor(cursor), limit=limit
        )
        items, next_cursor = paginate(rows, limit, lambda r: redemption_read(session, r, now=ctx.now()))
        return RedemptionPage(items=items, next_cursor=next_cursor)


@router.get("/reward-redemptions/{redemption_id}", response_model=RedemptionRead, summary="Read a redemption")
def get_redemption(request: Request, redemption_id: IdPath, principal: Principal = Depends(require("read"))) -> RedemptionRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        redemption = redemptions.get_or_raise(session, tenant_id=principal.tenant_id, redemption_id=redemption_id)
        return redemption_read(session, redemption, now=ctx.now())


def _act_on_redemption(request: Request, principal: Principal, redemption_id: int, key: str | None, body, act) -> Response:
    """Run a change to a redemption in one transaction, idempotently, and answer the redemption."""
    ctx = Context(request)

    def work(session):
        redemption = act(session, ctx.now())
        balance = ledger.balances(session, tenant_id=principal.tenant_id, member_id=redemption.member_id).get("available")
        return redemption_read(session, redemption, now=ctx.now(), balance=balance)

    fingerprint = request_hash("POST", request.url.path, body.model_dump(mode="json") if body is not None else None)
    return run_idempotent(ctx, principal=principal, key=key, fingerprint=fingerprint, status_code=200, work=work)


_CONFLICT: dict[int | str, dict[str, Any]] = {409: {"description": "the redemption is used, cancelled, shipped or expired"}}


@router.post(
    "/reward-redemptions/{redemption_id}/cancel", response_model=RedemptionRead, responses=_CONFLICT,
    summary="Cancel a redemption not yet used: points, money and stock come back",
)
def cancel_redemption(
    request: Request, redemption_id: IdPath, principal: Principal = Depends(require("redeem")),
    idempotency_key: str | None = IdempotencyKey,
) -> Response:
    return _act_on_redemption(
        request, principal, redemption_id, idempotency_key, None,
        lambda s, now: redemptions.cancel(s, tenant_id=principal.tenant_id, redemption_id=redemption_id, now=now),
    )


@router.post(
    "/reward-redemptions/{redemption_id}/use", response_model=RedemptionRead, responses=_CONFLICT,
    summary="Mark a privilege or a voucher used, once",
)
def use_redemption(
    request: Request, redemption_id: IdPath, principal: Principal = Depends(require("redeem")),
    idempotency_key: str | None = IdempotencyKey,
) -> Response:
    return _act_on_redemption(
        request, principal, redemption_id, idempotency_key, None,
        lambda s, now: redemptions.use(s, tenant_id=principal.tenant_id, redemption_id=redemption_id, now=now),
    )


@router.post(
    "/reward-redemptions/{redemption_id}/fulfilment", response_model=RedemptionRead, responses=_CONFLICT,
    summary="Move a gift along: shipped, delivered, or cancelled before shipping (admin)",
)
def fulfil_redemption(
    request: Request, redemption_id: IdPath, fulfilment_in: FulfilmentIn, principal: Principal = Depends(require("admin")),
    idempotency_key: str | None = IdempotencyKey,
) -> Response:
    return _act_on_redemption(
        request, principal, redemption_id, idempotency_key, fulfilment_in,
        lambda s, now: redemptions.fulfil(
            s, tenant_id=principal.tenant_id, redemption_id=redemption_id, status=fulfilment_in.status,
            note=fulfilment_in.note, now=now,
        ),
    )


# --- coupons ----------------------------------------------------------------------------------


@router.get("/coupons/{code}", response_model=CouponRead, summary="Read a coupon by its code")
def get_coupon(request: Request, code: CodePath, principal: Principal = Depends(require("read"))) -> CouponRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        coupon = coupons.get_by_code_or_raise(session, tenant_id=principal.tenant_id, code=code)
        return coupon_read(coupon, ctx.now(), coupons.campaign_of(session, coupon=coupon))


@router.post("/coupons/{code}:validate", response_model=CouponCheck, summary="What a coupon takes off a basket (uses nothing)")
def validate_coupon(request: Request, code: CodePath, basket_in: BasketIn, principal: Principal = Depends(require("read"))) -> CouponCheck:
    ctx = Context(request)
    now = ctx.now()
    with ctx.transaction() as session:
        coupon = coupons.get_by_code_or_raise(session, tenant_id=principal.tenant_id, code=code)
        basket = coupons.basket_of(amount=basket_in.amount, currency=basket_in.currency, items=basket_in.items, member_id=basket_in.member_id)
        campaign = coupons.campaign_of(session, coupon=coupon)
        applied = coupons.check(coupon, basket, now=now, campaign=campaign)
        return CouponCheck(
            code=coupon.code, valid=applied.discount > 0, discount=to_major(applied.discount, basket.currency),
            currency=basket.currency, reason=applied.reason, coupon=coupon_read(coupon, now, campaign),
        )


@router.post("/coupons/{code}:redeem", status_code=201, response_model=CouponUseRead, summary="Use a coupon at a till, exactly once")
def redeem_coupon(
    request: Request,
    code: CodePath,
    redeem_in: CouponRedeemIn,
    principal: Principal = Depends(require("redeem")),
    idempotency_key: str | None = IdempotencyKey,
) -> Response:
    """Two tills redeeming the same single-use code at once: one succeeds, the other gets 409
    coupon-used. A repeat of the same use (the same Idempotency-Key, or without one the same
    order_id) answers the first result."""
    ctx = Context(request)
    if idempotency_key is not None:
        key = f"key:{check_key(idempotency_key)}"
    elif redeem_in.order_id is not None:
        key = f"order:{redeem_in.order_id}"
    else:
        key = f"once:{uuid.uuid4().hex}"
    fingerprint = request_hash("POST", request.url.path, redeem_in.model_dump(mode="json"))
    replayed = False

    def work(session):
        nonlocal replayed
        basket = coupons.basket_of(amount=redeem_in.amount, currency=redeem_in.currency, items=redeem_in.items, member_id=redeem_in.member_id)
        used = coupons.redeem(
            session, tenant_id=principal.tenant_id, code=code, basket=basket, order_id=redeem_in.order_id, key=key,
            request_hash=fingerprint, now=ctx.now(),
        )
        replayed = used.replayed
        return CouponUseRead(
            use_id=used.use.id, code=used.coupon.code, discount=to_major(used.use.discount, used.use.currency),
            currency=used.use.currency, order_id=used.use.order_id, uses_left=max(0, used.coupon.max_uses - used.coupon.uses),
            used_at=used.use.used_at,
        )

    return run_idempotent(
        ctx, principal=principal, key=idempotency_key, fingerprint=fingerprint, status_code=201, work=work,
        status_for=lambda: 200 if replayed else 201,
    )


@router.post("/coupon-campaigns", status_code=201, response_model=CampaignRead, summary="Generate a campaign of coupon codes (admin)")
def create_campaign(request: Request, campaign_in: CampaignIn, principal: Principal = Depends(require("admin"))) -> CampaignRead:
    """Codes are drawn with `secrets` from an alphabet without look-alike characters; export them
    from /v1/coupon-campaigns/{id}/codes."""
    ctx = Context(request)
    with ctx.transaction() as session:
        program = programs.get(session, tenant_id=principal.tenant_id)
        campaign = coupons.create_campaign(
            session, tenant_id=principal.tenant_id, name=campaign_in.name,
            discount=catalog.discount_of(campaign_in.discount, base_currency=program.base_currency),
            count=campaign_in.count, max_uses=campaign_in.max_uses, prefix=campaign_in.prefix, length=campaign_in.length,
            valid_from=campaign_in.valid_from, valid_until=campaign_in.valid_until, now=ctx.now(),
        )
        return _campaign_read(session, campaign)


def _campaign_read(session, campaign) -> CampaignRead:
    return CampaignRead(
        id=campaign.id, name=campaign.name, discount=catalog.discount_to_api(Discount.from_json(campaign.discount)),
        max_uses=campaign.max_uses, codes=campaign.codes, prefix=campaign.prefix, valid_from=campaign.valid_from,
        valid_until=campaign.valid_until, used=coupons.campaign_uses(session, tenant_id=campaign.tenant_id, campaign_id=campaign.id),
        status=campaign.status, created_at=campaign.created_at,
    )


@router.get("/coupon-campaigns", response_model=CampaignPage, summary="The coupon campaigns, newest first")
def list_campaigns(
    request: Request, cursor: str | None = Query(None, max_length=200), limit: int = Query(50, ge=1, le=200),
    principal: Principal = Depends(require("read")),
) -> CampaignPage:
    ctx = Context(request)
    with ctx.transaction() as session:
        rows = campaigns.list_(session, tenant_id=principal.tenant_id, before_id=decode_cursor(cursor), limit=limit)
        items, next_cursor = paginate(rows, limit, lambda c: _campaign_read(session, c))
        return CampaignPage(items=items, next_cursor=next_cursor)


@router.patch("/coupon-campaigns/{campaign_id}", response_model=CampaignRead, summary="Pause or resume a campaign, or extend it (admin)")
def update_campaign(
    request: Request, campaign_id: IdPath, changes: CampaignUpdate, principal: Principal = Depends(require("admin")),
) -> CampaignRead:
    """A paused campaign's codes are refused at the till (`coupon-not-usable`) until it is resumed. A new
    `valid_until` applies to every code of the campaign, also those that had expired."""
    ctx = Context(request)
    with ctx.transaction() as session:
        campaign = coupons.get_campaign_or_raise(session, tenant_id=principal.tenant_id, campaign_id=campaign_id)
        if "valid_until" in changes.model_fields_set:
            campaign = campaigns.set_valid_until(session, tenant_id=principal.tenant_id, campaign_id=campaign_id,
                                                 valid_until=changes.valid_until, now=ctx.now())
        if changes.status is not None:
            campaign = campaigns.set_status(session, tenant_id=principal.tenant_id, campaign_id=campaign_id, status=changes.status)
        return _campaign_read(session, campaign)


@router.get("/coupon-campaigns/{campaign_id}/usage", response_model=CampaignUsage, summary="How a campaign's codes are used")
def campaign_usage(request: Request, campaign_id: IdPath, principal: Principal = Depends(require("read"))) -> CampaignUsage:
    ctx = Context(request)
    with ctx.transaction() as session:
        campaign = coupons.get_campaign_or_raise(session, tenant_id=principal.tenant_id, campaign_id=campaign_id)
        found = campaigns.usage(session, campaign=campaign, now=ctx.now(), timezone=programs.get(session, tenant_id=principal.tenant_id).timezone)
        return CampaignUsage(
            campaign_id=campaign.id, codes=found.codes, used_codes=found.used_codes, remaining=found.remaining, uses=found.uses,
            discount={cur: to_major(amount, cur) for cur, amount in found.discount.items()}, step=found.step,
            over_time=[UsagePeriod(period=p, uses=n) for p, n in found.over_time],
        )


@router.get("/coupon-campaigns/{campaign_id}", response_model=CampaignRead, summary="Read a coupon campaign")
def get_campaign(request: Request, campaign_id: IdPath, principal: Principal = Depends(require("read"))) -> CampaignRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        return _campaign_read(session, coupons.get_campaign_or_raise(session, tenant_id=principal.tenant_id, campaign_id=campaign_id))


@router.get(
    "/coupon-campaigns/{campaign_id}/codes", summary="Export a campaign's codes as CSV (admin)",
    response_class=StreamingResponse, responses={200: {"content": {"text/csv": {}}}},
)
def export_campaign(request: Request, campaign_id: IdPath, principal: Principal = Depends(require("admin"))) -> StreamingResponse:
    ctx = Context(request)
    with ctx.transaction() as session:
        campaign = coupons.get_campaign_or_raise(session, tenant_id=principal.tenant_id, campaign_id=campaign_id)
    now = ctx.now()

    def rows() -> Iterator[str]:
        with ctx.transaction() as session:
            codes = coupons.campaign_codes(session, tenant_id=principal.tenant_id, campaign_id=campaign_id)
            yield from coupons.csv_lines(codes, now, campaign)

    return StreamingResponse(
        rows(), media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="campaign-{campaign_id}-codes.csv"'},
    )


# --- stamp cards ------------------------------------------------------------------------------


def _card_read(card: StampCard) -> StampCardRead:
    return StampCardRead(
        id=card.id, key=card.key, name={"en": card.name_en, "ar": card.name_ar}, stamps_needed=card.stamps_needed,
        reward_id=card.reward_id, status=card.status, created_at=card.created_at,
    )


@router.post("/stamp-cards", status_code=201, response_model=StampCardRead, summary="Define a stamp card (admin)")
def create_stamp_card(request: Request, card_in: StampCardIn, principal: Principal = Depends(require("admin"))) -> StampCardRead:
    """Rules give stamps to the card's key (a `stamps` action); each full card issues the reward."""
    ctx = Context(request)
    with ctx.transaction() as session:
        return _card_read(stamp_cards.create(session, tenant_id=principal.tenant_id, card_in=card_in, now=ctx.now()))


@router.patch("/stamp-cards/{card_id}", response_model=StampCardRead, summary="Rename, pause or activate a stamp card (admin)")
def update_stamp_card(
    request: Request, card_id: IdPath, card_in: StampCardUpdate, principal: Principal = Depends(require("admin"))
) -> StampCardRead:
    """A paused card takes no stamps; a return never takes back stamps a card did not get."""
    ctx = Context(request)
    with ctx.transaction() as session:
        return _card_read(stamp_cards.update(session, tenant_id=principal.tenant_id, card_id=card_id, card_in=card_in))


@router.get("/stamp-cards", response_model=StampCardPage, summary="The program's stamp cards")
def list_stamp_cards(request: Request, principal: Principal = Depends(require("read"))) -> StampCardPage:
    ctx = Context(request)
    with ctx.transaction() as session:
        return StampCardPage(items=[_card_read(card) for card in stamp_cards.list_(session, tenant_id=principal.tenant_id)])


@router.get("/members/{member_id}/stamp-cards", response_model=MemberStampCards, summary="A member's progress on each stamp card")
def member_stamp_cards(request: Request, member_id: IdPath, principal: Principal = Depends(require("read"))) -> MemberStampCards:
    ctx = Context(request)
    with ctx.transaction() as session:
        members.get_or_raise(session, tenant_id=principal.tenant_id, member_id=member_id)
        cards = []
        for card, stamps, rewarded, forfeited in stamp_cards.of_member(session, tenant_id=principal.tenant_id, member_id=member_id):
            # Full cards, rewarded or forfeited by hand, have spent their stamps.
            cards.append(MemberStampCardRead(
                card=_card_read(card), stamps=max(0, stamps - (rewarded + forfeited) * card.stamps_needed), completed=rewarded,
                total_stamps=stamps,
            ))
        return MemberStampCards(member_id=member_id, cards=cards)
