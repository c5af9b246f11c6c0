"""The schema-compatibility check: the platform's OpenAPI document, as built from the code now,
breaks no client of the released one (docs/api/openapi-v1.json); and the check itself catches a
breaking change while letting an additive one through."""

import copy
import json

import pytest

from gateway.compatibility import breaking_changes, check, main
from tests.api.schema import RELEASED, platform_document
from tests.e2e.harness import REPO

REGISTER = "/api/v1/users/register"
APPLICATION = "/api/v1/grants/applications/{application_id}"


@pytest.fixture(scope="module")
def released() -> dict:
    return json.loads((REPO / RELEASED).read_text())


@pytest.fixture(scope="module")
def current() -> dict:
    return platform_document()


def test_the_code_breaks_no_client_of_the_released_api(released, current):
    changes, allowed = check(released, current)

    assert allowed or changes == [], "\n".join(map(str, changes))


def test_the_released_document_is_the_current_one_or_an_additive_change_of_it(released, current):
    # Nothing silently dropped: every released operation is still documented.
    for path, item in released["paths"].items():
        assert set(item) <= set(current["paths"].get(path, {})), path


def schema(document: dict, name: str) -> dict:
    return document["components"]["schemas"][name]


def test_a_response_field_removed_is_breaking(released):
    candidate = copy.deepcopy(released)
    del schema(candidate, "grants.Application")["properties"]["tracking_number"]

    changes = breaking_changes(released, candidate)

    assert any(
        "GET /api/v1/grants/applications/{application_id} 200" in change.where
        and "'tracking_number' is gone" in change.what
        for change in changes
    ), changes


def test_a_new_required_input_is_breaking(released):
    candidate = copy.deepcopy(released)
    request = schema(candidate, "grants.ApplicationCreateRequest")
    request["properties"]["purpose_code"] = {"type": "string"}
    request["required"].append("purpose_code")

    changes = breaking_changes(released, candidate)

    assert [str(c) for c in changes if "purpose_code" in c.what] == [
        "POST /api/v1/grants/applications body: new required field 'purpose_code'"
    ]


def test_a_narrowed_input_type_is_breaking(released):
    candidate = copy.deepcopy(released)
    schema(candidate, "grants.ApplicationCreateRequest")["properties"]["title"]["maxLength"] = 80
    categories = schema(candidate, "grants.CategoryEnum")
    categories["enum"] = [value for value in categories["enum"] if value != "travel"]

    changes = [str(change) for change in breaking_changes(released, candidate)]

    assert "POST /api/v1/grants/applications body.title: maxLength lowered to 80" in changes
    assert any("values no longer accepted: ['travel']" in change for change in changes)


def test_an_operation_removed_is_breaking(released):
    candidate = copy.deepcopy(released)
    del candidate["paths"][APPLICATION]["patch"]

    assert [str(change) for change in breaking_changes(released, candidate)] == [
        f"PATCH {APPLICATION}: the operation is gone"
    ]


def test_additions_are_not_breaking(released):
    candidate = copy.deepcopy(released)
    schema(candidate, "grants.Application")["properties"]["created_by_channel"] = {"type": "string"}
    schema(candidate, "grants.ApplicationCreateRequest")["properties"]["notes"] = {"type": "string"}
    candidate["paths"]["/api/v1/grants/applications/{application_id}/documents"] = {
        "get": {"responses": {"200": {"description": "new"}}}
    }
    candidate["info"]["version"] = "1.1.0"

    assert breaking_changes(released, candidate) == []


def test_a_breaking_change_is_allowed_only_in_a_new_major_version(released):
    candidate = copy.deepcopy(released)
    del candidate["paths"][REGISTER]

    assert check(released, candidate) == (breaking_changes(released, candidate), False)
    candidate["info"]["version"] = "2.0.0"
    assert check(released, candidate)[1] is True


def test_the_command_fails_on_a_breaking_change(released, tmp_path, capsys):
    candidate = copy.deepcopy(released)
    del schema(candidate, "users.UserProfile")["properties"]["email"]
    (tmp_path / "old.json").write_text(json.dumps(released))
    (tmp_path / "new.json").write_text(json.dumps(candidate))

    assert main([str(tmp_path / "old.json"), str(tmp_path / "new.json")]) == 1
    assert "BREAKING GET /api/v1/users/me 200: field 'email' is gone" in capsys.readouterr().out
    assert main([str(tmp_path / "old.json"), str(tmp_path / "old.json")]) == 0
