"""Putting envelopes on the broker: one copy on the queue of each consuming service.

Fanout is done here, from the registry, rather than with a broker fanout exchange: Redis fanout is
pub/sub and drops messages while a consumer is down, whereas a per-service queue keeps them.
"""

from hms.events import event_class


def events_queue(service: str) -> str:
    """The queue a service's worker consumes events from."""
    return f"{service}.events"


def send_envelope(envelope: dict) -> None:
    """Publish the envelope to every subscribed service's queue; raises if the broker is down."""
    from hms.celery import app

    consumers = event_class(envelope["event_type"], envelope["version"]).consumers
    for consumer in consumers:
        app.send_task(
            "hms.bus.deliver",
            args=[consumer, envelope],
            queue=events_queue(consumer),
            retry=False,
            headers={"correlation_id": envelope["correlation_id"]},
        )
