"""Rate limiting at the edge: a token bucket per client and route group, kept in process memory.

In memory, not in Redis, because a network round trip per request would cost more than the
proxying itself; the price is that each gateway process limits on its own (with WEB_CONCURRENCY=2
a client can get up to twice the configured rate). Put a shared limiter in front when that matters.
"""

import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

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


def retry_after_seconds(wait: float) -> int:
    return max(1, math.ceil(wait))
