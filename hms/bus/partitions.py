"""Partitions: each consuming service's events are spread over BUS_PARTITIONS queues by a stable
hash of their aggregate, and each queue is consumed by one worker process at a time, so one
aggregate's events stay in order while different aggregates are applied in parallel.

Worker `i` of `n` consumes the partitions `k` with `k % n == i`, plus the service's own queue:
`python -m hms.bus.partitions grants --worker 0 --of 2` prints its `-Q` list. More workers than
partitions leave some idle; raise BUS_PARTITIONS everywhere (producers read it too) to go wider.
"""

import argparse
import os
import zlib
from functools import lru_cache

from hms.env import env


def partition_count() -> int:
    # Read at each call (a test or a redeploy changes it), from os.environ rather than through
    # django-environ, whose parsing was a tenth of the relay's time: a pass names each copy's
    # queue several times (bench/README.md, finding 47).
    return max(1, int(os.environ.get("BUS_PARTITIONS", "1")))


def partition_of(aggregate: str, partitions: int) -> int:
    """The same partition for an aggregate in every process and release (CRC-32, not hash())."""
    return zlib.crc32(aggregate.encode()) % partitions


def partition_queue(service: str, partition: int) -> str:
    # Partition 0 keeps the name the single queue always had, so a platform that turns
    # partitioning on still drains what waits there.
    return f"{service}.events" if partition == 0 else f"{service}.events.{partition}"


def events_queue(service: str, aggregate: str) -> str:
    """The queue of `service` that an event of `aggregate` goes to."""
    return _events_queue(service, aggregate, partition_count())


@lru_cache(maxsize=65_536)
def _events_queue(service: str, aggregate: str, partitions: int) -> str:
    # Remembered: the relay names each copy's queue several times per pass, and a held copy's
    # again on every pass until it goes.
    return partition_queue(service, partition_of(aggregate, partitions))


def worker_queues(
    service: str, *, worker: int = 0, workers: int = 1, partitions: int | None = None
) -> list[str]:
    """The queues worker `worker` of `workers` consumes: its partitions, then the service's own.

    `partitions` defaults to BUS_PARTITIONS of this process's environment."""
    if not 0 <= worker < workers:
        raise ValueError(f"worker {worker} of {workers} does not exist")
    partitions = range(partition_count() if partitions is None else partitions)
    owned = [partition_queue(service, k) for k in partitions if k % workers == worker]
    return [*owned, service]


def main() -> None:
    parser = argparse.ArgumentParser(description="The queues one bus worker consumes (for -Q).")
    parser.add_argument("service")
    parser.add_argument("--worker", type=int, default=env.int("BUS_WORKER", default=0))
    parser.add_argument("--of", type=int, default=env.int("BUS_WORKERS", default=1))
    arguments = parser.parse_args()
    print(",".join(worker_queues(arguments.service, worker=arguments.worker, workers=arguments.of)))


if __name__ == "__main__":
    main()
