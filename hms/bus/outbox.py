"""Publishing: the event is written to the producer's outbox in the same transaction as the state
change, then relayed to the broker right after commit (or later, by the relay loop)."""

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connections, transaction
from django.utils import timezone

from hms.bus.models import DeadLetter, OutboxEvent
from hms.bus.transport import send_envelope
from hms.context import current_correlation_id
from hms.db import database_for
from hms.events import Event
from hms.metrics import EVENTS_PUBLISHED
from hms.tracing import current_trace_context, trace_context

logger = logging.getLogger("hms.bus")

# After a failed send, requests stop trying the broker for a moment and leave the outbox to the
# relay loop, so an outage does not add a connection timeout to every request.
BROKER_BACKOFF_SECONDS = 5.0
_broker_unavailable_until = 0.0


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
    # An event nobody consumes yet (grant.rejected, say) has nothing to relay.
    has_consumers = bool(event.consumers)
    row = OutboxEvent.objects.using(alias).create(
        event_id=envelope["event_id"],
        event_type=event.name,
        version=event.version,
        aggregate=event.aggregate,
        envelope=envelope,
        trace_context=current_trace_context(),
        sent_at=None if has_consumers else timezone.now(),
    )
    logger.info("event %s %s recorded for %s", event.name, envelope["event_id"], event.aggregate)
    transaction.on_commit(EVENTS_PUBLISHED.labels(event.producer, event.name).inc, using=alias)
    if has_consumers and settings.HMS_BUS_DISPATCH_ON_COMMIT:
        transaction.on_commit(lambda: _dispatch_after_commit(event.producer), using=alias)
    return row


# One statement on PostgreSQL and SQLite alike (both have INSERT ... ON CONFLICT ... RETURNING).
NEXT_SEQUENCE_SQL = (
    'INSERT INTO "bus_aggregatesequence" ("aggregate", "consumer", "last_sequence") '
    "VALUES (%s, %s, 1) "
    'ON CONFLICT ("aggregate", "consumer") DO UPDATE '
    'SET "last_sequence" = "bus_aggregatesequence"."last_sequence" + 1 '
    'RETURNING "last_sequence"'
)


def next_sequence(alias: str, *, aggregate: str, consumer: str) -> int:
    """The aggregate's next number for `consumer`, in the caller's transaction.

    One upsert; its row lock holds until commit, so a second transaction publishing for the same
    aggregate waits and gets the next number: numbers follow the order of commits.
    """
    with connections[alias].cursor() as cursor:
        cursor.execute(NEXT_SEQUENCE_SQL, [aggregate, consumer])
        return cursor.fetchone()[0]


def _dispatch_after_commit(service: str) -> None:
    if time.monotonic() < _broker_unavailable_until:
        return
    try:
        relay_outbox(service)
    except Exception:  # the request already committed; the relay loop will send it
        logger.exception("dispatch after commit failed; the relay will retry")


def relay_outbox(service: str, *, batch_size: int = 200) -> int:
    """Send unsent outbox rows in commit order; stop at the first failure so order is kept.

    Rows are locked while they are sent, so two relays never interleave (a second one waits).
    Returns how many rows were sent.
    """
    global _broker_unavailable_until
    alias = database_for(service)
    sent_ids: list[int] = []
    with transaction.atomic(using=alias):
        rows = list(
            OutboxEvent.objects.using(alias)
            .select_for_update()
            .filter(sent_at__isnull=True)
            .order_by("id")[:batch_size]
        )
        for row in rows:
            try:
                with trace_context(row.trace_context):
                    send_envelope(row.envelope)
            except Exception as exc:
                _broker_unavailable_until = time.monotonic() + BROKER_BACKOFF_SECONDS
                OutboxEvent.objects.using(alias).filter(pk=row.pk).update(
                    attempts=row.attempts + 1, last_error=f"{type(exc).__name__}: {exc}"[:2000]
                )
                logger.warning("broker unavailable, %s waits in the outbox: %s", row.event_id, exc)
                break
            sent_ids.append(row.pk)
        if sent_ids:
            OutboxEvent.objects.using(alias).filter(pk__in=sent_ids).update(sent_at=timezone.now())
    if sent_ids:
        _broker_unavailable_until = 0.0
    return len(sent_ids)


@dataclass(frozen=True)
class BusStatus:
    service: str
    outbox_backlog: int
    oldest_unsent_age: timedelta | None
    dead_letters: int
    dead_letters_pending: int


def bus_status(service: str) -> BusStatus:
    """How far behind the service's outbox is, and how many events it could not apply."""
    alias = database_for(service)
    unsent = OutboxEvent.objects.using(alias).filter(sent_at__isnull=True)
    oldest = unsent.order_by("id").values_list("created_at", flat=True).first()
    letters = DeadLetter.objects.using(alias)
    return BusStatus(
        service=service,
        outbox_backlog=unsent.count(),
        oldest_unsent_age=(timezone.now() - oldest) if oldest else None,
        dead_letters=letters.count(),
        dead_letters_pending=letters.filter(replayed_at__isnull=True).count(),
    )
