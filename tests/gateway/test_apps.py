"""The gateway process runs with no database plumbing on its request path."""

from tests.gateway.process import run_in_gateway_process

CHECK = """
import django
django.setup()
from django.core import signals
from django.db import close_old_connections, reset_queries
from django.conf import settings
assert all(db["ENGINE"] == "django.db.backends.dummy" for db in settings.DATABASES.values())
assert not signals.request_started.disconnect(reset_queries)
assert not signals.request_started.disconnect(close_old_connections)
assert not signals.request_finished.disconnect(close_old_connections)
print("ok")
"""


def test_the_database_request_signals_are_disconnected_in_the_gateway_process():
    result = run_in_gateway_process(CHECK)

    assert result.stdout.strip() == "ok", result.stderr


def test_the_gateway_middleware_is_async_only():
    from gateway.middleware import RequestIdMiddleware
    from hms.settings import gateway as gateway_settings

    assert gateway_settings.MIDDLEWARE == ["gateway.middleware.RequestIdMiddleware"]
    assert RequestIdMiddleware.async_capable
    assert not RequestIdMiddleware.sync_capable
