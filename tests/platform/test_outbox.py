import itertools
import time
import uuid
from datetime import timedelta

import pytest
from django.db import IntegrityError, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from hms.bus import outbox
from hms.bus.models import AggregateSequence, InboxEvent, OutboxDelivery, OutboxEvent
from hms.bus.outbox import (
    PublishOutsideTransaction,
    bus_status,
    publish,
    publish_many,
    relay_outbox,
)
from hms.bus.partitions import events_queue, partition_of
from hms.context import correlation_id
from hms.db import Inserting, database_for, service_atomic
from hms.events.users import UserRegistered, UserUpdated
from tests.platform.broker import FakeBroker
from tests.platform.statements import statements_made

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)


def registered(user_id: int) -> UserRegistered:
    return UserRegistered(
        user_id=user_id,
        kind="business",
        display_name=f"Firm {user_id}",
        verification_status="unverified",
    )


def users_outbox():
    return OutboxEvent.objects.using(database_for("users"))


def test_publish_outside_a_transaction_is_refused():
    with pytest.raises(PublishOutsideTransaction):
        publish(registered(1))

    assert not users_outbox().exists()


def test_event_is_written_to_the_producers_outbox_with_its_envelope():
    token = correlation_id.set("req-12345678")
    try:
        with service_atomic("users"):
            publish(registered(7))
    finally:
        correlation_id.reset(token)

    row = users_outbox().get()
    envelope = row.envelope
    assert row.event_type == "user.registered"
    assert row.aggregate == "user:7"
    assert row.sent_at is None
    assert envelope["producer"] == "users"
    assert envelope["correlation_id"] == "req-12345678"
    assert envelope["payload"]["display_name"] == "Firm 7"
    assert uuid.UUID(envelope["event_id"]) == row.event_id
    # Only the producer's database holds it.
    assert not OutboxEvent.objects.using(database_for("grants")).exists()


def test_several_events_recorded_at_once_keep_their_order_numbers_and_correlation():
    with service_atomic("users"):
        publish(registered(4))  # the aggregate already has a number for each consumer
        rows = publish_many(
            [registered(4), registered(5), registered(4)],
            correlation_ids=["approval-a", None, "approval-c"],
        )

    assert [row.aggregate for row in rows] == ["user:4", "user:5", "user:4"]
    assert [row.envelope["sequences"] for row in rows] == [
        {"grants": 2, "finance": 2},
        {"grants": 1, "finance": 1},
        {"grants": 3, "finance": 3},
    ]
    assert [rows[0].envelope["correlation_id"], rows[2].envelope["correlation_id"]] == [
        "approval-a",
        "approval-c",
    ]
    assert rows[1].envelope["correlation_id"]  # the current one, or a new one
    assert [row.pk for row in rows] == sorted(row.pk for row in rows)
    assert all(row.deliveries.count() == 2 for row in rows)


def callers_write() -> Inserting:
    """A write of the publisher's own (an inbox row, as a consumer applying an event makes)."""
    return Inserting(
        [InboxEvent(event_id=uuid.uuid4(), consumer="a caller", event_type="user.registered")]
    )


def test_events_of_new_aggregates_are_numbered_from_one_without_reading_the_numbers():
    users = database_for("users")
    with service_atomic("users"):
        rows = publish_many(
            [registered(8), registered(9), registered(8)],
            new_aggregates=True,
            together_with=[callers_write()],
        )

    assert [row.envelope["sequences"] for row in rows] == [
        {"grants": 1, "finance": 1},
        {"grants": 1, "finance": 1},
        {"grants": 2, "finance": 2},
    ]
    # Recorded as next_sequences would have: the aggregates' next events follow on.
    with service_atomic("users"):
        later = publish(registered(8))
    assert later.envelope["sequences"] == {"grants": 3, "finance": 3}
    assert all(row.deliveries.count() == 2 for row in rows)
    # The caller's own write was made with them.
    assert InboxEvent.objects.using(users).filter(consumer="a caller").count() == 1


def test_an_aggregate_said_to_be_new_that_has_numbers_fails_and_records_nothing():
    users = database_for("users")
    with service_atomic("users"):
        publish(registered(10))

    with pytest.raises(IntegrityError), service_atomic("users"):
        publish_many(
            [registered(10)],
            new_aggregates=True,
            together_with=[callers_write()],
        )

    assert users_outbox().count() == 1
    assert (
        AggregateSequence.objects.using(users)
        .get(aggregate="user:10", consumer="grants")
        .last_sequence
        == 1
    )
    assert not InboxEvent.objects.using(users).filter(consumer="a caller").exists()


def test_new_aggregates_their_numbers_and_the_callers_writes_take_one_statement_on_postgresql():
    users = database_for("users")
    if connections[users].vendor != "postgresql":
        pytest.skip("one statement per table elsewhere")
    with service_atomic("users"), CaptureQueriesContext(connections[users]) as captured:
        publish_many(
            [registered(11), registered(12)],
            new_aggregates=True,
            together_with=[callers_write()],
        )

    [statement] = [
        query["sql"] for query in captured.captured_queries if "SAVEPOINT" not in query["sql"]
    ]
    for table in (
        "bus_aggregatesequence",
        "bus_inboxevent",
        "bus_outboxevent",
        "bus_outboxdelivery",
    ):
        assert f'INSERT INTO "{table}"' in statement


def test_a_batch_of_events_is_recorded_by_the_same_statement_text_whatever_its_size():
    """psycopg converts a statement once per text only within 4,096 characters and 50 parameters:
    a consumer publishing what a drain's batch caused must not pass them (hms.db.rows_source)."""
    users = database_for("users")
    if connections[users].vendor != "postgresql":
        pytest.skip("a batch's rows go as arrays on PostgreSQL")

    def recorded(first: int, count: int) -> tuple[str, int]:
        with service_atomic("users"), statements_made(users) as statements:
            publish_many(
                [registered(user_id) for user_id in range(first, first + count)],
                new_aggregates=True,
            )
        [statement] = [made for made in statements if "bus_outboxevent" in made[0]]
        return statement

    two, sixty = recorded(100, 2), recorded(200, 60)

    assert two == sixty
    assert len(sixty[0]) <= 4096 and sixty[1] <= 50
    assert users_outbox().count() == 62
    assert OutboxDelivery.objects.using(users).count() == 124


def test_a_rolled_back_transaction_publishes_nothing():
    with pytest.raises(RuntimeError), service_atomic("users"):
        publish(registered(1))
        raise RuntimeError("the state change failed")

    assert not users_outbox().exists()


def test_relay_sends_in_commit_order_and_marks_rows_sent(monkeypatch):
    broker = FakeBroker()
    broker.install(monkeypatch)
    for user_id in (3, 1, 2):
        with service_atomic("users"):
            publish(registered(user_id))

    assert relay_outbox("users").sent == 3

    assert broker.payloads("user_id") == [3, 1, 2]
    assert len(broker.batches_to("grants")) == 1  # one queue: one message for all three
    assert not users_outbox().filter(sent_at__isnull=True).exists()
    assert relay_outbox("users").sent == 0


def test_relay_puts_each_queues_events_in_batches_of_at_most_the_batch_size(monkeypatch, settings):
    monkeypatch.setenv("BUS_PARTITIONS", "2")
    settings.HMS_BUS_BATCH_SIZE = 2
    broker = FakeBroker()
    broker.install(monkeypatch)
    # user:4 and user:8 land in different partitions of grants' queues (CRC-32 of the aggregate).
    assert partition_of("user:4", 2) != partition_of("user:8", 2)
    for user_id in (4, 8, 4, 4, 8):
        with service_atomic("users"):
            publish(registered(user_id))

    assert relay_outbox("users").sent == 5

    by_queue = [
        (batch.queue, [e["payload"]["user_id"] for e in batch.envelopes])
        for batch in broker.batches_to("grants")
    ]
    first, second = events_queue("grants", "user:4"), events_queue("grants", "user:8")
    assert by_queue == [(first, [4, 4]), (second, [8, 8]), (first, [4])]


def test_relay_stops_at_a_broker_failure_and_resumes_in_order(monkeypatch, settings):
    settings.HMS_BUS_BATCH_SIZE = 1
    broker = FakeBroker()
    broker_up = {"value": True}
    broker.refuse = lambda batch: (
        not broker_up["value"] and batch.envelopes[0]["payload"]["user_id"] == 2
    )
    broker.install(monkeypatch)
    for user_id in (1, 2, 3):
        with service_atomic("users"):
            publish(registered(user_id))
    broker_up["value"] = False

    assert relay_outbox("users").sent == 1
    waiting = users_outbox().filter(sent_at__isnull=True).order_by("id")
    assert [row.envelope["payload"]["user_id"] for row in waiting] == [2, 3]
    assert "broker down" in waiting[0].last_error
    assert waiting[0].attempts == 1

    broker_up["value"] = True
    assert relay_outbox("users").sent == 2
    assert broker.payloads("user_id") == [1, 2, 3]


def test_a_commit_that_publishes_never_calls_the_broker(monkeypatch):
    # The broker is not on a request's path at all: down, slow or up, the request's commit
    # costs the same, and the relay sends the event.
    broker = FakeBroker(refuse=lambda batch: True).install(monkeypatch)

    with service_atomic("users"):
        publish(registered(1))
        publish(
            UserUpdated(
                user_id=1, kind="business", display_name="Firm", verification_status="verified"
            )
        )

    assert broker.attempts == 0
    status = bus_status("users")
    assert status.outbox_backlog == 2
    assert status.oldest_unsent_age is not None
    assert relay_outbox("users").sent == 0  # the relay meets the outage, and keeps the rows
    assert broker.attempts == 1
    assert broker.batches == []
    assert users_outbox().filter(sent_at__isnull=True).count() == 2


def test_a_queue_whose_consumer_is_behind_gets_its_next_events_later_in_one_batch(monkeypatch):
    broker = FakeBroker().install(monkeypatch)
    queue = events_queue("grants", "user:4")
    broker.waiting[queue] = 3  # the consumer has not taken the last three messages yet
    for _ in range(4):
        with service_atomic("users"):
            publish(registered(4))

    relay_outbox("users")
    assert broker.batches_to("grants") == []
    # The other consumer of the same events is not behind: it is not held back.
    assert [len(batch.envelopes) for batch in broker.batches_to("finance")] == [4]
    assert users_outbox().filter(sent_at__isnull=True).count() == 4

    broker.waiting[queue] = 0  # it caught up: everything held goes, as one batch
    assert relay_outbox("users").sent == 4
    assert [len(batch.envelopes) for batch in broker.batches_to("grants")] == [4]
    assert len(broker.batches_to("finance")) == 1  # its copies are not sent twice
    assert users_outbox().filter(sent_at__isnull=True).count() == 0


def test_held_events_go_once_the_oldest_has_waited_long_enough_or_the_batch_is_full(
    monkeypatch, settings
):
    monkeypatch.setenv("BUS_PARTITIONS", "2")  # user:4 and user:8 go to different queues
    settings.HMS_BUS_BATCH_HOLD = 0.5
    settings.HMS_BUS_BATCH_SIZE = 3
    broker = FakeBroker().install(monkeypatch)
    assert events_queue("grants", "user:4") != events_queue("grants", "user:8")
    broker.waiting[events_queue("grants", "user:4")] = 1
    broker.waiting[events_queue("grants", "user:8")] = 1
    with service_atomic("users"):
        publish(registered(4))
    relay_outbox("users")
    assert broker.batches_to("grants") == []
    users_outbox().update(created_at=timezone.now() - timedelta(seconds=1))
    for _ in range(3):
        with service_atomic("users"):
            publish(registered(8))

    assert relay_outbox("users").sent == 4  # user:4 waited long enough; user:8 filled a batch

    assert sorted(len(batch.envelopes) for batch in broker.batches_to("grants")) == [1, 3]


def test_a_consumer_with_a_window_gets_its_copies_gathered_for_it_and_the_others_at_once(
    monkeypatch, settings
):
    settings.HMS_BUS_CONSUMER_WINDOWS = {"grants": 0.5}
    settings.HMS_BUS_BATCH_SIZE = 4
    broker = FakeBroker().install(monkeypatch)  # no queue holds anything: nobody is behind
    with service_atomic("users"):
        publish(registered(4))

    first = relay_outbox("users")
    assert broker.batches_to("grants") == []
    assert [len(batch.envelopes) for batch in broker.batches_to("finance")] == [1]
    assert first.held == 0  # not behind: the relay need not look again before the copy is due
    assert 0 < first.due_in <= 0.5
    for _ in range(2):
        with service_atomic("users"):
            publish(registered(4))
    assert relay_outbox("users").sent == 2  # finance's copies; grants' wait for the first's time
    assert broker.batches_to("grants") == []

    users_outbox().update(created_at=timezone.now() - timedelta(seconds=1))
    due = relay_outbox("users")
    assert (due.sent, due.due_in) == (3, None)
    assert [len(batch.envelopes) for batch in broker.batches_to("grants")] == [3]
    assert [len(batch.envelopes) for batch in broker.batches_to("finance")] == [1, 2]
    assert users_outbox().filter(sent_at__isnull=True).count() == 0

    for _ in range(4):  # a full batch does not wait for its window
        with service_atomic("users"):
            publish(registered(4))
    assert relay_outbox("users").sent == 4
    assert [len(batch.envelopes) for batch in broker.batches_to("grants")] == [3, 4]


def test_relay_to_the_real_broker_delivers_to_each_consumers_queue():
    """The configured broker (file system or Redis) receives one copy per consuming service."""
    from hms.celery import app

    with service_atomic("users"):
        row = publish(registered(42))
    queue = "grants.events"
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        # Start from an empty queue so the message read back is ours.
        app.amqp.queues[queue].bind(channel).declare()
        channel.queue_purge(queue)
        assert relay_outbox("users", hold=False).sent == 1
        message = None
        for _ in range(50):
            message = channel.basic_get(queue)
            if message:
                break
            time.sleep(0.05)
        assert message is not None
        body = message.decode()
        message.ack()
    consumer, envelopes, trace_contexts = body[0]
    assert consumer == "grants"
    assert [envelope["event_id"] for envelope in envelopes] == [str(row.event_id)]
    assert trace_contexts == [{}]


def test_an_event_nobody_consumes_is_recorded_but_never_relayed(monkeypatch):
    from hms.events.grants import GrantWithdrawn

    broker = FakeBroker()
    broker.install(monkeypatch)

    with service_atomic("grants"):
        publish(GrantWithdrawn(application_id=1, applicant_id=4))

    row = OutboxEvent.objects.using(database_for("grants")).get()
    assert row.event_type == "grant.withdrawn"
    assert row.sent_at is not None
    assert relay_outbox("grants").sent == 0
    assert broker.batches == []
    assert bus_status("grants").outbox_backlog == 0


def test_a_commit_that_publishes_wakes_the_waiting_relay_on_postgresql():
    import threading

    from django.db import connections

    from hms.bus.outbox import wait_for_outbox

    alias = database_for("users")
    if connections[alias].vendor != "postgresql":
        pytest.skip("NOTIFY is PostgreSQL's; elsewhere the relay polls every BUS_RELAY_INTERVAL")
    listening, woken = threading.Event(), threading.Event()

    def relay():
        wait_for_outbox(alias, timeout=0)  # starts listening
        listening.set()
        wait_for_outbox(alias, timeout=30)
        woken.set()
        connections[alias].close()

    waiting = threading.Thread(target=relay)
    waiting.start()
    assert listening.wait(10)
    assert not woken.is_set()
    with service_atomic("users"):
        publish(registered(8))
    waiting.join(timeout=10)

    assert woken.is_set()  # long before its 30 s timeout


def on_postgresql() -> None:
    from django.db import connections

    if connections[database_for("users")].vendor != "postgresql":
        pytest.skip("PostgreSQL's path: commits notify, and statements are merged with WITH")


def test_a_relay_pass_records_every_copy_it_sent_in_one_statement_on_postgresql(monkeypatch):
    from django.db import connections
    from django.test.utils import CaptureQueriesContext

    on_postgresql()
    broker = FakeBroker().install(monkeypatch)
    with service_atomic("users"):
        publish(registered(4))  # to grants and finance
        publish(registered(5))

    with CaptureQueriesContext(connections[database_for("users")]) as queries:
        assert relay_outbox("users").sent == 2

    statements = [query["sql"] for query in queries if query["sql"] not in ("BEGIN", "COMMIT")]
    # The unsent rows (locked) with the consumers each was already sent to, then both
    # consumers' copies and the rows marked sent at once.
    assert len(statements) == 2, [sql[:80] for sql in statements]
    assert {batch.consumer for batch in broker.batches} == {"grants", "finance"}
    assert users_outbox().filter(sent_at__isnull=True).count() == 0
    copies = OutboxDelivery.objects.using(database_for("users"))
    assert copies.filter(sent_at__isnull=False, sends=1, next_send_at__isnull=False).count() == 4


def test_the_relays_locked_read_is_compiled_once_not_on_every_pass(monkeypatch):
    from django.db.models.sql.compiler import SQLCompiler

    broker = FakeBroker().install(monkeypatch)
    relay_outbox("users")  # the first pass compiles it
    compiled = []
    original = SQLCompiler.as_sql

    def as_sql(compiler, *args, **kwargs):
        compiled.append(compiler.query.model)
        return original(compiler, *args, **kwargs)

    monkeypatch.setattr(SQLCompiler, "as_sql", as_sql)
    with service_atomic("users"):
        publish(registered(4))

    assert relay_outbox("users").sent == 1
    assert relay_outbox("users").sent == 0
    assert OutboxEvent not in compiled
    assert len(broker.batches) == 2  # what was read was sent: to grants and to finance


class RelayStopped(BaseException):
    """Ends the relay's loop from a test (the loop survives any Exception)."""


def relay_three_passes(monkeypatch, meanwhile) -> list[tuple[float, int]]:
    """Run the relay's loop (`bus_relay`) until it has made three passes over the users outbox,
    with `meanwhile(first_pass)` in a thread (`first_pass` is set once it has made one): when
    each pass was made, and how many rows it sent."""
    import threading

    from django.core.management import call_command

    from hms.bus.management.commands import bus_relay

    monkeypatch.setattr(bus_relay.signal, "signal", lambda *args: None)  # pytest keeps its own
    passes: list[tuple[float, int]] = []
    failures: list[BaseException] = []
    first_pass = threading.Event()

    def counted(service, **options):
        relayed = relay_outbox(service, **options)
        if service == "users":  # the suite's settings hold every service's database
            passes.append((time.monotonic(), relayed.sent))
            first_pass.set()
            if len(passes) == 3:
                raise RelayStopped
        return relayed

    def working():
        try:
            meanwhile(first_pass)
        except Exception as exc:
            failures.append(exc)
        finally:
            connections[database_for("users")].close()

    monkeypatch.setattr(bus_relay, "relay_outbox", counted)
    thread = threading.Thread(target=working)
    thread.start()
    with pytest.raises(RelayStopped):
        call_command("bus_relay")
    thread.join()
    assert failures == []
    return passes


def commit_once_the_relay_waits(user_id: int):
    """For `relay_three_passes`: once the relay has made its first pass and waits, a commit."""

    def meanwhile(first_pass):
        first_pass.wait(30)
        time.sleep(0.3)
        with service_atomic("users"):
            publish(registered(user_id))

    return meanwhile


def test_after_a_pass_that_sent_everything_the_relay_waits_for_the_next_commit(
    monkeypatch, settings
):
    """At a steady rate every pass that sent an event was followed, 10 ms later, by one that found
    nothing; the commit's notification says when there is more."""
    on_postgresql()
    settings.HMS_BUS_RELAY_INTERVAL = settings.HMS_BUS_ACK_FLUSH_INTERVAL = 1.0
    FakeBroker().install(monkeypatch)

    passes = relay_three_passes(monkeypatch, commit_once_the_relay_waits(user_id=4))

    (_, first), (sent_at, second), (next_at, third) = passes
    assert (first, second, third) == (0, 1, 0), passes
    # Nothing committed after the send, so the next pass is the interval's, not the linger's.
    assert next_at - sent_at > 0.5


def test_what_commits_while_the_woken_relay_lingers_goes_in_the_same_message(monkeypatch, settings):
    """At a steady rate each message costs every consumer its whole price, so the woken relay
    waits BUS_RELAY_LINGER for the commits under way and sends them together (finding 50)."""
    import types

    from hms.bus.management.commands import bus_relay

    on_postgresql()
    settings.HMS_BUS_RELAY_INTERVAL = settings.HMS_BUS_ACK_FLUSH_INTERVAL = 1.0
    broker = FakeBroker().install(monkeypatch)
    lingered: list[float] = []

    def sleep(seconds):
        if not lingered:  # the relay's first linger: another commit lands meanwhile
            lingered.append(seconds)
            with service_atomic("users"):
                publish(registered(5))
        time.sleep(seconds)

    monkeypatch.setattr(
        bus_relay, "time", types.SimpleNamespace(sleep=sleep, monotonic=time.monotonic)
    )

    passes = relay_three_passes(monkeypatch, commit_once_the_relay_waits(user_id=4))

    assert lingered == [settings.HMS_BUS_RELAY_LINGER]
    assert [sent for _, sent in passes] == [0, 2, 0], passes
    # One message to each consumer, carrying both events in commit order.
    for consumer in ("grants", "finance"):
        (batch,) = broker.batches_to(consumer)
        assert [envelope["payload"]["user_id"] for envelope in batch.envelopes] == [4, 5]


def test_while_a_consumer_is_behind_its_held_copies_are_read_again_only_once_its_queue_drains(
    monkeypatch, settings
):
    """The relay looked at held copies again every BUS_RELAY_LINGER, reading every unsent row each
    time: up to a tenth of a core while a consumer was behind (bench/README.md, finding 47). It
    now watches the held queues, and reads again when one drains or a commit comes."""
    on_postgresql()
    # Neither the hold's end nor the acknowledgements' flush comes during the test.
    settings.HMS_BUS_BATCH_HOLD = settings.HMS_BUS_ACK_FLUSH_INTERVAL = 60.0
    broker = FakeBroker().install(monkeypatch)
    behind = events_queue("grants", "user:4")
    assert events_queue("grants", "user:5") == behind  # one partition
    broker.waiting[behind] = 1  # Grants' consumer has not taken its last message yet
    with service_atomic("users"):
        publish(registered(4))
    drained: list[float] = []

    def commit_then_drain(first_pass):
        first_pass.wait(30)
        time.sleep(0.3)
        with service_atomic("users"):
            publish(registered(5))
        time.sleep(0.3)
        drained.append(time.monotonic())
        broker.waiting[behind] = 0

    passes = relay_three_passes(monkeypatch, commit_then_drain)

    # Finance's copy of the first event at once; of the second when its commit woke the relay;
    # Grants' copies of both, as one batch, once its queue drained: three passes in all (passing
    # every 10 ms, the second and third found nothing to send).
    assert [sent for _, sent in passes] == [1, 1, 2], passes
    assert [len(batch.envelopes) for batch in broker.batches_to("finance")] == [1, 1]
    assert [len(batch.envelopes) for batch in broker.batches_to("grants")] == [2]
    assert passes[2][0] > drained[0]  # it went when the queue drained, long before the hold ended
    assert users_outbox().filter(sent_at__isnull=True).count() == 0


def test_a_queue_that_stays_behind_is_looked_at_less_and_less_often(monkeypatch, settings):
    """Every BUS_RELAY_LINGER at first, then twice as long each time, up to four times that: a
    consumer stopped for long is not asked about a hundred times a second (finding 48)."""
    on_postgresql()
    settings.HMS_BUS_RELAY_LINGER = 0.01
    broker = FakeBroker().install(monkeypatch)
    behind = events_queue("grants", "user:4")
    broker.waiting[behind] = 3
    looks: list[float] = []

    def looked_at(queues):
        looks.append(time.monotonic())
        return broker.waiting_messages(queues)

    monkeypatch.setattr(outbox, "waiting_messages", looked_at)
    began = time.monotonic()
    commit_woke = outbox.wait_while_behind(database_for("users"), frozenset({behind}), 0.5)

    assert commit_woke is False
    assert time.monotonic() - began >= 0.5  # still behind: it waited the whole hold
    gaps = [later - earlier for earlier, later in itertools.pairwise(looks)]
    # After 10, 20, 40 ms, then every 40 ms: about 14 looks in half a second, not 50 (a busy
    # machine makes them fewer, never more).
    assert len(looks) <= 16, looks
    assert min(gaps[1:-1]) >= 0.035, gaps  # the last one meets the end

    broker.waiting[behind] = 0  # drained: the first look says so
    looks.clear()
    assert outbox.wait_while_behind(database_for("users"), frozenset({behind}), 0.5) is False
    assert len(looks) == 1
