"""Publishing: the event is written to the producer's outbox in the same transaction as the state
change; the relay (`manage.py bus_relay`) sends it to the broker once that transaction commits.

Nothing here runs on a request's path after its commit: a broker that is down or slow costs a
request nothing. On PostgreSQL the commit wakes the relay (NOTIFY), elsewhere the relay polls.
Each consumer acknowledges the events it holds back to the producer (`acknowledge`), and the relay
sends again what was not acknowledged in time: the inbox makes a second copy harmless, so a broker
that loses everything it held delays events but loses none.
"""

import logging
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import connections, transaction
from django.db.models import Count, Exists, Min, OuterRef
from django.utils import timezone

from hms.bus.models import DeadLetter, InboxEvent, OutboxDelivery, OutboxEvent, PendingAck
from hms.bus.transport import batches_for, consumers_of, send_acknowledgements, send_batches
from hms.context import current_correlation_id
from hms.db import database_for
from hms.events import Event
from hms.metrics import EVENTS_PUBLISHED
from hms.tracing import current_trace_context

logger = logging.getLogger("hms.bus")

# The channel a commit that published events notifies, so the relay wakes at once (PostgreSQL):
# a trigger on the outbox table (migration bus 0005) notifies it, at no extra round trip.
NOTIFY_CHANNEL = "hms_outbox"
# A delivery not acknowledged is sent again after BUS_ACK_TIMEOUT, then after twice that, and so
# on up to this many doublings: a consumer that is down for a day is not sent a copy a minute.
MAX_BACKOFF_DOUBLINGS = 6

# One statement on PostgreSQL and SQLite alike (both have INSERT ... ON CONFLICT ... RETURNING).
NEXT_SEQUENCE_SQL = (
    'INSERT INTO "bus_aggregatesequence" ("aggregate", "consumer", "last_sequence") '
    "VALUES (%s, %s, 1) "
    'ON CONFLICT ("aggregate", "consumer") DO UPDATE '
    'SET "last_sequence" = "bus_aggregatesequence"."last_sequence" + 1 '
    'RETURNING "last_sequence"'
)


class PublishOutsideTransaction(RuntimeError):
    pass


def publish(event: Event) -> OutboxEvent:
    """Record `event` in the producer's outbox; it is sent only if the surrounding transaction commits."""
    alias = database_for(event.producer)
    if not transaction.get_connection(alias).in_atomic_block:
        raise PublishOutsideTransaction(
            f"{event.name} must be published inside the transaction of the change that caused it."
        )
    envelope = {
        "event_id": str(uuid.uuid4()),
        "event_type": event.name,
        "version": event.version,
        "occurred_at": timezone.now().isoformat(),
        "producer": event.producer,
        "correlation_id": current_correlation_id(),
        "payload": event.model_dump(mode="json"),
    }
    if event.consumers:
        envelope["sequences"] = {
            consumer: next_sequence(alias, aggregate=event.aggregate, consumer=consumer)
            for consumer in event.consumers
        }
    row = OutboxEvent.objects.using(alias).create(
        event_id=envelope["event_id"],
        event_type=event.name,
        version=event.version,
        aggregate=event.aggregate,
        envelope=envelope,
        trace_context=current_trace_context(),
        # An event nobody consumes yet (grant.rejected, say) has nothing to relay.
        sent_at=None if event.consumers else timezone.now(),
    )
    OutboxDelivery.objects.using(alias).bulk_create(
        OutboxDelivery(event=row, consumer=consumer) for consumer in event.consumers
    )
    logger.info("event %s %s recorded for %s", event.name, envelope["event_id"], event.aggregate)
    transaction.on_commit(EVENTS_PUBLISHED.labels(event.producer, event.name).inc, using=alias)
    return row


def next_sequence(alias: str, *, aggregate: str, consumer: str) -> int:
    """The aggregate's next number for `consumer`, in the caller's transaction.

    One upsert; its row lock holds until commit, so a second transaction publishing for the same
    aggregate waits and gets the next number: numbers follow the order of commits.
    """
    with connections[alias].cursor() as cursor:
        cursor.execute(NEXT_SEQUENCE_SQL, [aggregate, consumer])
        return cursor.fetchone()[0]


# ------------------------------------------------------------------------------------------------
# The relay: first sends, sends again, acknowledgements, pruning
# ------------------------------------------------------------------------------------------------


def _next_send_at(now, sends: int):
    doublings = min(max(sends - 1, 0), MAX_BACKOFF_DOUBLINGS)
    return now + timedelta(seconds=settings.HMS_BUS_ACK_TIMEOUT * 2**doublings)


def relay_outbox(service: str, *, batch_size: int = 500) -> int:
    """Send unsent outbox rows in commit order, in batches (one message per consumer's queue).

    Rows are locked while they are sent, so two relays never interleave (a second one waits). If
    the broker fails, the rows of the batches not sent stay unsent and go first next time.
    Returns how many rows were sent.
    """
    alias = database_for(service)
    with transaction.atomic(using=alias):
        rows = list(
            OutboxEvent.objects.using(alias)
            .select_for_update()
            .filter(sent_at__isnull=True)
            .order_by("id")
            .only("id", "envelope", "aggregate", "trace_context", "attempts")[:batch_size]
        )
        if not rows:
            return 0
        batches = batches_for(
            (
                (row.pk, row.envelope, row.aggregate, row.trace_context, consumers_of(row.envelope))
                for row in rows
            ),
            limit=settings.HMS_BUS_BATCH_SIZE,
        )
        sent, failure = send_batches(batches)
        unsent = {key for batch in batches[sent:] for key in batch.keys}
        sent_ids = [row.pk for row in rows if row.pk not in unsent]
        if failure is not None:
            first_unsent = next(row for row in rows if row.pk in unsent)
            OutboxEvent.objects.using(alias).filter(pk=first_unsent.pk).update(
                attempts=first_unsent.attempts + 1,
                last_error=f"{type(failure).__name__}: {failure}"[:2000],
            )
            logger.warning(
                "broker unavailable, %s event(s) wait in the outbox: %s", len(unsent), failure
            )
        if sent_ids:
            now = timezone.now()
            OutboxEvent.objects.using(alias).filter(pk__in=sent_ids).update(sent_at=now)
            OutboxDelivery.objects.using(alias).filter(event_id__in=sent_ids).update(
                sent_at=now, sends=1, next_send_at=_next_send_at(now, 1)
            )
    return len(sent_ids)


def resend_unacknowledged(service: str, *, batch_size: int = 500) -> int:
    """Send again, to its consumer only, each copy not acknowledged in time. Returns how many.

    The consumer's inbox makes a copy it already holds a no-op (and acknowledges it again).
    """
    alias = database_for(service)
    with transaction.atomic(using=alias):
        due = list(
            OutboxDelivery.objects.using(alias)
            .select_for_update(
                skip_locked=connections[alias].features.has_select_for_update_skip_locked
            )
            .select_related("event")
            .filter(acked_at__isnull=True, next_send_at__lte=timezone.now())
            .order_by("event_id")[:batch_size]
        )
        if not due:
            return 0
        batches = batches_for(
            (
                (
                    delivery.pk,
                    delivery.event.envelope,
                    delivery.event.aggregate,
                    delivery.event.trace_context,
                    [delivery.consumer],
                )
                for delivery in due
            ),
            limit=settings.HMS_BUS_BATCH_SIZE,
        )
        sent_batches, failure = send_batches(batches)
        if failure is not None:
            logger.warning(
                "broker unavailable, unacknowledged events are sent again later: %s", failure
            )
        sent_keys = {key for batch in batches[:sent_batches] for key in batch.keys}
        now = timezone.now()
        resent = [delivery for delivery in due if delivery.pk in sent_keys]
        for delivery in resent:
            delivery.sends += 1
            delivery.sent_at = now
            delivery.next_send_at = _next_send_at(now, delivery.sends)
        # One UPDATE for the batch, not one per copy sent.
        OutboxDelivery.objects.using(alias).bulk_update(
            resent, ["sends", "sent_at", "next_send_at"]
        )
    if resent:
        logger.warning("%s: sent %s unacknowledged event(s) again", service, len(resent))
    return len(resent)


def acknowledge(*, producer: str, consumer: str, event_ids: list[str]) -> int:
    """`consumer` holds these events: they are not sent to it again. Returns how many were due."""
    return (
        OutboxDelivery.objects.using(database_for(producer))
        .filter(consumer=consumer, event__event_id__in=event_ids, acked_at__isnull=True)
        .update(acked_at=timezone.now())
    )


def flush_acknowledgements(service: str, *, batch_size: int = 500) -> int:
    """Tell producers, one message per producer, which of their events this service now holds."""
    alias = database_for(service)
    pending = list(
        PendingAck.objects.using(alias)
        .order_by("id")
        .values("id", "event_id", "producer")[:batch_size]
    )
    by_producer: dict[str, list[str]] = defaultdict(list)
    for ack in pending:
        by_producer[ack["producer"]].append(str(ack["event_id"]))
    done: list[int] = []
    for producer, event_ids in by_producer.items():
        try:
            send_acknowledgements(producer=producer, consumer=service, event_ids=event_ids)
        except Exception as exc:
            logger.warning("broker unavailable, acknowledgements to %s wait: %s", producer, exc)
            continue
        done += [ack["id"] for ack in pending if ack["producer"] == producer]
    PendingAck.objects.using(alias).filter(pk__in=done).delete()
    return len(done)


def prune_bus(service: str) -> tuple[int, int]:
    """Delete outbox rows every consumer acknowledged and inbox rows, once older than
    BUS_RETENTION_DAYS. Returns (outbox rows, inbox rows) deleted.

    A copy of an event older than that which turns up again is still never applied twice: its
    number is behind the consumer's position in its aggregate.
    """
    alias = database_for(service)
    cutoff = timezone.now() - timedelta(days=settings.HMS_BUS_RETENTION_DAYS)
    unacknowledged = OutboxDelivery.objects.using(alias).filter(
        event=OuterRef("pk"), acked_at__isnull=True
    )
    settled = OutboxEvent.objects.using(alias).filter(
        ~Exists(unacknowledged), created_at__lt=cutoff, sent_at__isnull=False
    )
    _, outbox_deleted = settled.delete()  # the count per model: deliveries go with their rows
    inbox_deleted, _ = InboxEvent.objects.using(alias).filter(processed_at__lt=cutoff).delete()
    return outbox_deleted.get(OutboxEvent._meta.label, 0), inbox_deleted


def wait_for_outbox(alias: str, timeout: float) -> None:
    """Block until a commit notifies the outbox channel (PostgreSQL) or `timeout` passes.

    Every notification already queued is taken too: a burst of commits wakes the relay once.
    """
    connection = connections[alias]
    if connection.vendor != "postgresql":
        time.sleep(timeout)
        return
    connection.ensure_connection()
    raw = connection.connection
    if getattr(raw, "_hms_listening", False) is False:
        with connection.cursor() as cursor:
            cursor.execute(f"LISTEN {NOTIFY_CHANNEL}")
        raw._hms_listening = True
    for _notification in raw.notifies(timeout=timeout, stop_after=1):
        break
    for _notification in raw.notifies(timeout=0):
        pass


# ------------------------------------------------------------------------------------------------
# Status for ops
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsumerLag:
    """Events sent to one consumer and not yet acknowledged."""

    consumer: str
    unacknowledged: int
    oldest_unacknowledged_age: timedelta | None


@dataclass(frozen=True)
class BusStatus:
    service: str
    outbox_backlog: int
    oldest_unsent_age: timedelta | None
    dead_letters: int
    dead_letters_pending: int
    consumers: tuple[ConsumerLag, ...] = field(default=())


def bus_status(service: str) -> BusStatus:
    """How far behind the service's outbox is, per consumer too, and what it could not apply."""
    alias = database_for(service)
    now = timezone.now()
    unsent = OutboxEvent.objects.using(alias).filter(sent_at__isnull=True)
    oldest = unsent.order_by("id").values_list("created_at", flat=True).first()
    letters = DeadLetter.objects.using(alias)
    lags = (
        OutboxDelivery.objects.using(alias)
        .filter(acked_at__isnull=True, sent_at__isnull=False)
        .values("consumer")
        .annotate(count=Count("id"), oldest=Min("event__created_at"))
        .order_by("consumer")
    )
    return BusStatus(
        service=service,
        outbox_backlog=unsent.count(),
        oldest_unsent_age=(now - oldest) if oldest else None,
        dead_letters=letters.count(),
        dead_letters_pending=letters.filter(replayed_at__isnull=True).count(),
        consumers=tuple(
            ConsumerLag(lag["consumer"], lag["count"], now - lag["oldest"]) for lag in lags
        ),
    )
