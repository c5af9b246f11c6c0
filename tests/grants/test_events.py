"""The events each transition publishes, committed with it (and never without it)."""

import json
from decimal import Decimal

import pytest
from django.db import transaction

from apps.grants import services
from hms.bus.models import OutboxEvent
from hms.db import database_for, service_atomic
from hms.errors import ValidationFailed
from hms.events import event_class
from tests.grants import factories
from tests.grants.factories import CASEWORKER

pytestmark = pytest.mark.django_db(databases="__all__")


def outbox(event_type: str | None = None):
    rows = OutboxEvent.objects.using(database_for("grants")).order_by("id")
    return list(rows.filter(event_type=event_type) if event_type else rows)


def payload(event_type: str) -> dict:
    rows = outbox(event_type)
    assert len(rows) == 1, [row.event_type for row in outbox()]
    row = rows[0]
    # The payload is valid against its declared schema, as a consumer would read it off the wire.
    event_class(row.event_type, row.version).model_validate(
        json.loads(json.dumps(row.envelope["payload"]))
    )
    return row.envelope["payload"]


def test_creating_and_editing_a_draft_publishes_nothing(open_program, business):
    application = factories.draft(program=open_program, actor=business)
    services.application_update(actor=business, application_id=application.pk, title="Edited")

    assert outbox() == []


def test_submitting_publishes_grant_submitted(open_program, business):
    application = factories.submitted(program=open_program, actor=business, requested="12345.67")

    assert payload("grant.submitted") == {
        "application_id": application.pk,
        "applicant_id": business.user_id,
        "program_code": open_program.code,
        "tracking_number": application.tracking_number,
        "requested_amount": "12345.67",
    }
    assert outbox("grant.submitted")[0].aggregate == f"grant:{application.pk}"


def test_approving_publishes_the_awarded_amount_and_the_budget(open_program):
    application = factories.under_review(
        program=open_program, requested="30000.00", budget=["20000.00", "10000.00"]
    )
    services.application_approve(actor=CASEWORKER, application_id=application.pk)

    body = payload("grant.approved")
    assert body["application_id"] == application.pk
    assert body["applicant_id"] == application.applicant_id
    assert body["program_code"] == open_program.code
    assert body["tracking_number"] == application.tracking_number
    assert body["awarded_amount"] == "30000.00"
    assert body["budget_lines"] == [
        {"category": "personnel", "description": "Line 1", "amount": "20000.00"},
        {"category": "equipment", "description": "Line 2", "amount": "10000.00"},
    ]


def test_a_partial_award_publishes_the_budget_as_requested_for_finance_to_split(open_program):
    application = factories.under_review(
        program=open_program, requested="10000.00", budget=["3333.33", "3333.33", "3333.34"]
    )
    services.application_approve(
        actor=CASEWORKER, application_id=application.pk, awarded_amount=Decimal("5000.00")
    )

    body = payload("grant.approved")
    assert body["awarded_amount"] == "5000.00"
    assert [(line["category"], line["amount"]) for line in body["budget_lines"]] == [
        ("personnel", "3333.33"),
        ("equipment", "3333.33"),
        ("supplies", "3333.34"),
    ]


def test_rejecting_publishes_the_reason(open_program):
    application = factories.under_review(program=open_program)
    services.application_reject(
        actor=CASEWORKER, application_id=application.pk, reason="Out of scope"
    )

    assert payload("grant.rejected") == {
        "application_id": application.pk,
        "applicant_id": application.applicant_id,
        "reason": "Out of scope",
        "tracking_number": application.tracking_number,
    }


def test_withdrawing_publishes_grant_withdrawn(open_program, business):
    application = factories.submitted(program=open_program, actor=business)
    services.application_withdraw(actor=business, application_id=application.pk)

    assert payload("grant.withdrawn") == {
        "application_id": application.pk,
        "applicant_id": business.user_id,
    }


def test_closing_publishes_grant_closed(open_program):
    application = factories.approved(program=open_program)
    services.application_mark_awarded(
        actor=services.FINANCE_EVENTS,
        application_id=application.pk,
        award_id=3,
        amount=Decimal("1"),
    )
    services.application_close(
        actor=services.FINANCE_EVENTS, application_id=application.pk, award_id=3
    )

    assert payload("grant.closed") == {
        "application_id": application.pk,
        "applicant_id": application.applicant_id,
    }


def test_review_steps_publish_only_what_someone_is_told_of(open_program):
    application = factories.submitted(program=open_program)
    before = len(outbox())
    services.application_assign(actor=CASEWORKER, application_id=application.pk)
    services.application_start_review(actor=CASEWORKER, application_id=application.pk)
    services.application_assign(
        actor=CASEWORKER, application_id=application.pk, assignee_id=CASEWORKER.user_id
    )  # no change: nothing to tell
    services.application_request_changes(
        actor=CASEWORKER, application_id=application.pk, reason="Add the quotes."
    )

    assert len(outbox()) == before + 2
    assert payload("grant.assigned") == {
        "application_id": application.pk,
        "tracking_number": application.tracking_number,
        "program_code": open_program.code,
        "assignee_id": CASEWORKER.user_id,
        "assigned_by_id": CASEWORKER.user_id,
    }
    assert payload("grant.changes_requested") == {
        "application_id": application.pk,
        "applicant_id": application.applicant_id,
        "tracking_number": application.tracking_number,
        "message": "Add the quotes.",
    }


def test_viewing_publishes_nothing(open_program, business):
    factories.submitted(program=open_program, actor=business)
    before = len(outbox())

    services.applications_view_for_user(actor=CASEWORKER, user_id=business.user_id)

    assert len(outbox()) == before


def test_a_refused_transition_publishes_nothing(open_program):
    small = factories.program(total_funds="100000.00", max_award="60000.00")
    services.application_approve(
        actor=CASEWORKER,
        application_id=factories.under_review(program=small, requested="60000.00").pk,
    )
    second = factories.under_review(program=small, requested="50000.00", title="Second")
    before = len(outbox())

    with pytest.raises(ValidationFailed):
        services.application_approve(actor=CASEWORKER, application_id=second.pk)

    assert len(outbox()) == before


@pytest.mark.django_db(databases="__all__", transaction=True)
def test_a_rolled_back_transition_leaves_neither_state_nor_event(open_program, business):
    application = factories.under_review(program=open_program, actor=business)
    before = len(outbox())

    class Abort(Exception):
        pass

    with pytest.raises(Abort), service_atomic("grants"):
        services.application_approve(actor=CASEWORKER, application_id=application.pk)
        assert len(outbox()) == before + 1  # inside the transaction it is there...
        raise Abort

    application.refresh_from_db()
    assert application.status == "under_review"
    assert len(outbox()) == before  # ...and it went with the rollback
    assert not transaction.get_connection(database_for("grants")).in_atomic_block
