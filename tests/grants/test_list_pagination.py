"""The applicant's list reads a page before counting: a page shorter than a full one is the last,
so it needs no COUNT query (hms.pagination); pages past the end are still 404."""

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from hms.db import database_for
from tests.grants import factories

pytestmark = pytest.mark.django_db(databases="__all__")

APPLICANT_ID = 500


def page(client, **params):
    with CaptureQueriesContext(connections[database_for("grants")]) as queries:
        response = client.get("/grants/applications", params)
    return response, [query["sql"] for query in queries]


def counts(queries) -> int:
    return sum("COUNT(" in sql.upper() for sql in queries)


@pytest.fixture
def three_applications(open_program, business):
    return [
        factories.draft(program=open_program, actor=business, title=f"Project {index}")
        for index in range(3)
    ]


def test_a_list_that_fits_on_its_first_page_is_not_counted(business_client, three_applications):
    response, queries = page(business_client)

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["count"], len(body["results"]), body["next"], body["previous"]) == (
        3,
        3,
        None,
        None,
    )
    assert counts(queries) == 0
    # The budget lines' query reads them alone: no join back to the applications to order them.
    [lines_query] = [sql for sql in queries if "grants_budgetline" in sql.split("FROM")[1]]
    assert "grants_application" not in lines_query.split("FROM")[1].split("WHERE")[0]


def test_a_full_page_is_counted_and_the_short_last_page_is_not(business_client, three_applications):
    first, first_queries = page(business_client, page_size=2)
    last, last_queries = page(business_client, page_size=2, page=2)

    assert first.json()["count"] == 3 and first.json()["next"].endswith("page=2&page_size=2")
    assert counts(first_queries) == 1
    assert last.json()["count"] == 3 and last.json()["next"] is None
    assert last.json()["previous"] is not None and len(last.json()["results"]) == 1
    assert counts(last_queries) == 0
    shown = [row["title"] for row in first.json()["results"] + last.json()["results"]]
    assert shown == ["Project 2", "Project 1", "Project 0"]


def test_a_page_past_the_last_is_not_found(business_client, three_applications):
    assert page(business_client, page_size=2, page=3)[0].status_code == 404
    assert page(business_client, page_size=3, page=2)[0].status_code == 404


def test_an_empty_list_is_an_empty_first_page(business_client, open_program):
    response, queries = page(business_client)

    assert response.json() == {"count": 0, "next": None, "previous": None, "results": []}
    assert counts(queries) == 0
