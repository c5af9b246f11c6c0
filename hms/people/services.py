"""Keeping a service's people current from the User Service's events (hms.people)."""

from django.utils import timezone

from hms.db import database_for
from hms.people.models import Person


def person_record(
    *,
    service: str,
    user_id: int,
    role: str,
    display_name: str,
    kind: str = "",
    active: bool = True,
) -> Person:
    """Record what the User Service last said about a person (events carry the whole state)."""
    person, _ = Person.objects.using(database_for(service)).update_or_create(
        user_id=user_id,
        defaults={
            "role": role,
            "display_name": display_name,
            "kind": kind,
            "active": active,
            "synced_at": timezone.now(),
        },
    )
    return person


def people_ensure(*, service: str, people: list[dict]) -> int:
    """Create the people not yet known (what the User Service already said is kept).
    Returns how many were created."""
    database = database_for(service)
    known = set(
        Person.objects.using(database)
        .filter(user_id__in=[person["user_id"] for person in people])
        .values_list("user_id", flat=True)
    )
    missing = [Person(**person) for person in people if person["user_id"] not in known]
    Person.objects.using(database).bulk_create(missing)
    return len(missing)


def person_from_event(*, service: str, event) -> Person:
    """Record what a `user.registered`, `user.updated` or `staff.updated` event says of a person
    (the handler every service that names people runs for those events)."""
    if hasattr(event, "role"):  # staff.updated
        return person_record(
            service=service,
            user_id=event.user_id,
            role=event.role,
            display_name=event.display_name,
            active=event.active,
        )
    return person_record(
        service=service,
        user_id=event.user_id,
        role="applicant",
        display_name=event.display_name,
        kind=event.kind,
    )
