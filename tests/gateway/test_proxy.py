"""Forwarding /api/<service>/... to the owning service, and the headers that cross."""

import json

import pytest
from aiohttp import web
from multidict import CIMultiDict

from gateway.proxy import forwardable_request_headers, returnable_response_headers
from tests.gateway.fakes import FakeService, dead_url, gateway_client, json_answer, run, running
from tests.identity import access_token_for
from tests.problems import problem


def bearer(user_id: int = 4, role: str = "applicant") -> dict:
    return {"Authorization": f"Bearer {access_token_for(user_id, role, 'individual')}"}


def test_hop_by_hop_and_gateway_owned_request_headers_are_dropped():
    headers = {
        "Host": "gateway.example",
        "Connection": "keep-alive, X-Secret-Hop",
        "Keep-Alive": "timeout=5",
        "Transfer-Encoding": "chunked",
        "Upgrade": "websocket",
        "Proxy-Authorization": "Basic abc",
        "TE": "trailers",
        "X-Secret-Hop": "1",
        "Content-Length": "12",
        "Cookie": "sessionid=abc",
        "X-Request-ID": "spoofed-by-the-client",
        "X-Forwarded-For": "6.6.6.6",
        "Authorization": "Bearer t",
        "Content-Type": "application/json",
        "Accept": "application/json",
        "If-Match": '"v1"',
    }

    forwarded = forwardable_request_headers(
        headers, request_id="req-12345678", client_ip="10.0.0.7", scheme="https"
    )

    assert forwarded == {
        "Authorization": "Bearer t",
        "Content-Type": "application/json",
        "Accept": "application/json",
        "If-Match": '"v1"',
        "X-Request-ID": "req-12345678",
        "X-Forwarded-For": "10.0.0.7",
        "X-Forwarded-Proto": "https",
    }


def test_hop_by_hop_response_headers_are_dropped_and_repeated_ones_joined():
    headers = CIMultiDict(
        [
            ("Content-Type", "application/json"),
            ("Content-Length", "10"),
            ("Connection", "close"),
            ("Transfer-Encoding", "chunked"),
            ("Server", "gunicorn"),
            ("Date", "today"),
            ("Set-Cookie", "a=b"),
            ("Vary", "Accept"),
            ("Vary", "Authorization"),
            ("Allow", "GET, POST"),
            ("ETag", '"v2"'),
        ]
    )

    assert dict(returnable_response_headers(headers)) == {
        "Content-Type": "application/json",
        "Vary": "Accept, Authorization",
        "Allow": "GET, POST",
        "ETag": '"v2"',
    }


def echo(status: int = 201):
    async def handler(request: web.Request) -> web.Response:
        return web.json_response(
            {
                "method": request.method,
                "path": request.path,
                "query": request.rel_url.raw_query_string,
                "headers": dict(request.headers),
                "body": (await request.read()).decode(),
            },
            status=status,
            headers={"X-Service-Header": "kept", "Connection": "close"},
        )

    return handler


def test_a_request_is_forwarded_with_method_path_query_body_and_headers(gateway):
    grants = FakeService("grants", {("*", "/{tail:.*}"): echo(status=201)})
    authorization = bearer()

    async def scenario():
        async with running(gateway, grants):
            return await gateway_client("10.1.2.3").post(
                "/api/v1/grants/applications/7/submit?dry=1&x=a%20b",
                data=json.dumps({"note": "hi"}),
                content_type="application/json",
                headers={**authorization, "X-Request-ID": "client-chosen-id-1", "Cookie": "a=b"},
            )

    response = run(scenario())

    assert response.status_code == 201
    body = response.json()
    assert body["method"] == "POST"
    assert body["path"] == "/grants/applications/7/submit"
    assert body["query"] == "dry=1&x=a%20b"
    assert body["body"] == '{"note": "hi"}'
    assert body["headers"]["Authorization"] == authorization["Authorization"]
    assert body["headers"]["X-Request-ID"] == "client-chosen-id-1"
    assert body["headers"]["X-Forwarded-For"] == "10.1.2.3"
    assert "Cookie" not in body["headers"]
    assert response["X-Request-ID"] == "client-chosen-id-1"
    assert response["X-Service-Header"] == "kept"
    assert "Connection" not in response
    assert response["Content-Type"] == "application/json; charset=utf-8"


@pytest.mark.parametrize(
    ("url", "service_path"),
    [
        ("/api/v1/grants", "/grants"),
        ("/api/v1/users/me", "/users/me"),
        ("/api/v1/finance/awards/3", "/finance/awards/3"),
        ("/api/v1/users", "/users"),
    ],
)
def test_each_prefix_maps_to_its_service_path(gateway, url, service_path):
    fakes = [
        FakeService(name, {("*", "/{tail:.*}"): echo(status=200)})
        for name in ("users", "grants", "finance")
    ]

    async def scenario():
        async with running(gateway, *fakes):
            return await gateway_client().get(url, headers=bearer())

    response = run(scenario())

    assert response.json()["path"] == service_path
    asked = [fake.name for fake in fakes if fake.requests]
    assert asked == [service_path.split("/")[1]]


def test_an_unknown_prefix_is_a_json_404(gateway):
    response = run(gateway_client().get("/api/v1/payments/1", headers=bearer()))

    assert response.status_code == 404
    assert problem(response)["code"] == "not_found"


def test_the_services_status_and_body_come_back_as_they_are(gateway):
    error = {"error": {"code": "not_found", "message": "No such application.", "fields": {}}}
    grants = FakeService("grants", {("GET", "/grants/applications/9"): json_answer(error, 404)})

    async def scenario():
        async with running(gateway, grants):
            return await gateway_client().get("/api/v1/grants/applications/9", headers=bearer())

    response = run(scenario())

    assert response.status_code == 404
    assert response.json() == error


def test_an_invalid_client_request_id_is_replaced_and_the_new_one_forwarded(gateway):
    users = FakeService("users", {("GET", "/users/me"): echo(status=200)})

    async def scenario():
        async with running(gateway, users):
            return await gateway_client().get(
                "/api/v1/users/me", headers={**bearer(), "X-Request-ID": "bad id!"}
            )

    response = run(scenario())

    request_id = response["X-Request-ID"]
    assert request_id != "bad id!"
    assert response.json()["headers"]["X-Request-ID"] == request_id


def test_a_dead_service_gets_a_json_error_naming_it(gateway):
    gateway.FINANCE_SERVICE_URL = dead_url()

    response = run(gateway_client().get("/api/v1/finance/awards", headers=bearer()))

    assert response.status_code == 503
    error = problem(response)
    assert (error["code"], error["detail"], error["service"]) == (
        "service_unavailable",
        "The finance service is unavailable.",
        "finance",
    )
    assert error["instance"] == "/api/v1/finance/awards"
    assert response["Retry-After"] == "1"


def test_a_slow_service_gets_a_504_naming_it(gateway):
    gateway.GATEWAY_TIMEOUTS = {**gateway.GATEWAY_TIMEOUTS, "grants": (1.0, 0.2)}
    grants = FakeService("grants", {("GET", "/grants"): json_answer({}, delay=1.0)})

    async def scenario():
        async with running(gateway, grants):
            return await gateway_client().get("/api/v1/grants", headers=bearer())

    response = run(scenario())

    assert response.status_code == 504
    assert problem(response)["code"] == "gateway_timeout"
    assert problem(response)["service"] == "grants"
