"""The filtered list as a CSV download: the page's filters and search, every row, streamed,
audited, and safe to open in a spreadsheet."""

import csv
import io

import pytest
from django.http import StreamingHttpResponse

from apps.grants import services
from hms.admin_export import safe_cell
from hms.audit.models import AuditEntry
from hms.db import database_for
from hms.people.services import person_record
from tests.finance import factories as finance_factories
from tests.grants import factories
from tests.staff.admin_clients import staff_admin_client

pytestmark = pytest.mark.django_db(databases="__all__")

EXPORT = "/admin/grants/application/export.csv"


@pytest.fixture
def open_program():
    return factories.program()


@pytest.fixture
def caseworker(settings):
    person_record(service="grants", user_id=2, role="caseworker", display_name="Ada Whitfield")
    return staff_admin_client(settings, 2, "caseworker")


def rows_of(response) -> list[list[str]]:
    assert isinstance(response, StreamingHttpResponse)  # streamed, never built in memory
    text = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(text)))


def test_the_download_holds_every_row_the_filters_select_with_names_and_plain_money(
    caseworker, open_program
):
    services.applicant_upsert(
        user_id=500,
        kind="business",
        display_name="Acme Robotics LLC",
        verification_status="verified",
    )
    wanted = [factories.submitted(program=open_program, requested="80000.00") for _ in range(3)]
    returned = factories.under_review(program=open_program)
    services.application_request_changes(
        actor=factories.CASEWORKER, application_id=returned.pk, reason="More detail."
    )

    list_page = caseworker.get("/admin/grants/application/", {"status__exact": "submitted"})
    response = caseworker.get(EXPORT, {"status__exact": "submitted"})
    rows = rows_of(response)

    assert f'href="{EXPORT}?status__exact=submitted"' in list_page.content.decode()
    assert response["Content-Disposition"].startswith('attachment; filename="applications-')
    assert rows[0][:3] == ["Tracking number", "Applicant", "Program"]
    assert sorted(row[0] for row in rows[1:]) == sorted(a.tracking_number for a in wanted)
    assert {row[1] for row in rows[1:]} == {"Acme Robotics LLC"}
    assert {row[6] for row in rows[1:]} == {"80000.00"}
    entry = AuditEntry.objects.using(database_for("grants")).get(action="application.export")
    assert entry.actor_id == 2
    assert entry.changes == {"filters": {"status__exact": ["submitted"]}}


def test_a_title_that_a_spreadsheet_would_run_is_quoted(caseworker, open_program):
    factories.submitted(program=open_program, title='=HYPERLINK("http://evil.example")')

    rows = rows_of(caseworker.get(EXPORT))

    assert rows[1][3] == '\'=HYPERLINK("http://evil.example")'
    assert safe_cell("-12") == "'-12" and safe_cell("Plain") == "Plain" and safe_cell(None) == ""


def test_finance_lists_download_too(settings):
    officer = staff_admin_client(settings, 3, "finance_officer", service="finance", backend=None)
    award = finance_factories.award()
    finance_factories.reimbursement(award, "120.00")

    rows = rows_of(officer.get("/admin/finance/reimbursementrequest/export.csv"))

    assert rows[0][:5] == ["Reimbursement", "Award", "Recipient", "Category", "Amount"]
    assert rows[1][4] == "120.00"


def test_an_applicant_s_list_cannot_be_downloaded_without_the_admin(client):
    response = client.get(EXPORT)

    assert response.status_code == 302 and "/admin/login/" in response["Location"]
