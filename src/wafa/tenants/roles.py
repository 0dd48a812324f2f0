"""What each role of the console may do: one table of permission -> roles, read by the console's
central check (web/admin/auth.py), the pages (to hide what a role cannot use) and the services."""

from __future__ import annotations

# The operator's roles, widest first: the order the People page offers them in.
ROLES = ("owner", "admin", "marketer", "support", "viewer")
# A coalition partner's person (an admin user with a partner): reads their partner's own pages only
# (the whitelist in web/admin/auth.py). Never offered on the People page, never one of ROLES: a
# partner's person cannot become an operator's, nor the reverse (tenants/admin_users.py).
PARTNER = "partner"

_MANAGERS = frozenset({"owner", "admin"})

PERMISSIONS: dict[str, frozenset[str]] = {
    # Reading every page (and read-only posts: a rule simulation, signing out, one's own password).
    "read": frozenset((*ROLES, PARTNER)),
    # Suspend and reactivate members, adjust their points (support: within the owner's limit), fulfil gifts.
    "members": _MANAGERS | {"support"},
    # Adjustments of any size; without it an adjustment is held to the support limit.
    "adjust.unlimited": _MANAGERS,
    # Create rules as drafts and revise drafts.
    "rules.draft": _MANAGERS | {"marketer"},
    # Activate, pause and end rules; create a rule active; revise a rule that is not a draft.
    "rules.activate": _MANAGERS,
    # The reward catalog, coupon campaigns, segments and surveys.
    "marketing": _MANAGERS | {"marketer"},
    # Purchase imports award points: the program's people only.
    "imports": _MANAGERS,
    # Program settings, tiers, paid plans, goals.
    "program": _MANAGERS,
    "api_keys": _MANAGERS,
    # Export the audit trail: it names every person's actions and the IP addresses they came from.
    "audit": _MANAGERS,
    # Invite people, change their roles, deactivate and reactivate them.
    "people": _MANAGERS,
    # Give or take the owner role, deactivate an owner, set the support limit.
    "owners": frozenset({"owner"}),
    # The coalition: its settings, partners and their terms, stores, keys and people, closing periods.
    "coalition": _MANAGERS,
}


def can(role: str, permission: str) -> bool:
    """Whether `role` has `permission` (an unknown permission is nobody's)."""
    return role in PERMISSIONS.get(permission, frozenset())
