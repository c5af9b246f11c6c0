"""Disbursements: scheduled -> sent -> settled, or failed; the ledger never overdraws."""

from decimal import Decimal

import pytest

from apps.finance import services
from apps.finance.models import Disbursement, EntryKind, LedgerEntry
from apps.finance.selectors import Balances, award_balances, categories_with_balances
from hms.db import service_atomic
from hms.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tests.finance import factories
from tests.finance.factories import CASEWORKER, OFFICER, outbox, recipient

pytestmark = pytest.mark.django_db(databases="__all__")


def _category_balances(award) -> dict[str, Balances]:
    return {c.name: Balances.of(c) for c in categories_with_balances(award.categories.all())}


def _snapshot(award):
    return (
        award_balances(award=award),
        LedgerEntry.objects.filter(award=award).count(),
        Disbursement.objects.filter(award=award).count(),
        len(outbox()),
    )


def test_scheduling_reserves_the_amount_as_pending():
    award = factories.award()

    disbursement = factories.scheduled(award, "150.00", "Personnel")

    assert disbursement.status == Disbursement.Status.SCHEDULED
    assert award_balances(award=award) == Balances(
        Decimal("1000.00"), Decimal("0.00"), Decimal("150.00"), Decimal("850.00")
    )
    entry = LedgerEntry.objects.get(disbursement=disbursement)
    assert (entry.kind, entry.credit_account, entry.debit_account, entry.recorded_by_id) == (
        EntryKind.RESERVATION,
        "available",
        "pending",
        OFFICER.user_id,
    )


def test_more_than_a_category_holds_is_refused_and_nothing_changes():
    award = factories.award()
    factories.scheduled(award, "500.00", "Personnel")
    before = _snapshot(award)

    with pytest.raises(ValidationFailed) as refusal:
        factories.scheduled(award, "100.01", "Personnel")

    assert refusal.value.code == "insufficient_funds"
    assert _snapshot(award) == before


def test_a_category_cannot_borrow_from_another_even_when_the_award_has_money():
    award = factories.award()

    with pytest.raises(ValidationFailed):
        factories.scheduled(award, "400.01", "Travel")

    assert award_balances(award=award).pending == Decimal("0.00")


def test_the_whole_award_can_be_paid_but_not_a_cent_more():
    award = factories.award()
    factories.settled(award, "600.00", "Personnel")
    factories.scheduled(award, "400.00", "Travel")

    for category in ("Personnel", "Travel"):
        with pytest.raises(ValidationFailed):
            factories.scheduled(award, "0.01", category)
    assert award_balances(award=award) == Balances(
        Decimal("1000.00"), Decimal("600.00"), Decimal("400.00"), Decimal("0.00")
    )


@pytest.mark.parametrize("amount", ["0", "0.00", "-10.00", "1.001", "NaN", "abc", "1e20"])
def test_amounts_that_are_not_positive_cents_are_refused(amount):
    award = factories.award()

    with pytest.raises(ValidationFailed):
        services.disbursement_schedule(
            actor=OFFICER, award_id=award.pk, category="Personnel", amount=amount
        )

    assert Disbursement.objects.count() == 0


def test_an_unknown_category_is_refused():
    award = factories.award()

    with pytest.raises(ValidationFailed) as refusal:
        factories.scheduled(award, "10.00", "Catering")

    assert "category" in refusal.value.fields


def test_only_finance_officers_and_administrators_move_money():
    award = factories.award()

    for actor in (CASEWORKER, recipient()):
        with pytest.raises(PermissionDenied):
            services.disbursement_schedule(
                actor=actor, award_id=award.pk, category="Travel", amount=Decimal("1.00")
            )
    disbursement = services.disbursement_schedule(
        actor=factories.ADMINISTRATOR, award_id=award.pk, category="Travel", amount=Decimal("1.00")
    )
    for action in (services.disbursement_send, services.disbursement_settle):
        with pytest.raises(PermissionDenied):
            action(actor=CASEWORKER, disbursement_id=disbursement.pk)
    with pytest.raises(PermissionDenied):
        services.disbursement_fail(actor=CASEWORKER, disbursement_id=disbursement.pk, reason="x")


def test_an_unknown_award_or_disbursement_is_not_found():
    with pytest.raises(NotFound):
        services.disbursement_schedule(
            actor=OFFICER, award_id=999_999, category="Travel", amount=Decimal("1.00")
        )
    with pytest.raises(NotFound):
        services.disbursement_send(actor=OFFICER, disbursement_id=999_999)


def test_sending_publishes_payment_disbursed_and_keeps_the_amount_pending():
    award = factories.award()
    disbursement = factories.scheduled(award, "120.00")

    services.disbursement_send(
        actor=OFFICER, disbursement_id=disbursement.pk, payment_reference="ACH-1"
    )

    disbursement.refresh_from_db()
    assert (disbursement.status, disbursement.payment_reference) == ("sent", "ACH-1")
    assert disbursement.sent_at is not None
    assert award_balances(award=award).pending == Decimal("120.00")
    assert outbox("finance.payment_disbursed") == [
        {
            "disbursement_id": disbursement.pk,
            "award_id": award.pk,
            "application_id": award.application_id,
            "applicant_id": award.applicant_id,
            "amount": "120.00",
        }
    ]


def test_settling_moves_the_amount_from_pending_to_disbursed():
    award = factories.award()

    disbursement = factories.settled(award, "120.00")

    assert disbursement.status == "settled"
    assert award_balances(award=award) == Balances(
        Decimal("1000.00"), Decimal("120.00"), Decimal("0.00"), Decimal("880.00")
    )
    assert _category_balances(award)["Personnel"].disbursed == Decimal("120.00")


def test_a_scheduled_payment_cannot_settle_before_it_is_sent():
    disbursement = factories.scheduled(factories.award())

    with pytest.raises(Conflict):
        services.disbursement_settle(actor=OFFICER, disbursement_id=disbursement.pk)


def test_a_settled_disbursement_is_never_changed():
    award = factories.award()
    disbursement = factories.settled(award, "120.00")
    before = _snapshot(award)

    for action in (services.disbursement_send, services.disbursement_settle):
        with pytest.raises(Conflict) as refusal:
            action(actor=OFFICER, disbursement_id=disbursement.pk)
        assert refusal.value.code == "disbursement_settled"
    with pytest.raises(Conflict):
        services.disbursement_fail(actor=OFFICER, disbursement_id=disbursement.pk, reason="Oops")

    assert _snapshot(award) == before
    disbursement.refresh_from_db()
    assert disbursement.status == "settled"


def test_a_correction_to_a_settled_payment_is_a_new_entry():
    award = factories.award()
    disbursement = factories.settled(award, "120.00")

    entry = services.disbursement_recover(
        actor=OFFICER, disbursement_id=disbursement.pk, amount=Decimal("20.00"), reason="Overpaid"
    )

    assert (entry.kind, entry.amount, entry.credit_account, entry.debit_account) == (
        EntryKind.RECOVERY,
        Decimal("20.00"),
        "disbursed",
        "available",
    )
    disbursement.refresh_from_db()
    assert (disbursement.status, disbursement.amount) == ("settled", Decimal("120.00"))
    assert award_balances(award=award) == Balances(
        Decimal("1000.00"), Decimal("100.00"), Decimal("0.00"), Decimal("900.00")
    )
    with pytest.raises(ValidationFailed):
        services.disbursement_recover(
            actor=OFFICER,
            disbursement_id=disbursement.pk,
            amount=Decimal("100.01"),
            reason="More than was paid",
        )


@pytest.mark.parametrize("make", [factories.scheduled, factories.sent])
def test_a_failed_payment_returns_its_amount_to_the_balance(make):
    award = factories.award()
    disbursement = make(award, "300.00", "Personnel")

    services.disbursement_fail(
        actor=OFFICER, disbursement_id=disbursement.pk, reason="Account closed"
    )

    disbursement.refresh_from_db()
    assert (disbursement.status, disbursement.failure_reason) == ("failed", "Account closed")
    assert award_balances(award=award) == Balances(
        Decimal("1000.00"), Decimal("0.00"), Decimal("0.00"), Decimal("1000.00")
    )
    assert _category_balances(award)["Personnel"].remaining == Decimal("600.00")
    assert outbox("finance.payment_failed") == [
        {
            "disbursement_id": disbursement.pk,
            "award_id": award.pk,
            "application_id": award.application_id,
            "applicant_id": award.applicant_id,
            "amount": "300.00",
            "reason": "Account closed",
        }
    ]
    # The money can be scheduled again.
    factories.scheduled(award, "600.00", "Personnel")


def test_a_failure_needs_a_reason_and_a_failed_payment_is_final():
    disbursement = factories.scheduled(factories.award())

    with pytest.raises(ValidationFailed):
        services.disbursement_fail(actor=OFFICER, disbursement_id=disbursement.pk, reason="  ")
    services.disbursement_fail(actor=OFFICER, disbursement_id=disbursement.pk, reason="Bounced")
    for action in (services.disbursement_send, services.disbursement_settle):
        with pytest.raises(Conflict):
            action(actor=OFFICER, disbursement_id=disbursement.pk)
    with pytest.raises(Conflict):
        services.disbursement_fail(actor=OFFICER, disbursement_id=disbursement.pk, reason="Again")
    assert LedgerEntry.objects.filter(disbursement=disbursement, kind="release").count() == 1


def test_a_rolled_back_send_publishes_nothing_and_changes_nothing():
    award = factories.award()
    disbursement = factories.scheduled(award)
    events_before = len(outbox())

    with pytest.raises(RuntimeError), service_atomic("finance"):
        services.disbursement_send(actor=OFFICER, disbursement_id=disbursement.pk)
        raise RuntimeError("the bank file could not be written")

    disbursement.refresh_from_db()
    assert disbursement.status == "scheduled"
    assert len(outbox()) == events_before
