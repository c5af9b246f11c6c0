"""Build the events this service publishes from its models (schemas: `hms.events.grants`)."""

from apps.grants.models import Application
from hms.events.grants import (
    BudgetLine,
    GrantApproved,
    GrantAssigned,
    GrantAwarded,
    GrantChangesRequested,
    GrantClosed,
    GrantRejected,
    GrantSubmitted,
    GrantWithdrawn,
)


def grant_submitted(application: Application) -> GrantSubmitted:
    return GrantSubmitted(
        application_id=application.pk,
        applicant_id=application.applicant_id,
        program_code=application.program.code,
        tracking_number=application.tracking_number,
        requested_amount=application.requested_amount,
    )


def grant_approved(application: Application) -> GrantApproved:
    return GrantApproved(
        application_id=application.pk,
        applicant_id=application.applicant_id,
        program_code=application.program.code,
        tracking_number=application.tracking_number,
        awarded_amount=application.awarded_amount,
        budget_lines=[
            BudgetLine(category=line.category, description=line.description, amount=line.amount)
            for line in application.budget_lines.all()
        ],
    )


def grant_rejected(application: Application) -> GrantRejected:
    return GrantRejected(
        application_id=application.pk,
        applicant_id=application.applicant_id,
        reason=application.status_reason,
        tracking_number=application.tracking_number or "",
    )


def grant_changes_requested(application: Application) -> GrantChangesRequested:
    return GrantChangesRequested(
        application_id=application.pk,
        applicant_id=application.applicant_id,
        tracking_number=application.tracking_number or "",
        message=application.status_reason,
    )


def grant_assigned(application: Application, *, assigned_by_id: int) -> GrantAssigned:
    return GrantAssigned(
        application_id=application.pk,
        tracking_number=application.tracking_number or "",
        program_code=application.program.code,
        assignee_id=application.assignee_id,
        assigned_by_id=assigned_by_id,
    )


def grant_withdrawn(application: Application) -> GrantWithdrawn:
    return GrantWithdrawn(application_id=application.pk, applicant_id=application.applicant_id)


def grant_closed(application: Application) -> GrantClosed:
    return GrantClosed(application_id=application.pk, applicant_id=application.applicant_id)


def grant_awarded(application: Application) -> GrantAwarded:
    return GrantAwarded(
        application_id=application.pk,
        applicant_id=application.applicant_id,
        tracking_number=application.tracking_number or "",
        program_code=application.program.code,
        award_id=application.award_id,
        amount=application.awarded_amount,
    )
