"""The bus's gauges for Prometheus: outbox backlog and dead letters, read at scrape time."""

from django.conf import settings
from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily

from hms.bus.outbox import bus_status
from hms.metrics import metrics_response


class BusCollector:
    """Outbox backlog, unacknowledged deliveries per consumer and pending dead letters, read
    from the service's database at scrape time."""

    def collect(self):
        backlog = GaugeMetricFamily(
            "hms_outbox_backlog", "Events waiting to be relayed.", labels=["service"]
        )
        oldest = GaugeMetricFamily(
            "hms_outbox_oldest_unsent_seconds",
            "Age of the oldest unsent event.",
            labels=["service"],
        )
        unacknowledged = GaugeMetricFamily(
            "hms_outbox_unacknowledged",
            "Events sent to a consumer and not yet acknowledged by it.",
            labels=["service", "consumer"],
        )
        oldest_unacknowledged = GaugeMetricFamily(
            "hms_outbox_oldest_unacknowledged_seconds",
            "Age of the oldest event a consumer has not acknowledged.",
            labels=["service", "consumer"],
        )
        dead = GaugeMetricFamily(
            "hms_dead_letters_pending", "Events a consumer could not apply.", labels=["service"]
        )
        for service in settings.HMS_SERVICE_DATABASES:
            status = bus_status(service)
            backlog.add_metric([service], status.outbox_backlog)
            age = status.oldest_unsent_age.total_seconds() if status.oldest_unsent_age else 0
            oldest.add_metric([service], age)
            dead.add_metric([service], status.dead_letters_pending)
            for lag in status.consumers:
                unacknowledged.add_metric([service, lag.consumer], lag.unacknowledged)
                oldest_unacknowledged.add_metric(
                    [service, lag.consumer], lag.oldest_unacknowledged_age.total_seconds()
                )
        yield from (backlog, oldest, unacknowledged, oldest_unacknowledged, dead)


def metrics_view(request):
    """`GET /metrics` of a data service: its samples, then the bus's gauges."""
    bus_registry = CollectorRegistry()
    if settings.HMS_SERVICE_DATABASES:
        bus_registry.register(BusCollector())
    return metrics_response(request, bus_registry)
