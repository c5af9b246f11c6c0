"""grant.approved obligates exactly one award per application, however often it arrives."""

import json
from decimal import Decimal

import pytest

from apps.finance import services
from apps.finance.handlers import (
    HANDLERS,
    obligate_awards_for_approved_grants,
    person_changed,
    tokens_revoked,
)
from apps.finance.models import Award, EntryKind, LedgerEntry
from apps.finance.selectors import award_balances
from hms.bus.inbox import DUPLICATE, HANDLED, Applying, HandlerFailed, process_envelope
from hms.bus.models import InboxEvent, OutboxEvent
from hms.db import database_for
from hms.events import event_class
from hms.events.grants import GrantApproved
from hms.events.users import StaffUpdated, TokensRevoked, UserRegistered, UserUpdated
from tests.finance import factories
from tests.finance.factories import grant_approved_envelope, outbox

pytestmark = pytest.mark.django_db(databases="__all__")


def test_the_handler_table_wires_grant_approved_to_the_obligation_and_people_to_names():
    assert {
        GrantApproved: [obligate_awards_for_approved_grants],
        UserRegistered: [person_changed],
        UserUpdated: [person_changed],
        StaffUpdated: [person_changed],
        TokensRevoked: [tokens_revoked],
    } == HANDLERS


def test_grant_approved_obligates_an_award_with_its_budget_and_ledger():
    envelope = grant_approved_envelope(application_id=41, awarded_amount="900.00")

    assert process_envelope("finance", envelope) == HANDLED

    award = Award.objects.get(application_id=41)
    assert (award.applicant_id, award.program_code, award.tracking_number) == (
        5,
        "SBA-SBIR-2027-01",
        "HMS-2027-000041",
    )
    assert award.awarded_amount == Decimal("900.00")
    assert {c.name: c.budgeted_amount for c in award.categories.all()} == {
        "Personnel": Decimal("600.00"),
        "Travel": Decimal("400.00"),
    }
    obligations = LedgerEntry.objects.filter(award=award, kind=EntryKind.OBLIGATION)
    assert {e.category.name: e.amount for e in obligations} == {
        "Personnel": Decimal("540.00"),
        "Travel": Decimal("360.00"),
    }
    assert award_balances(award=award).obligated == Decimal("900.00")
    assert outbox("finance.award_obligated") == [
        {
            "award_id": award.pk,
            "application_id": 41,
            "applicant_id": 5,
            "program_code": "SBA-SBIR-2027-01",
            "amount": "900.00",
        }
    ]


def test_the_same_event_delivered_twice_creates_one_award():
    envelope = grant_approved_envelope(application_id=42)

    assert process_envelope("finance", envelope) == HANDLED
    assert process_envelope("finance", envelope) == DUPLICATE

    assert Award.objects.filter(application_id=42).count() == 1
    assert LedgerEntry.objects.filter(award__application_id=42).count() == 2
    assert len(outbox("finance.award_obligated")) == 1


def test_two_approvals_of_one_application_create_one_award_and_the_first_stands():
    assert process_envelope("finance", grant_approved_envelope(application_id=43)) == HANDLED
    second = grant_approved_envelope(application_id=43, awarded_amount="500.00")
    assert process_envelope("finance", second) == HANDLED

    award = Award.objects.get(application_id=43)
    assert award.awarded_amount == Decimal("1000.00")
    assert award_balances(award=award).obligated == Decimal("1000.00")
    assert len(outbox("finance.award_obligated")) == 1


def test_calling_the_handler_directly_twice_is_also_safe():
    event = GrantApproved.model_validate(grant_approved_envelope(application_id=44)["payload"])

    obligate_awards_for_approved_grants([Applying(event, "e-1", "c-1")])
    obligate_awards_for_approved_grants([Applying(event, "e-1", "c-1")])

    assert Award.objects.filter(application_id=44).count() == 1


def test_every_published_finance_event_round_trips_through_json():
    award = factories.reported(factories.award())
    disbursement = factories.sent(award)
    services.disbursement_fail(
        actor=factories.OFFICER, disbursement_id=disbursement.pk, reason="Bounced"
    )
    services.reimbursement_reject(
        actor=factories.OFFICER,
        reimbursement_id=factories.reimbursement(award).pk,
        reason="No receipt",
    )
    services.award_close(actor=factories.OFFICER, award_id=award.pk)

    rows = OutboxEvent.objects.using(database_for("finance")).order_by("id")
    assert [row.event_type for row in rows] == [
        "finance.award_obligated",
        "finance.payment_disbursed",
        "finance.payment_failed",
        "finance.reimbursement_decided",
        "finance.award_closed",
    ]
    for row in rows:
        wire = json.loads(json.dumps(row.envelope))
        event = event_class(wire["event_type"], wire["version"]).model_validate(wire["payload"])
        assert event.model_dump(mode="json") == wire["payload"]


def test_an_approval_that_cannot_be_obligated_leaves_nothing_behind():
    envelope = grant_approved_envelope(
        application_id=45, budget=(("Personnel", "1200.00"), ("Refund", "-200.00"))
    )

    with pytest.raises(HandlerFailed):
        process_envelope("finance", envelope)

    assert not Award.objects.filter(application_id=45).exists()
    assert outbox() == []
    assert not InboxEvent.objects.using(database_for("finance")).exists()
