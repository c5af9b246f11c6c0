"""The Prometheus metrics every service defines (a leaf: it imports nothing of HMS).

What records them lives with what is measured (`hms.middleware`, the bus, the gateway's
breakers); the bus's own gauges are collected at scrape time by `hms.bus.metrics`.

Under gunicorn several worker processes serve one service; with PROMETHEUS_MULTIPROC_DIR set
(hms/deploy/gunicorn.py sets it) every worker writes its samples there and `/metrics` adds them up.
https://prometheus.github.io/client_python/multiprocess/
"""

import os

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
    if match is None or not match.route or match.url_name == "not-found":
        return "unmatched"
    return match.route


def metrics_response(*extra: CollectorRegistry) -> HttpResponse:
    """Every sample of this service (summed across worker processes), then `extra`'s."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        from prometheus_client import REGISTRY

        registry = REGISTRY
    output = generate_latest(registry) + b"".join(generate_latest(other) for other in extra)
    return HttpResponse(output, content_type=CONTENT_TYPE_LATEST)


def metrics_view(request):
    """`GET /metrics` in Prometheus' text format."""
    return metrics_response()
