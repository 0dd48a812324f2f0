"""Rules engine micro-benchmark: one purchase of 20 lines against 50 active rules.

Run: .venv/bin/python bench/rules.py   (prints the environment, median and p99 in microseconds)
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from datetime import UTC, datetime

from wafa.rules import schemas as s
from wafa.rules.engine import EventFacts, Line, MemberFacts, Rule, evaluate

CATEGORIES = ["coffee", "bakery", "dates", "grocery", "perfume"]


def rules(n: int = 50) -> list[Rule]:
    out = []
    for i in range(n):
        category = CATEGORIES[i % len(CATEGORIES)]
        body = {
            "name_en": f"rule {i}", "name_ar": f"قاعدة {i}", "trigger": "purchase", "priority": i % 3, "stackable": i % 7 != 0,
            "conditions": [
                {"type": "items", "match": {"categories": [category]}, "min_quantity": 1},
                {"type": "any", "conditions": [{"type": "channel", "any_of": ["app", "store"]}, {"type": "tier", "any_of": ["gold"]}]},
            ],
            "actions": [
                [{"type": "points_per_unit", "points": "2", "match": {"categories": [category]}}],
                [{"type": "multiplier", "factor": "1.5"}],
                [{"type": "cashback", "percent": "3", "match": {"categories": [category]}}],
                [{"type": "stamps", "card": category, "per_item": True, "match": {"categories": [category]}}],
            ][i % 4],
            "window": {"days_of_week": [0, 1, 2, 3, 4, 5, 6], "hours": {"from": "06:00", "to": "23:59"}},
            "caps": {"per_order": 1000, "per_member_day": 5000},
        }
        out.append(Rule(i + 1, 1, s.RuleDefinition.model_validate(body)))
    return out


def main() -> None:
    active = rules()
    lines = tuple(Line(f"SKU-{i}", quantity=1 + i % 3, unit_price=500 + 37 * i, category=CATEGORIES[i % 5]) for i in range(20))
    event = EventFacts(type="purchase", occurred_at=datetime(2026, 3, 7, 12, tzinfo=UTC), currency="SAR",
                       amount=sum(line.quantity * line.unit_price for line in lines), lines=lines, channel="app")
    member = MemberFacts(tier="gold", purchase_number=4)
    for _ in range(200):  # warm-up
        evaluate(active, event, member, base_points=300, timezone="Asia/Riyadh")
    samples = []
    for _ in range(5000):
        start = time.perf_counter_ns()
        evaluate(active, event, member, base_points=300, timezone="Asia/Riyadh")
        samples.append((time.perf_counter_ns() - start) / 1000)
    samples.sort()
    print(f"environment: cpus={os.cpu_count()} python={platform.python_version()}")
    print(f"20 lines x 50 rules: median {statistics.median(samples):.0f} us, p99 {samples[int(len(samples) * 0.99)]:.0f} us")


if __name__ == "__main__":
    main()
