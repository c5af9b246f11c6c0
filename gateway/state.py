"""What a gateway process keeps between requests, in one object: its pooled HTTP client, its
circuit breakers, its rate-limit buckets and its cached platform schema.

Each uvicorn worker builds its state when it starts (ASGI lifespan startup, gateway/asgi.py) and
closes the client when it stops; `current()` is the state of this process. Tests take a fresh
one with `restart()` instead of reaching into each module's fields.
"""

import asyncio
from dataclasses import dataclass, field

import aiohttp
from django.conf import settings

from gateway.breaker import CircuitBreaker
from gateway.ratelimit import Rate, SharedTokenBucketLimiter, TokenBucketLimiter, parse_rate


@dataclass
class GatewayState:
    breakers: dict[str, CircuitBreaker] = field(default_factory=dict)
    limiter: TokenBucketLimiter = field(default_factory=TokenBucketLimiter)
    # Set when GATEWAY_RATE_LIMIT_REDIS_URL is: the buckets every gateway process shares.
    shared_limiter: SharedTokenBucketLimiter | None = None
    rates: dict[str, Rate | None] = field(default_factory=dict)
    # The merged OpenAPI document and when it goes stale (time.monotonic()).
    schema: tuple[float, dict] | None = None
    session: aiohttp.ClientSession | None = None
    session_loop: asyncio.AbstractEventLoop | None = None

    def breaker_for(self, service: str) -> CircuitBreaker:
        breaker = self.breakers.get(service)
        if breaker is None:
            breaker = self.breakers[service] = CircuitBreaker(
                service,
                failure_threshold=settings.GATEWAY_BREAKER_FAILURES,
                cooldown=settings.GATEWAY_BREAKER_COOLDOWN,
            )
        return breaker

    def __post_init__(self):
        url = getattr(settings, "GATEWAY_RATE_LIMIT_REDIS_URL", "")
        if url and self.shared_limiter is None:
            self.shared_limiter = SharedTokenBucketLimiter(
                url,
                fallback=self.limiter,
                timeout=settings.GATEWAY_RATE_LIMIT_REDIS_TIMEOUT,
            )

    async def rate_wait(self, key: str, rate: Rate) -> float:
        """0.0 when `key` may call now, else the seconds until it may."""
        if self.shared_limiter is not None:
            return await self.shared_limiter.take(key, rate)
        return self.limiter.take(key, rate)

    def rate_for(self, group: str) -> Rate | None:
        if group not in self.rates:
            text = settings.GATEWAY_RATE_LIMITS.get(group, settings.GATEWAY_RATE_LIMIT)
            self.rates[group] = parse_rate(text, burst=settings.GATEWAY_RATE_LIMIT_BURST)
        return self.rates[group]

    def client_session(self) -> aiohttp.ClientSession:
        """The pooled session, made on first use inside the running event loop."""
        loop = asyncio.get_running_loop()
        if self.session is None or self.session.closed or self.session_loop is not loop:
            self.session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=200, limit_per_host=100, keepalive_timeout=30),
                timeout=aiohttp.ClientTimeout(total=None, connect=1.0, sock_read=10.0),
                # Bodies pass through as the service compressed them (Content-Encoding is kept).
                auto_decompress=False,
            )
            # aiohttp would silently resend an idempotent request (PUT and DELETE included) once
            # when a pooled connection turns out closed; retries are decided in call_backend only
            # (GET/HEAD/OPTIONS, GATEWAY_RETRIES), so that the bound holds and the breaker sees
            # every failure.
            self.session._retry_connection = False
            self.session_loop = loop
        return self.session

    async def close(self) -> None:
        if self.session is not None and not self.session.closed:
            await self.session.close()
        self.session = None
        if self.shared_limiter is not None:
            await self.shared_limiter.close()


_current = GatewayState()


def current() -> GatewayState:
    return _current


def restart() -> GatewayState:
    """A new, empty state for this process (a worker starting; a test)."""
    global _current
    _current = GatewayState()
    return _current
