"""Review panels: a program sets how many reviews an application needs; each reviewer declares any
conflict before seeing it, scores on their own, and sees the others' scores once they submit."""

from decimal import Decimal

import pytest

from apps.grants import selectors, services
from apps.grants.apis import BLIND_NAME
from apps.grants.models import Program, ReviewAssignment, ReviewComment
from hms.audit.models import AuditEntry
from hms.db import database_for
from hms.errors import Conflict, PermissionDenied, ValidationFailed
from hms.people.services import person_record
from tests.grants import factories
from tests.grants.factories import ADMINISTRATOR, CASEWORKER, OTHER_CASEWORKER

pytestmark = pytest.mark.django_db(databases="__all__")

REVIEW = "/grants/review/applications/{}"


@pytest.fixture(autouse=True)
def reviewers():
    for identity, name in [(CASEWORKER, "Ada Reviewer"), (OTHER_CASEWORKER, "Grace Reviewer")]:
        person_record(
            service="grants", user_id=identity.user_id, role="caseworker", display_name=name
        )
    person_record(service="grants", user_id=902, role="finance_officer", display_name="Fin Ance")


@pytest.fixture
def panel_program():
    services.rubric_ensure_default()
    program = factories.program(code="SBA-PANEL-2027-01")
    Program.objects.filter(pk=program.pk).update(reviewers_required=2)
    program.refresh_from_db()
    return program


def criteria_of(application):
    return selectors.rubric_criteria_for(program=application.program)


def score_all(reviewer, application, value):
    services.application_score(
        actor=reviewer,
        application_id=application.pk,
        scores=[services.ScoreInput(c.pk, value) for c in criteria_of(application)],
    )


def on_panel(application, *reviewers, declare=True):
    for reviewer in reviewers:
        services.review_assign(
            actor=CASEWORKER, application_id=application.pk, reviewer_id=reviewer.user_id
        )
        if declare:
            services.review_declare(
                actor=reviewer, application_id=application.pk, has_conflict=False
            )


def audit_actions(application):
    return list(
        AuditEntry.objects.using(database_for("grants"))
        .filter(object_id=str(application.pk))
        .values_list("action", flat=True)
    )


def test_only_active_caseworkers_join_a_panel_once_while_the_application_awaits_a_decision(
    panel_program,
):
    application = factories.under_review(program=panel_program)

    with pytest.raises(ValidationFailed) as not_staff:
        services.review_assign(actor=CASEWORKER, application_id=application.pk, reviewer_id=902)
    with pytest.raises(PermissionDenied):
        services.review_assign(
            actor=factories.applicant(), application_id=application.pk, reviewer_id=900
        )
    services.review_assign(actor=CASEWORKER, application_id=application.pk, reviewer_id=901)
    with pytest.raises(Conflict) as twice:
        services.review_assign(actor=CASEWORKER, application_id=application.pk, reviewer_id=901)

    assert not_staff.value.fields == {
        "reviewer_id": "No active caseworker or administrator has this id."
    }
    assert twice.value.message == "Grace Reviewer (#901) is already on this application's panel."
    assert ReviewAssignment.objects.get(application=application).status == "declaring"
    assert "application.review.assign" in audit_actions(application)


def test_a_reviewer_declares_before_scoring_and_a_declared_conflict_recuses_them(panel_program):
    application = factories.under_review(program=panel_program)
    on_panel(application, CASEWORKER, OTHER_CASEWORKER, declare=False)

    with pytest.raises(Conflict) as undeclared:
        score_all(OTHER_CASEWORKER, application, 4)
    with pytest.raises(ValidationFailed):  # a conflict must be said
        services.review_declare(
            actor=OTHER_CASEWORKER, application_id=application.pk, has_conflict=True
        )
    services.review_declare(
        actor=OTHER_CASEWORKER,
        application_id=application.pk,
        has_conflict=True,
        conflict="I advised this company last year.",
    )
    with pytest.raises(PermissionDenied) as recused:
        score_all(OTHER_CASEWORKER, application, 4)
    with pytest.raises(Conflict):
        services.review_declare(
            actor=OTHER_CASEWORKER, application_id=application.pk, has_conflict=False
        )

    assert undeclared.value.code == "declare_first"
    assert recused.value.code == "recused"
    assignment = ReviewAssignment.objects.get(application=application, reviewer_id=901)
    assert (assignment.status, assignment.conflict) == (
        "recused",
        "I advised this company last year.",
    )
    entry = AuditEntry.objects.using(database_for("grants")).get(action="application.review.recuse")
    assert entry.changes == {"conflict": "I advised this company last year."}
    assert entry.actor_id == 901


def test_off_panel_caseworkers_do_not_score_a_panel_program_s_application(panel_program):
    application = factories.under_review(program=panel_program)
    on_panel(application, OTHER_CASEWORKER)

    with pytest.raises(PermissionDenied) as refused:
        score_all(CASEWORKER, application, 3)

    assert refused.value.code == "not_a_reviewer"
    assert "ask its caseworker to add you" in refused.value.message


def test_a_review_is_submitted_only_complete_and_is_then_final(panel_program):
    application = factories.under_review(program=panel_program)
    on_panel(application, OTHER_CASEWORKER)
    first = criteria_of(application)[0]
    services.application_score(
        actor=OTHER_CASEWORKER,
        application_id=application.pk,
        scores=[services.ScoreInput(first.pk, 5)],
    )

    with pytest.raises(ValidationFailed) as incomplete:
        services.review_submit(actor=OTHER_CASEWORKER, application_id=application.pk)
    score_all(OTHER_CASEWORKER, application, 4)
    services.review_submit(actor=OTHER_CASEWORKER, application_id=application.pk)
    with pytest.raises(Conflict) as final:
        score_all(OTHER_CASEWORKER, application, 1)

    assert incomplete.value.code == "scores_missing"
    assert "Feasibility and team" in incomplete.value.message
    assert final.value.code == "review_submitted"


def test_the_decision_waits_for_the_reviews_the_program_requires(panel_program):
    application = factories.under_review(program=panel_program)
    on_panel(application, CASEWORKER, OTHER_CASEWORKER)
    score_all(CASEWORKER, application, 4)
    services.review_submit(actor=CASEWORKER, application_id=application.pk)

    with pytest.raises(Conflict) as waiting:
        services.application_approve(actor=CASEWORKER, application_id=application.pk)
    with pytest.raises(Conflict):
        services.application_reject(
            actor=CASEWORKER, application_id=application.pk, reason="Not now."
        )
    score_all(OTHER_CASEWORKER, application, 2)
    services.review_submit(actor=OTHER_CASEWORKER, application_id=application.pk)
    approved = services.application_approve(actor=CASEWORKER, application_id=application.pk)

    assert waiting.value.code == "reviews_outstanding"
    assert waiting.value.message.startswith("1 of the 2 reviews this program requires")
    assert approved.status == "approved"


def test_reviewers_see_the_others_scores_only_after_submitting_and_staff_see_mean_and_spread(
    panel_program,
):
    application = factories.under_review(program=panel_program)
    on_panel(application, CASEWORKER, OTHER_CASEWORKER)
    score_all(CASEWORKER, application, 5)
    score_all(OTHER_CASEWORKER, application, 2)
    services.review_submit(actor=OTHER_CASEWORKER, application_id=application.pk)

    def panel_for(viewer):
        loaded = selectors.application_for_review(application_id=application.pk)
        return selectors.review_panel(application=loaded, viewer=viewer)

    still_reviewing = panel_for(CASEWORKER)
    submitted = panel_for(OTHER_CASEWORKER)
    administrator = panel_for(ADMINISTRATOR)

    by_reviewer = {r.reviewer_id: r for r in still_reviewing.reviews}
    assert by_reviewer[900].scores is not None  # my own
    assert by_reviewer[901].scores is None  # Grace's, until I submit
    assert still_reviewing.hidden_reason.startswith("The other reviewers' scores show once")
    # Grace has submitted: she sees the submitted reviews, not Ada's draft.
    assert {r.reviewer_id: r.scores is not None for r in submitted.reviews} == {
        900: False,
        901: True,
    }
    # Only submitted reviews count: Ada's 5s are still a draft.
    assert set(administrator.means.values()) == {Decimal("2.00")}
    assert administrator.weighted_mean == Decimal("2.00")
    assert administrator.submitted == 1

    score_all(CASEWORKER, application, 5)
    services.review_submit(actor=CASEWORKER, application_id=application.pk)
    both = panel_for(ADMINISTRATOR)
    assert set(both.means.values()) == {Decimal("3.50")}
    assert set(both.spreads.values()) == {3}
    weighted = selectors.application_weighted_score(
        application=selectors.application_for_review(application_id=application.pk)
    )
    assert weighted == Decimal("3.50")


def test_blind_review_hides_who_applied_from_the_reviewers_only(panel_program, client_as):
    Program.objects.filter(pk=panel_program.pk).update(blind_review=True)
    services.applicant_upsert(
        user_id=500,
        kind="business",
        display_name="Acme Robotics LLC",
        verification_status="verified",
    )
    application = factories.under_review(program=panel_program)  # assigned to Ada (900)
    on_panel(application, OTHER_CASEWORKER)

    reviewer = client_as(901, "caseworker", None).get(REVIEW.format(application.pk)).json()
    caseworker = client_as(900, "caseworker", None).get(REVIEW.format(application.pk)).json()

    assert reviewer["applicant"]["name"] == BLIND_NAME
    assert reviewer["review_panel"]["identity_hidden"] is True
    assert caseworker["applicant"]["name"] == "Acme Robotics LLC"
    assert "Acme Robotics LLC" not in str(reviewer)


def test_an_undeclared_reviewer_gets_no_content_through_the_api(panel_program, client_as):
    application = factories.under_review(program=panel_program)
    services.review_assign(actor=CASEWORKER, application_id=application.pk, reviewer_id=901)
    reviewer = client_as(901, "caseworker", None)

    before = reviewer.get(REVIEW.format(application.pk)).json()
    declared = reviewer.post(
        REVIEW.format(application.pk) + "/declaration", {"has_conflict": False}, format="json"
    )

    assert before["project_summary"] == "" and before["budget_lines"] == []
    assert before["review_panel"]["my_status"] == "declaring"
    assert declared.status_code == 200
    assert declared.json()["project_summary"] == "What we will do, and why."
    assert declared.json()["review_panel"]["my_status"] == "reviewing"


def test_panel_endpoints_add_declare_and_submit(panel_program, client_as):
    application = factories.under_review(program=panel_program)
    caseworker = client_as(900, "caseworker", None)
    url = REVIEW.format(application.pk)

    added = caseworker.post(url + "/panel", {"reviewer_id": 900}, format="json")
    not_staff = caseworker.post(url + "/panel", {"reviewer_id": 902}, format="json")
    caseworker.post(url + "/declaration", {"has_conflict": False}, format="json")
    score_all(CASEWORKER, application, 3)
    submitted = caseworker.post(url + "/submit", {}, format="json")
    approve = caseworker.post(url + "/approve", {}, format="json")

    assert added.status_code == 200
    assert not_staff.status_code == 400
    assert not_staff.json()["errors"][0]["field"] == "reviewer_id"
    assert submitted.status_code == 200
    assert submitted.json()["review_panel"]["submitted"] == 1
    assert approve.status_code == 409
    assert approve.json()["code"] == "reviews_outstanding"


def test_approving_a_submitted_application_says_to_start_the_review_first(open_program):
    application = factories.submitted(program=open_program)

    with pytest.raises(Conflict) as refused:
        services.application_approve(actor=CASEWORKER, application_id=application.pk)

    assert refused.value.message == (
        "An application that is submitted cannot be approved yet: start review first."
    )


def test_applicants_read_the_messages_sent_to_them_and_never_the_internal_notes(
    open_program, business_client, individual_client
):
    application = factories.submitted(program=open_program)
    services.application_comment(
        actor=CASEWORKER, application_id=application.pk, body="Check their bank letter."
    )
    services.application_comment(
        actor=CASEWORKER,
        application_id=application.pk,
        body="Please upload your bank letter.",
        visibility=ReviewComment.Visibility.APPLICANT,
    )
    with pytest.raises(ValidationFailed):
        services.application_comment(
            actor=CASEWORKER, application_id=application.pk, body="x", visibility="public"
        )
    url = f"/grants/applications/{application.pk}/messages"

    mine = business_client.get(url)
    someone_else = individual_client.get(url)

    assert mine.status_code == 200
    assert [m["body"] for m in mine.json()["results"]] == ["Please upload your bank letter."]
    assert someone_else.status_code == 404


def test_reviewers_assigned_on_a_program_without_a_required_panel_still_make_it_a_panel():
    services.rubric_ensure_default()
    application = factories.under_review(program=factories.program())  # requires no review
    on_panel(application, OTHER_CASEWORKER)

    with pytest.raises(PermissionDenied):
        score_all(CASEWORKER, application, 3)  # off the panel now
    score_all(OTHER_CASEWORKER, application, 4)
    loaded = selectors.application_for_review(application_id=application.pk)

    assert selectors.has_review_panel(loaded)
    assert selectors.application_weighted_score(application=loaded) is None  # not submitted yet
