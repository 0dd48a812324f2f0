"""Slots for password hashing: an argon2id hash takes 64 MiB and tens of milliseconds of a core, so a
process computes at most WAFA_PASSWORD_HASH_SLOTS at once; a sign-in that waits too long for a slot
is refused with a 503 (and Retry-After) rather than queue memory and threads without bound.

A sign-in waits for its slot in the event loop (`admitted`), before it takes a worker thread: waiting
in a thread would fill the thread pool that every sync API route needs, and stall the API."""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from wafa.config import get_settings
from wafa.errors import WafaError

# How long a sign-in waits for a slot before it is refused (seconds).
WAIT = 5.0

class Busy(WafaError):
    """Every hashing slot stayed busy: retry shortly."""

    status = 503
    slug = "busy"
    title = "Service busy"


class Slots:
    """The process's hashing slots, and (for tests and the abuse benchmark) how many ran at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._semaphore: threading.BoundedSemaphore | None = None
        self._admissions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()
        self.running = 0
        self.most_at_once = 0
        self.computed = 0

    @asynccontextmanager
    async def admitted(self, *, wait: float = WAIT) -> AsyncIterator[None]:
        """Wait in the event loop for a slot, for a block that then hashes in a worker thread (Busy after `wait` s)."""
        loop = asyncio.get_running_loop()
        semaphore = self._admissions.get(loop)
        if semaphore is None:
            semaphore = self._admissions[loop] = asyncio.Semaphore(max(1, get_settings().password_hash_slots))
        try:
            await asyncio.wait_for(semaphore.acquire(), timeout=wait)
        except TimeoutError:
            raise Busy("too many sign-ins at once: retry in a moment", retry_after=1) from None
        try:
            yield
        finally:
            semaphore.release()

    @contextmanager
    def hold(self, *, wait: float = WAIT) -> Iterator[None]:
        with self._lock:
            if self._semaphore is None:
                self._semaphore = threading.BoundedSemaphore(max(1, get_settings().password_hash_slots))
            semaphore = self._semaphore
        if not semaphore.acquire(timeout=wait):
            raise Busy("too many sign-ins at once: retry in a moment", retry_after=1)
        try:
            with self._lock:
                self.running += 1
                self.computed += 1
                self.most_at_once = max(self.most_at_once, self.running)
            yield
        finally:
            with self._lock:
                self.running -= 1
            semaphore.release()


SLOTS = Slots()


def slot(*, wait: float = WAIT) -> Any:
    """Hold one hashing slot for the block (Busy if none frees up within `wait` seconds)."""
    return SLOTS.hold(wait=wait)
