"""How often rules rewarded a member since a given time: the uses of a member's rule offers (offers/grants.py)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from wafa.rules.models import RuleAward


def since(session: Session, *, tenant_id: int, member_id: int, rules: Iterable[tuple[int, datetime]]) -> dict[int, int]:
    """Rule id → the events it rewarded the member for at or after its time (one query; rules never met left out)."""
    wanted = list(rules)
    if not wanted:
        return {}
    query = select(RuleAward.rule_id, func.count()).where(
        RuleAward.tenant_id == tenant_id, RuleAward.member_id == member_id,
        or_(*(and_(RuleAward.rule_id == rule_id, RuleAward.occurred_at >= start) for rule_id, start in wanted)),
    ).group_by(RuleAward.rule_id)
    return {int(rule_id): int(count) for rule_id, count in session.execute(query)}
