"""The events the Grants Service consumes: event type to handler functions.

Each handler runs inside the inbox's transaction on this service's database and calls a service
function; each is safe to run twice (upserts, and transitions that ignore a state already reached).
"""

from collections.abc import Sequence

from apps.grants import services
from hms.bus.inbox import Applying, applies_in_batches
from hms.events.finance import AwardClosed, AwardObligated
from hms.events.users import StaffUpdated, TokensRevoked, UserRegistered, UserUpdated
from hms.people.services import person_from_event
from hms.revocation.services import revocation_from_event
from hms.staff.services import admin_sessions_end


def applicant_changed(event: UserRegistered | UserUpdated) -> None:
    """Keep the local applicant read model (and the names pages show) in step with the User
    Service."""
    services.applicant_upsert(
        user_id=event.user_id,
        kind=event.kind,
        display_name=event.display_name,
        verification_status=event.verification_status,
        state=event.state,
    )
    person_from_event(service="grants", event=event)


def staff_changed(event: StaffUpdated) -> None:
    """A member of staff's name and role, for the pages that show who did what."""
    person_from_event(service="grants", event=event)


@applies_in_batches
def awards_obligated(run: Sequence[Applying]) -> None:
    """Finance obligated the awards: each approved application becomes awarded, a batch at once."""
    services.applications_mark_awarded(
        actor=services.FINANCE_EVENTS,
        awards=[
            services.ObligatedAward(
                application_id=event.application_id, award_id=event.award_id, amount=event.amount
            )
            for event in (applying.event for applying in run)
        ],
        correlation_ids=[applying.correlation_id for applying in run],
    )


def award_closed(event: AwardClosed) -> None:
    """Finance closed the award: the application is closed."""
    services.application_close(
        actor=services.FINANCE_EVENTS,
        application_id=event.application_id,
        award_id=event.award_id,
    )


def tokens_revoked(event: TokensRevoked) -> None:
    """The person's older tokens are refused here too, and their admin sessions end."""
    revocation_from_event(service="grants", event=event)
    admin_sessions_end(platform_user_id=event.user_id)


HANDLERS = {
    UserRegistered: [applicant_changed],
    UserUpdated: [applicant_changed],
    StaffUpdated: [staff_changed],
    TokensRevoked: [tokens_revoked],
    AwardObligated: [awards_obligated],
    AwardClosed: [award_closed],
}
