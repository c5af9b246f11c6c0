"""Closeout: what remains is de-obligated by a ledger entry and the Grant Service is told."""

from decimal import Decimal

import pytest

from apps.finance import services
from apps.finance.models import Award, EntryKind, LedgerEntry
from apps.finance.selectors import Balances, award_balances
from hms.errors import Conflict, PermissionDenied, ValidationFailed
from tests.finance import factories
from tests.finance.factories import CASEWORKER, OFFICER, outbox

pytestmark = pytest.mark.django_db(databases="__all__")


def test_closing_deobligates_what_remains_in_each_category_and_publishes():
    award = factories.reported(factories.award())
    factories.settled(award, "100.00", "Personnel")
    failed = factories.scheduled(award, "50.00", "Travel")
    services.disbursement_fail(actor=OFFICER, disbursement_id=failed.pk, reason="Bounced")

    closed = services.award_close(actor=OFFICER, award_id=award.pk, note="Work complete")

    assert closed.status == Award.Status.CLOSED
    assert (closed.closed_by_id, closed.closeout_note) == (OFFICER.user_id, "Work complete")
    deobligations = LedgerEntry.objects.filter(award=award, kind=EntryKind.DEOBLIGATION)
    assert {e.category.name: e.amount for e in deobligations} == {
        "Personnel": Decimal("500.00"),
        "Travel": Decimal("400.00"),
    }
    assert award_balances(award=award) == Balances(
        obligated=Decimal("100.00"),
        disbursed=Decimal("100.00"),
        pending=Decimal("0.00"),
        remaining=Decimal("0.00"),
    )
    assert outbox("finance.award_closed") == [
        {
            "award_id": award.pk,
            "application_id": award.application_id,
            "applicant_id": award.applicant_id,
            "deobligated_amount": "900.00",
        }
    ]


def test_a_fully_spent_award_closes_with_nothing_to_deobligate():
    award = factories.reported(factories.award(amount="100.00", budget=(("Personnel", "100.00"),)))
    factories.settled(award, "100.00", "Personnel")

    services.award_close(actor=OFFICER, award_id=award.pk)

    assert not LedgerEntry.objects.filter(award=award, kind=EntryKind.DEOBLIGATION).exists()
    assert outbox("finance.award_closed")[0]["deobligated_amount"] == "0.00"


@pytest.mark.parametrize("make", [factories.scheduled, factories.sent])
def test_an_award_with_pending_payments_cannot_close(make):
    award = factories.reported(factories.award())
    make(award)

    with pytest.raises(ValidationFailed) as refusal:
        services.award_close(actor=OFFICER, award_id=award.pk)

    assert refusal.value.code == "pending_disbursements"
    award.refresh_from_db()
    assert award.status == Award.Status.ACTIVE
    assert outbox("finance.award_closed") == []


def test_an_award_with_undecided_reimbursement_requests_cannot_close():
    award = factories.reported(factories.award())
    factories.reimbursement(award)

    with pytest.raises(ValidationFailed) as refusal:
        services.award_close(actor=OFFICER, award_id=award.pk)

    assert refusal.value.code == "pending_reimbursements"


def test_a_closed_award_moves_no_more_money_and_cannot_close_twice():
    award = factories.reported(factories.award())
    settled = factories.settled(award)
    services.award_close(actor=OFFICER, award_id=award.pk)

    with pytest.raises(ValidationFailed):
        factories.scheduled(award, "1.00")
    with pytest.raises(ValidationFailed):
        factories.reimbursement(award, "1.00")
    with pytest.raises(ValidationFailed):
        services.disbursement_recover(
            actor=OFFICER, disbursement_id=settled.pk, amount=Decimal("1.00"), reason="Late"
        )
    with pytest.raises(Conflict):
        services.award_close(actor=OFFICER, award_id=award.pk)
    assert len(outbox("finance.award_closed")) == 1


def test_only_finance_officers_close_awards():
    award = factories.reported(factories.award())

    with pytest.raises(PermissionDenied):
        services.award_close(actor=CASEWORKER, award_id=award.pk)

    award.refresh_from_db()
    assert award.status == Award.Status.ACTIVE
