"""Every error answer of every service is a problem document (application/problem+json), with
DEBUG on and off: a table of bad requests, each checked for status, content type and shape."""

import json

import pytest

from tests.identity import Bearer
from tests.problems import fields, problem

pytestmark = pytest.mark.django_db(databases="__all__")

APPLICANT = Bearer(500, "applicant", "business", name="HTTP_AUTHORIZATION")
TWO_MEGABYTES = json.dumps({"title": "x" * 2_000_000})

# (what, method, path, body, content type, headers, status, code)
BAD_REQUESTS = [
    ("unknown route in a service", "get", "/grants/nope", None, None, APPLICANT, 404, "not_found"),
    ("unknown route anywhere", "get", "/nope/x", None, None, {}, 404, "not_found"),
    (
        "a word for an id",
        "get",
        "/grants/applications/abc",
        None,
        None,
        APPLICANT,
        404,
        "not_found",
    ),
    (
        "an id wider than 64 bits",
        "get",
        "/finance/awards/99999999999999999999",
        None,
        None,
        APPLICANT,
        404,
        "not_found",
    ),
    ("NUL as a path segment", "get", "/grants/programs/%00", None, None, {}, 400, "bad_request"),
    (
        "NUL inside a path segment",
        "get",
        "/grants/programs/1%00",
        None,
        None,
        {},
        400,
        "bad_request",
    ),
    (
        "a control character in the query",
        "get",
        "/grants/applications?status=%01",
        None,
        None,
        APPLICANT,
        400,
        "bad_request",
    ),
    (
        "NUL in a JSON string",
        "post",
        "/grants/applications",
        '{"title": "a\\u0000b"}',
        "application/json",
        APPLICANT,
        400,
        "invalid",
    ),
    (
        "an escape character in a JSON key",
        "post",
        "/grants/applications",
        '{"\\u001btitle": "x"}',
        "application/json",
        APPLICANT,
        400,
        "invalid",
    ),
    (
        "a body over the limit",
        "post",
        "/grants/applications",
        TWO_MEGABYTES,
        "application/json",
        APPLICANT,
        413,
        "too_large",
    ),
    (
        "malformed JSON",
        "post",
        "/grants/applications",
        "{not json",
        "application/json",
        APPLICANT,
        400,
        "parse_error",
    ),
    (
        "the wrong media type",
        "post",
        "/grants/applications",
        "title=x",
        "text/plain",
        APPLICANT,
        415,
        "unsupported_media_type",
    ),
    ("the wrong method", "delete", "/grants/programs", None, None, {}, 405, "method_not_allowed"),
    (
        "a page that is not a number",
        "get",
        "/grants/applications?page=abc",
        None,
        None,
        APPLICANT,
        400,
        "invalid",
    ),
    (
        "a page past the last",
        "get",
        "/grants/applications?page=9",
        None,
        None,
        APPLICANT,
        404,
        "not_found",
    ),
    ("no token", "get", "/users/me", None, None, {}, 401, "not_authenticated"),
    (
        "a token that is not one",
        "get",
        "/users/me",
        None,
        None,
        {"HTTP_AUTHORIZATION": "Bearer x.y.z"},
        401,
        "token_not_valid",
    ),
    (
        "the wrong role",
        "get",
        "/grants/review/applications",
        None,
        None,
        APPLICANT,
        403,
        "permission_denied",
    ),
]


@pytest.mark.parametrize("debug", [False, True], ids=["DEBUG off", "DEBUG on"])
@pytest.mark.parametrize(
    ("method", "path", "body", "content_type", "headers", "status", "code"),
    [case[1:] for case in BAD_REQUESTS],
    ids=[case[0] for case in BAD_REQUESTS],
)
def test_a_bad_request_gets_a_problem_document(
    client, settings, debug, method, path, body, content_type, headers, status, code
):
    settings.DEBUG = debug
    send = getattr(client, method)
    kwargs = dict(headers)
    if body is not None:
        kwargs.update(data=body, content_type=content_type)

    response = send(path, **kwargs)

    assert response.status_code == status, response.content[:300]
    document = problem(response)
    assert document["code"] == code
    assert document["instance"] == path.split("?")[0].replace("%00", "\x00").replace("%01", "\x01")


def test_the_field_with_a_control_character_is_named(client):
    response = client.post(
        "/grants/applications",
        '{"title": "ok", "budget_lines": [{"description": "a\\u0000b"}]}',
        content_type="application/json",
        **APPLICANT,
    )

    assert fields(response) == {
        "budget_lines.0.description": [
            "Control characters (such as NUL) are not allowed; tab and line breaks are."
        ]
    }


@pytest.mark.parametrize("debug", [False, True], ids=["DEBUG off", "DEBUG on"])
def test_a_failure_inside_a_view_is_a_500_problem_and_logged(
    client, settings, monkeypatch, caplog, debug
):
    from apps.grants import selectors

    settings.DEBUG = debug

    def broken(**kwargs):
        raise RuntimeError("the database fell over")

    monkeypatch.setattr(selectors, "program_list", broken)
    client.raise_request_exception = False

    response = client.get("/grants/programs")

    assert response.status_code == 500
    document = problem(response)
    assert (document["code"], document["detail"]) == ("server_error", "Internal server error.")
    assert "the database fell over" not in response.content.decode()  # no internals leak
    assert "the database fell over" in caplog.text  # but ops see them


def test_nested_field_errors_have_dotted_paths(client, open_program_for_errors):
    response = client.post(
        "/grants/applications",
        {
            "program": "SBA-SBIR-2027-01",
            "title": "Drone",
            "project_summary": "Pallets.",
            "requested_amount": "30000.00",
            "budget_lines": [
                {"category": "personnel", "description": "Engineer", "amount": "30000.00"},
                {"category": "rockets", "description": "Fuel", "amount": "-1"},
            ],
        },
        content_type="application/json",
        **APPLICANT,
    )

    assert response.status_code == 400
    assert {"budget_lines.1.category", "budget_lines.1.amount"} <= set(fields(response))


@pytest.fixture
def open_program_for_errors():
    from tests.grants import factories

    return factories.program(code="SBA-SBIR-2027-01")


def test_a_write_to_no_route_is_a_404_problem_not_a_csrf_page(client):
    response = client.patch("/grants/applications/false", {}, content_type="application/json")

    assert response.status_code == 404
    assert problem(response)["code"] == "not_found"
