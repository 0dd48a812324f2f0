"""What each role of the console may do: one table of permission -> roles, read by the console's
central check (web/admin/auth.py), the pages (to hide what a role cannot use) and the services."""

from __future__ import annotations

# Widest first: the order the People page offers them in.
ROLES = ("owner", "admin", "marketer", "support", "viewer")

_MANAGERS = frozenset({"owner", "admin"})

PERMISSIONS: dict[str, frozenset[str]] = {
    # Reading every page (and read-only posts: a rule simulation, signing out, one's own password).
    "read": frozenset(ROLES),
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
}


def can(role: str, permission: str) -> bool:
    """Whether `role` has `permission` (an unknown permission is nobody's)."""
    return role in PERMISSIONS.get(permission, frozenset())
