"""The finance officer's start page: what waits for them, and the funds by program from the ledger."""

import pytest

from tests.finance import factories
from tests.staff.admin_clients import staff_admin_client

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture
def officer(settings):
    settings.HMS_START_PAGE = "apps.finance.start_page.start_page"
    return staff_admin_client(settings, 3, "finance_officer", service="finance", backend=None)


def test_the_start_page_shows_what_waits_and_the_funds_by_program(officer):
    award = factories.award()
    factories.reimbursement(award, "120.00")
    factories.scheduled(award, "40.00")
    factories.sent(award, "60.00")
    factories.settled(award, "100.00")

    page = officer.get("/admin/")
    counts = {c.label: (c.shown, c.url) for c in page.context["start_page"].counts}
    html = page.content.decode()

    assert counts["Reimbursements to decide"] == (
        "1",
        "/admin/finance/reimbursementrequest/?status=pending",
    )
    assert counts["Payments to send"] == (
        "1",
        "/admin/finance/disbursement/?status__exact=scheduled",
    )
    assert counts["Sent, awaiting settlement"][0] == "1"
    assert counts["Failed payments"][0] == "0"
    assert counts["Active awards"][0] == "1"
    for label, (shown, url) in counts.items():
        assert len(officer.get(url).context["cl"].result_list) == int(shown), label
    table = page.context["start_page"].tables[0]
    assert table.rows == [[award.program_code, "1", "$1,000.00", "$100.00", "$100.00", "$800.00"]]
    assert "$800.00" in html
