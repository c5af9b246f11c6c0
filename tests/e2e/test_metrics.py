"""Each service, the gateway included, exposes Prometheus metrics an operator can scrape."""

import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.api import Gateway


def scrape(platform, service: str) -> dict:
    with urllib.request.urlopen(f"{platform.url(service)}/metrics", timeout=10) as response:
        text = response.read().decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((sample.labels, sample.value))
    return samples


def test_gateway_exposes_request_counts_and_breaker_states_across_its_workers(platform):
    gateway = Gateway(platform)
    for _ in range(6):
        assert gateway.get("/api/v1/grants/programs").status == 200
    gateway.get("/status?user=1", token=platform.token(1, "administrator", None))

    samples = scrape(platform, "gateway")

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
        samples = scrape(platform, service)
        assert any(labels["service"] == service for labels, _ in samples["hms_http_requests_total"])
        assert [
            value for labels, value in samples["hms_outbox_backlog"] if labels["service"] == service
        ]
        assert "hms_dead_letters_pending" in samples
