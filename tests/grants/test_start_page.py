"""The caseworker's start page: their counts, each a link to the filtered queue, and program funds."""

from datetime import timedelta

import pytest

from apps.grants import services
from apps.grants.models import Application, Program, ReviewAssignment
from hms.auth import Identity
from hms.db import count_up_to
from hms.people.services import person_record
from tests.grants import factories
from tests.staff.admin_clients import staff_admin_client

pytestmark = pytest.mark.django_db(databases="__all__")

ADA = Identity(user_id=2, role="caseworker")


@pytest.fixture
def ada(settings):
    settings.HMS_START_PAGE = "apps.grants.start_page.start_page"
    person_record(service="grants", user_id=2, role="caseworker", display_name="Ada Whitfield")
    return staff_admin_client(settings, ADA.user_id, "caseworker")


def counts_of(page) -> dict[str, tuple[str, str]]:
    return {c.label: (c.shown, c.url) for c in page.context["start_page"].counts}


def test_the_start_page_counts_the_caseworker_s_work_and_links_each_count(ada, open_program):
    mine = factories.under_review(program=open_program)  # starting it assigned it to #900
    services.application_assign(actor=ADA, application_id=mine.pk, assignee_id=2)
    factories.submitted(program=open_program)
    factories.submitted(program=open_program)
    returned = factories.under_review(program=open_program)
    services.application_request_changes(actor=ADA, application_id=returned.pk, reason="Budget.")
    ReviewAssignment.objects.create(application=mine, reviewer_id=2, assigned_by_id=2)
    late = factories.submitted(program=open_program)
    Application.objects.filter(pk=late.pk).update(
        submitted_at=late.submitted_at - timedelta(days=31)
    )
    factories.approved(program=open_program, requested="30000.00")

    page = ada.get("/admin/")
    counts = counts_of(page)
    html = page.content.decode()

    queue = "/admin/grants/application/"
    assert page.context["start_page"].heading == "Today, Ada Whitfield"
    assert counts["Assigned to me"] == ("1", f"{queue}?assignee=me&waiting=us")
    assert counts["Reviews waiting for me"] == ("1", f"{queue}?review=todo")
    assert counts["Submitted, not yet assigned"] == (
        "3",
        f"{queue}?assignee=none&status__exact=submitted",
    )
    assert counts["Changes requested"] == ("1", f"{queue}?waiting=applicant")
    assert counts["Past the review target"] == ("1", f"{queue}?waiting=overdue")
    # Each count's link lists what it counted.
    for label, (shown, url) in counts.items():
        listed = ada.get(url).context["cl"].result_list
        assert len(listed) == int(shown), label
    assert "SBA-SBIR-2027-01: Test program" in html
    assert "$1,000,000.00" in html and "$30,000.00" in html and "$970,000.00" in html


def test_counts_stop_at_their_cap():
    program = factories.program()
    for _ in range(3):
        factories.submitted(program=program)

    assert count_up_to(Application.objects.all(), 2) == (2, True)
    assert count_up_to(Application.objects.all(), 3) == (3, False)
    assert count_up_to(Program.objects.none(), 3) == (0, False)
