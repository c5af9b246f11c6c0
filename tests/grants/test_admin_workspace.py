"""The application page as a caseworker's workspace: the buttons this person may use now, review
panels with conflict declarations and blind review, and refusals that keep what was typed."""

import pytest

from apps.grants import services
from apps.grants.apis import BLIND_NAME
from apps.grants.models import ApplicationStatus, Program
from hms.auth import Identity
from hms.people.services import person_record
from tests.grants import factories
from tests.staff.admin_clients import staff_admin_client

pytestmark = pytest.mark.django_db(databases="__all__")

QUEUE = "/admin/grants/application/"
ADA = Identity(user_id=2, role="caseworker")
GRACE = Identity(user_id=6, role="caseworker")


@pytest.fixture(autouse=True)
def people():
    person_record(service="grants", user_id=2, role="caseworker", display_name="Ada Whitfield")
    person_record(service="grants", user_id=6, role="caseworker", display_name="Grace Okafor")
    services.applicant_upsert(
        user_id=500,
        kind="business",
        display_name="Acme Robotics LLC",
        verification_status="verified",
    )


@pytest.fixture
def ada(settings):
    return staff_admin_client(settings, ADA.user_id, "caseworker")


@pytest.fixture
def grace(settings):
    return staff_admin_client(settings, GRACE.user_id, "caseworker")


def buttons(client, application) -> list[str]:
    response = client.get(f"{QUEUE}{application.pk}/change/")
    assert response.status_code == 200
    return [button.label for button in response.context["object_actions"]]


def do(client, application, action, **form):
    return client.post(f"{QUEUE}{application.pk}/do/{action}/", form)


def panel_program(**changes):
    services.rubric_ensure_default()
    program = factories.program()
    Program.objects.filter(pk=program.pk).update(**changes)
    program.refresh_from_db()
    return program


def test_the_page_offers_the_next_step_and_not_the_ones_that_would_be_refused(ada, open_program):
    application = factories.submitted(program=open_program)

    offered = buttons(ada, application)
    started = do(ada, application, "start_review")
    then = buttons(ada, application)

    assert offered == ["Assign to me", "Start review", "Request changes"]
    assert "Approve" not in offered  # approving needs the review started first
    assert started.status_code == 302 and started["Location"].endswith(f"/{application.pk}/change/")
    application.refresh_from_db()
    assert application.status == ApplicationStatus.UNDER_REVIEW
    assert then == ["Score", "Request changes", "Approve", "Reject"]  # starting assigned Ada


def test_an_action_not_offered_changes_nothing(ada, open_program):
    application = factories.submitted(program=open_program)

    response = do(ada, application, "approve", apply="1", reason="Looks good")

    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED
    assert response.status_code == 302


def test_a_refused_approval_explains_and_keeps_the_note_that_was_typed(ada):
    program = factories.program(total_funds="60000.00", max_award="50000.00")
    application = factories.under_review(program=program, requested="50000.00")
    factories.approved(program=program, requested="20000.00")  # leaves 40,000

    page = do(ada, application, "approve")
    refused = do(ada, application, "approve", apply="1", awarded_amount="", reason="Strong team.")

    assert page.status_code == 200 and "Approve" in page.content.decode()
    html = refused.content.decode()
    assert refused.status_code == 200
    assert "would exceed the funds" in html
    assert "Strong team." in html  # what was typed is still there
    assert f'action="{QUEUE}{application.pk}/do/approve/"' in html
    assert f'href="{QUEUE}{application.pk}/change/" class="button cancel-link"' in html
    application.refresh_from_db()
    assert application.status == ApplicationStatus.UNDER_REVIEW


def test_a_reviewer_declares_before_seeing_the_application_and_a_conflict_recuses(ada, grace):
    program = panel_program(reviewers_required=2)
    application = factories.under_review(program=program)
    services.review_assign(actor=ADA, application_id=application.pk, reviewer_id=GRACE.user_id)

    before = grace.get(f"{QUEUE}{application.pk}/change/")
    recused = do(grace, application, "declare", apply="1", has_conflict="yes", conflict="My firm")
    after = grace.get(f"{QUEUE}{application.pk}/change/")

    assert [b.label for b in before.context["object_actions"]] == ["Declare conflicts of interest"]
    assert "What we will do, and why." not in before.content.decode()  # no content yet
    assert recused.status_code == 302
    assert after.context["object_actions"] == []
    assert "What we will do, and why." not in after.content.decode()


def test_scores_appear_side_by_side_once_the_second_reviewer_submits(ada, grace):
    program = panel_program(reviewers_required=2)
    application = factories.under_review(program=program)
    services.application_assign(actor=ADA, application_id=application.pk)  # Ada's to decide
    for reviewer in (ADA, GRACE):
        services.review_assign(
            actor=ADA, application_id=application.pk, reviewer_id=reviewer.user_id
        )
    do(ada, application, "declare", apply="1", has_conflict="no")
    do(grace, application, "declare", apply="1", has_conflict="no")
    criteria = services.rubric_ensure_default().criteria.all()
    scores = {f"score_{c.pk}": "4" for c in criteria} | {f"note_{c.pk}": "" for c in criteria}
    do(ada, application, "score", apply="1", **scores)

    mine_only = ada.get(f"{QUEUE}{application.pk}/change/").content.decode()
    do(ada, application, "submit_review")
    services.application_score(
        actor=GRACE,
        application_id=application.pk,
        scores=[services.ScoreInput(c.pk, 2) for c in criteria],
    )
    services.review_submit(actor=GRACE, application_id=application.pk)
    both = ada.get(f"{QUEUE}{application.pk}/change/")
    html = both.content.decode()

    assert "The other reviewers&#x27; scores show once you submit your review." in mine_only
    assert "Shown once you submit your review" in mine_only  # not even the panel's mean
    assert "Reviews: 2 of 2 required submitted" in html
    assert '<th scope="row">Grace Okafor (#6)</th>' in html
    assert '<th scope="row">Ada Whitfield (you) (#2)</th>' in html
    assert "<td>3.00</td>" in html  # the mean of 4 and 2
    assert "Approve" in [b.label for b in both.context["object_actions"]]


def test_blind_review_hides_the_applicant_from_its_reviewer_but_not_from_the_caseworker(ada, grace):
    program = panel_program(reviewers_required=1, blind_review=True)
    application = factories.under_review(program=program)  # Ada's: she started the review
    services.application_assign(actor=ADA, application_id=application.pk, assignee_id=2)
    services.review_assign(actor=ADA, application_id=application.pk, reviewer_id=GRACE.user_id)
    services.review_declare(actor=GRACE, application_id=application.pk, has_conflict=False)

    reviewer_page = grace.get(f"{QUEUE}{application.pk}/change/").content.decode()
    reviewer_queue = grace.get(QUEUE).content.decode()
    caseworker_page = ada.get(f"{QUEUE}{application.pk}/change/").content.decode()

    assert "Acme Robotics LLC" not in reviewer_page and BLIND_NAME in reviewer_page
    assert "Acme Robotics LLC" not in reviewer_queue and BLIND_NAME in reviewer_queue
    assert "Acme Robotics LLC" in caseworker_page


def test_the_queue_leaves_out_drafts_and_filters_by_whose_move_it_is(ada, open_program):
    draft = factories.draft(program=open_program, title="Still a draft")
    waiting_on_us = factories.submitted(program=open_program)
    returned = factories.under_review(program=open_program)
    services.application_request_changes(
        actor=ADA, application_id=returned.pk, reason="Add your budget letter."
    )

    everything = list(ada.get(QUEUE).context["cl"].result_list)
    on_us = list(ada.get(QUEUE, {"waiting": "us"}).context["cl"].result_list)
    on_applicant = list(ada.get(QUEUE, {"waiting": "applicant"}).context["cl"].result_list)
    overdue = list(ada.get(QUEUE, {"waiting": "overdue"}).context["cl"].result_list)

    assert draft not in everything
    assert on_us == [waiting_on_us]
    assert on_applicant == [returned]
    assert overdue == []
    Program.objects.filter(pk=open_program.pk).update(review_target_days=1)
    type(waiting_on_us).objects.filter(pk=waiting_on_us.pk).update(
        submitted_at=waiting_on_us.submitted_at - __import__("datetime").timedelta(days=2)
    )
    assert list(ada.get(QUEUE, {"waiting": "overdue"}).context["cl"].result_list) == [waiting_on_us]


def test_money_reads_as_dollars_in_the_queue(ada, open_program):
    factories.submitted(program=open_program, requested="80000.00")

    assert "$80,000.00" in ada.get(QUEUE).content.decode()


def test_a_reviewer_on_someone_else_s_application_reviews_and_leaves_the_decision(ada, grace):
    program = panel_program(reviewers_required=1, blind_review=True)
    application = factories.under_review(program=program)
    services.application_assign(actor=ADA, application_id=application.pk, assignee_id=2)
    services.review_assign(actor=ADA, application_id=application.pk, reviewer_id=GRACE.user_id)
    services.review_declare(actor=GRACE, application_id=application.pk, has_conflict=False)

    offered = buttons(grace, application)
    taken = do(grace, application, "assign_to_me")

    assert offered == ["Score", "Submit my review"]  # no "Assign to me", no decision
    application.refresh_from_db()
    assert taken.status_code == 302 and application.assignee_id == 2
