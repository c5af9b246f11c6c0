"""The gateway's in-process tests: its settings, a clean state per test, fake services."""

import pytest

from gateway import state
from hms.settings import gateway as gateway_settings


@pytest.fixture(autouse=True)
def gateway(settings):
    """The test settings plus the gateway's own (its URLconf, middleware, GATEWAY_*), fresh state."""
    for name in dir(gateway_settings):
        if name.startswith("GATEWAY_"):
            setattr(settings, name, getattr(gateway_settings, name))
    settings.ROOT_URLCONF = "gateway.urls"
    settings.MIDDLEWARE = gateway_settings.MIDDLEWARE
    settings.GATEWAY_RETRY_BACKOFF = 0.0
    state.restart()
    yield settings
    state.restart()


@pytest.fixture
def redis_url() -> str:
    """The suite's Redis (CACHE_URL in CI), for the limiter every gateway process shares; the
    tests that need one are skipped on a machine without it."""
    import os

    import redis

    url = os.environ.get("CACHE_URL", "")
    url = url if url.startswith("redis://") else "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.skip(f"no Redis at {url}")
    return url
