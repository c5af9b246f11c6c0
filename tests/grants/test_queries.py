"""List endpoints read in a fixed number of queries, however many rows there are."""

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from apps.grants import services
from hms.db import database_for
from tests.grants import factories

pytestmark = pytest.mark.django_db(databases="__all__")

APPLICANT_ID = 500


def grants_queries(call) -> int:
    with CaptureQueriesContext(connections[database_for("grants")]) as queries:
        response = call()
    assert response.status_code == 200, response.content
    return len(queries)


def add_applications(program, count):
    for index in range(count):
        application = factories.submitted(
            program=program,
            actor=factories.applicant(APPLICANT_ID),
            title=f"Project {index}",
            requested="3000.00",
            budget=["1000.00", "2000.00"],
        )
        services.application_assign(actor=factories.CASEWORKER, application_id=application.pk)


@pytest.mark.parametrize(
    ("role", "path"),
    [
        ("applicant", "/grants/applications"),
        ("applicant", f"/grants?user={APPLICANT_ID}"),
        ("caseworker", "/grants/review/applications"),
        ("caseworker", "/grants/review/applications?q=Acme&status=submitted&assignee=me"),
        (None, "/grants/programs"),
    ],
)
def test_queries_per_request_do_not_grow_with_the_data(
    client_as, api_client, open_program, role, path
):
    services.applicant_upsert(
        user_id=APPLICANT_ID, kind="business", display_name="Acme", verification_status="verified"
    )
    client = (
        client_as(APPLICANT_ID if role == "applicant" else 900, role, "business")
        if role
        else api_client
    )
    add_applications(open_program, 2)
    few = grants_queries(lambda: client.get(path))

    add_applications(open_program, 10)
    factories.program()
    many = grants_queries(lambda: client.get(path))

    assert many == few
