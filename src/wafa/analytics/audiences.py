"""Who a targeting names: the tier and segment keys rewards, rules, custom segments and survey invitations
refer to, checked against what the program has. A key is matched without regard to case (a tier also by
its English name, as a hand-written "Gold") and kept as the program's own key, so a typo or a translated
name ("ذهبي") is refused instead of silently matching nobody."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from wafa.analytics import rfm
from wafa.analytics.models import CustomSegment
from wafa.errors import InvalidInput
from wafa.tiers import service as tiers

ABC_CLASSES = {"abc_a": "A customers", "abc_b": "B customers", "abc_c": "C customers"}


@dataclass(frozen=True, slots=True)
class Choice:
    """Something a targeting may name: its key, its names, and what kind of thing it is."""

    key: str
    name_en: str
    name_ar: str | None
    kind: str  # tier, rfm, abc, custom


def tier_choices(session: Session, *, tenant_id: int) -> list[Choice]:
    """The program's tiers, lowest first."""
    return [Choice(t.key, t.name_en, t.name_ar, "tier") for t in tiers.tiers_of(session, tenant_id=tenant_id)]


def segment_choices(session: Session, *, tenant_id: int) -> list[Choice]:
    """Every segment a member can be in: the RFM segments, the A/B/C classes, and the program's own."""
    own = session.execute(
        select(CustomSegment.key, CustomSegment.name_en, CustomSegment.name_ar).where(CustomSegment.tenant_id == tenant_id)
        .order_by(CustomSegment.id)
    ).all()
    return (
        [Choice(key, name, None, "rfm") for key, name in rfm.SEGMENTS.items()]
        + [Choice(key, name, None, "abc") for key, name in ABC_CLASSES.items()]
        + [Choice(key, en, ar, "custom") for key, en, ar in own]
    )


def _canonical(found: Iterable[str] | str, known: dict[str, str], *, field: str, what: str) -> list[str]:
    """Each name as its key; a single name (not a list) is refused as `field`, a listed one as `field[i]`."""
    single = isinstance(found, str)
    names = [found] if isinstance(found, str) else found
    out: list[str] = []
    for index, name in enumerate(names):
        key = known.get(name.strip().lower())
        if key is None:
            listed = ", ".join(sorted(set(known.values()))) or "none yet"
            raise InvalidInput(f"no {what} {name!r}; the program's {what}s are: {listed}", field=field if single else f"{field}[{index}]")
        if key not in out:
            out.append(key)
    return out


def tier_keys(session: Session, *, tenant_id: int, keys: Iterable[str] | str, field: str) -> list[str]:
    """`keys` as the program's tier keys (a key or English name in any case); InvalidInput naming the
    first unknown one as `field[i]` (`field` for a single key)."""
    known: dict[str, str] = {}
    for tier in tiers.tiers_of(session, tenant_id=tenant_id):
        known.setdefault(tier.name_en.lower(), tier.key)
    for tier in tiers.tiers_of(session, tenant_id=tenant_id):
        known[tier.key.lower()] = tier.key  # a key wins over another tier's name
    return _canonical(keys, known, field=field, what="tier")


def segment_keys(session: Session, *, tenant_id: int, keys: Iterable[str] | str, field: str) -> list[str]:
    """`keys` as segment keys (RFM, A/B/C or the program's own, in any case); InvalidInput naming the first
    unknown one as `field[i]` (`field` for a single key)."""
    known = {name.lower(): key for key, name in rfm.SEGMENTS.items()}
    known |= {choice.key.lower(): choice.key for choice in segment_choices(session, tenant_id=tenant_id)}
    return _canonical(keys, known, field=field, what="segment")


def rfm_keys(keys: Iterable[str], *, field: str) -> list[str]:
    """`keys` as RFM segment keys, in any case; InvalidInput naming the first unknown one as `field[i]`."""
    known = {name.lower(): key for key, name in rfm.SEGMENTS.items()} | {key: key for key in rfm.SEGMENTS}
    return _canonical(keys, known, field=field, what="RFM segment")
