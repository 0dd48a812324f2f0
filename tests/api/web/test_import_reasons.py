"""A bad row of an import is reported in the console's language: every reason wafa.events.imports can
give is in the console's catalog (listed in wafa.web.admin.imports), said with what it quotes from the
file kept as written."""

from __future__ import annotations

import ast
import inspect

from wafa.events import imports
from wafa.web.admin.imports import REASONS, reason
from wafa.web.i18n import Lang


def test_every_bad_row_reason_is_listed_for_the_catalog() -> None:
    tree = ast.parse(inspect.getsource(imports))
    given = {node.args[0].value for node in ast.walk(tree)
             if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "BadRow"
             and node.args and isinstance(node.args[0], ast.Constant)}
    assert len(given) >= 10
    assert given <= set(REASONS), f"reasons missing from wafa.web.admin.imports.REASONS: {given - set(REASONS)}"


def test_a_reason_is_said_in_the_readers_language_quoting_the_file() -> None:
    bad = imports.BadRow("%(column)s is empty", column="<customer_id>")
    assert str(bad) == "<customer_id> is empty"
    row = [3, str(bad), bad.message, bad.values]
    english = str(reason(Lang("en"), row))
    assert english == '<bdi dir="ltr">&lt;customer_id&gt;</bdi> is empty'
    arabic = str(reason(Lang("ar"), row))
    assert '<bdi dir="ltr">&lt;customer_id&gt;</bdi>' in arabic and "is empty" not in arabic


def test_a_reason_kept_before_messages_were_stored_shows_as_it_was() -> None:
    assert str(reason(Lang("ar"), [5, "amount 'x': <bad>"])) == '<bdi dir="ltr">amount &#39;x&#39;: &lt;bad&gt;</bdi>'
