"""The event bus's baseline: raw Celery throughput on the same Redis, with the bus's settings.

A worker of this app (`celery -A bench.noop_celery worker -Q bench.noop`) runs a task that does
nothing but count itself done (one Redis INCR), with what the bus's delivery task has: JSON,
late acknowledgement, prefetch 1, one prefork process, and an event envelope as its argument. So
the ratio of the bus to this is what the outbox, the relay, the inbox, the handler's transaction
and the database cost, not Celery itself. Its queue and keys live under their own prefix
(`BENCH_NOOP_PREFIX`), apart from the platform's.
"""

import os

import redis
from celery import Celery

QUEUE = "bench.noop"

app = Celery("bench_noop")
app.conf.update(
    broker_url=os.environ.get("BROKER_URL", "redis://127.0.0.1:6379/0"),
    broker_transport_options={
        "global_keyprefix": os.environ.get("BENCH_NOOP_PREFIX", "bench-noop:"),
        "visibility_timeout": 3600,
    },
    broker_connection_retry_on_startup=True,
    task_serializer="json",
    accept_content=["json"],
    task_ignore_result=True,
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_default_queue=QUEUE,
    worker_hijack_root_logger=False,
)

_counter_client: redis.Redis | None = None


@app.task(name="bench.noop", acks_late=True)
def noop(counter_key: str, envelope: dict) -> None:
    """Count the delivery; the envelope is carried only so that messages are bus-sized."""
    global _counter_client
    if _counter_client is None:
        _counter_client = redis.Redis.from_url(app.conf.broker_url)
    _counter_client.incr(counter_key)
