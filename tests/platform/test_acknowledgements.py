"""End-to-end delivery, not broker trust: consumers acknowledge what they hold, the relay sends
again what was not acknowledged in time, and settled rows are pruned."""

from datetime import timedelta

import pytest
from django.utils import timezone

from hms.bus import outbox
from hms.bus.inbox import DEAD_LETTERED, DUPLICATE, HANDLED, consume, process_envelope
from hms.bus.models import InboxEvent, OutboxDelivery, OutboxEvent, PendingAck
from hms.bus.outbox import (
    acknowledge,
    bus_status,
    flush_acknowledgements,
    prune_bus,
    publish,
    relay_outbox,
    resend_unacknowledged,
)
from hms.bus.partitions import events_queue, partition_of
from hms.db import database_for, service_atomic
from hms.events.users import UserRegistered
from tests.platform.broker import FakeBroker
from tests.platform.events import envelope_for

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)

USERS, GRANTS = database_for("users"), database_for("grants")


def registered(user_id: int) -> UserRegistered:
    return UserRegistered(
        user_id=user_id,
        kind="business",
        display_name=f"Firm {user_id}",
        verification_status="verified",
    )


def published(user_id: int) -> OutboxEvent:
    with service_atomic("users"):
        return publish(registered(user_id))


@pytest.fixture
def broker(monkeypatch):
    """Records what is put on the broker instead of putting it there."""
    fake = FakeBroker()
    acks: list[tuple[str, str, list[str]]] = []

    def send_acknowledgements(*, producer, consumer, event_ids):
        acks.append((producer, consumer, list(event_ids)))

    fake.install(monkeypatch)
    monkeypatch.setattr(outbox, "send_acknowledgements", send_acknowledgements)
    return fake, acks


def delivery(row: OutboxEvent, consumer: str = "grants") -> OutboxDelivery:
    return OutboxDelivery.objects.using(USERS).get(event=row, consumer=consumer)


def finance_holds(*rows: OutboxEvent) -> None:
    """User events go to finance too: these tests follow grants' copies."""
    acknowledge(producer="users", consumer="finance", event_ids=[str(row.event_id) for row in rows])


def test_each_consumer_gets_a_delivery_that_waits_for_its_acknowledgement(broker, settings):
    settings.HMS_BUS_ACK_TIMEOUT = 30
    row = published(4)
    assert delivery(row).sent_at is None

    relay_outbox("users")

    sent = delivery(row)
    assert (sent.consumer, sent.sends, sent.acked_at) == ("grants", 1, None)
    assert sent.next_send_at - sent.sent_at == timedelta(seconds=30)
    lag = bus_status("users").consumers
    assert [(c.consumer, c.unacknowledged) for c in lag] == [("finance", 1), ("grants", 1)]
    assert all(c.oldest_unacknowledged_age is not None for c in lag)

    assert acknowledge(producer="users", consumer="grants", event_ids=[str(row.event_id)]) == 1

    assert delivery(row).acked_at is not None
    assert delivery(row, "finance").acked_at is None  # each consumer acknowledges its own
    assert [c.consumer for c in bus_status("users").consumers] == ["finance"]


def test_an_unacknowledged_copy_is_sent_again_to_its_consumer_less_and_less_often(broker, settings):
    fake, _ = broker
    settings.HMS_BUS_ACK_TIMEOUT = 10
    lost, held = published(4), published(5)
    relay_outbox("users")
    finance_holds(lost, held)
    acknowledge(producer="users", consumer="grants", event_ids=[str(held.event_id)])
    assert resend_unacknowledged("users") == 0  # not due yet

    OutboxDelivery.objects.using(USERS).update(next_send_at=timezone.now())
    assert resend_unacknowledged("users") == 1

    assert fake.sent[-1] == ("grants", str(lost.event_id))
    # The first send (both events in one batch), then the resend.
    assert len(fake.batches_to("grants")) == 2
    again = delivery(lost)
    assert again.sends == 2
    assert again.next_send_at - again.sent_at == timedelta(seconds=20)  # twice the timeout now
    assert delivery(held).sends == 1


def test_a_copy_waiting_behind_a_backlog_is_not_sent_again_until_the_queue_has_drained(
    broker, settings
):
    fake, _ = broker
    settings.HMS_BUS_ACK_TIMEOUT = 10
    row = published(4)
    relay_outbox("users")
    finance_holds(row)
    queue = events_queue("grants", "user:4")
    OutboxDelivery.objects.using(USERS).update(next_send_at=timezone.now())
    fake.waiting[queue] = 250  # the consumer is behind (or stopped): the copy is in the queue

    assert resend_unacknowledged("users") == 0

    postponed = delivery(row)
    assert postponed.sends == 1  # not counted as a send
    assert postponed.next_send_at > timezone.now() + timedelta(seconds=9)
    fake.waiting[queue] = 0  # drained, and still no acknowledgement: the copy was lost
    OutboxDelivery.objects.using(USERS).update(next_send_at=timezone.now())
    assert resend_unacknowledged("users") == 1
    assert fake.sent[-1] == ("grants", str(row.event_id))


def test_a_copy_left_in_a_partition_no_worker_consumes_after_a_change_goes_again_to_its_new_one(
    broker, settings, monkeypatch
):
    # docs/deployment.md: BUS_PARTITIONS changed on every relay and worker (here 4 -> 1), a copy
    # still queued in a partition that no longer exists is not lost.
    fake, _ = broker
    settings.HMS_BUS_ACK_TIMEOUT = 10
    monkeypatch.setenv("BUS_PARTITIONS", "4")
    user_id = next(
        i for i in range(1, 100) if events_queue("grants", f"user:{i}") != "grants.events"
    )
    row = published(user_id)
    relay_outbox("users")
    finance_holds(row)
    assert (
        fake.batches_to("grants")[-1].queue == f"grants.events.{partition_of(f'user:{user_id}', 4)}"
    )

    monkeypatch.setenv("BUS_PARTITIONS", "1")  # no worker consumes grants.events.<k> any more
    OutboxDelivery.objects.using(USERS).update(next_send_at=timezone.now())
    assert resend_unacknowledged("users") == 1

    assert fake.batches_to("grants")[-1].queue == "grants.events"
    assert fake.sent[-1] == ("grants", str(row.event_id))


def test_a_consumer_owes_an_acknowledgement_for_what_it_applies_repeats_and_dead_letters(
    test_handlers,
):
    applied = envelope_for(registered(5))
    assert process_envelope("grants", applied) == HANDLED
    PendingAck.objects.using(GRANTS).all().delete()  # as if already told
    assert process_envelope("grants", applied) == DUPLICATE  # the producer sent it again
    unknown = {**envelope_for(registered(6)), "event_type": "user.exploded"}
    assert consume("grants", unknown, final_attempt=False) == DEAD_LETTERED

    owed = PendingAck.objects.using(GRANTS).order_by("id")
    assert [(str(a.event_id), a.producer, a.consumer) for a in owed] == [
        (applied["event_id"], "users", "grants"),  # told again, so it stops sending
        (unknown["event_id"], "users", "grants"),  # held in the dead letters
    ]


def test_acknowledgements_go_in_one_message_per_producer_and_are_then_forgotten(broker):
    _, acks = broker
    for user_id in (5, 6):
        process_envelope("grants", envelope_for(registered(user_id)))

    assert flush_acknowledgements("grants") == 2

    assert len(acks) == 1
    producer, consumer, event_ids = acks[0]
    assert (producer, consumer, len(event_ids)) == ("users", "grants", 2)
    assert not PendingAck.objects.using(GRANTS).exists()


def test_acknowledgements_wait_while_the_broker_is_down(monkeypatch):
    def broker_down(**kwargs):
        raise ConnectionError("down")

    monkeypatch.setattr(outbox, "send_acknowledgements", broker_down)
    process_envelope("grants", envelope_for(registered(5)))

    assert flush_acknowledgements("grants") == 0
    assert PendingAck.objects.using(GRANTS).count() == 1


def test_the_round_trip_settles_the_delivery(monkeypatch):
    """Producer to consumer and back, each side as its relay and worker would run it."""

    def acknowledged(*, producer, consumer, event_ids):
        acknowledge(producer=producer, consumer=consumer, event_ids=event_ids)

    delivering = FakeBroker(on_deliver=process_envelope)
    delivering.install(monkeypatch)
    monkeypatch.setattr(outbox, "send_acknowledgements", acknowledged)
    row = published(4)

    relay_outbox("users")
    flush_acknowledgements("grants")

    assert delivery(row).acked_at is not None
    assert InboxEvent.objects.using(GRANTS).filter(event_id=row.event_id).exists()


def test_pruning_keeps_what_is_recent_or_unacknowledged(broker, settings):
    settings.HMS_BUS_RETENTION_DAYS = 7
    old_acked, old_unacked, recent = published(4), published(5), published(6)
    relay_outbox("users")
    finance_holds(old_acked, old_unacked, recent)
    acknowledge(
        producer="users",
        consumer="grants",
        event_ids=[str(old_acked.event_id), str(recent.event_id)],
    )
    long_ago = timezone.now() - timedelta(days=8)
    OutboxEvent.objects.using(USERS).filter(pk__in=[old_acked.pk, old_unacked.pk]).update(
        created_at=long_ago
    )
    process_envelope("grants", envelope_for(registered(7)))
    InboxEvent.objects.using(GRANTS).update(processed_at=long_ago)

    assert prune_bus("users")[0] >= 1
    assert prune_bus("grants")[1] == 1

    left = set(OutboxEvent.objects.using(USERS).values_list("pk", flat=True))
    assert left == {old_unacked.pk, recent.pk}
    assert not InboxEvent.objects.using(GRANTS).exists()
