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
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import NamedTuple

from django.conf import settings
from django.contrib.postgres.expressions import ArraySubquery
from django.db import connections, transaction
from django.db.models import Count, Exists, JSONField, Min, OuterRef, Value
from django.utils import timezone

from hms.bus.models import (
    AggregateSequence,
    DeadLetter,
    InboxEvent,
    OutboxDelivery,
    OutboxEvent,
    PendingAck,
)
from hms.bus.partitions import events_queue
from hms.bus.transport import (
    batches_for,
    consumers_of,
    send_acknowledgements,
    send_batches,
    waiting_messages,
)
from hms.context import current_correlation_id
from hms.db import (
    Inserting,
    PreparedRead,
    UpdatingByPk,
    Upsert,
    as_written,
    database_for,
    insert_returning,
    rows_source,
    values_in_binary,
    write_together,
    writes_as_with_clauses,
)
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
# While a consumer is behind, the relay looks at its queue after BUS_RELAY_LINGER, then less often,
# up to this many times that: a queue that has just drained gets its held copies 120 ms late at
# most by default (within their BUS_BATCH_HOLD), and a consumer stopped for long is asked about
# eight times a second, not thirty.
HOLD_LOOKS_BACKOFF = 4


class PublishOutsideTransaction(RuntimeError):
    pass


def publish(event: Event) -> OutboxEvent:
    """Record `event` in the producer's outbox; it is sent only if the surrounding transaction commits."""
    return publish_many([event])[0]


def publish_many(
    events: Sequence[Event],
    *,
    correlation_ids: Sequence[str | None] | None = None,
    new_aggregates: bool = False,
    together_with: Sequence[Inserting | UpdatingByPk | Upsert] = (),
) -> list[OutboxEvent]:
    """Record several events of one producer, in order, in two statements however many they are
    (one with `new_aggregates`; a consumer applying a batch publishes what each event of it
    caused at once).

    Each event carries its own correlation id where `correlation_ids` gives one (the request or
    event that caused it), the current one otherwise.

    Two round trips fewer on a consumer's hot path (a Finance worker obligating awards): with
    `new_aggregates`, every event's aggregate was created in this transaction, so its numbers
    start at 1 and are written, not read (an aggregate that had any fails the transaction on
    the sequence's unique constraint, never numbers twice); `together_with` are the caller's
    own writes that return nothing, made in the same statement as the outbox rows on
    PostgreSQL (`write_together`'s rules).
    """
    if not events:
        return []
    producer = events[0].producer
    if any(event.producer != producer for event in events):
        raise ValueError("publish_many records the events of one producer.")
    alias = database_for(producer)
    if not transaction.get_connection(alias).in_atomic_block:
        raise PublishOutsideTransaction(
            f"{events[0].name} must be published inside the transaction of the change that "
            "caused it."
        )
    causes = list(correlation_ids or [])
    causes += [None] * (len(events) - len(causes))
    wanted = [(event.aggregate, consumer) for event in events for consumer in event.consumers]
    if new_aggregates:
        sequences, numbered = _first_sequences(wanted)
        together_with = [*together_with, Inserting(numbered)]
    else:
        sequences = next_sequences(alias, wanted)
    now, trace = timezone.now(), current_trace_context()
    rows = []
    for event, cause in zip(events, causes, strict=True):
        envelope = {
            "event_id": str(uuid.uuid4()),
            "event_type": event.name,
            "version": event.version,
            "occurred_at": now.isoformat(),
            "producer": producer,
            "correlation_id": cause or current_correlation_id(),
            "payload": event.model_dump(mode="json"),
        }
        if event.consumers:
            envelope["sequences"] = {
                consumer: sequences[event.aggregate, consumer].pop(0)
                for consumer in event.consumers
            }
        rows.append(
            OutboxEvent(
                event_id=envelope["event_id"],
                event_type=event.name,
                version=event.version,
                aggregate=event.aggregate,
                envelope=envelope,
                trace_context=trace,
                created_at=now,
                # An event nobody consumes yet (grant.rejected, say) has nothing to relay.
                sent_at=None if event.consumers else now,
            )
        )
        logger.info(
            "event %s %s recorded for %s", event.name, envelope["event_id"], event.aggregate
        )
    _record(alias, rows, [event.consumers for event in events], together_with)
    for event in events:
        transaction.on_commit(EVENTS_PUBLISHED.labels(producer, event.name).inc, using=alias)
    return rows


def next_sequences(
    alias: str, wanted: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], list[int]]:
    """The next numbers of each (aggregate, consumer), as many as it is named in `wanted`, in
    ascending order, in the caller's transaction.

    One upsert; its row locks hold until commit, so a second transaction publishing for the same
    aggregate waits and gets the next numbers: numbers follow the order of commits.
    """
    counts = _counts_in_key_order(wanted)
    if not counts:
        return {}
    table = connections[alias].ops.quote_name(AggregateSequence._meta.db_table)
    numbered = insert_returning(
        alias,
        AggregateSequence,
        [
            {"aggregate": aggregate, "consumer": consumer, "last_sequence": count}
            for (aggregate, consumer), count in counts.items()
        ],
        conflict=("aggregate", "consumer"),
        update=f'DO UPDATE SET "last_sequence" = {table}."last_sequence" + EXCLUDED."last_sequence"',
        returning=("aggregate", "consumer", "last_sequence"),
    )
    return {
        (aggregate, consumer): list(range(last - counts[aggregate, consumer] + 1, last + 1))
        for aggregate, consumer, last in numbered
    }


def _first_sequences(
    wanted: Sequence[tuple[str, str]],
) -> tuple[dict[tuple[str, str], list[int]], list[AggregateSequence]]:
    """`next_sequences` for aggregates that have none yet: 1, 2, ... without a read, and the
    rows that record them."""
    counts = _counts_in_key_order(wanted)
    return (
        {key: list(range(1, count + 1)) for key, count in counts.items()},
        [
            AggregateSequence(aggregate=aggregate, consumer=consumer, last_sequence=count)
            for (aggregate, consumer), count in counts.items()
        ],
    )


def _counts_in_key_order(wanted: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """How many numbers each (aggregate, consumer) takes, in key order: the order its sequence
    rows are written and locked in, the same in every transaction, so two never deadlock."""
    return dict(sorted(Counter(wanted).items()))


def _record(
    alias: str,
    rows: Sequence[OutboxEvent],
    consumers: Sequence[Sequence[str]],
    together_with: Sequence[Inserting | UpdatingByPk | Upsert] = (),
) -> None:
    """Insert the outbox rows and one delivery per consumer of each, and make the writes
    `together_with`: on PostgreSQL in one statement."""
    connection = connections[alias]
    if connection.vendor != "postgresql":
        write_together(alias, *together_with)
        OutboxEvent.objects.using(alias).bulk_create(rows)
        OutboxDelivery.objects.using(alias).bulk_create(
            OutboxDelivery(event=row, consumer=consumer)
            for row, names in zip(rows, consumers, strict=True)
            for consumer in names
        )
        return
    quote = connection.ops.quote_name
    fields = [field for field in OutboxEvent._meta.concrete_fields if not field.primary_key]
    columns = ", ".join(quote(field.column) for field in fields)
    source, values = rows_source(
        connection,
        fields,
        [
            [field.get_db_prep_save(field.pre_save(row, True), connection) for row in rows]
            for field in fields
        ],
    )
    pairs = [
        (row.event_id, consumer)
        for row, names in zip(rows, consumers, strict=True)
        for consumer in names
    ]
    clauses, together_params = writes_as_with_clauses(alias, together_with, prefix="together")
    sql = (
        f"WITH {''.join(clause + ', ' for clause in clauses)}"  # noqa: S608 - names from the models; values are parameters
        f"event AS (INSERT INTO {quote(OutboxEvent._meta.db_table)} ({columns}) {source} "
        "RETURNING id, event_id), "
        f"delivery AS (INSERT INTO {quote(OutboxDelivery._meta.db_table)} (event_id, consumer, sends) "
        "SELECT event.id, copy.consumer, 0 FROM event "
        "JOIN unnest(%s::uuid[], %s::varchar[]) AS copy (event_uuid, consumer) "
        "ON copy.event_uuid = event.event_id) "
        "SELECT event_id, id FROM event"
    )
    with values_in_binary(connection), connection.cursor() as cursor:
        cursor.execute(
            sql,
            [
                *together_params,
                *values,
                [str(event) for event, _ in pairs],
                [consumer for _, consumer in pairs],
            ],
        )
        ids = {uuid.UUID(str(event_id)): pk for event_id, pk in cursor.fetchall()}
    for row in rows:
        row.pk = ids[uuid.UUID(str(row.event_id))]
        as_written(row, alias)


# ------------------------------------------------------------------------------------------------
# The relay: first sends, sends again, acknowledgements, pruning
# ------------------------------------------------------------------------------------------------


def _next_send_at(now, sends: int):
    doublings = min(max(sends - 1, 0), MAX_BACKOFF_DOUBLINGS)
    return now + timedelta(seconds=settings.HMS_BUS_ACK_TIMEOUT * 2**doublings)


class Relayed(NamedTuple):
    """What the relay reads of an outbox row (plain values: no model instances on its hot path)."""

    id: int
    event_type: str
    version: int
    aggregate: str
    created_at: datetime
    envelope: dict
    trace_context: dict
    attempts: int
    # The consumers already sent a copy (one may have gone while another's was held).
    sent_to: list[str]


RELAYED_FIELDS = Relayed._fields


class RelayPass(NamedTuple):
    sent: int  # outbox rows of which a copy was sent
    held: int  # rows with a copy held back for a larger batch (its queue's consumer is behind)
    # Seconds until the first copy gathered for a consumer's window is due (None: none is).
    due_in: float | None = None
    # The queues held because their consumer is behind, and seconds until the first of those
    # holds ends (BUS_BATCH_HOLD): what `wait_while_behind` watches.
    behind: frozenset[str] = frozenset()
    hold_ends_in: float | None = None


def relay_outbox(service: str, *, batch_size: int = 500, hold: bool = True) -> RelayPass:
    """Send unsent outbox rows in commit order, in batches (one message per consumer's queue).

    Rows are locked while they are sent, so two relays never interleave (a second one waits). If
    the broker fails, the rows of the batches not sent stay unsent and go first next time.

    A queue in which messages still wait for a worker gets nothing more for now (until it has
    drained, its batch is full, or its oldest event has waited BUS_BATCH_HOLD): its consumer is
    behind, so the events would wait anyway, and they then go as one larger batch that the
    consumer applies in one transaction. A consumer with a window (BUS_CONSUMER_WINDOWS) gets
    its copies gathered for that long, whether it is behind or not. Any other idle consumer gets
    each event at once, whatever another consumer of the same event is doing: a row is sent
    when every copy has gone.
    """
    alias = database_for(service)
    with transaction.atomic(using=alias):
        rows = _waiting(alias, batch_size)
        if not rows:
            return RelayPass(0, 0)
        copies = _copies_to_send(rows)
        holding = _held_back(rows, copies) if hold else Holding(set(), set(), None, None)
        held = holding.behind | holding.gathering
        batches = batches_for(
            (
                (
                    row.id,
                    row.envelope,
                    row.aggregate,
                    row.trace_context,
                    [
                        consumer
                        for consumer in copies[row.id]
                        if events_queue(consumer, row.aggregate) not in held
                    ],
                )
                for row in rows
            ),
            limit=settings.HMS_BUS_BATCH_SIZE,
        )
        sent, failure = send_batches(batches)
        if failure is not None:
            first_unsent = next(row for row in rows if row.id in batches[sent].keys)
            OutboxEvent.objects.using(alias).filter(pk=first_unsent.id).update(
                attempts=first_unsent.attempts + 1,
                last_error=f"{type(failure).__name__}: {failure}"[:2000],
            )
            unsent = sum(len(batch.keys) for batch in batches[sent:])
            logger.warning(
                "broker unavailable, %s event(s) wait in the outbox: %s", unsent, failure
            )
        delivered: dict[str, list[int]] = defaultdict(list)  # consumer -> rows sent to it
        for batch in batches[:sent]:
            delivered[batch.consumer] += batch.keys
        for consumer, ids in delivered.items():
            for row_id in ids:
                copies[row_id].remove(consumer)
        _mark_sent(alias, delivered, done=[row.id for row in rows if not copies[row.id]])
    sent_rows = {row_id for ids in delivered.values() for row_id in ids}
    behind = 0  # rows with a copy held because its queue is behind
    if holding.behind:
        behind = sum(
            1
            for row in rows
            if any(events_queue(name, row.aggregate) in holding.behind for name in copies[row.id])
        )
    return RelayPass(
        len(sent_rows), behind, holding.due_in, frozenset(holding.behind), holding.hold_ends_in
    )


def _waiting(alias: str, batch_size: int) -> list[Relayed]:
    """The first `batch_size` unsent rows, oldest first, locked, with the consumers each was
    already sent to: on PostgreSQL in the one statement, as the relay reads them on every pass."""
    rows = [Relayed(*row) for row in _unsent_rows(alias)(window=(0, batch_size))]
    if rows and connections[alias].vendor != "postgresql":  # no arrays: read apart
        sent_to = defaultdict(list)
        for row_id, consumer in (
            OutboxDelivery.objects.using(alias)
            .filter(event_id__in=[row.id for row in rows], sent_at__isnull=False)
            .values_list("event_id", "consumer")
        ):
            sent_to[row_id].append(consumer)
        rows = [row._replace(sent_to=sent_to[row.id]) for row in rows]
    return rows


@cache
def _unsent_rows(alias: str) -> PreparedRead:
    """The relay's locked read of the unsent rows, oldest first: compiled once per relay (it runs
    on every pass, and compiling it cost as much as the round trip; bench/README.md, finding 34)."""
    if connections[alias].vendor == "postgresql":
        sent_to = ArraySubquery(
            OutboxDelivery.objects.filter(event=OuterRef("pk"), sent_at__isnull=False).values(
                "consumer"
            )
        )
    else:
        sent_to = Value(None, output_field=JSONField())  # filled in by `_waiting`
    return PreparedRead(
        lambda: (
            OutboxEvent.objects.using(alias)
            .select_for_update()
            .filter(sent_at__isnull=True)
            .order_by("id")
            .annotate(sent_to=sent_to)
            .values_list(*RELAYED_FIELDS)
        )
    )


def _mark_sent(alias: str, delivered: dict[str, list[int]], *, done: list[int]) -> None:
    """Record the copies just sent (consumer -> outbox row ids) and the rows with every copy gone:
    on PostgreSQL in one statement, as the relay does this on every pass."""
    if not delivered and not done:
        return
    now = timezone.now()
    connection = connections[alias]
    if connection.vendor != "postgresql":
        for consumer, ids in delivered.items():
            OutboxDelivery.objects.using(alias).filter(event_id__in=ids, consumer=consumer).update(
                sent_at=now, sends=1, next_send_at=_next_send_at(now, 1)
            )
        if done:
            OutboxEvent.objects.using(alias).filter(pk__in=done).update(sent_at=now)
        return
    quote = connection.ops.quote_name
    copies = quote(OutboxDelivery._meta.db_table)
    pairs = [(row_id, consumer) for consumer, ids in delivered.items() for row_id in ids]
    sql = (
        f"WITH copy AS (UPDATE {copies} SET sent_at = %s, sends = 1, next_send_at = %s "  # noqa: S608 - names from the models; values are parameters
        "FROM unnest(%s::bigint[], %s::varchar[]) AS sent (event_id, consumer) "
        f"WHERE {copies}.event_id = sent.event_id AND {copies}.consumer = sent.consumer) "
        f"UPDATE {quote(OutboxEvent._meta.db_table)} SET sent_at = %s WHERE id = ANY(%s::bigint[])"
    )
    with values_in_binary(connection), connection.cursor() as cursor:
        cursor.execute(
            sql,
            [
                now,
                _next_send_at(now, 1),
                [row_id for row_id, _ in pairs],
                [consumer for _, consumer in pairs],
                now,
                done,
            ],
        )


def _copies_to_send(rows: Sequence[Relayed]) -> dict[int, list[str]]:
    """For each unsent row, its consumers not sent a copy yet (a copy to a consumer that was not
    behind may have gone while another consumer's was held)."""
    return {
        row.id: [
            consumer
            for consumer in consumers_of(row.event_type, row.version)
            if consumer not in row.sent_to
        ]
        for row in rows
    }


class Holding(NamedTuple):
    behind: set[str]  # queues whose consumer is behind: looked at again soon
    gathering: set[str]  # queues gathering copies for their consumer's window
    due_in: float | None  # seconds until the first of those is due
    hold_ends_in: float | None  # seconds until the first behind queue's hold ends


def _held_back(rows: Sequence[Relayed], copies: dict[int, list[str]]) -> Holding:
    """The queues whose copies of these rows to keep for a later, larger batch, while their batch
    is not full: those of a consumer with a window (BUS_CONSUMER_WINDOWS) until their oldest
    event has waited that long, and those that still hold messages until it has waited
    BUS_BATCH_HOLD. Only a queue is held, not the rows: the other consumers of a row get their
    copies at once."""
    by_queue: dict[str, list[Relayed]] = defaultdict(list)
    consumer_of: dict[str, str] = {}
    for row in rows:
        for consumer in copies[row.id]:
            queue = events_queue(consumer, row.aggregate)
            by_queue[queue].append(row)
            consumer_of[queue] = consumer
    now, hold = timezone.now(), settings.HMS_BUS_BATCH_HOLD
    gathering: dict[str, float] = {}  # queue -> seconds until due
    candidates: dict[str, float] = {}  # queue -> seconds until its hold ends
    for queue, queued in by_queue.items():
        if len(queued) >= settings.HMS_BUS_BATCH_SIZE:
            continue
        waited = (now - queued[0].created_at).total_seconds()
        window = settings.HMS_BUS_CONSUMER_WINDOWS.get(consumer_of[queue], 0)
        if waited < window:
            gathering[queue] = window - waited
        elif waited < hold:
            candidates[queue] = hold - waited
    behind = _behind(list(candidates))
    return Holding(
        behind,
        set(gathering),
        min(gathering.values(), default=None),
        min((candidates[queue] for queue in behind), default=None),
    )


def _behind(queues: Sequence[str]) -> set[str]:
    """Those of these queues in which messages still wait for a worker."""
    if not queues:
        return set()
    try:
        return {queue for queue, count in waiting_messages(queues).items() if count}
    except Exception:  # the broker is down: the send will say so
        return set()


def resend_unacknowledged(service: str, *, batch_size: int = 500) -> int:
    """Send again, to its consumer only, each copy not acknowledged in time. Returns how many.

    The consumer's inbox makes a copy it already holds a no-op (and acknowledges it again). A copy
    whose queue still holds messages is not lost but waiting behind them (the consumer is behind
    or stopped): it is looked at again a timeout later rather than added to that backlog again.
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
        due = _not_waiting_in_a_queue(alias, due)
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


def _not_waiting_in_a_queue(alias: str, due: list[OutboxDelivery]) -> list[OutboxDelivery]:
    """The deliveries to send again; those whose queue still holds messages are postponed."""
    queues = {
        delivery.pk: events_queue(delivery.consumer, delivery.event.aggregate) for delivery in due
    }
    try:
        busy = {queue for queue, count in waiting_messages(set(queues.values())).items() if count}
    except Exception:  # the broker is down: the send will say so
        return due
    postponed = [delivery.pk for delivery in due if queues[delivery.pk] in busy]
    if postponed:
        OutboxDelivery.objects.using(alias).filter(pk__in=postponed).update(
            next_send_at=timezone.now() + timedelta(seconds=settings.HMS_BUS_ACK_TIMEOUT)
        )
    return [delivery for delivery in due if queues[delivery.pk] not in busy]


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


def wait_for_outbox(alias: str, timeout: float) -> bool:
    """Block until a commit notifies the outbox channel (PostgreSQL) or `timeout` passes; True if
    a commit did.

    Every notification already queued is taken too: a burst of commits wakes the relay once.
    """
    connection = connections[alias]
    if connection.vendor != "postgresql":
        time.sleep(timeout)
        return False
    connection.ensure_connection()
    raw = connection.connection
    if getattr(raw, "_hms_listening", False) is False:
        with connection.cursor() as cursor:
            cursor.execute(f"LISTEN {NOTIFY_CHANNEL}")
        raw._hms_listening = True
    notified = False
    for _notification in raw.notifies(timeout=timeout, stop_after=1):
        notified = True
    for _notification in raw.notifies(timeout=0):
        notified = True
    return notified


def wait_while_behind(alias: str, queues: frozenset[str], timeout: float) -> bool:
    """Wait, while rows are held for consumers that are behind, until one of their `queues` has
    drained, a commit notifies the outbox channel, or `timeout` passes (the first hold ends);
    True if a commit did.

    The queues are looked at after BUS_RELAY_LINGER, then twice as long each time they are still
    behind, up to HOLD_LOOKS_BACKOFF times that: a pass reading the held rows again each time
    cost the Finance relay up to a tenth of a core while Grants' consumer was behind
    (bench/README.md, finding 47), and a look every 10 ms still a fiftieth (finding 48).
    """
    deadline = time.monotonic() + timeout
    look = settings.HMS_BUS_RELAY_LINGER
    while (left := deadline - time.monotonic()) > 0:
        if wait_for_outbox(alias, min(look, left)):
            return True
        try:
            if not all(waiting_messages(queues).values()):
                return False
        except Exception:  # the broker is down: the next pass's send will say so
            return False
        look = min(2 * look, HOLD_LOOKS_BACKOFF * settings.HMS_BUS_RELAY_LINGER)
    return False


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
