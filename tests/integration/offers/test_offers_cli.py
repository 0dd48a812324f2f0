"""`wafa offers list` and `wafa offers activate` on a copy of the demo program (its offers: extra coffee points for
the model's pick, a latte at half its points for champions and loyal members, dates at Olaya after a check-in),
on SQLite and on PostgreSQL; a missing offer is a one-line failure."""

from __future__ import annotations

import json

from tests.integration.test_cli_clv import on_demo  # noqa: F401  (the fixture)


def test_the_demo_programs_offers_are_listed_and_activating_again_gives_nobody_twice(on_demo) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    code, out, _ = on_demo("offers", "list", "--tenant", "demo", "--json")
    assert code == 0, out
    offers = {o["key"]: o for o in json.loads(out)}
    assert set(offers) == {"coffee-lovers", "latte-half", "olaya-dates"}
    assert all(o["status"] == "active" for o in offers.values())
    assert offers["olaya-dates"]["store_codes"] == ["RUH-01"] and offers["olaya-dates"]["granted"] > 0
    assert 0 < offers["coffee-lovers"]["granted"] < offers["olaya-dates"]["granted"]  # the model's pick, not everyone
    code, out, _ = on_demo("offers", "activate", "latte-half", "--tenant", "demo", "--json")
    assert code == 0, out
    assert json.loads(out) == {"key": "latte-half", "status": "active", "given_now": 0, "granted": offers["latte-half"]["granted"]}
    code, _, err = on_demo("offers", "activate", "nothing", "--tenant", "demo")
    assert code == 1 and "no offer 'nothing'" in err
