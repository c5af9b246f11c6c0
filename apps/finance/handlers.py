"""The events the Finance Service consumes: event type to handler functions."""

from apps.finance.services import award_obligate
from hms.events.grants import GrantApproved


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


HANDLERS = {GrantApproved: [obligate_award_for_approved_grant]}
