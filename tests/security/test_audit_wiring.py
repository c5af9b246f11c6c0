"""Every staff action on applications, awards, money and business verification leaves an audit
entry on the owning service's database: who, what, on which object, from where."""

from decimal import Decimal

import pytest

from apps.finance import services as finance
from apps.grants import services as grants
from apps.users import services as users
from hms.audit.models import AuditEntry
from hms.auth import Identity
from hms.db import database_for
from tests.finance import factories as finance_factories
from tests.grants import factories as grants_factories
from tests.identity import access_token_for
from tests.users import factories as users_factories

pytestmark = pytest.mark.django_db(databases="__all__")

CASEWORKER = Identity(user_id=900, role="caseworker")
OFFICER = Identity(user_id=3, role="finance_officer")


def entries(service: str, **filters) -> list[AuditEntry]:
    return list(AuditEntry.objects.using(database_for(service)).filter(**filters).order_by("id"))


def only_entry(service: str, action: str, object_id) -> AuditEntry:
    found = entries(service, action=action, object_id=str(object_id))
    assert len(found) == 1, [e.action for e in entries(service)]
    return found[0]


@pytest.fixture
def program():
    return grants_factories.program(code="SEC-AUDIT-2027-01")


# -- applications -------------------------------------------------------------------------------


def test_assigning_an_application_is_audited(program):
    application = grants_factories.submitted(program=program)

    grants.application_assign(actor=CASEWORKER, application_id=application.pk)

    entry = only_entry("grants", "application.assign", application.pk)
    assert (entry.actor_id, entry.actor_role, entry.object_type) == (
        900,
        "caseworker",
        "application",
    )
    assert entry.changes == {"assignee_id": [None, 900]}


def test_starting_a_review_is_audited(program):
    application = grants_factories.submitted(program=program)

    grants.application_start_review(actor=CASEWORKER, application_id=application.pk)

    entry = only_entry("grants", "application.start_review", application.pk)
    assert entry.changes == {"status": ["submitted", "under_review"]}


def test_requesting_changes_is_audited(program):
    application = grants_factories.under_review(program=program)

    grants.application_request_changes(
        actor=CASEWORKER, application_id=application.pk, reason="Budget lines are vague."
    )

    entry = only_entry("grants", "application.request_changes", application.pk)
    assert entry.changes["reason"] == "Budget lines are vague."


def test_approving_is_audited_with_the_awarded_amount(program):
    application = grants_factories.under_review(program=program, requested="9000.00")

    grants.application_approve(
        actor=CASEWORKER, application_id=application.pk, awarded_amount=Decimal("8000.00")
    )

    entry = only_entry("grants", "application.approve", application.pk)
    assert entry.changes["awarded_amount"] == "8000.00"
    assert entry.changes["status"] == ["under_review", "approved"]


def test_rejecting_is_audited(program):
    application = grants_factories.under_review(program=program)

    grants.application_reject(actor=CASEWORKER, application_id=application.pk, reason="Ineligible.")

    assert only_entry("grants", "application.reject", application.pk).changes["reason"] == (
        "Ineligible."
    )


def test_scoring_is_audited(program):
    criteria = list(grants.rubric_ensure_default().criteria.all())
    application = grants_factories.under_review(program=program)

    grants.application_score(
        actor=CASEWORKER,
        application_id=application.pk,
        scores=[grants.ScoreInput(criterion_id=criteria[0].pk, score=4)],
    )

    assert only_entry("grants", "application.score", application.pk).changes == {
        "scores": {str(criteria[0].pk): 4}
    }


def test_a_refused_staff_action_leaves_no_entry(program):
    application = grants_factories.submitted(program=program)

    with pytest.raises(grants.Conflict):
        grants.application_approve(actor=CASEWORKER, application_id=application.pk)

    assert entries("grants", object_id=str(application.pk)) == []


def test_applicant_actions_are_not_staff_actions(program):
    grants_factories.submitted(program=program)

    assert entries("grants") == []


def test_an_api_call_records_from_where_it_came(program, client_as):
    application = grants_factories.submitted(program=program)
    client = client_as(900, "caseworker", None)

    response = client.post(
        f"/grants/review/applications/{application.pk}/start-review",
        {},
        format="json",
        REMOTE_ADDR="198.51.100.23",
        HTTP_USER_AGENT="CaseworkerDesk/1.0",
        HTTP_X_REQUEST_ID="audit-e2e-request-1",
    )

    assert response.status_code == 200, response.content
    entry = only_entry("grants", "application.start_review", application.pk)
    assert (entry.actor_id, entry.ip_address, entry.user_agent, entry.request_id) == (
        900,
        "198.51.100.23",
        "CaseworkerDesk/1.0",
        "audit-e2e-request-1",
    )


# -- awards and money ---------------------------------------------------------------------------


def test_scheduling_sending_and_settling_a_disbursement_are_audited():
    award = finance_factories.award()

    disbursement = finance.disbursement_schedule(
        actor=OFFICER, award_id=award.pk, category="Personnel", amount=Decimal("50.00")
    )
    finance.disbursement_send(actor=OFFICER, disbursement_id=disbursement.pk)
    finance.disbursement_settle(actor=OFFICER, disbursement_id=disbursement.pk)

    actions = [e.action for e in entries("finance", object_type="disbursement")]
    assert actions == ["disbursement.schedule", "disbursement.send", "disbursement.settle"]
    schedule = only_entry("finance", "disbursement.schedule", disbursement.pk)
    assert (schedule.actor_id, schedule.actor_role) == (3, "finance_officer")
    assert schedule.changes["amount"] == "50.00"


def test_failing_a_disbursement_is_audited():
    disbursement = finance_factories.scheduled(finance_factories.award())

    finance.disbursement_fail(actor=OFFICER, disbursement_id=disbursement.pk, reason="Bounced.")

    assert only_entry("finance", "disbursement.fail", disbursement.pk).changes == {
        "status": ["scheduled", "failed"],
        "reason": "Bounced.",
    }


def test_recovering_a_settled_payment_is_audited():
    disbursement = finance_factories.settled(finance_factories.award())

    finance.disbursement_recover(
        actor=OFFICER, disbursement_id=disbursement.pk, amount=Decimal("5.00"), reason="Refund"
    )

    assert only_entry("finance", "disbursement.recover", disbursement.pk).changes["amount"] == (
        "5.00"
    )


def test_approving_and_rejecting_reimbursements_are_audited():
    award = finance_factories.award()
    approved = finance_factories.reimbursement(award)
    rejected = finance_factories.reimbursement(award, amount="20.00")

    finance.reimbursement_approve(actor=OFFICER, reimbursement_id=approved.pk)
    finance.reimbursement_reject(actor=OFFICER, reimbursement_id=rejected.pk, reason="No receipt.")

    approval = only_entry("finance", "reimbursement.approve", approved.pk)
    assert approval.changes["status"] == ["pending", "approved"]
    assert only_entry("finance", "reimbursement.reject", rejected.pk).changes["reason"] == (
        "No receipt."
    )


def test_closing_an_award_is_audited():
    award = finance_factories.reported(finance_factories.award())  # its reports accepted

    finance.award_close(actor=OFFICER, award_id=award.pk, note="Work done.")

    entry = only_entry("finance", "award.close", award.pk)
    assert entry.changes == {"deobligated": "1000.00", "note": "Work done."}


def test_obligating_an_award_is_the_systems_not_a_staff_action():
    finance_factories.award()

    assert entries("finance") == []


def test_money_entries_stay_on_the_finance_database():
    finance_factories.scheduled(finance_factories.award())
    disbursement = finance.Disbursement.objects.get()
    finance.disbursement_send(actor=OFFICER, disbursement_id=disbursement.pk)

    assert entries("finance")
    assert entries("grants") == []
    assert AuditEntry.objects.using(database_for("users")).count() == 0


# -- business verification ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "action"),
    [("verified", "profile.verify"), ("rejected", "profile.reject_verification")],
)
def test_staff_verification_of_a_business_is_audited(status, action):
    business = users_factories.business()
    caseworker = users_factories.staff("caseworker")
    actor = Identity(user_id=caseworker.pk, role="caseworker")

    users.business_verification_decide(
        actor=actor, profile_id=business.pk, status=status, reason="Checked against SAM.gov."
    )

    entry = only_entry("users", action, business.pk)
    assert (entry.actor_id, entry.object_type) == (caseworker.pk, "profile")
    assert entry.changes == {
        "verification_status": ["unverified", status],
        "reason": "Checked against SAM.gov.",
    }


def test_the_token_in_the_request_is_the_actor_not_anything_in_the_body(program, client_as):
    application = grants_factories.submitted(program=program)
    client = client_as(900, "caseworker", None)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token_for(900, 'caseworker', None)}")

    client.post(
        f"/grants/review/applications/{application.pk}/assign",
        {"actor_id": 1, "actor_role": "administrator"},
        format="json",
    )

    entry = only_entry("grants", "application.assign", application.pk)
    assert (entry.actor_id, entry.actor_role) == (900, "caseworker")


def test_commenting_on_an_application_is_audited(program):
    application = grants_factories.under_review(program=program)

    comment = grants.application_comment(
        actor=CASEWORKER, application_id=application.pk, body="Call the applicant."
    )

    assert only_entry("grants", "application.comment", application.pk).changes == {
        "comment_id": comment.pk,
        "visibility": "internal",
    }
