"""The skeleton: every service is up, healthy and ready, and the gateway reaches all three."""

import json
import urllib.request

import pytest


def get_json(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.mark.parametrize("service", ["users", "grants", "finance", "gateway"])
def test_each_service_answers_liveness(platform, service):
    status, body = get_json(f"{platform.url(service)}/health")

    assert status == 200
    assert body == {"status": "ok", "service": service}


@pytest.mark.parametrize("service", ["users", "grants", "finance"])
def test_each_data_service_is_ready_with_its_database_and_the_broker(platform, service):
    status, body = get_json(f"{platform.url(service)}/health/ready")

    assert status == 200
    assert body["checks"] == {"database:default": "ok", "broker": "ok"}


def test_gateway_is_ready_when_it_reaches_all_three_services(platform):
    status, body = get_json(f"{platform.url('gateway')}/health/ready")

    assert status == 200
    assert body["checks"] == {"users": "ok", "grants": "ok", "finance": "ok"}


def test_gateway_readiness_names_a_stopped_service(platform):
    platform.stop("finance")
    try:
        status, body = get_json(f"{platform.url('gateway')}/health/ready")
    finally:
        platform.start("finance")

    assert status == 503
    assert body["checks"]["finance"].startswith("unreachable")
    assert body["checks"]["users"] == "ok"
