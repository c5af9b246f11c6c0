"""Putting messages on the broker: events go to the queue of each consuming service (the partition
of their aggregate, `hms.bus.partitions`) in batches, one message per queue; acknowledgements go
back on the producer's own queue.

Fanout is done here, from the registry, rather than with a broker fanout exchange: Redis fanout is
pub/sub and drops messages while a consumer is down, whereas a per-service queue keeps them.

A batch is a run of events bound for one queue, in commit order: one message and one broker round
trip for all of them, and one transaction for all of them at the consumer
(`hms.bus.inbox.consume_batch`). Order per aggregate is kept because an aggregate always lands in
the same queue and a queue is consumed by one worker process at a time.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from hms.bus.partitions import events_queue
from hms.events import event_class

DELIVER_BATCH_TASK = "hms.bus.deliver_batch"


@dataclass
class Batch:
    """Events for one consumer's queue, in the order they are to be applied."""

    consumer: str
    queue: str
    envelopes: list[dict] = field(default_factory=list)
    # W3C trace headers of each event's publishing request (empty when tracing is off).
    trace_contexts: list[dict] = field(default_factory=list)
    # The caller's keys for what the batch carries (outbox row or delivery ids).
    keys: list[int] = field(default_factory=list)


def consumers_of(event_type: str, version: int) -> tuple[str, ...]:
    return event_class(event_type, version).consumers


def batches_for(
    items: Iterable[tuple[int, dict, str, dict, Sequence[str]]], *, limit: int
) -> list[Batch]:
    """Group `(key, envelope, aggregate, trace_context, consumers)` items, in their order, into
    batches of at most `limit` events per queue, ordered by the first item each carries."""
    open_batches: dict[str, Batch] = {}
    batches: list[Batch] = []
    for key, envelope, aggregate, trace, consumers in items:
        for consumer in consumers:
            queue = events_queue(consumer, aggregate)
            batch = open_batches.get(queue)
            if batch is None or len(batch.envelopes) >= limit:
                batch = open_batches[queue] = Batch(consumer, queue)
                batches.append(batch)
            batch.envelopes.append(envelope)
            batch.trace_contexts.append(trace or {})
            batch.keys.append(key)
    return batches


def prepare_to_send() -> None:
    """Load, before a relay's first pass, what its first send would otherwise load: Celery's app,
    the broker's transport and client library, the task sender and the result backend. The
    first send took ~200 ms more than the next ones (imports: bench/README.md, finding 43), and
    the first event after every start or deploy waited for it. Nothing is sent and no connection
    is opened: a broker that is down is for the passes to report."""
    from hms.celery import app

    # Each is made on its first use (attribute access makes it).
    app.producer_pool  # noqa: B018 - the broker's transport and its client library
    app.amqp.send_task_message  # noqa: B018 - the task sender: routes, queues, events
    app.backend  # noqa: B018 - resolved by the first send_task, even with results ignored


def send_batches(batches: Sequence[Batch]) -> tuple[int, Exception | None]:
    """Send each batch as one message, in order, over one broker connection.

    Stops at the first failure. Returns how many batches were sent, and the failure if any.
    """
    from hms.celery import app

    sent = 0
    try:
        with app.producer_or_acquire() as producer:
            for batch in batches:
                app.send_task(
                    DELIVER_BATCH_TASK,
                    args=[batch.consumer, batch.envelopes, batch.trace_contexts],
                    # What logs and monitoring show of the message; Celery would otherwise
                    # render the whole batch to make it.
                    argsrepr=f"[{batch.consumer!r}, <{len(batch.envelopes)} events>]",
                    queue=batch.queue,
                    retry=False,
                    producer=producer,
                )
                sent += 1
    except Exception as exc:  # the broker is down or refused the message
        return sent, exc
    return sent, None


def waiting_messages(queues: Iterable[str]) -> dict[str, int]:
    """How many messages wait in each queue, not yet taken by a worker (0 for a queue the broker
    does not have). Raises if the broker is down."""
    from hms.celery import app

    names = list(queues)
    with app.pool.acquire(block=True) as connection:  # pooled: no new connection per look
        channel = connection.default_channel
        if hasattr(channel, "_q_for_pri"):
            return _redis_lengths(channel, names)
        counts = {}
        for name in names:
            # Declared as the workers declare it (a quorum queue on RabbitMQ), so it is never
            # refused, and a queue nobody has declared yet simply holds nothing.
            declared = app.amqp.queues[name].bind(channel).queue_declare()
            counts[name] = declared.message_count
        return counts


def _redis_lengths(channel, names: list[str]) -> dict[str, int]:
    """Every queue's length in one Redis round trip. Kombu keeps a queue as one list per priority
    step, and asks one round trip per queue; the relay asks for every partition on each pass,
    which was ~40 % of its time at a steady 50 events/s (py-spy)."""
    steps = channel.priority_steps
    with channel.conn_or_acquire() as client, client.pipeline() as pipe:
        for name in names:
            for step in steps:
                pipe.llen(channel._q_for_pri(name, step))
        lengths = pipe.execute()
    return {
        name: sum(lengths[index * len(steps) : (index + 1) * len(steps)])
        for index, name in enumerate(names)
    }


def send_acknowledgements(*, producer: str, consumer: str, event_ids: list[str]) -> None:
    """Tell `producer` that `consumer` holds these events (on the producer's service queue)."""
    from hms.celery import app

    app.send_task(
        "hms.bus.acknowledge",
        args=[producer, consumer, event_ids],
        queue=producer,
        retry=False,
    )
