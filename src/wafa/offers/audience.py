"""Who an offer is for: everyone, segments, tiers, a list of external ids, or the members the model ranks it
highest for; optionally only the members an experiment assigns to some of its arms.

An audience is checked when the offer is written (unknown segments, tiers or experiments are a 422) and
resolved to member ids when the offer is activated and again each night (members who joined it since
are given the offer then)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from wafa.analytics import audiences, custom_segments
from wafa.db import in_chunks
from wafa.errors import InvalidInput
from wafa.members.models import Member
from wafa.offers import service
from wafa.tiers import service as tiers

KINDS = ("all", "segments", "tiers", "external_ids", "model")
MAX_EXTERNAL_IDS = 100_000
SOURCES = {"all": "all", "segments": "segment", "tiers": "tier", "external_ids": "list", "model": "model"}


def checked(session: Session, *, tenant_id: int, audience: dict[str, Any]) -> dict[str, Any]:
    """The audience as stored (names in their canonical case), or InvalidInput saying what is wrong."""
    if not isinstance(audience, dict):
        raise InvalidInput("an object", field="audience")
    unknown = set(audience) - set(KINDS) - {"experiment", "arms"}
    given = [kind for kind in KINDS if kind in audience]
    if unknown or len(given) != 1:
        raise InvalidInput('one of {"all": true}, {"segments": [...]}, {"tiers": [...]}, {"external_ids": [...]}, {"model": {"top": n}}, '
                           'with optional "experiment" and "arms"', field="audience")
    kind = given[0]
    value = audience[kind]
    out: dict[str, Any]
    if kind == "all":
        if value is not True:
            raise InvalidInput("all: true", field="audience.all")
        out = {"all": True}
    elif kind == "model":
        top = value.get("top") if isinstance(value, dict) else None
        if not isinstance(top, int) or isinstance(top, bool) or not 1 <= top <= 50 or set(value) != {"top"}:
            raise InvalidInput('{"top": n} with n from 1 to 50', field="audience.model")
        out = {"model": {"top": top}}
    else:
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
            raise InvalidInput("a non-empty list of names", field=f"audience.{kind}")
        if kind == "tiers":
            out = {"tiers": audiences.tier_keys(session, tenant_id=tenant_id, keys=value, field="audience.tiers")}
        elif kind == "segments":
            out = {"segments": audiences.segment_keys(session, tenant_id=tenant_id, keys=value, field="audience.segments")}
        else:
            if len(value) > MAX_EXTERNAL_IDS:
                raise InvalidInput(f"at most {MAX_EXTERNAL_IDS:,} external ids", field="audience.external_ids")
            out = {"external_ids": sorted({v.strip() for v in value})}
    if "experiment" in audience or "arms" in audience:
        out.update(_experiment(session, tenant_id=tenant_id, audience=audience))
    return out


def _experiment(session: Session, *, tenant_id: int, audience: dict[str, Any]) -> dict[str, Any]:
    from wafa.experiments import service as experiments

    key, arms = audience.get("experiment"), audience.get("arms")
    if not isinstance(key, str) or not isinstance(arms, list) or not arms or not all(isinstance(a, str) for a in arms):
        raise InvalidInput('"experiment": its key, and "arms": a non-empty list of its arms', field="audience.experiment")
    found = experiments.get_by_key(session, tenant_id=tenant_id, key=key)
    known = {arm["key"] for arm in found.arms}
    wrong = sorted(set(arms) - known)
    if wrong:
        raise InvalidInput(f"experiment {key!r} has no arm {', '.join(map(repr, wrong))} (its arms: {', '.join(sorted(known))})",
                           field="audience.arms")
    return {"experiment": found.key, "arms": sorted(set(arms))}


def resolve(session: Session, *, tenant_id: int, audience: dict[str, Any], item: str | None) -> dict[int, tuple[str, str | None]]:
    """The active members the audience names now: member id → (how they were chosen, their experiment arm).
    `item` is the model's name for what the offer is about ("reward:<id>", "category:<name>")."""
    active = select(Member.id).where(Member.tenant_id == tenant_id, Member.status == "active")
    wanted: set[int]
    if audience.get("all"):
        wanted = {int(m) for m in session.execute(active).scalars()}
    elif "model" in audience:
        wanted = _model_pick(session, tenant_id=tenant_id, item=item, top=audience["model"]["top"])
    elif "tiers" in audience:
        keys = set(audience["tiers"])
        wanted = {m for m, key in tiers.keys_by_member(session, tenant_id=tenant_id).items() if key in keys}
    elif "segments" in audience:
        wanted = set()
        for key in audience["segments"]:
            wanted.update(custom_segments.members_of_key(session, tenant_id=tenant_id, key=key))
    else:
        wanted = set()
        for chunk in in_chunks(audience["external_ids"]):
            wanted.update(int(m) for m in session.execute(active.where(Member.external_id.in_(chunk))).scalars())
    if not audience.get("all"):
        # Only members active now (a segment may still hold members who left).
        found: set[int] = set()
        for chunk in in_chunks(sorted(wanted)):
            found.update(int(m) for m in session.execute(active.where(Member.id.in_(chunk))).scalars())
        wanted = found
    source = next(SOURCES[kind] for kind in KINDS if kind in audience)
    if "experiment" not in audience:
        return dict.fromkeys(wanted, (source, None))
    from wafa.experiments import service as experiments

    arms = set(audience["arms"])
    out: dict[int, tuple[str, str | None]] = {}
    for member_id in wanted:
        arm = experiments.arm_of(session, tenant_id=tenant_id, key=audience["experiment"], member_id=member_id)
        if arm in arms:
            out[member_id] = ("experiment", arm)
    return out


def _model_pick(session: Session, *, tenant_id: int, item: str | None, top: int) -> set[int]:
    """Members for whom the latest model ranks `item` among their `top` best items; members it does not know
    when the item is among the `top` popular items of their RFM segment (or overall)."""
    stored = service.current(session, tenant_id=tenant_id)
    if stored is None or item is None:
        return set()
    fitted = stored.recommender
    picked: set[int] = set()
    if item in fitted.items:
        column = fitted.items.index(item)
        # Each member's score for every item, a block of members at a time: the item is in a member's top n
        # when fewer than n items score above it.
        for start in range(0, len(fitted.member_ids), 20_000):
            scores = fitted.member_factors[start:start + 20_000] @ fitted.item_factors.T
            above = (scores > scores[:, [column]]).sum(axis=1)
            picked.update(int(fitted.member_ids[start + i]) for i in np.flatnonzero(above < top))
    popular_overall = {name for name, _ in fitted.popular[:top]}
    by_segment = {segment: {name for name, _ in ranked[:top]} for segment, ranked in fitted.popular_by_segment.items()}
    segments = _segments_of_unknown(session, tenant_id=tenant_id, known=set(fitted.member_ids))
    for member_id, segment in segments.items():
        popular = by_segment.get(segment or "") or popular_overall
        if item in popular:
            picked.add(member_id)
    return picked


def _segments_of_unknown(session: Session, *, tenant_id: int, known: set[int]) -> dict[int, str | None]:
    """The active members the model did not learn from, with their RFM segment (None: never scored)."""
    from wafa.analytics import rfm

    segment_of: dict[int, str | None] = {}
    for name in rfm.SEGMENTS:
        for member_id in custom_segments.members_of_key(session, tenant_id=tenant_id, key=name):
            segment_of[member_id] = name
    active = session.execute(select(Member.id).where(Member.tenant_id == tenant_id, Member.status == "active")).scalars()
    return {int(m): segment_of.get(int(m)) for m in active if int(m) not in known}
