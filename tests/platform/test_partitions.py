"""Partitions: one aggregate always lands in one queue; the workers share the queues out."""

import pytest

from hms.bus import partitions, transport
from hms.bus.partitions import events_queue, partition_of, worker_queues


def test_one_partition_is_the_single_queue_the_platform_always_had(monkeypatch):
    monkeypatch.delenv("BUS_PARTITIONS", raising=False)

    assert events_queue("grants", "user:4") == "grants.events"
    assert worker_queues("grants") == ["grants.events", "grants"]


def test_an_aggregate_lands_in_the_same_partition_in_every_process():
    # CRC-32 of the aggregate: the same in any process, unlike hash() with its per-process seed.
    assert partition_of("user:4", 8) == 198129165 % 8 == 5
    spread = {partition_of(f"user:{n}", 4) for n in range(100)}
    assert spread == {0, 1, 2, 3}


def test_the_workers_share_every_partition_exactly_once(monkeypatch):
    monkeypatch.setenv("BUS_PARTITIONS", "5")

    first = worker_queues("grants", worker=0, workers=2)
    second = worker_queues("grants", worker=1, workers=2)

    assert first == ["grants.events", "grants.events.2", "grants.events.4", "grants"]
    assert second == ["grants.events.1", "grants.events.3", "grants"]
    with pytest.raises(ValueError):
        worker_queues("grants", worker=2, workers=2)
    # Another platform's count, given explicitly (the e2e harness does that for its processes).
    assert worker_queues("grants", partitions=2) == ["grants.events", "grants.events.1", "grants"]


def test_an_event_is_sent_to_its_aggregates_partition(monkeypatch):
    monkeypatch.setenv("BUS_PARTITIONS", "4")
    sent = []
    from hms.celery import app

    monkeypatch.setattr(
        app, "send_task", lambda name, **options: sent.append((name, options["queue"]))
    )
    envelope = {"event_type": "user.updated", "version": 1, "correlation_id": "c"}
    batches = transport.batches_for(
        [(1, envelope, "user:4", {}, transport.consumers_of("user.updated", 1))], limit=100
    )

    assert transport.send_batches(batches) == (2, None)  # one message per consuming service

    partition = partition_of("user:4", 4)
    assert sent == [
        ("hms.bus.deliver_batch", partitions.partition_queue("grants", partition)),
        ("hms.bus.deliver_batch", partitions.partition_queue("finance", partition)),
    ]
