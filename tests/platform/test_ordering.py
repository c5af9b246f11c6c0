"""Order per aggregate: producers number each aggregate's events per consumer in their
transaction; consumers never apply an older event over a newer one."""

import pytest

from hms.bus.inbox import (
    HANDLED,
    SUPERSEDED,
    WaitingForEarlier,
    consume,
    handlers_for,
    process_envelope,
)
from hms.bus.models import AggregatePosition, DeadLetter, InboxEvent, OutboxEvent
from hms.bus.outbox import publish
from hms.db import database_for, service_atomic
from hms.events import EVENT_TYPES
from hms.events.base import LATEST_WINS
from hms.events.finance import AwardClosed, AwardObligated
from hms.events.users import UserUpdated
from tests.platform.events import envelope_for

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)

GRANTS = database_for("grants")


@pytest.fixture
def test_handlers(test_handlers, settings):
    settings.HMS_BUS_HANDLERS = {
        **settings.HMS_BUS_HANDLERS,
        "grants": "tests.platform.handlers.ORDERING_HANDLERS",
    }
    handlers_for.cache_clear()
    yield test_handlers
    handlers_for.cache_clear()


def update(user_id: int, name: str, sequence: int) -> dict:
    event = UserUpdated(
        user_id=user_id, kind="business", display_name=name, verification_status="verified"
    )
    return {**envelope_for(event), "sequences": {"grants": sequence}}


def award_event(event_type, sequence: int) -> dict:
    fields = {"award_id": 9, "application_id": 12, "applicant_id": 5}
    if event_type is AwardObligated:
        fields |= {"program_code": "SBA-SBIR-2027-01", "amount": "1000.00"}
    else:
        fields |= {"deobligated_amount": "0.00"}
    return {**envelope_for(event_type(**fields)), "sequences": {"grants": sequence}}


def test_the_producer_numbers_each_aggregates_events_for_each_consumer():
    with service_atomic("users"):
        for user_id in (4, 4, 5, 4):
            publish(
                UserUpdated(
                    user_id=user_id,
                    kind="individual",
                    display_name="Ada",
                    verification_status="unverified",
                )
            )

    rows = OutboxEvent.objects.using(database_for("users")).order_by("id")
    assert [(row.aggregate, row.envelope["sequences"]) for row in rows] == [
        ("user:4", {"grants": 1, "finance": 1}),
        ("user:4", {"grants": 2, "finance": 2}),
        ("user:5", {"grants": 1, "finance": 1}),
        ("user:4", {"grants": 3, "finance": 3}),
    ]


def test_a_rolled_back_publish_gives_its_number_back():
    event = UserUpdated(
        user_id=4, kind="individual", display_name="A", verification_status="verified"
    )
    with pytest.raises(RuntimeError), service_atomic("users"):
        publish(event)
        raise RuntimeError("the change failed")
    with service_atomic("users"):
        row = publish(event)

    assert row.envelope["sequences"] == {"grants": 1, "finance": 1}


def test_an_older_state_arriving_after_a_newer_one_is_superseded(test_handlers):
    assert process_envelope("grants", update(5, "Acme Robotics", sequence=2)) == HANDLED
    older = update(5, "Acme Old Name", sequence=1)

    assert process_envelope("grants", older) == SUPERSEDED

    assert [call.display_name for call in test_handlers.calls] == ["Acme Robotics"]
    row = InboxEvent.objects.using(GRANTS).get(event_id=older["event_id"])
    assert row.outcome == InboxEvent.Outcome.SUPERSEDED
    position = AggregatePosition.objects.using(GRANTS).get(aggregate="user:5")
    assert position.last_sequence == 2


def test_a_newer_state_skipping_numbers_is_applied_at_once(test_handlers):
    assert process_envelope("grants", update(5, "First", sequence=1)) == HANDLED
    assert process_envelope("grants", update(5, "Third", sequence=3)) == HANDLED
    assert process_envelope("grants", update(5, "Second", sequence=2)) == SUPERSEDED

    assert [call.display_name for call in test_handlers.calls] == ["First", "Third"]


def test_an_in_sequence_event_that_comes_early_waits_for_the_one_before_it(test_handlers):
    closed = award_event(AwardClosed, sequence=2)

    with pytest.raises(WaitingForEarlier, match="waits for #1"):
        process_envelope("grants", closed)
    assert not InboxEvent.objects.using(GRANTS).exists()  # nothing of it was kept
    assert process_envelope("grants", award_event(AwardObligated, sequence=1)) == HANDLED
    assert process_envelope("grants", closed) == HANDLED

    assert [type(call) for call in test_handlers.calls] == [AwardObligated, AwardClosed]


def test_a_waiting_event_is_never_dead_lettered_even_on_its_last_attempt(test_handlers):
    with pytest.raises(WaitingForEarlier):
        consume("grants", award_event(AwardClosed, sequence=2), final_attempt=True)

    assert not DeadLetter.objects.using(GRANTS).exists()


def test_an_envelope_from_before_numbering_is_applied_as_before(test_handlers):
    envelope = update(5, "Acme", sequence=1)
    del envelope["sequences"]

    assert process_envelope("grants", envelope) == HANDLED
    assert not AggregatePosition.objects.using(GRANTS).exists()


def test_one_consumer_never_sees_two_kinds_of_aggregate_under_one_key():
    # An aggregate key is "<producer prefix>:<value>": events one consumer receives under one
    # prefix must name their aggregate by the same field, or two aggregates would share numbers.
    fields: dict[tuple[str, str], set[str]] = {}
    for event_type in EVENT_TYPES:
        for consumer in event_type.consumers:
            key = (event_type.name.split(".")[0], consumer)
            fields.setdefault(key, set()).add(event_type.aggregate_field)
    assert {key: names for key, names in fields.items() if len(names) > 1} == {}


def test_only_events_that_carry_a_whole_state_may_supersede():
    latest_wins = sorted(e.name for e in EVENT_TYPES if e.ordering == LATEST_WINS)
    assert latest_wins == [
        "staff.updated",
        "user.registered",
        "user.tokens_revoked",
        "user.updated",
    ]
