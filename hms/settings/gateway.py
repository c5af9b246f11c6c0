"""The API gateway: `DJANGO_SETTINGS_MODULE=hms.settings.gateway`. No database, no domain models.

Every part of the gateway's request path was chosen by measurement: no database request signals
(gateway/apps.py), uvloop and httptools (hms/deploy/gateway.py), aiohttp rather than httpx
(gateway/backends.py), no thread per request (gateway/asgi.py). The figures are in
bench/README.md, "Choices measured".
"""

import datetime

from hms.settings.base import *

HMS_SERVICE = "gateway"
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "gateway"]
# One async middleware: each layer costs on every request, and a sync one would put a thread hop
# (sync_to_async) on the request path. Edge checks (token, rate limit) run inside the views, where
# the route group is known, instead of as more middleware.
MIDDLEWARE = ["gateway.middleware.RequestIdMiddleware"]
SILENCED_SYSTEM_CHECKS = [
    # gateway.middleware adds nosniff, X-Frame-Options and HSTS itself, without a sync layer;
    # TLS (and its redirect) ends at the load balancer in front of the gateway.
    "security.W001",
    "security.W002",
    # No session cookies at the gateway (tokens only; Cookie is never forwarded): no CSRF to stop.
    "security.W003",
]
DATABASES = {}
HMS_SERVICE_DATABASES = {}
HMS_BUS_HANDLERS = {}
ROOT_URLCONF = "gateway.urls"

# ------------------------------------------------------------------------------------------------
# Backend calls: timeouts, retries, circuit breakers (gateway/backends.py, gateway/breaker.py).
# ------------------------------------------------------------------------------------------------
GATEWAY_CONNECT_TIMEOUT = env.float("GATEWAY_CONNECT_TIMEOUT", default=1.0)
GATEWAY_READ_TIMEOUT = env.float("GATEWAY_READ_TIMEOUT", default=10.0)
# Per backend: GATEWAY_<SERVICE>_CONNECT_TIMEOUT / GATEWAY_<SERVICE>_READ_TIMEOUT (seconds).
GATEWAY_TIMEOUTS = {
    service: (
        env.float(f"GATEWAY_{service.upper()}_CONNECT_TIMEOUT", default=GATEWAY_CONNECT_TIMEOUT),
        env.float(f"GATEWAY_{service.upper()}_READ_TIMEOUT", default=GATEWAY_READ_TIMEOUT),
    )
    for service in ("users", "grants", "finance")
}
# Extra attempts after a connection error, for GET/HEAD/OPTIONS only (never after a timeout: a
# slow service does not get faster by being asked twice).
GATEWAY_RETRIES = env.int("GATEWAY_RETRIES", default=1)
GATEWAY_RETRY_BACKOFF = env.float("GATEWAY_RETRY_BACKOFF", default=0.05)
# The applicants' status stream (gateway/stream.py): how often it asks Grants for changes, how
# long one connection lasts before the client reconnects, and the reconnect delay it suggests.
GATEWAY_STREAM_POLL_SECONDS = env.float("GATEWAY_STREAM_POLL_SECONDS", default=1.0)
GATEWAY_STREAM_MAX_SECONDS = env.float("GATEWAY_STREAM_MAX_SECONDS", default=300.0)
GATEWAY_STREAM_RETRY_MS = env.int("GATEWAY_STREAM_RETRY_MS", default=1000)
# A backend's breaker opens after this many consecutive failures and fails fast for the cool-down,
# then lets one trial call through. Half a second: a service that comes back is used again within
# it (a 10 s cool-down kept clients failing up to 10 s after a restart, and 20 s when a trial
# fell before it); one trial call per half second per gateway worker is no load for a service
# that is down.
GATEWAY_BREAKER_FAILURES = env.int("GATEWAY_BREAKER_FAILURES", default=5)
GATEWAY_BREAKER_COOLDOWN = env.float("GATEWAY_BREAKER_COOLDOWN", default=0.5)
# /status waits at most this long for the optional part (finance) before answering degraded.
GATEWAY_STATUS_OPTIONAL_TIMEOUT = env.float("GATEWAY_STATUS_OPTIONAL_TIMEOUT", default=2.0)

# ------------------------------------------------------------------------------------------------
# Rate limiting (gateway/ratelimit.py): a token bucket per client and route group, in process
# unless GATEWAY_RATE_LIMIT_REDIS_URL is set: then each gateway process (uvicorn worker) limits
# independently, so a client may get up to WEB_CONCURRENCY times the rate per replica. "<n>/s", "<n>/min", "<n>/h", or "off".
# Per group: GATEWAY_RATE_LIMIT_<GROUP> (users, grants, finance, status, schema).
# ------------------------------------------------------------------------------------------------
GATEWAY_RATE_LIMIT = env.str("GATEWAY_RATE_LIMIT", default="50/s")
# Set (redis://...), the buckets live in Redis and every gateway process and replica shares them:
# one round trip per request, waiting at most GATEWAY_RATE_LIMIT_REDIS_TIMEOUT seconds; when Redis
# does not answer, each process limits on its own for a second (gateway/ratelimit.py).
GATEWAY_RATE_LIMIT_REDIS_URL = env.str("GATEWAY_RATE_LIMIT_REDIS_URL", default="")
GATEWAY_RATE_LIMIT_REDIS_TIMEOUT = env.float("GATEWAY_RATE_LIMIT_REDIS_TIMEOUT", default=0.1)
GATEWAY_RATE_LIMIT_BURST = env.int("GATEWAY_RATE_LIMIT_BURST", default=100)
GATEWAY_RATE_LIMITS = {
    group: env.str(f"GATEWAY_RATE_LIMIT_{group.upper()}", default=GATEWAY_RATE_LIMIT)
    for group in ("users", "grants", "finance", "status", "schema")
}

# ------------------------------------------------------------------------------------------------
# The merged OpenAPI document is cached this many seconds (a partial one is never cached).
# ------------------------------------------------------------------------------------------------
GATEWAY_SCHEMA_CACHE_SECONDS = env.float("GATEWAY_SCHEMA_CACHE_SECONDS", default=30.0)
# One line per request (method, path, status, ms, request id); off to save the write when measuring.
GATEWAY_ACCESS_LOG = env.bool("GATEWAY_ACCESS_LOG", default=True)

# ------------------------------------------------------------------------------------------------
# API versions (gateway/proxy.py): the unversioned /api/<service> routes answer as v1 until their
# sunset, announcing it (Deprecation, Sunset headers). Dates are UTC.
# ------------------------------------------------------------------------------------------------
GATEWAY_UNVERSIONED_DEPRECATED = datetime.datetime.fromisoformat(
    env.str("GATEWAY_UNVERSIONED_DEPRECATED", default="2026-12-03T00:00:00+00:00")
)
GATEWAY_UNVERSIONED_SUNSET = datetime.datetime.fromisoformat(
    env.str("GATEWAY_UNVERSIONED_SUNSET", default="2027-06-30T00:00:00+00:00")
)
