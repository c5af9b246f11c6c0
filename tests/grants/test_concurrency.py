"""Two caseworkers acting at the same moment, in real concurrent transactions (PostgreSQL)."""

import threading
from decimal import Decimal

import pytest
from django.db import connections

from apps.grants import services
from apps.grants.models import Application, ApplicationStatus, ApplicationTransition
from hms.bus.models import OutboxEvent
from hms.db import database_for
from hms.errors import Conflict, ValidationFailed
from tests.grants import factories
from tests.grants.factories import CASEWORKER, OTHER_CASEWORKER

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(databases="__all__", transaction=True)]


@pytest.fixture(autouse=True)
def needs_postgresql():
    if connections[database_for("grants")].vendor != "postgresql":
        pytest.skip(
            "Row locks (select_for_update) need PostgreSQL: set GRANTS_DATABASE_URL "
            "(SQLite serialises whole-database writes, so there is no race to test)."
        )


def race(*calls):
    """Run the calls in threads released together; return what each returned or raised."""
    barrier = threading.Barrier(len(calls))
    outcomes = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait()
            outcomes[index] = call()
        except Exception as exc:
            outcomes[index] = exc
        finally:
            for connection in connections.all():
                connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


def test_two_caseworkers_deciding_at_once_one_wins_the_other_gets_a_conflict(open_program):
    application = factories.under_review(program=open_program)

    outcomes = race(
        lambda: services.application_approve(actor=CASEWORKER, application_id=application.pk),
        lambda: services.application_reject(
            actor=OTHER_CASEWORKER, application_id=application.pk, reason="No"
        ),
    )

    winners = [o for o in outcomes if isinstance(o, Application)]
    losers = [o for o in outcomes if isinstance(o, Conflict)]
    assert len(winners) == 1 and len(losers) == 1, outcomes
    application.refresh_from_db()
    assert application.status == winners[0].status
    decisions = ApplicationTransition.objects.filter(
        application=application,
        to_status__in=[ApplicationStatus.APPROVED, ApplicationStatus.REJECTED],
    )
    assert decisions.count() == 1
    events = OutboxEvent.objects.using(database_for("grants")).filter(
        event_type__in=["grant.approved", "grant.rejected"]
    )
    assert events.count() == 1


def test_the_same_approval_twice_at_once_is_applied_once(open_program):
    application = factories.under_review(program=open_program)

    outcomes = race(
        *[
            lambda actor=actor: services.application_approve(
                actor=actor, application_id=application.pk
            )
            for actor in (CASEWORKER, OTHER_CASEWORKER)
        ]
    )

    assert sum(isinstance(o, Application) for o in outcomes) == 1, outcomes
    assert sum(isinstance(o, Conflict) for o in outcomes) == 1, outcomes
    assert (
        OutboxEvent.objects.using(database_for("grants"))
        .filter(event_type="grant.approved")
        .count()
        == 1
    )


def test_concurrent_approvals_in_one_program_never_exceed_its_funds():
    program = factories.program(total_funds="100000.00", max_award="60000.00")
    first = factories.under_review(program=program, requested="60000.00")
    second = factories.under_review(program=program, requested="60000.00", title="Second")

    outcomes = race(
        lambda: services.application_approve(actor=CASEWORKER, application_id=first.pk),
        lambda: services.application_approve(actor=OTHER_CASEWORKER, application_id=second.pk),
    )

    assert sum(isinstance(o, Application) for o in outcomes) == 1, outcomes
    assert sum(isinstance(o, ValidationFailed) for o in outcomes) == 1, outcomes
    committed = sum(
        Application.objects.filter(program=program, status="approved").values_list(
            "awarded_amount", flat=True
        ),
        Decimal("0"),
    )
    assert committed == Decimal("60000.00")


def test_concurrent_first_submissions_get_distinct_tracking_numbers(open_program):
    applicants = [factories.applicant(600 + n) for n in range(4)]
    drafts = [factories.draft(program=open_program, actor=a) for a in applicants]

    outcomes = race(
        *[
            lambda actor=actor, draft=draft: services.application_submit(
                actor=actor, application_id=draft.pk
            )
            for actor, draft in zip(applicants, drafts, strict=True)
        ]
    )

    numbers = [o.tracking_number for o in outcomes]
    assert all(isinstance(o, Application) for o in outcomes), outcomes
    assert len(set(numbers)) == 4


def test_two_retries_racing_with_one_idempotency_key_create_one_draft(open_program, client_as):
    from tests.grants.conftest import BUSINESS_ID, new_application_body

    def post():
        client = client_as(BUSINESS_ID, "applicant", "business")
        return client.post(
            "/grants/applications",
            new_application_body(open_program.code),
            format="json",
            HTTP_IDEMPOTENCY_KEY="racing-retry-1",
        )

    first, second = race(post, post)

    assert (first.status_code, second.status_code) == (201, 201), (first, second)
    assert first.json()["id"] == second.json()["id"]
    assert Application.objects.count() == 1
    # One of them waited on the key's row, then replayed the other's answer.
    assert sorted("Idempotent-Replayed" in r for r in (first, second)) == [False, True]
