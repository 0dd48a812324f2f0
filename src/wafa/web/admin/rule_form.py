"""The rule editor's form as a RuleDefinition, and back: each condition and action row holds only the
fields its type uses (a submission carrying another is refused, never silently dropped), the window is
chosen with date pickers in the program's time zone, and every problem lands next to its field in
words a person can act on."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from wafa.rules.schemas import BUILT_IN_TRIGGERS, RuleDefinition
from wafa.web.admin.forms import FormError, Problem, checked, local_datetime, names, problem_of, prune, text, whole
from wafa.web.i18n import Lang
from wafa.web.messages import N_

CONDITIONS = ("order_amount", "items", "channel", "store", "nth_purchase", "member_attribute", "tier", "segment", "coupon", "event_attribute")
ACTIONS = ("points_per_unit", "fixed_points", "multiplier", "points_per_quantity", "cashback", "stamps", "issue_reward")
TRIGGERS = BUILT_IN_TRIGGERS
OPS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "contains", "exists")
ATTRIBUTES = ("locale", "city", "age_band")
CAPS = ("per_order", "per_member_day", "per_member_week", "per_member_month", "per_member_lifetime", "budget_points")
# Rows the editor offers beyond those a rule has, for adding without JavaScript; and at most this many.
SPARE_ROWS = 2
MAX_ROWS = 50

# The form fields of each row type (after the row's prefix "c0-" / "a0-"). A "…-more" field is the free
# entry beside a list of checkboxes of what exists.
MATCH = ("skus", "categories", "categories-more", "brands", "include_non_earning")
CONDITION_FIELDS: dict[str, tuple[str, ...]] = {
    "order_amount": ("at_least", "at_most"),
    "items": (*MATCH, "min_quantity", "min_amount"),
    "channel": ("channels", "channels-more"),
    "store": ("stores", "stores-more"),
    "nth_purchase": ("n",),
    "member_attribute": ("attribute", "values"),
    "tier": ("tiers",),
    "segment": ("segments",),
    "coupon": ("codes",),
    "event_attribute": ("path", "op", "value"),
}
ACTION_FIELDS: dict[str, tuple[str, ...]] = {
    "points_per_unit": ("points", "per", *MATCH),
    "fixed_points": ("points",),
    "multiplier": ("factor",),
    "points_per_quantity": ("points", *MATCH),
    "cashback": ("percent", *MATCH),
    "stamps": ("card", "count", "per_item", *MATCH),
    "issue_reward": ("reward",),
}
# Selects always send their first option: a value there says nothing about what the person meant.
ALWAYS_SENT = {"attribute", "op"}

NOT_THIS_TYPE = N_("This type does not use this field: clear it, or choose the type that uses it.")
# What a person who filled items for an action that counts the whole basket can use instead.
WHOLE_BASKET = {
    "multiplier": N_("“Multiply the base points” counts the whole basket and cannot be limited to some items. For these items "
                     "only, use “Points per amount spent” with them: %(rate)s points per 1 %(currency)s on them doubles their points."),
    "fixed_points": N_("“Fixed points” gives the same points whatever is bought. To reward these items only, use “Points per item” "
                       "or “Points per amount spent” with them, or add an “Items in the order” condition."),
    "issue_reward": N_("“Give a reward” does not look at the items. To give it only when these items are bought, add an “Items in "
                       "the order” condition."),
}
NO_TYPE = N_("Choose a type for this row, or clear its fields.")

# Domain validators' sentences (rules/schemas.py) as a person reads them.
_DOMAIN = {
    "give at_least, at_most or both": N_("Give a lowest amount, a highest amount or both."),
    "give skus, categories or brands": N_("Choose at least one SKU, category or brand."),
    "op 'in' needs a list value": N_("“is one of” needs a list, such as [\"a\", \"b\"]."),
    "per must be more than zero": N_("Enter more than 0."),
    "percent is at most 100": N_("Enter 100 or less."),
    "ends_at must be after starts_at": N_("The end must be after the start."),
}
# A condition's list field by type (the schema calls them all any_of).
_ANY_OF = {"channel": "channels", "store": "stores", "tier": "tiers", "segment": "segments", "member_attribute": "values"}


def _picked(form: Any, name: str) -> list[str] | None:
    """Checked boxes of what exists and what was typed beside them, once each, in order."""
    found = (names(form, name) or []) + (names(form, f"{name}-more") or [])
    unique = list(dict.fromkeys(found))
    return unique or None


class _Reader:
    """Reads the form, collecting every problem instead of stopping at the first."""

    def __init__(self, form: Any, timezone: str) -> None:
        self.form, self.timezone = form, timezone
        self.fields: dict[str, Problem] = {}
        self.general: list[Problem] = []

    def refuse(self, name: str, problem: Problem | str) -> None:
        self.fields.setdefault(name, problem if isinstance(problem, Problem) else Problem(problem))

    def number(self, name: str) -> int | None:
        raw = text(self.form, name).translate(_LATIN_DIGITS)
        if not raw:
            return None
        try:
            return int(raw)
        except ValueError:
            self.refuse(name, N_("Enter a whole number."))
            return None

    def decimal(self, name: str) -> str | None:
        """A decimal as typed, with Arabic-Indic digits and separators read as Latin ones."""
        raw = text(self.form, name).translate(_LATIN_DIGITS).replace("٫", ".").replace("٬", "").replace(",", "")
        return raw or None

    def moment(self, name: str, *, end: bool = False) -> datetime | None:
        try:
            return local_datetime(self.form, name, self.timezone, end_of_day=end)
        except FormError as exc:
            for key, problem in exc.fields.items():
                self.refuse(key, problem)
            return None

    def filled(self, name: str) -> bool:
        values = self.form.getlist(name) if hasattr(self.form, "getlist") else [self.form.get(name)]
        return any(str(v or "").strip() for v in values)


_LATIN_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")


def _strays(r: _Reader, prefix: str, kind: str, allowed: Mapping[str, tuple[str, ...]], *, rate: str, currency: str) -> None:
    """Refuse the fields of a row that its type cannot hold (or any field of a row with no type)."""
    every = {name for fields in allowed.values() for name in fields} - ALWAYS_SENT
    if not kind:
        if any(r.filled(f"{prefix}-{name}") for name in every):
            r.refuse(f"{prefix}-type", NO_TYPE)
        return
    for name in sorted(every - set(allowed.get(kind, ()))):
        if r.filled(f"{prefix}-{name}"):
            special = WHOLE_BASKET.get(kind) if name in MATCH else None
            r.refuse(f"{prefix}-{name}", Problem(special, {"rate": rate, "currency": currency}) if special else Problem(NOT_THIS_TYPE))


def _match(r: _Reader, p: str) -> dict | None:
    found = {"skus": names(r.form, f"{p}-skus"), "categories": _picked(r.form, f"{p}-categories"), "brands": names(r.form, f"{p}-brands"),
             "include_non_earning": checked(r.form, f"{p}-include_non_earning") or None}
    return prune(found) or None


def _condition(r: _Reader, p: str, kind: str) -> dict:
    form = r.form
    if kind == "order_amount":
        return prune({"type": kind, "at_least": r.decimal(f"{p}-at_least"), "at_most": r.decimal(f"{p}-at_most")})
    if kind == "items":
        return prune({"type": kind, "match": _match(r, p), "min_quantity": r.number(f"{p}-min_quantity"), "min_amount": r.decimal(f"{p}-min_amount")})
    if kind in ("channel", "store"):
        return prune({"type": kind, "any_of": _picked(form, f"{p}-{_ANY_OF[kind]}")})
    if kind in ("tier", "segment"):
        return prune({"type": kind, "any_of": names(form, f"{p}-{_ANY_OF[kind]}")})
    if kind == "nth_purchase":
        return prune({"type": kind, "n": r.number(f"{p}-n")})
    if kind == "member_attribute":
        return prune({"type": kind, "attribute": text(form, f"{p}-attribute") or None, "any_of": names(form, f"{p}-values")})
    if kind == "coupon":
        return prune({"type": kind, "codes": names(form, f"{p}-codes")})
    # event_attribute: the value is JSON when it reads as JSON ("3", "true", ["a"]), else the text typed.
    raw = text(form, f"{p}-value")
    try:
        value: Any = json.loads(raw) if raw else None
    except ValueError:
        value = raw
    return prune({"type": kind, "path": text(form, f"{p}-path") or None, "op": text(form, f"{p}-op") or None, "value": value})


def _action(r: _Reader, p: str, kind: str) -> dict:
    form = r.form
    if kind == "points_per_unit":
        return prune({"type": kind, "points": r.decimal(f"{p}-points"), "per": r.decimal(f"{p}-per"), "match": _match(r, p)})
    if kind == "fixed_points":
        return prune({"type": kind, "points": r.number(f"{p}-points")})
    if kind == "multiplier":
        return prune({"type": kind, "factor": r.decimal(f"{p}-factor")})
    if kind == "points_per_quantity":
        return prune({"type": kind, "points": r.number(f"{p}-points"), "match": _match(r, p)})
    if kind == "cashback":
        return prune({"type": kind, "percent": r.decimal(f"{p}-percent"), "match": _match(r, p)})
    if kind == "stamps":
        return prune({"type": kind, "card": text(form, f"{p}-card") or None, "count": r.number(f"{p}-count"),
                      "per_item": checked(form, f"{p}-per_item"), "match": _match(r, p)})
    return prune({"type": kind, "reward": text(form, f"{p}-reward") or None})


def rows_of(form: Any) -> int:
    """How many condition and action rows the submitted editor had."""
    found = whole(text(form, "rows"))
    return max(1, min(MAX_ROWS, found)) if found is not None else SPARE_ROWS


def definition_of(form: Any, *, timezone: str, lang: Lang, rate: str = "1", currency: str = "", draft: bool = False) -> RuleDefinition:
    """The rule a submitted editor describes, or FormError naming each field to fix. The JSON field wins
    when "use the JSON" is ticked (it holds what the form cannot, like nested any/all groups). A `draft`
    (the simulate panel) may leave the names empty."""
    if checked(form, "use_json"):
        return _from_json(text(form, "definition_json"), lang=lang, draft=draft)
    r = _Reader(form, timezone)
    conditions: list[tuple[int, dict]] = []
    actions: list[tuple[int, dict]] = []
    for i in range(rows_of(form)):
        for prefix, kinds, fields, build, out in (("c", CONDITIONS, CONDITION_FIELDS, _condition, conditions),
                                                  ("a", ACTIONS, ACTION_FIELDS, _action, actions)):
            p = f"{prefix}{i}"
            kind = text(form, f"{p}-type")
            if kind and kind not in kinds:
                r.refuse(f"{p}-type", N_("Choose one of the options."))
                continue
            _strays(r, p, kind, fields, rate=rate, currency=currency)
            if kind:
                out.append((i, build(r, p, kind)))
    hours = prune({"from": text(form, "hours_from") or None, "to": text(form, "hours_to") or None})
    if len(hours) == 1:
        r.refuse("hours_to" if "from" in hours else "hours_from", N_("Give both times, or neither."))
    days = [n for n in (whole(str(d)) for d in (form.getlist("days") if hasattr(form, "getlist") else [])) if n is not None]
    window = prune({"starts_at": r.moment("starts_at"), "ends_at": r.moment("ends_at", end=True), "days_of_week": days or None,
                    "hours": hours if len(hours) == 2 else None})
    caps = prune({key: r.number(key) for key in CAPS} | {"budget_money": r.decimal("budget_money")})
    names_ = {"name_en": text(form, "name_en"), "name_ar": text(form, "name_ar")}
    if draft:
        names_ = {k: v or "-" for k, v in names_.items()}
    data = {
        **names_, "trigger": text(form, "trigger") or "purchase", "conditions": [c for _, c in conditions],
        "actions": [a for _, a in actions], "priority": r.number("priority") or 0, "stackable": checked(form, "stackable"),
        "window": window, "caps": caps,
    }
    try:
        definition = RuleDefinition.model_validate(data)
    except ValidationError as exc:
        rows = {"conditions": [i for i, _ in conditions], "actions": [i for i, _ in actions]}
        for error in exc.errors():
            name, problem = _placed(error, rows, data)
            if name:
                r.refuse(name, problem)
            else:
                r.general.append(problem)
        definition = None
    if r.fields or r.general or definition is None:
        raise FormError(r.general, fields=r.fields)
    return definition


def _placed(error: Mapping[str, Any], rows: Mapping[str, Sequence[int]], data: Mapping[str, Any]) -> tuple[str | None, Problem]:
    """The form field a validation error is about, and the problem said for a person."""
    loc = tuple(p for p in error.get("loc", ()) if not str(p).startswith("function-"))
    problem = _problem(error, loc)
    if not loc:
        return None, problem
    head = loc[0]
    if head in ("conditions", "actions"):
        if len(loc) < 2 or not isinstance(loc[1], int):
            return head, Problem(N_("Give the rule at least one action.")) if head == "actions" else problem
        prefix = ("c" if head == "conditions" else "a") + str(rows[head][loc[1]])
        kind = data[head][loc[1]].get("type", "")
        rest = [str(p) for p in loc[3:] if isinstance(p, str)]
        if not rest:
            return (f"{prefix}-value" if kind == "event_attribute" else prefix), problem
        field = rest[-1] if rest[0] == "match" and len(rest) > 1 else rest[0]
        if field == "match":
            return prefix, problem
        if field == "any_of":
            field = _ANY_OF.get(kind, field)
            if error.get("type") == "missing":
                problem = Problem(N_("Choose at least one."))
        if field == "categories":
            field = "categories-more"
        return f"{prefix}-{field}", problem
    if head == "window":
        field = str(loc[1]) if len(loc) > 1 else "ends_at"
        if field == "hours":
            return ("hours_to" if len(loc) > 2 and loc[2] in ("to", "end") else "hours_from"), problem
        return {"days_of_week": "days"}.get(field, field), problem
    if head == "caps":
        return (str(loc[1]) if len(loc) > 1 else None), problem
    return str(head), problem


def _problem(error: Mapping[str, Any], loc: tuple) -> Problem:
    kind = str(error.get("type", ""))
    if kind == "value_error":
        message = str(error.get("msg", "")).removeprefix("Value error, ")
        if message in _DOMAIN:
            return Problem(_DOMAIN[message])
        if message.startswith("op ") and message.endswith("needs a single value"):
            return Problem(N_("This comparison needs one value, not a list."))
        if loc == ("trigger",):
            return Problem(N_("Choose one of the options."))
        return Problem(N_("This value is not valid."))
    if kind == "string_pattern_mismatch":
        pattern = str((error.get("ctx") or {}).get("pattern", ""))
        # Money and Ratio of wafa.rules.schemas: ASCII digits (wafa.inputs.decimal_pattern).
        if pattern.startswith(r"^[0-9]{1,15}"):
            return Problem(N_("Enter an amount, such as 12.50."))
        if pattern.startswith(r"^[0-9]{1,9}"):
            return Problem(N_("Enter a number, such as 2 or 0.5."))
        return Problem(N_("Use Latin letters, digits and “_”, with dots between parts, such as order.size."))
    if kind == "union_tag_invalid":
        return Problem(N_("Choose one of the options."))
    return problem_of(error)


def _from_json(raw: str, *, lang: Lang, draft: bool) -> RuleDefinition:
    """The rule written as JSON; its problems say where in the JSON they are."""
    try:
        data = json.loads(raw)
    except ValueError as exc:
        problem = Problem(N_("This is not valid JSON (line %(line)s)."), {"line": getattr(exc, "lineno", 1)})
        raise FormError(fields={"definition_json": problem}) from None
    if draft and isinstance(data, dict):
        data = {**data, "name_en": data.get("name_en") or "-", "name_ar": data.get("name_ar") or "-"}
    try:
        return RuleDefinition.model_validate(data)
    except ValidationError as exc:
        found = []
        for error in exc.errors()[:10]:
            loc = tuple(p for p in error.get("loc", ()) if not str(p).startswith("function-"))
            problem = _problem(error, loc)
            found.append(Problem(N_("In the JSON at %(where)s: %(problem)s"),
                                 {"where": " › ".join(str(p) for p in loc) or "/", "problem": lang.gettext(problem.message) % dict(problem.params)
                                  if problem.params else lang.gettext(problem.message)}))
        raise FormError(fields={"definition_json": found[0]}, problems=found[1:]) from None


def form_can_show(definition: Mapping[str, Any]) -> bool:
    """Whether the form's rows can show every part of a rule (nested groups need the JSON)."""
    return all(c.get("type") in CONDITIONS for c in definition.get("conditions", [])) and all(
        a.get("type") in ACTIONS for a in definition.get("actions", [])
    )
