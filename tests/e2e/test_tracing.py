"""Tracing, switched on by environment variables, follows one request across HTTP and the bus."""

import json
import secrets
import urllib.request

import pytest

from tests.e2e.harness import wait_until


@pytest.fixture(scope="module")
def traced_platform(tmp_path_factory):
    from tests.e2e.harness import start_platform

    running = start_platform(
        tmp_path_factory.mktemp("traced"),
        {"*": {"OTEL_ENABLED": "true", "OTEL_TRACES_EXPORTER": "console"}},
    )
    yield running
    running.close()


def spans_in(log: str, trace_id: str) -> list[dict]:
    spans = []
    for line in log.splitlines():
        if line.startswith("{") and trace_id in line and '"context"' in line:
            spans.append(json.loads(line))
    return spans


def test_one_trace_covers_the_http_request_and_the_event_it_causes(traced_platform):
    trace_id = secrets.token_hex(16)
    body = {
        "kind": "individual",
        "legal_name": "Trace Person",
        "email": f"trace-{trace_id[:8]}@example.com",
        "password": "a-long-unusual-passphrase-42",
        "phone": "+1 202 555 0143",
        "address_line1": "1 Main St",
        "city": "Springfield",
        "state": "IL",
        "zip_code": "62701",
    }
    request = urllib.request.Request(
        f"{traced_platform.url('users')}/users/register",
        data=json.dumps(body).encode(),
        headers={
            "Content-Type": "application/json",
            "traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01",
        },
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201

    worker_spans = wait_until(
        lambda: spans_in(traced_platform.log("grants-worker"), trace_id), timeout=30
    )
    web_spans = spans_in(traced_platform.log("users"), trace_id)

    assert any(span["kind"] == "SpanKind.SERVER" for span in web_spans)
    assert any("hms.bus.deliver" in span["name"] for span in worker_spans)
    assert {
        span["resource"]["attributes"]["service.name"] for span in web_spans + worker_spans
    } == {
        "hms-users",
        "hms-grants",
    }


def test_tracing_is_off_by_default(platform):
    urllib.request.urlopen(f"{platform.url('users')}/health", timeout=5).close()

    assert '"trace_id"' not in platform.log("users")
