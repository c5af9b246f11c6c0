"""The applicant's list reads a page before counting: a page shorter than a full one is the last,
so it needs no COUNT query (hms.pagination); pages past the end are still 404. Each application's
budget lines come in its own row of the page's query (selectors._BUDGET_LINE_ROWS)."""

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from apps.grants.models import BudgetLine
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
    # One query: the page, each row carrying its budget lines.
    assert len(queries) == 1, queries


def test_the_list_shows_each_application_s_budget_lines_as_its_own_page_does(
    business_client, open_program, business
):
    """In their order (position, then id), amounts exact to the cent, the same as the
    application's own page (which reads them through the ORM); an application without lines
    (none can be saved so, but a row may lack them) shows none."""
    many = factories.draft(
        program=open_program,
        actor=business,
        requested="99999.99",
        budget=["99999.96", "0.01", "0.02"],
    )
    # Positions that disagree with the order the rows were written in.
    lines = list(BudgetLine.objects.filter(application=many).order_by("id"))
    for line, position in zip(lines, [2, 0, 1], strict=True):
        BudgetLine.objects.filter(pk=line.pk).update(position=position)
    one = factories.draft(program=open_program, actor=business, requested="1200.50")
    bare = factories.draft(program=open_program, actor=business)
    BudgetLine.objects.filter(application=bare).delete()

    listed = {row["id"]: row for row in page(business_client)[0].json()["results"]}

    assert [line["amount"] for line in listed[many.pk]["budget_lines"]] == [
        "0.01",
        "0.02",
        "99999.96",
    ]
    assert [line["amount"] for line in listed[one.pk]["budget_lines"]] == ["1200.50"]
    assert listed[bare.pk]["budget_lines"] == []
    for application in (many, one, bare):
        own_page = business_client.get(f"/grants/applications/{application.pk}")
        assert own_page.status_code == 200, own_page.content
        assert listed[application.pk] == own_page.json()


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
