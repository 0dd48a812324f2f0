"""Why each rule gives what it gives for an event, or why it gives nothing: the engine's decision told
rule by rule (for the console's simulate panel). Pure, like the engine, and always in agreement with it:
the rules `explain` says apply are exactly the awards `engine.evaluate` returns.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo

from wafa.rules.engine import Award, EventFacts, MemberFacts, Rule, Usage, capped, holds, outside_window, raw_award, stacking

Outcome = Literal["applies", "trigger", "partner", "not_started", "ended", "day", "hours", "condition", "nothing", "capped_out", "shut_out"]


@dataclass(frozen=True, slots=True)
class Verdict:
    """One rule's outcome for one event.

    `outcome` is "applies" (with `award`, possibly cut by a cap: `award.capped_by`), or why it gives
    nothing: another trigger, before its start, after its end, another day, outside its hours, a
    condition not met (`condition`: its index among the rule's conditions), actions that give nothing
    for this event, a cap or budget already used up (`capped_by`), or shut out by an exclusive rule
    (`by`: that rule's id)."""

    rule: Rule
    outcome: Outcome
    award: Award | None = None
    condition: int | None = None
    capped_by: str | None = None
    by: int | None = None

    @property
    def applies(self) -> bool:
        return self.outcome == "applies"


def explain(
    rules: Iterable[Rule],
    event: EventFacts,
    member: MemberFacts,
    *,
    base_points: int,
    timezone: str,
    usage: Mapping[int, Usage] | None = None,
) -> list[Verdict]:
    """A verdict for every rule, in the order the rules were given."""
    zone = ZoneInfo(timezone)
    usage = usage or {}
    memo: dict[object, list] = {}
    verdicts: dict[int, Verdict] = {}
    order: list[Rule] = list(rules)
    candidates: list[tuple[Rule, Award]] = []
    for rule in order:
        spec = rule.definition
        if spec.trigger != event.type:
            verdicts[id(rule)] = Verdict(rule, "trigger")
            continue
        if spec.partner is not None and spec.partner != event.partner:
            verdicts[id(rule)] = Verdict(rule, "partner")
            continue
        missed = outside_window(spec.window, event.occurred_at, zone)
        if missed is not None:
            verdicts[id(rule)] = Verdict(rule, missed)  # type: ignore[arg-type]
            continue
        failed = next((i for i, condition in enumerate(spec.conditions) if not holds(condition, event, member, memo)), None)
        if failed is not None:
            verdicts[id(rule)] = Verdict(rule, "condition", condition=failed)
            continue
        raw = raw_award(rule, event, base_points, memo)
        if raw.empty:
            verdicts[id(rule)] = Verdict(rule, "nothing")
            continue
        award = capped(rule, raw, usage.get(rule.id, Usage()))
        if award.empty:
            verdicts[id(rule)] = Verdict(rule, "capped_out", capped_by=award.capped_by)
            continue
        candidates.append((rule, award))
    applied, winner = stacking(candidates)
    given = {id(award) for award in applied}
    for rule, award in candidates:
        if id(award) in given:
            verdicts[id(rule)] = Verdict(rule, "applies", award=award)
        else:
            verdicts[id(rule)] = Verdict(rule, "shut_out", by=winner.id if winner else None)
    return [verdicts[id(rule)] for rule in order]
