"""Putting messages on the broker: one copy of an event on the queue of each consuming service
(the partition of its aggregate, `hms.bus.partitions`), and acknowledgements back on the
producer's own queue.

Fanout is done here, from the registry, rather than with a broker fanout exchange: Redis fanout is
pub/sub and drops messages while a consumer is down, whereas a per-service queue keeps them.
"""

from collections.abc import Sequence

from hms.bus.partitions import events_queue
from hms.events import event_class


def send_envelope(
    envelope: dict, *, aggregate: str, consumers: Sequence[str] | None = None
) -> None:
    """Publish the envelope to each consumer's queue (default: every subscribed service's), in
    the partition of its aggregate; raises if the broker is down."""
    from hms.celery import app

    event_type = event_class(envelope["event_type"], envelope["version"])
    for consumer in event_type.consumers if consumers is None else consumers:
        app.send_task(
            "hms.bus.deliver",
            args=[consumer, envelope],
            queue=events_queue(consumer, aggregate),
            retry=False,
            headers={"correlation_id": envelope["correlation_id"]},
        )


def send_acknowledgements(*, producer: str, consumer: str, event_ids: list[str]) -> None:
    """Tell `producer` that `consumer` holds these events (on the producer's service queue)."""
    from hms.celery import app

    app.send_task(
        "hms.bus.acknowledge",
        args=[producer, consumer, event_ids],
        queue=producer,
        retry=False,
    )
