import json
from decimal import Decimal

import pytest
from django.utils.module_loading import import_string
from pydantic import ValidationError

from hms.bus.catalogue import render_catalogue
from hms.env import BASE_DIR
from hms.events import EVENT_TYPES, Envelope, UnknownEventType, event_class
from hms.events.grants import GrantApproved
from tests.platform.events import envelope_for, example_event

SERVICE_HANDLERS = {
    "users": "apps.users.handlers.HANDLERS",
    "grants": "apps.grants.handlers.HANDLERS",
    "finance": "apps.finance.handlers.HANDLERS",
}


def test_event_names_and_versions_are_unique():
    keys = [(event.name, event.version) for event in EVENT_TYPES]

    assert len(keys) == len(set(keys))


@pytest.mark.parametrize("service", SERVICE_HANDLERS)
def test_every_handled_event_is_declared_with_that_service_as_consumer(service):
    handlers = import_string(SERVICE_HANDLERS[service])

    for event_type, functions in handlers.items():
        assert event_type in EVENT_TYPES
        assert service in event_type.consumers, f"{event_type.name} does not list {service}"
        assert functions, f"{service} declares {event_type.name} with no handler"


def test_every_declared_consumer_has_a_handler():
    for event_type in EVENT_TYPES:
        for consumer in event_type.consumers:
            handlers = import_string(SERVICE_HANDLERS[consumer])
            assert event_type in handlers, (
                f"{consumer} consumes {event_type.name} but has no handler"
            )


@pytest.mark.parametrize("event_type", EVENT_TYPES, ids=lambda event: event.name)
def test_every_event_round_trips_through_json_as_the_broker_carries_it(event_type):
    event = example_event(event_type)

    wire = json.loads(json.dumps(envelope_for(event)))
    envelope = Envelope.model_validate(wire)
    decoded = event_class(envelope.event_type, envelope.version).model_validate(envelope.payload)

    assert decoded == event


@pytest.mark.parametrize("event_type", EVENT_TYPES, ids=lambda event: event.name)
def test_payload_schemas_reject_unknown_and_missing_fields(event_type):
    payload = example_event(event_type).model_dump(mode="json")

    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        event_type.model_validate({**payload, "surprise": 1})
    missing = dict(payload)
    missing.pop(next(iter(payload)))
    with pytest.raises(ValidationError, match="Field required"):
        event_type.model_validate(missing)


def test_money_travels_as_an_exact_decimal_string():
    event = example_event(GrantApproved).model_copy(update={"awarded_amount": Decimal("0.10")})

    payload = json.loads(json.dumps(event.model_dump(mode="json")))

    assert payload["awarded_amount"] == "0.10"
    assert GrantApproved.model_validate(payload).awarded_amount == Decimal("0.10")


def test_events_are_immutable():
    event = example_event(GrantApproved)

    with pytest.raises(ValidationError):
        event.awarded_amount = Decimal("1")


def test_unknown_versions_are_not_guessed():
    with pytest.raises(UnknownEventType):
        event_class("grant.approved", 99)


def test_catalogue_in_the_repository_is_up_to_date():
    catalogue = (BASE_DIR / "docs" / "events.md").read_text()

    assert catalogue == render_catalogue(), "run `make catalogue` and commit docs/events.md"
