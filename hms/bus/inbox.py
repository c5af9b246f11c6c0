"""Consuming: validate the envelope, apply each handler exactly once, dead-letter what cannot be.

Delivery is at least once; the inbox row, written in the same transaction as the handlers'
changes, is what makes the effect happen once.
"""

import logging
import traceback
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import NamedTuple

from django.conf import settings
from django.db import connections, transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from pydantic import ValidationError

from hms.bus.models import AggregatePosition, DeadLetter, InboxEvent, PendingAck
from hms.context import correlation_id
from hms.db import Upsert, database_for, write_together
from hms.events import Envelope, Event, UnknownEventType, event_class
from hms.events.base import IN_SEQUENCE
from hms.identity import SERVICES
from hms.metrics import EVENT_DELIVERY_SECONDS, EVENTS_CONSUMED
from hms.tracing import consumer_span

logger = logging.getLogger("hms.bus")

Handler = Callable[[Event], None]
HANDLED = "handled"
DUPLICATE = "duplicate"
SUPERSEDED = "superseded"
DEAD_LETTERED = "dead_lettered"


class Undeliverable(Exception):
    """The event can never be applied as it is: retrying will not help."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class HandlerFailed(Exception):
    """A handler raised; the delivery may succeed on a retry."""


class WaitingForEarlier(HandlerFailed):
    """An event that must be applied in sequence came before one of its aggregate's earlier
    events: nothing was applied, and the delivery is tried again later (never dead-lettered, so
    it waits until the earlier one is applied, or replayed from the dead letters)."""


@cache
def handlers_for(consumer: str) -> Mapping[type[Event], Sequence[Handler]]:
    """The consumer's handler table (`HMS_BUS_HANDLERS[consumer]`): event type to handlers."""
    return import_string(settings.HMS_BUS_HANDLERS[consumer])


@dataclass(frozen=True)
class Delivery:
    """A delivered envelope that validated: the event and the consumer's handlers for it."""

    envelope: Envelope
    event: Event
    handlers: Sequence[Handler]
    # W3C trace headers of the request that published it (empty when tracing is off).
    trace_context: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.event.name


def parse_delivery(
    consumer: str, raw_envelope: dict, trace_context: dict | None = None
) -> Delivery:
    """Validate the envelope and its payload for `consumer`. Raises Undeliverable."""
    try:
        envelope = Envelope.model_validate(raw_envelope)
    except ValidationError as exc:
        raise Undeliverable(DeadLetter.Reason.INVALID_ENVELOPE, str(exc)) from exc
    try:
        event_type = event_class(envelope.event_type, envelope.version)
    except UnknownEventType as exc:
        raise Undeliverable(DeadLetter.Reason.UNKNOWN_EVENT_TYPE, str(exc)) from exc
    try:
        event = event_type.model_validate(envelope.payload)
    except ValidationError as exc:
        raise Undeliverable(DeadLetter.Reason.INVALID_PAYLOAD, str(exc)) from exc
    handlers = handlers_for(consumer).get(event_type)
    if not handlers:
        raise Undeliverable(
            DeadLetter.Reason.NO_HANDLER, f"{consumer} has no handler for {event_type.name}."
        )
    return Delivery(envelope, event, handlers, trace_context or {})


def process_envelope(consumer: str, raw_envelope: dict, trace_context: dict | None = None) -> str:
    """Apply one delivered envelope for `consumer` in a transaction of its own.

    Raises Undeliverable, or HandlerFailed (WaitingForEarlier included) to be tried again.
    """
    delivery = parse_delivery(consumer, raw_envelope, trace_context)
    try:
        with transaction.atomic(using=database_for(consumer)):
            return apply_deliveries(consumer, [delivery])[0]
    except WaitingForEarlier:
        raise
    except Exception as exc:
        raise HandlerFailed(f"{type(exc).__name__}: {exc}") from exc


def apply_deliveries(consumer: str, deliveries: Sequence[Delivery]) -> list[str]:
    """Apply each delivery once, in order, in the caller's transaction on the consumer's database;
    returns each one's outcome.

    The inbox rows, the acknowledgements owed to producers, the aggregates' positions and the
    handlers' changes commit (or roll back) together. The bookkeeping takes the same few
    statements for a batch of any size. Raises WaitingForEarlier when an in-sequence event came
    before one of its aggregate's earlier events, or whatever a handler raised.
    """
    alias = database_for(consumer)
    claimed, positions = _claim(alias, consumer, deliveries)
    outcomes: list[str] = []
    superseded: list = []
    moved: dict[str, int] = {}
    run: list[Delivery] = []  # deliveries waiting for their batch handlers, in order
    for delivery in deliveries:
        envelope, event = delivery.envelope, delivery.event
        if envelope.event_id not in claimed:
            logger.info("event %s already applied by %s", envelope.event_id, consumer)
            outcomes.append(DUPLICATE)
            continue
        claimed.discard(envelope.event_id)  # a second copy in the same batch is a duplicate
        sequence = envelope.sequences.get(consumer)
        if sequence is not None:
            last = moved.get(event.aggregate, positions[event.aggregate])
            if sequence <= last:
                logger.info(
                    "event %s %s (#%s of %s) superseded by #%s in %s",
                    event.name,
                    envelope.event_id,
                    sequence,
                    event.aggregate,
                    last,
                    consumer,
                )
                superseded.append(envelope.event_id)
                outcomes.append(SUPERSEDED)
                continue
            if event.ordering == IN_SEQUENCE and sequence > last + 1:
                raise WaitingForEarlier(
                    f"{event.name} #{sequence} of {event.aggregate} waits for #{last + 1} in "
                    f"{consumer}."
                )
        if run and run[0].handlers != delivery.handlers:
            _apply_run(consumer, run)
        if _in_batches(delivery.handlers):
            run.append(delivery)
        else:
            _apply_one(consumer, delivery)
        if sequence is not None:
            moved[event.aggregate] = sequence
        outcomes.append(HANDLED)
    if run:
        _apply_run(consumer, run)
    if superseded:
        InboxEvent.objects.using(alias).filter(consumer=consumer, event_id__in=superseded).update(
            outcome=InboxEvent.Outcome.SUPERSEDED
        )
    return outcomes


class Applying(NamedTuple):
    """One event of a run handed to a batch handler, with what its effects carry: its id (what
    makes an effect happen once) and its correlation id (what it publishes goes on with)."""

    event: Event
    event_id: str
    correlation_id: str


def applies_in_batches(handler: Callable) -> Callable:
    """Mark a handler that applies a batch's events of its type at once: it is called with the
    run as `Applying` records, in order, so a batch of fifty costs it a few statements rather
    than fifty times a few. Events between which another type's event came stay in separate
    calls, so the order of effects is the order of events."""
    handler.applies_in_batches = True
    return handler


def _in_batches(handlers: Sequence[Handler]) -> bool:
    return all(getattr(handler, "applies_in_batches", False) for handler in handlers)


def _apply_one(consumer: str, delivery: Delivery) -> None:
    envelope, event = delivery.envelope, delivery.event
    token = correlation_id.set(envelope.correlation_id)
    try:
        with consumer_span(f"hms.bus.deliver {event.name}", delivery.trace_context):
            logger.debug("applying event %s %s in %s", event.name, envelope.event_id, consumer)
            for handler in delivery.handlers:
                handler(event)
            logger.info("event %s %s applied by %s", event.name, envelope.event_id, consumer)
    finally:
        correlation_id.reset(token)


def _apply_run(consumer: str, run: list[Delivery]) -> None:
    """Apply a run of deliveries that share batch handlers, then empty it."""
    applying = [
        Applying(delivery.event, str(delivery.envelope.event_id), delivery.envelope.correlation_id)
        for delivery in run
    ]
    single = len(run) == 1
    name = run[0].name if single else f"{run[0].name} x{len(run)}"
    # A batch's own logs carry no one correlation id; each event's goes with what it publishes.
    token = correlation_id.set(applying[0].correlation_id if single else None)
    try:
        # One span for the run, in the trace of its first event.
        with consumer_span(f"hms.bus.deliver {name}", run[0].trace_context):
            for handler in run[0].handlers:
                handler(applying)
    finally:
        correlation_id.reset(token)
    for delivery in run:
        logger.info(
            "event %s %s applied by %s", delivery.name, delivery.envelope.event_id, consumer
        )
    run.clear()


def _owe_acknowledgement(alias: str, event_id, producer: str, consumer: str) -> None:
    PendingAck.objects.using(alias).bulk_create(
        [PendingAck(event_id=event_id, producer=producer, consumer=consumer)],
        ignore_conflicts=True,
    )


def _claim(alias: str, consumer: str, deliveries: Sequence[Delivery]) -> tuple[set, dict[str, int]]:
    """Insert the inbox rows; owe each event's producer an acknowledgement, whether this consumer
    held the event already or not (the relay tells the producer, which stops sending it); and
    move the consumer's position in each aggregate to the newest sequence delivered. Returns the
    event ids this consumer did not hold yet, and each aggregate's position before.

    Moving the positions first is what applying would leave them at: if the transaction commits,
    every new event was applied or superseded (a copy already held is older than its position),
    and if anything fails, the positions roll back with the rest. The upsert locks each position
    row (in a stable order) until the transaction ends, so a worker holding a redelivered copy
    waits, then reads the position this one left. On PostgreSQL the three go in one statement."""
    now = timezone.now()
    owed = [
        {
            "event_id": delivery.envelope.event_id,
            "producer": delivery.envelope.producer,
            "consumer": consumer,
            "created_at": now,
        }
        for delivery in deliveries
    ]
    rows = {
        delivery.envelope.event_id: {
            "event_id": delivery.envelope.event_id,
            "consumer": consumer,
            "event_type": delivery.event.name,
            "processed_at": now,
            "outcome": InboxEvent.Outcome.APPLIED,
        }
        for delivery in deliveries
    }
    newest: dict[str, int] = {}
    for delivery in deliveries:
        sequence = delivery.envelope.sequences.get(consumer)
        if sequence is not None:
            aggregate = delivery.event.aggregate
            newest[aggregate] = max(sequence, newest.get(aggregate, 0))
    quote = connections[alias].ops.quote_name
    table, last = quote(AggregatePosition._meta.db_table), quote("last_sequence")
    greatest = "GREATEST" if connections[alias].vendor == "postgresql" else "MAX"
    inserted, moved, _ = write_together(
        alias,
        Upsert(
            InboxEvent,
            list(rows.values()),
            conflict=("event_id", "consumer"),
            returning=("event_id",),
        ),
        Upsert(
            AggregatePosition,
            [
                {
                    "consumer": consumer,
                    "aggregate": aggregate,
                    "last_sequence": newest[aggregate],
                    "previous_sequence": 0,
                    "updated_at": now,
                }
                for aggregate in sorted(newest)
            ],
            conflict=("consumer", "aggregate"),
            update=(
                f"DO UPDATE SET {quote('previous_sequence')} = {table}.{last}, "
                f"{last} = {greatest}({table}.{last}, EXCLUDED.{last}), "
                f"{quote('updated_at')} = EXCLUDED.{quote('updated_at')}"
            ),
            returning=("aggregate", "previous_sequence"),
        ),
        Upsert(PendingAck, owed, conflict=("event_id", "consumer")),
    )
    return {event_id for (event_id,) in inserted}, dict(moved)


def consume(
    consumer: str, raw_envelope: dict, *, final_attempt: bool, trace_context: dict | None = None
) -> str:
    """Process a delivery; dead-letter it if it is undeliverable or failed its last attempt.

    Raises HandlerFailed or WaitingForEarlier when the delivery should be retried.
    """
    event_type = _type_of(raw_envelope)
    try:
        outcome = process_envelope(consumer, raw_envelope, trace_context)
    except WaitingForEarlier:
        EVENTS_CONSUMED.labels(consumer, event_type, "waiting").inc()
        raise
    except Undeliverable as exc:
        record_dead_letter(consumer, raw_envelope, exc.reason, exc.detail)
        outcome = DEAD_LETTERED
    except HandlerFailed as exc:
        if not final_attempt:
            logger.warning(
                "event %s failed in %s, tried again later: %s", event_type, consumer, exc
            )
            EVENTS_CONSUMED.labels(consumer, event_type, "retried").inc()
            raise
        record_dead_letter(
            consumer, raw_envelope, DeadLetter.Reason.HANDLER_FAILED, _failure_text(exc)
        )
        outcome = DEAD_LETTERED
    _counted(consumer, event_type, outcome, occurred_at=_occurred_at(raw_envelope))
    return outcome


def consume_batch(
    consumer: str,
    raw_envelopes: Sequence[dict],
    trace_contexts: Sequence[dict] | None = None,
    *,
    final_attempt: bool,
) -> list[int]:
    """Apply a batch of deliveries in order; returns the positions of those to try again.

    The batch is applied in one transaction (one commit for all of it). If any event in it cannot
    be applied, that transaction is rolled back and each event is consumed on its own, so one
    failing event holds back only itself (and the later events of its aggregate that must wait
    for it).
    """
    traces = list(trace_contexts or [])
    traces += [{}] * (len(raw_envelopes) - len(traces))
    valid: list[tuple[int, Delivery]] = []
    for index, raw in enumerate(raw_envelopes):
        try:
            valid.append((index, parse_delivery(consumer, raw, traces[index])))
        except Undeliverable as exc:
            record_dead_letter(consumer, raw, exc.reason, exc.detail)
            EVENTS_CONSUMED.labels(consumer, _type_of(raw), DEAD_LETTERED).inc()
    if len(valid) > 1:
        try:
            with transaction.atomic(using=database_for(consumer)):
                outcomes = apply_deliveries(consumer, [delivery for _, delivery in valid])
        except Exception as exc:
            logger.info("batch of %s for %s applied one at a time: %s", len(valid), consumer, exc)
        else:
            for (_index, delivery), outcome in zip(valid, outcomes, strict=True):
                _counted(consumer, delivery.name, outcome, delivery.envelope.occurred_at)
            return []
    retry = []
    for index, _delivery in valid:
        try:
            consume(
                consumer,
                raw_envelopes[index],
                final_attempt=final_attempt,
                trace_context=traces[index],
            )
        except HandlerFailed:
            retry.append(index)
    return retry


def _counted(consumer: str, event_type: str, outcome: str, occurred_at: datetime | None) -> None:
    """Count a delivery's outcome, committed; and for an event applied, how long after its
    producer recorded it (`hms_event_delivery_seconds`)."""
    EVENTS_CONSUMED.labels(consumer, event_type, outcome).inc()
    # A producer's clock without a zone cannot be compared (ours write UTC with its offset).
    if outcome == HANDLED and occurred_at and occurred_at.tzinfo:
        waited = (timezone.now() - occurred_at).total_seconds()
        EVENT_DELIVERY_SECONDS.labels(consumer, event_type).observe(max(waited, 0.0))


def _type_of(raw_envelope) -> str:
    return str(raw_envelope.get("event_type", "?")) if isinstance(raw_envelope, dict) else "?"


def _occurred_at(raw_envelope: dict) -> datetime | None:
    """When the producer recorded the event, where the envelope says so in ISO 8601."""
    try:
        return datetime.fromisoformat(raw_envelope["occurred_at"])
    except (KeyError, TypeError, ValueError):
        return None


def record_dead_letter(consumer: str, raw_envelope, reason: str, error: str) -> DeadLetter:
    """Keep an event the consumer could not apply, with why, for an operator to replay."""
    envelope = raw_envelope if isinstance(raw_envelope, dict) else {"raw": repr(raw_envelope)}
    event_id = _event_id_of(envelope)
    alias = database_for(consumer)
    values = {
        "event_type": str(envelope.get("event_type", ""))[:100],
        "envelope": envelope,
        "reason": reason,
        "error": error,
        "replayed_at": None,
    }
    letters = DeadLetter.objects.using(alias)
    producer = str(envelope.get("producer", ""))
    with transaction.atomic(using=alias):
        if event_id is None:
            letter = letters.create(consumer=consumer, **values)
        else:
            letter, _ = letters.update_or_create(
                event_id=event_id, consumer=consumer, defaults=values
            )
            if producer in SERVICES:
                # Held here (for an operator to replay): the producer need not send it again.
                _owe_acknowledgement(alias, event_id, producer, consumer)
    logger.error("event %s dead-lettered by %s (%s): %s", event_id, consumer, reason, error[:500])
    return letter


def replay_dead_letter(letter: DeadLetter) -> str:
    """Try a dead-lettered event again (after a fix). Raises Undeliverable or HandlerFailed."""
    alias = letter._state.db
    try:
        outcome = process_envelope(letter.consumer, letter.envelope)
    except (Undeliverable, HandlerFailed) as exc:
        DeadLetter.objects.using(alias).filter(pk=letter.pk).update(
            attempts=letter.attempts + 1, error=_failure_text(exc)
        )
        raise
    DeadLetter.objects.using(alias).filter(pk=letter.pk).update(replayed_at=timezone.now())
    return outcome


def _event_id_of(envelope: dict) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(envelope.get("event_id")))
    except ValueError:
        return None


def _failure_text(exc: BaseException) -> str:
    cause = exc.__cause__ or exc
    return "".join(traceback.format_exception(cause))[-8000:]
