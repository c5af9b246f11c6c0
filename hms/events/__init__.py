"""The registry: every event type on the bus, who publishes it and who consumes it.

`docs/events.md` is generated from it (`python manage.py bus_catalogue`).
"""

from hms.events.base import Envelope, Event
from hms.events.finance import (
    AwardClosed,
    AwardObligated,
    PaymentDisbursed,
    PaymentFailed,
    ReimbursementDecided,
    ReportReminder,
)
from hms.events.grants import (
    GrantApproved,
    GrantAssigned,
    GrantAwarded,
    GrantChangesRequested,
    GrantClosed,
    GrantRejected,
    GrantSubmitted,
    GrantWithdrawn,
)
from hms.events.users import StaffUpdated, TokensRevoked, UserRegistered, UserUpdated

EVENT_TYPES: tuple[type[Event], ...] = (
    UserRegistered,
    UserUpdated,
    StaffUpdated,
    TokensRevoked,
    GrantSubmitted,
    GrantApproved,
    GrantChangesRequested,
    GrantAssigned,
    GrantAwarded,
    GrantRejected,
    GrantWithdrawn,
    GrantClosed,
    AwardObligated,
    PaymentDisbursed,
    PaymentFailed,
    ReimbursementDecided,
    AwardClosed,
    ReportReminder,
)

_BY_KEY = {(event.name, event.version): event for event in EVENT_TYPES}


class UnknownEventType(LookupError):
    pass


def event_class(name: str, version: int) -> type[Event]:
    """The declared event type for a name and version."""
    try:
        return _BY_KEY[(name, version)]
    except KeyError:
        raise UnknownEventType(f"No event type {name!r} version {version} is declared.") from None


__all__ = ["EVENT_TYPES", "Envelope", "Event", "UnknownEventType", "event_class"]
