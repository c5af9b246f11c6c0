"""The token-bucket rate limiter."""

import asyncio
import uuid

import pytest

from gateway.ratelimit import (
    Rate,
    SharedTokenBucketLimiter,
    TokenBucketLimiter,
    parse_rate,
    retry_after_seconds,
)


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("text", "per_second"),
    [("50/s", 50), ("600/min", 10), ("3600/h", 1), ("2.5/s", 2.5), ("120 / m", 2)],
)
def test_rates_parse_from_the_environment_format(text, per_second):
    assert parse_rate(text, burst=7) == Rate(per_second=per_second, burst=7)


@pytest.mark.parametrize("text", ["off", "0", "", "none"])
def test_a_rate_can_be_switched_off(text):
    assert parse_rate(text, burst=10) is None


@pytest.mark.parametrize("text", ["50", "fast", "50/day", "-1/s"])
def test_a_malformed_rate_is_refused(text):
    with pytest.raises(ValueError):
        parse_rate(text, burst=10)


def test_a_burst_is_allowed_then_requests_wait_for_the_refill():
    clock = Clock()
    limiter = TokenBucketLimiter(clock=clock)
    rate = Rate(per_second=2, burst=3)

    assert [limiter.take("c", rate) for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.take("c", rate)

    assert wait == pytest.approx(0.5)
    assert retry_after_seconds(wait) == 1
    clock.now += 0.5
    assert limiter.take("c", rate) == 0.0
    assert limiter.take("c", rate) > 0


def test_each_client_has_its_own_bucket():
    limiter = TokenBucketLimiter(clock=Clock())
    rate = Rate(per_second=1, burst=1)

    assert limiter.take("grants|user:4", rate) == 0.0
    assert limiter.take("grants|user:4", rate) > 0
    assert limiter.take("grants|user:5", rate) == 0.0
    assert limiter.take("users|user:4", rate) == 0.0


def test_refilled_buckets_are_forgotten_so_memory_stays_bounded():
    clock = Clock()
    limiter = TokenBucketLimiter(clock=clock, max_keys=10)
    rate = Rate(per_second=1, burst=2)
    for client in range(10):
        limiter.take(f"ip:{client}", rate)
    clock.now += 5

    limiter.take("ip:new", rate)

    assert len(limiter) == 1


# -- the buckets every gateway process shares, in Redis ------------------------------------------
def shared(url: str, prefix: str, **kwargs) -> SharedTokenBucketLimiter:
    return SharedTokenBucketLimiter(url, fallback=TokenBucketLimiter(), key_prefix=prefix, **kwargs)


def test_two_gateway_processes_share_one_bucket_in_redis(redis_url):
    prefix = f"test:ratelimit:{uuid.uuid4().hex}:"
    first, second = shared(redis_url, prefix), shared(redis_url, prefix)
    rate = Rate(per_second=1 / 60, burst=4)

    async def alternate():
        try:
            return [await limiter.take("grants|user:4", rate) for limiter in [first, second] * 4]
        finally:
            await first.close()
            await second.close()

    waits = asyncio.run(alternate())

    # Each process alone would have allowed 4: together they allow 4, not 8.
    assert [wait == 0.0 for wait in waits] == [True] * 4 + [False] * 4
    assert 50 < waits[-1] <= 60  # a token comes back a minute after the burst


def test_when_redis_does_not_answer_each_process_limits_on_its_own_for_a_second():
    clock = Clock()
    limiter = shared("redis://127.0.0.1:1/0", "test:", timeout=0.2, clock=clock)
    rate = Rate(per_second=1 / 60, burst=2)

    async def takes():
        return [await limiter.take("status|user:4", rate) for _ in range(3)]

    waits = asyncio.run(takes())

    assert [wait == 0.0 for wait in waits] == [True, True, False]
    assert len(limiter.fallback) == 1
    assert limiter._down_until == 1.0  # Redis is not asked again until a second has passed
