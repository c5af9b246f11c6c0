"""The events the Finance Service consumes: event type to handler functions."""

from collections.abc import Sequence

from apps.finance.services import Approval, awards_obligate
from hms.bus.inbox import Applying, applies_in_batches
from hms.events.grants import GrantApproved
from hms.events.users import StaffUpdated, TokensRevoked, UserRegistered, UserUpdated
from hms.people.services import person_from_event
from hms.revocation.services import revocation_from_event
from hms.staff.services import admin_sessions_end


@applies_in_batches
def obligate_awards_for_approved_grants(run: Sequence[Applying]) -> None:
    """Each approved application gets its award (a repeat finds the award already there); a
    batch of approvals is obligated at once."""
    awards_obligate(
        [
            Approval(
                application_id=event.application_id,
                applicant_id=event.applicant_id,
                program_code=event.program_code,
                tracking_number=event.tracking_number,
                awarded_amount=event.awarded_amount,
                budget_lines=[(line.category, line.amount) for line in event.budget_lines],
            )
            for event in (applying.event for applying in run)
        ],
        correlation_ids=[applying.correlation_id for applying in run],
    )


def person_changed(event: UserRegistered | UserUpdated | StaffUpdated) -> None:
    """The names of recipients and staff, for the pages finance officers work in."""
    person_from_event(service="finance", event=event)


def tokens_revoked(event: TokensRevoked) -> None:
    """The person's older tokens are refused here too, and their admin sessions end."""
    revocation_from_event(service="finance", event=event)
    admin_sessions_end(platform_user_id=event.user_id)


HANDLERS = {
    GrantApproved: [obligate_awards_for_approved_grants],
    UserRegistered: [person_changed],
    UserUpdated: [person_changed],
    StaffUpdated: [person_changed],
    TokensRevoked: [tokens_revoked],
}
