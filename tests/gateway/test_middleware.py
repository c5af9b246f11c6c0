"""Every request has an id: kept when the client's is valid, and on every log line it causes."""

import logging

from hms.logging import ContextFilter
from tests.gateway.fakes import FakeService, gateway_client, json_answer, run, running
from tests.identity import access_token_for


class Capture(logging.Handler):
    def __init__(self):
        super().__init__()
        self.addFilter(ContextFilter())
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_every_log_line_of_a_request_carries_its_id_even_djangos_own(gateway):
    capture = Capture()
    loggers = [logging.getLogger(name) for name in ("gateway", "django.request")]
    for logger in loggers:
        logger.addHandler(capture)
    grants = FakeService("grants", {("GET", "/grants"): json_answer({"error": {}}, status=503)})
    token = {"Authorization": f"Bearer {access_token_for(4)}"}

    async def scenario():
        async with running(gateway, grants):
            return await gateway_client().get(
                "/api/v1/grants", headers={**token, "X-Request-ID": "trace-me-0001"}
            )

    try:
        response = run(scenario())
    finally:
        for logger in loggers:
            logger.removeHandler(capture)

    assert response.status_code == 503
    assert response["X-Request-ID"] == "trace-me-0001"
    names = {record.name for record in capture.records}
    assert {"gateway.access", "django.request"} <= names
    assert {record.request_id for record in capture.records} == {"trace-me-0001"}


def test_a_request_without_an_id_gets_a_new_one(gateway):
    first = run(gateway_client().get("/health"))
    second = run(gateway_client().get("/health"))

    assert len(first["X-Request-ID"]) == 36
    assert first["X-Request-ID"] != second["X-Request-ID"]


def test_the_gateways_answers_carry_the_basic_security_headers(gateway):
    response = run(gateway_client().get("/docs"))

    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"


def test_the_gateway_does_not_show_its_metrics_to_a_request_its_load_balancer_relayed(gateway):
    relayed = run(
        gateway_client("10.0.0.2").get("/metrics", headers={"X-Forwarded-For": "93.184.216.34"})
    )
    from_the_internet = run(gateway_client("93.184.216.34").get("/metrics"))
    direct = run(gateway_client("10.0.0.2").get("/metrics"))

    assert (relayed.status_code, from_the_internet.status_code, direct.status_code) == (
        404,
        404,
        200,
    )
    assert b"hms_http_requests_total" in direct.content
