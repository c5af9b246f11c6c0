"""Each service, the gateway included, exposes Prometheus metrics an operator can scrape."""

import urllib.error
import urllib.request

import pytest

from tests.e2e.api import Gateway
from tests.e2e.harness import wait_until
from tests.e2e.test_workflow import register_business


def test_gateway_exposes_request_counts_and_breaker_states_across_its_workers(platform):
    gateway = Gateway(platform)
    for _ in range(6):
        assert gateway.get("/api/v1/grants/programs").status == 200
    gateway.get("/status?user=1", token=platform.token(1, "administrator", None))

    samples = platform.metrics("gateway")

    forwarded = [
        value
        for labels, value in samples["hms_http_requests_total"]
        if labels["service"] == "gateway" and labels["status"] == "200" and "api" in labels["route"]
    ]
    assert sum(forwarded) >= 6
    states = {labels["backend"]: value for labels, value in samples["hms_gateway_breaker_state"]}
    assert states["users"] == 0 and states["grants"] == 0


def test_data_services_expose_requests_events_and_the_outbox(platform):
    for service in ("users", "grants", "finance"):
        samples = platform.metrics(service)
        assert any(labels["service"] == service for labels, _ in samples["hms_http_requests_total"])
        assert [
            value for labels, value in samples["hms_outbox_backlog"] if labels["service"] == service
        ]
        assert "hms_dead_letters_pending" in samples


def test_each_bus_worker_exposes_what_it_applied_and_how_long_after_it_was_recorded(platform):
    """A service's events are applied in its workers, which may run on other machines than its
    web processes: each worker answers /metrics itself (WORKER_METRICS_PORT), to the scraper
    only, as the services do."""
    register_business(Gateway(platform))  # user.registered, which Grants applies
    registered = {"service": "grants", "event_type": "user.registered"}

    def applied() -> dict | None:
        samples = platform.metrics("grants-worker")
        arrivals = [
            value
            for labels, value in samples.get("hms_event_delivery_seconds_count", [])
            if labels == registered
        ]
        return samples if arrivals and arrivals[0] >= 1 else None

    samples = wait_until(applied, timeout=30, message="the Grants worker's metrics")

    consumed = {
        labels["outcome"]: value
        for labels, value in samples["hms_events_consumed_total"]
        if labels["service"] == "grants" and labels["event_type"] == "user.registered"
    }
    assert consumed["handled"] >= 1
    # The time from Users recording it to Grants applying it: a few seconds at most here.
    waited = [
        value for labels, value in samples["hms_event_delivery_seconds_sum"] if labels == registered
    ]
    assert 0 <= waited[0] < 30
    # Through a proxy (X-Forwarded-For), as a request from anywhere: refused, as at a service.
    relayed = urllib.request.Request(
        f"{platform.url('grants-worker')}/metrics", headers={"X-Forwarded-For": "203.0.113.9"}
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(relayed, timeout=10)
    assert refused.value.code == 404
