"""The gateway app: no models; it only tunes Django for a database-less async proxy."""

from django.apps import AppConfig
from django.core import signals
from django.db import close_old_connections, reset_queries


class GatewayConfig(AppConfig):
    name = "gateway"
    label = "gateway"

    def ready(self) -> None:
        # The gateway has no database, yet Django runs these receivers around every request, and
        # under ASGI the sync ones go through a thread (sync_to_async) on every request.
        signals.request_started.disconnect(reset_queries)
        signals.request_started.disconnect(close_old_connections)
        signals.request_finished.disconnect(close_old_connections)
