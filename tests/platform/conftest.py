import pytest

from hms.bus.inbox import handlers_for
from tests.platform import handlers


@pytest.fixture
def test_handlers(settings):
    """Route the grants consumer to the test handler table for the duration of a test."""
    settings.HMS_BUS_HANDLERS = {
        **settings.HMS_BUS_HANDLERS,
        "grants": "tests.platform.handlers.HANDLERS",
        "users": "tests.platform.handlers.DEFAULT_DATABASE_HANDLERS",
    }
    handlers_for.cache_clear()
    handlers.calls.clear()
    handlers.failures_left["count"] = 0
    yield handlers
    handlers_for.cache_clear()
