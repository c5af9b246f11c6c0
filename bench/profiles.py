"""How long and how big each run is: `full` (the default, `make bench`), `quick` and `smoke`."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    name: str
    # HTTP figures: each measurement is `duration` seconds after `warmup` seconds not measured.
    duration: float
    warmup: float
    # Calls compared with each other run in turn, `rounds` slices each (see figures.compare).
    rounds: int
    # Composition concurrency levels (the 1 and 32).
    concurrency: tuple[int, ...]
    # With backends slowed by 50 ms a call takes ~60 ms: longer runs give the p99 enough samples.
    slowed_duration: float
    # Scale: applications in the grants database for the small and the large measurement, and
    # the requests made to each endpoint at each size (one at a time).
    scale_rows: tuple[int, int]
    scale_requests: int
    # Event bus: events at a steady rate for latency; a burst while producers commit; drains of
    # a committed backlog (the bus's throughput, against raw Celery's); drains of
    # `bus_scaling_events` with one then two Finance workers in turn for `bus_scaling_rounds`
    # rounds; the raw Celery no-op tasks.
    bus_latency_events: int
    bus_rate: float
    bus_throughput_events: int
    bus_drain_events: int
    bus_scaling_events: int
    bus_scaling_rounds: int
    # Producer processes committing at once (a deadline day's web workers).
    bus_producers: int
    raw_tasks: int
    # Writes in flight at once while the broker is up, then down.
    write_concurrency: int


PROFILES = {
    "full": Profile(
        name="full",
        duration=8.0,
        warmup=1.0,
        rounds=4,
        concurrency=(1, 32),
        slowed_duration=20.0,
        scale_rows=(1_000, 1_000_000),
        scale_requests=300,
        bus_latency_events=600,
        bus_rate=50.0,
        bus_throughput_events=1500,
        bus_drain_events=1000,
        bus_scaling_events=2500,
        bus_scaling_rounds=2,
        bus_producers=4,
        raw_tasks=3000,
        write_concurrency=4,
    ),
    "quick": Profile(
        name="quick",
        duration=3.0,
        warmup=0.5,
        rounds=2,
        concurrency=(1, 32),
        slowed_duration=6.0,
        scale_rows=(1_000, 100_000),
        scale_requests=150,
        bus_latency_events=100,
        bus_rate=50.0,
        bus_throughput_events=400,
        bus_drain_events=500,
        bus_scaling_events=500,
        bus_scaling_rounds=1,
        bus_producers=4,
        raw_tasks=1000,
        write_concurrency=4,
    ),
    # For the smoke test: every figure, each with a few requests; its numbers mean nothing.
    "smoke": Profile(
        name="smoke",
        duration=0.4,
        warmup=0.1,
        rounds=1,
        concurrency=(1, 32),
        slowed_duration=0.4,
        scale_rows=(1_000, 5_000),
        scale_requests=15,
        bus_latency_events=10,
        bus_rate=20.0,
        bus_throughput_events=30,
        bus_drain_events=30,
        bus_scaling_events=30,
        bus_scaling_rounds=1,
        bus_producers=2,
        raw_tasks=100,
        write_concurrency=2,
    ),
}
