"""Coupon campaigns after their codes are out: the list, how they are used (codes issued, used,
remaining, uses over time), pause and resume, a new end of validity, and their codes for a table or an
export. Generating a campaign is coupons.create_campaign."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, case, false, func, select
from sqlalchemy.orm import Session

from wafa.db import bucket_of
from wafa.errors import InvalidInput
from wafa.rewards import codes
from wafa.rewards.coupons import get_campaign_or_raise
from wafa.rewards.models import Coupon, CouponCampaign, CouponUse

STATUSES = ("active", "paused")
# What a table of a campaign's codes can show: all, those used at least once, those never used.
CODE_STATES = ("used", "unused")


def list_(session: Session, *, tenant_id: int, before_id: int | None, limit: int) -> list[CouponCampaign]:
    """Campaigns newest first, before a cursor (limit + 1 rows: one more says there is a next page)."""
    query = select(CouponCampaign).where(CouponCampaign.tenant_id == tenant_id)
    if before_id is not None:
        query = query.where(CouponCampaign.id < before_id)
    return list(session.execute(query.order_by(CouponCampaign.id.desc()).limit(limit + 1)).scalars())


def table_query(*, tenant_id: int, status: str | None = None, search: str | None = None) -> Select:
    """Campaigns with their uses so far, for a table to sort and page."""
    uses = (
        select(func.coalesce(func.sum(Coupon.uses), 0)).where(Coupon.tenant_id == tenant_id, Coupon.campaign_id == CouponCampaign.id)
        .correlate(CouponCampaign).scalar_subquery()
    )
    query = select(CouponCampaign, uses.label("uses")).where(CouponCampaign.tenant_id == tenant_id)
    if status in STATUSES:
        query = query.where(CouponCampaign.status == status)
    if search:
        query = query.where(func.lower(CouponCampaign.name).contains(search.lower(), autoescape=True))
    return query


def set_status(session: Session, *, tenant_id: int, campaign_id: int, status: str) -> CouponCampaign:
    """Pause a campaign (the till refuses its codes at once: they read the campaign's status) or resume
    it; asking for the status it has changes nothing. Codes cancelled one by one stay cancelled."""
    if status not in STATUSES:
        raise InvalidInput(f"status is one of {', '.join(STATUSES)}", field="status")
    campaign = _locked(session, tenant_id=tenant_id, campaign_id=campaign_id)
    campaign.status = status
    session.flush()
    return campaign


def set_valid_until(session: Session, *, tenant_id: int, campaign_id: int, valid_until: datetime | None, now: datetime) -> CouponCampaign:
    """Move the end of a campaign's validity (None: no end): every code of it ends with the campaign, also
    those that had expired. One row changes, whatever the number of codes."""
    campaign = _locked(session, tenant_id=tenant_id, campaign_id=campaign_id)
    if valid_until is not None:
        if valid_until <= now:
            raise InvalidInput("valid_until must be in the future", field="valid_until")
        if campaign.valid_from is not None and valid_until <= campaign.valid_from:
            raise InvalidInput("valid_until must be after valid_from", field="valid_until")
    campaign.valid_until = valid_until
    session.flush()
    return campaign


def _locked(session: Session, *, tenant_id: int, campaign_id: int) -> CouponCampaign:
    get_campaign_or_raise(session, tenant_id=tenant_id, campaign_id=campaign_id)
    return session.execute(
        select(CouponCampaign).where(CouponCampaign.tenant_id == tenant_id, CouponCampaign.id == campaign_id)
        .with_for_update().execution_options(populate_existing=True)
    ).scalar_one()


@dataclass(frozen=True, slots=True)
class Usage:
    """How a campaign's codes are used: codes issued, used at least once, still usable now, uses in all,
    the money taken off (minor units, per currency), and uses per day, week or month since it began."""

    codes: int
    used_codes: int
    remaining: int
    uses: int
    discount: dict[str, int]
    step: str  # day, week or month
    over_time: list[tuple[str, int]]


def usage(session: Session, *, campaign: CouponCampaign, now: datetime, timezone: str) -> Usage:
    """A campaign's usage as of `now`; the periods are local to the program's time zone."""
    tenant_id = campaign.tenant_id
    usable: ColumnElement[bool] = (Coupon.status == "active") & (Coupon.uses < Coupon.max_uses)
    if campaign.status == "paused" or (campaign.valid_until is not None and now >= campaign.valid_until):
        usable = false()  # every code of the campaign pauses and ends with it
    row = session.execute(
        select(
            func.count(), func.coalesce(func.sum(case((Coupon.uses > 0, 1), else_=0)), 0),
            func.coalesce(func.sum(case((usable, 1), else_=0)), 0), func.coalesce(func.sum(Coupon.uses), 0),
        ).where(Coupon.tenant_id == tenant_id, Coupon.campaign_id == campaign.id)
    ).one()
    kept = (CouponUse.tenant_id == tenant_id) & (CouponUse.restored == False)  # noqa: E712
    of_campaign = select(Coupon.id).where(Coupon.tenant_id == tenant_id, Coupon.campaign_id == campaign.id)
    discount = {
        currency: int(total) for currency, total in session.execute(
            select(CouponUse.currency, func.sum(CouponUse.discount)).where(kept, CouponUse.coupon_id.in_(of_campaign))
            .group_by(CouponUse.currency)
        )
    }
    step, edges, labels = _periods(campaign.created_at, now, timezone)
    if not labels:  # a clock behind the campaign's creation: no period has begun
        return Usage(codes=int(row[0]), used_codes=int(row[1]), remaining=int(row[2]), uses=int(row[3]), discount=discount,
                     step=step, over_time=[])
    spans = select(bucket_of(CouponUse.used_at, edges).label("bucket")).where(
        kept, CouponUse.coupon_id.in_(of_campaign), CouponUse.used_at >= edges[0], CouponUse.used_at < edges[-1],
    ).subquery()
    counts = [0] * len(labels)
    for bucket, n in session.execute(select(spans.c.bucket, func.count()).where(spans.c.bucket.is_not(None)).group_by(spans.c.bucket)):
        counts[int(bucket)] = int(n)
    return Usage(codes=int(row[0]), used_codes=int(row[1]), remaining=int(row[2]), uses=int(row[3]), discount=discount,
                 step=step, over_time=list(zip(labels, counts, strict=True)))


def _periods(start: datetime, end: datetime, timezone: str) -> tuple[str, list[datetime], list[str]]:
    """Local days (or weeks, or months for a long campaign) from `start`'s day to `end`'s: at most ~60."""
    zone = ZoneInfo(timezone)
    first = start.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
    last = end.astimezone(zone).replace(tzinfo=None)
    days = (last - first).days + 1
    step = "day" if days <= 62 else "week" if days <= 62 * 7 else "month"
    if step == "month":
        first = first.replace(day=1)
    edges, labels, at = [], [], first
    while at <= last:
        edges.append(at)
        labels.append(at.strftime("%Y-%m") if step == "month" else at.date().isoformat())
        at = (at + timedelta(days=32)).replace(day=1) if step == "month" else at + timedelta(days=1 if step == "day" else 7)
    edges.append(at)
    # Wall-clock midnights in the zone, as instants (a DST day lasts 23 or 25 hours).
    return step, [e.replace(tzinfo=zone) for e in edges], labels


def codes_query(*, tenant_id: int, campaign_id: int, state: str | None = None, search: str | None = None) -> Select:
    """A campaign's codes (id, code, status, uses, max_uses, validity), for a table or an export; `state`
    used or unused, `search` the start of a code as typed (case, spaces and dashes ignored)."""
    query = select(
        Coupon.id, Coupon.code, Coupon.status, Coupon.uses, Coupon.max_uses, Coupon.valid_from, Coupon.valid_until,
    ).where(Coupon.tenant_id == tenant_id, Coupon.campaign_id == campaign_id)
    if state == "used":
        query = query.where(Coupon.uses > 0)
    elif state == "unused":
        query = query.where(Coupon.uses == 0)
    if search and codes.normalise(search):
        query = query.where(Coupon.code.startswith(codes.normalise(search), autoescape=True))
    return query
