"""The applicant's status changes after a cursor: what the gateway's live stream reads."""

import datetime

import pytest

from apps.grants.models import ApplicationTransition
from tests.grants import factories
from tests.grants.conftest import BUSINESS_ID

pytestmark = pytest.mark.django_db(databases="__all__")


def settled():
    """Changes become readable a moment after they are written (see CHANGES_SETTLE)."""
    ApplicationTransition.objects.update(at=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC))


def test_changes_after_a_cursor_in_order_and_only_the_caller_s(
    business, business_client, open_program, client_as
):
    mine = factories.submitted(program=open_program)
    factories.submitted(program=open_program, actor=factories.applicant(BUSINESS_ID + 1))
    assert business_client.get("/grants/applications/changes").json() == []  # not settled yet
    settled()

    changes = business_client.get("/grants/applications/changes").json()
    assert [(c["application"], c["to_status"]) for c in changes] == [
        (mine.pk, "draft"),
        (mine.pk, "submitted"),
    ]
    assert changes[1]["tracking_number"] == mine.tracking_number
    after = business_client.get(f"/grants/applications/changes?after={changes[0]['id']}").json()
    assert [c["to_status"] for c in after] == ["submitted"]

    stranger = client_as(BUSINESS_ID + 1, "applicant", "business")
    assert stranger.get(f"/grants/applications/changes?application={mine.pk}").status_code == 404
    assert all(
        c["application"] != mine.pk for c in stranger.get("/grants/applications/changes").json()
    )


def test_a_bad_cursor_is_a_400(business_client):
    response = business_client.get("/grants/applications/changes?after=-1")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "after"
