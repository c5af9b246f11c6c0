"""The finance officer's admin: balances at a glance, the queue, payment actions via services."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.contrib.messages import get_messages
from django.test import Client

from apps.finance import services
from apps.finance.models import (
    Amendment,
    Award,
    AwardDocument,
    Disbursement,
    LedgerEntry,
    ReimbursementRequest,
)
from apps.finance.selectors import award_balances
from hms.people.services import person_record
from hms.settings import finance as finance_settings
from hms.staff.permissions import staff_permissions_sync
from tests.finance import factories
from tests.finance.factories import outbox
from tests.staff.admin_clients import staff_admin_client

pytestmark = pytest.mark.django_db(databases="__all__")


def _staff_client(settings, *, platform_user_id: int, role: str) -> Client:
    return staff_admin_client(settings, platform_user_id, role, service="finance", backend=None)


@pytest.fixture
def officer_admin(settings) -> Client:
    return _staff_client(settings, platform_user_id=3, role="finance_officer")


@pytest.fixture
def caseworker_admin(settings) -> Client:
    return _staff_client(settings, platform_user_id=2, role="caseworker")


def _act(client: Client, model: str, action: str, objects, **extra):
    return client.post(
        f"/admin/finance/{model}/",
        {"action": action, "_selected_action": [obj.pk for obj in objects], **extra},
    )


def test_the_award_list_shows_balances_at_a_glance(officer_admin):
    award = factories.award()
    factories.settled(award, "100.00")
    factories.scheduled(award, "50.00", "Travel")

    response = officer_admin.get("/admin/finance/award/")

    assert response.status_code == 200
    content = response.content.decode()
    for amount in ("$1,000.00", "$100.00", "$50.00", "$850.00"):
        assert amount in content
    assert officer_admin.get("/admin/finance/award/?o=10").status_code == 200  # sort by remaining
    assert officer_admin.get("/admin/finance/award/?q=HMS-2027").status_code == 200


def test_an_award_page_is_read_only_with_its_ledger_inline(officer_admin):
    award = factories.award()
    factories.settled(award, "100.00")

    response = officer_admin.get(f"/admin/finance/award/{award.pk}/change/")

    assert response.status_code == 200
    content = response.content.decode()
    assert 'name="_save"' not in content
    assert "Reservation for a disbursement" in content and "Settlement" in content
    assert officer_admin.get("/admin/finance/award/add/").status_code == 403


def test_the_ledger_cannot_be_added_changed_or_deleted_in_the_admin(officer_admin):
    entry = LedgerEntry.objects.filter(award=factories.award()).first()

    assert officer_admin.get("/admin/finance/ledgerentry/").status_code == 200
    assert officer_admin.get("/admin/finance/ledgerentry/add/").status_code == 403
    page = officer_admin.get(f"/admin/finance/ledgerentry/{entry.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert officer_admin.get(f"/admin/finance/ledgerentry/{entry.pk}/delete/").status_code == 403
    officer_admin.post(f"/admin/finance/ledgerentry/{entry.pk}/change/", {"amount": "1.00"})
    entry.refresh_from_db()
    assert entry.amount == Decimal("600.00")


def test_the_reimbursement_queue_opens_on_pending_requests(officer_admin):
    award = factories.award()
    pending = factories.reimbursement(award, description="Waiting for a decision")
    decided = factories.reimbursement(award, description="Already decided")
    services.reimbursement_reject(
        actor=factories.OFFICER, reimbursement_id=decided.pk, reason="No receipt"
    )

    queue = officer_admin.get("/admin/finance/reimbursementrequest/").content.decode()
    everything = officer_admin.get("/admin/finance/reimbursementrequest/?status=all")

    assert f"Reimbursement {pending.pk} " in queue
    assert f"Reimbursement {decided.pk} " not in queue
    assert f"Reimbursement {decided.pk} " in everything.content.decode()


def test_approving_from_the_queue_calls_the_service_as_the_signed_in_officer(officer_admin):
    award = factories.award()
    request = factories.reimbursement(award, "120.00")

    response = _act(officer_admin, "reimbursementrequest", "approve_requests", [request])

    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status == ReimbursementRequest.Status.APPROVED
    assert request.decided_by_id == 3  # the platform id, not the local admin user's
    assert award_balances(award=award).pending == Decimal("120.00")
    assert len(outbox("finance.reimbursement_decided")) == 1


def test_rejecting_asks_for_a_reason_first(officer_admin):
    request = factories.reimbursement(factories.award())

    form = _act(officer_admin, "reimbursementrequest", "reject_requests", [request])
    assert form.status_code == 200
    assert 'name="reason"' in form.content.decode()
    request.refresh_from_db()
    assert request.status == "pending"

    blank = _act(officer_admin, "reimbursementrequest", "reject_requests", [request], apply="1")
    assert blank.status_code == 200  # the form again, with its error
    done = _act(
        officer_admin,
        "reimbursementrequest",
        "reject_requests",
        [request],
        apply="1",
        reason="Outside the award period",
    )

    assert done.status_code == 302
    request.refresh_from_db()
    assert (request.status, request.rejection_reason) == ("rejected", "Outside the award period")


def test_disbursements_are_sent_and_settled_from_the_admin(officer_admin):
    award = factories.award()
    disbursement = factories.scheduled(award, "75.00")

    _act(officer_admin, "disbursement", "send_payments", [disbursement])
    disbursement.refresh_from_db()
    assert disbursement.status == "sent"
    _act(officer_admin, "disbursement", "settle_payments", [disbursement])
    disbursement.refresh_from_db()
    assert disbursement.status == "settled"
    assert award_balances(award=award).disbursed == Decimal("75.00")


def test_a_refused_action_is_reported_and_changes_nothing(officer_admin):
    disbursement = factories.scheduled(factories.award())

    response = _act(officer_admin, "disbursement", "settle_payments", [disbursement])

    assert response.status_code == 302
    messages = [m.message for m in response.wsgi_request._messages]
    assert any("cannot be settled" in message for message in messages)
    disbursement.refresh_from_db()
    assert disbursement.status == "scheduled"


def test_failing_a_payment_asks_for_a_reason_and_returns_the_amount(officer_admin):
    award = factories.award()
    disbursement = factories.sent(award, "75.00")

    form = _act(officer_admin, "disbursement", "fail_payments", [disbursement])
    assert 'name="reason"' in form.content.decode()
    _act(
        officer_admin,
        "disbursement",
        "fail_payments",
        [disbursement],
        apply="1",
        reason="Returned by the bank",
    )

    disbursement.refresh_from_db()
    assert (disbursement.status, disbursement.failure_reason) == ("failed", "Returned by the bank")
    assert award_balances(award=award).remaining == Decimal("1000.00")


def test_a_disbursement_is_scheduled_from_an_award(officer_admin):
    award = factories.award()

    form = _act(officer_admin, "award", "schedule_disbursement", [award])
    assert form.status_code == 200 and "Personnel (remaining $600.00)" in form.content.decode()
    too_much = _act(
        officer_admin,
        "award",
        "schedule_disbursement",
        [award],
        apply="1",
        category="Personnel",
        amount="600.01",
    )
    assert too_much.status_code == 200
    assert "Only 600.00 remains" in too_much.content.decode()
    assert not Disbursement.objects.exists()

    _act(
        officer_admin,
        "award",
        "schedule_disbursement",
        [award],
        apply="1",
        category="Personnel",
        amount="600.00",
        memo="Salaries",
    )

    disbursement = Disbursement.objects.get()
    assert (disbursement.amount, disbursement.scheduled_by_id) == (Decimal("600.00"), 3)


def test_awards_are_closed_out_from_the_admin(officer_admin):
    award = factories.reported(factories.award())

    _act(officer_admin, "award", "close_awards", [award])

    award.refresh_from_db()
    assert award.status == Award.Status.CLOSED
    assert outbox("finance.award_closed")[0]["deobligated_amount"] == "1000.00"


def test_a_caseworker_may_look_but_not_move_money(caseworker_admin):
    award = factories.award()
    request = factories.reimbursement(award)

    assert caseworker_admin.get("/admin/finance/award/").status_code == 200
    _act(caseworker_admin, "reimbursementrequest", "approve_requests", [request])
    _act(caseworker_admin, "award", "close_awards", [award])

    request.refresh_from_db()
    award.refresh_from_db()
    assert (request.status, award.status) == ("pending", "active")


def test_a_local_superuser_acts_as_an_administrator():
    admin = User.objects.create_superuser("ops", "ops@hms.example", "not-used-here")
    client = Client()
    client.force_login(admin)
    disbursement = factories.scheduled(factories.award())

    _act(client, "disbursement", "send_payments", [disbursement])

    disbursement.refresh_from_db()
    assert disbursement.status == "sent"


def test_a_local_account_without_a_platform_identity_cannot_act(settings):
    settings.HMS_ADMIN_ROLE_PERMISSIONS = finance_settings.HMS_ADMIN_ROLE_PERMISSIONS
    user = User.objects.create_user(username="local-clerk", is_staff=True)
    staff_permissions_sync(user, "finance_officer")  # permissions alone are not an identity
    client = Client()
    client.force_login(user)
    disbursement = factories.scheduled(factories.award())

    response = _act(client, "disbursement", "send_payments", [disbursement])

    assert response.status_code == 302
    messages = [m.message for m in response.wsgi_request._messages]
    assert any("no platform identity" in message for message in messages)
    disbursement.refresh_from_db()
    assert disbursement.status == "scheduled"


def test_finance_pages_name_recipients_and_officers(officer_admin):
    person_record(service="finance", user_id=5, role="applicant", display_name="Acme Robotics LLC")
    person_record(service="finance", user_id=3, role="finance_officer", display_name="Morgan Patel")
    award = factories.award()
    factories.settled(award, "100.00")
    factories.reimbursement(award)

    pages = {
        path: officer_admin.get(path).content.decode()
        for path in (
            "/admin/finance/award/",
            "/admin/finance/disbursement/",
            "/admin/finance/reimbursementrequest/?status__exact=pending",
            "/admin/finance/ledgerentry/",
            f"/admin/finance/award/{award.pk}/change/",
        )
    }

    for path, html in pages.items():
        if "ledgerentry" not in path:
            assert "Acme Robotics LLC (#5)" in html, path
    assert "Morgan Patel (#3)" in pages["/admin/finance/ledgerentry/"]
    assert "Morgan Patel (#3)" in pages[f"/admin/finance/award/{award.pk}/change/"]


def test_someone_whose_name_has_not_arrived_is_shown_by_id(officer_admin):
    factories.award(applicant_id=77)

    assert "User #77" in officer_admin.get("/admin/finance/award/").content.decode()


def test_the_officer_finds_a_pending_reimbursement_by_name_and_approves_it_from_its_page(
    officer_admin,
):
    person_record(service="finance", user_id=5, role="applicant", display_name="Acme Robotics LLC")
    acme = factories.award(applicant_id=5)
    other = factories.award(applicant_id=77)
    wanted = factories.reimbursement(acme, "250.00")
    factories.reimbursement(other, "99.00")
    queue = "/admin/finance/reimbursementrequest/"

    found = list(officer_admin.get(queue, {"q": "acme"}).context["cl"].result_list)
    page = officer_admin.get(f"{queue}{wanted.pk}/change/")
    labels = [button.label for button in page.context["object_actions"]]
    approved = officer_admin.post(f"{queue}{wanted.pk}/do/approve_requests/")
    after = officer_admin.get(f"{queue}{wanted.pk}/change/")

    assert found == [wanted]
    assert labels == ["Approve and schedule payment", "Reject"]
    assert "$250.00" in page.content.decode()
    assert approved.status_code == 302
    wanted.refresh_from_db()
    assert wanted.status == ReimbursementRequest.Status.APPROVED
    assert wanted.disbursement.amount == Decimal("250.00")
    assert after.context["object_actions"] == []  # decided: nothing more to do here


def test_a_payment_page_offers_the_step_its_state_allows(officer_admin, caseworker_admin):
    award = factories.award()
    scheduled = factories.scheduled(award, "40.00")
    sent = factories.sent(award, "60.00")
    page = "/admin/finance/disbursement/{}/change/"

    def labels(client, disbursement):
        return [b.label for b in client.get(page.format(disbursement.pk)).context["object_actions"]]

    assert labels(officer_admin, scheduled) == ["Mark as sent"]
    assert labels(officer_admin, sent) == ["Mark as settled", "Mark as failed"]
    award_page = officer_admin.get(f"/admin/finance/award/{award.pk}/change/")
    assert [b.label for b in award_page.context["object_actions"]] == [
        "Schedule a disbursement",
        "Supplement or de-obligate",
        "Attach a document",
        "Close out",
    ]
    refused = officer_admin.post(f"/admin/finance/disbursement/{scheduled.pk}/do/settle_payments/")
    scheduled.refresh_from_db()
    assert refused.status_code == 302 and scheduled.status == Disbursement.Status.SCHEDULED


@pytest.mark.parametrize(
    "action", ["schedule_disbursement", "propose_amendment", "attach_document"]
)
def test_an_action_on_one_award_refuses_several_and_changes_nothing(officer_admin, action):
    awards = [factories.award(), factories.award()]

    response = _act(officer_admin, "award", action, awards)

    assert response.status_code == 302
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    assert shown == ["Select exactly one award."]
    assert not Disbursement.objects.exists() and not Amendment.objects.exists()
    assert not AwardDocument.objects.exists()
