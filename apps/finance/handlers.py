"""The events the Finance Service consumes: event type to handler functions."""

from apps.finance.services import award_obligate
from hms.events.grants import GrantApproved
from hms.events.users import StaffUpdated, UserRegistered, UserUpdated
from hms.people.services import person_record


def obligate_award_for_approved_grant(event: GrantApproved) -> None:
    """An approved application gets its award (a repeat delivery finds the award already there)."""
    award_obligate(
        application_id=event.application_id,
        applicant_id=event.applicant_id,
        program_code=event.program_code,
        tracking_number=event.tracking_number,
        awarded_amount=event.awarded_amount,
        budget_lines=[(line.category, line.amount) for line in event.budget_lines],
    )


def applicant_changed(event: UserRegistered | UserUpdated) -> None:
    """The names of recipients, for the pages finance officers work in."""
    person_record(
        service="finance",
        user_id=event.user_id,
        role="applicant",
        display_name=event.display_name,
        kind=event.kind,
    )


def staff_changed(event: StaffUpdated) -> None:
    """The names of staff, for the pages that show who scheduled or decided what."""
    person_record(
        service="finance",
        user_id=event.user_id,
        role=event.role,
        display_name=event.display_name,
        active=event.active,
    )


HANDLERS = {
    GrantApproved: [obligate_award_for_approved_grant],
    UserRegistered: [applicant_changed],
    UserUpdated: [applicant_changed],
    StaffUpdated: [staff_changed],
}
