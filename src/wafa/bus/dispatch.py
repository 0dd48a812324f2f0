"""Publishing a domain event: its handlers run at once, in the order `wafa.bus.handlers` lists them, in
the caller's session and transaction, so a purchase and everything it causes commit or roll back
together. An error propagates to the publisher (nothing is swallowed: the transaction rolls back).

A handler may publish further events; each is handled as it is published (depth first), before the
handler that published it goes on, which keeps the order the reactions had as direct calls (a badge's
points reach the member's tier before the next badge is measured).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from wafa.bus.messages import Message


@dataclass(frozen=True, slots=True)
class Handler:
    """A reaction to one type of event, and whether it could do anything for a tenant (from cached
    configuration): when no handler of an event wants it, the publisher may take a faster path."""

    react: Callable[[Session, Message], None]
    wants: Callable[[Session, int], bool]


def handlers_of(kind: type[Message]) -> list[Handler]:
    """The handlers of an event type, in order. The list is imported by name on first use (and then
    from sys.modules): the domains publish through this module and never import each other's reactions,
    so no domain depends on another through the bus."""
    return importlib.import_module("wafa.bus.handlers").HANDLERS.get(kind, [])


def wanted(session: Session, *, tenant_id: int, kind: type[Message]) -> bool:
    """Whether publishing this kind of event for the tenant would do anything."""
    return any(handler.wants(session, tenant_id) for handler in handlers_of(kind))


def publish(session: Session, message: Message) -> None:
    """Run the event's handlers that want it, in order, in the caller's transaction."""
    for handler in handlers_of(type(message)):
        if handler.wants(session, message.tenant_id):
            handler.react(session, message)
