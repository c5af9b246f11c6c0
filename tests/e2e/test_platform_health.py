"""The skeleton: every service is up, healthy and ready, and the gateway reaches all three."""

import json
import os
import signal
import time
import urllib.request

import pytest

from hms.deploy import heartbeat


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
    expected = {"database:default": "ok", "broker": "ok"}
    if service == "users":  # it signs tokens: it needs a key to sign with (hms.keys)
        expected["signing_key"] = "ok"
    assert body["checks"] == expected


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


def heartbeat_fresh(platform, name: str, max_age: float) -> bool:
    age = heartbeat.age_seconds(platform.heartbeat_file(name))
    return age is not None and age <= max_age


def test_relays_and_workers_beat_and_a_hung_worker_stops_beating(platform):
    silent = [
        name
        for name in platform.processes
        if ("relay" in name or "worker" in name) and platform.processes[name].running
    ]
    assert len(silent) >= 6  # a relay and a worker per data service
    deadline = time.monotonic() + 10
    while not all(heartbeat_fresh(platform, name, 5) for name in silent):
        assert time.monotonic() < deadline, [
            name for name in silent if not heartbeat_fresh(platform, name, 5)
        ]
        time.sleep(0.5)

    # A worker whose loop hangs (here: stopped by SIGSTOP) stops beating: its liveness probe
    # (`python -m hms.deploy.heartbeat --max-age N`) would fail and the orchestrator restart it.
    worker = next(name for name in silent if name.startswith("users-worker"))
    group = os.getpgid(platform.processes[worker].popen.pid)
    os.killpg(group, signal.SIGSTOP)
    try:
        time.sleep(3.5)
        assert not heartbeat_fresh(platform, worker, 2.5)
    finally:
        os.killpg(group, signal.SIGCONT)
    deadline = time.monotonic() + 10
    while not heartbeat_fresh(platform, worker, 2):
        assert time.monotonic() < deadline, "the worker did not beat again after SIGCONT"
        time.sleep(0.25)
