"""The application lifecycle: every transition, and every refusal, through the service functions."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.grants import services
from apps.grants.models import (
    AppendOnlyError,
    Applicant,
    Application,
    ApplicationStatus,
    ApplicationTransition,
    Program,
)
from apps.grants.workflow import TRANSITIONS, actions_from
from hms.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tests.grants import factories
from tests.grants.factories import ADMINISTRATOR, CASEWORKER, FINANCE_OFFICER, OTHER_CASEWORKER

pytestmark = pytest.mark.django_db(databases="__all__")

S = ApplicationStatus


def history(application):
    return list(
        ApplicationTransition.objects.filter(application=application)
        .order_by("id")
        .values_list("from_status", "to_status", "actor_id", "actor_role")
    )


# -- the table ------------------------------------------------------------------------------------


def test_every_status_but_the_final_ones_has_a_way_out():
    final = {S.REJECTED, S.CLOSED, S.WITHDRAWN}
    for status in S.values:
        assert bool(actions_from(status)) == (status not in final), status


def test_the_transition_table_names_the_lifecycle_of_the_issue():
    moves = {(source, rule.target) for rule in TRANSITIONS.values() for source in rule.sources}
    assert {
        (S.DRAFT, S.SUBMITTED),
        (S.SUBMITTED, S.UNDER_REVIEW),
        (S.UNDER_REVIEW, S.APPROVED),
        (S.UNDER_REVIEW, S.REJECTED),
        (S.APPROVED, S.AWARDED),
        (S.AWARDED, S.CLOSED),
        (S.DRAFT, S.WITHDRAWN),
        (S.SUBMITTED, S.WITHDRAWN),
        (S.UNDER_REVIEW, S.WITHDRAWN),
        (S.UNDER_REVIEW, S.CHANGES_REQUESTED),
        (S.CHANGES_REQUESTED, S.SUBMITTED),
    } <= moves


# -- creating and editing drafts ------------------------------------------------------------------


def test_an_applicant_creates_a_draft_with_budget_lines(open_program, business):
    application = factories.draft(
        program=open_program, actor=business, requested="30000.00", budget=["20000.00", "10000.00"]
    )

    assert application.status == S.DRAFT
    assert application.applicant_id == business.user_id
    assert application.tracking_number is None
    assert [line.amount for line in application.budget_lines.all()] == [
        Decimal("20000.00"),
        Decimal("10000.00"),
    ]
    assert history(application) == [("", S.DRAFT, business.user_id, "applicant")]


def test_budget_lines_must_add_up_to_the_requested_amount(open_program, business):
    with pytest.raises(ValidationFailed) as error:
        factories.draft(
            program=open_program, actor=business, requested="30000.00", budget=["100.00"]
        )

    assert error.value.code == "budget_mismatch"
    assert Application.objects.count() == 0


def test_a_budget_is_required(open_program, business):
    with pytest.raises(ValidationFailed) as error:
        services.application_create(
            actor=business,
            program_code=open_program.code,
            title="t",
            project_summary="s",
            requested_amount=Decimal("5000"),
            budget_lines=[],
        )
    assert error.value.code == "budget_required"


def test_a_requested_amount_over_the_program_maximum_is_refused(open_program, business):
    with pytest.raises(ValidationFailed) as error:
        factories.draft(program=open_program, actor=business, requested="100000.01")
    assert error.value.code == "amount_out_of_range"
    assert "requested_amount" in error.value.fields


def test_a_requested_amount_under_the_program_minimum_is_refused(open_program, business):
    with pytest.raises(ValidationFailed) as error:
        factories.draft(program=open_program, actor=business, requested="999.99")
    assert error.value.code == "amount_out_of_range"


def test_a_draft_cannot_be_started_for_a_closed_program(business):
    closed = factories.program(days_open=60, days_left=-1)
    with pytest.raises(ValidationFailed) as error:
        factories.draft(program=closed, actor=business)
    assert error.value.code == "program_closed"


def test_a_draft_cannot_be_started_for_an_unknown_program(business):
    with pytest.raises(ValidationFailed) as error:
        services.application_create(
            actor=business,
            program_code="NOPE-2027-01",
            title="t",
            project_summary="s",
            requested_amount=Decimal("5000"),
            budget_lines=factories.lines("5000"),
        )
    assert error.value.code == "unknown_program"


def test_an_individual_cannot_apply_to_a_program_for_businesses(individual):
    businesses_only = factories.program(eligible_kinds=["business"])
    with pytest.raises(ValidationFailed) as error:
        factories.draft(program=businesses_only, actor=individual)
    assert error.value.code == "ineligible"


def test_eligibility_follows_the_read_model_over_the_token(individual):
    businesses_only = factories.program(eligible_kinds=["business"])
    # The User Service says this applicant is a business now; the token still says individual.
    services.applicant_upsert(
        user_id=individual.user_id,
        kind="business",
        display_name="Ada Ltd",
        verification_status="verified",
    )

    application = factories.draft(program=businesses_only, actor=individual)

    assert application.status == S.DRAFT


def test_an_applicant_whose_verification_was_rejected_cannot_apply(open_program, business):
    services.applicant_upsert(
        user_id=business.user_id,
        kind="business",
        display_name="Shady LLC",
        verification_status="rejected",
    )
    with pytest.raises(ValidationFailed) as error:
        factories.draft(program=open_program, actor=business)
    assert error.value.code == "applicant_rejected"


@pytest.mark.parametrize("actor", [CASEWORKER, ADMINISTRATOR, FINANCE_OFFICER])
def test_staff_cannot_create_applications(open_program, actor):
    with pytest.raises(PermissionDenied):
        factories.draft(program=open_program, actor=actor)


def test_a_draft_is_edited_and_its_budget_replaced(open_program, business):
    application = factories.draft(program=open_program, actor=business, requested="5000.00")

    updated = services.application_update(
        actor=business,
        application_id=application.pk,
        expected_version=application.version,
        title="Better title",
        requested_amount=Decimal("8000.00"),
        budget_lines=factories.lines("6000.00", "2000.00"),
    )

    assert updated.title == "Better title"
    assert updated.version == application.version + 1
    assert sorted(line.amount for line in updated.budget_lines.all()) == [
        Decimal("2000.00"),
        Decimal("6000.00"),
    ]


def test_an_edit_that_breaks_the_budget_changes_nothing(open_program, business):
    application = factories.draft(program=open_program, actor=business, requested="5000.00")

    with pytest.raises(ValidationFailed):
        services.application_update(
            actor=business, application_id=application.pk, requested_amount=Decimal("6000.00")
        )

    application.refresh_from_db()
    assert application.requested_amount == Decimal("5000.00")
    assert application.version == 1


def test_a_submitted_application_cannot_be_edited(open_program, business):
    application = factories.submitted(program=open_program, actor=business)

    with pytest.raises(Conflict) as error:
        services.application_update(actor=business, application_id=application.pk, title="Sneaky")

    assert error.value.code == "not_editable"
    application.refresh_from_db()
    assert application.title == "A good project"


def test_someone_elses_draft_is_not_found(open_program, business, individual):
    application = factories.draft(program=open_program, actor=business)

    with pytest.raises(NotFound):
        services.application_update(actor=individual, application_id=application.pk, title="Mine")
    with pytest.raises(NotFound):
        services.application_submit(actor=individual, application_id=application.pk)
    with pytest.raises(NotFound):
        services.application_withdraw(actor=individual, application_id=application.pk)


def test_an_edit_with_a_stale_version_is_a_conflict(open_program, business):
    application = factories.draft(program=open_program, actor=business)
    services.application_update(actor=business, application_id=application.pk, title="First")

    with pytest.raises(Conflict) as error:
        services.application_update(
            actor=business, application_id=application.pk, expected_version=1, title="Second"
        )

    assert error.value.code == "stale_version"


# -- submitting -----------------------------------------------------------------------------------


def test_submitting_assigns_a_tracking_number(open_program, business):
    first = factories.submitted(program=open_program, actor=business)
    second = factories.submitted(program=open_program, actor=business, title="Another")

    year = timezone.now().year
    assert first.status == S.SUBMITTED
    assert first.submitted_at is not None
    assert first.tracking_number == f"HMS-{year}-000001"
    assert second.tracking_number == f"HMS-{year}-000002"
    assert history(first)[-1] == (S.DRAFT, S.SUBMITTED, business.user_id, "applicant")


def test_a_draft_cannot_be_submitted_after_the_program_closes(open_program, business):
    application = factories.draft(program=open_program, actor=business)
    Program.objects.filter(pk=open_program.pk).update(
        closes_on=timezone.localdate() - timedelta(days=1)
    )

    with pytest.raises(ValidationFailed) as error:
        services.application_submit(actor=business, application_id=application.pk)

    assert error.value.code == "program_closed"
    application.refresh_from_db()
    assert application.status == S.DRAFT
    assert application.tracking_number is None


def test_submitting_rechecks_the_programs_limits(open_program, business):
    application = factories.draft(program=open_program, actor=business, requested="50000.00")
    Program.objects.filter(pk=open_program.pk).update(max_award=Decimal("40000.00"))

    with pytest.raises(ValidationFailed) as error:
        services.application_submit(actor=business, application_id=application.pk)

    assert error.value.code == "amount_out_of_range"


def test_a_submitted_application_cannot_be_submitted_again(open_program, business):
    application = factories.submitted(program=open_program, actor=business)

    with pytest.raises(Conflict) as error:
        services.application_submit(actor=business, application_id=application.pk)

    assert error.value.code == "invalid_transition"


def test_a_caseworker_cannot_submit_for_an_applicant(open_program, business):
    application = factories.draft(program=open_program, actor=business)

    with pytest.raises(PermissionDenied):
        services.application_submit(actor=CASEWORKER, application_id=application.pk)


# -- review ---------------------------------------------------------------------------------------


def test_starting_the_review_assigns_the_caseworker(open_program):
    application = factories.submitted(program=open_program)

    reviewed = services.application_start_review(actor=CASEWORKER, application_id=application.pk)

    assert reviewed.status == S.UNDER_REVIEW
    assert reviewed.assignee_id == CASEWORKER.user_id
    assert history(reviewed)[-1] == (S.SUBMITTED, S.UNDER_REVIEW, CASEWORKER.user_id, "caseworker")


def test_assigning_to_me_and_to_a_colleague(open_program):
    application = factories.submitted(program=open_program)

    mine = services.application_assign(actor=CASEWORKER, application_id=application.pk)
    assert mine.assignee_id == CASEWORKER.user_id

    theirs = services.application_assign(
        actor=CASEWORKER, application_id=application.pk, assignee_id=OTHER_CASEWORKER.user_id
    )
    assert theirs.assignee_id == OTHER_CASEWORKER.user_id


def test_a_decided_application_cannot_be_assigned(open_program):
    application = factories.approved(program=open_program)

    with pytest.raises(Conflict) as error:
        services.application_assign(actor=CASEWORKER, application_id=application.pk)
    assert error.value.code == "not_assignable"


def test_drafts_are_invisible_to_caseworkers(open_program):
    application = factories.draft(program=open_program)

    with pytest.raises(NotFound):
        services.application_assign(actor=CASEWORKER, application_id=application.pk)
    with pytest.raises(NotFound):
        services.application_start_review(actor=CASEWORKER, application_id=application.pk)


@pytest.mark.parametrize(
    "action", ["assign", "start_review", "approve", "reject", "request_changes"]
)
def test_applicants_cannot_review(open_program, business, action):
    application = factories.submitted(program=open_program, actor=business)
    call = {
        "assign": lambda: services.application_assign(
            actor=business, application_id=application.pk
        ),
        "start_review": lambda: services.application_start_review(
            actor=business, application_id=application.pk
        ),
        "approve": lambda: services.application_approve(
            actor=business, application_id=application.pk
        ),
        "reject": lambda: services.application_reject(
            actor=business, application_id=application.pk, reason="no"
        ),
        "request_changes": lambda: services.application_request_changes(
            actor=business, application_id=application.pk, reason="more"
        ),
    }[action]

    with pytest.raises(PermissionDenied):
        call()


def test_finance_officers_cannot_decide_applications(open_program):
    application = factories.under_review(program=open_program)

    with pytest.raises(PermissionDenied):
        services.application_approve(actor=FINANCE_OFFICER, application_id=application.pk)


def test_administrators_may_act_as_caseworkers(open_program):
    application = factories.under_review(program=open_program)

    approved = services.application_approve(actor=ADMINISTRATOR, application_id=application.pk)

    assert approved.status == S.APPROVED
    assert history(approved)[-1][3] == "administrator"


def test_scores_are_recorded_against_the_rubric(open_program):
    rubric = services.rubric_ensure_default()
    criteria = list(rubric.criteria.all())
    application = factories.under_review(program=open_program)

    services.application_score(
        actor=CASEWORKER,
        application_id=application.pk,
        scores=[services.ScoreInput(criterion_id=c.pk, score=5) for c in criteria],
    )
    services.application_score(
        actor=CASEWORKER,
        application_id=application.pk,
        scores=[services.ScoreInput(criterion_id=criteria[0].pk, score=1, note="Revised")],
    )

    from apps.grants.selectors import application_for_review, application_weighted_score

    loaded = application_for_review(application_id=application.pk)
    assert len(loaded.scores.all()) == len(criteria)
    total_weight = sum(c.weight for c in criteria)
    expected = (
        Decimal(1 * criteria[0].weight + 5 * (total_weight - criteria[0].weight)) / total_weight
    ).quantize(Decimal("0.01"))
    assert application_weighted_score(application=loaded) == expected


def test_scores_outside_the_rubric_or_range_are_refused(open_program):
    rubric = services.rubric_ensure_default()
    criterion = rubric.criteria.first()
    application = factories.under_review(program=open_program)

    with pytest.raises(ValidationFailed):
        services.application_score(
            actor=CASEWORKER,
            application_id=application.pk,
            scores=[services.ScoreInput(criterion_id=criterion.pk, score=6)],
        )
    with pytest.raises(ValidationFailed):
        services.application_score(
            actor=CASEWORKER,
            application_id=application.pk,
            scores=[services.ScoreInput(criterion_id=999999, score=3)],
        )


def test_only_applications_under_review_are_scored(open_program):
    rubric = services.rubric_ensure_default()
    application = factories.submitted(program=open_program)

    with pytest.raises(Conflict):
        services.application_score(
            actor=CASEWORKER,
            application_id=application.pk,
            scores=[services.ScoreInput(criterion_id=rubric.criteria.first().pk, score=3)],
        )


def test_the_default_rubric_is_created_once():
    first = services.rubric_ensure_default()
    second = services.rubric_ensure_default()

    assert first.pk == second.pk
    assert first.criteria.count() == len(services.DEFAULT_CRITERIA)


def test_caseworkers_comment(open_program):
    application = factories.submitted(program=open_program)

    comment = services.application_comment(
        actor=CASEWORKER, application_id=application.pk, body="  Call the PI.  "
    )

    assert comment.body == "Call the PI."
    assert comment.author_id == CASEWORKER.user_id
    with pytest.raises(ValidationFailed):
        services.application_comment(actor=CASEWORKER, application_id=application.pk, body=" ")


# -- changes requested ----------------------------------------------------------------------------


def test_changes_requested_then_edited_and_resubmitted(open_program, business):
    application = factories.under_review(program=open_program, actor=business, requested="5000.00")
    tracking = application.tracking_number

    returned = services.application_request_changes(
        actor=CASEWORKER, application_id=application.pk, reason="Split the equipment line."
    )
    assert returned.status == S.CHANGES_REQUESTED
    assert returned.status_reason == "Split the equipment line."

    services.application_update(
        actor=business, application_id=application.pk, budget_lines=factories.lines("3000", "2000")
    )
    resubmitted = services.application_submit(actor=business, application_id=application.pk)

    assert resubmitted.status == S.SUBMITTED
    assert resubmitted.tracking_number == tracking
    assert resubmitted.status_reason == ""
    assert [step[:2] for step in history(resubmitted)] == [
        ("", S.DRAFT),
        (S.DRAFT, S.SUBMITTED),
        (S.SUBMITTED, S.UNDER_REVIEW),
        (S.UNDER_REVIEW, S.CHANGES_REQUESTED),
        (S.CHANGES_REQUESTED, S.SUBMITTED),
    ]


def test_requesting_changes_needs_a_reason(open_program):
    application = factories.under_review(program=open_program)

    with pytest.raises(ValidationFailed) as error:
        services.application_request_changes(
            actor=CASEWORKER, application_id=application.pk, reason="   "
        )
    assert error.value.code == "reason_required"


# -- decisions ------------------------------------------------------------------------------------


def test_approval_awards_the_requested_amount_by_default(open_program):
    application = factories.under_review(program=open_program, requested="40000.00")

    approved = services.application_approve(actor=CASEWORKER, application_id=application.pk)

    assert approved.status == S.APPROVED
    assert approved.awarded_amount == Decimal("40000.00")
    assert approved.decided_at is not None
    assert history(approved)[-1] == (S.UNDER_REVIEW, S.APPROVED, CASEWORKER.user_id, "caseworker")


def test_approval_for_less_than_requested(open_program):
    application = factories.under_review(program=open_program, requested="40000.00")

    approved = services.application_approve(
        actor=CASEWORKER, application_id=application.pk, awarded_amount=Decimal("32000.50")
    )

    assert approved.awarded_amount == Decimal("32000.50")


def test_approval_for_more_than_requested_is_refused(open_program):
    application = factories.under_review(program=open_program, requested="40000.00")

    with pytest.raises(ValidationFailed) as error:
        services.application_approve(
            actor=CASEWORKER, application_id=application.pk, awarded_amount=Decimal("40000.01")
        )

    assert error.value.code == "over_requested"
    application.refresh_from_db()
    assert application.status == S.UNDER_REVIEW


def test_approvals_never_exceed_the_program_funds():
    small = factories.program(total_funds="100000.00", max_award="60000.00")
    first = factories.under_review(program=small, requested="60000.00")
    second = factories.under_review(program=small, requested="50000.00", title="Second")
    services.application_approve(actor=CASEWORKER, application_id=first.pk)

    with pytest.raises(ValidationFailed) as error:
        services.application_approve(actor=CASEWORKER, application_id=second.pk)

    assert error.value.code == "program_funds_exceeded"
    assert "40000.00" in error.value.message
    second.refresh_from_db()
    assert second.status == S.UNDER_REVIEW
    # What remains can still be awarded.
    partly = services.application_approve(
        actor=CASEWORKER, application_id=second.pk, awarded_amount=Decimal("40000.00")
    )
    assert partly.status == S.APPROVED


def test_rejected_and_withdrawn_money_is_not_committed():
    small = factories.program(total_funds="100000.00", max_award="60000.00")
    rejected = factories.under_review(program=small, requested="60000.00")
    services.application_reject(actor=CASEWORKER, application_id=rejected.pk, reason="No.")
    other = factories.under_review(program=small, requested="60000.00", title="Other")

    assert (
        services.application_approve(actor=CASEWORKER, application_id=other.pk).status == S.APPROVED
    )


def test_rejection_needs_a_reason_and_keeps_it(open_program):
    application = factories.under_review(program=open_program)

    with pytest.raises(ValidationFailed):
        services.application_reject(actor=CASEWORKER, application_id=application.pk, reason="")

    rejected = services.application_reject(
        actor=CASEWORKER, application_id=application.pk, reason="Outside the program's scope."
    )
    assert rejected.status == S.REJECTED
    assert rejected.status_reason == "Outside the program's scope."
    assert ApplicationTransition.objects.filter(application=rejected).last().reason == (
        "Outside the program's scope."
    )


@pytest.mark.parametrize("state", ["submitted", "approved"])
def test_a_decision_needs_an_application_under_review(open_program, state):
    application = getattr(factories, state)(program=open_program)

    with pytest.raises(Conflict) as error:
        services.application_approve(actor=CASEWORKER, application_id=application.pk)
    assert error.value.code == "invalid_transition"
    with pytest.raises(Conflict):
        services.application_reject(actor=CASEWORKER, application_id=application.pk, reason="x")


def test_a_decision_with_a_stale_version_is_a_conflict(open_program):
    application = factories.under_review(program=open_program)
    seen = application.version
    services.application_assign(
        actor=OTHER_CASEWORKER, application_id=application.pk, assignee_id=OTHER_CASEWORKER.user_id
    )

    with pytest.raises(Conflict) as error:
        services.application_approve(
            actor=CASEWORKER, application_id=application.pk, expected_version=seen
        )

    assert error.value.code == "stale_version"


def test_the_second_of_two_decisions_is_a_conflict(open_program):
    application = factories.under_review(program=open_program)
    services.application_approve(actor=CASEWORKER, application_id=application.pk)

    with pytest.raises(Conflict):
        services.application_reject(
            actor=OTHER_CASEWORKER, application_id=application.pk, reason="No"
        )

    application.refresh_from_db()
    assert application.status == S.APPROVED


# -- withdrawal -----------------------------------------------------------------------------------


@pytest.mark.parametrize("state", ["draft", "submitted", "under_review"])
def test_an_applicant_withdraws_before_a_decision(open_program, business, state):
    application = getattr(factories, state)(program=open_program, actor=business)

    withdrawn = services.application_withdraw(
        actor=business, application_id=application.pk, reason="Funded elsewhere"
    )

    assert withdrawn.status == S.WITHDRAWN
    assert history(withdrawn)[-1][:2] == (state, S.WITHDRAWN)


def test_an_approved_application_cannot_be_withdrawn(open_program, business):
    application = factories.approved(program=open_program, actor=business)

    with pytest.raises(Conflict):
        services.application_withdraw(actor=business, application_id=application.pk)


def test_a_caseworker_cannot_withdraw_an_application(open_program):
    application = factories.submitted(program=open_program)

    with pytest.raises(PermissionDenied):
        services.application_withdraw(actor=CASEWORKER, application_id=application.pk)


# -- award and close (driven by Finance) ----------------------------------------------------------


def test_an_obligated_award_moves_approved_to_awarded_once(open_program):
    application = factories.approved(program=open_program)

    awarded = services.application_mark_awarded(
        actor=services.FINANCE_EVENTS,
        application_id=application.pk,
        award_id=77,
        amount=application.awarded_amount,
    )
    again = services.application_mark_awarded(
        actor=services.FINANCE_EVENTS,
        application_id=application.pk,
        award_id=77,
        amount=application.awarded_amount,
    )

    assert awarded.status == again.status == S.AWARDED
    assert again.award_id == 77
    assert [step[:2] for step in history(application)].count((S.APPROVED, S.AWARDED)) == 1


def test_staff_cannot_mark_an_application_awarded(open_program):
    application = factories.approved(program=open_program)

    with pytest.raises(PermissionDenied):
        services.application_mark_awarded(
            actor=ADMINISTRATOR, application_id=application.pk, award_id=1, amount=Decimal("1")
        )


def test_an_award_for_an_application_not_approved_is_a_conflict(open_program):
    application = factories.under_review(program=open_program)

    with pytest.raises(Conflict):
        services.application_mark_awarded(
            actor=services.FINANCE_EVENTS,
            application_id=application.pk,
            award_id=1,
            amount=Decimal("1"),
        )


def test_a_closed_award_closes_the_application_once(open_program):
    application = factories.approved(program=open_program)
    services.application_mark_awarded(
        actor=services.FINANCE_EVENTS,
        application_id=application.pk,
        award_id=5,
        amount=Decimal("1"),
    )

    closed = services.application_close(
        actor=services.FINANCE_EVENTS, application_id=application.pk, award_id=5
    )
    again = services.application_close(
        actor=services.FINANCE_EVENTS, application_id=application.pk, award_id=5
    )

    assert closed.status == again.status == S.CLOSED
    assert [step[:2] for step in history(application)].count((S.AWARDED, S.CLOSED)) == 1


def test_closing_needs_an_awarded_application(open_program):
    application = factories.approved(program=open_program)

    with pytest.raises(Conflict):
        services.application_close(
            actor=services.FINANCE_EVENTS, application_id=application.pk, award_id=5
        )


# -- history --------------------------------------------------------------------------------------


def test_history_rows_cannot_be_changed_or_deleted(open_program):
    application = factories.submitted(program=open_program)
    row = ApplicationTransition.objects.filter(application=application).first()

    row.reason = "rewritten"
    with pytest.raises(AppendOnlyError):
        row.save()
    with pytest.raises(AppendOnlyError):
        row.delete()


def test_the_read_model_is_upserted(business):
    services.applicant_upsert(
        user_id=business.user_id,
        kind="business",
        display_name="Acme",
        verification_status="unverified",
    )
    services.applicant_upsert(
        user_id=business.user_id,
        kind="business",
        display_name="Acme Inc",
        verification_status="verified",
    )

    applicant = Applicant.objects.get(pk=business.user_id)
    assert (applicant.display_name, applicant.verification_status) == ("Acme Inc", "verified")
