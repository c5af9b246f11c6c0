"""The gateway in front of the real services: routing, edge checks, GET /status and its faults."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass

PASSWORD = "correct-horse-battery-9"


@dataclass
class Reply:
    status: int
    body: dict | list | str
    headers: dict[str, str]  # names in lower case
    elapsed: float


def call(
    platform,
    method: str,
    path: str,
    *,
    token: str | None = None,
    body: dict | None = None,
    request_id: str | None = None,
    service: str = "gateway",
    timeout: float = 30,
) -> Reply:
    """One HTTP request to a platform process, timed; any status is returned, never raised."""
    headers = {"Accept": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if request_id is not None:
        headers["X-Request-ID"] = request_id
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(
        f"{platform.url(service)}{path}", data=data, headers=headers, method=method
    )
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw, answer_headers = response.status, response.read(), response.headers
    except urllib.error.HTTPError as error:
        status, raw, answer_headers = error.code, error.read(), error.headers
    elapsed = time.monotonic() - started
    try:
        parsed = json.loads(raw) if raw else ""
    except ValueError:
        parsed = raw.decode(errors="replace")
    return Reply(status, parsed, {k.lower(): v for k, v in answer_headers.items()}, elapsed)


def register_applicant(platform) -> tuple[int, str]:
    """A new individual applicant, registered and signed in through the gateway: (id, access)."""
    email = f"gw-{uuid.uuid4().hex[:10]}@example.com"
    registered = call(
        platform,
        "POST",
        "/api/v1/users/register",
        body={
            "kind": "individual",
            "legal_name": "Mary Jackson",
            "email": email,
            "password": PASSWORD,
            "phone": "(757) 555-0186",
            "address_line1": "1 NASA Dr",
            "city": "Hampton",
            "state": "VA",
            "zip_code": "23681",
        },
    )
    assert registered.status == 201, registered.body
    signed_in = call(
        platform, "POST", "/api/v1/users/token", body={"email": email, "password": PASSWORD}
    )
    assert signed_in.status == 200, signed_in.body
    return registered.body["id"], signed_in.body["access"]


def expired_token(platform, user_id: int) -> str:
    now = int(time.time())
    claims = {"token_type": "access", "exp": now - 30, "iat": now - 930, "jti": uuid.uuid4().hex}
    claims |= {"user_id": user_id, "role": "applicant", "iss": "hms-users", "aud": "hms"}
    return platform.signed(claims)


def new_request_id() -> str:
    return f"gw-e2e-{uuid.uuid4().hex}"


# -- routing ---------------------------------------------------------------------------------------
def test_public_routes_pass_without_a_token_and_protected_ones_need_one(platform):
    programs = call(platform, "GET", "/api/v1/grants/programs")
    me = call(platform, "GET", "/api/v1/users/me")

    assert programs.status == 200
    assert me.status == 401
    assert me.body["code"] == "not_authenticated"


def test_a_signed_in_applicant_reaches_their_profile_through_the_gateway(platform):
    user_id, access = register_applicant(platform)
    request_id = new_request_id()

    me = call(platform, "GET", "/api/v1/users/me", token=access, request_id=request_id)

    assert me.status == 200
    assert me.body["id"] == user_id
    assert me.headers["x-request-id"] == request_id


def test_a_service_error_comes_back_as_the_service_gave_it(platform):
    _, access = register_applicant(platform)

    direct = call(platform, "GET", "/grants/applications/999999", token=access, service="grants")
    proxied = call(platform, "GET", "/api/v1/grants/applications/999999", token=access)

    assert proxied.status == direct.status == 404
    # The service's own document, naming the URL each caller used.
    assert proxied.body == {**direct.body, "instance": "/api/v1/grants/applications/999999"}
    assert direct.body["instance"] == "/grants/applications/999999"


# -- GET /status -----------------------------------------------------------------------------------
def test_status_combines_the_three_services(platform):
    user_id, access = register_applicant(platform)

    reply = call(platform, "GET", f"/status?user={user_id}", token=access)

    assert reply.status == 200, reply.body
    assert reply.body["user"]["id"] == user_id
    assert reply.body["user"]["email"].startswith("gw-")
    assert reply.body["applications"] == []
    assert reply.body["awards"] == []
    assert reply.body["degraded"] == []


def test_an_applicant_asking_for_another_user_gets_404(platform):
    user_id, access = register_applicant(platform)
    other_id, _ = register_applicant(platform)

    reply = call(platform, "GET", f"/status?user={other_id}", token=access)

    assert reply.status == 404
    assert reply.body["code"] == "not_found"
    assert call(platform, "GET", f"/status?user={user_id}", token=access).status == 200


def test_staff_may_ask_for_any_user(platform):
    user_id, _ = register_applicant(platform)

    reply = call(
        platform, "GET", f"/status?user={user_id}", token=platform.token(2, "caseworker", None)
    )

    assert reply.status == 200, reply.body
    assert reply.body["user"]["id"] == user_id


def test_an_invalid_user_parameter_is_400(platform):
    _, access = register_applicant(platform)

    reply = call(platform, "GET", "/status?user=ada", token=access)

    assert reply.status == 400
    assert [error["field"] for error in reply.body["errors"]] == ["user"]


def test_with_finance_killed_status_is_200_and_degraded(platform):
    user_id, access = register_applicant(platform)
    platform.kill("finance")
    try:
        reply = call(platform, "GET", f"/status?user={user_id}", token=access)
        proxied = call(platform, "GET", "/api/v1/finance/awards", token=access)
    finally:
        platform.start("finance")

    assert reply.status == 200, reply.body
    assert reply.body["degraded"] == ["finance"]
    assert reply.body["awards"] == []
    assert reply.body["user"]["id"] == user_id
    assert proxied.status in (502, 503, 504)
    assert proxied.body["service"] == "finance"


def test_with_grants_killed_status_is_a_fast_503_naming_grants(platform):
    user_id, access = register_applicant(platform)
    healthy = call(platform, "GET", f"/status?user={user_id}", token=access)
    platform.kill("grants")
    try:
        reply = call(platform, "GET", f"/status?user={user_id}", token=access)
    finally:
        platform.start("grants")

    assert reply.status == 503
    assert reply.body["service"] == "grants"
    assert "grants" in reply.body["detail"]
    # Fast: no waiting for a timeout (the read timeout is 10 s); a dead service is refused at once.
    assert reply.elapsed < max(2.0, 3 * healthy.elapsed)


def test_a_service_that_comes_back_is_used_again_within_a_second(platform):
    """Clients see a service's failures for no longer than it was down plus a second: with the
    default cool-down (half a second) each gateway worker's breaker tries it again that often,
    where a 10 s cool-down kept answering 503 for up to 20 s after a restart."""
    _, access = register_applicant(platform)
    platform.kill("finance")
    try:
        # Enough calls for every gateway worker to open its breaker for finance.
        codes = [call(platform, "GET", "/api/v1/finance/awards", token=access) for _ in range(20)]
        assert {reply.status for reply in codes} == {503}
        assert "circuit_open" in {reply.body["code"] for reply in codes}
    finally:
        platform.start("finance")  # returns once finance answers /health
    back = time.monotonic()
    while (reply := call(platform, "GET", "/api/v1/finance/awards", token=access)).status != 200:
        assert reply.body["code"] in ("circuit_open", "service_unavailable"), reply.body
        assert time.monotonic() - back < 10, "the gateway never used finance again"
        time.sleep(0.05)
    # The bound (a second), and a second for a cold worker's first request on a busy
    # machine: the 10 s cool-down this replaced took 9-10 s here.
    assert time.monotonic() - back <= 2.0
    # Past one more cool-down every worker's breaker lets a call through, and it passes.
    time.sleep(0.6)
    again = [call(platform, "GET", "/api/v1/finance/awards", token=access) for _ in range(6)]
    assert [reply.status for reply in again] == [200] * 6


# -- at the edge -----------------------------------------------------------------------------------
def test_invalid_tokens_are_refused_at_the_gateway(platform):
    user_id, access = register_applicant(platform)
    header, payload, signature = access.split(".")
    tampered = f"{header}.{payload[:-4]}AAAA.{signature}"

    for token in (expired_token(platform, user_id), tampered, "not-a-token"):
        reply = call(platform, "GET", f"/status?user={user_id}", token=token)
        proxied = call(platform, "GET", "/api/v1/users/me", token=token)

        assert reply.status == proxied.status == 401
        assert proxied.body["code"] == "token_not_valid"


# -- one document for all services ----------------------------------------------------------------
def test_the_schema_covers_every_service_under_api(platform):
    reply = call(platform, "GET", "/schema")

    assert reply.status == 200
    paths = reply.body["paths"]
    assert {"/api/v1/users/me", "/api/v1/grants", "/api/v1/finance/awards", "/status"} <= set(paths)
    assert "x-missing-services" not in reply.body["info"]
    assert any(name.startswith("grants.") for name in reply.body["components"]["schemas"])


def test_swagger_ui_is_served_from_the_gateway(platform):
    page = urllib.request.urlopen(f"{platform.url('gateway')}/docs", timeout=10)
    html = page.read().decode()
    bundle = urllib.request.urlopen(
        f"{platform.url('gateway')}/docs/assets/swagger-ui-bundle.js", timeout=10
    )

    assert 'url: "/schema"' in html
    assert bundle.status == 200
