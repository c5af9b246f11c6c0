"""Prometheus metrics of a service: requests, events, outbox backlog and dead letters.

Under gunicorn several worker processes serve one service; with PROMETHEUS_MULTIPROC_DIR set
(hms/deploy/gunicorn.py sets it) every worker writes its samples there and `/metrics` adds them up.
https://prometheus.github.io/client_python/multiprocess/
"""

import os
import time

from django.conf import settings
from django.http import HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

REQUESTS = Counter(
    "hms_http_requests_total", "HTTP requests answered.", ["service", "route", "method", "status"]
)
REQUEST_SECONDS = Histogram(
    "hms_http_request_duration_seconds",
    "Time to answer an HTTP request.",
    ["service", "route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
EVENTS_PUBLISHED = Counter(
    "hms_events_published_total", "Events recorded in the outbox.", ["service", "event_type"]
)
BREAKER_STATE = Gauge(
    "hms_gateway_breaker_state",
    "Circuit breaker of each backend at the gateway: 0 closed, 1 half-open, 2 open.",
    ["backend"],
    multiprocess_mode="max",
)
EVENTS_CONSUMED = Counter(
    "hms_events_consumed_total",
    "Event deliveries processed by a consumer, by outcome.",
    ["service", "event_type", "outcome"],
)


def route_of(request) -> str:
    """The URL pattern (not the path), so ids do not explode the label's cardinality."""
    match = getattr(request, "resolver_match", None)
    return match.route if match and match.route else "unmatched"


class MetricsMiddleware:
    """Counts and times every request by route, method and status."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        route, service = route_of(request), settings.HMS_SERVICE
        REQUEST_SECONDS.labels(service, route, request.method).observe(
            time.perf_counter() - started
        )
        REQUESTS.labels(service, route, request.method, str(response.status_code)).inc()
        return response


class BusCollector:
    """Outbox backlog and pending dead letters, read from the service's database at scrape time."""

    def collect(self):
        from hms.bus.outbox import bus_status

        backlog = GaugeMetricFamily(
            "hms_outbox_backlog", "Events waiting to be relayed.", labels=["service"]
        )
        oldest = GaugeMetricFamily(
            "hms_outbox_oldest_unsent_seconds",
            "Age of the oldest unsent event.",
            labels=["service"],
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
        yield from (backlog, oldest, dead)


def metrics_view(request):
    """`GET /metrics` in Prometheus' text format."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        from prometheus_client import REGISTRY

        registry = REGISTRY
    output = generate_latest(registry)
    if settings.HMS_SERVICE_DATABASES:
        bus_registry = CollectorRegistry()
        bus_registry.register(BusCollector())
        output += generate_latest(bus_registry)
    return HttpResponse(output, content_type=CONTENT_TYPE_LATEST)
