"""The Celery tasks of the bus: deliver events to a consumer; take a consumer's acknowledgements."""

from celery import shared_task
from django.conf import settings

from hms.bus.inbox import HandlerFailed, consume, consume_batch
from hms.bus.outbox import acknowledge


def retry_delay(retries: int) -> float:
    """Exponential backoff: base * 2**retries seconds, capped."""
    return min(settings.HMS_BUS_RETRY_BACKOFF * 2**retries, settings.HMS_BUS_RETRY_BACKOFF_MAX)


@shared_task(
    name="hms.bus.deliver_batch",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,  # counted against HMS_BUS_MAX_RETRIES below, so the last try dead-letters
)
def deliver_batch(
    self, consumer: str, envelopes: list[dict], trace_contexts: list[dict] | None = None
) -> int:
    """Apply a batch of events in order; the ones that failed are tried again as a smaller batch
    (in their order) after a backoff, and dead-lettered on the last attempt."""
    final_attempt = self.request.retries >= settings.HMS_BUS_MAX_RETRIES
    retry = consume_batch(consumer, envelopes, trace_contexts, final_attempt=final_attempt)
    if retry:
        traces = trace_contexts or [{}] * len(envelopes)
        raise self.retry(
            args=[consumer, [envelopes[i] for i in retry], [traces[i] for i in retry]],
            countdown=retry_delay(self.request.retries),
        )
    return len(envelopes)


@shared_task(
    name="hms.bus.deliver",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,
)
def deliver(self, consumer: str, envelope: dict) -> str:
    """One event per message: what relays sent before batches (kept while such messages may
    still wait on a queue during an upgrade)."""
    final_attempt = self.request.retries >= settings.HMS_BUS_MAX_RETRIES
    try:
        return consume(consumer, envelope, final_attempt=final_attempt)
    except HandlerFailed as exc:  # WaitingForEarlier included: it is tried again, never dead
        raise self.retry(exc=exc, countdown=retry_delay(self.request.retries)) from exc


@shared_task(name="hms.bus.acknowledge", acks_late=True, reject_on_worker_lost=True)
def acknowledge_held(producer: str, consumer: str, event_ids: list[str]) -> int:
    """Producer side: `consumer` holds these events, so the relay stops sending them."""
    return acknowledge(producer=producer, consumer=consumer, event_ids=event_ids)
