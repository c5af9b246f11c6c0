"""The gateway against real services made slow or killed: latency, the breaker, the request id.

One private platform for the module (started once, about 20 s): Users and Grants answer 300 ms
late (a response delay injected by tests.faults), the gateway runs one process (so its one breaker is the one the test
trips) with a short breaker cool-down, and every data service writes a gunicorn access-log line
carrying the X-Request-ID it received, which is how "never reached a service" is checked.
"""

import json

import pytest

from tests.e2e.harness import start_platform, wait_until
from tests.e2e.test_gateway_status import call, expired_token, new_request_id, register_applicant
from tests.faults import RESPONSE_DELAY

BREAKER_COOLDOWN = 8
ACCESS_LOG = {
    "GUNICORN_CMD_ARGS": (
        "--access-logfile - "
        "--access-logformat 'access %(m)s %(U)s %(s)s request_id=%({x-request-id}i)s'"
    )
}

AUDITED_VIEW_REQUEST_IDS = """
import json
from hms.audit.models import AuditEntry
from hms.db import database_for
rows = AuditEntry.objects.using(database_for("grants")).filter(action="applications.view")
print(json.dumps([row.request_id for row in rows]))
"""


@pytest.fixture(scope="module")
def slow_platform(tmp_path_factory):
    running = start_platform(
        tmp_path_factory.mktemp("gateway-platform"),
        {
            "users": {RESPONSE_DELAY: "300", **ACCESS_LOG},
            "grants": {RESPONSE_DELAY: "300", **ACCESS_LOG},
            "finance": ACCESS_LOG,
            "gateway": {
                "WEB_CONCURRENCY": "1",
                "GATEWAY_BREAKER_FAILURES": "3",
                "GATEWAY_BREAKER_COOLDOWN": str(BREAKER_COOLDOWN),
            },
        },
    )
    yield running
    running.close()


@pytest.fixture(scope="module")
def applicant(slow_platform):
    return register_applicant(slow_platform)


def fastest(attempts: int, request) -> float:
    return min(request().elapsed for _ in range(attempts))


def test_status_latency_is_that_of_the_slowest_backend_not_the_sum(slow_platform, applicant):
    user_id, access = applicant
    platform = slow_platform
    call(platform, "GET", f"/status?user={user_id}", token=access)  # warm the connections

    users = fastest(
        3, lambda: call(platform, "GET", f"/users/{user_id}", token=access, service="users")
    )
    grants = fastest(
        3, lambda: call(platform, "GET", f"/grants?user={user_id}", token=access, service="grants")
    )
    status = fastest(3, lambda: call(platform, "GET", f"/status?user={user_id}", token=access))

    slowest = max(users, grants)
    assert min(users, grants) >= 0.3  # the delay is on
    assert status < 1.5 * slowest, (status, users, grants)
    assert status < users + grants, (status, users, grants)


def test_the_request_id_reaches_every_service_log_and_the_audit_trail(slow_platform, applicant):
    user_id, _access = applicant
    # A real account: the User Service refuses a token naming none.
    caseworker_id = slow_platform.shell(
        "users", "from tests.users import factories; print(factories.staff('caseworker').pk)"
    )
    caseworker = slow_platform.token(int(caseworker_id), role="caseworker", kind=None)
    request_id = new_request_id()

    reply = call(
        slow_platform, "GET", f"/status?user={user_id}", token=caseworker, request_id=request_id
    )

    assert reply.status == 200, reply.body
    assert reply.headers["x-request-id"] == request_id
    for service in ("users", "grants", "finance", "gateway"):
        wait_until(
            lambda service=service: request_id in slow_platform.log(service),
            timeout=10,
            message=f"{request_id} not in the {service} log",
        )
    audited = json.loads(slow_platform.shell("grants", AUDITED_VIEW_REQUEST_IDS))
    assert request_id in audited


def test_an_invalid_or_expired_token_never_reaches_a_service(slow_platform, applicant):
    user_id, access = applicant
    header, payload, signature = access.split(".")
    refused = {
        "expired": expired_token(slow_platform, user_id),
        "tampered": f"{header}.{payload[:-4]}AAAA.{signature}",
        "garbage": "not-a-token",
    }
    refused_ids = []
    for token in refused.values():
        for path in (f"/status?user={user_id}", "/api/v1/users/me", "/api/v1/grants/programs"):
            request_id = new_request_id()
            refused_ids.append(request_id)
            reply = call(slow_platform, "GET", path, token=token, request_id=request_id)
            assert reply.status == 401, (path, reply.body)
    # A valid call after them: once its id is in the services' logs, theirs would be too.
    control = new_request_id()
    assert (
        call(slow_platform, "GET", "/api/v1/users/me", token=access, request_id=control).status
        == 200
    )
    wait_until(lambda: control in slow_platform.log("users"), timeout=10)

    for service in ("users", "grants", "finance"):
        log = slow_platform.log(service)
        assert not [request_id for request_id in refused_ids if request_id in log], service
    assert all(request_id in slow_platform.log("gateway") for request_id in refused_ids)


def test_the_breaker_fails_fast_after_repeated_failures_and_closes_when_the_service_is_back(
    slow_platform, applicant
):
    _, access = applicant
    platform = slow_platform
    platform.kill("finance")
    try:
        failures = [call(platform, "GET", "/api/v1/finance/awards", token=access) for _ in range(5)]
        codes = [reply.body["code"] for reply in failures]
        assert codes[0] == "service_unavailable"
        assert codes[-2:] == ["circuit_open", "circuit_open"]
        assert all(reply.status == 503 for reply in failures)
    finally:
        platform.start("finance")

    # Finance is healthy again, but the breaker is still open: the call fails fast and finance
    # never sees it.
    assert call(platform, "GET", "/health", service="finance").status == 200
    fast_id = new_request_id()
    fast = call(platform, "GET", "/api/v1/finance/awards", token=access, request_id=fast_id)
    assert fast.status == 503
    assert (fast.body["code"], fast.body["status"], fast.body["service"]) == (
        "circuit_open",
        503,
        "finance",
    )
    assert 1 <= int(fast.headers["retry-after"]) <= BREAKER_COOLDOWN

    # After the cool-down a trial call goes through and closes the breaker.
    trial = wait_until(
        lambda: (
            (reply := call(platform, "GET", "/api/v1/finance/awards", token=access)).status == 200
            and reply
        ),
        timeout=BREAKER_COOLDOWN + 10,
        interval=0.5,
    )
    assert trial.status == 200
    assert call(platform, "GET", "/api/v1/finance/awards", token=access).status == 200
    assert fast_id not in platform.log("finance")
    assert "circuit for finance closed" in platform.log("gateway")
