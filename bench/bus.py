"""3. The event bus: grant.approved committed in Grants -> the award readable in Finance.

Measured against two baselines on the same (private) Redis, in the same run:
- raw Celery running a task that does nothing (`bench/noop_celery.py`): what Celery itself costs;
- raw Celery running the same handler (Finance obligating the award, `bench/handler_celery.py`)
  with no outbox, relay, inbox or acknowledgement: so the bus's own cost is what is left.
Each throughput is a drain of a backlog (the tasks or events all waiting before the consumer or
the relay starts), counted from the first to the last one done, so that no process's start-up
time and no producer's speed is in it. The figure also reports the rate with the producers
still committing (bounded here by what four producer processes commit on the same two cores),
the delivery latency at a steady rate (with one Finance worker and with two, each on as many
partitions, and the cores busy meanwhile), two Finance workers against one, and the latency of
event-producing writes while the broker is down against the same writes while it is up.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import redis

from bench.figures import Target, load, ratio, say
from bench.load import latency_summary, merge
from bench.platform import PARTITIONS, CpuUse, busiest, run_inside, wait_for
from bench.profiles import Profile
from tests.e2e.harness import BIN, REPO, Platform

AWARD_TABLE = "finance_award"
# The bus's own tables (hms.bus.models), read for where each event's time went.
OUTBOX_TABLE, DELIVERY_TABLE, INBOX_TABLE = (
    "bus_outboxevent",
    "bus_outboxdelivery",
    "bus_inboxevent",
)
# hms.bus.outbox.NOTIFY_CHANNEL (the bench process loads no Django): a commit of outbox rows
# notifies it.
NOTIFY_CHANNEL = "hms_outbox"


class AwardWatcher:
    """Watches the Finance database for the awards of the given applications: when each became
    readable there (committed by the Finance worker), as seen by any reader.

    It looks when a Finance commit notifies the outbox's channel (every award's transaction
    publishes award.obligated, whose outbox row notifies at commit: hms.bus migration 0005), and
    at the latest every `FALLBACK` seconds. Polling every 5-10 ms instead cost ~0.1 of a core
    that the measured platform then lacked (finding 44); a look on each commit sees every award
    as soon as any reader could."""

    FALLBACK = 0.05

    def __init__(self, database_url: str, ids: list[int]):
        self.database_url = database_url
        self.pending = set(ids)
        self.low, self.high = min(ids), max(ids)
        self.seen: dict[int, float] = {}
        self.looks = 0
        self._stop = threading.Event()
        self._ready = threading.Event()  # listening, and the first look done
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            with psycopg.connect(self.database_url, autocommit=True) as connection:
                connection.execute(f"LISTEN {NOTIFY_CHANNEL}")
                while self.pending and not self._stop.is_set():
                    rows = connection.execute(
                        f"SELECT application_id FROM {AWARD_TABLE} "  # noqa: S608
                        "WHERE application_id BETWEEN %s AND %s",
                        (self.low, self.high),
                    ).fetchall()
                    now = time.time()
                    self.looks += 1
                    for (application_id,) in rows:
                        if application_id in self.pending:
                            self.pending.discard(application_id)
                            self.seen[application_id] = now
                    self._ready.set()
                    if not self.pending:
                        break
                    # The next commit, or the fallback; the commits that landed meanwhile are all
                    # covered by the one look that follows.
                    for _notification in connection.notifies(timeout=self.FALLBACK, stop_after=1):
                        pass
                    for _notification in connection.notifies(timeout=0):
                        pass
        finally:
            self._ready.set()  # a watcher that failed must not hold its caller

    def __enter__(self) -> AwardWatcher:
        self._thread.start()
        self._ready.wait(timeout=30)  # a commit from now on is seen at once
        return self

    def wait(self, timeout: float) -> bool:
        """Until every award is seen or `timeout` passes; whether the watcher is done."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def steady_rate(self) -> float | None:
        """Awards per second from the first to the last seen."""
        if len(self.seen) < 2:
            return None
        times = sorted(self.seen.values())
        return round((len(times) - 1) / max(times[-1] - times[0], 1e-9), 1)


def publish(
    platform: Platform, ids: list[int], rate: float | None, producers: int = 1
) -> dict[int, float]:
    """Approve `ids` from `producers` processes at once (each its share, each approval in its own
    transaction), as a deadline day's web workers would; the commit time of each."""

    def produce(share: list[int]) -> dict:
        args = ["publish-approvals", "--ids", ",".join(map(str, share))]
        if rate:
            args += ["--rate", str(rate / producers)]
        return run_inside(platform, "grants", *args)

    shares = [ids[index::producers] for index in range(producers)]
    with ThreadPoolExecutor(producers) as pool:
        results = list(pool.map(produce, shares))
    return {int(key): value for result in results for key, value in result["committed"].items()}


# ------------------------------------------------------------------------------------------------
# The baselines: raw Celery on the same Redis
# ------------------------------------------------------------------------------------------------
def _celery_worker(platform: Platform, app: str, queue: str, env: dict, log: Path):
    return subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [
            str(BIN / "celery"),
            "-A",
            app,
            "worker",
            "-Q",
            queue,
            "-n",
            f"{queue}-{platform.prefix}@%h",
            "--concurrency",
            "1",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-l",
            "INFO",
        ],
        cwd=REPO,
        env=env,
        stdout=log.open("a"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _stop(worker: subprocess.Popen) -> None:
    os.killpg(worker.pid, 15)
    worker.wait(20)


def raw_celery_noop(platform: Platform, tasks: int, root: Path) -> dict:
    """A task that does nothing but count itself (one Redis INCR), with the bus's settings."""
    prefix = f"{platform.prefix}:benchnoop:"
    env = {key: value for key, value in platform.env.items() if key != "DJANGO_SETTINGS_MODULE"}
    env["BENCH_NOOP_PREFIX"] = prefix
    os.environ["BENCH_NOOP_PREFIX"] = prefix
    from bench.noop_celery import QUEUE, app

    app.conf.broker_url = platform.env["BROKER_URL"]
    app.conf.broker_transport_options = {
        **app.conf.broker_transport_options,
        "global_keyprefix": prefix,
    }
    counter = f"{prefix}done:{uuid.uuid4().hex}"
    client = redis.Redis.from_url(platform.env["BROKER_URL"])
    envelope = sample_envelope()
    with app.producer_or_acquire() as producer:
        for _ in range(tasks):
            app.send_task("bench.noop", args=[counter, envelope], queue=QUEUE, producer=producer)
    # The backlog waits; the worker drains it.
    worker = _celery_worker(platform, "bench.noop_celery", QUEUE, env, root / "logs/noop.log")
    try:
        first = wait_for(lambda: int(client.get(counter) or 0) >= 1, timeout=120, interval=0.005)
        started = time.time() if first else None
        wait_for(
            lambda: int(client.get(counter) or 0) >= tasks,
            timeout=300,
            interval=0.005,
            message="raw Celery tasks did not finish",
        )
        finished = time.time()
    finally:
        _stop(worker)
        client.delete(counter)
    return {"tasks": tasks, "tasks_per_s": round((tasks - 1) / (finished - started), 1)}


def raw_celery_handler(platform: Platform, ids: list[int], root: Path) -> dict:
    """The bus's own handler for grant.approved run by plain Celery tasks (one per event), no
    outbox, relay, inbox, position or acknowledgement."""
    prefix = f"{platform.prefix}:benchhandler:"
    env = {**platform.service_env("finance"), "BROKER_KEY_PREFIX": prefix}
    from celery import Celery

    sender = Celery("bench_handler_sender")
    sender.conf.update(
        broker_url=platform.env["BROKER_URL"],
        broker_transport_options={"global_keyprefix": prefix},
        task_serializer="json",
    )
    with sender.producer_or_acquire() as producer:
        for application_id in ids:
            sender.send_task(
                "bench.obligate",
                args=[grant_approved_payload(application_id)],
                queue="bench.handler",
                producer=producer,
            )
    with AwardWatcher(platform.env["FINANCE_DATABASE_URL"], ids) as watcher:
        worker = _celery_worker(
            platform, "bench.handler_celery", "bench.handler", env, root / "logs/handler.log"
        )
        try:
            watcher.wait(timeout=300)
        finally:
            _stop(worker)
    return {
        "tasks": len(ids),
        "missing": len(watcher.pending),
        "tasks_per_s": watcher.steady_rate(),
    }


def sample_envelope() -> dict:
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": "grant.approved",
        "version": 1,
        "occurred_at": "2027-01-15T12:00:00+00:00",
        "producer": "grants",
        "correlation_id": uuid.uuid4().hex,
        "payload": grant_approved_payload(1),
    }


def grant_approved_payload(application_id: int) -> dict:
    return {
        "application_id": application_id,
        "applicant_id": 3000001,
        "program_code": "SBA-SBIR-2027-01",
        "tracking_number": f"E-{application_id}",
        "awarded_amount": "10000.00",
        "budget_lines": [
            {"category": "personnel", "description": "Salaries", "amount": "6000.00"},
            {"category": "equipment", "description": "Equipment", "amount": "4000.00"},
        ],
    }


# ------------------------------------------------------------------------------------------------
# The bus
# ------------------------------------------------------------------------------------------------
def steady_latency(platform: Platform, ids: list[int], rate: float) -> dict:
    """Commit to award readable, each event alone at a steady rate (an open-loop schedule), with
    the cores the machine and each process group kept busy meanwhile: how near the machine is to
    saturation is what the latency mostly follows (bench/README.md, finding 27)."""
    cpu = CpuUse(platform)
    workers = [name for name in platform.workers_of("finance") if platform.processes[name].running]
    counted_before = workers_delivery_metric(platform, workers)
    with AwardWatcher(platform.env["FINANCE_DATABASE_URL"], ids) as watcher:
        cpu.start()
        committed = publish(platform, ids, rate)
        watcher.wait(timeout=120)
        used = cpu.stop()
    counted = [
        after - before
        for after, before in zip(
            workers_delivery_metric(platform, workers), counted_before, strict=True
        )
    ]
    latencies = [(watcher.seen[i] - committed[i]) * 1000 for i in ids if i in watcher.seen]
    return {
        "events": len(ids),
        "rate_per_s": rate,
        # How often the watcher read the awards (on each Finance commit; finding 44).
        "watcher_looks": watcher.looks,
        "missing": len(watcher.pending),
        "latency_ms": latency_summary(latencies),
        "finance_workers": len(workers),
        "cpu": used,
        **delivery_stages(platform, committed, watcher.seen),
        # What the workers' own metric saw of the same events, as ops would (finding 36).
        "worker_metric": {
            "events": int(counted[0]),
            "mean_ms": round(counted[1] / counted[0] * 1000, 3) if counted[0] else None,
        },
    }


def workers_delivery_metric(platform: Platform, workers: list[str]) -> tuple[float, float]:
    """`hms_event_delivery_seconds` of `grant.approved` over these Finance workers, each scraped
    on its own metrics port (hms/deploy/worker_metrics.py): (count, sum of seconds)."""
    scraped = [platform.metrics(name) for name in workers]
    count, total = (
        sum(
            value
            for samples in scraped
            for labels, value in samples.get(f"hms_event_delivery_seconds_{part}", [])
            if labels.get("event_type") == "grant.approved"
        )
        for part in ("count", "sum")
    )
    return count, total


def delivery_stages(
    platform: Platform, committed: dict[int, float], seen: dict[int, float]
) -> dict:
    """Where each event's time went, from the bus's own records: commit -> the Grants relay's send
    (its wake, pass and send), the send -> the Finance worker beginning the batch (the broker,
    Celery's hand-off, the wait behind earlier messages), and that -> the award readable (the
    handler's transaction, and the watcher's poll). Each stage's p50 and p99, and its mean over
    the slowest 1 % of events (at least one): what a missed p99 was made of. `traced` counts the
    events whose records were all found."""
    aggregates = [f"grant:{application}" for application in seen]
    with psycopg.connect(platform.env["GRANTS_DATABASE_URL"]) as connection:
        sends = connection.execute(
            f"SELECT e.aggregate, e.event_id, d.sent_at FROM {OUTBOX_TABLE} e "  # noqa: S608
            f"JOIN {DELIVERY_TABLE} d ON d.event_id = e.id AND d.consumer = 'finance' "
            "WHERE e.event_type = 'grant.approved' AND e.aggregate = ANY(%s)",
            (aggregates,),
        ).fetchall()
    sent = {
        int(aggregate.split(":")[1]): (event, at.timestamp())
        for aggregate, event, at in sends
        if at
    }
    with psycopg.connect(platform.env["FINANCE_DATABASE_URL"]) as connection:
        began = dict(
            connection.execute(
                f"SELECT event_id, processed_at FROM {INBOX_TABLE} "  # noqa: S608
                "WHERE consumer = 'finance' AND event_type = 'grant.approved' "
                "AND event_id = ANY(%s)",
                ([event for event, _ in sent.values()],),
            ).fetchall()
        )
    stages = sorted(  # by the whole latency first, so the slowest events come last
        (
            (seen[application] - committed[application]) * 1000,
            (sent_at - committed[application]) * 1000,
            (began[event].timestamp() - sent_at) * 1000,
            (seen[application] - began[event].timestamp()) * 1000,
        )
        for application, (event, sent_at) in sent.items()
        if event in began and application in committed
    )
    if not stages:
        return {"traced": 0, "stages_ms": None, "slowest_stages_ms": None}
    names = ("relayed", "waited", "applied")
    slowest = stages[-max(1, len(stages) // 100) :]
    return {
        "traced": len(stages),
        "stages_ms": {
            name: latency_summary([stage[index + 1] for stage in stages])
            for index, name in enumerate(names)
        },
        "slowest_stages_ms": {
            "events": len(slowest),
            **{
                name: round(sum(stage[index + 1] for stage in slowest) / len(slowest), 1)
                for index, name in enumerate(names)
            },
        },
    }


def steady_latency_with(
    platform: Platform, ids: list[int], warm_up: list[int], rate: float, workers: int
) -> dict:
    """`steady_latency` with `workers` Finance workers and as many partitions per consuming
    service, as docs/deployment.md advises: each partition is a queue of its own, and a worker
    behind at a steady rate catches up in one batch per queue, so partitions it does not need
    cost it (finding 43). Every relay and worker restarts for the change, so `warm_up`'s events
    go first, at the same rate, and are not measured."""
    platform.set_partitions(workers, workers={"finance": workers})
    steady_latency(platform, warm_up, rate)
    return {
        **steady_latency(platform, ids, rate),
        "partitions": int(platform.processes["grants-relay"].env["BUS_PARTITIONS"]),
        # The queues each Finance worker consumed (its -Q).
        "finance_queues": [
            platform.processes[name].argv[platform.processes[name].argv.index("-Q") + 1]
            for name in platform.workers_of("finance")
        ],
        "warm_up_events": len(warm_up),
    }


def live_burst(platform: Platform, ids: list[int], producers: int) -> dict:
    """Producers commit as fast as they can while the bus delivers: events/s end to end."""
    with AwardWatcher(platform.env["FINANCE_DATABASE_URL"], ids) as watcher:
        committed = publish(platform, ids, None, producers)
        watcher.wait(timeout=600)
    first_commit = min(committed.values())
    return {
        "events": len(ids),
        "missing": len(watcher.pending),
        "events_per_s": round(len(watcher.seen) / (max(watcher.seen.values()) - first_commit), 1),
        "producer_commits_per_s": round(
            len(committed) / max(max(committed.values()) - first_commit, 1e-9), 1
        ),
    }


def drain(platform: Platform, ids: list[int], producers: int) -> dict:
    """The bus alone (relay, broker, consumer, acknowledgements): the events are committed while
    the Grants relay is stopped, then it starts; awards per second, first to last."""
    platform.stop("grants-relay")
    publish(platform, ids, None, producers)
    cpu = CpuUse(platform)
    with AwardWatcher(platform.env["FINANCE_DATABASE_URL"], ids) as watcher:
        platform.start("grants-relay", wait=False)
        # The CPU from the first award on, the span the rate is counted over (no start-up in it).
        wait_for(lambda: watcher.seen, timeout=120, interval=0.005, message="no award at all")
        cpu.start()
        watcher.wait(timeout=600)
        used = cpu.stop()
    platform.wait_ready("grants-relay")
    return {
        "events": len(ids),
        "missing": len(watcher.pending),
        "events_per_s": watcher.steady_rate(),
        "cpu": used,
    }


def scaling(platform: Platform, batches: list[list[int]], producers: int) -> dict:
    """Drains with one and with two Finance worker processes (sharing its partitions), in turn,
    so whatever else the machine does falls on both alike.

    The other services' workers are stopped meanwhile, so that on two cores the consumer being
    scaled does not share them with another service's consumer as well: Users' applies the same
    grant.approved events (the applicant's email), Grants' the award.obligated events the drains
    cause. What they are sent waits in their queues and is applied when they start again.
    """
    runs: dict[int, list[dict]] = {1: [], 2: []}
    others = ("grants-worker", "users-worker")
    for name in others:
        platform.stop(name)
    try:
        for index, ids in enumerate(batches):
            workers = 1 if index % 2 == 0 else 2
            platform.set_workers("finance", workers)
            runs[workers].append(drain(platform, ids, producers))
    finally:
        platform.set_workers("finance", 1)
        for name in others:
            platform.start(name)
    # What they were sent meanwhile is applied before the next figure, not during it.
    wait_for(
        lambda: all(caught_up(platform, service) for service in ("grants", "finance")),
        timeout=300,
        interval=1,
        message="the consumers stopped during the drains did not catch up",
    )

    def rate(results: list[dict]) -> float:
        # Every event of the rounds over their time together.
        events = sum(result["events"] for result in results)
        seconds = sum(result["events"] / result["events_per_s"] for result in results)
        return round(events / seconds, 1)

    def busy(results: list[dict]) -> dict:
        # The mean over the rounds of the cores kept busy: the machine, and the Finance workers.
        rounds = [result["cpu"] for result in results]
        workers = [
            sum(value for name, value in cpu["cores"].items() if name.startswith("finance-worker"))
            for cpu in rounds
        ]
        return {
            "machine_cores": round(
                sum(cpu["machine_cores_busy"] for cpu in rounds) / len(rounds), 2
            ),
            "finance_worker_cores": round(sum(workers) / len(workers), 2),
        }

    one, two = rate(runs[1]), rate(runs[2])
    return {
        "one_worker": runs[1],
        "two_workers": runs[2],
        "one_per_s": one,
        "two_per_s": two,
        "busy": {"one": busy(runs[1]), "two": busy(runs[2]), "cores": os.cpu_count()},
    }


def caught_up(platform: Platform, service: str) -> bool:
    """Whether every event `service` published has been sent and acknowledged by its consumers."""
    status = platform.manage(service, "bus_status").stdout
    return "outbox backlog 0" in status and "not yet acknowledged" not in status


# ------------------------------------------------------------------------------------------------
# Writes while the broker is down
# ------------------------------------------------------------------------------------------------
def _register_writer(platform: Platform) -> tuple[int, str]:
    """A fresh applicant, registered through the User Service; their id and a token."""
    body = {
        "kind": "individual",
        "legal_name": "Bench Writer",
        "email": f"writer-{uuid.uuid4().hex[:10]}@bench.example",
        "password": "a-long-unusual-passphrase-42",
        "phone": "+1 202 555 0143",
        "address_line1": "1 Main St",
        "city": "Springfield",
        "state": "IL",
        "zip_code": "62701",
    }
    request = urllib.request.Request(  # noqa: S310 - the platform on loopback
        f"{platform.url('users')}/users/register",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        user_id = json.loads(response.read())["id"]
    return user_id, platform.token(user_id, "applicant", "individual")


def writes_while_broker_down(platform: Platform, profile: Profile, broker) -> dict:
    """PATCH /users/me (each one renames the applicant, so each publishes user.updated) with the
    broker up and down, in turn; then the broker comes back and every event must arrive."""
    user_id, token = _register_writer(platform)
    url = f"{platform.url('users')}/users/me"
    body = '{"legal_name": "Bench Writer {n}"}'
    slices: dict[str, list[dict]] = {"up": [], "down": []}
    for round_number in range(profile.rounds):
        for state in ("up", "down"):
            if state == "down":
                broker.stop()
            try:
                slices[state].append(
                    load(
                        url,
                        token=token,
                        concurrency=profile.write_concurrency,
                        profile=profile,
                        duration=profile.duration / profile.rounds,
                        warmup=profile.warmup if round_number == 0 else 0.2,
                        raw=True,
                        method="PATCH",
                        body=body.replace("Writer", f"Writer {round_number}{state}"),
                    )
                )
            finally:
                if state == "down":
                    broker.start()
    merged = {state: merge(runs) for state, runs in slices.items()}
    writes = sum(run["requests"] for run in merged.values())
    # Every write committed its event; once the broker is back the relay sends them all.
    delivered = wait_for(
        lambda: "outbox backlog 0" in platform.manage("users", "bus_status").stdout,
        timeout=120,
        interval=0.5,
        message="the events written while the broker was down were not sent after it came back",
    )
    return {
        "user_id": user_id,
        "writes": writes,
        "up": merged["up"],
        "down": merged["down"],
        "p50_ratio": ratio(merged["down"]["latency_ms"]["p50"], merged["up"]["latency_ms"]["p50"]),
        "p99_ratio": ratio(merged["down"]["latency_ms"]["p99"], merged["up"]["latency_ms"]["p99"]),
        "outbox_drained": bool(delivered),
    }


# ------------------------------------------------------------------------------------------------
# The figure
# ------------------------------------------------------------------------------------------------
def event_bus(platform: Platform, profile: Profile, root: Path, broker) -> dict:
    say("3. Event bus: grant.approved committed in Grants -> award readable in Finance")
    steady_n, burst_n, drain_n, scaling_n = (
        profile.bus_latency_events,
        profile.bus_throughput_events,
        profile.bus_drain_events,
        profile.bus_scaling_events,
    )
    warm_n = max(10, steady_n // 6)  # two seconds at the full profile's rate
    scaling_drain_count = 2 * profile.bus_scaling_rounds  # one worker, then two, each round
    total = 2 * (warm_n + steady_n) + burst_n + 2 * drain_n + scaling_n * scaling_drain_count
    ids = run_inside(platform, "grants", "prepare-approvals", "--count", str(total))["ids"]
    steady = ids[: 2 * (warm_n + steady_n)]
    warm_ups, steadies = steady[: 2 * warm_n], steady[2 * warm_n :]
    rest = ids[len(steady) :]
    burst, rest = rest[:burst_n], rest[burst_n:]
    first_drain, rest = rest[:drain_n], rest[drain_n:]
    scaling_drains = [rest[i * scaling_n : (i + 1) * scaling_n] for i in range(scaling_drain_count)]
    handler_drain = rest[scaling_n * scaling_drain_count :]

    latency, latency_two = (
        steady_latency_with(
            platform,
            steadies[index * steady_n : (index + 1) * steady_n],
            warm_ups[index * warm_n : (index + 1) * warm_n],
            profile.bus_rate,
            workers,
        )
        for index, workers in enumerate((1, 2))
    )
    say_steady(latency, "1 Finance worker, 1 partition")
    say_steady(latency_two, "2 Finance workers, 2 partitions")
    # The drains compare one worker and two on the same partitions, the platform's four: a drain's
    # batches are full whatever the number of queues.
    platform.set_partitions(PARTITIONS, workers={"finance": 1})
    burst = live_burst(platform, burst, profile.bus_producers)
    say(
        f"    with {profile.bus_producers} producers committing: {burst['events_per_s']} events/s "
        f"end to end (they committed {burst['producer_commits_per_s']}/s)"
    )
    # The no-op baseline brackets the drain (just before and just after it), so a swing of the
    # machine's load moves both sides of the ratio, not one.
    noop_before = raw_celery_noop(platform, profile.raw_tasks, root)
    bus = drain(platform, first_drain, profile.bus_producers)
    noop_after = raw_celery_noop(platform, profile.raw_tasks, root)
    noop = {
        "tasks": profile.raw_tasks,
        "before_per_s": noop_before["tasks_per_s"],
        "after_per_s": noop_after["tasks_per_s"],
        "tasks_per_s": round((noop_before["tasks_per_s"] + noop_after["tasks_per_s"]) / 2, 1),
    }
    say(
        f"    the bus draining {drain_n} committed events (1 Finance worker): {bus['events_per_s']} "
        f"events/s; raw Celery's no-op just before and after: {noop['before_per_s']} and "
        f"{noop['after_per_s']} tasks/s"
    )
    scaled = scaling(platform, scaling_drains, profile.bus_producers)
    scale_ratio = ratio(scaled["two_per_s"], scaled["one_per_s"])
    one_busy, two_busy = scaled["busy"]["one"], scaled["busy"]["two"]
    say(
        f"    1 Finance worker {scaled['one_per_s']}/s, 2 workers {scaled['two_per_s']}/s "
        f"-> {scale_ratio}x; the machine busy {one_busy['machine_cores']} and "
        f"{two_busy['machine_cores']} of {scaled['busy']['cores']} cores, the Finance workers "
        f"{one_busy['finance_worker_cores']} and {two_busy['finance_worker_cores']}"
    )
    handler = raw_celery_handler(platform, handler_drain, root)
    say(f"    raw Celery, the same handler without the bus: {handler['tasks_per_s']} tasks/s")
    writes = writes_while_broker_down(platform, profile, broker)
    say(
        f"    writes (PATCH /users/me, c={profile.write_concurrency}) broker up: p50 "
        f"{writes['up']['latency_ms']['p50']} / p99 {writes['up']['latency_ms']['p99']} ms; down: "
        f"p50 {writes['down']['latency_ms']['p50']} / p99 {writes['down']['latency_ms']['p99']} ms"
        f" -> p99 {writes['p99_ratio']}x"
    )
    figure = {
        "latency": latency,
        "latency_two_workers": latency_two,
        "live_burst": burst,
        "drain": bus,
        "scaling": {**scaled, "ratio": scale_ratio},
        "raw_celery_noop": noop,
        "raw_celery_handler": handler,
        "ratio_to_raw_celery": ratio(bus["events_per_s"], noop["tasks_per_s"]),
        "ratio_to_handler_alone": ratio(bus["events_per_s"], handler["tasks_per_s"]),
        "writes_broker_down": writes,
    }
    say(
        f"    -> the bus {figure['ratio_to_raw_celery']}x raw Celery, "
        f"{figure['ratio_to_handler_alone']}x the handler alone"
    )
    return figure


def say_steady(latency: dict, workers: str) -> None:
    missing = f", MISSING {latency['missing']}" if latency["missing"] else ""
    say(
        f"    steady {latency['rate_per_s']:g} events/s, {latency['events']} events, {workers}: "
        f"p50 {latency['latency_ms']['p50']} ms, p99 {latency['latency_ms']['p99']} ms{missing}; "
        f"the machine busy {latency['cpu']['machine_cores_busy']} cores "
        f"({busiest(latency['cpu'])})"
    )
    if latency["stages_ms"]:
        say(f"      {stages_line(latency)}")


def stages_line(latency: dict) -> str:
    """Where the steady figure's time went, for the console and the report."""
    stages, slowest = latency["stages_ms"], latency["slowest_stages_ms"]
    return (
        f"commit to sent {stages['relayed']['p50']} / {stages['relayed']['p99']} ms, sent to "
        f"applying {stages['waited']['p50']} / {stages['waited']['p99']} ms, applying to readable "
        f"{stages['applied']['p50']} / {stages['applied']['p99']} ms (p50 / p99); the slowest "
        f"{slowest['events']}: {slowest['relayed']} + {slowest['waited']} + {slowest['applied']} ms"
        f"; the workers' own hms_event_delivery_seconds: {latency['worker_metric']['events']} "
        f"events, mean {latency['worker_metric']['mean_ms']} ms (here {latency['latency_ms']['mean']})"
    )


def bus_targets(figure: dict) -> list[Target]:
    return [
        Target(
            "3 bus",
            "drain events/s, against raw Celery no-op",
            figure["ratio_to_raw_celery"],
            f"{figure['raw_celery_noop']['tasks_per_s']} tasks/s",
            0.5,
            higher_is_better=True,
        ),
        Target(
            "3 bus",
            "2 Finance workers against 1",
            figure["scaling"]["ratio"],
            f"{figure['scaling']['one_per_s']} events/s",
            1.6,
            higher_is_better=True,
        ),
        Target(
            "3 bus",
            f"steady {figure['latency']['rate_per_s']:g}/s delivery p99",
            figure["latency"]["latency_ms"]["p99"],
            "-",
            100,
            unit=" ms",
        ),
        Target(
            "3 bus",
            "write p99, broker down/up",
            figure["writes_broker_down"]["p99_ratio"],
            f"{figure['writes_broker_down']['up']['latency_ms']['p99']} ms up",
            1.2,
        ),
    ]
