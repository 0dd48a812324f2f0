"""The body template of a generic HTTP gateway: a sandboxed Jinja2 template, limited so that no template
can make a worker spin or fill its memory, and checked to carry the message text intact."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl

from jinja2 import StrictUndefined, TemplateError, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

_JINJA = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
# A request body needs values, a few filters and choices, never loops, calls or filters that multiply
# their input (replace, center), and at most two filters one inside another (each of tojson and
# urlencode can triple a text): so no template can make a worker spin or fill its memory.
_NODES = (
    nodes.Template, nodes.Output, nodes.TemplateData, nodes.Name, nodes.Const, nodes.Filter, nodes.Test, nodes.If, nodes.CondExpr,
    nodes.Compare, nodes.Operand, nodes.And, nodes.Or, nodes.Not, nodes.Concat, nodes.Getitem, nodes.Slice, nodes.Keyword,
)
_FILTERS = frozenset({"tojson", "urlencode", "upper", "lower", "trim", "truncate", "default", "d", "string"})
_FILTER_DEPTH = 2
_TESTS = frozenset({"defined", "undefined", "none", "eq", "equalto", "ne", "string"})
_SAMPLE = {
    "to": "+966501234567", "to_digits": "966501234567", "sender": "Wafa", "message_id": "mm_sample", "language": "ar", "channel": "sms",
    "text": 'رصيدك 120 نقطة & "Wafa" <1+1=2>\nline 2 %20 \\',
}


@lru_cache(maxsize=256)
def compiled(source: str) -> Any:
    tree = _JINJA.parse(source)
    for node in tree.find_all(nodes.Node):
        if type(node) not in _NODES:
            raise ValueError(f"the template may use values, filters and if/else, not {type(node).__name__.lower()}")
        if isinstance(node, nodes.Filter) and node.name not in _FILTERS:
            raise ValueError(f"filter {node.name!r} is not allowed (use {', '.join(sorted(_FILTERS))})")
        if isinstance(node, nodes.Test) and node.name not in _TESTS:
            raise ValueError(f"test {node.name!r} is not allowed")
        if isinstance(node, nodes.Name) and node.name not in _SAMPLE:
            raise ValueError(f"unknown variable {node.name!r} (known: {', '.join(sorted(_SAMPLE))})")
    if _filter_depth(tree) > _FILTER_DEPTH:
        raise ValueError(f"at most {_FILTER_DEPTH} filters one inside another, as {{{{ text|truncate(300)|tojson }}}}")
    return _JINJA.from_string(tree)


def _filter_depth(node: nodes.Node) -> int:
    inner = max((_filter_depth(child) for child in node.iter_child_nodes()), default=0)
    return inner + 1 if isinstance(node, nodes.Filter) else inner


def check_template(source: str, content_type: str) -> None:
    """Compile and render with a hard sample: the text must arrive intact (quoted with `tojson` for JSON,
    `urlencode` for a form)."""
    try:
        body = compiled(source).render(**_SAMPLE)
    except (TemplateError, TypeError, LookupError) as exc:
        raise ValueError(f"the template does not render: {exc}") from None
    if content_type == "application/json":
        try:
            values = _strings(json.loads(body))
        except ValueError:
            raise ValueError("the rendered body is not JSON: quote values with the tojson filter, as {{ text|tojson }}") from None
        hint = "{{ text|tojson }}"
    else:
        values = [v for _, v in parse_qsl(body, keep_blank_values=True)]
        hint = "text={{ text|urlencode }}"
    if not any(_SAMPLE["text"] in value for value in values):
        raise ValueError(f"the message text does not arrive intact: write it as {hint}")


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []
