"""Grants and Finance keep the names of the people they show (hms.people), from the User
Service's events, so that staff pages read "Ada Lovelace (#4)", never a bare id."""

import pytest

from hms.bus.inbox import DUPLICATE, HANDLED, process_envelope
from hms.db import database_for
from hms.events.users import StaffUpdated, UserRegistered, UserUpdated
from hms.identity import ROLE_SERVICE
from hms.people.demo import DEMO_PEOPLE
from hms.people.models import Person
from hms.people.selectors import actor_label, person_label
from hms.people.services import people_ensure, person_record
from tests.grants.factories import envelope

pytestmark = pytest.mark.django_db(databases="__all__")

CONSUMERS = ["grants", "finance"]


def people(service):
    return Person.objects.using(database_for(service))


def staff(user_id=2, name="Casey Whitfield", role="caseworker", active=True):
    return StaffUpdated(user_id=user_id, display_name=name, role=role, active=active)


def applicant(event_class=UserRegistered, user_id=4, name="Ada Lovelace"):
    return event_class(
        user_id=user_id, kind="individual", display_name=name, verification_status="unverified"
    )


@pytest.mark.parametrize("service", CONSUMERS)
def test_a_member_of_staff_is_kept_once_however_often_delivered(service):
    delivered = envelope(staff())

    assert process_envelope(service, delivered) == HANDLED
    assert process_envelope(service, delivered) == DUPLICATE

    person = people(service).get()
    assert (person.user_id, person.display_name, person.role, person.active) == (
        2,
        "Casey Whitfield",
        "caseworker",
        True,
    )


@pytest.mark.parametrize("service", CONSUMERS)
def test_the_newest_staff_summary_wins(service):
    process_envelope(service, envelope(staff()))
    process_envelope(service, envelope(staff(name="Casey Whitfield-Ng", active=False)))

    person = people(service).get()
    assert (person.display_name, person.active) == ("Casey Whitfield-Ng", False)


@pytest.mark.parametrize("service", CONSUMERS)
def test_applicants_are_kept_by_name_and_kind(service):
    process_envelope(service, envelope(applicant()))
    process_envelope(service, envelope(applicant(UserUpdated, name="Ada King")))

    person = people(service).get()
    assert (person.display_name, person.role, person.kind) == (
        "Ada King",
        "applicant",
        "individual",
    )


def test_each_service_keeps_its_own_copy():
    process_envelope("grants", envelope(staff()))

    assert people("grants").count() == 1
    assert people("finance").count() == 0


def test_demo_people_fill_in_only_who_is_not_known_yet():
    person_record(service="grants", user_id=2, role="caseworker", display_name="Casey W. (renamed)")

    assert people_ensure(service="grants", people=DEMO_PEOPLE) == len(DEMO_PEOPLE) - 1
    assert people_ensure(service="grants", people=DEMO_PEOPLE) == 0

    assert people("grants").get(user_id=2).display_name == "Casey W. (renamed)"
    assert people("grants").get(user_id=5).kind == "business"


def test_people_read_by_name_and_fall_back_to_their_id():
    assert person_label(4, "Ada Lovelace") == "Ada Lovelace (#4)"
    assert person_label(4, None) == "User #4"
    assert person_label(None, None) == "-"
    assert actor_label("caseworker", 2, "Casey Whitfield") == "Casey Whitfield (#2)"
    assert actor_label(ROLE_SERVICE, None, None, "finance") == "Finance Service"
