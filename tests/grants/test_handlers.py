"""The events the Grants Service consumes, delivered as the bus delivers them (and redelivered)."""

from decimal import Decimal

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from apps.grants.models import Applicant, Application, ApplicationStatus, ApplicationTransition
from hms.bus.inbox import DUPLICATE, HANDLED, HandlerFailed, consume_batch, process_envelope
from hms.bus.models import OutboxEvent
from hms.db import database_for
from hms.events.finance import AwardClosed, AwardObligated
from hms.events.users import UserRegistered, UserUpdated
from tests.grants import factories

pytestmark = pytest.mark.django_db(databases="__all__")


def registered(user_id=42, **overrides):
    values = {
        "user_id": user_id,
        "kind": "business",
        "display_name": "Acme Robotics LLC",
        "verification_status": "unverified",
    }
    return UserRegistered(**{**values, **overrides})


def test_a_registered_user_enters_the_read_model_once_however_often_delivered():
    envelope = factories.envelope(registered())

    assert process_envelope("grants", envelope) == HANDLED
    assert process_envelope("grants", envelope) == DUPLICATE

    applicant = Applicant.objects.get(pk=42)
    assert (applicant.kind, applicant.display_name, applicant.verification_status) == (
        "business",
        "Acme Robotics LLC",
        "unverified",
    )
    assert Applicant.objects.count() == 1


def test_the_read_model_follows_user_updates():
    process_envelope("grants", factories.envelope(registered()))
    updated = UserUpdated(
        user_id=42,
        kind="business",
        display_name="Acme Robotics Inc",
        verification_status="verified",
        state="PA",
    )

    process_envelope("grants", factories.envelope(updated))

    applicant = Applicant.objects.get(pk=42)
    assert applicant.display_name == "Acme Robotics Inc"
    assert applicant.verification_status == "verified"
    assert applicant.state == "PA"  # programs open to some states only check it


def test_an_event_from_a_user_service_that_does_not_send_the_state_yet_is_applied():
    envelope = factories.envelope(registered())
    del envelope["payload"]["state"]  # as an older User Service published it

    assert process_envelope("grants", envelope) == HANDLED
    assert Applicant.objects.get(pk=42).state == ""


def test_an_update_before_the_registration_still_creates_the_applicant():
    updated = UserUpdated(
        user_id=43, kind="individual", display_name="Ada", verification_status="verified"
    )

    process_envelope("grants", factories.envelope(updated))

    assert Applicant.objects.get(pk=43).kind == "individual"


def test_the_read_model_names_applications_in_the_queue(open_program):
    business = factories.applicant(44, "business")
    application = factories.submitted(program=open_program, actor=business)
    assert application.applicant_name == "Applicant #44"

    process_envelope("grants", factories.envelope(registered(44, display_name="Initech")))

    assert (
        Application.objects.select_related("applicant").get(pk=application.pk).applicant_name
        == "Initech"
    )


def obligated(application, award_id=900):
    return AwardObligated(
        award_id=award_id,
        application_id=application.pk,
        applicant_id=application.applicant_id,
        program_code=application.program.code,
        amount=application.awarded_amount,
    )


def test_an_obligated_award_moves_the_application_to_awarded(open_program):
    application = factories.approved(program=open_program, awarded="30000.00")

    assert process_envelope("grants", factories.envelope(obligated(application))) == HANDLED

    application.refresh_from_db()
    assert application.status == ApplicationStatus.AWARDED
    assert application.award_id == 900
    step = ApplicationTransition.objects.filter(application=application).last()
    assert (step.from_status, step.to_status, step.actor_role) == ("approved", "awarded", "service")
    # The applicant's award email is sent by the User Service, which hears it from here.
    awarded = OutboxEvent.objects.using(database_for("grants")).get(event_type="grant.awarded")
    assert awarded.envelope["payload"]["award_id"] == 900
    assert awarded.envelope["payload"]["amount"] == "30000.00"


def test_a_second_obligation_event_for_an_awarded_application_is_ignored(open_program):
    application = factories.approved(program=open_program)
    process_envelope("grants", factories.envelope(obligated(application)))

    # A different event id (a replay from Finance's side), not just a redelivery.
    assert process_envelope("grants", factories.envelope(obligated(application))) == HANDLED

    assert (
        ApplicationTransition.objects.filter(application=application, to_status="awarded").count()
        == 1
    )


def test_an_obligation_for_an_application_not_approved_fails_so_it_is_retried(open_program):
    application = factories.under_review(program=open_program)
    event = AwardObligated(
        award_id=1,
        application_id=application.pk,
        applicant_id=application.applicant_id,
        program_code=open_program.code,
        amount=Decimal("1.00"),
    )

    with pytest.raises(HandlerFailed):
        process_envelope("grants", factories.envelope(event))

    application.refresh_from_db()
    assert application.status == ApplicationStatus.UNDER_REVIEW


def test_a_closed_award_closes_the_application_and_publishes_grant_closed(open_program):
    application = factories.approved(program=open_program)
    process_envelope("grants", factories.envelope(obligated(application)))
    closed = AwardClosed(
        award_id=900,
        application_id=application.pk,
        applicant_id=application.applicant_id,
        deobligated_amount=Decimal("0.00"),
    )
    envelope = factories.envelope(closed)

    assert process_envelope("grants", envelope) == HANDLED
    assert process_envelope("grants", envelope) == DUPLICATE

    application.refresh_from_db()
    assert application.status == ApplicationStatus.CLOSED
    rows = OutboxEvent.objects.using(database_for("grants")).filter(event_type="grant.closed")
    assert rows.count() == 1
    # The correlation id of the finance event travels on into the event it caused.
    assert rows.get().envelope["correlation_id"] == envelope["correlation_id"]


def test_a_batch_of_obligated_awards_moves_each_application_in_the_same_statements(open_program):
    def batch_of(size: int) -> tuple[list, int]:
        applications = [factories.approved(program=open_program) for _ in range(size)]
        envelopes = [
            factories.envelope(obligated(application, award_id=7000 + application.pk))
            for application in applications
        ]
        with CaptureQueriesContext(connections[database_for("grants")]) as captured:
            assert consume_batch("grants", envelopes, final_attempt=False) == []
        return list(zip(applications, envelopes, strict=True)), len(captured)

    small, small_statements = batch_of(2)
    large, large_statements = batch_of(6)

    assert small_statements == large_statements
    published = {
        row.envelope["payload"]["application_id"]: row.envelope
        for row in OutboxEvent.objects.using(database_for("grants")).filter(
            event_type="grant.awarded"
        )
    }
    for application, envelope in small + large:
        application.refresh_from_db()
        assert (application.status, application.award_id) == ("awarded", 7000 + application.pk)
        step = ApplicationTransition.objects.filter(application=application).last()
        assert (step.from_status, step.to_status, step.reason) == (
            "approved",
            "awarded",
            f"Finance obligated award #{7000 + application.pk}: {application.awarded_amount}",
        )
        # Each grant.awarded goes on with the correlation id of the award that caused it.
        assert published[application.pk]["correlation_id"] == envelope["correlation_id"]


def test_a_batch_of_obligated_awards_moves_its_applications_in_the_events_statement(open_program):
    if connections[database_for("grants")].vendor != "postgresql":
        pytest.skip("one statement per table elsewhere")
    applications = [factories.approved(program=open_program) for _ in range(3)]
    envelopes = [
        factories.envelope(obligated(application, award_id=7000 + application.pk))
        for application in applications
    ]
    versions = {application.pk: application.version for application in applications}

    with CaptureQueriesContext(connections[database_for("grants")]) as captured:
        assert consume_batch("grants", envelopes, final_attempt=False) == []

    statements = [query["sql"] for query in captured.captured_queries]
    read = next(i for i, sql in enumerate(statements) if 'FROM "grants_application"' in sql)
    # The applications locked, the events' numbers, then the applications' new state, their
    # history rows and the events in one statement; then the inbox's savepoint released.
    locked, numbers, moved, *rest = statements[read:]
    assert locked.endswith('FOR UPDATE OF "grants_application"')
    assert 'INSERT INTO "bus_aggregatesequence"' in numbers
    assert 'UPDATE "grants_application" SET "award_id"' in moved
    assert 'INSERT INTO "grants_applicationtransition"' in moved
    assert 'INSERT INTO "bus_outboxevent"' in moved
    assert rest == [statements[-1]] and rest[0].startswith("RELEASE SAVEPOINT")
    for application in applications:
        application.refresh_from_db()
        assert (application.status, application.award_id) == ("awarded", 7000 + application.pk)
        assert application.version == versions[application.pk] + 1
        step = ApplicationTransition.objects.filter(application=application).last()
        assert (step.from_status, step.to_status) == ("approved", "awarded")


def test_an_obligated_award_is_applied_in_the_inbox_transaction_without_a_savepoint(open_program):
    application = factories.approved(program=open_program)

    with CaptureQueriesContext(connections[database_for("grants")]) as captured:
        assert process_envelope("grants", factories.envelope(obligated(application))) == HANDLED

    # The inbox's own transaction (a savepoint only because the test runs in one) and no other:
    # nothing in the handler is caught and retried, so a savepoint would be two round trips more.
    savepoints = [
        query for query in captured.captured_queries if query["sql"].startswith("SAVEPOINT")
    ]
    assert len(savepoints) == 1
    application.refresh_from_db()
    assert application.status == ApplicationStatus.AWARDED


def test_an_application_that_cannot_be_awarded_holds_back_only_itself_in_a_batch(open_program):
    approved = [factories.approved(program=open_program) for _ in range(2)]
    reviewing = factories.under_review(program=open_program)
    envelopes = [
        factories.envelope(obligated(approved[0])),
        factories.envelope(
            AwardObligated(
                award_id=1,
                application_id=reviewing.pk,
                applicant_id=reviewing.applicant_id,
                program_code=open_program.code,
                amount=Decimal("1.00"),
            )
        ),
        factories.envelope(obligated(approved[1])),
        factories.envelope(obligated(approved[0])),  # a repeat inside the batch: no second move
    ]

    assert consume_batch("grants", envelopes, final_attempt=False) == [1]

    reviewing.refresh_from_db()
    assert reviewing.status == ApplicationStatus.UNDER_REVIEW
    for application in approved:
        application.refresh_from_db()
        assert application.status == ApplicationStatus.AWARDED
        assert (
            ApplicationTransition.objects.filter(
                application=application, to_status="awarded"
            ).count()
            == 1
        )
