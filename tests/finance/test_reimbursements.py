"""Reimbursement requests: the recipient files, a finance officer approves or rejects."""

from decimal import Decimal

import pytest

from apps.finance import services
from apps.finance.models import Disbursement, ReimbursementRequest
from apps.finance.selectors import award_balances
from hms.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tests.finance import factories
from tests.finance.factories import CASEWORKER, OFFICER, OTHER_RECIPIENT_ID, outbox, recipient

pytestmark = pytest.mark.django_db(databases="__all__")


def test_the_recipient_files_a_request_against_a_budget_category():
    award = factories.award()

    request = services.reimbursement_request_create(
        actor=recipient(),
        award_id=award.pk,
        category="travel",
        amount=Decimal("250.00"),
        description="  Flights to the kickoff  ",
    )

    assert request.status == ReimbursementRequest.Status.PENDING
    assert (request.category.name, request.amount, request.description) == (
        "Travel",
        Decimal("250.00"),
        "Flights to the kickoff",
    )
    assert request.requested_by_id == factories.RECIPIENT_ID
    # Filing moves no money and announces nothing yet.
    assert award_balances(award=award).pending == Decimal("0.00")
    assert outbox("finance.reimbursement_decided") == []


def test_someone_elses_award_is_not_found_and_staff_do_not_file():
    award = factories.award()

    with pytest.raises(NotFound):
        services.reimbursement_request_create(
            actor=recipient(OTHER_RECIPIENT_ID),
            award_id=award.pk,
            category="Travel",
            amount=Decimal("1.00"),
            description="Not mine",
        )
    with pytest.raises(PermissionDenied):
        services.reimbursement_request_create(
            actor=OFFICER,
            award_id=award.pk,
            category="Travel",
            amount=Decimal("1.00"),
            description="Staff",
        )
    assert ReimbursementRequest.objects.count() == 0


@pytest.mark.parametrize(
    ("amount", "category", "description"),
    [
        ("0.00", "Travel", "Zero"),
        ("-5.00", "Travel", "Negative"),
        ("400.01", "Travel", "More than the category holds"),
        ("10.00", "Catering", "No such category"),
        ("10.00", "Travel", "   "),
    ],
)
def test_a_request_that_could_never_be_paid_is_refused(amount, category, description):
    award = factories.award()

    with pytest.raises(ValidationFailed):
        factories.reimbursement(award, amount, category, description)

    assert ReimbursementRequest.objects.count() == 0


def test_approval_schedules_a_disbursement_and_publishes_the_decision():
    award = factories.award()
    request = factories.reimbursement(award, "250.00")

    request = services.reimbursement_approve(actor=OFFICER, reimbursement_id=request.pk)

    assert request.status == ReimbursementRequest.Status.APPROVED
    assert request.decided_by_id == OFFICER.user_id and request.decided_at is not None
    disbursement = request.disbursement
    assert (disbursement.status, disbursement.amount, disbursement.category.name) == (
        Disbursement.Status.SCHEDULED,
        Decimal("250.00"),
        "Travel",
    )
    assert award_balances(award=award).pending == Decimal("250.00")
    assert outbox("finance.reimbursement_decided") == [
        {
            "reimbursement_id": request.pk,
            "award_id": award.pk,
            "applicant_id": award.applicant_id,
            "decision": "approved",
            "amount": "250.00",
            "reason": "",
            "disbursement_id": disbursement.pk,
        }
    ]


def test_approval_that_would_overdraw_the_category_is_refused_and_the_request_stays_pending():
    award = factories.award()
    first = factories.reimbursement(award, "300.00")
    second = factories.reimbursement(award, "300.00")
    services.reimbursement_approve(actor=OFFICER, reimbursement_id=first.pk)

    with pytest.raises(ValidationFailed) as refusal:
        services.reimbursement_approve(actor=OFFICER, reimbursement_id=second.pk)

    assert refusal.value.code == "insufficient_funds"
    second.refresh_from_db()
    assert second.status == ReimbursementRequest.Status.PENDING
    assert Disbursement.objects.filter(award=award).count() == 1
    assert len(outbox("finance.reimbursement_decided")) == 1


def test_rejection_needs_a_reason_and_publishes_it():
    award = factories.award()
    request = factories.reimbursement(award, "80.00")

    with pytest.raises(ValidationFailed):
        services.reimbursement_reject(actor=OFFICER, reimbursement_id=request.pk, reason=" ")
    request = services.reimbursement_reject(
        actor=OFFICER, reimbursement_id=request.pk, reason="No receipt attached"
    )

    assert (request.status, request.rejection_reason) == ("rejected", "No receipt attached")
    assert request.disbursement is None
    [payload] = outbox("finance.reimbursement_decided")
    assert (payload["decision"], payload["reason"], payload["disbursement_id"]) == (
        "rejected",
        "No receipt attached",
        None,
    )
    assert award_balances(award=award).pending == Decimal("0.00")


def test_a_decided_request_cannot_be_decided_again():
    award = factories.award()
    approved = factories.reimbursement(award)
    rejected = factories.reimbursement(award)
    services.reimbursement_approve(actor=OFFICER, reimbursement_id=approved.pk)
    services.reimbursement_reject(actor=OFFICER, reimbursement_id=rejected.pk, reason="Duplicate")

    for request in (approved, rejected):
        with pytest.raises(Conflict):
            services.reimbursement_approve(actor=OFFICER, reimbursement_id=request.pk)
        with pytest.raises(Conflict):
            services.reimbursement_reject(actor=OFFICER, reimbursement_id=request.pk, reason="x")
    assert Disbursement.objects.filter(award=award).count() == 1
    assert len(outbox("finance.reimbursement_decided")) == 2


def test_only_finance_officers_decide():
    request = factories.reimbursement(factories.award())

    for actor in (CASEWORKER, recipient()):
        with pytest.raises(PermissionDenied):
            services.reimbursement_approve(actor=actor, reimbursement_id=request.pk)
        with pytest.raises(PermissionDenied):
            services.reimbursement_reject(actor=actor, reimbursement_id=request.pk, reason="x")
    request.refresh_from_db()
    assert request.status == "pending"
