"""Rules in the console: the list, a form editor for conditions and actions (and the JSON beneath for
what the form cannot show, like nested any/all groups), activation, and a simulate panel that shows
what an example basket would earn, rule by rule."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError

from wafa.api.deps import Context, IdPath
from wafa.errors import WafaError
from wafa.events import service as events
from wafa.events.schemas import Item, MemberRef, PurchaseIn
from wafa.programs import service as programs
from wafa.rules import service as rules
from wafa.rules.schemas import RuleDefinition
from wafa.web.admin.auth import PATH, Admin, current_admin
from wafa.web.admin.forms import FormError, checked, integer, names, optional, problems_of, prune, text
from wafa.web.pages import check_csrf, redirect, render

router = APIRouter(prefix=PATH, include_in_schema=False)

CONDITIONS = ("order_amount", "items", "channel", "store", "nth_purchase", "member_attribute", "tier", "segment", "coupon", "event_attribute")
ACTIONS = ("points_per_unit", "fixed_points", "multiplier", "points_per_quantity", "cashback", "stamps", "issue_reward")
TRIGGERS = ("purchase", "return", "enrolment", "birthday", "profile_completed")
# Rows the editor offers beyond those a rule has, for adding without JavaScript.
SPARE_ROWS = 2


def _match(form: Any, prefix: str) -> dict | None:
    found = {"skus": names(form, f"{prefix}-skus"), "categories": names(form, f"{prefix}-categories"), "brands": names(form, f"{prefix}-brands")}
    return prune(found) or None


def condition_of(form: Any, i: int) -> dict | None:
    p = f"c{i}"
    kind = text(form, f"{p}-type")
    if not kind:
        return None
    if kind == "order_amount":
        return prune({"type": kind, "at_least": optional(form, f"{p}-at_least"), "at_most": optional(form, f"{p}-at_most")})
    if kind == "items":
        return prune({"type": kind, "match": _match(form, p), "min_quantity": integer(form, f"{p}-min_quantity"),
                      "min_amount": optional(form, f"{p}-min_amount")})
    if kind in ("channel", "store", "tier", "segment"):
        return prune({"type": kind, "any_of": names(form, f"{p}-any_of")})
    if kind == "nth_purchase":
        return {"type": kind, "n": integer(form, f"{p}-n")}
    if kind == "member_attribute":
        return prune({"type": kind, "attribute": optional(form, f"{p}-attribute"), "any_of": names(form, f"{p}-any_of")})
    if kind == "coupon":
        return prune({"type": kind, "codes": names(form, f"{p}-codes")})
    if kind == "event_attribute":
        raw = text(form, f"{p}-value")
        value: Any = raw
        try:
            value = json.loads(raw) if raw else None
        except ValueError:
            value = raw
        return prune({"type": kind, "path": optional(form, f"{p}-path"), "op": optional(form, f"{p}-op"), "value": value})
    raise FormError([f"condition {i + 1}: unknown type {kind!r}"])


def action_of(form: Any, i: int) -> dict | None:
    p = f"a{i}"
    kind = text(form, f"{p}-type")
    if not kind:
        return None
    if kind == "points_per_unit":
        return prune({"type": kind, "points": optional(form, f"{p}-points"), "per": optional(form, f"{p}-per"), "match": _match(form, p)})
    if kind == "fixed_points":
        return {"type": kind, "points": integer(form, f"{p}-points")}
    if kind == "multiplier":
        return {"type": kind, "factor": optional(form, f"{p}-factor")}
    if kind == "points_per_quantity":
        return prune({"type": kind, "points": integer(form, f"{p}-points"), "match": _match(form, p)})
    if kind == "cashback":
        return prune({"type": kind, "percent": optional(form, f"{p}-percent"), "match": _match(form, p)})
    if kind == "stamps":
        return prune({"type": kind, "card": optional(form, f"{p}-card"), "count": integer(form, f"{p}-count"),
                      "per_item": checked(form, f"{p}-per_item"), "match": _match(form, p)})
    if kind == "issue_reward":
        return {"type": kind, "reward": optional(form, f"{p}-reward")}
    raise FormError([f"action {i + 1}: unknown type {kind!r}"])


def definition_of(form: Any) -> RuleDefinition:
    """The rule a submitted editor describes. The JSON field wins when the person edited it (it can
    hold what the form cannot, like nested groups)."""
    raw_json = text(form, "definition_json")
    if raw_json and checked(form, "use_json"):
        try:
            data = json.loads(raw_json)
        except ValueError as exc:
            raise FormError([f"JSON: {exc}"]) from None
    else:
        rows = int(text(form, "rows") or 0)
        conditions = [c for c in (condition_of(form, i) for i in range(rows)) if c]
        actions = [a for a in (action_of(form, i) for i in range(rows)) if a]
        days = [int(d) for d in form.getlist("days") if str(d).isdigit()] if hasattr(form, "getlist") else []
        window = prune({
            "starts_at": optional(form, "starts_at"), "ends_at": optional(form, "ends_at"), "days_of_week": days or None,
            "hours": prune({"from": optional(form, "hours_from"), "to": optional(form, "hours_to")}) or None,
        })
        caps = prune({key: integer(form, key) for key in (
            "per_order", "per_member_day", "per_member_week", "per_member_month", "per_member_lifetime", "budget_points")})
        if optional(form, "budget_money"):
            caps["budget_money"] = optional(form, "budget_money")
        data = {
            "name_en": text(form, "name_en"), "name_ar": text(form, "name_ar"), "trigger": text(form, "trigger") or "purchase",
            "conditions": conditions, "actions": actions, "priority": integer(form, "priority") or 0,
            "stackable": checked(form, "stackable"), "window": window, "caps": caps,
        }
    try:
        return RuleDefinition.model_validate(data)
    except ValidationError as exc:
        raise problems_of(exc) from None


def _editor(request: Request, admin: Admin, *, rule: Any, version: Any, definition: dict, problems: list[str] | None, status: int = 200,
            simulation: Any = None, basket: dict | None = None) -> Response:
    rows = max(len(definition.get("conditions", [])), len(definition.get("actions", []))) + SPARE_ROWS
    return render(
        request, "admin/rule_edit.html", lang=admin.lang, me=admin, section="rules", rule=rule, version=version, d=definition,
        rows=rows, conditions=CONDITIONS, actions=ACTIONS, triggers=TRIGGERS, problems=problems, status=status,
        definition_json=json.dumps(definition, ensure_ascii=False, indent=2), simulation=simulation, basket=basket or {},
    )


@router.get("/rules")
def rule_list(request: Request, admin: Admin = Depends(current_admin)) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        rows = rules.list_(session, tenant_id=admin.tenant_id, limit=500)
    return render(request, "admin/rules.html", lang=admin.lang, me=admin, section="rules", rows=rows)


@router.get("/rules/new")
def new_rule(request: Request, admin: Admin = Depends(current_admin)) -> Response:
    blank = {"name_en": "", "name_ar": "", "trigger": "purchase", "conditions": [], "actions": [{"type": "points_per_unit", "points": "1", "per": "1"}],
             "priority": 0, "stackable": True, "window": {}, "caps": {}}
    return _editor(request, admin, rule=None, version=None, definition=blank, problems=None)


@router.get("/rules/{rule_id}")
def edit_rule(request: Request, rule_id: IdPath, admin: Admin = Depends(current_admin)) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        rule, version = rules.get_or_raise(session, tenant_id=admin.tenant_id, rule_id=rule_id)
    return _editor(request, admin, rule=rule, version=version, definition=dict(version.definition), problems=None)


async def _form(request: Request, admin: Admin) -> Any:
    form = await request.form()
    check_csrf(request, str(form.get("csrf", "")), admin.csrf)
    if not admin.can_change:
        raise FormError(["your role lets you read the console, not change it"])
    return form


@router.post("/rules/save")
async def save_rule(request: Request, admin: Admin = Depends(current_admin)) -> Response:
    """Create a rule (no id) or revise one: each save is a new version, so awards keep the terms they had."""
    from starlette.concurrency import run_in_threadpool

    form = await request.form()
    check_csrf(request, str(form.get("csrf", "")), admin.csrf)
    rule_id = integer(form, "rule_id")

    def work() -> Response:
        ctx = Context(request)
        try:
            if not admin.can_change:
                raise FormError(["your role lets you read the console, not change it"])
            definition = definition_of(form)
            with ctx.transaction() as session:
                if rule_id:
                    rule, version = rules.revise(session, tenant_id=admin.tenant_id, rule_id=rule_id, definition=definition, now=ctx.now())
                    action = "rule.revised"
                else:
                    status = "active" if text(form, "status") == "active" else "draft"
                    rule, version = rules.create(session, tenant_id=admin.tenant_id, definition=definition, status=status, now=ctx.now())
                    action = "rule.created"
                admin.record(session, request, action=action, target=f"rule:{rule.id}",
                             details={"version": version.version, "definition": definition.dump()}, now=ctx.now())
                return redirect(f"{PATH}/rules/{rule.id}")
        except (FormError, WafaError) as exc:
            problems = exc.problems if isinstance(exc, FormError) else [exc.detail]
            with ctx.transaction() as session:
                rule, version = rules.get_or_raise(session, tenant_id=admin.tenant_id, rule_id=rule_id) if rule_id else (None, None)
            shown = _shown(form)
            return _editor(request, admin, rule=rule, version=version, definition=shown, problems=problems, status=422)

    return await run_in_threadpool(work)


def _shown(form: Any) -> dict:
    """What the person typed, to show again with the problems (best effort, never raising)."""
    try:
        return definition_of(form).dump()
    except (FormError, ValueError):
        pass
    try:
        return json.loads(text(form, "definition_json"))
    except ValueError:
        return {"name_en": text(form, "name_en"), "name_ar": text(form, "name_ar"), "trigger": text(form, "trigger"),
                "conditions": [], "actions": [], "priority": 0, "stackable": True, "window": {}, "caps": {}}


@router.post("/rules/{rule_id}/status")
async def rule_status(request: Request, rule_id: IdPath, admin: Admin = Depends(current_admin)) -> Response:
    from starlette.concurrency import run_in_threadpool

    form = await _form(request, admin)
    status = text(form, "status")

    def work() -> Response:
        ctx = Context(request)
        with ctx.transaction() as session:
            rules.change_status(session, tenant_id=admin.tenant_id, rule_id=rule_id, status=status, now=ctx.now())
            admin.record(session, request, action="rule.status_changed", target=f"rule:{rule_id}", details={"status": status}, now=ctx.now())
        return redirect(f"{PATH}/rules/{rule_id}")

    return await run_in_threadpool(work)


def basket_of(form: Any, currency: str) -> tuple[PurchaseIn, dict]:
    """The simulate panel's basket: an amount, lines of "sku, category, quantity, unit price", a member."""
    items = []
    for n, line in enumerate(text(form, "items").splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.replace("،", ",").split(",")]
        if len(parts) != 4:
            raise FormError([f"line {n}: write sku, category, quantity, unit price"])
        sku, category, quantity, price = parts
        try:
            items.append(Item(sku=sku, category=category or None, quantity=int(quantity), unit_price=price))
        except (ValueError, InvalidOperation, ValidationError):
            raise FormError([f"line {n}: quantity is a whole number and the price a decimal"]) from None
    amount = text(form, "amount") or (str(sum(Decimal(i.unit_price) * i.quantity for i in items)) if items else "0")
    shown = {k: text(form, k) for k in ("amount", "currency", "items", "member", "channel", "store", "coupons")}
    try:
        event = PurchaseIn(
            type="purchase", order_id="simulation", amount=amount, currency=text(form, "currency") or currency,
            items=items or None, member=MemberRef(external_id=text(form, "member")) if text(form, "member") else None,
            channel=optional(form, "channel"), store=optional(form, "store"), coupons=names(form, "coupons"),
        )
    except (ValidationError, InvalidOperation) as exc:
        raise (problems_of(exc) if isinstance(exc, ValidationError) else FormError(["amount: not a decimal"])) from None
    return event, shown


@router.post("/rules/simulate")
async def simulate(request: Request, admin: Admin = Depends(current_admin)) -> Response:
    """What a basket would earn now under the active rules (nothing is written), shown beside a rule."""
    from starlette.concurrency import run_in_threadpool

    form = await request.form()
    check_csrf(request, str(form.get("csrf", "")), admin.csrf)
    rule_id = integer(form, "rule_id")

    def work() -> Response:
        ctx = Context(request)
        with ctx.transaction() as session:
            currency = programs.get(session, tenant_id=admin.tenant_id).base_currency
            rule, version = rules.get_or_raise(session, tenant_id=admin.tenant_id, rule_id=rule_id) if rule_id else (None, None)
            try:
                event, shown = basket_of(form, currency)
                result: Any = events.simulate(session, tenant_id=admin.tenant_id, event_in=event, now=ctx.now())
            except FormError as exc:
                result, shown = {"problems": exc.problems}, {k: text(form, k) for k in ("amount", "currency", "items", "member", "channel", "store", "coupons")}
            except WafaError as exc:
                result, shown = {"problems": [exc.detail]}, {k: text(form, k) for k in ("amount", "currency", "items", "member", "channel", "store", "coupons")}
        if request.headers.get("hx-request") == "true":
            return render(request, "admin/rule_simulation.html", lang=admin.lang, me=admin, simulation=result, rule=rule)
        definition = dict(version.definition) if version else {"name_en": "", "name_ar": "", "trigger": "purchase", "conditions": [],
                                                               "actions": [], "priority": 0, "stackable": True, "window": {}, "caps": {}}
        return _editor(request, admin, rule=rule, version=version, definition=definition, problems=None, simulation=result, basket=shown)

    return await run_in_threadpool(work)
