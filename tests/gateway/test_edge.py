"""At the edge: tokens are checked before anything is forwarded; clients are rate limited."""

import time
import uuid

import pytest

from gateway import state
from tests.gateway.fakes import FakeService, gateway_client, json_answer, run, running
from tests.identity import access_token_for
from tests.keys import own
from tests.problems import problem


def expired_token() -> str:
    now = int(time.time())
    claims = {"token_type": "access", "exp": now - 10, "iat": now - 100, "user_id": 4}
    claims |= {"role": "applicant", "iss": "hms-users", "aud": "hms"}
    return own().sign(claims)


def any_route_service(name: str) -> FakeService:
    return FakeService(name, {("*", "/{tail:.*}"): json_answer({"ok": True})})


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/api/v1/users/me"),
        ("get", "/api/v1/grants"),
        ("post", "/api/v1/grants/applications"),
        ("get", "/api/v1/finance/awards"),
        ("get", "/status?user=4"),
    ],
)
def test_a_protected_route_without_a_token_is_401_and_not_forwarded(gateway, method, url):
    fakes = [any_route_service(name) for name in ("users", "grants", "finance")]

    async def scenario():
        async with running(gateway, *fakes):
            return await getattr(gateway_client(), method)(url)

    response = run(scenario())

    assert response.status_code == 401
    assert problem(response)["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == 'Bearer realm="hms"'
    assert not any(fake.requests for fake in fakes)


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer not-a-token",
        "Basic dXNlcjpwYXNz",
        f"Bearer {access_token_for(4)}x",
    ],
)
def test_an_invalid_token_is_401_even_on_a_public_route(gateway, authorization):
    grants = any_route_service("grants")

    async def scenario():
        async with running(gateway, grants):
            return [
                await gateway_client().get(url, headers={"Authorization": authorization})
                for url in ("/api/v1/grants/programs", "/api/v1/grants")
            ]

    responses = run(scenario())

    assert [response.status_code for response in responses] == [401, 401]
    assert problem(responses[0])["code"] == "token_not_valid"
    assert grants.requests == []


def test_an_expired_token_never_reaches_a_service(gateway):
    users = any_route_service("users")

    async def scenario():
        async with running(gateway, users):
            return await gateway_client().get(
                "/api/v1/users/me", headers={"Authorization": f"Bearer {expired_token()}"}
            )

    response = run(scenario())

    assert response.status_code == 401
    assert problem(response)["detail"] == "Token has expired."
    assert users.requests == []


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("post", "/api/v1/users/register"),
        ("post", "/api/v1/users/token"),
        ("post", "/api/v1/users/token/refresh"),
        ("get", "/api/v1/grants/programs"),
        ("get", "/api/v1/grants/programs/GREEN-2027"),
    ],
)
def test_public_routes_are_forwarded_without_a_token(gateway, method, url):
    fakes = [any_route_service(name) for name in ("users", "grants")]

    async def scenario():
        async with running(gateway, *fakes):
            return await getattr(gateway_client(), method)(url)

    response = run(scenario())

    assert response.status_code == 200
    assert sum(len(fake.requests) for fake in fakes) == 1


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/api/v1/users/register"),
        ("post", "/api/v1/grants/programs"),
        ("get", "/api/v1/grants/programs/GREEN-2027/rounds"),
        ("get", "/api/v1/grants/programs/../applications"),
    ],
)
def test_only_the_listed_method_and_path_make_a_route_public(gateway, method, url):
    response = run(getattr(gateway_client(), method)(url))

    assert response.status_code == 401


def test_a_client_over_its_rate_gets_429_with_retry_after(gateway):
    gateway.GATEWAY_RATE_LIMITS = {**gateway.GATEWAY_RATE_LIMITS, "grants": "1/min"}
    gateway.GATEWAY_RATE_LIMIT_BURST = 2
    grants = any_route_service("grants")
    token = {"Authorization": f"Bearer {access_token_for(4)}"}
    other = {"Authorization": f"Bearer {access_token_for(5)}"}

    async def scenario():
        async with running(gateway, grants):
            client = gateway_client()
            statuses = [(await client.get("/api/v1/grants", headers=token)) for _ in range(3)]
            return statuses, await client.get("/api/v1/grants", headers=other)

    responses, other_client = run(scenario())

    assert [response.status_code for response in responses] == [200, 200, 429]
    assert problem(responses[2])["code"] == "rate_limited"
    assert 1 <= int(responses[2]["Retry-After"]) <= 60
    assert other_client.status_code == 200
    assert len(grants.requests) == 3


def test_with_redis_the_limit_holds_across_gateway_processes(gateway, redis_url):
    gateway.GATEWAY_RATE_LIMITS = {**gateway.GATEWAY_RATE_LIMITS, "grants": "1/min"}
    gateway.GATEWAY_RATE_LIMIT_BURST = 2
    gateway.GATEWAY_RATE_LIMIT_REDIS_URL = redis_url
    grants = any_route_service("grants")
    user_id = 700_000 + uuid.uuid4().int % 100_000  # a bucket no earlier run left in Redis
    token = {"Authorization": f"Bearer {access_token_for(user_id)}"}

    async def one_request_per_process(processes: int):
        statuses = []
        async with running(gateway, grants):
            for _ in range(processes):
                state.restart()  # the next gateway worker: nothing of the last one in memory
                statuses.append(
                    (await gateway_client().get("/api/v1/grants", headers=token)).status_code
                )
                await state.current().close()
        return statuses

    assert run(one_request_per_process(3)) == [200, 200, 429]


def test_anonymous_clients_are_limited_by_address(gateway):
    gateway.GATEWAY_RATE_LIMITS = {**gateway.GATEWAY_RATE_LIMITS, "grants": "1/min"}
    gateway.GATEWAY_RATE_LIMIT_BURST = 1
    grants = any_route_service("grants")

    async def scenario():
        async with running(gateway, grants):
            url = "/api/v1/grants/programs"
            return [
                (await gateway_client("10.0.0.1").get(url)).status_code,
                (await gateway_client("10.0.0.1").get(url)).status_code,
                (await gateway_client("10.0.0.2").get(url)).status_code,
            ]

    assert run(scenario()) == [200, 429, 200]


def test_route_groups_have_separate_buckets(gateway):
    gateway.GATEWAY_RATE_LIMIT_BURST = 1
    gateway.GATEWAY_RATE_LIMITS = dict.fromkeys(gateway.GATEWAY_RATE_LIMITS, "1/min")
    fakes = [any_route_service(name) for name in ("users", "grants")]
    token = {"Authorization": f"Bearer {access_token_for(4)}"}

    async def scenario():
        async with running(gateway, *fakes):
            client = gateway_client()
            return [
                (await client.get("/api/v1/users/me", headers=token)).status_code,
                (await client.get("/api/v1/grants", headers=token)).status_code,
                (await client.get("/api/v1/users/me", headers=token)).status_code,
            ]

    assert run(scenario()) == [200, 200, 429]


def test_health_is_never_rate_limited_nor_authenticated(gateway):
    gateway.GATEWAY_RATE_LIMIT = "1/min"
    gateway.GATEWAY_RATE_LIMIT_BURST = 1

    async def scenario():
        return [(await gateway_client().get("/health")).status_code for _ in range(5)]

    assert run(scenario()) == [200] * 5
