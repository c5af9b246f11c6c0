"""Consuming: validate the envelope, apply each handler exactly once, dead-letter what cannot be.

Delivery is at least once; the inbox row, written in the same transaction as the handlers'
changes, is what makes the effect happen once.
"""

import logging
import traceback
import uuid
from collections.abc import Callable, Mapping, Sequence
from functools import cache

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from pydantic import ValidationError

from hms.bus.models import AggregatePosition, DeadLetter, InboxEvent, PendingAck
from hms.context import correlation_id
from hms.db import database_for
from hms.events import Envelope, Event, UnknownEventType, event_class
from hms.events.base import IN_SEQUENCE
from hms.identity import SERVICES
from hms.metrics import EVENTS_CONSUMED

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


def process_envelope(consumer: str, raw_envelope: dict) -> str:
    """Apply one delivered envelope for `consumer`. Raises Undeliverable or HandlerFailed."""
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

    alias = database_for(consumer)
    token = correlation_id.set(envelope.correlation_id)
    logger.info("applying event %s %s in %s", event_type.name, envelope.event_id, consumer)
    sequence = envelope.sequences.get(consumer)
    try:
        with transaction.atomic(using=alias):
            try:
                with transaction.atomic(using=alias):
                    inbox_row = InboxEvent.objects.using(alias).create(
                        event_id=envelope.event_id, consumer=consumer, event_type=event_type.name
                    )
            except IntegrityError:
                logger.info("event %s already applied by %s", envelope.event_id, consumer)
                _owe_acknowledgement(alias, envelope.event_id, envelope.producer, consumer)
                return DUPLICATE
            _owe_acknowledgement(alias, envelope.event_id, envelope.producer, consumer)
            position = None
            if sequence is not None:
                position = _locked_position(alias, consumer, event.aggregate)
                if sequence <= position.last_sequence:
                    inbox_row.outcome = InboxEvent.Outcome.SUPERSEDED
                    inbox_row.save(update_fields=["outcome"])
                    logger.info(
                        "event %s %s (#%s of %s) superseded by #%s in %s",
                        event_type.name,
                        envelope.event_id,
                        sequence,
                        event.aggregate,
                        position.last_sequence,
                        consumer,
                    )
                    return SUPERSEDED
                if event_type.ordering == IN_SEQUENCE and sequence > position.last_sequence + 1:
                    raise WaitingForEarlier(
                        f"{event_type.name} #{sequence} of {event.aggregate} waits for "
                        f"#{position.last_sequence + 1} in {consumer}."
                    )
            for handler in handlers:
                handler(event)
            if position is not None:
                position.last_sequence = sequence
                position.updated_at = timezone.now()
                position.save(update_fields=["last_sequence", "updated_at"])
    except WaitingForEarlier:
        raise
    except Exception as exc:
        raise HandlerFailed(f"{type(exc).__name__}: {exc}") from exc
    finally:
        correlation_id.reset(token)
    logger.info("event %s %s applied by %s", event_type.name, envelope.event_id, consumer)
    return HANDLED


def _owe_acknowledgement(alias: str, event_id, producer: str, consumer: str) -> None:
    """The producer is to be told that this consumer holds the event (the relay tells it)."""
    PendingAck.objects.using(alias).bulk_create(
        [PendingAck(event_id=event_id, producer=producer, consumer=consumer)],
        ignore_conflicts=True,
    )


def _locked_position(alias: str, consumer: str, aggregate: str) -> AggregatePosition:
    """The consumer's position in the aggregate, locked until the delivery's transaction ends."""
    positions = AggregatePosition.objects.using(alias)
    try:
        with transaction.atomic(using=alias):
            positions.get_or_create(consumer=consumer, aggregate=aggregate)
    except IntegrityError:  # another worker created it first
        pass
    return positions.select_for_update().get(consumer=consumer, aggregate=aggregate)


def consume(consumer: str, raw_envelope: dict, *, final_attempt: bool) -> str:
    """Process a delivery; dead-letter it if it is undeliverable or failed its last attempt.

    Raises HandlerFailed or WaitingForEarlier when the delivery should be retried.
    """
    event_type = str(raw_envelope.get("event_type", "?")) if isinstance(raw_envelope, dict) else "?"
    try:
        outcome = process_envelope(consumer, raw_envelope)
    except WaitingForEarlier:
        EVENTS_CONSUMED.labels(consumer, event_type, "waiting").inc()
        raise
    except Undeliverable as exc:
        record_dead_letter(consumer, raw_envelope, exc.reason, exc.detail)
        outcome = DEAD_LETTERED
    except HandlerFailed as exc:
        if not final_attempt:
            EVENTS_CONSUMED.labels(consumer, event_type, "retried").inc()
            raise
        record_dead_letter(
            consumer, raw_envelope, DeadLetter.Reason.HANDLER_FAILED, _failure_text(exc)
        )
        outcome = DEAD_LETTERED
    EVENTS_CONSUMED.labels(consumer, event_type, outcome).inc()
    return outcome


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
