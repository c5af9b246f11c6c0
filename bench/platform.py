"""The platform under measurement: the e2e harness's real processes, plus what the bench needs.

`tests/e2e/harness.py` starts every service under its production server (gunicorn, uvicorn,
Celery workers, outbox relays) with fresh PostgreSQL databases and a private Redis key prefix;
the bench reuses it rather than keep a second way of starting the platform.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.e2e.brokers import PrivateRedis
from tests.e2e.harness import BIN, PYTHON, REPO, Platform, free_port, start_platform
from tests.faults import with_faults, without_faults

# Where the bench finds PostgreSQL and Redis when the environment does not say (the harness makes
# fresh databases named after its own prefix on that server; the path here is never used).
DEFAULT_ENV = {
    "USERS_DATABASE_URL": "postgres://postgres@127.0.0.1:5432/hms_bench_users",
    "GRANTS_DATABASE_URL": "postgres://postgres@127.0.0.1:5432/hms_bench_grants",
    "FINANCE_DATABASE_URL": "postgres://postgres@127.0.0.1:5432/hms_bench_finance",
    "BROKER_URL": "redis://127.0.0.1:6379/0",
}

# gunicorn's own default for the data services (hms/deploy/gunicorn.py: 2 x cores + 1, which is
# also what .env.example and docs/deployment.md set); the e2e harness runs 2 to stay light. The
# gateway keeps its own default (2 uvicorn workers, hms/deploy/gateway.py).
DATA_SERVICE_WORKERS = str(multiprocessing.cpu_count() * 2 + 1)

PARTITIONS = 4

# Production settings, except the per-client rate limit: the load generator is one client at one
# address, which the gateway would otherwise turn away.
BENCH_ENV = {
    # Four partitions per consuming service, so that a second worker has a share to take (the
    # steady figures change it: bench.bus.steady_latency_with, Platform.set_partitions).
    "*": {"GATEWAY_RATE_LIMIT": "off", "BUS_PARTITIONS": str(PARTITIONS), "BUS_ACK_TIMEOUT": "60"},
    **{
        service: {"WEB_CONCURRENCY": DATA_SERVICE_WORKERS}
        for service in ("users", "grants", "finance")
    },
    "gateway": {"WEB_CONCURRENCY": "2"},
}

WEB_SERVICES = ("gateway", "users", "grants", "finance")


def configure_environment() -> dict[str, str]:
    """Point the platform at PostgreSQL and Redis unless the environment already does."""
    chosen = {}
    for name, value in DEFAULT_ENV.items():
        if not os.environ.get(name):
            os.environ[name] = value
        chosen[name] = os.environ[name]
    if not all(
        chosen[f"{s.upper()}_DATABASE_URL"].startswith("postgres") for s in WEB_SERVICES[1:]
    ):
        raise SystemExit("the bench measures PostgreSQL: set *_DATABASE_URL to postgres://...")
    if not chosen["BROKER_URL"].startswith("redis"):
        raise SystemExit("the bench measures Redis: set BROKER_URL to redis://...")
    return chosen


def start(root: Path) -> Platform:
    """The platform on PostgreSQL and a private redis-server (the bench stops it to measure
    writes while the broker is down, and measures raw Celery on it)."""
    broker = PrivateRedis(root)
    broker.start()
    environment = {**BENCH_ENV, "*": {**BENCH_ENV["*"], "BROKER_URL": broker.url}}
    try:
        platform = start_platform(root, environment)
    except BaseException:
        broker.stop()
        raise
    platform.broker = broker
    return platform


def start_floor(platform: Platform) -> str:
    """The framework floor (bench/floor) beside the platform: the grants web process's server,
    worker count and database, with one bare DRF view. Returns its URL."""
    env = platform.service_env("grants")
    platform.ports["floor"] = free_port()
    env |= {
        "DJANGO_SETTINGS_MODULE": "bench.floor.settings",
        "BIND": f"127.0.0.1:{platform.ports['floor']}",
    }
    argv = [str(BIN / "gunicorn"), "-c", "python:hms.deploy.gunicorn", "bench.floor.wsgi"]
    platform._define("floor", argv, env)
    platform.start("floor")
    return f"{platform.url('floor')}/floor"


def start_proxy_floor(platform: Platform, backend: str) -> str:
    """The proxy floor (bench/floor/proxy.py) in front of `backend`: the gateway's server, loop,
    HTTP parser, worker count and HTTP client, and no feature. Returns its URL."""
    platform.ports["proxy floor"] = free_port()
    env = {
        **platform.service_env("gateway"),
        "BACKEND": platform.url(backend),
        "STRIP_PREFIX": "/api/v1",
    }
    argv = [
        *(str(BIN / "uvicorn"), "bench.floor.proxy:app", "--host", "127.0.0.1"),
        *("--port", str(platform.ports["proxy floor"])),
        *("--workers", BENCH_ENV["gateway"]["WEB_CONCURRENCY"], "--loop", "uvloop"),
        *("--http", "httptools", "--lifespan", "on", "--no-access-log"),
    ]
    platform._define("proxy floor", argv, env)
    platform.start("proxy floor")
    return f"{platform.url('proxy floor')}/api/v1"


def seed(platform: Platform) -> None:
    """The demo data of every service (its identities, programs, applications and awards).

    The three seeds touch three databases and no service calls another, so they run at once.
    """
    running = [
        subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            [PYTHON, "manage.py", "seed_demo"],
            cwd=REPO,
            env=platform.service_env(service),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for service in ("users", "grants", "finance")
    ]
    for popen in running:
        output, _ = popen.communicate(timeout=300)
        if popen.returncode:
            raise RuntimeError(f"seed_demo failed:\n{output[-4000:]}")


def run_inside(
    platform: Platform,
    service: str,
    *args: str,
    extra_env: dict[str, str] | None = None,
    timeout: float = 600,
) -> dict:
    """Run a `bench.inside` command in one service's environment; its JSON answer."""
    result = subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [PYTHON, "-m", "bench.inside", *args],
        cwd=REPO,
        env={**platform.service_env(service), **(extra_env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode:
        raise RuntimeError(
            f"bench.inside {args[0]} in {service} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return json.loads(result.stdout.strip().splitlines()[-1])


def restart_together(platform: Platform, names: tuple[str, ...]) -> None:
    """Stop, then start, several processes at once (each takes seconds to stop and to start)."""
    for name in names:
        process = platform.processes[name]
        if process.running:
            os.killpg(process.popen.pid, signal.SIGTERM)
    for name in names:
        platform.stop(name)  # waits; escalates to SIGKILL after its timeout
    for name in names:
        platform.start(name, wait=False)
    for name in names:
        platform.wait_ready(name)


@contextlib.contextmanager
def slowed(platform: Platform, services: tuple[str, ...], delay_ms: int) -> Iterator[None]:
    """Restart `services` with a response delay (injected by tests.faults), then restore them.

    The same processes, databases and data as the normal runs, so the only difference measured is
    the delay; restarting two web servers takes a second or two, a second platform half a minute.
    """
    for service in services:
        with_faults(platform.processes[service].env, response_delay=delay_ms)
    restart_together(platform, services)
    try:
        yield
    finally:
        for service in services:
            without_faults(platform.processes[service].env)
        restart_together(platform, services)


def shutdown(platform: Platform) -> None:
    """`platform.close()`, but every process is asked to stop at once rather than in turn."""
    for process in platform.processes.values():
        if process.running:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.popen.pid, signal.SIGTERM)
    platform.close()


# ------------------------------------------------------------------------------------------------
# CPU: what each of the platform's processes, PostgreSQL and Redis used while something ran
# ------------------------------------------------------------------------------------------------
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# Servers the platform shares with the machine, counted by their command name (nginx: the
# reference proxy of figure 2).
SHARED_SERVERS = {"postgres": "postgres", "redis-server": "redis", "nginx": "nginx"}


# What CpuUse calls the bench's own processes: this one (its watcher, its sampling) and the load
# it starts (the load generator, the producers of events), which are no part of the platform.
BENCH_GROUP = "bench"


def _cpu_ticks(groups: dict[int, str]) -> dict[tuple[int, str], int]:
    """CPU ticks (user + system) used so far by each live process that belongs to one of `groups`
    (process group -> name), is one of the shared servers, or is the bench or a process it
    started (`BENCH_GROUP`), keyed by (pid, name)."""
    ticks = {}
    bench = os.getpid()
    for pid, command, fields in _processes():
        name = groups.get(int(fields[2])) or next(
            (label for prefix, label in SHARED_SERVERS.items() if command.startswith(prefix)), None
        )
        if name is None and bench in (pid, int(fields[1])):
            name = BENCH_GROUP
        if name is not None:
            ticks[pid, name] = int(fields[11]) + int(fields[12])
    return ticks


def _machine_ticks() -> tuple[int, int]:
    """(all, idle) ticks of every core so far, from /proc/stat (idle includes I/O wait)."""
    values = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(values), values[3] + values[4]


def busiest(used: dict, count: int = 6) -> str:
    """The `count` process groups a `CpuUse.stop()` found busiest, with their cores, and the
    bench's own processes (the load it makes): for a line."""
    groups = ", ".join(f"{name} {cores}" for name, cores in list(used["cores"].items())[:count])
    return f"{groups}; the bench's own processes {used.get('bench_cores', 0.0)}"


class CpuUse:
    """The cores the machine, each platform process and PostgreSQL and Redis kept busy between
    `start()` and `stop()`, and apart from them the bench's own processes (`BENCH_GROUP`).

    Processes are read every `INTERVAL` seconds meanwhile, so one that ends in between counts up
    to its last reading: a PostgreSQL backend whose client has gone (the producer's), or the
    producer itself. Read only at both ends, those were missed: at the steady rate PostgreSQL
    showed 0.10-0.15 of a core where it used 0.36-0.38 (finding 46). A process started in
    between counts whole."""

    INTERVAL = 0.25

    def __init__(self, platform: Platform):
        self.platform = platform

    def start(self) -> None:
        self.began = time.monotonic()
        self.before, self.machine_before = _cpu_ticks(self._groups()), _machine_ticks()
        self.latest = dict(self.before)
        self._stopping = threading.Event()
        self._reader = threading.Thread(target=self._read, name="cpu-use", daemon=True)
        self._reader.start()

    def _groups(self) -> dict[int, str]:
        # Read again each time: a worker restarted in between is still the platform's.
        return {
            process.popen.pid: name
            for name, process in list(self.platform.processes.items())
            if process.running
        }

    def _read(self) -> None:
        while not self._stopping.wait(self.INTERVAL):
            self.latest.update(_cpu_ticks(self._groups()))

    def stop(self) -> dict:
        self._stopping.set()
        self._reader.join()
        self.latest.update(_cpu_ticks(self._groups()))
        total, idle = _machine_ticks()
        seconds = time.monotonic() - self.began
        used: dict[str, int] = {}
        for key, ticks in self.latest.items():
            used[key[1]] = used.get(key[1], 0) + ticks - self.before.get(key, 0)
        bench = used.pop(BENCH_GROUP, 0)
        total -= self.machine_before[0]
        idle -= self.machine_before[1]
        cores = os.cpu_count() or 1
        return {
            "seconds": round(seconds, 2),
            "machine_cores_busy": round((total - idle) / max(total, 1) * cores, 2),
            "cores": {
                name: round(ticks / CLOCK_TICKS / seconds, 2)
                for name, ticks in sorted(used.items(), key=lambda item: -item[1])
                if ticks
            },
            "bench_cores": round(bench / CLOCK_TICKS / seconds, 2),
        }


def merge_cpu(uses: list[dict]) -> dict:
    """Several `CpuUse.stop()` results (the slices of one call) as one, weighted by their length."""
    seconds = sum(use["seconds"] for use in uses) or 1.0
    cores: dict[str, float] = {}
    for use in uses:
        for name, value in use["cores"].items():
            cores[name] = cores.get(name, 0.0) + value * use["seconds"]
    return {
        "seconds": round(seconds, 2),
        "machine_cores_busy": round(
            sum(use["machine_cores_busy"] * use["seconds"] for use in uses) / seconds, 2
        ),
        "cores": {
            name: round(value / seconds, 3)
            for name, value in sorted(cores.items(), key=lambda item: -item[1])
        },
        "bench_cores": round(
            sum(use.get("bench_cores", 0.0) * use["seconds"] for use in uses) / seconds, 3
        ),
    }


def cpu_share(used: dict, group: str) -> float | None:
    """`group`'s part of the CPU that the platform's processes, PostgreSQL, Redis and nginx used
    (a `CpuUse.stop()` or `merge_cpu` result). The load generator is left out: it costs the same
    whichever call it makes, and leaving it out can only make a share, and so a ceiling, larger."""
    total = sum(used["cores"].values())
    if not total:
        return None
    return round(used["cores"].get(group, 0.0) / total, 3)


# ------------------------------------------------------------------------------------------------
# Memory: the resident set of every process of each service (gunicorn/uvicorn parent + workers)
# ------------------------------------------------------------------------------------------------
def group_pids(pgid: int) -> list[int]:
    """Every live process in a process group (the harness starts each in its own session)."""
    return sorted(pid for pid, _, fields in _processes() if int(fields[2]) == pgid)


def _processes() -> Iterator[tuple[int, str, list[str]]]:
    """Each live process: its pid, command name and the fields of /proc/<pid>/stat after the
    name (state, ppid, pgrp, ...; utime and stime are [11] and [12])."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: fields start after the last ")".
        yield (
            int(entry),
            stat[stat.index("(") + 1 : stat.rindex(")")],
            stat[stat.rindex(")") + 2 :].split(),
        )


def memory_kib(pid: int) -> dict[str, int]:
    """VmHWM (peak resident set), VmRSS and Pss (the process's share of the pages it shares with
    others, its own pages whole) of a process, in KiB."""
    values = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, rest = line.partition(":")
            if name in ("VmHWM", "VmRSS"):
                values[name] = int(rest.split()[0])
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            name, _, rest = line.partition(":")
            if name == "Pss":
                values[name] = int(rest.split()[0])
    return values


@dataclass
class MemorySampler:
    """Samples every process of the given platform processes while a load runs.

    At each sample, a group's figure is the sum of VmHWM (each live process's own peak resident
    set since it started) over the group's live processes; the largest such sum is reported. A
    gunicorn worker recycled during the load (max_requests) thus counts with the peak it reached
    while it lived, but never at the same time as the worker that replaced it.
    """

    platform: Platform
    names: tuple[str, ...]
    interval: float = 0.25
    peaks: dict[str, dict[int, int]] = field(default_factory=dict)  # name -> pid -> VmHWM KiB
    peak_hwm_sum: dict[str, int] = field(default_factory=dict)
    peak_rss_sum: dict[str, int] = field(default_factory=dict)
    # What the group costs the machine: resident sets count the pages workers share (the
    # libraries; the application itself once it is preloaded) once per worker; Pss does not.
    peak_pss_sum: dict[str, int] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def sample(self) -> None:
        for name in self.names:
            popen = self.platform.processes[name].popen
            if popen is None:
                continue
            hwm_sum = rss_sum = pss_sum = 0
            for pid in group_pids(popen.pid):
                values = memory_kib(pid)
                if "VmHWM" in values:
                    pids = self.peaks.setdefault(name, {})
                    pids[pid] = max(pids.get(pid, 0), values["VmHWM"])
                    hwm_sum += values["VmHWM"]
                    rss_sum += values.get("VmRSS", 0)
                    pss_sum += values.get("Pss", 0)
            self.peak_hwm_sum[name] = max(self.peak_hwm_sum.get(name, 0), hwm_sum)
            self.peak_pss_sum[name] = max(self.peak_pss_sum.get(name, 0), pss_sum)
            self.peak_rss_sum[name] = max(self.peak_rss_sum.get(name, 0), rss_sum)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self) -> MemorySampler:
        self.sample()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()
        self.sample()

    def report(self) -> dict:
        result = {}
        for name in self.names:
            pids = self.peaks.get(name, {})
            result[name] = {
                # Every process seen: more than the server's own count means workers recycled.
                "processes": len(pids),
                "peak_mib_per_process": sorted(
                    (round(kib / 1024, 1) for kib in pids.values()), reverse=True
                ),
                "peak_mib": round(self.peak_hwm_sum.get(name, 0) / 1024, 1),
                "peak_simultaneous_rss_mib": round(self.peak_rss_sum.get(name, 0) / 1024, 1),
                "peak_pss_mib": round(self.peak_pss_sum.get(name, 0) / 1024, 1),
            }
        return result


def wait_for(condition, *, timeout: float, interval: float = 0.05, message: str = ""):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(message or f"condition not met within {timeout}s")
        time.sleep(interval)
