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
