"""Rules in the console: the list, a form editor for conditions and actions (and the JSON beneath for
what the form cannot show, like nested any/all groups), activation, and a simulate panel that shows
what a basket would earn at a chosen moment under the active rules and the rule being edited, saying
rule by rule why it fires or not."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from wafa.analytics import audiences
from wafa.api.deps import Context, IdPath
from wafa.errors import WafaError
from wafa.events import seen
from wafa.programs import service as programs
from wafa.rewards import catalog, stamp_cards
from wafa.rules import service as rules
from wafa.web.admin.auth import PATH, REFUSALS, Admin, current_admin, refuse
from wafa.web.admin.forms import READ_ONLY, FormError, Problem, Problems, checked, entered, local_datetime, text, whole
from wafa.web.admin.rule_form import ACTIONS, ATTRIBUTES, CAPS, CONDITIONS, OPS, SPARE_ROWS, TRIGGERS, definition_of, form_can_show, rows_of
from wafa.web.admin.rule_simulation import Outcome, simulation_of
from wafa.web.messages import N_
from wafa.web.pages import check_csrf, redirect, render

router = APIRouter(prefix=PATH, include_in_schema=False)

BLANK = {"name_en": "", "name_ar": "", "trigger": "purchase", "conditions": [], "actions": [{"type": "points_per_unit", "points": "1", "per": "1"}],
         "priority": 0, "stackable": True, "window": {}, "caps": {}}
ABC_NAMES = {"abc_a": N_("A customers"), "abc_b": N_("B customers"), "abc_c": N_("C customers")}
BASKET_FIELDS = ("amount", "currency", "items", "member", "channel", "store", "coupons")


@dataclass(frozen=True)
class Choices:
    """What the editor's pickers offer: what exists in the program (keys with their names)."""

    tiers: list[tuple[str, str]]
    segments: list[tuple[str, str]]
    seen: seen.Seen
    rewards: list[tuple[str, str]]
    cards: list[tuple[str, str]]
    rate: str
    currency: str
    timezone: str


def _choices(session: Any, admin: Admin) -> Choices:
    lang = admin.lang
    program = programs.get(session, tenant_id=admin.tenant_id)
    segments = []
    for choice in audiences.segment_choices(session, tenant_id=admin.tenant_id):
        if choice.kind == "custom":
            label = lang.pick({"en": choice.name_en, "ar": choice.name_ar or ""})
        else:
            label = lang.gettext(ABC_NAMES.get(choice.key, choice.name_en))
        segments.append((choice.key, label))
    try:
        rate = program.rate_for(program.base_currency)
    except WafaError:
        rate = "1"
    return Choices(
        tiers=[(c.key, lang.pick({"en": c.name_en, "ar": c.name_ar or ""})) for c in audiences.tier_choices(session, tenant_id=admin.tenant_id)],
        segments=segments,
        seen=seen.names(session, tenant_id=admin.tenant_id),
        rewards=[(r.key, lang.name(r)) for r in catalog.list_(session, tenant_id=admin.tenant_id, statuses=None, after_id=None, limit=500)],
        cards=[(c.key, lang.name(c)) for c in stamp_cards.list_(session, tenant_id=admin.tenant_id)],
        rate=str(rate), currency=program.base_currency, timezone=program.timezone,
    )


def _moment(value: Any) -> datetime | None:
    if isinstance(value, datetime) or value is None:
        return value
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def _editor(request: Request, admin: Admin, *, rule: Any, version: Any, definition: dict, problems: Problems | None = None,
            status: int = 200, simulation: Outcome | None = None, basket: dict | None = None, done: str | None = None) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        choices = _choices(session, admin)
        example = seen.latest_basket(session, tenant_id=admin.tenant_id) if basket is None else None
    if basket is None:
        basket = _example(example, choices.currency)
    d = definition
    rows = rows_of(problems.entered) if problems else max(len(d.get("conditions", [])), len(d.get("actions", []))) + SPARE_ROWS
    window = d.get("window") or {}
    return render(
        request, "admin/rule_edit.html", lang=admin.lang, me=admin, section="rules", rule=rule, version=version, d=d,
        rows=rows, conditions=CONDITIONS, actions=ACTIONS, triggers=TRIGGERS, ops=OPS, attributes=ATTRIBUTES, caps=CAPS,
        problems=problems or None, status=status, done=done, choices=choices, form_fits=form_can_show(d),
        starts=_moment(window.get("starts_at")), ends=_moment(window.get("ends_at")),
        definition_json=_json(d), event_values=_event_values(d), simulation=simulation, basket=basket, at=simulation.at if simulation else ctx.now(),
        can_activate=admin.can("rules.activate"),
    )


def _json(d: dict) -> str:
    return json.dumps(d, ensure_ascii=False, indent=2)


def _event_values(d: dict) -> dict[int, str]:
    """The values of event-attribute conditions as the form shows them: text as typed, anything else as JSON."""
    out = {}
    for i, c in enumerate(d.get("conditions", [])):
        value = c.get("value")
        if c.get("type") == "event_attribute" and value is not None:
            out[i] = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return out


def _example(basket: seen.Basket | None, currency: str) -> dict:
    """The simulate panel's first basket: the program's latest purchase, or a small made-up one."""
    if basket is None:
        return {"amount": "", "currency": currency, "items": "LATTE-1, coffee, 2, 15.00\nBREAD-1, bakery, 1, 8.50",
                "member": "", "channel": "", "store": "", "coupons": ""}
    lines = "\n".join(f"{sku}, {category}, {quantity}, {price}" for sku, category, quantity, price in basket.lines)
    return {"amount": basket.amount, "currency": basket.currency, "items": lines, "member": "", "channel": basket.channel,
            "store": basket.store, "coupons": ""}


@router.get("/rules")
def rule_list(request: Request, admin: Admin = Depends(current_admin)) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        rows = rules.list_(session, tenant_id=admin.tenant_id, limit=500)
    return render(request, "admin/rules.html", lang=admin.lang, me=admin, section="rules", rows=rows, triggers=TRIGGERS)


@router.get("/rules/new")
def new_rule(request: Request, admin: Admin = Depends(current_admin)) -> Response:
    return _editor(request, admin, rule=None, version=None, definition=dict(BLANK))


@router.get("/rules/{rule_id}")
def edit_rule(request: Request, rule_id: IdPath, done: str | None = None, admin: Admin = Depends(current_admin)) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        rule, version = rules.get_or_raise(session, tenant_id=admin.tenant_id, rule_id=rule_id)
    return _editor(request, admin, rule=rule, version=version, definition=dict(version.definition), done=done)


def _rule_id(form: Any) -> int | None:
    return whole(text(form, "rule_id")) or None


def _placed(exc: WafaError, form: Any) -> Problems:
    """A domain refusal of a saved rule, next to the field it names, in words (not the API's English)."""
    where = getattr(exc, "field", None) or ""
    found = re.match(r"conditions\[(\d+)\]", where)
    if found and checked(form, "use_json"):
        return Problems(fields={"definition_json": Problem(N_("A tier or segment named in the JSON is not one of the program's (at %(where)s)."),
                                                           {"where": where})}, entered=entered(form))
    if found:
        index = int(found.group(1))
        typed = [i for i in range(rows_of(form)) if text(form, f"c{i}-type")]
        row = typed[index] if index < len(typed) else 0
        kind = text(form, f"c{row}-type")
        message = {"tier": N_("This tier is not one of the program's."), "segment": N_("This segment is not one of the program's.")}
        name = f"c{row}-{'tiers' if kind == 'tier' else 'segments' if kind == 'segment' else 'type'}"
        return Problems(fields={name: Problem(message.get(kind, N_("This value is not valid.")))}, entered=entered(form))
    if where == "trigger":
        return Problems(fields={"trigger": Problem(N_("No custom event of this name is declared: declare it first, or choose another trigger."))},
                        entered=entered(form))
    if getattr(exc, "extra", {}).get("rule_status") == "ended" or "has ended" in exc.detail:
        return Problems(general=[Problem(N_("This rule has ended and cannot change: create a new rule instead."))], entered=entered(form))
    return Problems(general=[Problem(exc.detail)], entered=entered(form))


@router.post("/rules/save")
async def save_rule(request: Request, admin: Admin = Depends(current_admin)) -> Response:
    """Create a rule (no id) or revise one: each save is a new version, so awards keep the terms they had."""
    form = await request.form()
    check_csrf(request, str(form.get("csrf", "")), admin.csrf)
    rule_id = _rule_id(form)

    def work() -> Response:
        ctx = Context(request)
        rule = version = None
        try:
            with ctx.transaction() as session:
                choices = _choices(session, admin)
                if rule_id:
                    rule, version = rules.get_or_raise(session, tenant_id=admin.tenant_id, rule_id=rule_id)
                if not admin.can_change:
                    raise FormError([READ_ONLY])
                wants_active = rule is None and text(form, "status") == "active"
                if (wants_active or (rule is not None and rule.status != "draft")) and not admin.can("rules.activate"):
                    raise FormError([REFUSALS["rules.activate"]])
                definition = definition_of(form, timezone=choices.timezone, lang=admin.lang, rate=choices.rate, currency=choices.currency)
                if rule is not None:
                    rule, version = rules.revise(session, tenant_id=admin.tenant_id, rule_id=rule.id, definition=definition, now=ctx.now())
                    action = "rule.revised"
                else:
                    rule, version = rules.create(session, tenant_id=admin.tenant_id, definition=definition,
                                                 status="active" if wants_active else "draft", now=ctx.now())
                    action = "rule.created"
                admin.record(session, request, action=action, target=f"rule:{rule.id}",
                             details={"version": version.version, "definition": definition.dump()}, now=ctx.now())
            return redirect(f"{PATH}/rules/{rule.id}")
        except FormError as exc:
            problems = Problems(general=list(exc.general), fields=dict(exc.fields), entered=entered(form))
        except WafaError as exc:
            problems = _placed(exc, form)
        if rule_id:  # read again: the failed transaction's rollback expired what it had loaded
            with ctx.transaction() as session:
                rule, version = rules.get_or_raise(session, tenant_id=admin.tenant_id, rule_id=rule_id)
        shown = dict(version.definition) if version is not None else dict(BLANK)
        return _editor(request, admin, rule=rule, version=version, definition=shown, problems=problems, status=422)

    return await run_in_threadpool(work)


@router.post("/rules/{rule_id}/status")
async def rule_status(request: Request, rule_id: IdPath, admin: Admin = Depends(current_admin)) -> Response:
    """Activate, pause or end a rule (the page asks before ending, naming the rule)."""
    form = await request.form()
    check_csrf(request, str(form.get("csrf", "")), admin.csrf)
    if not admin.can("rules.activate"):  # also checked centrally by route; kept here as the rule's own guard
        raise refuse("rules.activate")
    status = text(form, "status")

    def work() -> Response:
        ctx = Context(request)
        try:
            with ctx.transaction() as session:
                rules.change_status(session, tenant_id=admin.tenant_id, rule_id=rule_id, status=status, now=ctx.now())
                admin.record(session, request, action="rule.status_changed", target=f"rule:{rule_id}", details={"status": status}, now=ctx.now())
            return redirect(f"{PATH}/rules/{rule_id}?done={status}")
        except WafaError:
            with ctx.transaction() as session:
                rule, version = rules.get_or_raise(session, tenant_id=admin.tenant_id, rule_id=rule_id)
            problems = Problems(general=[Problem(N_("This change of status is not possible now: reload the page to see the rule as it is."))])
            return _editor(request, admin, rule=rule, version=version, definition=dict(version.definition), problems=problems, status=409)

    return await run_in_threadpool(work)


# --- the simulate panel -------------------------------------------------------------------------


@router.post("/rules/simulate")
async def simulate(request: Request, admin: Admin = Depends(current_admin)) -> Response:
    """What a basket would earn at a chosen moment (nothing is written): the active rules and the rule in
    the editor as it stands, each with why it fires or not. htmx gets the panel; a plain post the page."""
    form = await request.form()
    check_csrf(request, str(form.get("csrf", "")), admin.csrf)
    rule_id = _rule_id(form)

    def work() -> Response:
        ctx = Context(request)
        with ctx.transaction() as session:
            rule, version = rules.get_or_raise(session, tenant_id=admin.tenant_id, rule_id=rule_id) if rule_id else (None, None)
            timezone = programs.get(session, tenant_id=admin.tenant_id).timezone
            try:
                at = local_datetime(form, "at", timezone) or ctx.now()
                choices = _choices(session, admin)
                outcome = simulation_of(session, form, tenant_id=admin.tenant_id, lang=admin.lang, rule=rule, version=version, at=at,
                                        now=ctx.now(), currency=choices.currency)
            except FormError as exc:
                outcome = Outcome(at=ctx.now(), currency=None, problems=list(exc.general) + list(exc.fields.values()))
                outcome.verdicts = []
                basket_problems: Problems | None = Problems(general=list(exc.general), fields=dict(exc.fields), entered=entered(form))
            else:
                basket_problems = None
        if request.headers.get("hx-request") == "true":
            return render(request, "admin/rule_simulation.html", lang=admin.lang, me=admin, simulation=outcome, rule=rule)
        # Without JavaScript: the whole editor again, as it was filled in, with the result.
        shown = {k: text(form, k) for k in BASKET_FIELDS}
        kept = Problems(entered=entered(form))
        try:
            definition = definition_of(form, timezone=timezone, lang=admin.lang, draft=True).dump()
            definition.update(name_en=text(form, "name_en"), name_ar=text(form, "name_ar"))
            problems = basket_problems
        except FormError as exc:
            definition = dict(version.definition) if version else dict(BLANK)
            kept.general, kept.fields = list(exc.general), dict(exc.fields)
            problems = kept
        return _editor(request, admin, rule=rule, version=version, definition=definition, problems=problems, simulation=outcome, basket=shown)

    return await run_in_threadpool(work)
