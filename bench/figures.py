"""The five figures of `make bench`. Each returns a JSON-able dict, and `targets(...)` rows.

Every figure compares the platform with a baseline measured in the same run on the same machine:
absolute times on a shared 2-core machine mean little, ratios do.
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import subprocess
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import psycopg
import redis

from bench.load import merge
from bench.platform import (
    MemorySampler,
    run_inside,
    slowed,
    wait_for,
)
from bench.profiles import Profile
from tests.e2e.harness import BIN, PYTHON, REPO, Platform

# The demo identities the seed creates (see the brief): the measured applicant and caseworker.
APPLICANT_ID = 4
APPLICANT_KIND = "individual"
CASEWORKER_ID = 2
SLOW_MS = 50
AWARD_TABLE = "finance_award"


@dataclass(frozen=True)
class Target:
    figure: str
    measure: str
    value: float | None
    baseline: str
    limit: float
    higher_is_better: bool = False
    unit: str = "x"

    @property
    def met(self) -> bool | None:
        if self.value is None:
            return None
        return self.value >= self.limit if self.higher_is_better else self.value <= self.limit

    def as_dict(self) -> dict:
        return {
            "figure": self.figure,
            "measure": self.measure,
            "value": self.value,
            "baseline": self.baseline,
            "target": f"{'>=' if self.higher_is_better else '<='} {self.limit}{self.unit}",
            "met": self.met,
        }


def ratio(value: float | None, baseline: float | None) -> float | None:
    if value is None or not baseline:
        return None
    return round(value / baseline, 3)


# ------------------------------------------------------------------------------------------------
# The load generator, in its own process
# ------------------------------------------------------------------------------------------------
def load(
    url: str,
    *,
    token: str | None,
    concurrency: int,
    profile: Profile,
    requests: int | None = None,
    duration: float | None = None,
    warmup: float | None = None,
    raw: bool = False,
    method: str = "GET",
    body: str | None = None,
) -> dict:
    """One run of the load generator, in its own process."""
    argv = [
        PYTHON,
        "-m",
        "bench.load",
        "--url",
        url,
        "--concurrency",
        str(concurrency),
        "--warmup",
        str(profile.warmup if warmup is None else warmup),
    ]
    if token:
        argv += ["--header", f"Authorization: Bearer {token}"]
    if requests:
        argv += ["--requests", str(requests)]
    if duration or not requests:
        argv += ["--duration", str(duration or profile.duration)]
    if raw:
        argv.append("--raw")
    if body is not None:
        argv += ["--method", method, "--body", body]
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env["PYTHONPATH"] = str(REPO)
    result = subprocess.run(  # noqa: S603 - our own interpreter and arguments
        argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    if result.returncode:
        raise RuntimeError(f"bench.load failed for {url}:\n{result.stderr[-3000:]}")
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    summary["url"] = url.split("127.0.0.1:", 1)[-1].split("/", 1)[-1]
    summary["concurrency"] = concurrency
    return summary


def compare(
    calls: dict[str, tuple[str, str | None]],
    *,
    concurrency: int,
    profile: Profile,
    requests: int | None = None,
) -> dict[str, dict]:
    """Run the calls in turn, a slice of each per round, and merge each call's slices.

    Whatever else the machine does (other jobs, a checkpoint, autovacuum) then falls on every call
    alike, rather than on whichever happened to run at that moment: the ratios stay honest.
    """
    rounds = profile.rounds
    slices: dict[str, list[dict]] = {name: [] for name in calls}
    for round_number in range(rounds):
        for name, (url, token) in calls.items():
            slices[name].append(
                load(
                    url,
                    token=token,
                    concurrency=concurrency,
                    profile=profile,
                    requests=-(-requests // rounds) if requests else None,
                    duration=None if requests else profile.duration / rounds,
                    warmup=profile.warmup if round_number == 0 else min(profile.warmup, 0.2),
                    raw=True,
                )
            )
    merged = {}
    for name, runs in slices.items():
        merged[name] = merge(runs)
        merged[name]["url"] = runs[0]["url"]
        merged[name]["concurrency"] = concurrency
    return merged


def p50(summary: dict) -> float | None:
    return summary["latency_ms"]["p50"]


def p99(summary: dict) -> float | None:
    return summary["latency_ms"]["p99"]


def say(line: str) -> None:
    print(line, flush=True)


def show(label: str, summary: dict) -> None:
    latency = summary["latency_ms"]
    errors = f"  errors {summary['errors']} {summary['statuses']}" if summary["errors"] else ""
    say(
        f"    {label:<34} c={summary['concurrency']:<3} p50 {latency['p50']:8.2f} ms  "
        f"p99 {latency['p99']:8.2f} ms  {summary['rps']:8.1f} req/s{errors}"
    )


# ------------------------------------------------------------------------------------------------
# 1. Composition (and 5. Memory, sampled during its load)
# ------------------------------------------------------------------------------------------------
def composition_urls(platform: Platform) -> dict[str, str]:
    return {
        "users": f"{platform.url('users')}/users/{APPLICANT_ID}",
        "grants": f"{platform.url('grants')}/grants?user={APPLICANT_ID}",
        "gateway": f"{platform.url('gateway')}/status?user={APPLICANT_ID}",
    }


def _composition_round(platform: Platform, profile: Profile) -> dict:
    token = platform.token(APPLICANT_ID, "applicant", APPLICANT_KIND)
    levels = {}
    for concurrency in profile.concurrency:
        runs = compare(
            {name: (url, token) for name, url in composition_urls(platform).items()},
            concurrency=concurrency,
            profile=profile,
        )
        for name, run in runs.items():
            show(f"{'/status via gateway' if name == 'gateway' else name + ' direct'}", run)
        slowest = max(("users", "grants"), key=lambda name: p50(runs[name]) or 0)
        levels[str(concurrency)] = {
            "runs": runs,
            "slowest_backend": slowest,
            "p50_ratio_to_slowest": ratio(p50(runs["gateway"]), p50(runs[slowest])),
            "p99_ratio_to_slowest": ratio(
                p99(runs["gateway"]), max(p99(runs["users"]), p99(runs["grants"]))
            ),
            "p50_ratio_to_sum": ratio(
                p50(runs["gateway"]), p50(runs["users"]) + p50(runs["grants"])
            ),
            "rps_ratio_to_slowest": ratio(runs["gateway"]["rps"], runs[slowest]["rps"]),
        }
        level = levels[str(concurrency)]
        say(
            f"    -> c={concurrency}: /status p50 {level['p50_ratio_to_slowest']}x, "
            f"p99 {level['p99_ratio_to_slowest']}x the slowest backend direct "
            f"({slowest}); {level['p50_ratio_to_sum']}x the sum of both"
        )
    return levels


def status_sample(platform: Platform) -> dict:
    """One /status answer: that the three services were composed (no part degraded)."""
    import urllib.request

    token = platform.token(APPLICANT_ID, "applicant", APPLICANT_KIND)
    request = urllib.request.Request(  # noqa: S310 - a local URL the bench started
        composition_urls(platform)["gateway"], headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        document = json.loads(response.read())
    return {
        "keys": sorted(document),
        "applications": len(document.get("applications", [])),
        "awards": len(document.get("awards", [])),
        "degraded": document.get("degraded"),
    }


def composition(platform: Platform, profile: Profile) -> tuple[dict, dict]:
    """Figure 1 (normal backends) with figure 5 sampled meanwhile; returns (figure 1, figure 5)."""
    say("1. Composition: /status through the gateway against direct calls to users and grants")
    sample = status_sample(platform)
    say(f"    one /status answer: {sample}")
    names = tuple(platform.processes)
    with MemorySampler(platform, names) as sampler:
        normal = _composition_round(platform, profile)
    return {"status_sample": sample, "normal": normal}, memory_figure(sampler)


def composition_slowed(platform: Platform, profile: Profile, figure: dict) -> dict:
    say(f"1b. Composition with users and grants each slowed by {SLOW_MS} ms (a response delay)")
    with slowed(platform, ("users", "grants"), SLOW_MS):
        longer = dataclasses.replace(profile, duration=profile.slowed_duration)
        figure["slowed"] = _composition_round(platform, longer)
    figure["slowed_delay_ms"] = SLOW_MS
    return figure


def composition_targets(figure: dict) -> list[Target]:
    rows = []
    for concurrency, level in figure["slowed"].items():
        rows += [
            Target(
                "1 composition",
                f"/status p50, backends +{SLOW_MS} ms, c={concurrency}",
                level["p50_ratio_to_slowest"],
                f"slowest backend direct ({level['slowest_backend']}) p50",
                1.10,
            ),
            Target(
                "1 composition",
                f"/status p99, backends +{SLOW_MS} ms, c={concurrency}",
                level["p99_ratio_to_slowest"],
                "slowest backend direct p99",
                1.25,
            ),
        ]
    return rows


# ------------------------------------------------------------------------------------------------
# 5. Memory
# ------------------------------------------------------------------------------------------------
def memory_figure(sampler: MemorySampler) -> dict:
    report = sampler.report()
    say(
        "5. Memory: peak resident set under the composition load (sum over each service's processes)"
    )
    for name, values in report.items():
        say(
            f"    {name:<16} {values['processes']} process(es)  peak {values['peak_mib']:7.1f} MiB  "
            f"(per process {values['peak_mib_per_process']})"
        )
    return report


# ------------------------------------------------------------------------------------------------
# 2. Proxy overhead
# ------------------------------------------------------------------------------------------------
PROXIED_PATH = "/grants/applications?page_size=20"


def proxy_overhead(platform: Platform, profile: Profile) -> dict:
    say(f"2. Proxy overhead: GET {PROXIED_PATH} (applicant's list) via /api against direct")
    token = platform.token(APPLICANT_ID, "applicant", APPLICANT_KIND)
    direct_url = f"{platform.url('grants')}{PROXIED_PATH}"
    gateway_url = f"{platform.url('gateway')}/api{PROXIED_PATH}"
    levels = {}
    for concurrency in profile.concurrency:
        runs = compare(
            {"direct": (direct_url, token), "gateway": (gateway_url, token)},
            concurrency=concurrency,
            profile=profile,
        )
        direct, proxied = runs["direct"], runs["gateway"]
        show("grants direct", direct)
        show("via gateway /api", proxied)
        levels[str(concurrency)] = {
            "direct": direct,
            "gateway": proxied,
            "added_p50_ms": round(p50(proxied) - p50(direct), 3),
            "added_p99_ms": round(p99(proxied) - p99(direct), 3),
            "rps_ratio": ratio(proxied["rps"], direct["rps"]),
        }
        level = levels[str(concurrency)]
        say(
            f"    -> c={concurrency}: +{level['added_p50_ms']} ms p50, +{level['added_p99_ms']} ms "
            f"p99, throughput {level['rps_ratio']}x direct"
        )
    return {"path": PROXIED_PATH, "levels": levels}


def proxy_targets(figure: dict) -> list[Target]:
    low, high = min(figure["levels"], key=int), max(figure["levels"], key=int)
    return [
        Target(
            "2 proxy",
            f"added latency p50, c={low}",
            figure["levels"][low]["added_p50_ms"],
            "direct call p50",
            3.0,
            unit=" ms",
        ),
        Target(
            "2 proxy",
            f"throughput, c={high}",
            figure["levels"][high]["rps_ratio"],
            "direct call requests/s",
            0.7,
            higher_is_better=True,
        ),
    ]


# ------------------------------------------------------------------------------------------------
# 3. Event bus
# ------------------------------------------------------------------------------------------------
class AwardWatcher:
    """Polls the Finance database for the awards of the given applications: when each became
    readable there (committed by the Finance worker), as seen by any reader."""

    def __init__(self, database_url: str, ids: list[int], interval: float):
        self.database_url = database_url
        self.pending = set(ids)
        self.low, self.high = min(ids), max(ids)
        self.interval = interval
        self.seen: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with psycopg.connect(self.database_url, autocommit=True) as connection:
            while self.pending and not self._stop.is_set():
                rows = connection.execute(
                    f"SELECT application_id FROM {AWARD_TABLE} "  # noqa: S608
                    "WHERE application_id BETWEEN %s AND %s",
                    (self.low, self.high),
                ).fetchall()
                now = time.time()
                for (application_id,) in rows:
                    if application_id in self.pending:
                        self.pending.discard(application_id)
                        self.seen[application_id] = now
                self._stop.wait(self.interval)

    def __enter__(self) -> AwardWatcher:
        self._thread.start()
        return self

    def wait(self, timeout: float) -> None:
        self._thread.join(timeout)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def _publish(platform: Platform, ids: list[int], rate: float | None) -> dict[int, float]:
    args = ["publish-approvals", "--first", str(ids[0]), "--last", str(ids[-1])]
    if rate:
        args += ["--rate", str(rate)]
    result = run_inside(platform, "grants", *args)
    return {int(key): value for key, value in result["committed"].items()}


def _latency_summary(values_ms: list[float]) -> dict:
    from bench.load import latency_summary

    return latency_summary(values_ms)


def raw_celery_throughput(platform: Platform, tasks: int, root: Path) -> dict:
    """The baseline: a no-op Celery task app with the bus's settings on the same Redis."""
    prefix = f"{platform.prefix}:benchnoop:"
    env = dict(platform.env)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env["BENCH_NOOP_PREFIX"] = prefix
    log_path = root / "logs" / "noop-worker.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    worker = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [
            str(BIN / "celery"),
            "-A",
            "bench.noop_celery",
            "worker",
            "-Q",
            "bench.noop",
            "-n",
            f"noop-{platform.prefix}@%h",
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
        stdout=log_path.open("a"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for(lambda: " ready." in log_path.read_text(errors="replace"), timeout=60)
        os.environ["BENCH_NOOP_PREFIX"] = prefix
        from bench.noop_celery import app

        app.conf.broker_transport_options = {
            **app.conf.broker_transport_options,
            "global_keyprefix": prefix,
        }
        counter = f"{prefix}done:{uuid.uuid4().hex}"
        client = redis.Redis.from_url(platform.env["BROKER_URL"])
        envelope = _sample_envelope()
        started = time.time()
        with app.producer_or_acquire() as producer:
            for _ in range(tasks):
                app.send_task(
                    "bench.noop", args=[counter, envelope], queue="bench.noop", producer=producer
                )
        sent = time.time()
        wait_for(
            lambda: int(client.get(counter) or 0) >= tasks,
            timeout=300,
            interval=0.01,
            message="raw Celery tasks did not finish",
        )
        finished = time.time()
        client.delete(counter)
    finally:
        os.killpg(worker.pid, 15)
        worker.wait(20)
    return {
        "tasks": tasks,
        "seconds": round(finished - started, 3),
        "tasks_per_s": round(tasks / (finished - started), 1),
        "send_per_s": round(tasks / (sent - started), 1),
    }


def _sample_envelope() -> dict:
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": "grant.approved",
        "version": 1,
        "occurred_at": "2027-01-15T12:00:00+00:00",
        "producer": "grants",
        "correlation_id": secrets.token_hex(16),
        "payload": {
            "application_id": 1,
            "applicant_id": 3000001,
            "program_code": "SBA-SBIR-2027-01",
            "tracking_number": "E-1-1",
            "awarded_amount": "10000.00",
            "budget_lines": [
                {"category": "personnel", "description": "Salaries", "amount": "6000.00"},
                {"category": "equipment", "description": "Equipment", "amount": "4000.00"},
            ],
        },
    }


def _burst(platform: Platform, ids: list[int], finance_url: str) -> dict:
    """Approve `ids` as fast as the producer can; how fast the awards appear in Finance."""
    with AwardWatcher(finance_url, ids, interval=0.02) as watcher:
        committed = _publish(platform, ids, None)
        watcher.wait(timeout=600)
    first_commit = min(committed.values())
    last_seen = max(watcher.seen.values())
    return {
        "events": len(ids),
        "missing": len([i for i in ids if i not in watcher.seen]),
        "events_per_s": round(len(watcher.seen) / (last_seen - first_commit), 1),
        "producer_commits_per_s": round(
            len(committed) / max(max(committed.values()) - first_commit, 1e-9), 1
        ),
    }


def event_bus(platform: Platform, profile: Profile, root: Path) -> dict:
    say("3. Event bus: grant.approved committed in Grants -> award readable in Finance")
    total = profile.bus_latency_events + 2 * profile.bus_throughput_events
    ids = run_inside(platform, "grants", "prepare-approvals", "--count", str(total))["ids"]
    if ids != list(range(ids[0], ids[0] + total)):
        raise RuntimeError("the bus benchmark's applications did not get consecutive ids")
    finance_url = platform.env["FINANCE_DATABASE_URL"]

    steady = ids[: profile.bus_latency_events]
    with AwardWatcher(finance_url, steady, interval=0.005) as watcher:
        committed = _publish(platform, steady, profile.bus_rate)
        watcher.wait(timeout=120)
    lost = [i for i in steady if i not in watcher.seen]
    latencies = [(watcher.seen[i] - committed[i]) * 1000 for i in steady if i in watcher.seen]
    latency = _latency_summary(latencies)
    say(
        f"    steady {profile.bus_rate:g} events/s, {len(steady)} events: p50 {latency['p50']} ms, "
        f"p99 {latency['p99']} ms (poll every 5 ms){f', MISSING {len(lost)}' if lost else ''}"
    )

    burst_size = profile.bus_throughput_events
    burst = ids[profile.bus_latency_events : profile.bus_latency_events + burst_size]
    one = _burst(platform, burst, finance_url)
    say(
        f"    burst of {len(burst)}, 1 Finance worker: {one['events_per_s']} events/s end to end "
        f"(the producer committed {one['producer_commits_per_s']}/s)"
    )
    # The same burst again with two Finance worker processes sharing its partitions.
    platform.set_workers("finance", 2)
    try:
        two = _burst(platform, ids[profile.bus_latency_events + burst_size :], finance_url)
    finally:
        platform.set_workers("finance", 1)
    scaling = ratio(two["events_per_s"], one["events_per_s"])
    say(
        f"    burst of {len(burst)}, 2 Finance workers: {two['events_per_s']} events/s "
        f"-> {scaling}x one worker"
    )
    end_to_end, producer_rate, lost_burst = (
        one["events_per_s"],
        one["producer_commits_per_s"],
        one["missing"],
    )
    raw = raw_celery_throughput(platform, profile.raw_tasks, root)
    say(f"    raw Celery no-op task (acks_late, same Redis): {raw['tasks_per_s']} tasks/s")
    throughput_ratio = ratio(end_to_end, raw["tasks_per_s"])
    say(f"    -> bus throughput {throughput_ratio}x raw Celery")
    return {
        "latency": {
            "events": len(steady),
            "rate_per_s": profile.bus_rate,
            "poll_interval_ms": 5,
            "missing": len(lost),
            "latency_ms": latency,
        },
        "throughput": {
            "events": len(burst),
            "missing": lost_burst,
            "events_per_s": end_to_end,
            "producer_commits_per_s": producer_rate,
            "raw_celery": raw,
            "ratio_to_raw_celery": throughput_ratio,
            "two_workers": two,
            "two_workers_ratio": scaling,
        },
    }


# ------------------------------------------------------------------------------------------------
# 4. Scale
# ------------------------------------------------------------------------------------------------
def scale_endpoints(platform: Platform) -> dict[str, tuple[str, str]]:
    applicant = platform.token(APPLICANT_ID, "applicant", APPLICANT_KIND)
    caseworker = platform.token(CASEWORKER_ID, "caseworker", None)
    return {
        "applicant list": (f"{platform.url('grants')}/grants/applications", applicant),
        "caseworker queue": (f"{platform.url('grants')}/grants/review/applications", caseworker),
        "/status": (f"{platform.url('gateway')}/status?user={APPLICANT_ID}", applicant),
    }


def query_counts(platform: Platform) -> dict:
    """SQL queries per request, per service; /status is the sum of its three backend calls."""
    applicant = platform.token(APPLICANT_ID, "applicant", APPLICANT_KIND)
    caseworker = platform.token(CASEWORKER_ID, "caseworker", None)
    status_calls = {
        "users": f"/users/{APPLICANT_ID}",
        "grants": f"/grants?user={APPLICANT_ID}",
        "finance": f"/finance/awards?applicant={APPLICANT_ID}&page_size=100",
    }
    requests = {
        "users": [(status_calls["users"], applicant)],
        "grants": [
            ("/grants/applications", applicant),
            ("/grants/review/applications", caseworker),
            (status_calls["grants"], applicant),
        ],
        "finance": [(status_calls["finance"], applicant)],
    }

    def count(service: str) -> dict:
        args = ["count-queries", "--service", service]
        for path, token in requests[service]:
            args += ["--request", path, token]
        return run_inside(platform, service, *args)

    # Three processes at once: each spends most of its time starting Django.
    with ThreadPoolExecutor(max_workers=3) as pool:
        counted = dict(zip(requests, pool.map(count, requests), strict=True))
    status_parts = {service: counted[service][path] for service, path in status_calls.items()}
    return {
        "applicant list": counted["grants"]["/grants/applications"],
        "caseworker queue": counted["grants"]["/grants/review/applications"],
        "/status": {
            "queries": sum(part["queries"] for part in status_parts.values()),
            "status": max(part["status"] for part in status_parts.values()),
            "parts": status_parts,
        },
    }


def scale(platform: Platform, profile: Profile) -> dict:
    small, large = profile.scale_rows
    say(f"4. Scale: {small:,} against {large:,} applications in the grants database")
    sizes = {}
    for total in (small, large):
        grown = run_inside(platform, "grants", "grow-applications", "--total", str(total))
        say(
            f"    {grown['applications']:,} applications (+{grown['added']:,} in {grown['load_s']} s, "
            f"vacuum/analyze included {grown['total_s']} s)"
        )
        runs = compare(
            scale_endpoints(platform),
            concurrency=1,
            profile=profile,
            requests=profile.scale_requests,
        )
        for name, run in runs.items():
            show(name, run)
        queries = query_counts(platform)
        say(
            "    queries per request: "
            + ", ".join(f"{name} {value['queries']}" for name, value in queries.items())
        )
        sizes[str(total)] = {
            "applications": grown["applications"],
            "runs": runs,
            "queries": queries,
        }
    endpoints = {}
    for name in sizes[str(small)]["runs"]:
        before, after = sizes[str(small)], sizes[str(large)]
        endpoints[name] = {
            "p50_ratio": ratio(p50(after["runs"][name]), p50(before["runs"][name])),
            "p99_ratio": ratio(p99(after["runs"][name]), p99(before["runs"][name])),
            "queries_small": before["queries"][name]["queries"],
            "queries_large": after["queries"][name]["queries"],
        }
        say(
            f"    -> {name}: p50 {endpoints[name]['p50_ratio']}x, queries "
            f"{endpoints[name]['queries_small']} -> {endpoints[name]['queries_large']}"
        )
    return {"sizes": sizes, "endpoints": endpoints}


def scale_targets(figure: dict) -> list[Target]:
    rows = []
    for name, values in figure["endpoints"].items():
        rows.append(
            Target("4 scale", f"{name} p50, large/small", values["p50_ratio"], "small p50", 1.2)
        )
        rows.append(
            Target(
                "4 scale",
                f"{name} queries, large/small",
                ratio(values["queries_large"], values["queries_small"]),
                f"{values['queries_small']} queries at the small size",
                1.0,
            )
        )
    return rows
