"""Batches: the relay sends a run of one queue's events as one message, and the consumer applies
it in one transaction; an event that cannot be applied holds back only itself (and the later
events of its aggregate that must wait for it)."""

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext
from prometheus_client import REGISTRY

from hms.bus.inbox import consume_batch, handlers_for
from hms.bus.models import AggregatePosition, DeadLetter, InboxEvent, PendingAck
from hms.db import database_for
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
    return {
        **envelope_for(event, correlation_id=f"request renaming to {name}"),
        "sequences": {"grants": sequence},
    }


def award(event_type, award_id: int, sequence: int) -> dict:
    # The aggregate of an award's events is its application.
    fields = {"award_id": award_id, "application_id": 100 + award_id, "applicant_id": 5}
    if event_type is AwardObligated:
        fields |= {"program_code": "SBA-SBIR-2027-01", "amount": "1000.00"}
    else:
        fields |= {"deobligated_amount": "0.00"}
    return {**envelope_for(event_type(**fields)), "sequences": {"grants": sequence}}


def parse(envelope: dict) -> UserUpdated:
    return UserUpdated.model_validate(envelope["payload"])


def inbox() -> dict[str, str]:
    return {
        str(row.event_id): row.outcome
        for row in InboxEvent.objects.using(GRANTS).filter(consumer="grants")
    }


def test_a_batch_is_applied_in_order_with_one_inbox_row_and_acknowledgement_each(test_handlers):
    batch = [update(4, "Ada", 1), update(5, "Acme", 1), update(4, "Ada Lovelace", 2)]
    labels = {"service": "grants", "event_type": "user.updated"}
    measured = REGISTRY.get_sample_value("hms_event_delivery_seconds_count", labels) or 0

    assert consume_batch("grants", batch, final_attempt=False) == []

    # Each event of the batch arrived (hms_event_delivery_seconds), as alone it would have.
    assert REGISTRY.get_sample_value("hms_event_delivery_seconds_count", labels) == measured + 3

    assert [call.display_name for call in test_handlers.calls] == ["Ada", "Acme", "Ada Lovelace"]
    assert set(inbox()) == {envelope["event_id"] for envelope in batch}
    assert PendingAck.objects.using(GRANTS).count() == 3
    positions = dict(
        AggregatePosition.objects.using(GRANTS).values_list("aggregate", "last_sequence")
    )
    assert positions == {"user:4": 2, "user:5": 1}


def test_the_bookkeeping_of_a_batch_does_not_grow_with_its_size(test_handlers):
    def statements(size: int, first_user: int) -> int:
        batch = [update(first_user + n, f"Firm {n}", 1) for n in range(size)]
        with CaptureQueriesContext(connections[GRANTS]) as captured:
            assert consume_batch("grants", batch, final_attempt=False) == []
        return len(captured)

    # The test handlers write nothing: every statement is the bus's own.
    assert statements(2, first_user=100) == statements(40, first_user=200)


def test_a_batch_s_bookkeeping_is_one_statement_on_postgresql(test_handlers):
    if connections[GRANTS].vendor != "postgresql":
        pytest.skip("a data-modifying WITH is PostgreSQL's")
    consume_batch("grants", [update(4, "Ada", 1)], final_attempt=False)
    batch = [update(4, "Ada Lovelace", 2), update(5, "Acme", 1), update(4, "Ada L.", 3)]

    with CaptureQueriesContext(connections[GRANTS]) as captured:
        assert consume_batch("grants", batch, final_attempt=False) == []

    # The test handlers write nothing: the inbox rows, the acknowledgements owed and the
    # positions, read and moved, are the one statement in the batch's transaction.
    statements = [query["sql"] for query in captured]
    assert statements[0] == "BEGIN" and statements[-1] == "COMMIT", statements
    assert len(statements) == 3, statements
    statement = statements[1]
    for table in ("bus_inboxevent", "bus_pendingack", "bus_aggregateposition"):
        assert f'INSERT INTO "{table}"' in statement, table
    assert {envelope["event_id"] for envelope in batch} < set(inbox()) and len(inbox()) == 4
    assert PendingAck.objects.using(GRANTS).count() == 4
    positions = AggregatePosition.objects.using(GRANTS).values_list(
        "aggregate", "last_sequence", "previous_sequence"
    )
    assert set(positions) == {("user:4", 3, 1), ("user:5", 1, 0)}


def test_a_copy_the_consumer_already_holds_is_skipped_inside_a_batch(test_handlers):
    first = update(4, "Ada", 1)
    consume_batch("grants", [first], final_attempt=False)
    again = [first, update(4, "Ada Lovelace", 2), update(4, "Ada Lovelace", 2)]
    again[2]["event_id"] = again[1]["event_id"]  # the same event twice in one batch

    assert consume_batch("grants", again, final_attempt=False) == []

    assert [call.display_name for call in test_handlers.calls] == ["Ada", "Ada Lovelace"]
    assert len(inbox()) == 2


def test_an_older_state_in_a_batch_is_superseded_by_a_newer_one_applied_before_it(test_handlers):
    newer, older = update(4, "Newer", 3), update(4, "Older", 2)

    assert consume_batch("grants", [newer, older], final_attempt=False) == []

    assert [call.display_name for call in test_handlers.calls] == ["Newer"]
    assert inbox()[older["event_id"]] == InboxEvent.Outcome.SUPERSEDED


def test_an_event_that_must_wait_holds_back_only_itself_and_its_aggregates_followers(
    test_handlers,
):
    early = award(AwardClosed, award_id=9, sequence=2)  # #1 of award 9 has not arrived
    other = award(AwardObligated, award_id=10, sequence=1)

    retry = consume_batch("grants", [early, other], final_attempt=False)

    assert retry == [0]
    assert list(inbox()) == [other["event_id"]]
    # When #1 arrives, the waiting one follows it.
    assert consume_batch("grants", [award(AwardObligated, 9, 1), early], final_attempt=False) == []
    assert [(type(call).__name__, call.award_id) for call in test_handlers.calls] == [
        ("AwardObligated", 10),
        ("AwardObligated", 9),
        ("AwardClosed", 9),
    ]


def test_a_failing_handler_in_a_batch_is_retried_alone_and_dead_lettered_on_its_last_attempt(
    test_handlers, monkeypatch
):
    from tests.platform import handlers

    def record_unless_broken(event):
        if event.display_name == "Broken":
            raise RuntimeError("the handler's dependency is down")
        handlers.calls.append(event)

    monkeypatch.setitem(handlers.ORDERING_HANDLERS, UserUpdated, [record_unless_broken])
    batch = [update(4, "Ada", 1), update(5, "Broken", 1), update(6, "Acme", 1)]

    assert consume_batch("grants", batch, final_attempt=False) == [1]
    # The batch's transaction was rolled back and the events applied one at a time: the two
    # healthy ones are held (once each), the broken one is not.
    assert set(inbox()) == {batch[0]["event_id"], batch[2]["event_id"]}
    assert test_handlers.calls[-2:] == [parse(batch[0]), parse(batch[2])]
    assert not DeadLetter.objects.using(GRANTS).exists()

    assert consume_batch("grants", [batch[1]], final_attempt=True) == []
    letter = DeadLetter.objects.using(GRANTS).get()
    assert str(letter.event_id) == batch[1]["event_id"]
    assert "dependency is down" in letter.error


def test_an_undeliverable_event_in_a_batch_is_dead_lettered_and_the_rest_applied(test_handlers):
    poison = {**update(4, "Ada", 1), "event_type": "user.exploded"}
    healthy = update(5, "Acme", 1)

    assert consume_batch("grants", [poison, healthy], final_attempt=False) == []

    assert DeadLetter.objects.using(GRANTS).get().reason == "unknown_event_type"
    assert list(inbox()) == [healthy["event_id"]]


def test_a_batch_handler_gets_each_run_of_its_events_at_once_in_order(test_handlers, settings):
    settings.HMS_BUS_HANDLERS = {
        **settings.HMS_BUS_HANDLERS,
        "grants": "tests.platform.handlers.BATCH_HANDLERS",
    }
    handlers_for.cache_clear()
    batch = [
        update(4, "Ada", 1),
        update(5, "Acme", 1),
        update(4, "Ada (older)", 1),  # superseded: not handed to the handler
        award(AwardObligated, 1, 1),
        update(4, "Ada Lovelace", 2),
    ]

    assert consume_batch("grants", batch, final_attempt=False) == []

    first, second, third = test_handlers.calls
    assert first == (
        "run",
        ["Ada", "Acme"],
        [batch[0]["correlation_id"], batch[1]["correlation_id"]],
    )
    assert isinstance(second, AwardObligated)
    assert third == ("run", ["Ada Lovelace"], [batch[4]["correlation_id"]])
    assert inbox()[batch[2]["event_id"]] == InboxEvent.Outcome.SUPERSEDED
    positions = dict(
        AggregatePosition.objects.using(GRANTS).values_list("aggregate", "last_sequence")
    )
    assert positions == {"user:4": 2, "user:5": 1, "finance:101": 1}
