"""The work queue's page count stops at a bound, so a page costs the same at any queue size."""

import pytest

from hms import pagination
from tests.grants import factories
from tests.grants.factories import CASEWORKER

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture
def caseworker_client(client_as):
    return client_as(CASEWORKER.user_id, "caseworker", None)


def test_the_queue_counts_exactly_below_the_bound(caseworker_client, open_program):
    for _ in range(2):
        factories.submitted(program=open_program)

    body = caseworker_client.get("/grants/review/applications").json()

    assert (body["count"], body["count_capped"], len(body["results"])) == (2, False, 2)


def test_the_queue_stops_counting_at_the_bound_and_says_so(
    caseworker_client, open_program, monkeypatch
):
    monkeypatch.setattr(pagination, "COUNT_LIMIT", 2)
    for _ in range(3):
        factories.submitted(program=open_program)

    first = caseworker_client.get("/grants/review/applications", {"page_size": 1}).json()
    last = caseworker_client.get("/grants/review/applications", {"page_size": 1, "page": 2})

    assert (first["count"], first["count_capped"], len(first["results"])) == (2, True, 1)
    assert first["next"] is not None
    assert last.status_code == 200
    assert last.json()["next"] is None
