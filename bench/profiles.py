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
    # Event bus: events at a steady rate for latency, then a burst for throughput, and as many
    # raw Celery tasks for the baseline.
    bus_latency_events: int
    bus_rate: float
    bus_throughput_events: int
    raw_tasks: int


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
        bus_latency_events=300,
        bus_rate=25.0,
        bus_throughput_events=1500,
        raw_tasks=3000,
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
        bus_rate=25.0,
        bus_throughput_events=400,
        raw_tasks=1000,
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
        raw_tasks=100,
    ),
}
