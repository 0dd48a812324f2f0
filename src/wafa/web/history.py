"""A member's history as people read it: each ledger line with what caused it, in their language."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from wafa.ledger.models import Entry
from wafa.rewards import catalog
from wafa.tiers import service as tiers
from wafa.web.i18n import Lang


@dataclass
class Line:
    entry_id: int
    at: Any
    points: int
    title: str
    notes: list[str] = field(default_factory=list)


def explain(session: Session, *, tenant_id: int, entries: list[Entry], lang: Lang) -> list[Line]:
    """Why each entry happened: the purchase and every rule that added points, the reward a redemption
    bought, the lot that expired, who adjusted by hand and why."""
    _ = lang.gettext
    reward_ids = {int(e.details["reward_id"]) for e in entries if e.details and "reward_id" in e.details}
    rewards = {}
    for reward_id in reward_ids:
        try:
            rewards[reward_id] = catalog.get_or_raise(session, tenant_id=tenant_id, reward_id=reward_id)
        except Exception:  # a reward of another era: the line still reads without its name
            continue
    tier_names = {t.key: lang.name(t) for t in tiers.tiers_of(session, tenant_id=tenant_id)}
    out = []
    for entry in entries:
        d: dict[str, Any] = entry.details or {}
        notes: list[str] = []
        kind = entry.kind
        if kind == "earn" and "order_id" in d:
            title = _("Purchase %(order)s") % {"order": lang.digits(d["order_id"])}
            if d.get("amount") and d.get("currency"):
                notes.append(lang.money(d["amount"], d["currency"]))
            if "rules" in d:
                notes.append(_("%(points)s base points") % {"points": lang.number(d.get("base_points", 0))})
                for rule in d["rules"]:
                    notes.append(_("%(rule)s: %(points)s points") % {"rule": lang.pick(rule.get("name")), "points": lang.number(rule.get("points", 0))})
        elif kind == "earn" and "achievement_id" in d:
            title = _("Badge earned") if "badge" in d else (_("Challenge completed") if "challenge" in d else _("Streak milestone"))
        elif kind == "earn" and "membership_id" in d:
            title = _("Paid plan points for %(month)s") % {"month": lang.digits(d.get("month", ""))}
        elif kind == "earn" and "referral_id" in d:
            title = _("Referral completed")
        elif kind == "earn" and "tier" in d:
            title = _("Welcome to %(tier)s") % {"tier": tier_names.get(d["tier"], d["tier"])}
        elif kind == "earn":
            title = _("Points earned")
        elif kind == "redeem" and "reward_id" in d:
            reward = rewards.get(int(d["reward_id"]))
            title = _("Redeemed: %(reward)s") % {"reward": lang.name(reward) if reward else "#" + lang.digits(d["reward_id"])}
        elif kind == "redeem":
            title = _("Points redeemed")
        elif kind == "reverse" and "order_id" in d:
            title = _("Return of order %(order)s") % {"order": lang.digits(d["order_id"])}
        elif kind == "reverse" and "reward_id" in d:
            reward = rewards.get(int(d["reward_id"]))
            title = _("Redemption cancelled: %(reward)s") % {"reward": lang.name(reward) if reward else "#" + lang.digits(d["reward_id"])}
        elif kind == "reverse":
            title = _("Reversal")
        elif kind == "expire":
            title = _("Points expired")
        elif kind == "release":
            title = _("Pending points became available")
            if d.get("points"):
                notes.append(_("%(points)s points") % {"points": lang.number(d["points"])})
        elif kind == "cashback":
            title = _("Cashback to the wallet")
            for rule in d.get("rules", []):
                notes.append(lang.pick(rule.get("name")))
        elif kind == "wallet_spent":
            title = _("Paid with wallet money")
        elif kind == "hold":
            title = _("Points held at a till")
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
        out.append(Line(entry_id=entry.id, at=entry.created_at, points=entry.points, title=title, notes=notes))
    return out
