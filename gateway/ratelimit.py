"""Rate limiting at the edge: a token bucket per client and route group.

Kept in process memory by default: no round trip per request, but each gateway process limits on
its own, so with WEB_CONCURRENCY=2 and two replicas a client can get up to four times the rate.
With GATEWAY_RATE_LIMIT_REDIS_URL set the buckets live in Redis (`SharedTokenBucketLimiter`, one
round trip per request), shared by every process and replica; when Redis does not answer, each
process falls back to its own buckets for a second rather than refusing or stalling requests.
"""

import asyncio
import logging
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from redis import asyncio as aioredis
from redis.exceptions import RedisError

logger = logging.getLogger("hms.gateway")

_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*/\s*(s|sec|second|m|min|minute|h|hour)\s*$")
_PERIOD_SECONDS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60}
_PERIOD_SECONDS |= {"h": 3600, "hour": 3600}


@dataclass(frozen=True)
class Rate:
    per_second: float
    burst: float


def parse_rate(text: str, *, burst: int) -> Rate | None:
    """ "50/s", "600/min", "1000/h" -> Rate; "off", "0" or "" -> None (no limit)."""
    if text.strip().lower() in {"", "0", "off", "none"}:
        return None
    match = _RATE.match(text.lower())
    if not match:
        raise ValueError(f"rate must look like '50/s' or '600/min', not {text!r}")
    per_second = float(match[1]) / _PERIOD_SECONDS[match[2]]
    if per_second <= 0:
        return None
    return Rate(per_second=per_second, burst=max(1.0, float(burst)))


class TokenBucketLimiter:
    """`take(key, rate)` spends a token: 0.0 when allowed, else the seconds until one is back."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000):
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, updated at)

    def take(self, key: str, rate: Rate) -> float:
        now = self.clock()
        tokens, updated = self._buckets.get(key, (rate.burst, now))
        tokens = min(rate.burst, tokens + (now - updated) * rate.per_second)
        if tokens >= 1.0:
            self._store(key, tokens - 1.0, now, rate)
            return 0.0
        self._store(key, tokens, now, rate)
        return (1.0 - tokens) / rate.per_second

    def _store(self, key: str, tokens: float, now: float, rate: Rate) -> None:
        if key not in self._buckets and len(self._buckets) >= self.max_keys:
            self._forget_full_buckets(now, rate)
        self._buckets[key] = (tokens, now)

    def _forget_full_buckets(self, now: float, rate: Rate) -> None:
        # A bucket that has refilled is the same as no bucket: drop those, so memory stays bounded.
        refill = rate.burst / rate.per_second
        self._buckets = {
            key: value for key, value in self._buckets.items() if now - value[1] < refill
        }

    def __len__(self) -> int:
        return len(self._buckets)


# One bucket, updated atomically in Redis with Redis's own clock (replicas' clocks may differ).
# Returns the wait as a string: Redis would truncate a Lua number to an integer.
_TAKE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local per_second, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local bucket = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens = tonumber(bucket[1]) or burst
local updated = tonumber(bucket[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - updated) * per_second)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / per_second end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'updated', tostring(now))
-- A bucket that has refilled is the same as no bucket.
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / per_second * 1000) + 1000)
return tostring(wait)
"""


class SharedTokenBucketLimiter:
    """The buckets in Redis, shared by every gateway process: `await take(key, rate)`."""

    def __init__(
        self,
        url: str,
        *,
        fallback: TokenBucketLimiter,
        timeout: float = 0.1,
        key_prefix: str = "hms:ratelimit:",
        clock: Callable[[], float] = time.monotonic,
    ):
        self.url, self.fallback, self.timeout = url, fallback, timeout
        self.key_prefix, self.clock = key_prefix, clock
        self._down_until = float("-inf")
        self._client: aioredis.Redis | None = None
        self._client_loop: asyncio.AbstractEventLoop | None = None
        self._script = None

    def _redis(self):
        loop = asyncio.get_running_loop()
        if self._client is None or self._client_loop is not loop:
            self._client = aioredis.Redis.from_url(
                self.url, socket_timeout=self.timeout, socket_connect_timeout=self.timeout
            )
            self._client_loop = loop
            self._script = self._client.register_script(_TAKE)
        return self._script

    async def take(self, key: str, rate: Rate) -> float:
        if self.clock() < self._down_until:
            return self.fallback.take(key, rate)
        try:
            script = self._redis()
            wait = await script(keys=[self.key_prefix + key], args=[rate.per_second, rate.burst])
            return float(wait)
        except (TimeoutError, RedisError, OSError) as exc:
            # Limits per process for a second, then Redis again: a request never waits on a
            # broken Redis longer than one timeout per second per process.
            self._down_until = self.clock() + 1.0
            logger.warning("rate limits per process for 1 s: Redis did not answer (%s)", exc)
            return self.fallback.take(key, rate)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
        self._client = None


def retry_after_seconds(wait: float) -> int:
    return max(1, math.ceil(wait))
