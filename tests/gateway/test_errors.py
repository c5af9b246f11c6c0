"""Every answer the gateway makes itself, when it is an error, is a problem document, DEBUG or
not; and the unversioned routes of the first releases answer as v1, announcing their sunset."""

import json

import pytest

from tests.gateway.fakes import FakeService, gateway_client, json_answer, run, running
from tests.identity import Bearer
from tests.problems import problem

TOKEN = Bearer(4, "applicant", "individual", name="Authorization")
TWO_MEGABYTES = json.dumps({"legal_name": "x" * 2_000_000})

BAD_REQUESTS = [
    ("no such route", "get", "/nope", None, {}, 404, "not_found"),
    ("no such service", "get", "/api/v1/nope/x", None, {}, 404, "not_found"),
    ("no such service, unversioned", "get", "/api/nope/x", None, {}, 404, "not_found"),
    ("no such version", "get", "/api/v9/grants/programs", None, {}, 404, "not_found"),
    ("NUL as a path segment", "get", "/api/v1/grants/programs/%00", None, {}, 400, "bad_request"),
    ("NUL inside a segment", "get", "/api/v1/grants/programs/1%00", None, {}, 400, "bad_request"),
    (
        "a control character in the query",
        "get",
        "/api/v1/grants/programs?q=%07",
        None,
        {},
        400,
        "bad_request",
    ),
    (
        "a body over the limit",
        "post",
        "/api/v1/users/register",
        TWO_MEGABYTES,
        {},
        413,
        "too_large",
    ),
    (
        "no token on a protected route",
        "get",
        "/api/v1/users/me",
        None,
        {},
        401,
        "not_authenticated",
    ),
    (
        "a bad token on a public route",
        "get",
        "/api/v1/grants/programs",
        None,
        {"Authorization": "Bearer x"},
        401,
        "token_not_valid",
    ),
    ("the wrong method on /status", "post", "/status", "{}", TOKEN, 405, "method_not_allowed"),
    ("a bad user for /status", "get", "/status?user=abc", None, TOKEN, 400, "invalid"),
]


@pytest.mark.parametrize("debug", [False, True], ids=["DEBUG off", "DEBUG on"])
@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "status", "code"),
    [case[1:] for case in BAD_REQUESTS],
    ids=[case[0] for case in BAD_REQUESTS],
)
def test_a_bad_request_at_the_gateway_gets_a_problem_document(
    gateway, debug, method, path, body, headers, status, code
):
    gateway.DEBUG = debug
    kwargs = {"headers": headers}
    if body is not None:
        kwargs.update(data=body, content_type="application/json")

    response = run(getattr(gateway_client(), method)(path, **kwargs))

    assert response.status_code == status, response.content[:300]
    assert problem(response)["code"] == code


def test_the_unversioned_routes_answer_as_v1_and_announce_their_sunset(gateway):
    grants = FakeService("grants", {("GET", "/grants/programs"): json_answer({"results": []})})

    async def scenario():
        async with running(gateway, grants):
            return await gateway_client().get("/api/grants/programs")

    response = run(scenario())

    assert response.status_code == 200
    assert response["Deprecation"] == "@1796256000"  # 2026-12-03, RFC 9745
    assert response["Sunset"] == "Wed, 30 Jun 2027 00:00:00 GMT"  # RFC 8594
    assert response["Link"] == '</api/v1/grants/programs>; rel="successor-version"'
    # The service is told which prefix the client used, for its links and problem documents.
    assert grants.requests[0].headers["X-Forwarded-Prefix"] == "/api"


def test_the_versioned_routes_tell_the_service_their_prefix_and_announce_nothing(gateway):
    grants = FakeService("grants", {("GET", "/grants/programs"): json_answer({"results": []})})

    async def scenario():
        async with running(gateway, grants):
            return await gateway_client().get("/api/v1/grants/programs")

    response = run(scenario())

    assert response.status_code == 200
    assert "Deprecation" not in response and "Sunset" not in response
    assert grants.requests[0].headers["X-Forwarded-Prefix"] == "/api/v1"


def test_the_problem_catalogue_lists_every_code(gateway):
    catalogue = run(gateway_client().get("/problems"))
    one = run(gateway_client().get("/problems/stale_version"))

    codes = {entry["code"] for entry in catalogue.json()["problems"]}
    assert {"not_found", "stale_version", "idempotency_key_reused", "rate_limited"} <= codes
    assert one.json()["title"] == "Changed since you read it"
    assert problem(run(gateway_client().get("/problems/no_such_code")))["status"] == 404


def test_a_clients_own_forwarded_prefix_is_replaced(gateway):
    grants = FakeService("grants", {("GET", "/grants/programs"): json_answer({"results": []})})

    async def scenario():
        async with running(gateway, grants):
            return await gateway_client().get(
                "/api/v1/grants/programs", headers={"X-Forwarded-Prefix": "/evil"}
            )

    run(scenario())

    assert grants.requests[0].headers.getall("X-Forwarded-Prefix") == ["/api/v1"]
