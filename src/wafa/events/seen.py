"""What the program's recent purchases name: channels, stores, item categories and brands (for pickers
that offer what exists), and the latest basket (an example to simulate rules with)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from wafa.events.models import Event
from wafa.money import to_major

# Enough recent purchases to meet every channel, store and category a shop uses, read in one query.
RECENT = 2000
SHOWN = 40


@dataclass(frozen=True)
class Seen:
    """Names met in recent purchases, most frequent first."""

    channels: list[str]
    stores: list[str]
    categories: list[str]
    brands: list[str]


@dataclass(frozen=True)
class Basket:
    """A recorded purchase as the simulate panel's fields hold it (money in major units)."""

    amount: str
    currency: str
    lines: list[tuple[str, str, int, str]]  # sku, category, quantity, unit price
    channel: str
    store: str


def names(session: Session, *, tenant_id: int, purchases: int = RECENT) -> Seen:
    """The channels, stores, categories and brands named by the latest purchases."""
    rows = session.execute(
        select(Event.channel, Event.store, Event.items)
        .where(Event.tenant_id == tenant_id, Event.type == "purchase")
        .order_by(Event.occurred_at.desc(), Event.id.desc())
        .limit(purchases)
    ).all()
    channels, stores, categories, brands = Counter[str](), Counter[str](), Counter[str](), Counter[str]()
    for channel, store, items in rows:
        channels.update([channel] if channel else [])
        stores.update([store] if store else [])
        for item in items or ():
            categories.update([item["category"]] if item.get("category") else [])
            brands.update([item["brand"]] if item.get("brand") else [])

    def top(counts: Counter[str]) -> list[str]:
        return [name for name, _ in sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))[:SHOWN]]

    return Seen(top(channels), top(stores), top(categories), top(brands))


def latest_basket(session: Session, *, tenant_id: int) -> Basket | None:
    """The latest purchase that has lines, or None when the program has none yet."""
    # JSON null and SQL NULL differ by database: look for lines among the latest few in Python.
    recent = session.execute(
        select(Event)
        .where(Event.tenant_id == tenant_id, Event.type == "purchase", Event.currency.is_not(None))
        .order_by(Event.occurred_at.desc(), Event.id.desc())
        .limit(50)
    ).scalars()
    event = next((e for e in recent if e.items), None)
    if event is None or not event.currency:
        return None
    lines = [(str(i["sku"]), str(i.get("category") or ""), int(i["quantity"]), str(to_major(int(i["unit_price"]), event.currency)))
             for i in event.items or []]
    return Basket(str(to_major(event.amount, event.currency)), event.currency, lines, event.channel or "", event.store or "")
