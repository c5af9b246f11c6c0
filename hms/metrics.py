"""The Prometheus metrics every service defines (a leaf: it imports nothing of HMS).

What records them lives with what is measured (`hms.middleware`, the bus, the gateway's
breakers); the bus's own gauges are collected at scrape time by `hms.bus.metrics`.

Under gunicorn several worker processes serve one service; with PROMETHEUS_MULTIPROC_DIR set
(hms/deploy/gunicorn.py sets it) every worker writes its samples there and `/metrics` adds them up.
https://prometheus.github.io/client_python/multiprocess/
"""

import hmac
import ipaddress
import os

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
# The bus's latency as an operator watches it (its p99 at a steady rate is what `make bench`
# measures, bench/README.md figure 3): from when the producer recorded the event, by its clock,
# to the consumer's commit of it. Hosts' clocks are assumed in step (NTP), as logs' are.
EVENT_DELIVERY_SECONDS = Histogram(
    "hms_event_delivery_seconds",
    "From an event's recording by its producer to a consumer applying it, for events applied.",
    ["service", "event_type"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)


def route_of(request) -> str:
    """The URL pattern (not the path), so ids do not explode the label's cardinality."""
    match = getattr(request, "resolver_match", None)
    if match is None or not match.route or match.url_name == "not-found":
        return "unmatched"
    return match.route


def metrics_response(request, *extra: CollectorRegistry) -> HttpResponse:
    """Every sample of this service (summed across worker processes), then `extra`'s: to the
    scraper only (`metrics_allowed`)."""
    if not metrics_allowed(request):
        # As if there were no such page: the gateway's port is public, and what it would show
        # (routes, error counts, breaker states) is a map for an attacker.
        return HttpResponse(status=404)
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
    return metrics_response(request)


def metrics_allowed(request) -> bool:
    """With METRICS_TOKEN set, only a request carrying `Authorization: Bearer <METRICS_TOKEN>`.
    Without it, only a request made straight from this host or a private network: never one a
    proxy or load balancer relayed (it says so with X-Forwarded-For or Forwarded), since that
    may come from anywhere."""
    token = getattr(settings, "METRICS_TOKEN", "")
    if token:
        presented = request.headers.get("Authorization", "")
        return hmac.compare_digest(presented.encode(), f"Bearer {token}".encode())
    if "X-Forwarded-For" in request.headers or "Forwarded" in request.headers:
        return False
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return address.is_loopback or address.is_private
