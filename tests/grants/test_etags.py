"""Safe concurrent edits over HTTP: an application's ETag is its version, and If-Match makes an
edit or an action conditional on it (412 when it moved on)."""

import pytest

from apps.grants.models import Application
from tests.grants.conftest import new_application_body
from tests.problems import fields, problem

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture
def draft(business_client, open_program) -> int:
    response = business_client.post(
        "/grants/applications", new_application_body("SBA-SBIR-2027-01"), format="json"
    )
    return response.json()["id"]


def test_an_application_answers_with_its_version_as_etag(business_client, draft):
    response = business_client.get(f"/grants/applications/{draft}")

    assert response["ETag"] == '"v1"'


def test_an_edit_if_match_the_version_read_goes_through_and_moves_the_etag(business_client, draft):
    response = business_client.patch(
        f"/grants/applications/{draft}",
        {"title": "Sharper title"},
        format="json",
        HTTP_IF_MATCH='"v1"',
    )

    assert response.status_code == 200
    assert response["ETag"] == '"v2"'
    assert Application.objects.get(pk=draft).title == "Sharper title"


def test_an_edit_if_match_an_older_version_is_412_and_changes_nothing(business_client, draft):
    business_client.patch(f"/grants/applications/{draft}", {"title": "First edit"}, format="json")

    stale = business_client.patch(
        f"/grants/applications/{draft}",
        {"title": "Lost update"},
        format="json",
        HTTP_IF_MATCH='"v1"',
    )

    assert stale.status_code == 412
    assert problem(stale)["code"] == "precondition_failed"
    assert problem(stale)["current_version"] == 2
    assert Application.objects.get(pk=draft).title == "First edit"


def test_an_action_if_match_an_older_version_is_412(business_client, draft):
    business_client.patch(f"/grants/applications/{draft}", {"title": "Edited"}, format="json")

    response = business_client.post(
        f"/grants/applications/{draft}/submit", {}, format="json", HTTP_IF_MATCH='"v1"'
    )

    assert response.status_code == 412
    assert Application.objects.get(pk=draft).status == "draft"


def test_an_if_match_that_is_no_etag_of_ours_is_a_400(business_client, draft):
    response = business_client.patch(
        f"/grants/applications/{draft}", {"title": "x"}, format="json", HTTP_IF_MATCH="*"
    )

    assert response.status_code == 400
    assert list(fields(response)) == ["If-Match"]
