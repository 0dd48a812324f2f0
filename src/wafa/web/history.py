"""A member's history as people read it: each ledger line with what caused it, in their language (and,
in a coalition, the partner where it was earned or spent). Lines that move nothing a member holds
(pending points becoming available: 0 points) are left out; lines of wallet money show the amount
instead of points."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from wafa.coalition import service as coalition
from wafa.engagement import achievements
from wafa.ledger.models import Entry
from wafa.rewards import catalog
from wafa.tiers import service as tiers
from wafa.web.i18n import Lang

# Entries of these kinds may move wallet money with 0 points: they are shown, with the amount.
MONEY_KINDS = ("cashback", "wallet_spent", "reverse", "redeem")
_MILESTONE = re.compile(r"^(\d+) in a row")


@dataclass
class Line:
    entry_id: int
    at: Any
    points: int
    title: str
    notes: list[str] = field(default_factory=list)
    money: str | None = None  # signed wallet money, for a line that moves money rather than points
    partner: str | None = None  # in a coalition: the partner where it happened, in the reader's language


def _shown(tenant_id: int, member_id: int):
    return (Entry.tenant_id == tenant_id, Entry.member_id == member_id, or_(Entry.points != 0, Entry.kind.in_(MONEY_KINDS)))


def page(session: Session, *, tenant_id: int, member_id: int, offset: int, limit: int) -> tuple[list[Entry], int]:
    """One page of the lines a member's history shows, newest first, and how many there are in all."""
    total = session.execute(select(func.count()).select_from(Entry).where(*_shown(tenant_id, member_id))).scalar_one()
    rows = session.execute(
        select(Entry).where(*_shown(tenant_id, member_id)).order_by(Entry.id.desc()).offset(offset).limit(limit)
    ).scalars()
    return list(rows), int(total)


def entries_before(session: Session, *, tenant_id: int, member_id: int, before_id: int | None, limit: int) -> list[Entry]:
    """The lines a history shows, newest first, older than a cursor."""
    query = select(Entry).where(*_shown(tenant_id, member_id))
    if before_id is not None:
        query = query.where(Entry.id < before_id)
    return list(session.execute(query.order_by(Entry.id.desc()).limit(limit)).scalars())


def _achievement_names(session: Session, tenant_id: int, lang: Lang) -> dict[tuple[str, str], str]:
    found = achievements.definitions(session, tenant_id=tenant_id)
    return {(kind, row.key): lang.name(row) for kind, rows in (("badge", found.badges), ("challenge", found.challenges),
                                                                ("streak", found.streaks)) for row in rows}


# Where a line happened, said by what happened there.
_EARNED = ("earn", "convert", "cashback", "expire")
_SPENT = ("redeem", "hold", "capture", "wallet_spent")


def _partners(session: Session, tenant_id: int, entries: list[Entry]) -> dict[int, coalition.Terms]:
    """The partners the entries happened at, by id (none outside a coalition)."""
    if not any(e.partner_id is not None for e in entries):
        return {}
    found = coalition.config(session, tenant_id=tenant_id)
    return dict(found.partners) if found is not None else {}


def _order(d: dict[str, Any], partner: coalition.Terms | None, lang: Lang) -> str:
    """The order id as the member's receipt shows it: without the `<partner>:` a coalition keeps it under."""
    order = str(d["order_id"])
    if partner is not None:
        order = order.removeprefix(f"{partner.key}:")
    return lang.digits(order)


def _where(kind: str, partner: str, lang: Lang) -> str:
    _ = lang.gettext
    if kind in _EARNED:
        return _("Earned at %(partner)s") % {"partner": partner}
    if kind in _SPENT:
        return _("Spent at %(partner)s") % {"partner": partner}
    return _("At %(partner)s") % {"partner": partner}


def _money(d: dict[str, Any], lang: Lang) -> str | None:
    if not d.get("currency") or not d.get("amount"):
        return None
    amount = int(d["amount"])
    return ("+" if amount > 0 else "−") + lang.money(abs(amount), d["currency"], minor=True)


def explain(session: Session, *, tenant_id: int, entries: list[Entry], lang: Lang) -> list[Line]:
    """Why each entry happened: the purchase and every rule that added points, the reward a redemption
    bought, the badge, challenge or streak earned, what a till wrote, who adjusted by hand and why; in a
    coalition, the partner where it was earned or spent."""
    _ = lang.gettext
    reward_ids = {int(e.details["reward_id"]) for e in entries if e.details and "reward_id" in e.details}
    rewards = {}
    for reward_id in reward_ids:
        try:
            rewards[reward_id] = catalog.get_or_raise(session, tenant_id=tenant_id, reward_id=reward_id)
        except Exception:  # noqa: BLE001, S112  a reward of another era: the line still reads without its name
            continue
    tier_names = {t.key: lang.name(t) for t in tiers.tiers_of(session, tenant_id=tenant_id)}
    earned = _achievement_names(session, tenant_id, lang) if any(e.details and "achievement_id" in e.details for e in entries) else {}
    partners = _partners(session, tenant_id, entries)

    def reward_name(d: dict[str, Any]) -> str:
        reward = rewards.get(int(d["reward_id"]))
        return lang.name(reward) if reward else "#" + lang.digits(d["reward_id"])

    out = []
    for entry in entries:
        d: dict[str, Any] = entry.details or {}
        money = _money(d, lang) if entry.points == 0 else None
        if entry.points == 0 and money is None:
            continue  # moves nothing the member holds (pending points becoming available)
        notes: list[str] = []
        kind = entry.kind
        at = partners.get(entry.partner_id) if entry.partner_id is not None else None
        if kind == "earn" and "order_id" in d:
            title = _("Purchase %(order)s") % {"order": _order(d, at, lang)}
            if d.get("amount") and d.get("currency"):
                notes.append(lang.money(d["amount"], d["currency"]))
            if "rules" in d:
                notes.append(_("%(points)s base points") % {"points": lang.number(d.get("base_points", 0))})
                for rule in d["rules"]:
                    notes.append(
                        _("%(rule)s: %(points)s points") % {"rule": lang.pick(rule.get("name")), "points": lang.number(rule.get("points", 0))}
                    )
        elif kind == "earn" and "achievement_id" in d:
            what = next((k for k in ("badge", "challenge", "streak") if k in d), "streak")
            name = earned.get((what, str(d.get(what))), str(d.get(what) or ""))
            title = {"badge": _("Badge earned: %(name)s"), "challenge": _("Challenge completed: %(name)s"),
                     "streak": _("Streak milestone: %(name)s")}[what] % {"name": name}
            milestone = _MILESTONE.match(entry.reason or "")
            if what == "streak" and milestone:
                notes.append(_("%(n)s in a row") % {"n": lang.number(int(milestone.group(1)))})
        elif kind == "earn" and "membership_id" in d:
            title = _("Paid plan points for %(month)s") % {"month": lang.digits(d.get("month", ""))}
        elif kind == "earn" and "referral_id" in d:
            title = _("Referral completed")
        elif kind == "earn" and "tier" in d:
            title = _("Welcome to %(tier)s") % {"tier": tier_names.get(d["tier"], d["tier"])}
        elif kind == "earn":
            title = _("Points earned")
            if entry.reason:
                notes.append(entry.reason)
        elif kind == "redeem" and "reward_id" in d:
            title = _("Redeemed: %(reward)s") % {"reward": reward_name(d)}
        elif kind == "redeem":
            # At a till (or a shop's own system): what it wrote is the only word on what was bought.
            title = _("Paid with wallet money") if money else _("Points redeemed")
            if entry.reason:
                notes.append(entry.reason)
        elif kind == "reverse" and "order_id" in d:
            title = _("Return of order %(order)s") % {"order": _order(d, at, lang)}
        elif kind == "reverse" and "reward_id" in d:
            title = _("Redemption cancelled: %(reward)s") % {"reward": reward_name(d)}
        elif kind == "reverse" and "achievement_id" in d:
            title = _("Achievement taken back")
            if entry.reason:
                notes.append(entry.reason)
        elif kind == "reverse":
            title = _("Reversal")
            if entry.reason:
                notes.append(entry.reason)
        elif kind == "convert":
            title = _("%(own)s %(name)s exchanged for points") % {"own": lang.number(d.get("own_points", 0)), "name": d.get("own_points_name") or ""}
            if d.get("kept"):
                notes.append(_("%(kept)s kept for your next exchange") % {"kept": lang.number(d["kept"])})
        elif kind == "expire":
            title = _("Points expired")
        elif kind == "release":
            title = _("Pending points became available")
        elif kind == "cashback":
            title = _("Cashback to the wallet")
            for rule in d.get("rules", []):
                notes.append(lang.pick(rule.get("name")))
        elif kind == "wallet_spent":
            title = _("Paid with wallet money")
        elif kind == "hold":
            title = _("Points held at a till")
            if entry.reason:
                notes.append(entry.reason)
        elif kind == "capture":
            title = _("Held points spent")
        elif kind == "void":
            title = _("Held points given back")
        elif kind == "adjust":
            title = _("Adjusted by hand")
            if entry.reason:
                notes.append(entry.reason)
            if d.get("actor"):
                notes.append(_("by %(who)s") % {"who": d["actor"]})
        else:
            title = entry.reason or kind
        partner = at.name_in(lang.code) if at is not None else None
        if partner:
            notes.insert(0, _where(kind, partner, lang))
        out.append(Line(entry_id=entry.id, at=entry.created_at, points=entry.points, title=title, notes=notes, money=money, partner=partner))
    return out
