"""The caseworker's admin: the work queue, its filters, and the actions that call the services."""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from apps.grants import services
from apps.grants.models import ApplicationStatus, ApplicationTransition, ReviewComment
from hms.auth import Identity
from hms.people.services import person_record
from tests.grants import factories
from tests.staff.admin_clients import staff_admin_client

pytestmark = pytest.mark.django_db(databases="__all__")

QUEUE = "/admin/grants/application/"
CASEWORKER_PLATFORM_ID = 2


@pytest.fixture
def superuser_client():
    user = get_user_model().objects.create_superuser("root", "root@hms.example", "pw-not-used-123")
    client = Client()
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def caseworker_client(settings):
    """A shadow user as `hms.staff` leaves it after a caseworker signs in with their HMS account."""
    return staff_admin_client(settings, CASEWORKER_PLATFORM_ID, "caseworker")


def act(client, action, applications, **form):
    data = {"action": action, "_selected_action": [str(a.pk) for a in applications], **form}
    return client.post(QUEUE, data)


def messages_of(response):
    return [str(message) for message in response.context["messages"]] if response.context else []


def test_the_queue_lists_applications_with_names_filters_and_search(superuser_client, open_program):
    services.applicant_upsert(
        user_id=500,
        kind="business",
        display_name="Acme Robotics LLC",
        verification_status="verified",
    )
    acme = factories.submitted(program=open_program, actor=factories.applicant(500))
    other = factories.submitted(program=open_program, actor=factories.applicant(501, "individual"))

    page = superuser_client.get(QUEUE)
    assert page.status_code == 200
    html = page.content.decode()
    assert acme.tracking_number in html and "Acme Robotics LLC" in html
    assert "Applicant #501" in html  # not in the read model yet: shown by id

    searched = superuser_client.get(QUEUE, {"q": "acme"})
    assert list(searched.context["cl"].result_list) == [acme]
    by_number = superuser_client.get(QUEUE, {"q": other.tracking_number})
    assert list(by_number.context["cl"].result_list) == [other]
    unassigned = superuser_client.get(QUEUE, {"assignee": "none", "status__exact": "submitted"})
    assert set(unassigned.context["cl"].result_list) == {acme, other}


def test_assign_to_me_and_the_assigned_to_me_filter(superuser_client, open_program):
    application = factories.submitted(program=open_program)

    response = act(superuser_client, "assign_to_me", [application])

    assert response.status_code == 302
    application.refresh_from_db()
    assert application.assignee_id == superuser_client.user.pk
    mine = superuser_client.get(QUEUE, {"assignee": "me"})
    assert list(mine.context["cl"].result_list) == [application]


def test_start_review_then_approve_through_the_intermediate_form(superuser_client, open_program):
    application = factories.submitted(program=open_program, requested="40000.00")
    act(superuser_client, "start_review", [application])
    application.refresh_from_db()
    assert application.status == ApplicationStatus.UNDER_REVIEW

    form_page = act(superuser_client, "approve", [application])
    assert form_page.status_code == 200
    assert "awarded_amount" in form_page.content.decode()
    application.refresh_from_db()
    assert application.status == ApplicationStatus.UNDER_REVIEW  # nothing happens before "apply"

    done = act(
        superuser_client, "approve", [application], apply="Approve", awarded_amount="35000.00"
    )

    assert done.status_code == 302
    application.refresh_from_db()
    assert application.status == ApplicationStatus.APPROVED
    assert application.awarded_amount == Decimal("35000.00")
    step = ApplicationTransition.objects.filter(application=application).last()
    assert (step.actor_id, step.actor_role) == (superuser_client.user.pk, "administrator")


def test_approving_several_awards_what_each_requested(superuser_client, open_program):
    first = factories.under_review(program=open_program, requested="10000.00")
    second = factories.under_review(program=open_program, requested="20000.00", title="Two")

    act(superuser_client, "approve", [first, second], apply="Approve", awarded_amount="")

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.awarded_amount, second.awarded_amount) == (
        Decimal("10000.00"),
        Decimal("20000.00"),
    )


def test_an_amount_for_several_applications_is_refused_by_the_form(superuser_client, open_program):
    first = factories.under_review(program=open_program)
    second = factories.under_review(program=open_program, title="Two")

    response = act(
        superuser_client, "approve", [first, second], apply="Approve", awarded_amount="100.00"
    )

    assert response.status_code == 200
    assert "one application at a time" in response.content.decode()
    first.refresh_from_db()
    assert first.status == ApplicationStatus.UNDER_REVIEW


def test_reject_needs_a_reason(superuser_client, open_program):
    application = factories.under_review(program=open_program)

    again = act(superuser_client, "reject", [application], apply="Reject", reason="")
    assert again.status_code == 200  # the form is shown again with its error
    done = act(superuser_client, "reject", [application], apply="Reject", reason="Out of scope")

    assert done.status_code == 302
    application.refresh_from_db()
    assert application.status == ApplicationStatus.REJECTED
    assert application.status_reason == "Out of scope"


def test_request_changes_from_the_admin(superuser_client, open_program):
    application = factories.under_review(program=open_program)

    act(superuser_client, "request_changes", [application], apply="Return", reason="Add quotes")

    application.refresh_from_db()
    assert application.status == ApplicationStatus.CHANGES_REQUESTED


def test_scoring_from_the_admin(superuser_client, open_program):
    rubric = services.rubric_ensure_default()
    application = factories.under_review(program=open_program)
    form = {}
    for criterion in rubric.criteria.all():
        form[f"score_{criterion.pk}"] = "3"
        form[f"note_{criterion.pk}"] = ""

    shown = act(superuser_client, "score", [application])
    assert rubric.criteria.first().name in shown.content.decode()
    act(superuser_client, "score", [application], apply="Save", **form)

    assert application.scores.count() == rubric.criteria.count()


def test_refusals_are_reported_and_change_nothing(superuser_client, open_program):
    submitted = factories.submitted(program=open_program)
    under_review = factories.under_review(program=open_program, title="Ready")

    response = act(superuser_client, "approve", [submitted, under_review], apply="Approve")
    page = superuser_client.get(response.url)

    texts = messages_of(page)
    assert any(submitted.tracking_number in text and "cannot be approved" in text for text in texts)
    assert any("Approved 1 application" in text for text in texts)
    submitted.refresh_from_db()
    assert submitted.status == ApplicationStatus.SUBMITTED


def test_staff_never_edit_what_the_applicant_wrote(superuser_client, open_program):
    draft = factories.draft(program=open_program, title="The applicant's words")
    version = draft.version
    submitted = factories.submitted(program=open_program, title="Submitted")

    draft_form = superuser_client.get(f"{QUEUE}{draft.pk}/change/").content.decode()
    submitted_form = superuser_client.get(f"{QUEUE}{submitted.pk}/change/").content.decode()
    superuser_client.post(
        f"{QUEUE}{draft.pk}/change/", {"title": "Edited by staff", "project_summary": "x"}
    )

    for form in (draft_form, submitted_form):
        assert 'name="title"' not in form
        assert 'name="project_summary"' not in form
        assert 'name="requested_amount"' not in form  # money changes only through the services
    assert "history" in submitted_form.lower()
    draft.refresh_from_db()
    assert (draft.title, draft.version) == ("The applicant's words", version)


def test_a_review_note_is_added_in_the_change_form(superuser_client, open_program):
    application = factories.submitted(program=open_program)
    page = superuser_client.get(f"{QUEUE}{application.pk}/change/")
    data = {}
    for formset in page.context["inline_admin_formsets"]:
        for field in formset.formset.management_form:
            data[field.html_name] = field.value()
    data["comments-0-body"] = "Please send your bank letter."
    data["comments-0-visibility"] = "applicant"

    response = superuser_client.post(f"{QUEUE}{application.pk}/change/", data)

    assert response.status_code == 302, response.context and response.context["errors"]
    comment = ReviewComment.objects.get(application=application)
    assert (comment.body, comment.author_id, comment.visibility) == (
        "Please send your bank letter.",
        superuser_client.user.pk,
        "applicant",
    )


def test_a_caseworker_signed_in_with_their_hms_account_works_the_queue(
    caseworker_client, open_program
):
    application = factories.under_review(program=open_program)

    assert caseworker_client.get(QUEUE).status_code == 200
    act(caseworker_client, "approve", [application], apply="Approve")

    application.refresh_from_db()
    assert application.status == ApplicationStatus.APPROVED
    step = ApplicationTransition.objects.filter(application=application).last()
    assert (step.actor_id, step.actor_role) == (CASEWORKER_PLATFORM_ID, "caseworker")


def test_a_caseworker_reads_but_cannot_change_programs(caseworker_client, open_program):
    assert caseworker_client.get("/admin/grants/program/").status_code == 200
    assert caseworker_client.get("/admin/grants/program/add/").status_code == 403
    assert caseworker_client.get("/admin/grants/application/add/").status_code == 403


def test_a_staff_account_without_a_platform_identity_is_refused(open_program):
    user = get_user_model().objects.create_user("local", is_staff=True)
    from django.contrib.auth.models import Permission

    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="grants",
            codename__in=["view_application", "change_application"],
        )
    )
    client = Client()
    client.force_login(user)
    application = factories.submitted(program=open_program)

    response = act(client, "assign_to_me", [application])

    assert any("no platform identity" in text for text in messages_of(client.get(response.url)))
    application.refresh_from_db()
    assert application.assignee_id is None


def test_program_and_rubric_admin_pages_load(superuser_client, open_program):
    services.rubric_ensure_default()
    factories.approved(program=open_program, requested="30000.00")

    programs = superuser_client.get("/admin/grants/program/")
    assert programs.status_code == 200
    assert "$30,000.00" in programs.content.decode()  # committed funds
    assert (
        superuser_client.get(f"/admin/grants/program/{open_program.pk}/change/").status_code == 200
    )
    assert superuser_client.get("/admin/grants/rubric/").status_code == 200
    assert superuser_client.get("/admin/grants/applicant/").status_code == 200


def test_the_application_page_names_who_reviewed_scored_and_wrote(caseworker_client, open_program):
    person_record(service="grants", user_id=2, role="caseworker", display_name="Casey Whitfield")
    caseworker = Identity(user_id=CASEWORKER_PLATFORM_ID, role="caseworker")
    application = factories.submitted(program=open_program)
    services.application_start_review(actor=caseworker, application_id=application.pk)
    services.application_assign(actor=caseworker, application_id=application.pk, assignee_id=2)
    rubric = services.rubric_ensure_default()
    services.application_score(
        actor=caseworker,
        application_id=application.pk,
        scores=[services.ScoreInput(criterion.pk, 3) for criterion in rubric.criteria.all()],
    )

    queue = caseworker_client.get(QUEUE).content.decode()
    page = caseworker_client.get(f"{QUEUE}{application.pk}/change/").content.decode()

    assert "Casey Whitfield (#2)" in queue  # the assignee column
    # The assignee, the history (who started the review) and the review panel: by name.
    assert page.count("Casey Whitfield (#2)") == 3
    assert '<th scope="row">Casey Whitfield (#2)</th>' in page
    filters = caseworker_client.get(QUEUE).context["cl"].filter_specs
    assignee = next(spec for spec in filters if spec.parameter_name == "assignee")
    assert ("2", "Casey Whitfield (#2)") in assignee.lookup_choices
