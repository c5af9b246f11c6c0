"""GET /status: users, grants and finance asked at the same time, combined into one document."""

import time

import pytest
from aiohttp import web

from hms.errors import PROBLEM_CONTENT_TYPE
from hms.errors import problem as problem_document
from tests.gateway.fakes import FakeService, dead_url, gateway_client, json_answer, run, running
from tests.identity import access_token_for
from tests.problems import fields, problem

PROFILE = {"id": 4, "email": "ada@example.com", "role": "applicant"}
APPLICATIONS = {"user": 4, "applications": [{"id": 1, "status": "submitted"}]}
AWARDS = {
    "count": 1,
    "next": None,
    "previous": None,
    "results": [{"id": 9, "obligated": "1000.00", "disbursed": "0.00", "remaining": "1000.00"}],
}


def bearer(user_id: int = 4, role: str = "applicant") -> dict:
    return {"Authorization": f"Bearer {access_token_for(user_id, role, 'individual')}"}


def services(delay: dict | None = None, **overrides) -> list[FakeService]:
    delay = delay or {}
    return [
        FakeService(
            "users",
            {
                ("GET", "/users/{id}"): overrides.get(
                    "users", json_answer(PROFILE, delay=delay.get("users", 0))
                )
            },
        ),
        FakeService(
            "grants",
            {
                ("GET", "/grants"): overrides.get(
                    "grants", json_answer(APPLICATIONS, delay=delay.get("grants", 0))
                )
            },
        ),
        FakeService(
            "finance",
            {
                ("GET", "/finance/awards"): overrides.get(
                    "finance", json_answer(AWARDS, delay=delay.get("finance", 0))
                )
            },
        ),
    ]


def get_status(gateway, fakes, url="/status?user=4", headers=None):
    async def scenario():
        async with running(gateway, *fakes):
            started = time.monotonic()
            response = await gateway_client().get(url, headers=headers or bearer())
            return response, time.monotonic() - started

    return run(scenario())


def test_status_combines_the_three_services(gateway):
    fakes = services()
    headers = bearer()

    response, _ = get_status(gateway, fakes, headers=headers)

    assert response.status_code == 200
    assert response.json() == {
        "user": PROFILE,
        "applications": APPLICATIONS["applications"],
        "awards": AWARDS["results"],
        "degraded": [],
    }
    users, grants, finance = fakes
    assert users.requests[0].path == "/users/4"
    assert grants.requests[0].path_qs == "/grants?user=4"
    assert finance.requests[0].query["applicant"] == "4"
    for fake in fakes:
        request = fake.requests[0]
        assert request.headers["Authorization"] == headers["Authorization"]
        assert request.headers["X-Request-ID"] == response["X-Request-ID"]


def test_the_services_are_asked_at_the_same_time_not_one_after_the_other(gateway):
    fakes = services(delay={"users": 0.3, "grants": 0.3, "finance": 0.3})

    response, elapsed = get_status(gateway, fakes)

    assert response.status_code == 200
    assert elapsed < 0.6  # the sum would be 0.9 s


def test_finance_down_still_answers_200_degraded_without_awards(gateway):
    fakes = services()[:2]
    gateway.FINANCE_SERVICE_URL = dead_url()

    response, _ = get_status(gateway, fakes)

    assert response.status_code == 200
    assert response.json()["degraded"] == ["finance"]
    assert response.json()["awards"] == []
    assert response.json()["user"] == PROFILE


def test_finance_slow_answers_degraded_after_the_optional_budget(gateway):
    gateway.GATEWAY_STATUS_OPTIONAL_TIMEOUT = 0.2
    fakes = services(delay={"finance": 2.0})

    response, elapsed = get_status(gateway, fakes)

    assert response.json()["degraded"] == ["finance"]
    assert elapsed < 1.5


def test_finance_error_answers_degraded(gateway):
    fakes = services(finance=json_answer({"error": {}}, status=500))

    response, _ = get_status(gateway, fakes)

    assert response.status_code == 200
    assert response.json()["degraded"] == ["finance"]


@pytest.mark.parametrize("service", ["users", "grants"])
def test_a_required_service_down_is_a_fast_503_naming_it(gateway, service):
    fakes = [fake for fake in services(delay={"users": 1.0, "grants": 1.0}) if fake.name != service]
    setattr(gateway, f"{service.upper()}_SERVICE_URL", dead_url())

    response, elapsed = get_status(gateway, fakes)

    assert response.status_code == 503
    assert problem(response)["service"] == service
    assert service in problem(response)["detail"]
    assert elapsed < 0.5  # does not wait for the other, slow, service


def test_a_required_service_failing_is_a_503_naming_it(gateway):
    fakes = services(grants=json_answer({"error": {}}, status=502))

    response, _ = get_status(gateway, fakes)

    assert response.status_code == 503
    assert problem(response)["service"] == "grants"


def test_someone_elses_user_is_a_404_passed_on(gateway):
    not_found = problem_document(404, "not_found", "No such user.", instance="/users/5")
    answer = json_answer(not_found, status=404, content_type=PROBLEM_CONTENT_TYPE)
    fakes = services(users=answer, grants=answer)

    response, _ = get_status(gateway, fakes, url="/status?user=5")

    assert response.status_code == 404
    # The service's own document, about what the client asked for.
    assert problem(response) == {**not_found, "instance": "/status"}


def test_a_refusal_that_is_not_a_problem_document_becomes_one(gateway):
    fakes = services(users=json_answer({"oops": True}, status=403))

    response, _ = get_status(gateway, fakes, url="/status?user=5")

    assert response.status_code == 403
    assert problem(response)["detail"] == "The users service refused the request."


@pytest.mark.parametrize("value", ["abc", "0", "-3", "4.5", "", "99999999999999999999"])
def test_an_invalid_user_parameter_is_400(gateway, value):
    fakes = services()

    response, _ = get_status(gateway, fakes, url=f"/status?user={value}")

    assert response.status_code == 400
    assert "user" in fields(response)
    assert not any(fake.requests for fake in fakes)


def test_without_a_user_parameter_the_caller_is_meant(gateway):
    fakes = services()

    response, _ = get_status(gateway, fakes, url="/status")

    assert response.status_code == 200
    assert fakes[0].requests[0].path == "/users/4"


def test_an_unexpected_document_from_a_required_service_is_502(gateway):
    async def not_json(request):
        return web.Response(text="<html>oops</html>", content_type="text/html")

    fakes = services(users=not_json)

    response, _ = get_status(gateway, fakes)

    assert response.status_code == 502
