import time
import uuid

import pytest

from hms.bus import outbox
from hms.bus.models import OutboxEvent
from hms.bus.outbox import PublishOutsideTransaction, bus_status, publish, relay_outbox
from hms.context import correlation_id
from hms.db import database_for, service_atomic
from hms.events.users import UserRegistered, UserUpdated

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


def test_a_rolled_back_transaction_publishes_nothing():
    with pytest.raises(RuntimeError), service_atomic("users"):
        publish(registered(1))
        raise RuntimeError("the state change failed")

    assert not users_outbox().exists()


def test_relay_sends_in_commit_order_and_marks_rows_sent(monkeypatch):
    sent = []
    monkeypatch.setattr(
        outbox,
        "send_envelope",
        lambda envelope, aggregate, consumers=None: sent.append(envelope["payload"]["user_id"]),
    )
    for user_id in (3, 1, 2):
        with service_atomic("users"):
            publish(registered(user_id))

    assert relay_outbox("users") == 3

    assert sent == [3, 1, 2]
    assert not users_outbox().filter(sent_at__isnull=True).exists()
    assert relay_outbox("users") == 0


def test_relay_stops_at_a_broker_failure_and_resumes_in_order(monkeypatch):
    sent, broker = [], {"up": True}

    def send(envelope, aggregate, consumers=None):
        if envelope["payload"]["user_id"] == 2 and not broker["up"]:
            raise ConnectionError("broker down")
        sent.append(envelope["payload"]["user_id"])

    monkeypatch.setattr(outbox, "send_envelope", send)
    for user_id in (1, 2, 3):
        with service_atomic("users"):
            publish(registered(user_id))
    broker["up"] = False

    assert relay_outbox("users") == 1
    waiting = users_outbox().filter(sent_at__isnull=True).order_by("id")
    assert [row.envelope["payload"]["user_id"] for row in waiting] == [2, 3]
    assert "broker down" in waiting[0].last_error
    assert waiting[0].attempts == 1

    broker["up"] = True
    assert relay_outbox("users") == 2
    assert sent == [1, 2, 3]


def test_a_commit_that_publishes_never_calls_the_broker(monkeypatch):
    # The broker is not on a request's path at all: down, slow or up, the request's commit
    # costs the same, and the relay sends the event.
    calls = []

    def broker_down(envelope, aggregate, consumers=None):
        calls.append(envelope["event_type"])
        raise ConnectionError("down")

    monkeypatch.setattr(outbox, "send_envelope", broker_down)

    with service_atomic("users"):
        publish(registered(1))
        publish(
            UserUpdated(
                user_id=1, kind="business", display_name="Firm", verification_status="verified"
            )
        )

    assert calls == []
    status = bus_status("users")
    assert status.outbox_backlog == 2
    assert status.oldest_unsent_age is not None
    assert relay_outbox("users") == 0  # the relay meets the outage, and keeps the rows
    assert calls == ["user.registered"]
    assert users_outbox().filter(sent_at__isnull=True).count() == 2


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
        assert relay_outbox("users") == 1
        message = None
        for _ in range(50):
            message = channel.basic_get(queue)
            if message:
                break
            time.sleep(0.05)
        assert message is not None
        body = message.decode()
        message.ack()
    consumer, envelope = body[0]
    assert consumer == "grants"
    assert envelope["event_id"] == str(row.event_id)


def test_an_event_nobody_consumes_is_recorded_but_never_relayed(monkeypatch):
    from hms.events.grants import GrantRejected

    sent = []
    monkeypatch.setattr(
        outbox, "send_envelope", lambda envelope, aggregate, consumers=None: sent.append(1)
    )

    with service_atomic("grants"):
        publish(GrantRejected(application_id=1, applicant_id=4, reason="Out of scope"))

    row = OutboxEvent.objects.using(database_for("grants")).get()
    assert row.event_type == "grant.rejected"
    assert row.sent_at is not None
    assert relay_outbox("grants") == 0
    assert sent == []
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
