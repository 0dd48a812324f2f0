"""Counting hits against rate limits with the `limits` library's moving windows (exact: a limit of N per minute
admits N hits in any 60 s, whenever they come): in Redis
when WAFA_REDIS_URL names one (every process and server shares the counts), else in this process's
memory. If Redis stops answering, counting goes on in memory (logged) and goes back to Redis a little
later: a broken Redis must not take the API down with it.

    throttle = Throttle("redis://127.0.0.1:6379/0")
    verdict = await throttle.hit(Rule("events", parse("3000/minute")), "key", "17")
    if not verdict.allowed: ... 429, Retry-After: verdict.reset
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import weakref
from dataclasses import dataclass

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

log = logging.getLogger(__name__)

# After Redis fails, how long counting stays in memory before trying Redis again (seconds).
RETRY_REDIS_AFTER = 30.0


@dataclass(frozen=True, slots=True)
class Rule:
    """A named limit: `name` shows in RateLimit headers and problem bodies."""

    name: str
    items: tuple[RateLimitItem, ...]

    @classmethod
    def of(cls, name: str, text: str) -> Rule:
        """A rule from "N/unit" limits joined by ";" (ValueError if it is not one)."""
        return cls(name, tuple(parse_many(text)))


@dataclass(frozen=True, slots=True)
class Verdict:
    """What counting one hit decided: allowed or not, against the tightest of the rule's limits."""

    allowed: bool
    rule: str
    limit: int
    window: int  # seconds
    remaining: int
    reset: int  # seconds until the window has room again (at least 1)

    def headers(self) -> dict[str, str]:
        """The RateLimit-Policy and RateLimit fields (draft-ietf-httpapi-ratelimit-headers), plus
        Retry-After when refused."""
        out = {
            "RateLimit-Policy": f'"{self.rule}";q={self.limit};w={self.window}',
            "RateLimit": f'"{self.rule}";r={self.remaining};t={self.reset}',
        }
        if not self.allowed:
            out["Retry-After"] = str(self.reset)
        return out


class Throttle:
    """Counts hits per rule and identifiers, in Redis or in memory."""

    def __init__(self, redis_url: str | None = None, *, prefix: str = "wafa") -> None:
        self.redis_url = redis_url
        self.prefix = prefix
        # Async clients belong to the event loop they were made in (tests run several loops).
        self._limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, MovingWindowRateLimiter]] = (
            weakref.WeakKeyDictionary()
        )
        self._redis_down_until = 0.0

    @property
    def shared(self) -> bool:
        """Whether counts are shared by every process (Redis)."""
        return self.redis_url is not None

    def _limiter(self, kind: str) -> MovingWindowRateLimiter:
        per_loop = self._limiters.setdefault(asyncio.get_running_loop(), {})
        limiter = per_loop.get(kind)
        if limiter is None:
            storage: Storage
            if kind == "redis":
                assert self.redis_url is not None
                uri = "async+" + self.redis_url if not self.redis_url.startswith("async+") else self.redis_url
                # An async+ URI gives an async storage.
                storage = storage_from_string(uri, wrap_exceptions=True, stream_timeout=0.5, connect_timeout=0.5)  # type: ignore[assignment]
            else:
                storage = MemoryStorage()
            limiter = per_loop[kind] = MovingWindowRateLimiter(storage)
        return limiter

    async def hit(self, rule: Rule, *identifiers: str, cost: int = 1) -> Verdict:
        """Count a hit against every limit of `rule` for these identifiers; refused if any is full (a
        refused hit is not counted, so a client that waits as told gets through)."""
        use_redis = self.redis_url is not None and time.monotonic() >= self._redis_down_until
        identifiers = (self.prefix, *identifiers)  # the prefix in the key itself: one Redis may serve several Wafas
        try:
            return await self._hit(self._limiter("redis" if use_redis else "memory"), rule, identifiers, cost)
        except Exception as exc:  # any storage failure: count in memory for a while
            if not use_redis:
                raise
            log.warning("rate limits: Redis unavailable (%s); counting in this process for %.0f s", exc, RETRY_REDIS_AFTER)
            self._redis_down_until = time.monotonic() + RETRY_REDIS_AFTER
            return await self._hit(self._limiter("memory"), rule, identifiers, cost)

    async def peek(self, rule: Rule, *identifiers: str) -> Verdict | None:
        """Without counting: the verdict of a limit of `rule` that is full for these identifiers, or None."""
        use_redis = self.redis_url is not None and time.monotonic() >= self._redis_down_until
        keyed = (self.prefix, *identifiers)
        try:
            limiter = self._limiter("redis" if use_redis else "memory")
            for item in rule.items:
                if not await limiter.test(item, rule.name, *keyed):
                    return await _verdict(limiter, rule, item, keyed, allowed=False)
            return None
        except Exception as exc:  # any storage failure: count in memory for a while
            if not use_redis:
                raise
            log.warning("rate limits: Redis unavailable (%s); counting in this process for %.0f s", exc, RETRY_REDIS_AFTER)
            self._redis_down_until = time.monotonic() + RETRY_REDIS_AFTER
            return await self.peek(rule, *identifiers)

    async def clear(self, rule: Rule, *identifiers: str) -> None:
        """Forget the counts of `rule` for these identifiers (e.g. an address's failures after a success)."""
        limiter = self._limiter("redis" if self.redis_url is not None and time.monotonic() >= self._redis_down_until else "memory")
        for item in rule.items:
            await limiter.clear(item, rule.name, self.prefix, *identifiers)

    @staticmethod
    async def _hit(limiter: MovingWindowRateLimiter, rule: Rule, identifiers: tuple[str, ...], cost: int) -> Verdict:
        tightest: Verdict | None = None
        if len(rule.items) > 1:
            for item in rule.items:
                # test() first: a hit refused by a later limit must not use up an earlier one.
                if not await limiter.test(item, rule.name, *identifiers, cost=cost):
                    return await _verdict(limiter, rule, item, identifiers, allowed=False)
        for item in rule.items:
            allowed = await limiter.hit(item, rule.name, *identifiers, cost=cost)
            verdict = await _verdict(limiter, rule, item, identifiers, allowed=allowed)
            if not allowed:
                return verdict  # lost a race with another hit between test and hit
            if tightest is None or verdict.remaining < tightest.remaining:
                tightest = verdict
        assert tightest is not None, "a rule has at least one limit"
        return tightest


async def _verdict(
    limiter: MovingWindowRateLimiter, rule: Rule, item: RateLimitItem, identifiers: tuple[str, ...], *, allowed: bool,
) -> Verdict:
    stats = await limiter.get_window_stats(item, rule.name, *identifiers)
    reset = max(1, math.ceil(stats.reset_time - time.time()))
    return Verdict(allowed, rule.name, item.amount, item.get_expiry(), max(0, stats.remaining), reset)
