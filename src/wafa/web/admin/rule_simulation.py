"""The rules editor's simulate panel: a basket at a chosen moment, evaluated under the active rules and
the rule as the editor holds it now (saved or not), with each rule's verdict (rules/reasons.py). Nothing
is written."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from wafa.errors import WafaError
from wafa.events import service as events
from wafa.events.schemas import Item, MemberRef, PurchaseIn
from wafa.inputs import TYPED_BY_PEOPLE
from wafa.members import service as members
from wafa.programs import service as programs
from wafa.rules import engine, reasons
from wafa.web.admin.forms import FormError, Problem, names, text
from wafa.web.admin.rule_form import definition_of
from wafa.web.i18n import Lang
from wafa.web.messages import N_

# The rule being written has no id yet: it is simulated under one no saved rule has, the highest, so
# it loses ties among exclusive rules as the newest rule would.
NEW_RULE_ID = 2**31 - 1


@dataclass
class Outcome:
    """A simulation as the panel shows it: the base points, each rule's verdict, and the editor's rule."""

    at: datetime
    currency: str | None
    base_points: int = 0
    verdicts: list[reasons.Verdict] = field(default_factory=list)
    names: dict[int, dict[str, str]] = field(default_factory=dict)
    draft_id: int | None = None
    draft_status: str = "new"
    draft_left_out: bool = False
    member_status: str | None = None
    weekday: int = 0  # of the moment, in the program's time zone
    problems: list[Problem] = field(default_factory=list)

    @property
    def total_points(self) -> int:
        return self.base_points + sum(v.award.points for v in self.verdicts if v.award)


def basket_of(form: Any, *, currency: str, member: MemberRef | None) -> PurchaseIn:
    """The simulate panel's basket: an amount, lines of "sku, category, quantity, unit price", a member."""
    items: list[Item] = []
    problems: dict[str, Problem] = {}
    for n, line in enumerate(text(form, "items").splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.replace("،", ",").split(",")]
        if len(parts) != 4:
            problems.setdefault("items", Problem(N_("Line %(n)s: write the SKU, category, quantity and unit price, separated by commas."), {"n": n}))
            continue
        sku, category, quantity, price = parts
        try:
            # Typed by a person: a price in Arabic-Indic digits reads as ASCII ones (wafa.inputs).
            items.append(Item.model_validate({"sku": sku, "category": category or None, "quantity": int(quantity), "unit_price": price},
                                             context=TYPED_BY_PEOPLE))
        except (ValueError, InvalidOperation, ValidationError):
            problems.setdefault("items", Problem(N_("Line %(n)s: the quantity is a whole number and the price an amount, such as 12.50."), {"n": n}))
    if problems:
        raise FormError(fields=problems)
    amount = text(form, "amount").replace(",", "") or (str(sum(Decimal(i.unit_price) * i.quantity for i in items)) if items else "0")
    try:
        return PurchaseIn.model_validate({
            "type": "purchase", "order_id": "simulation", "amount": amount, "currency": (text(form, "currency") or currency).upper(),
            "items": items or None, "member": member, "channel": text(form, "channel") or None, "store": text(form, "store") or None,
            "coupons": names(form, "coupons"),
        }, context=TYPED_BY_PEOPLE)
    except (ValidationError, InvalidOperation):
        raise FormError(fields={"amount": Problem(N_("Enter an amount, such as 12.50."))}) from None


def _member(session: Any, *, tenant_id: int, typed: str, region: str) -> MemberRef | None:
    if not typed:
        return None
    found = members.find(session, tenant_id=tenant_id, text=typed, region=region, limit=2)
    if not found:
        raise FormError(fields={"member": Problem(N_("No member matches this."))})
    if len(found) > 1:
        raise FormError(fields={"member": Problem(N_("Several members match: write their e-mail, phone or the shop's id."))})
    return MemberRef(id=found[0].id)


def _draft(form: Any, rule: Any, version: Any, *, timezone: str, lang: Lang) -> engine.Rule | None:
    """The rule as the editor holds it now, or None when it is not complete enough to evaluate."""
    try:
        definition = definition_of(form, timezone=timezone, lang=lang, draft=True)
    except FormError:
        return None
    return engine.Rule(rule.id if rule else NEW_RULE_ID, version.version + 1 if version else 1, definition)


def simulation_of(
    session: Any, form: Any, *, tenant_id: int, lang: Lang, rule: Any, version: Any, at: datetime, now: datetime, currency: str,
) -> Outcome:
    """What the basket in `form` would earn at `at`, with the editor's rule (`rule` at `version`, or a new
    one) in place of its saved version."""
    outcome = Outcome(at=at, currency=None, draft_status=rule.status if rule else "new")
    # A post without the editor (an API-like call with a rule id) simulates the rules as saved.
    editing = "rows" in form or "definition_json" in form
    program = programs.get(session, tenant_id=tenant_id)
    draft = _draft(form, rule, version, timezone=program.timezone, lang=lang) if editing else None
    outcome.draft_id = draft.id if draft else (rule.id if rule else None)
    outcome.draft_left_out = editing and draft is None
    member = _member(session, tenant_id=tenant_id, typed=text(form, "member"), region=program.default_region)
    event = basket_of(form, currency=currency, member=member)
    try:
        trial = events.trial(session, tenant_id=tenant_id, event_in=event, now=now, at=at, draft=draft)
    except WafaError as exc:
        where = getattr(exc, "field", None) or ""
        name = "currency" if where == "currency" else "amount" if where == "amount" else "items" if where.startswith("items") else "member"
        message = {"currency": N_("The program does not take this currency."), "amount": N_("Enter an amount, such as 12.50."),
                   "items": N_("A price has more decimals than the currency has."), "member": N_("No member matches this.")}[name]
        raise FormError(fields={name: Problem(message)}) from None
    if outcome.draft_left_out and rule is not None:
        # An editor that cannot be read leaves its rule out (its saved version too), and the panel says so.
        trial.rules[:] = [r for r in trial.rules if r.id != rule.id]
    outcome.currency, outcome.member_status = trial.currency, trial.member_status
    outcome.weekday = at.astimezone(ZoneInfo(trial.timezone)).weekday()
    if trial.member_status not in (None, "active"):
        return outcome
    outcome.base_points = trial.base_points
    outcome.verdicts = reasons.explain(trial.rules, trial.facts, trial.member, base_points=trial.base_points, timezone=trial.timezone,
                                       usage=trial.usage)
    outcome.names = {r.id: {"en": r.definition.name_en, "ar": r.definition.name_ar} for r in trial.rules}
    return outcome
