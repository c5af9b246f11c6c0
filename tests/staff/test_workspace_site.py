"""The staff workspace every admin shares: its sign-in, its start page, and how money reads."""

import re
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from hms.admin_site import Count, StartPage, Table
from hms.formatting import money

pytestmark = pytest.mark.django_db(databases="__all__")


def a_start_page(request):
    return StartPage(
        heading=f"Good morning, {request.user.email}",
        counts=[Count("Assigned to me", 1200, "/admin/grants/application/?mine=1", capped=True)],
        tables=[Table("Program funds", ["Program", "Remaining"], [["SBIR Phase I", "$1,500.00"]])],
    )


@pytest.fixture
def staff_client():
    user = get_user_model().objects.create_superuser("root", "root@hms.example", "pw-not-used-1")
    client = Client()
    client.force_login(user)
    return client


def test_sign_in_asks_for_the_email_staff_type_and_offers_no_view_site(client):
    page = client.get("/admin/login/").content.decode()

    assert re.search(r'<label[^>]*for="id_username"[^>]*>Email:</label>', page)
    assert 'autocomplete="email"' in page
    assert "View site" not in page


def test_the_start_page_shows_the_role_s_counts_as_links_and_its_tables(staff_client, settings):
    settings.HMS_START_PAGE = "tests.staff.test_workspace_site.a_start_page"

    page = staff_client.get("/admin/")
    html = page.content.decode()

    assert page.status_code == 200
    assert "Good morning, root@hms.example" in html
    assert (
        '<a href="/admin/grants/application/?mine=1"><span class="start-count">1,200+</span>'
        in html
    )
    assert "<caption>Program funds</caption>" in html and "$1,500.00" in html
    assert "View site" not in html
    assert "<title>Start |" in html


def test_without_a_start_page_the_index_lists_the_service_s_screens(staff_client, settings):
    settings.HMS_START_PAGE = ""

    html = staff_client.get("/admin/").content.decode()

    assert "start-counts" not in html
    assert "/admin/grants/application/" in html


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("80000"), "$80,000.00"),
        (Decimal("1234567.891"), "$1,234,567.89"),
        (Decimal("0.005"), "$0.01"),
        (Decimal("-12.5"), "-$12.50"),
        (0, "$0.00"),
        (None, "-"),
    ],
)
def test_money_reads_as_dollars_and_cents(value, shown):
    assert money(value) == shown


def test_a_long_list_is_counted_only_up_to_its_cap(staff_client, monkeypatch):
    from hms.admin_site import CappedPaginator
    from tests.grants import factories

    monkeypatch.setattr(CappedPaginator, "cap", 2)
    program = factories.program()
    for _ in range(3):
        factories.submitted(program=program)

    capped = staff_client.get("/admin/grants/application/").content.decode()
    monkeypatch.setattr(CappedPaginator, "cap", 3)
    exact = staff_client.get("/admin/grants/application/").content.decode()

    assert "More than 2 applications: filter or search to narrow them" in capped
    assert "3 applications" in exact and "More than" not in exact
