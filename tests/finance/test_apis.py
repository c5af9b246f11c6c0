"""The HTTP API: visibility (404 for others), role checks, balances, errors, pagination."""

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from apps.finance import services
from apps.finance.models import Disbursement, LedgerEntry, ReimbursementRequest
from hms.db import database_for
from tests.finance import factories
from tests.finance.factories import OFFICER, OTHER_RECIPIENT_ID, RECIPIENT_ID, outbox
from tests.problems import fields, problem

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture
def officer(client_as):
    return client_as(3, "finance_officer", None)


@pytest.fixture
def caseworker(client_as):
    return client_as(2, "caseworker", None)


@pytest.fixture
def owner(client_as):
    return client_as(RECIPIENT_ID, "applicant", "business")


@pytest.fixture
def stranger(client_as):
    return client_as(OTHER_RECIPIENT_ID, "applicant", "individual")


# ------------------------------------------------------------------------------------------------
# Awards
# ------------------------------------------------------------------------------------------------
def test_a_recipient_lists_only_their_own_awards_with_balances(owner):
    mine = factories.award()
    factories.settled(mine, "100.00")
    factories.scheduled(mine, "50.00", "Travel")
    factories.award(applicant_id=OTHER_RECIPIENT_ID)

    response = owner.get("/finance/awards")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    [row] = body["results"]
    assert row["id"] == mine.pk
    assert row["application_id"] == mine.application_id
    assert row["awarded_amount"] == "1000.00"
    assert row["balances"] == {
        "obligated": "1000.00",
        "disbursed": "100.00",
        "pending": "50.00",
        "remaining": "850.00",
    }


def test_an_applicant_filtering_for_someone_else_sees_nothing(owner):
    factories.award(applicant_id=OTHER_RECIPIENT_ID)

    response = owner.get(f"/finance/awards?applicant={OTHER_RECIPIENT_ID}")

    assert response.status_code == 200
    assert response.json()["results"] == []


def test_staff_list_every_award_and_filter_by_applicant(caseworker):
    mine = factories.award()
    theirs = factories.award(applicant_id=OTHER_RECIPIENT_ID)

    everything = caseworker.get("/finance/awards").json()
    filtered = caseworker.get(f"/finance/awards?applicant={OTHER_RECIPIENT_ID}").json()

    assert {row["id"] for row in everything["results"]} == {mine.pk, theirs.pk}
    assert [row["id"] for row in filtered["results"]] == [theirs.pk]


def test_one_recipients_awards_as_status_reads_them_are_theirs_alone(owner, caseworker):
    mine = factories.award()
    factories.settled(mine, "100.00")
    factories.award(applicant_id=OTHER_RECIPIENT_ID)
    path = f"/finance/awards?applicant={RECIPIENT_ID}&page_size=100"

    own, staff = owner.get(path).json(), caseworker.get(path).json()

    assert [row["id"] for row in own["results"]] == [mine.pk]
    assert [row["id"] for row in staff["results"]] == [mine.pk]
    assert own["results"][0]["balances"]["disbursed"] == "100.00"
    for invalid in ("0", "-3", "1.5", str(2**63), ""):
        response = caseworker.get(f"/finance/awards?applicant={invalid}")
        assert response.status_code == (200 if invalid == "" else 400), invalid


def test_award_filters_are_validated(officer):
    assert officer.get("/finance/awards?applicant=abc").status_code == 400
    response = officer.get("/finance/awards?status=lost")
    assert response.status_code == 400
    assert "status" in fields(response)


def test_the_award_list_is_one_query_however_many_awards(officer):
    def queries_for_list() -> int:
        with CaptureQueriesContext(connections[database_for("finance")]) as captured:
            assert officer.get("/finance/awards?page_size=100").status_code == 200
        return len(captured.captured_queries)

    award = factories.award()
    factories.settled(award)
    few = queries_for_list()
    for _ in range(5):
        factories.settled(factories.award(), "10.00")

    assert queries_for_list() == few <= 2  # the page and its balances


def test_each_award_of_a_page_has_its_own_balances_and_an_empty_page_reads_no_ledger(officer):
    spent, untouched = factories.award(), factories.award(applicant_id=OTHER_RECIPIENT_ID)
    factories.settled(spent, "100.00")
    factories.scheduled(spent, "40.00", "Travel")

    rows = {row["id"]: row["balances"] for row in officer.get("/finance/awards").json()["results"]}
    with CaptureQueriesContext(connections[database_for("finance")]) as captured:
        empty = officer.get("/finance/awards?applicant=999999")

    assert rows[spent.pk] == {
        "obligated": "1000.00",
        "disbursed": "100.00",
        "pending": "40.00",
        "remaining": "860.00",
    }
    assert rows[untouched.pk] == {
        "obligated": "1000.00",
        "disbursed": "0.00",
        "pending": "0.00",
        "remaining": "1000.00",
    }
    assert empty.json()["results"] == []
    assert [query["sql"] for query in captured if "ledgerentry" in query["sql"]] == []


def test_the_award_list_is_paginated(officer):
    for _ in range(3):
        factories.award()

    body = officer.get("/finance/awards?page_size=2").json()

    assert body["count"] == 3
    assert len(body["results"]) == 2
    assert body["next"] is not None


def test_award_detail_has_balances_per_category(owner):
    award = factories.award()
    factories.settled(award, "100.00", "Personnel")
    factories.scheduled(award, "40.00", "Travel")

    response = owner.get(f"/finance/awards/{award.pk}")

    assert response.status_code == 200
    body = response.json()
    assert body["balances"]["remaining"] == "860.00"
    assert body["categories"] == [
        {
            "name": "Personnel",
            "budgeted_amount": "600.00",
            "approved_amount": "600.00",
            "balances": {
                "obligated": "600.00",
                "disbursed": "100.00",
                "pending": "0.00",
                "remaining": "500.00",
            },
        },
        {
            "name": "Travel",
            "budgeted_amount": "400.00",
            "approved_amount": "400.00",
            "balances": {
                "obligated": "400.00",
                "disbursed": "0.00",
                "pending": "40.00",
                "remaining": "360.00",
            },
        },
    ]


def test_someone_elses_award_and_its_ledger_are_not_found(stranger):
    award = factories.award()

    for path in (f"/finance/awards/{award.pk}", f"/finance/awards/{award.pk}/ledger"):
        response = stranger.get(path)
        assert response.status_code == 404
        assert problem(response)["code"] == "not_found"


def test_the_recipient_reads_the_ledger_of_their_award(owner):
    award = factories.award()
    factories.settled(award, "100.00")

    body = owner.get(f"/finance/awards/{award.pk}/ledger").json()

    assert [(row["kind"], row["amount"]) for row in body["results"]] == [
        ("obligation", "600.00"),
        ("obligation", "400.00"),
        ("reservation", "100.00"),
        ("settlement", "100.00"),
    ]


def test_requests_without_a_token_are_refused(api_client):
    assert api_client.get("/finance/awards").status_code == 401


# ------------------------------------------------------------------------------------------------
# Disbursements
# ------------------------------------------------------------------------------------------------
def test_disbursement_lists_never_contain_someone_elses(owner, stranger, officer):
    mine = factories.scheduled(factories.award())
    theirs = factories.scheduled(factories.award(applicant_id=OTHER_RECIPIENT_ID))

    assert [row["id"] for row in owner.get("/finance/disbursements").json()["results"]] == [mine.pk]
    assert [row["id"] for row in stranger.get("/finance/disbursements").json()["results"]] == [
        theirs.pk
    ]
    assert officer.get("/finance/disbursements").json()["count"] == 2
    assert owner.get(f"/finance/disbursements/{theirs.pk}").status_code == 404
    assert owner.get(f"/finance/disbursements/{mine.pk}").status_code == 200


def test_an_officer_schedules_sends_and_settles_through_the_api(officer, owner):
    award = factories.award()

    created = officer.post(
        "/finance/disbursements",
        {"award": award.pk, "category": "Personnel", "amount": "150.00", "memo": "Salaries"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    disbursement_id = created.json()["id"]
    assert created.json()["status"] == "scheduled"

    sent = officer.post(
        f"/finance/disbursements/{disbursement_id}/send",
        {"payment_reference": "ACH-9"},
        format="json",
    )
    assert (sent.status_code, sent.json()["status"]) == (200, "sent")
    settled = officer.post(f"/finance/disbursements/{disbursement_id}/settle")
    assert (settled.status_code, settled.json()["status"]) == (200, "settled")

    again = officer.post(f"/finance/disbursements/{disbursement_id}/fail", {"reason": "x"})
    assert again.status_code == 409
    assert problem(again)["code"] == "disbursement_settled"

    balances = owner.get(f"/finance/awards/{award.pk}").json()["balances"]
    assert balances == {
        "obligated": "1000.00",
        "disbursed": "150.00",
        "pending": "0.00",
        "remaining": "850.00",
    }
    assert [row["status"] for row in owner.get("/finance/disbursements").json()["results"]] == [
        "settled"
    ]


def test_a_failed_payment_returns_its_amount_through_the_api(officer):
    award = factories.award()
    disbursement = factories.sent(award, "200.00")

    assert officer.post(f"/finance/disbursements/{disbursement.pk}/fail", {}).status_code == 400
    response = officer.post(
        f"/finance/disbursements/{disbursement.pk}/fail", {"reason": "Bank returned it"}
    )

    assert (response.status_code, response.json()["status"]) == (200, "failed")
    body = officer.get(f"/finance/awards/{award.pk}").json()
    assert body["balances"]["remaining"] == "1000.00"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"category": "Personnel", "amount": "600.01"}, "amount"),  # over the category
        ({"category": "Travel", "amount": "400.01"}, "amount"),
        ({"category": "Personnel", "amount": "0.00"}, "amount"),
        ({"category": "Personnel", "amount": "-1.00"}, "amount"),
        ({"category": "Personnel", "amount": "1.001"}, "amount"),
        ({"category": "Personnel", "amount": "lots"}, "amount"),
        ({"category": "Catering", "amount": "1.00"}, "category"),
        ({"amount": "1.00"}, "category"),
    ],
)
def test_bad_or_over_obligating_schedules_are_400_and_change_nothing(officer, payload, field):
    award = factories.award()
    entries_before = LedgerEntry.objects.count()

    response = officer.post("/finance/disbursements", {"award": award.pk, **payload}, format="json")

    assert response.status_code == 400
    assert field in fields(response)
    assert Disbursement.objects.count() == 0
    assert LedgerEntry.objects.count() == entries_before
    assert outbox("finance.payment_disbursed") == []


def test_over_obligating_the_award_overall_is_refused(officer):
    award = factories.award()
    factories.settled(award, "600.00", "Personnel")
    factories.scheduled(award, "399.00", "Travel")

    response = officer.post(
        "/finance/disbursements",
        {"award": award.pk, "category": "Travel", "amount": "1.01"},
        format="json",
    )

    assert response.status_code == 400
    assert problem(response)["code"] == "insufficient_funds"
    assert Disbursement.objects.filter(award=award).count() == 2


def test_scheduling_against_an_unknown_award_is_404(officer):
    response = officer.post(
        "/finance/disbursements",
        {"award": 999999, "category": "Travel", "amount": "1.00"},
        format="json",
    )

    assert response.status_code == 404


def test_an_officer_records_a_recovery_of_a_settled_payment(officer):
    award = factories.award()
    disbursement = factories.settled(award, "100.00")

    response = officer.post(
        f"/finance/disbursements/{disbursement.pk}/recover",
        {"amount": "30.00", "reason": "Duplicate invoice refunded"},
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["kind"] == "recovery"
    balances = officer.get(f"/finance/awards/{award.pk}").json()["balances"]
    assert (balances["disbursed"], balances["remaining"]) == ("70.00", "930.00")


# ------------------------------------------------------------------------------------------------
# Reimbursement requests
# ------------------------------------------------------------------------------------------------
def test_the_recipient_files_and_reads_their_reimbursement_requests(owner, stranger):
    award = factories.award()

    created = owner.post(
        "/finance/reimbursements",
        {"award": award.pk, "category": "Travel", "amount": "125.50", "description": "Hotel"},
        format="json",
    )

    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["status"], body["amount"], body["category"], body["disbursement"]) == (
        "pending",
        "125.50",
        "Travel",
        None,
    )
    assert owner.get(f"/finance/reimbursements/{body['id']}").status_code == 200
    assert [row["id"] for row in owner.get("/finance/reimbursements").json()["results"]] == [
        body["id"]
    ]
    assert stranger.get(f"/finance/reimbursements/{body['id']}").status_code == 404
    assert stranger.get("/finance/reimbursements").json()["results"] == []


def test_filing_against_someone_elses_award_is_404_and_creates_nothing(stranger):
    award = factories.award()

    response = stranger.post(
        "/finance/reimbursements",
        {"award": award.pk, "category": "Travel", "amount": "10.00", "description": "Mine?"},
        format="json",
    )

    assert response.status_code == 404
    assert ReimbursementRequest.objects.count() == 0


def test_system_fields_sent_by_the_recipient_are_ignored(owner):
    award = factories.award()

    response = owner.post(
        "/finance/reimbursements",
        {
            "award": award.pk,
            "category": "Travel",
            "amount": "10.00",
            "description": "Taxi",
            "status": "approved",
            "disbursement": 1,
            "requested_by_id": 99,
        },
        format="json",
    )

    assert response.status_code == 201
    request = ReimbursementRequest.objects.get()
    assert (request.status, request.disbursement_id, request.requested_by_id) == (
        "pending",
        None,
        RECIPIENT_ID,
    )


def test_an_officer_approves_and_rejects_through_the_api(officer):
    award = factories.award()
    first = factories.reimbursement(award, "100.00")
    second = factories.reimbursement(award, "50.00")

    approved = officer.post(f"/finance/reimbursements/{first.pk}/approve", {}, format="json")
    rejected_without_reason = officer.post(f"/finance/reimbursements/{second.pk}/reject", {})
    rejected = officer.post(
        f"/finance/reimbursements/{second.pk}/reject", {"reason": "Not in budget"}
    )
    twice = officer.post(f"/finance/reimbursements/{first.pk}/approve", {}, format="json")

    assert approved.status_code == 200
    assert approved.json()["status"] == "approved"
    assert approved.json()["disbursement"] is not None
    assert rejected_without_reason.status_code == 400
    assert (rejected.status_code, rejected.json()["rejection_reason"]) == (200, "Not in budget")
    assert twice.status_code == 409
    assert [p["decision"] for p in outbox("finance.reimbursement_decided")] == [
        "approved",
        "rejected",
    ]


def test_officers_see_the_whole_queue_filtered_by_status(officer):
    award = factories.award()
    pending = factories.reimbursement(award)
    decided = factories.reimbursement(award)
    services.reimbursement_reject(actor=OFFICER, reimbursement_id=decided.pk, reason="No")

    body = officer.get("/finance/reimbursements?status=pending").json()

    assert [row["id"] for row in body["results"]] == [pending.pk]


# ------------------------------------------------------------------------------------------------
# Function-level authorization: only finance officers (and administrators) move money
# ------------------------------------------------------------------------------------------------
def _money_moving_calls(award, disbursement, request):
    return [
        ("/finance/disbursements", {"award": award.pk, "category": "Travel", "amount": "1.00"}),
        (f"/finance/disbursements/{disbursement.pk}/send", {}),
        (f"/finance/disbursements/{disbursement.pk}/settle", {}),
        (f"/finance/disbursements/{disbursement.pk}/fail", {"reason": "x"}),
        (f"/finance/disbursements/{disbursement.pk}/recover", {"amount": "1.00", "reason": "x"}),
        (f"/finance/reimbursements/{request.pk}/approve", {}),
        (f"/finance/reimbursements/{request.pk}/reject", {"reason": "x"}),
        (f"/finance/awards/{award.pk}/close", {}),
    ]


@pytest.mark.parametrize("role", ["caseworker", "applicant"])
def test_nobody_but_a_finance_officer_moves_money(client_as, role):
    award = factories.award()
    disbursement = factories.scheduled(award)
    request = factories.reimbursement(award)
    client = client_as(RECIPIENT_ID if role == "applicant" else 2, role, None)
    entries_before = LedgerEntry.objects.count()

    for path, payload in _money_moving_calls(award, disbursement, request):
        response = client.post(path, payload, format="json")
        assert response.status_code == 403, path

    assert LedgerEntry.objects.count() == entries_before
    assert outbox() == outbox("finance.award_obligated")


def test_an_administrator_may_do_what_a_finance_officer_does(client_as):
    award = factories.award()
    admin = client_as(1, "administrator", None)

    response = admin.post(
        "/finance/disbursements",
        {"award": award.pk, "category": "Travel", "amount": "1.00"},
        format="json",
    )

    assert response.status_code == 201


def test_staff_do_not_file_reimbursement_requests(officer):
    award = factories.award()

    response = officer.post(
        "/finance/reimbursements",
        {"award": award.pk, "category": "Travel", "amount": "10.00", "description": "x"},
        format="json",
    )

    assert response.status_code == 403


# ------------------------------------------------------------------------------------------------
# Closeout and schema
# ------------------------------------------------------------------------------------------------
def test_an_officer_closes_an_award_through_the_api(officer):
    award = factories.reported(factories.award())
    factories.settled(award, "100.00")

    response = officer.post(f"/finance/awards/{award.pk}/close", {"note": "Done"}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "closed"
    assert body["balances"] == {
        "obligated": "100.00",
        "disbursed": "100.00",
        "pending": "0.00",
        "remaining": "0.00",
    }
    assert outbox("finance.award_closed")[0]["deobligated_amount"] == "900.00"
    assert officer.post(f"/finance/awards/{award.pk}/close", {}).status_code == 409


def test_closing_with_pending_payments_is_refused(officer):
    award = factories.award()
    factories.scheduled(award)

    response = officer.post(f"/finance/awards/{award.pk}/close", {}, format="json")

    assert response.status_code == 400
    assert problem(response)["code"] == "pending_disbursements"


def test_the_schema_documents_the_finance_api(api_client):
    response = api_client.get("/schema")

    assert response.status_code == 200
    text = response.content.decode()
    for path in (
        "/finance/awards:",
        "/finance/awards/{award_id}:",
        "/finance/disbursements/{disbursement_id}/settle:",
        "/finance/reimbursements/{reimbursement_id}/approve:",
    ):
        assert path in text
    assert "PaginatedAwardList" in text


def test_a_retried_reimbursement_request_is_filed_once(owner):
    award = factories.award()
    body = {"award": award.pk, "category": "Travel", "amount": "125.50", "description": "Hotel"}

    first = owner.post("/finance/reimbursements", body, HTTP_IDEMPOTENCY_KEY="hotel-2027-01")
    retry = owner.post("/finance/reimbursements", body, HTTP_IDEMPOTENCY_KEY="hotel-2027-01")
    changed = owner.post(
        "/finance/reimbursements",
        {**body, "amount": "999.00"},
        HTTP_IDEMPOTENCY_KEY="hotel-2027-01",
    )

    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.json() == first.json() and retry["Idempotent-Replayed"] == "true"
    assert changed.status_code == 422
    assert problem(changed)["code"] == "idempotency_key_reused"
    assert ReimbursementRequest.objects.count() == 1
