"""Counting hits against limits, in this process and in Redis: a rule's limits all hold, a refused hit
is not counted, counts are per identifier and shared by every Throttle on the same Redis (several
server processes), RateLimit headers say what is left, and a Redis that stops answering does not
stop the API (counting goes on in memory)."""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wafa.trust.throttle import Rule, Throttle


def fresh(redis_url: str | None) -> Throttle:
    # A prefix per test: tests run in parallel against one Redis.
    return Throttle(redis_url, prefix=f"wafa-test-{uuid.uuid4().hex}")


def run(coro):  # type: ignore[no-untyped-def]
    """The coroutine on a new event loop in its own thread: a browser test earlier in this worker may have
    left a loop running in this one (Playwright's sync API), where asyncio.run refuses to start."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def test_a_limit_admits_its_amount_then_refuses(redis_url: str | None) -> None:
    async def go() -> list[tuple[bool, int]]:
        throttle = fresh(redis_url)
        rule = Rule.of("events", "3/minute")
        return [((v := await throttle.hit(rule, "key", "7")).allowed, v.remaining) for _ in range(5)]

    assert run(go()) == [(True, 2), (True, 1), (True, 0), (False, 0), (False, 0)]


def test_every_limit_of_a_rule_holds_and_a_refused_hit_uses_up_none(redis_url: str | None) -> None:
    async def go() -> tuple[list[bool], str]:
        throttle = fresh(redis_url)
        rule = Rule.of("sign-in", "5/minute;3/hour")
        verdicts = [await throttle.hit(rule, "ip", "10.0.0.1") for _ in range(6)]
        # Refused by the hourly limit: the minute's count stopped at 3, so a rule with only the
        # minute limit, under the same name, still has 2 left.
        after = await throttle.hit(Rule.of("sign-in", "5/minute"), "ip", "10.0.0.1")
        return [v.allowed for v in verdicts], f"{after.allowed} {after.remaining}"

    allowed, after = run(go())
    assert allowed == [True, True, True, False, False, False]
    assert after == "True 1"


def test_counts_are_per_identifier(redis_url: str | None) -> None:
    async def go() -> list[bool]:
        throttle = fresh(redis_url)
        rule = Rule.of("reads", "1/minute")
        return [(await throttle.hit(rule, "key", key)).allowed for key in ("1", "2", "1", "3")]

    assert run(go()) == [True, True, False, True]


def test_two_throttles_on_one_redis_share_their_counts() -> None:
    from tests.unit.trust.conftest import REDIS_URL, redis_up

    if not redis_up():
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    prefix = f"wafa-test-{uuid.uuid4().hex}"

    async def go() -> list[bool]:
        # Two server processes: two Throttles, one Redis.
        first, second = Throttle(REDIS_URL, prefix=prefix), Throttle(REDIS_URL, prefix=prefix)
        rule = Rule.of("redemptions", "2/minute")
        return [(await throttle.hit(rule, "key", "9")).allowed for throttle in (first, second, first, second)]

    assert run(go()) == [True, True, False, False]


def test_headers_name_the_rule_its_quota_and_what_is_left(redis_url: str | None) -> None:
    async def go():  # type: ignore[no-untyped-def]
        throttle = fresh(redis_url)
        rule = Rule.of("writes", "2/minute")
        return [await throttle.hit(rule, "key", "1") for _ in range(3)]

    first, _, refused = run(go())
    assert first.headers()["RateLimit-Policy"] == '"writes";q=2;w=60'
    assert first.headers()["RateLimit"].startswith('"writes";r=1;t=')
    assert "Retry-After" not in first.headers()
    assert 1 <= refused.reset <= 60
    assert refused.headers()["Retry-After"] == str(refused.reset)


def test_a_redis_that_does_not_answer_leaves_counting_to_this_process(caplog: pytest.LogCaptureFixture) -> None:
    async def go() -> list[bool]:
        throttle = Throttle("redis://127.0.0.1:1/0", prefix="wafa-test-down")  # nothing listens on port 1
        rule = Rule.of("events", "2/minute")
        return [(await throttle.hit(rule, "key", "1")).allowed for _ in range(3)]

    assert run(go()) == [True, True, False]
    assert "Redis unavailable" in caplog.text


def test_peek_counts_nothing(redis_url: str | None) -> None:
    async def go() -> tuple[object, object, bool]:
        throttle = fresh(redis_url)
        rule = Rule.of("sign-in-failures", "1/minute")
        before = await throttle.peek(rule, "ip", "1")
        await throttle.hit(rule, "ip", "1")
        return before, await throttle.peek(rule, "ip", "1"), (await throttle.hit(rule, "ip", "2")).allowed

    before, after, other = run(go())
    assert before is None and after is not None and after.allowed is False and other is True  # type: ignore[attr-defined]


@settings(max_examples=25)
@given(amount=st.integers(1, 20), hits=st.integers(0, 40))
def test_in_memory_exactly_amount_hits_pass_in_one_window(amount: int, hits: int) -> None:
    async def go() -> int:
        throttle = fresh(None)
        rule = Rule.of("x", f"{amount}/hour")
        return sum([(await throttle.hit(rule, "k")).allowed for _ in range(hits)])

    assert run(go()) == min(amount, hits)
