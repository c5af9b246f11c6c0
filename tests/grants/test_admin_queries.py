"""The application page loads the application and its review once: its query count does not grow
with the reviews, notes or history it shows."""

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from apps.grants import services
from apps.grants.models import Program
from hms.auth import Identity
from hms.db import database_for
from hms.people.services import person_record
from tests.grants import factories
from tests.staff.admin_clients import staff_admin_client

pytestmark = pytest.mark.django_db(databases="__all__")

ADA = Identity(user_id=2, role="caseworker")


def page_queries(client, application) -> int:
    url = f"/admin/grants/application/{application.pk}/change/"
    client.get(url)
    with CaptureQueriesContext(connections[database_for("grants")]) as grants:
        response = client.get(url)
    assert response.status_code == 200
    return len(grants.captured_queries)


def test_the_application_page_costs_the_same_with_one_review_or_five(settings):
    services.rubric_ensure_default()
    program = factories.program()
    Program.objects.filter(pk=program.pk).update(reviewers_required=5)
    ada = staff_admin_client(settings, ADA.user_id, "caseworker")
    one, five = factories.under_review(program=program), factories.under_review(program=program)
    for application, reviewers in ((one, [2]), (five, [2, 11, 12, 13, 14])):
        services.application_assign(actor=ADA, application_id=application.pk)
        for reviewer in reviewers:
            person_record(service="grants", user_id=reviewer, role="caseworker", display_name="R")
            services.review_assign(actor=ADA, application_id=application.pk, reviewer_id=reviewer)
            actor = Identity(user_id=reviewer, role="caseworker")
            services.review_declare(actor=actor, application_id=application.pk, has_conflict=False)
            services.application_score(
                actor=actor,
                application_id=application.pk,
                scores=[services.ScoreInput(c.pk, 3) for c in program_criteria(application)],
            )
            services.application_comment(actor=actor, application_id=application.pk, body="ok")

    assert page_queries(ada, five) == page_queries(ada, one)


def program_criteria(application):
    from apps.grants import selectors

    return selectors.rubric_criteria_for(program=application.program)
