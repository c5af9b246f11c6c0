import pytest
from prometheus_client.parser import text_string_to_metric_families

from hms.bus.outbox import publish
from hms.db import service_atomic
from hms.events.users import UserRegistered
from tests.platform.broker import FakeBroker

pytestmark = pytest.mark.django_db(databases="__all__")


def scrape(client) -> dict:
    response = client.get("/metrics")
    assert response.status_code == 200
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_requests_are_counted_by_route_pattern_and_status(api_client):
    api_client.get("/health")
    api_client.get("/no/such/page")

    samples = scrape(api_client)

    assert (
        samples[
            (
                "hms_http_requests_total",
                (("method", "GET"), ("route", "health"), ("service", "test"), ("status", "200")),
            )
        ]
        >= 1
    )
    assert (
        samples[
            (
                "hms_http_requests_total",
                (("method", "GET"), ("route", "unmatched"), ("service", "test"), ("status", "404")),
            )
        ]
        >= 1
    )


def test_outbox_backlog_and_published_events_are_exposed(
    api_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), service_atomic("users"):
        publish(
            UserRegistered(
                user_id=1, kind="individual", display_name="A", verification_status="unverified"
            )
        )

    samples = scrape(api_client)

    assert samples[("hms_outbox_backlog", (("service", "users"),))] == 1
    assert samples[("hms_outbox_backlog", (("service", "grants"),))] == 0
    assert samples[("hms_dead_letters_pending", (("service", "users"),))] == 0
    assert (
        samples[
            (
                "hms_events_published_total",
                (("event_type", "user.registered"), ("service", "users")),
            )
        ]
        >= 1
    )


def test_what_each_consumer_has_not_acknowledged_is_exposed(api_client, monkeypatch):
    from hms.bus import outbox

    FakeBroker().install(monkeypatch)
    with service_atomic("users"):
        publish(
            UserRegistered(
                user_id=1, kind="individual", display_name="A", verification_status="unverified"
            )
        )
    outbox.relay_outbox("users")

    samples = scrape(api_client)

    key = (("consumer", "grants"), ("service", "users"))
    assert samples[("hms_outbox_unacknowledged", key)] == 1
    assert samples[("hms_outbox_oldest_unacknowledged_seconds", key)] >= 0


# -- who may scrape ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("address", "headers", "status"),
    [
        ("127.0.0.1", {}, 200),
        ("10.0.3.7", {}, 200),  # Prometheus on the cluster's network
        ("::1", {}, 200),
        ("93.184.216.34", {}, 404),  # the internet
        ("10.0.3.7", {"X-Forwarded-For": "93.184.216.34"}, 404),  # relayed by the load balancer
        ("10.0.3.7", {"Forwarded": "for=93.184.216.34"}, 404),
    ],
)
def test_without_a_token_metrics_go_only_to_direct_private_callers(
    client, address, headers, status
):
    response = client.get("/metrics", REMOTE_ADDR=address, headers=headers)

    assert response.status_code == status


@pytest.mark.parametrize(
    ("authorization", "status"),
    [("Bearer scrape-secret-1", 200), ("Bearer wrong", 404), ("", 404), ("scrape-secret-1", 404)],
)
def test_with_a_token_metrics_go_only_to_whoever_presents_it(
    client, settings, authorization, status
):
    settings.METRICS_TOKEN = "scrape-secret-1"
    headers = {"Authorization": authorization} if authorization else {}

    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1", headers=headers)

    assert response.status_code == status


@pytest.mark.parametrize(
    ("method", "path", "authorization", "status"),
    [
        ("GET", "/metrics", "Bearer scrape-secret-1", 200),
        ("GET", "/metrics", "Bearer wrong", 404),
        ("GET", "/", "Bearer scrape-secret-1", 404),
        ("POST", "/metrics", "Bearer scrape-secret-1", 404),
    ],
)
def test_a_bus_workers_own_metrics_endpoint_keeps_the_services_rules(
    settings, method, path, authorization, status
):
    """hms/deploy/worker_metrics.py, as a WSGI call (tests/e2e/test_metrics.py scrapes a real
    worker): only `GET /metrics`, only to the scraper."""
    from wsgiref.util import setup_testing_defaults

    from hms.deploy.worker_metrics import metrics_app

    settings.METRICS_TOKEN = "scrape-secret-1"
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_AUTHORIZATION": authorization,
    }
    setup_testing_defaults(environ)
    started = []

    body = b"".join(metrics_app(environ, lambda status, headers: started.append(status)))

    assert started == [f"{status} {'OK' if status == 200 else 'Not Found'}"]
    assert (b"hms_events_consumed_total" in body) == (status == 200)
