"""Bus tables. Every service has its own copy in its own database."""

from django.db import models
from django.utils import timezone


class OutboxEvent(models.Model):
    """An event committed with the state change that caused it, waiting for (or done with) relay."""

    event_id = models.UUIDField(unique=True)
    event_type = models.CharField(max_length=100)
    version = models.PositiveSmallIntegerField()
    aggregate = models.CharField(max_length=120)
    envelope = models.JSONField()
    # W3C trace headers of the publishing request, so the consumer joins its trace.
    trace_context = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["id"], condition=models.Q(sent_at__isnull=True), name="bus_outbox_unsent"
            )
        ]

    def __str__(self) -> str:
        return f"{self.event_type} v{self.version} {self.event_id}"


class OutboxDelivery(models.Model):
    """One consumer's copy of an outbox event: sent, then acknowledged once the consumer holds it.

    Until it is acknowledged the relay sends it again (after BUS_ACK_TIMEOUT, then less and less
    often), so a broker that loses what it held delays the event but never loses it.
    """

    event = models.ForeignKey(OutboxEvent, on_delete=models.CASCADE, related_name="deliveries")
    consumer = models.CharField(max_length=50)
    sent_at = models.DateTimeField(null=True, blank=True)
    sends = models.PositiveIntegerField(default=0)
    next_send_at = models.DateTimeField(null=True, blank=True)
    acked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "consumer"], name="bus_delivery_once")
        ]
        indexes = [
            models.Index(
                fields=["next_send_at"],
                condition=models.Q(acked_at__isnull=True),
                name="bus_delivery_unacked",
            )
        ]

    def __str__(self) -> str:
        return f"{self.event_id} -> {self.consumer}"


class PendingAck(models.Model):
    """Consumer side: an event this service now holds (applied, superseded or dead-lettered)
    whose producer has not been told yet. The relay tells it in batches, then deletes the row."""

    event_id = models.UUIDField()
    producer = models.CharField(max_length=50)
    consumer = models.CharField(max_length=50)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event_id", "consumer"], name="bus_pending_ack_once")
        ]

    def __str__(self) -> str:
        return f"{self.consumer} holds {self.event_id} of {self.producer}"


class AggregateSequence(models.Model):
    """Producer side: the last sequence number given to an aggregate's events for one consumer."""

    aggregate = models.CharField(max_length=120)
    consumer = models.CharField(max_length=50)
    last_sequence = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["aggregate", "consumer"], name="bus_sequence_once")
        ]

    def __str__(self) -> str:
        return f"{self.aggregate} -> {self.consumer}: {self.last_sequence}"


class AggregatePosition(models.Model):
    """Consumer side: the newest event of an aggregate this consumer has applied (or superseded)."""

    consumer = models.CharField(max_length=50)
    aggregate = models.CharField(max_length=120)
    last_sequence = models.PositiveBigIntegerField(default=0)
    # What last_sequence was before the transaction that last moved it: the inbox moves a
    # position and reads where it stood in one statement (hms.bus.inbox._claim).
    previous_sequence = models.PositiveBigIntegerField(default=0, db_default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["consumer", "aggregate"], name="bus_position_once")
        ]

    def __str__(self) -> str:
        return f"{self.consumer} at {self.aggregate} #{self.last_sequence}"


class InboxEvent(models.Model):
    """An event a consumer has applied: its presence makes a second delivery a no-op."""

    class Outcome(models.TextChoices):
        APPLIED = "applied", "Applied"
        SUPERSEDED = "superseded", "Superseded by a newer event of its aggregate"

    event_id = models.UUIDField()
    consumer = models.CharField(max_length=50)
    event_type = models.CharField(max_length=100)
    processed_at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, default=Outcome.APPLIED)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event_id", "consumer"], name="bus_inbox_once")
        ]

    def __str__(self) -> str:
        return f"{self.consumer}: {self.event_type} {self.event_id}"


class DeadLetter(models.Model):
    """An event a consumer could not apply, kept with the reason until someone replays it."""

    class Reason(models.TextChoices):
        INVALID_ENVELOPE = "invalid_envelope", "Invalid envelope"
        UNKNOWN_EVENT_TYPE = "unknown_event_type", "Unknown event type"
        INVALID_PAYLOAD = "invalid_payload", "Invalid payload"
        NO_HANDLER = "no_handler", "No handler in this service"
        HANDLER_FAILED = "handler_failed", "Handler failed after retries"

    event_id = models.UUIDField(null=True, blank=True)
    consumer = models.CharField(max_length=50)
    event_type = models.CharField(max_length=100, blank=True)
    envelope = models.JSONField()
    reason = models.CharField(max_length=30, choices=Reason.choices)
    error = models.TextField()
    attempts = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    replayed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["event_id", "consumer"],
                condition=models.Q(event_id__isnull=False),
                name="bus_dead_letter_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.consumer}: {self.event_type or '?'} ({self.reason})"
