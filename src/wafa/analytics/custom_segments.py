"""Custom segments: conditions the team writes over members (RFM segment, tier, last purchase, total spend,
churn risk, city, language, age band), their members recomputed daily by the worker and on demand, their
size over time, and what rules and rewards read as a member's segments."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from pydantic import TypeAdapter
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from wafa.analytics import abc, audiences, clv, rfm, segment_changes, segment_rules, segments
from wafa.analytics.models import AbcScore, CustomSegment, RfmScore, SegmentCount, SegmentMember
from wafa.db import bulk_insert
from wafa.errors import Conflict, InvalidInput, NotFound
from wafa.events import purchase_history
from wafa.members import service as members
from wafa.money import to_minor
from wafa.programs import service as programs
from wafa.tiers import service as tiers

_CONDITIONS = TypeAdapter(list[segment_rules.SegmentCondition])


def conditions_of(segment: CustomSegment) -> list[segment_rules.SegmentCondition]:
    return _CONDITIONS.validate_python(segment.conditions)


_LOCALES = ("ar", "en")
_AGE_BANDS = ("under_18", "18_24", "25_34", "35_44", "45_54", "55_64", "65_plus", "unknown")


def checked(
    session: Session, *, tenant_id: int, conditions: list[segment_rules.SegmentCondition], field: str = "conditions",
) -> list[segment_rules.SegmentCondition]:
    """The conditions with the program's own tier and RFM segment keys (matched in any case); InvalidInput
    naming the first key the program does not have (a translated name, a typo), which would match nobody."""

    def walk(c: dict, at: str) -> dict:
        kind = c["type"]
        if kind == "tier":
            return {**c, "any_of": audiences.tier_keys(session, tenant_id=tenant_id, keys=c["any_of"], field=f"{at}.any_of")}
        if kind == "rfm_segment":
            return {**c, "any_of": audiences.rfm_keys(c["any_of"], field=f"{at}.any_of")}
        if kind == "member_attribute" and c["attribute"] in ("locale", "age_band"):
            allowed = _LOCALES if c["attribute"] == "locale" else _AGE_BANDS
            for index, value in enumerate(c["any_of"]):
                if value not in allowed:
                    raise InvalidInput(f"no {c['attribute']} {value!r}; use one of {', '.join(allowed)}", field=f"{at}.any_of[{index}]")
        if kind in ("all", "any"):
            return {**c, "conditions": [walk(p, f"{at}.conditions[{i}]") for i, p in enumerate(c["conditions"])]}
        if kind == "not":
            return {**c, "condition": walk(c["condition"], f"{at}.condition")}
        return c

    dumped = [c.model_dump(mode="json", exclude_none=True) for c in conditions]
    return _CONDITIONS.validate_python([walk(c, f"{field}[{i}]") for i, c in enumerate(dumped)])


def create(
    session: Session, *, tenant_id: int, key: str, name_en: str, name_ar: str, conditions: list[segment_rules.SegmentCondition],
    now: datetime,
) -> CustomSegment:
    """Define a segment (its members are computed at once)."""
    if key in rfm.SEGMENTS:
        raise Conflict(f"{key!r} is an RFM segment's name", field="key")
    if session.execute(select(CustomSegment.id).where(CustomSegment.tenant_id == tenant_id, CustomSegment.key == key)).first():
        raise Conflict(f"a segment with key {key!r} already exists", field="key")
    conditions = checked(session, tenant_id=tenant_id, conditions=conditions)
    program = programs.get(session, tenant_id=tenant_id)
    for bound in segment_rules.money_bounds(conditions):
        to_minor(bound, program.base_currency, field="conditions")
    segment = CustomSegment(
        tenant_id=tenant_id, key=key, name_en=name_en, name_ar=name_ar,
        conditions=[c.model_dump(mode="json", exclude_none=True) for c in conditions], created_at=now,
    )
    session.add(segment)
    session.flush()
    recompute(session, segment=segment, now=now)
    return segment


def get_or_raise(session: Session, *, tenant_id: int, segment_id: int) -> CustomSegment:
    found = session.execute(
        select(CustomSegment).where(CustomSegment.tenant_id == tenant_id, CustomSegment.id == segment_id)
    ).scalar_one_or_none()
    if found is None:
        raise NotFound(f"segment {segment_id} not found")
    return found


def list_(session: Session, *, tenant_id: int) -> list[CustomSegment]:
    return list(session.execute(select(CustomSegment).where(CustomSegment.tenant_id == tenant_id).order_by(CustomSegment.id)).scalars())


def update(
    session: Session, *, tenant_id: int, segment_id: int, name_en: str | None, name_ar: str | None,
    conditions: list[segment_rules.SegmentCondition] | None, now: datetime,
) -> CustomSegment:
    """Rename a segment or change its conditions (its members are recomputed at once)."""
    segment = get_or_raise(session, tenant_id=tenant_id, segment_id=segment_id)
    if name_en is not None:
        segment.name_en = name_en
    if name_ar is not None:
        segment.name_ar = name_ar
    if conditions is not None:
        conditions = checked(session, tenant_id=tenant_id, conditions=conditions)
        program = programs.get(session, tenant_id=tenant_id)
        for bound in segment_rules.money_bounds(conditions):
            to_minor(bound, program.base_currency, field="conditions")
        segment.conditions = [c.model_dump(mode="json", exclude_none=True) for c in conditions]
        session.flush()
        recompute(session, segment=segment, now=now)
    session.flush()
    return segment


def churn_risks(session: Session, *, tenant_id: int, now: datetime) -> dict[int, float]:
    """Member id -> 1 - P(alive) from the newest lifetime-value fit (empty without one)."""
    from wafa.analytics import lifetime_value

    model = lifetime_value.latest(session, tenant_id=tenant_id)
    if model is None:
        return {}
    params = clv.BgNbd(**model.bgnbd)
    today = now.astimezone(ZoneInfo(programs.get(session, tenant_id=tenant_id).timezone)).date()
    history = lifetime_value.history_rows(session, tenant_id=tenant_id, until=now)
    return {int(s.customer): 1 - clv.probability_alive(params, s.x, s.t_x, s.T)
            for s in clv.summarise(history, calibration_end=today, unit=model.unit)}


def _facts(session: Session, *, tenant_id: int, churn: bool, now: datetime) -> list[tuple[int, segment_rules.Facts]]:
    """Every active member's facts, from a few whole-program queries."""
    program = programs.get(session, tenant_id=tenant_id)
    last: dict[int, datetime] = {}
    spend: dict[int, int] = {}
    for member_id, currency, at, _, kept in purchase_history.member_totals(session, tenant_id=tenant_id):
        last[member_id] = max(last.get(member_id, at), at)
        spend[member_id] = spend.get(member_id, 0) + int(program.in_base(kept, currency))
    rfm_of = dict(session.execute(select(RfmScore.member_id, RfmScore.segment).where(RfmScore.tenant_id == tenant_id)).all())
    tier_of = tiers.keys_by_member(session, tenant_id=tenant_id)
    risk = churn_risks(session, tenant_id=tenant_id, now=now) if churn else {}
    zone = ZoneInfo(program.timezone)
    return [
        (member_id, segment_rules.Facts(
            rfm_segment=rfm_of.get(member_id), tier=tier_of.get(member_id),
            last_purchase=last[member_id].astimezone(zone).date() if member_id in last else None,
            total_spend=spend.get(member_id, 0), churn_risk=risk.get(member_id), locale=locale, city=city, birth_date=birth,
        ))
        for member_id, locale, city, birth in members.facts_rows(session, tenant_id=tenant_id)
    ]


def recompute(session: Session, *, segment: CustomSegment, now: datetime, facts: list | None = None) -> int:
    """Replace a segment's members with those meeting its conditions now; keep the count; return it."""
    segments.lock_run(session, tenant_id=segment.tenant_id)  # one computation of the program's segments at a time
    program = programs.get(session, tenant_id=segment.tenant_id)
    conditions = conditions_of(segment)
    if facts is None:
        facts = _facts(session, tenant_id=segment.tenant_id, churn=segment_rules.needs_churn(conditions), now=now)
    bounds = {b: to_minor(b, program.base_currency) for b in segment_rules.money_bounds(conditions)}
    today = now.astimezone(ZoneInfo(program.timezone)).date()
    chosen = [m for m, f in facts if segment_rules.matches(conditions, f, today=today, to_minor=bounds)]
    before = set(session.execute(select(SegmentMember.member_id).where(
        SegmentMember.tenant_id == segment.tenant_id, SegmentMember.segment_id == segment.id)).scalars())
    session.execute(delete(SegmentMember).where(SegmentMember.tenant_id == segment.tenant_id, SegmentMember.segment_id == segment.id))
    segment_changes.announce_membership(session, tenant_id=segment.tenant_id, segment=segment.key, before=before, after=set(chosen), now=now)
    bulk_insert(session, SegmentMember, [{"tenant_id": segment.tenant_id, "segment_id": segment.id, "member_id": m} for m in chosen])
    session.add(SegmentCount(tenant_id=segment.tenant_id, segment_id=segment.id, at=now, members=len(chosen)))
    segment.computed_at = now
    session.flush()
    return len(chosen)


def recompute_all(session: Session, *, tenant_id: int, now: datetime) -> int:
    """Recompute every custom segment of the program from one reading of the members' facts; return how many."""
    found = list_(session, tenant_id=tenant_id)
    if not found:
        return 0
    churn = any(segment_rules.needs_churn(conditions_of(s)) for s in found)
    facts = _facts(session, tenant_id=tenant_id, churn=churn, now=now)
    for segment in found:
        recompute(session, segment=segment, now=now, facts=facts)
    return len(found)


def size(session: Session, *, tenant_id: int, segment_id: int) -> int:
    return session.execute(
        select(func.count()).where(SegmentMember.tenant_id == tenant_id, SegmentMember.segment_id == segment_id)
    ).scalar_one()


def member_ids(session: Session, *, tenant_id: int, segment_id: int, after_member_id: int | None, limit: int) -> list[int]:
    query = select(SegmentMember.member_id).where(SegmentMember.tenant_id == tenant_id, SegmentMember.segment_id == segment_id)
    if after_member_id is not None:
        query = query.where(SegmentMember.member_id > after_member_id)
    return list(session.execute(query.order_by(SegmentMember.member_id).limit(limit)).scalars())


def counts(session: Session, *, tenant_id: int, segment_id: int) -> list[SegmentCount]:
    """The segment's size at each computation, oldest first."""
    return list(session.execute(
        select(SegmentCount).where(SegmentCount.tenant_id == tenant_id, SegmentCount.segment_id == segment_id).order_by(SegmentCount.at)
    ).scalars())


def keys_of(session: Session, *, tenant_id: int, member_id: int) -> frozenset[str]:
    """The keys of the custom segments a member is in."""
    return frozenset(session.execute(
        select(CustomSegment.key).join(SegmentMember, SegmentMember.segment_id == CustomSegment.id).where(
            SegmentMember.tenant_id == tenant_id, SegmentMember.member_id == member_id, CustomSegment.tenant_id == tenant_id,
        )
    ).scalars())


def members_of_key(session: Session, *, tenant_id: int, key: str) -> list[int]:
    """Member ids in a segment named by key (in any case): an RFM segment, an A/B/C class or a custom one."""
    key = audiences.segment_keys(session, tenant_id=tenant_id, keys=key, field="segment")[0]
    if key in audiences.ABC_CLASSES:
        return list(session.execute(
            select(AbcScore.member_id).where(AbcScore.tenant_id == tenant_id, AbcScore.abc_class == key[-1].upper())
            .order_by(AbcScore.member_id)
        ).scalars())
    if key in rfm.SEGMENTS:
        return list(session.execute(
            select(RfmScore.member_id).where(RfmScore.tenant_id == tenant_id, RfmScore.segment == key).order_by(RfmScore.member_id)
        ).scalars())
    segment = session.execute(
        select(CustomSegment).where(CustomSegment.tenant_id == tenant_id, CustomSegment.key == key)
    ).scalar_one_or_none()
    if segment is None:
        raise InvalidInput(f"no segment {key!r}", field="segment")
    return member_ids(session, tenant_id=tenant_id, segment_id=segment.id, after_member_id=None, limit=10**9)


def recompute_everything(session: Session, *, tenant_id: int, now: datetime) -> dict[str, int]:
    """RFM scores, then A/B/C ranks, then the program's own segments (they may read the RFM segments):
    the worker's daily run and the console's "recompute now". The caller holds the daily run's lock."""
    scored = segments.recompute(session, tenant_id=tenant_id, now=now)
    ranked = abc.recompute(session, tenant_id=tenant_id, now=now)
    own = recompute_all(session, tenant_id=tenant_id, now=now)
    return {"rfm": scored, "abc": ranked, "custom": own}
