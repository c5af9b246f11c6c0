"""Calls to the services: retries for idempotent methods only, and the breaker in front of each."""

import asyncio

import pytest
from aiohttp import web

from gateway import state
from gateway.backends import BackendUnavailable, call_backend
from gateway.breaker import CLOSED, OPEN
from tests.gateway.fakes import FakeService, dead_url, gateway_client, run, running
from tests.identity import access_token_for
from tests.problems import problem


class Flaky:
    """Answers `status` until told otherwise."""

    def __init__(self, status: int):
        self.status = status

    async def __call__(self, request: web.Request) -> web.Response:
        return web.json_response({"status": self.status}, status=self.status)


class DropsFirstConnections:
    """Closes the connection without an answer the first `drops` times (a crashed worker)."""

    def __init__(self, drops: int):
        self.drops = drops

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        if self.drops:
            self.drops -= 1
            request.transport.close()
            raise web.HTTPInternalServerError
        return web.json_response({"ok": True})


@pytest.mark.parametrize(("method", "calls"), [("GET", 2), ("HEAD", 2), ("POST", 1), ("PATCH", 1)])
def test_only_idempotent_methods_are_retried_after_a_connection_error(gateway, method, calls):
    gateway.GATEWAY_RETRIES = 1
    handler = DropsFirstConnections(drops=1)
    grants = FakeService("grants", {("*", "/grants/x"): handler})

    async def scenario():
        async with running(gateway, grants):
            try:
                return (await call_backend("grants", method, "/grants/x")).status
            except BackendUnavailable as exc:
                return exc.status

    status = run(scenario())

    assert len(grants.requests) == calls
    assert status == (200 if calls == 2 else 502)


class BalancerWithNoReplica:
    """What nginx answers when no replica behind it is up: an HTML 502 page, not JSON."""

    def __init__(self, failures: int):
        self.failures = failures

    async def __call__(self, request: web.Request) -> web.Response:
        if self.failures:
            self.failures -= 1
            return web.Response(
                status=502, text="<html>502 Bad Gateway</html>", content_type="text/html"
            )
        return web.json_response({"ok": True})


@pytest.mark.parametrize(("method", "calls", "status"), [("GET", 2, 200), ("POST", 1, 503)])
def test_a_balancer_s_page_is_treated_as_an_unreachable_service(gateway, method, calls, status):
    gateway.GATEWAY_RETRIES = 1
    grants = FakeService("grants", {("*", "/grants/x"): BalancerWithNoReplica(failures=1)})

    async def scenario():
        async with running(gateway, grants):
            try:
                return (await call_backend("grants", method, "/grants/x")).status, None
            except BackendUnavailable as exc:
                return exc.status, exc.code

    answered, code = run(scenario())

    assert len(grants.requests) == calls
    assert answered == status
    assert code == (None if status == 200 else "service_unavailable")


def test_a_service_s_own_json_5xx_is_passed_on_as_it_is(gateway):
    grants = FakeService("grants", {("GET", "/grants/x"): Flaky(503)})

    async def scenario():
        async with running(gateway, grants):
            return await call_backend("grants", "GET", "/grants/x")

    answer = run(scenario())

    assert (answer.status, len(grants.requests)) == (503, 1)
    assert answer.json() == {"status": 503}


def test_retries_are_bounded(gateway):
    gateway.GATEWAY_RETRIES = 2
    gateway.GATEWAY_BREAKER_FAILURES = 100
    grants = FakeService("grants", {("GET", "/grants"): DropsFirstConnections(drops=10)})

    async def scenario():
        async with running(gateway, grants):
            with pytest.raises(BackendUnavailable):
                await call_backend("grants", "GET", "/grants")

    run(scenario())

    assert len(grants.requests) == 3


def test_a_timeout_is_not_retried(gateway):
    gateway.GATEWAY_TIMEOUTS = {**gateway.GATEWAY_TIMEOUTS, "grants": (1.0, 0.1)}

    async def slow(request):
        await asyncio.sleep(1)
        return web.json_response({})

    grants = FakeService("grants", {("GET", "/grants"): slow})

    async def scenario():
        async with running(gateway, grants):
            with pytest.raises(BackendUnavailable) as raised:
                await call_backend("grants", "GET", "/grants")
            return raised.value

    error = run(scenario())

    assert (error.status, error.code) == (504, "gateway_timeout")
    assert len(grants.requests) == 1


def test_the_breaker_opens_after_repeated_failures_and_then_fails_fast_without_calling(gateway):
    gateway.GATEWAY_BREAKER_FAILURES = 3
    gateway.GATEWAY_BREAKER_COOLDOWN = 30
    grants = FakeService("grants", {("GET", "/grants"): Flaky(503)})
    token = {"Authorization": f"Bearer {access_token_for(4)}"}

    async def scenario():
        async with running(gateway, grants):
            client = gateway_client()
            return [await client.get("/api/v1/grants", headers=token) for _ in range(5)]

    responses = run(scenario())

    assert [response.status_code for response in responses] == [503] * 5
    assert len(grants.requests) == 3  # the last two never reached the service
    assert problem(responses[3])["code"] == "circuit_open"
    assert problem(responses[3])["service"] == "grants"
    assert 1 <= int(responses[3]["Retry-After"]) <= 30
    assert state.current().breaker_for("grants").state == OPEN


def test_the_breaker_closes_when_the_service_is_back_after_the_cooldown(gateway):
    gateway.GATEWAY_BREAKER_FAILURES = 2
    gateway.GATEWAY_BREAKER_COOLDOWN = 0.3
    flaky = Flaky(503)
    grants = FakeService("grants", {("GET", "/grants"): flaky})
    token = {"Authorization": f"Bearer {access_token_for(4)}"}

    async def scenario():
        async with running(gateway, grants):
            client = gateway_client()
            for _ in range(2):
                await client.get("/api/v1/grants", headers=token)
            flaky.status = 200
            still_open = await client.get("/api/v1/grants", headers=token)
            await asyncio.sleep(0.35)
            trial = await client.get("/api/v1/grants", headers=token)
            after = await client.get("/api/v1/grants", headers=token)
            return still_open, trial, after

    still_open, trial, after = run(scenario())

    assert problem(still_open)["code"] == "circuit_open"
    assert (trial.status_code, after.status_code) == (200, 200)
    assert state.current().breaker_for("grants").state == CLOSED
    assert len(grants.requests) == 4


def test_a_dead_service_opens_its_breaker_and_only_its_own(gateway):
    gateway.GATEWAY_BREAKER_FAILURES = 2
    gateway.GATEWAY_BREAKER_COOLDOWN = 30  # no trial call within the test
    gateway.FINANCE_SERVICE_URL = dead_url()
    users = FakeService("users", {("GET", "/users/me"): Flaky(200)})
    token = {"Authorization": f"Bearer {access_token_for(4)}"}

    async def scenario():
        async with running(gateway, users):
            client = gateway_client()
            finance = [await client.get("/api/v1/finance/awards", headers=token) for _ in range(3)]
            return finance, await client.get("/api/v1/users/me", headers=token)

    finance, user = run(scenario())

    assert [problem(response)["code"] for response in finance] == [
        "service_unavailable",
        "circuit_open",
        "circuit_open",
    ]
    assert user.status_code == 200
    assert state.current().breaker_for("users").state == CLOSED


def test_a_client_error_answer_does_not_count_against_the_breaker(gateway):
    gateway.GATEWAY_BREAKER_FAILURES = 2
    grants = FakeService("grants", {("GET", "/grants"): Flaky(404)})

    async def scenario():
        async with running(gateway, grants):
            return [(await call_backend("grants", "GET", "/grants")).status for _ in range(4)]

    assert run(scenario()) == [404] * 4
    assert state.current().breaker_for("grants").state == CLOSED
